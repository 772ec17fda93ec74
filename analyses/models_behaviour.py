"""Behaviour change (Kostka & Antoine 2020): negative binomial of the index and logit of any change.

    python analyses/models_behaviour.py [--data FILE --mapping YAML] [--out DIR]

ILLUSTRATIVE: the papers' coefficient tables are not in the published-table registry, so these
estimates are not compared with published numbers. Without --data it uses the bundled SYNTHETIC
replica (not the original survey data). Specifications: surveykit.replication.MODEL_SPECS.
"""

from __future__ import annotations

import argparse
import sys

from surveykit.replication import (
    SYNTHETIC_BANNER,
    build_design,
    fit_model,
    load_data,
    model_meta,
    write_model,
)
from surveykit.replication.models import MODEL_FAMILIES

MODELS = MODEL_FAMILIES["behaviour"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="data file (default: the bundled synthetic replica)")
    parser.add_argument("--mapping", help="harmonisation mapping YAML for --data")
    parser.add_argument("--out", default="replication", help="output folder")
    args = parser.parse_args(argv)

    frame, provenance = load_data(args.data, args.mapping)  # read + harmonise
    design = build_design(frame, source=provenance["input_file"])  # weights = "weight"
    banner = SYNTHETIC_BANNER if provenance["is_replica"] else None
    if banner:
        print(f"*** {banner} ***")
    for name in MODELS:
        model = fit_model(name, design)  # survey model on the spec's domain
        meta = model_meta(name, model)  # title, note (illustrative)
        paths = write_model(name, model, meta, f"{args.out}/models", banner)
        print(paths[1].read_text(encoding="utf-8"))  # the Markdown table as written
        print(f"{name}: N = {model.nobs}; wrote {', '.join(str(p) for p in paths)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
