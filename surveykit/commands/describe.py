"""`surveykit describe FILE`: the codebook view of a data file.

Without ``--codebook`` it lists what the file itself says: variable labels, value labels with
counts, and missing values by reason (user-missing codes keep their labels). With
``--codebook NAME`` the file is first validated against that canonical codebook (exit 2 with a
one-line error if it does not conform) and the view uses the codebook's labels and codes.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from surveykit._text import terminal_safe
from surveykit.dictionary import load_codebook, render_description
from surveykit.errors import SurveyKitError
from surveykit.io import describe_raw, read


def register(subparsers: Any) -> None:
    """Add the `describe` subcommand."""
    p = subparsers.add_parser(
        "describe",
        help="show labels, value counts and missing values by reason of a data file",
        description=(
            "Print the codebook view of a data file (.sav .zsav .por .dta .sas7bdat .xpt .csv "
            ".parquet): variable labels, value labels with counts, missing values by reason. "
            "With --codebook, validate the file against a canonical codebook first."
        ),
    )
    p.add_argument("file", metavar="FILE", help="data file to describe")
    p.add_argument("--codebook", metavar="NAME",
                   help="canonical codebook (e.g. approval, behaviour) or path to a codebook "
                   "YAML to validate against and describe with")
    p.add_argument("--variables", "-v", nargs="+", metavar="VAR",
                   help="only describe these variables")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Describe (and optionally validate) the file; return the exit code."""
    raw = read(args.file)
    header = [f"File: {raw.path}", f"Format: {raw.format}",
              f"Rows: {raw.n}   Columns: {raw.data.shape[1]}"]
    if raw.file_label:
        header.insert(1, f"File label: {raw.file_label}")
    if args.codebook:
        cb = load_codebook(args.codebook)
        try:
            cb.validate(raw.data, source=raw.path)
        except SurveyKitError as exc:  # a raw file is harmonised first, then described
            exc.hint = ((exc.hint + "; ") if exc.hint else "") + (
                "a raw survey file does not follow the canonical codebook: harmonise it first "
                f"(surveykit harmonise {Path(str(raw.path)).name} --mapping MAPPING.yaml --out "
                f"canonical.sav), then describe canonical.sav --codebook {args.codebook}; "
                "without --codebook, describe shows the raw file's own labels")
            exc.args = (exc._render(),)
            raise
        view = cb.describe_frame(raw.data, missing=raw.missing_reasons)
        header.append(f"Codebook: {cb.name} ({cb.title}) - valid")
    else:
        view = describe_raw(raw)
    if args.variables:
        from surveykit.errors import ValidationError

        unknown = [v for v in args.variables if v not in set(view["variable"])]
        if unknown:
            raise ValidationError("unknown variables", file=raw.path, values=unknown)
        view = view[view["variable"].isin(args.variables)]
    print("\n".join(terminal_safe(h, newlines=False) for h in header))
    print()
    print(render_description(view))
    return 0
