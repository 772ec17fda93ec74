"""`surveykit harmonise RAW --mapping YAML --out FILE`: write a canonical file from a raw one.

Reads the raw file, applies the mapping (format: ``data_dictionary/mappings/README.md``),
validates the result against the mapping's codebooks, writes it (.csv, .parquet or .sav/.zsav;
in .sav the NA reasons become labelled user-missing codes) and prints the harmonisation report.
"""

from __future__ import annotations

import argparse
from typing import Any

from surveykit.io import harmonise, load_mapping, read
from surveykit.io.harmonise import OUTPUT_FORMATS, write_canonical
from surveykit.io.readers import require_parquet
from surveykit.provenance import DATA_SOURCE_COLUMN, SYNTHETIC_SOURCE, with_source_column


def register(subparsers: Any) -> None:
    """Add the `harmonise` subcommand."""
    p = subparsers.add_parser(
        "harmonise",
        help="map a raw survey file onto the canonical codebooks and write it",
        description=(
            "Harmonise a raw survey file: recode its columns onto the canonical codebook "
            "variables as described by a mapping YAML, validate, add derived variables, write "
            f"the canonical file ({', '.join(OUTPUT_FORMATS)}) and print a report accounting "
            "for every row, recode and missing value."
        ),
    )
    p.add_argument("raw", metavar="RAW", help="raw data file (.sav .dta .csv ...)")
    p.add_argument("--mapping", "-m", required=True, metavar="YAML", help="mapping file")
    p.add_argument("--out", "-o", required=True, metavar="FILE",
                   help="output file: .csv, .parquet, .sav or .zsav")
    p.add_argument("--quiet", "-q", action="store_true", help="do not print the report")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Harmonise, write, report; return the exit code."""
    from pathlib import Path

    from surveykit._atomic import refuse_overwrite
    from surveykit._cells import warn_formula_cells
    from surveykit.errors import InputFileError

    out = Path(args.out)
    if out.suffix.lower() not in OUTPUT_FORMATS:  # fail before doing any work
        raise InputFileError("unsupported output format", file=str(out),
                             values=[out.suffix or "(none)"],
                             hint=f"use one of {', '.join(OUTPUT_FORMATS)}")
    require_parquet(out)
    refuse_overwrite([out], [args.raw, args.mapping])  # before any work: nothing touched
    mapping = load_mapping(args.mapping)
    h = harmonise(read(args.raw), mapping)
    write_canonical(h.frame, out, h.codebook, h.missing)
    if not args.quiet:
        print(h.report.render())
    written = with_source_column(h.frame)  # synthetic data get a data_source column
    extra = (f" (including {DATA_SOURCE_COLUMN}: {SYNTHETIC_SOURCE})"
             if written.shape[1] > h.frame.shape[1] else "")
    print(f"wrote {len(h.frame)} rows x {written.shape[1]} columns to {out}{extra}")
    warning = warn_formula_cells(written, out)  # data files keep their values: say so
    if warning:
        import sys

        print(warning, file=sys.stderr)
    return 0
