"""`surveykit replica --out DIR [--seed N]`: regenerate the SYNTHETIC replica.

Writes ``DIR/replica.sav`` (questionnaire layout, labels, user-missing codes) and
``DIR/replica.json`` (seed, build parameters, weight diagnostics) and prints a summary. The same
seed always gives a byte-identical ``.sav``. With ``--check`` the new file is compared with the
bundled one (exit 1 if they differ): byte for byte under the library versions the bundled file
was built with, else respondents exactly and weights to 1e-9 (:mod:`surveykit.replica.check`).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    """Add the `replica` subcommand."""
    p = subparsers.add_parser(
        "replica",
        help="regenerate the SYNTHETIC replica (.sav + JSON sidecar) from a seed",
        description=(
            "Rebuild the synthetic replica of the 2018 survey from the published tables: "
            "generate respondents, calibrate weights so every replicable published cell is "
            "reproduced within its rounding, and write DIR/replica.sav and DIR/replica.json. "
            "The replica is NOT the original survey data; results from it are not findings "
            "about China."
        ),
    )
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.add_argument("--seed", type=int, default=None, metavar="N",
                   help="random seed (default: the bundled replica's seed, 20180401)")
    p.add_argument("--check", action="store_true",
                   help="compare the written .sav with the bundled one (bytes under the same "
                        "library versions, else respondents exactly and weights to 1e-9)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Build and write the replica; return the exit code."""
    from surveykit.errors import InputFileError, ValidationError
    from surveykit.replica import DEFAULT_SEED, built_with, path, sidecar_path, write

    seed = DEFAULT_SEED if args.seed is None else args.seed
    if not 0 <= seed < 2**63:  # before any work: numpy seeds are non-negative integers
        raise ValidationError("--seed must be a non-negative integer", values=[seed],
                              hint=f"e.g. --seed {DEFAULT_SEED} (the bundled replica's seed)")
    if args.check:  # the bundled files are the input of the comparison
        from surveykit._atomic import refuse_overwrite
        from surveykit.replica import JSON_NAME, SAV_NAME

        refuse_overwrite([Path(args.out) / SAV_NAME, Path(args.out) / JSON_NAME],
                         [path(), sidecar_path()])
    try:
        sav, side = write(Path(args.out), seed=seed)
    except OSError as exc:
        raise InputFileError(f"cannot write the replica ({exc.strerror or exc})",
                             file=str(exc.filename or args.out)) from exc
    meta = json.loads(side.read_text(encoding="utf-8"))
    w = meta["weights"]
    cells = meta["cells"]
    inconsistent = cells["inconsistent_published"]
    comparable = cells["replicable"] - len(inconsistent)
    print(f"SYNTHETIC replica (not the original survey data), seed {seed}")
    print(f"  wrote {sav} ({sav.stat().st_size:,} bytes) and {side}")
    print(f"  respondents {meta['n']:,}; weights min {w['min']:.3f} max {w['max']:.3f} "
          f"CV {w['cv']:.3f} Kish deff {w['deff_kish']:.3f}")
    # the same count and wording as `surveykit replicate`
    line = f"  {cells['consistent_reproduced']} of {comparable} cells within rounding"
    if inconsistent:
        line += (f"; {len(inconsistent)} published cell(s) not compared: "
                 f"{len(inconsistent)} inconsistent with other published cells")
    print(line)
    for item in inconsistent:
        print(f"  not compared (published numbers inconsistent): {item}")
    if args.check:
        from surveykit.replica.check import compare

        result = compare(sav, path(), sidecar_path(), built_with())
        print(f"  {result.line()}")
        return 0 if result.identical else 1
    return 0
