"""Shared plumbing of the `analyses/` scripts: arguments, banner, printing and writing.

The scripts keep the analysis steps themselves in view (read + harmonise, design, estimate);
everything else lives here once.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from surveykit.provenance import SYNTHETIC_BANNER


def analysis_args(doc: str | None, argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse ``--data``, ``--mapping`` and ``--out`` for an analysis script."""
    parser = argparse.ArgumentParser(description=(doc or "").strip().splitlines()[0])
    parser.add_argument("--data", help="data file (default: the bundled synthetic replica)")
    parser.add_argument("--mapping", help="harmonisation mapping YAML for --data")
    parser.add_argument("--out", default="replication", help="output folder")
    return parser.parse_args(argv)


def announce(provenance: dict[str, Any]) -> str | None:
    """Print the synthetic-replica banner when the input is the replica; return it (or None)."""
    banner = SYNTHETIC_BANNER if provenance.get("is_replica") else None
    if banner:
        print(f"*** {banner} ***")
    return banner


def report_table(table_id: str, table: Any, provenance: dict[str, Any], out: str) -> None:
    """Print a computed table next to the published values and write it as CSV/MD/LaTeX."""
    from surveykit.replication.tables import table_meta
    from surveykit.replication.writers import table_summary, write_table

    banner = announce(provenance)
    paths = write_table(table, table_meta(table_id), f"{out}/tables", banner, provenance)
    shown = table[["row_label", "group_label", "published", "computed", "passed"]]
    print(shown.to_string(index=False, float_format=lambda x: f"{x:.2f}"))
    print(f"{table_id}: {table_summary(table)}; wrote {', '.join(str(p) for p in paths)}")


def report_models(names: Sequence[str], design: Any, provenance: dict[str, Any],
                  out: str) -> None:
    """Fit the named illustrative models on ``design``, print and write each table."""
    from surveykit.replication.models import fit_model, model_meta
    from surveykit.replication.writers import write_model

    banner = announce(provenance)
    for name in names:
        model = fit_model(name, design)  # survey model on the spec's domain
        paths = write_model(name, model, model_meta(name, model), f"{out}/models", banner,
                            provenance)
        print(paths[1].read_text(encoding="utf-8"))  # the Markdown table as written
        print(f"{name}: N = {model.nobs}; wrote {', '.join(str(p) for p in paths)}")
