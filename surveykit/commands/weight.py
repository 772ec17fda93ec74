"""``surveykit weight``: rake a data file to marginal targets and write weights + diagnostics."""

from __future__ import annotations

import argparse
import contextlib
import re
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

Starting weights: --weights COLUMN, or the file's weight column (a column named `weight`,
in any case: the canonical weight variable), which is then used and named; a file without one
needs --weights COLUMN or --unweighted (weights of 1).

Safety: every column not computed here is written exactly as read (a CSV's text stays text:
leading zeros, long ids); duplicate column names are an error; OUT and its diagnostics may not
be an input; all files are written atomically, and <OUT stem>_manifest.json (written last)
records the inputs and outputs with their sha256. Text cells of the diagnostics that a
spreadsheet would run as formulas (=, +, -, @ first) get a leading ' (OWASP rule); the data
file keeps its values and a warning names such cells.
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
    start = p.add_mutually_exclusive_group()
    start.add_argument("--weights", metavar="COL", default=None,
                       help="column of starting (design) weights; default: the file's weight "
                            "column (named 'weight', any case), else --unweighted is needed")
    start.add_argument("--unweighted", action="store_true",
                       help="start from weights of 1 (ignore any weight column of the file)")
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


def read_csv_text(path: Path) -> pd.DataFrame:
    """A CSV's cells exactly as written (every column text, nothing read as missing), for
    passing through the columns ``weight`` does not compute."""
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False)
    except Exception as exc:  # read() has already read it typed: this does not happen
        raise InputFileError(f"cannot read the CSV as text ({type(exc).__name__})",
                             file=str(path)) from exc


_LEADING_ZERO = r"^[+-]?0\d"
_EXACT_INT = 2**53


def passthrough(typed: pd.DataFrame, text: pd.DataFrame, ext: str) -> pd.DataFrame:
    """The columns of a CSV input as they go out: for a CSV output the text as read; for
    typed outputs (.sav, .parquet) the typed column, unless reading it as a number lost
    something (leading zeros, integers beyond 2**53, text pandas read as missing) - then the
    text. Index and attrs of ``typed`` are kept."""
    if ext == ".csv":
        out = text.copy()
    else:
        out = typed.copy()
        for col in typed.columns:
            if not pd.api.types.is_numeric_dtype(typed[col].dtype) or \
                    pd.api.types.is_bool_dtype(typed[col].dtype):
                out[col] = text[col].to_numpy(dtype=object)  # text stays text
                continue
            cells = text[col]
            lossy = cells.str.match(_LEADING_ZERO).any()
            if not lossy and pd.api.types.is_float_dtype(typed[col].dtype):
                whole = cells[cells.str.fullmatch(r"[+-]?\d+")]
                lossy = bool(len(whole)) and bool(
                    whole.str.lstrip("+-").str.len().gt(15).any()
                    and (whole.map(lambda t: abs(int(t)) > _EXACT_INT)).any())
            if lossy:
                out[col] = cells.to_numpy(dtype=object)
    out.index = typed.index
    out.attrs = dict(typed.attrs)
    return out


def starting_weights(args: argparse.Namespace, df: pd.DataFrame, source: Path
                     ) -> tuple[str | None, str]:
    """The column to start raking from, and the line that says which (see DESCRIPTION)."""
    from surveykit.errors import WeightingError

    if args.weights is not None:
        return args.weights, f"starting weights: column {args.weights!r} (--weights)"
    if args.unweighted:
        return None, "starting weights: 1 for every row (--unweighted)"
    marked = [c for c in df.columns if str(c).lower() == "weight"]
    if len(marked) == 1:
        col = marked[0]
        return col, (f"starting weights: the file's weight column {col!r} (--weights COL or "
                     "--unweighted to start otherwise)")
    if marked:
        raise WeightingError("the data have several weight columns", file=str(source),
                             values=marked, hint="choose one with --weights COL")
    looks = [c for c in df.columns if re.search(r"weight|wgt|(^|[_.])(wt|pw|w)(\d*)($|[_.])",
                                                str(c), flags=re.IGNORECASE)]
    raise WeightingError(
        "the data have no weight column (a column named 'weight'); which weights should "
        "raking start from?", file=str(source), values=looks or None,
        hint="pass --weights COLUMN (the design weights) or --unweighted (weights of 1)")


def write_data(df: pd.DataFrame, path: Path, raw: RawFile | None = None,
               new_column: str | None = None) -> None:
    """Write the weighted data as .csv, .parquet or .sav/.zsav (labels of a labelled input
    kept; the new weight column labelled), atomically."""
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
    import json
    import sys

    from surveykit._cells import NEUTRALISED_NOTE, neutralise, warn_formula_cells
    from surveykit._runfolder import MANIFEST, file_manifest
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
    manifest_path = out.with_name(f"{out.stem}_{MANIFEST}")
    refuse_overwrite([out, summary_path, margins_path, manifest_path],
                     [data_path, args.targets])
    targets = load_targets(args.targets)
    raw = read_data(data_path)
    df = raw.data
    start, how_started = starting_weights(args, df, data_path)
    evidence = synthetic_evidence(
        df, file_label=raw.file_label,
        weight_columns=tuple(c for c in (start, "weight", "WEIGHT") if c))
    flag(df, evidence)
    if args.column in df.columns:
        raise InputFileError("the output weight column already exists in the data",
                             file=str(data_path), column=args.column,
                             hint="choose another name with --column")
    before = SurveyDesign(df, weights=start, source=str(data_path))
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
    base = passthrough(df, read_csv_text(data_path), out.suffix.lower()) \
        if raw.format == "csv" else df
    result = base.copy()
    result[args.column] = after.weights
    result.attrs = dict(df.attrs)
    warning = warn_formula_cells(result, out)
    summary_csv, n_summary = neutralise(summary)
    margins_csv, n_margins = neutralise(margins)
    try:
        with contextlib.suppress(FileNotFoundError):
            manifest_path.unlink()  # until the new one is written: this run is not complete
        write_data(result, out, raw, args.column)
        write_text(summary_path, summary_csv.to_csv(lineterminator="\n"))
        write_text(margins_path, margins_csv.to_csv(index=False, lineterminator="\n"))
        doc = file_manifest("weight", getattr(args, "argv", None), [data_path, args.targets],
                            [out, summary_path, margins_path])
        doc["starting_weights"] = start
        doc["text_cells"] = {"diagnostics": NEUTRALISED_NOTE,
                             "diagnostics_cells_neutralised": n_summary + n_margins,
                             "data": "written unchanged"}
        write_text(manifest_path, json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    except OSError as exc:
        raise InputFileError(f"cannot write the output ({exc.strerror or exc})",
                             file=str(exc.filename or out)) from exc
    if evidence:
        print(f"*** {SYNTHETIC_BANNER} ({evidence}) ***")
    print(how_started)
    if warning:
        print(warning, file=sys.stderr)
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
    print(f"\nwrote {out}, {summary_path}, {margins_path}, {manifest_path}")
    return 0
