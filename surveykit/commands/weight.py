"""``surveykit weight``: rake a data file to marginal targets and write weights + diagnostics."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pandas as pd

from surveykit.errors import InputFileError

DESCRIPTION = """\
Rake the weights of DATA (csv, parquet, sav) to the margins in a targets YAML file, write the
data with a new weight column to OUT, and write diagnostics next to OUT:
<OUT stem>_weight_summary.csv (before/after: n, sum, min, max, mean, CV, max/min ratio,
Kish deff, effective n) and <OUT stem>_margins.csv (share of each category before and after
weighting, target share and difference). Both tables are also printed.

Targets file format (YAML):

  population: 1000000        # optional; share margins are scaled to it
  margins:
    region: {1: 0.38, 2: 0.33, 3: 0.29}   # column -> {category: share or population count}
    gender: {1: 0.49, 2: 0.51}

Each margin is either shares summing to 1 or population counts (count margins must have the
same total). Without `population`, shares are scaled to the sum of the input weights. Every
category present in the data needs a target; missing values in a margin column are an error.
"""


def register(subparsers: Any) -> None:
    """Add the ``weight`` subcommand."""
    p = subparsers.add_parser(
        "weight", help="rake a data file to marginal targets (YAML)", description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("data", metavar="DATA", help="input data file (.csv, .parquet, .sav)")
    p.add_argument("--targets", required=True, metavar="TARGETS.yaml",
                   help="margins to rake to (format above)")
    p.add_argument("--out", required=True, metavar="OUT",
                   help="output data file (.csv or .parquet) with the new weight column")
    p.add_argument("--weights", metavar="COL", default=None,
                   help="column of starting (design) weights; default: all 1")
    p.add_argument("--column", metavar="NAME", default="weight_raked",
                   help="name of the new weight column (default: weight_raked)")
    p.add_argument("--bounds", nargs=2, type=float, metavar=("LO", "HI"), default=None,
                   help="bound the ratios new/starting weight to [LO, HI] (bounded raking "
                        "calibration, margins are still hit exactly)")
    p.add_argument("--trim", nargs=2, type=float, metavar=("LO", "HI"), default=None,
                   help="after raking, trim the weights to [LO, HI] (absolute weight values), "
                        "redistributing the excess (R's trimWeights); margins then move a bit")
    p.add_argument("--tol", type=float, default=1e-8,
                   help="convergence tolerance, relative to the population total (default 1e-8)")
    p.add_argument("--max-iter", type=int, default=100, help="maximum iterations (default 100)")
    p.set_defaults(func=run)


def read_data(path: Path) -> pd.DataFrame:
    """Read a data file with ``surveykit.io.read`` when available, else pandas/pyreadstat."""
    if not path.is_file():
        raise InputFileError("data file not found", file=str(path))
    try:
        from surveykit.io import read  # type: ignore[attr-defined]
    except ImportError:
        read = None
    if read is not None:
        out = read(path)
        if isinstance(getattr(out, "data", None), pd.DataFrame):  # a RawFile
            return out.data
        if isinstance(out, pd.DataFrame):
            return out
        if isinstance(out, tuple) and out and isinstance(out[0], pd.DataFrame):
            return out[0]
    ext = path.suffix.lower()
    try:
        if ext == ".csv":
            return pd.read_csv(path)
        if ext == ".parquet":
            return pd.read_parquet(path)
        if ext == ".sav":
            import pyreadstat

            df, _ = pyreadstat.read_sav(str(path))
            return df
    except (OSError, ValueError, ImportError) as exc:
        raise InputFileError(f"cannot read data file: {exc}", file=str(path)) from None
    raise InputFileError(f"unsupported data file extension {ext!r}", file=str(path),
                         hint="use .csv, .parquet or .sav")


def write_data(df: pd.DataFrame, path: Path) -> None:
    ext = path.suffix.lower()
    if ext == ".csv":
        df.to_csv(path, index=False)
    elif ext == ".parquet":
        df.to_parquet(path, index=False)
    else:
        raise InputFileError(f"unsupported output extension {ext!r}", file=str(path),
                             hint="use .csv or .parquet")


def run(args: argparse.Namespace) -> int:
    """Rake, optionally trim, write the weighted file and the diagnostics; print them."""
    from surveykit.design import SurveyDesign
    from surveykit.weighting import (
        load_targets,
        margin_table,
        rake,
        trim,
        weight_summary,
    )

    data_path, out = Path(args.data), Path(args.out)
    if out.suffix.lower() not in (".csv", ".parquet"):
        raise InputFileError(f"unsupported output extension {out.suffix!r}", file=str(out),
                             hint="use .csv or .parquet")
    targets = load_targets(args.targets)
    df = read_data(data_path)
    if args.column in df.columns:
        raise InputFileError("the output weight column already exists in the data",
                             file=str(data_path), column=args.column,
                             hint="choose another name with --column")
    before = SurveyDesign(df, weights=args.weights, source=str(data_path))
    res = rake(before, targets["margins"], tol=args.tol, max_iter=args.max_iter,
               bounds=tuple(args.bounds) if args.bounds else None,
               population=targets["population"])
    after = res.design
    if args.trim:
        after = trim(after, lower=args.trim[0], upper=args.trim[1])
    summary = pd.DataFrame({"before": weight_summary(before), "after": weight_summary(after)})
    summary.index.name = "statistic"
    margins = margin_table(before, after, targets["margins"])
    result = df.copy()
    result[args.column] = after.weights
    summary_path = out.with_name(f"{out.stem}_weight_summary.csv")
    margins_path = out.with_name(f"{out.stem}_margins.csv")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        write_data(result, out)
        summary.to_csv(summary_path)
        margins.to_csv(margins_path, index=False)
    except OSError as exc:
        raise InputFileError(f"cannot write the output ({exc.strerror or exc})",
                             file=str(exc.filename or out)) from exc
    how = "bounded raking" if args.bounds else "raking"
    print(f"{how}: converged after {res.iterations} iteration(s); {len(df)} rows, "
          f"none dropped; new column {args.column!r}")
    if args.trim:
        print(f"trimmed to [{args.trim[0]:g}, {args.trim[1]:g}]")
    with pd.option_context("display.width", 120, "display.max_columns", 20):
        print("\nWeight summary")
        print(summary.to_string(float_format=lambda v: f"{v:.6g}"))
        print("\nMargins (shares)")
        print(margins.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    print(f"\nwrote {out}, {summary_path}, {margins_path}")
    return 0
