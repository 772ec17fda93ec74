"""Behaviour change (Kostka & Antoine 2020): negative binomial of the index and logit of any change.

    python analyses/models_behaviour.py [--data FILE --mapping YAML] [--out DIR]

ILLUSTRATIVE: the papers' coefficient tables are not in the published-table registry, so these
estimates are not compared with published numbers. Without --data it uses the bundled SYNTHETIC
replica (not the original survey data). Specifications: surveykit.replication.MODEL_SPECS.
"""

from __future__ import annotations

import sys

from surveykit.replication import build_design, load_data
from surveykit.replication.models import MODEL_FAMILIES
from surveykit.replication.scripts import analysis_args, report_models

MODELS = MODEL_FAMILIES["behaviour"]


def main(argv: list[str] | None = None) -> int:
    args = analysis_args(__doc__, argv)  # --data FILE --mapping YAML --out DIR
    frame, provenance = load_data(args.data, args.mapping)  # read + harmonise
    design = build_design(frame, source=provenance["input_file"])  # weights = "weight"
    report_models(MODELS, design, provenance, args.out)  # fit, print, write CSV/MD/LaTeX
    return 0


if __name__ == "__main__":
    sys.exit(main())
