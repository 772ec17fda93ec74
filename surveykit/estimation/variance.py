"""Population variance and covariance of variables, R's ``svyvar``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from surveykit._dist import norm_ppf
from surveykit.design import ReplicateDesign
from surveykit.errors import EstimationError
from surveykit.estimation._core import (
    Design,
    as_list,
    check_design,
    estimate_by,
    make_groups,
    numeric_column,
    replicate_cov,
    replicate_totals,
    require_finite,
    require_nonempty,
)
from surveykit.estimation._result import tidy_result
from surveykit.inference import Covariance
from surveykit.mi.dispatch import mi_aware

VAR_COLUMNS = ("variable", "variable2", "estimate", "std_error", "ci_low", "ci_high",
               "n_unweighted", "n_missing")


@mi_aware
def var(design: Design, var: str | Sequence[str], *, level: float = 0.95,
        vcov: bool = False) -> pd.DataFrame:
    """Weighted population variance of a variable, or the covariance matrix of several
    (R's ``svyvar(~a+b, design, na.rm=TRUE)``).

    One row per pair (``variable``, ``variable2``) in matrix order (row-major); the matrix is
    also in ``attrs["matrix"]``. The estimate is ``n/(n-1) sum w (x - xbar)(y - ybar) / sum w``.
    As R: rows missing any of the variables are left out (``n_missing``); on linearisation
    designs ``n`` counts the domain's respondents including those with a missing value and the
    SE is that of the mean of the products with ``xbar`` held fixed (``svymean`` of the
    centred products), while replicate designs recompute the means and ``n`` is the complete
    rows (``svyvar.svyrep.design``). CIs: Wald, normal quantiles. Parameter names "a:b".
    """
    design = check_design(design)
    if not 0 < level < 1:
        raise EstimationError(f"level must be between 0 and 1, got {level!r}")
    names = as_list(var, "var")
    if not names:
        raise EstimationError("no variable given")
    groups = make_groups(design, None)
    in_dom = (groups.codes >= 0) & (design.base_weights != 0)
    cols = [numeric_column(design, name) for name in names]
    for name, (_, miss) in zip(names, cols, strict=True):
        require_nonempty(design, name, in_dom, miss)
    any_miss = np.logical_or.reduce([m for _, m in cols])
    require_nonempty(design, " and ".join(names), in_dom, any_miss)
    x = np.column_stack([np.where(any_miss, 0.0, c) for c, _ in cols])
    ok = in_dom & ~any_miss
    p = len(names)
    ii, jj = np.repeat(np.arange(p), p), np.tile(np.arange(p), p)
    if isinstance(design, ReplicateDesign):
        theta, v = _replicate(design, x, ok, ii, jj)
        n_used = int(ok.sum())
    else:
        n = int(in_dom.sum())
        w = design.weights
        xbar = (w[ok] @ x[ok]) / w[ok].sum()
        dev = x - xbar
        prod = dev[:, ii] * dev[:, jj] * (n / (n - 1))
        codes = np.where(ok, 0, -1)
        with np.errstate(over="ignore", invalid="ignore"):
            e = estimate_by(design, prod, codes, 1, "mean", joint=False).groups[0]
        theta, v = e.theta, e.vcov
        n_used = e.n
    se = np.sqrt(np.clip(np.diag(v), 0, None))
    require_finite(design, ", ".join(names), np.r_[theta, se], "variance")
    z = norm_ppf(0.5 + level / 2)
    n_missing = int((in_dom & any_miss).sum())
    rows: list[dict[str, Any]] = [
        {"variable": names[a], "variable2": names[b], "estimate": float(t),
         "std_error": float(s), "ci_low": float(t - z * s), "ci_high": float(t + z * s),
         "n_unweighted": n_used, "n_missing": n_missing}
        for a, b, t, s in zip(ii, jj, theta, se, strict=True)]
    out = tidy_result(rows, [], VAR_COLUMNS, synthetic=design.is_synthetic,
                      vcov=v if vcov else None, df=float(design.df) if vcov else None,
                      names=[f"{names[a]}:{names[b]}" for a, b in zip(ii, jj, strict=True)])
    # immutable, so pandas can compare/copy the attrs (a DataFrame there breaks pd.concat)
    out.attrs["matrix"] = Covariance(theta.reshape(p, p), names)
    return out


def _replicate(design: ReplicateDesign, x: np.ndarray, ok: np.ndarray, ii: np.ndarray,
               jj: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Variances recomputed with every replicate's weights (means included), as R."""
    n = int(ok.sum())
    rows = np.flatnonzero(ok)
    xs = x[rows]
    cols = np.column_stack([np.ones(len(rows)), xs, xs[:, ii] * xs[:, jj]])
    mat = sparse.csr_matrix((cols.ravel(), (np.repeat(rows, cols.shape[1]),
                                            np.tile(np.arange(cols.shape[1]), len(rows)))),
                            shape=(design.n_total, cols.shape[1]))
    full, reps = replicate_totals(design, mat)
    p = x.shape[1]

    def cov(t: np.ndarray) -> np.ndarray:
        s1 = t[..., [0]]
        mean = t[..., 1:1 + p] / s1
        return (n / (n - 1)) * (t[..., 1 + p:] / s1 - mean[..., ii] * mean[..., jj])

    with np.errstate(divide="ignore", invalid="ignore"):
        theta = cov(full[None, :])[0]
        theta_r = cov(reps)
    return theta, replicate_cov(design, theta, theta_r)
