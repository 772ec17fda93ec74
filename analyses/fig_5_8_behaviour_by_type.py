"""Figure 5.8: reported behaviour change by type of SCS (Kostka & Antoine 2020).

Re-computed from respondent-level data and compared with the published cells one by one.

    python analyses/fig_5_8_behaviour_by_type.py [--data FILE --mapping YAML] [--out DIR]

Without --data it uses the bundled SYNTHETIC replica (not the original survey data). The steps
are those of `surveykit replicate`, one table only: read + harmonise, build the survey design,
estimate every published cell (design-based, with SEs and CIs), compare with the registry.
"""

from __future__ import annotations

import argparse
import sys

from surveykit.replication import (
    SYNTHETIC_BANNER,
    build_design,
    compute_table,
    load_data,
    table_meta,
    write_table,
)
from surveykit.replication.writers import table_summary

TABLE = "fig_5_8"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="data file (default: the bundled synthetic replica)")
    parser.add_argument("--mapping", help="harmonisation mapping YAML for --data")
    parser.add_argument("--out", default="replication", help="output folder")
    args = parser.parse_args(argv)

    frame, provenance = load_data(args.data, args.mapping)  # read + harmonise
    design = build_design(frame, source=provenance["input_file"])  # weights = "weight"
    table = compute_table(TABLE, design)  # every published cell: estimate, SE, CI, pass/fail
    banner = SYNTHETIC_BANNER if provenance["is_replica"] else None
    paths = write_table(table, table_meta(TABLE), f"{args.out}/tables", banner)

    if banner:
        print(f"*** {banner} ***")
    shown = table[["row_label", "group_label", "published", "computed", "passed"]]
    print(shown.to_string(index=False, float_format=lambda x: f"{x:.2f}"))
    print(f"{TABLE}: {table_summary(table)}; wrote {', '.join(str(p) for p in paths)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
