"""The variance engine: every design-based variance in surveykit is computed here.

- :func:`estimate` — THE entry point: an estimator's :class:`Statistic` (point estimates plus
  weighted influence scores and/or a vectorised re-estimate over replicate weight columns) or
  :class:`RatioOfTotals` (totals/means/proportions/ratios by group) for all groups at once
  -> estimates, joint covariance, design df and design effects.
- :mod:`~surveykit.variance.linearisation` — R's ``svyrecvar``: stages and the multistage
  recursion, PSU aggregation, calibration residuals, lonely PSUs, ``degf``.
- :mod:`~surveykit.variance.replication` — R's ``svrVar``, replicate totals, the replicate
  ``degf`` (rank of the replicate weights).
- :mod:`~surveykit.variance.totals` — the ratio-of-totals statistic (``estimate_by``).

The engine reads a design through its documented attributes and imports nothing of
:mod:`surveykit.design`, whose ``vcov``/``vcov_psu_totals``/``replicate_vcov``/``df`` are
thin delegates to it (kept for compatibility).
"""

from __future__ import annotations

from surveykit.variance.engine import RatioOfTotals, Statistic, VarianceResult, estimate
from surveykit.variance.linearisation import (
    df_psu,
    linearised_df,
    linearised_vcov,
    psu_aggregable,
    psu_totals_vcov,
)
from surveykit.variance.replication import replicate_cov, replicate_df, svr_var
from surveykit.variance.totals import ByEstimates, DomainEstimate, estimate_by, estimate_domains

__all__ = [
    "ByEstimates",
    "DomainEstimate",
    "RatioOfTotals",
    "Statistic",
    "VarianceResult",
    "df_psu",
    "estimate",
    "estimate_by",
    "estimate_domains",
    "linearised_df",
    "linearised_vcov",
    "psu_aggregable",
    "psu_totals_vcov",
    "replicate_cov",
    "replicate_df",
    "svr_var",
]
