"""``surveykit weight``: rake a data file to marginal targets and write weights + diagnostics."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pandas as pd

from surveykit._atomic import atomic_path, refuse_overwrite, write_text
from surveykit.errors import InputFileError
from surveykit.io.readers import RawFile

DESCRIPTION = """\
Rake the weights of DATA (.sav .zsav .dta .por .xpt .sas7bdat .csv .parquet) to the margins in
a targets YAML file, write the data with a new weight column to OUT (.csv, .parquet, or
.sav/.zsav keeping the input's labels; .parquet needs `pip install 'surveykit[parquet]'`), and
write diagnostics next to OUT:
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
                   help="output data file (.csv, .parquet, .sav or .zsav) with the new weight "
                        "column")
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


OUTPUT_FORMATS = (".csv", ".parquet", ".sav", ".zsav")


def read_data(path: Path) -> RawFile:
    """Read the data file with :func:`surveykit.io.read` (labels kept for a .sav output)."""
    from surveykit.io import read

    return read(path)


def write_data(df: pd.DataFrame, path: Path, raw: RawFile | None = None,
               new_column: str | None = None) -> None:
    """Write the weighted data as .csv, .parquet or .sav/.zsav (labels of a labelled input
    kept; the new weight column labelled)."""
    from surveykit.provenance import SYNTHETIC_SOURCE, is_synthetic, with_source_column

    ext = path.suffix.lower()
    df = with_source_column(df)  # synthetic data say so in every format
    if ext == ".csv":
        with atomic_path(path) as tmp:
            df.to_csv(tmp, index=False)
    elif ext == ".parquet":
        with atomic_path(path) as tmp:
            df.to_parquet(tmp, index=False)
    elif ext in (".sav", ".zsav"):
        from surveykit.io.readers import restore_user_missing, write_sav

        if raw is not None:  # user-missing codes back in place, declared as before
            df = restore_user_missing(raw, df)

        labels = dict(raw.variable_labels) if raw is not None else {}
        if new_column is not None:
            labels[new_column] = "Raked weight (surveykit weight)"
        label = (raw.file_label if raw is not None else None) or ""
        if is_synthetic(df) and "synthetic" not in label.lower():
            label = f"{SYNTHETIC_SOURCE}: {label}"
        value_labels = {k: v for k, v in (raw.value_labels if raw else {}).items()
                        if k in df.columns}
        ranges = {k: [dict(r) for r in v] for k, v in (raw.missing_ranges if raw else {}).items()
                  if k in df.columns}
        write_sav(df, path, variable_labels={k: v for k, v in labels.items() if k in df},
                  value_labels=value_labels, missing_ranges=ranges, file_label=label[:64])
    else:
        raise InputFileError(f"unsupported output extension {ext!r}", file=str(path),
                             hint=f"use {', '.join(OUTPUT_FORMATS)}")


def _labelled(margins: pd.DataFrame, design: Any) -> pd.DataFrame:
    """The margin table with ``variable_label`` and ``category_label`` columns (the data's
    labels, e.g. from a .sav) beside the codes, when the data have any labels."""
    from surveykit.labels import label_of, value_labels, variable_label

    names = {v: variable_label(design, v, default="") for v in margins["variable"].unique()}
    values = {v: value_labels(design, v) for v in names}
    if not any(names.values()) and not any(values.values()):
        return margins
    out = margins.copy()
    out.insert(1, "variable_label", [names[v] or v for v in out["variable"]])
    out.insert(3, "category_label", [label_of(values[v], c)
                                      for v, c in zip(out["variable"], out["category"],
                                                      strict=True)])
    return out


def run(args: argparse.Namespace) -> int:
    """Rake, optionally trim, write the weighted file and the diagnostics; print them."""
    from surveykit.design import SurveyDesign
    from surveykit.io.readers import require_parquet
    from surveykit.provenance import (
        SYNTHETIC_BANNER,
        flag,
        synthetic_evidence,
        with_source_column,
    )
    from surveykit.weighting import (
        load_targets,
        margin_table,
        rake,
        trim,
        weight_summary,
    )

    data_path, out = Path(args.data), Path(args.out)
    if out.suffix.lower() not in OUTPUT_FORMATS:  # refuse before doing any work
        raise InputFileError(f"unsupported output extension {out.suffix!r}", file=str(out),
                             hint=f"use {', '.join(OUTPUT_FORMATS)}")
    require_parquet(out)
    summary_path = out.with_name(f"{out.stem}_weight_summary.csv")
    margins_path = out.with_name(f"{out.stem}_margins.csv")
    refuse_overwrite([out, summary_path, margins_path], [data_path, args.targets])
    targets = load_targets(args.targets)
    raw = read_data(data_path)
    df = raw.data
    evidence = synthetic_evidence(
        df, file_label=raw.file_label,
        weight_columns=tuple(c for c in (args.weights, "weight", "WEIGHT") if c))
    flag(df, evidence)
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
    margins = _labelled(margin_table(before, after, targets["margins"]), before)
    if evidence:  # the diagnostics of synthetic data say so in the files too
        summary = with_source_column(flag(summary, evidence))
        margins = with_source_column(flag(margins, evidence))
    result = df.copy()
    result[args.column] = after.weights
    result.attrs = dict(df.attrs)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        write_data(result, out, raw, args.column)
        write_text(summary_path, summary.to_csv())
        write_text(margins_path, margins.to_csv(index=False))
    except OSError as exc:
        raise InputFileError(f"cannot write the output ({exc.strerror or exc})",
                             file=str(exc.filename or out)) from exc
    if evidence:
        print(f"*** {SYNTHETIC_BANNER} ({evidence}) ***")
    how = "bounded raking" if args.bounds else "raking"
    print(f"{how}: converged after {res.iterations} iteration(s); {len(df)} rows, "
          f"none dropped; new column {args.column!r}")
    if args.trim:
        print(f"trimmed to [{args.trim[0]:g}, {args.trim[1]:g}]")
    with pd.option_context("display.width", 120, "display.max_columns", 20):
        shown = [c for c in summary.columns if c != "data_source"]  # the banner says it
        print("\nWeight summary")
        print(summary[shown].to_string(float_format=lambda v: f"{v:.6g}"))
        print("\nMargins (shares)")
        shown = [c for c in margins.columns if c != "data_source"]
        print(margins[shown].to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    print(f"\nwrote {out}, {summary_path}, {margins_path}")
    return 0
