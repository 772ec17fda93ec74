"""`surveykit replicate`: re-create every published table and compare it cell by cell.

Without ``--data`` it uses the bundled synthetic replica and prints the banner first; with
``--data`` the banner is printed whenever the data say they are synthetic. Prints
"N of M cells within rounding" and where the files went. ``--strict`` exits with status 2 (a
:class:`~surveykit.errors.ReplicationError`, reported by ``cli.py``) when any replicable cell is
outside rounding; the files are written first so the failures can be inspected.
"""

from __future__ import annotations

import argparse
from typing import Any

from surveykit.errors import ReplicationError


def register(subparsers: Any) -> None:
    """Add the `replicate` subcommand."""
    p = subparsers.add_parser(
        "replicate",
        help="re-create every published table and compare it cell by cell",
        description=(
            "Re-create every published table of Kostka (2019) and Kostka & Antoine (2020) from "
            "respondent-level data and compare each cell with the published number. Without "
            "--data the bundled SYNTHETIC replica is used (not the original survey data)."
        ),
    )
    p.add_argument("--data", metavar="FILE",
                   help="data file (.sav .dta .csv .parquet ...); default: the bundled replica")
    p.add_argument("--mapping", metavar="YAML",
                   help="harmonisation mapping for --data (not needed for a canonical file)")
    p.add_argument("--out", metavar="DIR", default="replication",
                   help="output folder (default: ./replication)")
    p.add_argument("--margins", metavar="YAML",
                   help="population targets the weights were calibrated to (the `surveykit "
                        "weight` targets format); shown as sample vs weighted vs target in the "
                        "report. Default: the replica's assumed margins, none for --data")
    p.add_argument("--sensitivity", action="store_true",
                   help="also recompute every table unweighted, with the file's weights, "
                        "trimmed (0.3-3 x mean) and raked to --sensitivity-margins; writes "
                        "sensitivity/ (tables, figure) and a report section")
    p.add_argument("--sensitivity-margins", metavar="YAML",
                   help="population margins for the raked scheme (the `surveykit weight` "
                        "targets format); 'illustrative' = the shipped ILLUSTRATIVE example "
                        "data_dictionary/sensitivity/illustrative_margins.yaml")
    p.add_argument("--strict", action="store_true",
                   help="exit non-zero when any replicable cell is outside rounding")
    p.add_argument("--no-report", action="store_true",
                   help="write tables and replication.md/json only (no HTML report)")
    p.add_argument("--figure-formats", metavar="LIST", default="png,pdf",
                   help="figure files to write, comma-separated from png, pdf, svg (default: "
                        "png,pdf - PNG at 300 dpi for Word and the report, PDF for journals). "
                        "PNG is always written: the report shows it")
    p.add_argument("--progress", action="store_true", help="print each step to stderr")
    p.add_argument("--force", action="store_true",
                   help="write into an --out folder that holds other files than an earlier "
                        "run (they are left alone; same-named files are replaced)")
    p.set_defaults(func=run)


def wrote_line(files: list[Any], out: str) -> str:
    """"Wrote to OUT: tables/ (15 files), ..., report.html": every file, folders counted."""
    from collections import Counter
    from pathlib import Path

    root = Path(out)
    tops: Counter[str] = Counter()
    for f in files:
        parts = Path(f).relative_to(root).parts
        tops[f"{parts[0]}/" if len(parts) > 1 else parts[0]] += 1
    folders = [f"{k} ({n} file{'s' if n != 1 else ''})" for k, n in tops.items() if k.endswith("/")]
    loose = [k for k in tops if not k.endswith("/")]
    return f"Wrote {len(files)} files to {out}: {', '.join(folders + loose)}"


def run(args: argparse.Namespace) -> int:
    """Run the replication; print the summary; return the exit code."""
    from surveykit.replication import SYNTHETIC_BANNER
    from surveykit.replication import run as replicate
    from surveykit.replication.pipeline import RUN_NAMES

    formats = [f.strip().lower() for f in str(args.figure_formats).split(",") if f.strip()]
    if not args.no_report:  # checked before any work
        from surveykit.report.figures import check_formats

        check_formats(formats, "--figure-formats")
    if args.mapping and not args.data:
        raise ReplicationError("--mapping needs --data", values=[args.mapping],
                               hint="pass --data FILE --mapping YAML, or neither for the replica")
    margin_files = [m for m in (args.margins, args.sensitivity_margins)
                    if m and m != "illustrative"]
    from surveykit._runfolder import RunFolder

    # before any work (the pipeline checks again): no input inside --out, no foreign files
    RunFolder(args.out, command="replicate", argv=None, inputs=[args.data, args.mapping,
                                                                 *margin_files],
              known=RUN_NAMES, force=args.force)
    margins = None
    if args.margins:
        from surveykit.weighting import load_targets

        margins = load_targets(args.margins)["margins"]
    sens_margins, sens_source = None, None
    if args.sensitivity_margins:
        if not args.sensitivity:
            raise ReplicationError("--sensitivity-margins needs --sensitivity",
                                   values=[args.sensitivity_margins])
        from surveykit._sensitivity import load_margins

        sens_margins, sens_source = load_margins(args.sensitivity_margins)
    if args.data is None:
        print(f"*** {SYNTHETIC_BANNER} ***")
    result = replicate(data=args.data, mapping=args.mapping, out=args.out, strict=False,
                       progress=True if args.progress else None, report=not args.no_report,
                       margins=margins, sensitivity=args.sensitivity,
                       sensitivity_margins=sens_margins, sensitivity_margins_source=sens_source,
                       figure_formats=formats, force=args.force,
                       command=getattr(args, "argv", None), inputs=margin_files)
    if result.is_replica and args.data is not None:  # a copy of the replica: read from the data
        why = result.provenance.get("synthetic_evidence")
        print(f"*** {SYNTHETIC_BANNER} ({why}) ***")
    print(f"{result.summary}.")
    for name, meta in result.model_meta.items():
        if name not in result.models:
            print(f"model {name} not fitted: {meta.get('error', '')}")
    if result.sensitivity is not None:
        print("Weighting sensitivity (every published cell under each scheme):")
        print(result.sensitivity.summary)
        for line in result.sensitivity.notes:
            print(line)
    print(wrote_line(result.files, args.out))
    if args.strict and not result.ok:
        cells = result.cells
        failed = cells[cells["passed"].eq(False).fillna(False).astype(bool)]
        raise ReplicationError(
            f"--strict: {result.n_failed} of {result.n_replicable} replicable cells are "
            "outside rounding", file=result.provenance.get("input_file"),
            values=[f"{t}/{r}/{g}" for t, r, g in
                    zip(failed["table_id"], failed["row_id"], failed["group_id"], strict=True)],
            hint=f"see {args.out}/replication.md")
    return 0
