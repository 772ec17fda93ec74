"""`surveykit replica --out DIR [--seed N]`: regenerate the SYNTHETIC replica.

Writes ``DIR/replica.sav`` (questionnaire layout, labels, user-missing codes) and
``DIR/replica.json`` (seed, build parameters, weight diagnostics) and prints a summary. The same
seed always gives a byte-identical ``.sav``. With ``--check`` the new file is compared with the
bundled one (exit 1 if they differ).
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
                   help="compare the written .sav byte for byte with the bundled one")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Build and write the replica; return the exit code."""
    from surveykit.replica import DEFAULT_SEED, path, write

    seed = DEFAULT_SEED if args.seed is None else args.seed
    from surveykit.errors import InputFileError

    try:
        sav, side = write(Path(args.out), seed=seed)
    except OSError as exc:
        raise InputFileError(f"cannot write the replica ({exc.strerror or exc})",
                             file=str(exc.filename or args.out)) from exc
    meta = json.loads(side.read_text(encoding="utf-8"))
    w = meta["weights"]
    cells = meta["cells"]
    print(f"SYNTHETIC replica (not the original survey data), seed {seed}")
    print(f"  wrote {sav} ({sav.stat().st_size:,} bytes) and {side}")
    print(f"  respondents {meta['n']:,}; weights min {w['min']:.3f} max {w['max']:.3f} "
          f"CV {w['cv']:.3f} Kish deff {w['deff_kish']:.3f}")
    print(f"  published cells reproduced within rounding: {cells['consistent_reproduced']} of "
          f"{cells['replicable']} replicable")
    for item in cells["inconsistent_published"]:
        print(f"  not reproducible (published numbers inconsistent): {item}")
    if args.check:
        same = sav.read_bytes() == path().read_bytes()
        print(f"  identical to the bundled replica: {'yes' if same else 'NO'}")
        return 0 if same else 1
    return 0
