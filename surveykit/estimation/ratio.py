"""Ratios of totals, R's ``svyratio`` (also by groups, as ``svyby(..., svyratio)``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from surveykit._dist import norm_ppf
from surveykit.errors import EstimationError
from surveykit.estimation._core import (
    RESULT_COLUMNS,
    Design,
    as_list,
    check_design,
    estimate_by,
    make_groups,
    numeric_column,
    require_finite,
    require_nonempty,
    warn_empty_groups,
)
from surveykit.estimation._result import replicate_estimates, tidy_result
from surveykit.mi.dispatch import mi_aware


@mi_aware
def ratio(design: Design, numerator: str | Sequence[str], denominator: str,
          by: str | Sequence[str] | None = None, *, level: float = 0.95, vcov: bool = False,
          progress: bool | None = None) -> pd.DataFrame:
    """Ratio of weighted totals ``sum w y / sum w x`` (R's ``svyratio``), overall or by groups.

    One row per numerator (``variable`` is "numerator/denominator", as R names it). Rows missing
    any numerator or the denominator are excluded as a domain (R's ``na.rm=TRUE``), counted in
    ``n_missing``. SEs from the influence scores ``w (y - R x) / sum w x`` on linearisation
    designs, re-estimated ratios on replicate designs; CIs are Wald intervals with normal
    quantiles (R's ``confint``). ``deff`` is not defined for ratios (NaN). ``vcov=True`` adds
    the joint covariance (``attrs["vcov"]``) as :func:`surveykit.mean`.
    """
    design = check_design(design)
    if not 0 < level < 1:
        raise EstimationError(f"level must be between 0 and 1, got {level!r}")
    nums = as_list(numerator, "numerator")
    if not nums:
        raise EstimationError("no numerator given")
    if not isinstance(denominator, str):
        raise EstimationError("denominator must be one column name", values=[denominator])
    by_names = as_list(by, "by")
    groups = make_groups(design, by_names)
    G = groups.n_groups
    in_group = groups.codes >= 0
    ys, misses = [], []
    for name in nums:
        y, miss = numeric_column(design, name)
        require_nonempty(design, name, in_group, miss)
        ys.append(y)
        misses.append(miss)
    x, xmiss = numeric_column(design, denominator)
    require_nonempty(design, denominator, in_group, xmiss)
    any_miss = np.logical_or.reduce([*misses, xmiss])
    label = f"{', '.join(nums)} / {denominator}"
    require_nonempty(design, label, in_group, any_miss)
    warn_empty_groups(groups, label, any_miss)
    codes = np.where(any_miss, -1, groups.codes)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        res = estimate_by(design, np.column_stack(ys), codes, G, "mean", joint=vcov,
                          progress=progress, denom=np.where(xmiss, 0.0, x),
                          keep_reps=vcov and design.is_replicate)
    z = norm_ppf(0.5 + level / 2)
    nmiss = np.bincount(groups.codes[in_group & any_miss], minlength=G)
    rows: list[dict[str, Any]] = []
    for g, e in enumerate(res.groups):
        if e.n:
            require_finite(design, label, np.r_[e.theta, e.se], "ratio")
        key = {b: groups.keys.iloc[g][b] for b in by_names}
        for j, name in enumerate(nums):
            est, se = float(e.theta[j]), float(e.se[j])
            rows.append({**key, "variable": f"{name}/{denominator}", "estimate": est,
                         "std_error": se, "ci_low": est - z * se, "ci_high": est + z * se,
                         "deff": float("nan"), "n_unweighted": e.n,
                         "n_missing": int(nmiss[g])})
    out = tidy_result(rows, by_names, RESULT_COLUMNS, synthetic=design.is_synthetic,
                      n_missing_by=groups.n_missing_by, vcov=res.joint,
                      df=float(design.df) if vcov else None, several=len(nums) > 1,
                      labels=design, level=None,  # codes as int, <by>_label
                      replicates=replicate_estimates(design, res.groups, len(nums))
                      if vcov else None)
    return out
