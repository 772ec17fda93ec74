"""Weighted frequency tables, R's ``svytable`` (with ``svytotal`` standard errors)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from surveykit._dist import norm_ppf
from surveykit.errors import EstimationError
from surveykit.estimation._core import (
    Design,
    categorical_column,
    check_design,
    estimate_by,
    make_groups,
    require_finite,
    require_nonempty,
)
from surveykit.estimation._result import tidy_result
from surveykit.mi.dispatch import mi_aware

TABLE_COLUMNS = ("estimate", "std_error", "ci_low", "ci_high", "n_unweighted", "n_missing")


@mi_aware
def table(design: Design, row: str, col: str | None = None, *, Ntotal: float | None = None,
          round: bool = False, level: float = 0.95, vcov: bool = False,
          na: str = "listwise") -> pd.DataFrame:
    """Weighted counts of the categories of ``row`` (and ``col``), R's ``svytable(~row+col)``.

    One row per cell, every combination of the observed levels (0 where empty), ``row``
    levels varying slowest. ``estimate`` is the sum of the weights in the cell; ``std_error``
    is R's ``svytotal`` of the cell indicator (not given by ``svytable``), CIs Wald with normal
    quantiles. ``Ntotal`` rescales the counts to sum to it (R's scalar ``Ntotal``); the SEs
    are then those of ``Ntotal`` x the cell share (``svymean``). ``round=True`` rounds the
    counts (not the SEs), as R. Rows missing ``row`` or ``col`` are left out (``n_missing``);
    ``n_unweighted`` counts the respondents in the cell. Codes are integers where integral;
    a labelled ``row``/``col`` gets a ``<row>_label``/``<col>_label`` column after it (as
    :func:`surveykit.mean` ``by`` columns). Parameter names "rowlevel.collevel", by the value
    labels where there are ("rural.West"). ``na``: the missing-value rule of every estimator;
    a two-way table has only "listwise" (the default).

    Parameters
    ----------
    design : SurveyDesign or ReplicateDesign
        The survey design (a domain: ``design.subset(...)``).
    row : str
        Row variable.
    col : str, optional
        Column variable.
    Ntotal : float, optional
        Rescale the counts to sum to this.
    round : bool
        Round the counts, as R's ``round=TRUE``.
    level : float
        Confidence level of the intervals.
    vcov : bool
        Put the joint covariance of all rows in ``attrs["vcov"]`` (for :func:`surveykit.contrast`).
    na : {"listwise"}
        Missing-value rule.

    Returns
    -------
    pandas.DataFrame

    Examples
    --------
    >>> df = sk.load_replica()
    >>> design = sk.SurveyDesign(df, weights="weight")
    >>> round(float(sk.table(design, "urban")["estimate"].sum()))
    2209
    """
    from surveykit.estimation.descriptive import require_listwise

    design = check_design(design)
    if not 0 < level < 1:
        raise EstimationError(f"level must be between 0 and 1, got {level!r}")
    if not isinstance(row, str) or (col is not None and not isinstance(col, str)):
        raise EstimationError("table() takes one or two column names", values=[row, col])
    if Ntotal is not None:
        if isinstance(Ntotal, (pd.DataFrame, dict, list, tuple, np.ndarray)):
            raise EstimationError("Ntotal must be one number (per-stratum totals are not "
                                  "supported)", values=[type(Ntotal).__name__])
        if not np.isfinite(Ntotal) or Ntotal <= 0:
            raise EstimationError("Ntotal must be a positive number", values=[Ntotal])
    names = [row] if col is None else [row, col]
    require_listwise(na, names, "a two-way table")
    coded = [categorical_column(design, name) for name in names]
    miss = np.logical_or.reduce([m for _, _, m in coded])
    groups = make_groups(design, None)
    in_dom = groups.codes >= 0
    require_nonempty(design, " x ".join(names), in_dom, miss)
    sizes = [len(levels) for _, levels, _ in coded]
    cell = np.zeros(design.n_total, dtype=np.intp)
    for (codes, _, _), k in zip(coded, sizes, strict=True):
        cell = cell * k + np.maximum(codes, 0)
    k_all = int(np.prod(sizes))
    codes_g = np.where(miss, -1, groups.codes)
    kind = "total" if Ntotal is None else "mean"
    with np.errstate(over="ignore", invalid="ignore"):
        e = estimate_by(design, None, codes_g, 1, kind, cat=cell, n_levels=k_all,
                        joint=False).groups[0]
    theta, v = e.theta, e.vcov
    if Ntotal is not None:
        theta, v = theta * Ntotal, v * Ntotal**2
    se = np.sqrt(np.clip(np.diag(v), 0, None))
    require_finite(design, " x ".join(names), np.r_[theta, se], "weighted count")
    est = np.round(theta) if round else theta
    used = in_dom & ~miss & (design.base_weights != 0)
    counts = np.bincount(cell[used], minlength=k_all)
    z = norm_ppf(0.5 + level / 2)
    n_missing = int((in_dom & miss).sum())
    levels = [lv for _, lv, _ in coded]
    rows: list[dict[str, Any]] = []
    for c in range(k_all):
        key, rest = {}, c
        for name, lv, k in zip(reversed(names), reversed(levels), reversed(sizes), strict=True):
            key[name] = lv[rest % k]
            rest //= k
        rows.append({**{nm: key[nm] for nm in names}, "estimate": float(est[c]),
                     "std_error": float(se[c]), "ci_low": float(theta[c] - z * se[c]),
                     "ci_high": float(theta[c] + z * se[c]), "n_unweighted": int(counts[c]),
                     "n_missing": n_missing})
    return tidy_result(rows, names, TABLE_COLUMNS, synthetic=design.is_synthetic,
                       vcov=v if vcov else None, df=float(design.df) if vcov else None,
                       labels=design, level=None)
