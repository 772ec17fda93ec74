"""Re-create every published table from a survey design and compare it cell by cell.

``run()`` is the whole pipeline behind ``surveykit replicate``; ``compute_table()`` computes one
registry table from any design; ``fit_models()`` fits the illustrative models. Outputs made from
the bundled synthetic replica carry :data:`SYNTHETIC_BANNER`.
"""

from __future__ import annotations

import importlib
from typing import Any

from surveykit.replication.result import COMPARISON_COLUMNS, SYNTHETIC_BANNER, ReplicationResult

# public name -> module (lazy, so `surveykit --help` stays fast). Module names differ from the
# function names so that importing a submodule never shadows a function on the package.
_LAZY: dict[str, str] = {
    "compute_table": "surveykit.replication.tables",
    "table_ids": "surveykit.replication.tables",
    "compare_cells": "surveykit.replication.compare",
    "cell_tolerance": "surveykit.replication.compare",
    "MODEL_SPECS": "surveykit.replication.models",
    "fit_model": "surveykit.replication.models",
    "fit_models": "surveykit.replication.models",
    "run": "surveykit.replication.pipeline",
    "compute": "surveykit.replication.pipeline",
    "load_data": "surveykit.replication.pipeline",
    "build_design": "surveykit.replication.pipeline",
    "write_outputs": "surveykit.replication.writers",
    "table_meta": "surveykit.replication.tables",
    "model_meta": "surveykit.replication.models",
    "write_table": "surveykit.replication.writers",
    "write_model": "surveykit.replication.writers",
}

__all__ = ["COMPARISON_COLUMNS", "SYNTHETIC_BANNER", "ReplicationResult", *_LAZY]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'surveykit.replication' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
