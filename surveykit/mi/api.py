"""Public multiple-imputation API (loads the Rubin's-rules combiners on import)."""

from __future__ import annotations

from surveykit.mi import combine as _combine  # noqa: F401  (registers the combiners)
from surveykit.mi.combine import d1_wald_test, pool_frame, pool_models
from surveykit.mi.design import MIDesign, mi_design
from surveykit.mi.impute import impute
from surveykit.mi.report import ImputationReport
from surveykit.mi.rubin import D1Result, Pooled, d1, pool

__all__ = ["D1Result", "ImputationReport", "MIDesign", "Pooled", "d1", "d1_wald_test",
           "impute", "mi_design", "pool", "pool_frame", "pool_models"]
