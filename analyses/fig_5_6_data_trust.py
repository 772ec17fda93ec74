"""Trust in organisations with personal data (Figure 5.6, from the numbers stated in the prose).

Re-computed from respondent-level data and compared with the published numbers one by one.

    python analyses/fig_5_6_data_trust.py [--data FILE --mapping YAML] [--out DIR]

Without --data it uses the bundled SYNTHETIC replica (not the original survey data). The steps
are those of `surveykit replicate`, one table only: read + harmonise, build the survey design,
estimate every published cell (design-based, with SEs and CIs), compare with the registry.
The source sentence is garbled between central, local and provincial government; the reading
used (77 % central, 48 % provincial) is recorded in data_dictionary/published/fig_5_6.yaml.
"""

from __future__ import annotations

import sys

from surveykit.replication import build_design, compute_table, load_data
from surveykit.replication.scripts import analysis_args, report_table

TABLE = "fig_5_6"


def main(argv: list[str] | None = None) -> int:
    args = analysis_args(__doc__, argv)  # --data FILE --mapping YAML --out DIR
    frame, provenance = load_data(args.data, args.mapping)  # read + harmonise
    design = build_design(frame, source=provenance["input_file"])  # weights = "weight"
    table = compute_table(TABLE, design)  # every published cell: estimate, SE, CI, pass/fail
    report_table(TABLE, table, provenance, args.out)  # print; write CSV, Markdown, LaTeX
    return 0


if __name__ == "__main__":
    sys.exit(main())
