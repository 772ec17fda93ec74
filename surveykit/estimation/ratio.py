"""Ratios of totals, R's ``svyratio`` (also by groups, as ``svyby(..., svyratio)``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from surveykit._dist import norm_ppf
from surveykit.errors import EstimationError
from surveykit.estimation._groups import make_groups, warn_empty_groups
from surveykit.estimation._input import (
    RESULT_COLUMNS,
    Design,
    as_list,
    check_design,
    numeric_column,
    require_finite,
    require_nonempty,
)
from surveykit.estimation._result import replicate_estimates, tidy_result
from surveykit.mi.dispatch import mi_aware
from surveykit.provenance import mark
from surveykit.variance import RatioOfTotals, estimate


@mi_aware
def ratio(design: Design, numerator: str | Sequence[str], denominator: str,
          by: str | Sequence[str] | None = None, *, separate: bool = False,
          level: float = 0.95, vcov: bool = False, progress: bool | None = None,
          na: str = "listwise") -> pd.DataFrame:
    """Ratio of weighted totals ``sum w y / sum w x`` (R's ``svyratio``), overall or by groups.

    One row per numerator (``variable`` is "numerator/denominator", as R names it). Rows missing
    any numerator or the denominator are excluded as a domain (R's ``na.rm=TRUE``), counted in
    ``n_missing``. SEs from the influence scores ``w (y - R x) / sum w x`` on linearisation
    designs, re-estimated ratios on replicate designs; CIs are Wald intervals with normal
    quantiles (R's ``confint``). ``deff`` is not defined for ratios (NaN). ``vcov=True`` adds
    the joint covariance (``attrs["vcov"]``) as :func:`surveykit.mean`. ``na``: the
    missing-value rule of every estimator; "listwise" (default, R's) as above,
    "per_variable" takes each numerator on the rows where it and the denominator are observed.

    ``separate=True``: the separate ratio estimator, one ratio per first-stage stratum (R's
    ``svyratio(separate=TRUE)``), in a ``stratum`` column; :func:`predict_ratio` turns ratios
    into estimated totals from known denominator totals (R's ``predict(ratio, total=)``).

    Parameters
    ----------
    design : SurveyDesign or ReplicateDesign
        The survey design (a domain: ``design.subset(...)``).
    numerator : str or sequence of str
        Numerator column(s).
    denominator : str
        Denominator column.
    by : str or sequence of str, optional
        Grouping column(s): one row per group (R's ``svyby``).
    separate : bool
        One ratio per first-stage stratum (R's ``separate=TRUE``).
    level : float
        Confidence level of the intervals.
    vcov : bool
        Put the joint covariance of all rows in ``attrs["vcov"]`` (for :func:`surveykit.contrast`).
    progress : bool, optional
        Show a progress bar for long replicate-weight runs (default: when stderr is a terminal).
    na : {"listwise", "per_variable"}
        Missing-value rule shared by every estimator (see above).

    Returns
    -------
    pandas.DataFrame

    Examples
    --------
    >>> df = sk.load_replica()
    >>> design = sk.SurveyDesign(df, weights="weight")
    >>> sk.ratio(design, "internet_hours", "age")["variable"].tolist()
    ['internet_hours/age']
    """
    from surveykit.estimation.descriptive import check_na

    design = check_design(design)
    check_na(na)
    if separate:
        if na != "listwise":
            raise EstimationError("ratio(separate=True) takes only na='listwise'")
        return _separate(design, numerator, denominator, by, level=level, vcov=vcov,
                         progress=progress, na=na)
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
    per = na == "per_variable" and len(nums) > 1
    if per:  # each numerator on its own rows (with the denominator observed)
        own = [m | xmiss for m in misses]
        codes = np.column_stack([np.where(m, -1, groups.codes) for m in own])
        ok = design.domain & (design.base_weights != 0)
        n_used = np.column_stack([np.bincount(c[(c >= 0) & ok], minlength=G) for c in codes.T])
        n_miss_j = np.column_stack([np.bincount(groups.codes[in_group & m], minlength=G)
                                    for m in own])
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        res = estimate(design, RatioOfTotals(np.column_stack(ys), codes, G, "mean",
                                             denom=np.where(xmiss, 0.0, x)),
                       joint=vcov, progress=progress, keep_reps=vcov and design.is_replicate)
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
                         "deff": float("nan"),
                         "n_unweighted": int(n_used[g, j]) if per else e.n,
                         "n_missing": int(n_miss_j[g, j]) if per else int(nmiss[g])})
    out = tidy_result(rows, by_names, RESULT_COLUMNS, synthetic=design.is_synthetic,
                      n_missing_by=groups.n_missing_by, vcov=res.joint,
                      df=float(design.df) if vcov else None, several=len(nums) > 1,
                      labels=design, level=None,  # codes as int, <by>_label
                      replicates=replicate_estimates(design, res.groups, len(nums))
                      if vcov else None)
    return out


def _separate(design: Design, numerator: str | Sequence[str], denominator: str, by: Any, *,
              level: float, vcov: bool, progress: bool | None, na: str = "listwise"
              ) -> pd.DataFrame:
    """R's ``svyratio(separate=TRUE)``: the ratio within each first-stage stratum."""
    if by is not None:
        raise EstimationError("separate=True estimates one ratio per stratum; it takes no by=",
                              hint="use by= without separate=True for ratios in domains")
    if design.is_replicate or design.n_strata < 2:
        raise EstimationError("separate ratios need a stratified linearisation design (R: "
                              "\"Can't do separate ratio estimates without strata\")",
                              file=design.source)
    column = "stratum"
    if column in design.data.columns:
        raise EstimationError("the data already have a column named 'stratum'",
                              file=design.source, column=column)
    strata = np.asarray(design.spec["strata_levels"], dtype=object)[design.strata_codes]
    keyed = design.with_columns(**{column: pd.Series(strata, index=design.data.index)})
    return ratio(keyed, numerator, denominator, by=column, level=level, vcov=vcov,
                 progress=progress, na=na)


def predict_ratio(result: pd.DataFrame, total: Any) -> pd.DataFrame:
    """Estimated totals of the numerators from known totals of the denominator, with SEs (R's
    ``predict(svyratio, total=)``): ``total x ratio`` and ``total x SE(ratio)``.

    ``result`` is a :func:`ratio` result. For a combined ratio ``total`` is one number; for
    separate ratios (``ratio(separate=True)``) one total per stratum — a mapping or Series
    keyed by stratum, or a sequence in the result's stratum order — and the total is the sum
    over strata with variance ``sum_h total_h^2 SE_h^2`` (strata are independent), as R.
    One row per numerator: ``variable``, ``estimate``, ``std_error``.

    Parameters
    ----------
    result : pandas.DataFrame
        A :func:`surveykit.ratio` result.
    total : float, mapping, pandas.Series or sequence
        Known population total of the denominator (one per stratum for separate ratios).

    Returns
    -------
    pandas.DataFrame
        One row per numerator: ``variable``, ``estimate``, ``std_error``.

    Examples
    --------
    >>> df = sk.load_replica()
    >>> design = sk.SurveyDesign(df, weights="weight")
    >>> r = sk.ratio(design, "internet_hours", "age")
    >>> sk.predict_ratio(r, 1000)["estimate"].round(1).tolist()
    [148.3]
    """
    if not isinstance(result, pd.DataFrame) or not {"variable", "estimate",
                                                     "std_error"} <= set(result.columns):
        raise EstimationError("predict_ratio needs a ratio() result")
    rows = []
    for var, part in result.groupby("variable", sort=False):
        if "stratum" in part.columns:
            keys = list(part["stratum"])
            if isinstance(total, (dict, pd.Series)):
                missing = [k for k in keys if k not in total]
                if missing:
                    raise EstimationError("no denominator total for some strata",
                                          values=missing)
                x = np.array([float(total[k]) for k in keys])
            else:
                x = np.asarray(total, dtype=float).reshape(-1)
                if x.size != len(keys):
                    raise EstimationError(f"{x.size} totals for {len(keys)} strata (R: "
                                          "\"Number of strata differ in ratio object and "
                                          "totals\")", values=keys)
        else:
            if len(part) != 1:
                raise EstimationError("predict_ratio takes an overall or a separate ratio, not "
                                      "ratios by group", values=[var])
            x = np.atleast_1d(np.asarray(total, dtype=float))
            if x.size != 1:
                raise EstimationError("a combined ratio takes one denominator total",
                                      values=list(x))
        est = float(x @ part["estimate"].to_numpy(dtype=float))
        se = float(np.sqrt(np.sum((x * part["std_error"].to_numpy(dtype=float)) ** 2)))
        rows.append({"variable": var, "estimate": est, "std_error": se})
    out = pd.DataFrame(rows, columns=["variable", "estimate", "std_error"])
    return mark(out, bool(result.attrs.get("synthetic", False)))
