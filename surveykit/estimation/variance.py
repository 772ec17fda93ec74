"""Population variance and covariance of variables, R's ``svyvar``."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from surveykit._dist import norm_ppf
from surveykit.design import ReplicateDesign
from surveykit.errors import EstimationError
from surveykit.estimation._groups import Groups, group_labels, make_groups, warn_empty_groups
from surveykit.estimation._input import (
    Design,
    as_list,
    check_design,
    numeric_column,
    require_finite,
    require_nonempty,
)
from surveykit.estimation._result import tidy_result
from surveykit.inference import Covariance
from surveykit.mi.dispatch import mi_aware
from surveykit.variance import RatioOfTotals, estimate
from surveykit.variance.replication import replicate_cov, replicate_totals

VAR_COLUMNS = ("variable", "variable2", "estimate", "std_error", "ci_low", "ci_high",
               "n_unweighted", "n_missing")


@mi_aware
def var(design: Design, var: str | Sequence[str], by: str | Sequence[str] | None = None, *,
        level: float = 0.95, vcov: bool = False, na: str = "listwise") -> pd.DataFrame:
    """Weighted population variance of a variable, or the covariance matrix of several
    (R's ``svyvar(~a+b, design, na.rm=TRUE)``), overall or in each ``by`` group (R's
    ``svyby(~a, ~g, design, svyvar)``).

    One row per pair (``variable``, ``variable2``) in matrix order (row-major), after the ``by``
    columns; without ``by`` the matrix is also in ``attrs["matrix"]``. The estimate is
    ``n/(n-1) sum w (x - xbar)(y - ybar) / sum w``. As R: rows missing any of the variables are
    left out (``n_missing``) and ``n`` counts the domain's (group's) complete rows, so
    ``na`` exclusion equals the subset to complete rows (survey 4.5's ``tests/mtcars-var.R``;
    survey 4.1.1 also counted rows with a missing value in ``n``). On linearisation designs
    the SE is that of the mean of the products with ``xbar`` held fixed (``svymean`` of the
    centred products), while replicate designs recompute the means
    (``svyvar.svyrep.design``). A group with one respondent has an undefined variance: NaN
    row with a warning (an error without ``by``), as R 4.5's NA. CIs:
    Wald, normal quantiles. Parameter names "a:b" ("<group>:a:b" by group); ``vcov=True``
    gives the joint covariance of all groups (``svyby(covmat=TRUE)``).
    ``na``: the missing-value rule of every estimator; a covariance matrix has only
    "listwise" (the default; "per_variable" is accepted for one variable, where it is the same).

    Parameters
    ----------
    design : SurveyDesign or ReplicateDesign
        The survey design (a domain: ``design.subset(...)``).
    var : str or sequence of str
        Numeric column(s): one gives its variance, several the covariance matrix.
    by : str or sequence of str, optional
        Grouping column(s): one row per group (R's ``svyby``).
    level : float
        Confidence level of the intervals.
    vcov : bool
        Put the joint covariance of all rows in ``attrs["vcov"]`` (for :func:`surveykit.contrast`).
    na : {"listwise", "per_variable"}
        Missing-value rule ("per_variable" only with one variable).

    Returns
    -------
    pandas.DataFrame

    Examples
    --------
    >>> df = sk.load_replica()
    >>> design = sk.SurveyDesign(df, weights="weight")
    >>> sk.var(design, ["age", "internet_hours"])["variable2"].tolist()
    ['age', 'internet_hours', 'age', 'internet_hours']
    """
    from surveykit.estimation.descriptive import require_listwise

    design = check_design(design)
    if not 0 < level < 1:
        raise EstimationError(f"level must be between 0 and 1, got {level!r}")
    names = as_list(var, "var")
    if not names:
        raise EstimationError("no variable given")
    require_listwise(na, names, "a covariance matrix")
    by_names = as_list(by, "by")
    groups = make_groups(design, by_names)
    G = groups.n_groups
    in_dom = (groups.codes >= 0) & (design.base_weights != 0)
    cols = [numeric_column(design, name) for name in names]
    for name, (_, miss) in zip(names, cols, strict=True):
        require_nonempty(design, name, in_dom, miss)
    any_miss = np.logical_or.reduce([m for _, m in cols])
    require_nonempty(design, " and ".join(names), in_dom, any_miss)
    if by_names:
        warn_empty_groups(groups, " and ".join(names), any_miss)
    x = np.column_stack([np.where(any_miss, 0.0, c) for c, _ in cols])
    ok = in_dom & ~any_miss
    p = len(names)
    ii, jj = np.repeat(np.arange(p), p), np.tile(np.arange(p), p)
    gcode = np.where(ok, groups.codes, -1)
    if isinstance(design, ReplicateDesign):
        parts = [_replicate(design, x, ok & (groups.codes == g), ii, jj) for g in range(G)]
        theta_g = [t for t, _ in parts]
        reps = np.column_stack([r for _, r in parts])
        v_g = [replicate_cov(design, t, r) if np.isfinite(t).all() else
               np.full((len(t), len(t)), np.nan) for t, r in parts]
        n_used = np.bincount(gcode[gcode >= 0], minlength=G)
        joint = replicate_cov(design, np.concatenate(theta_g), reps) if vcov else None
    else:
        # n: the domain's respondents with every variable (survey >= 4.2, so na.rm = TRUE
        # equals the subset to complete rows; 4.1.1 also counted rows with a missing value)
        n_g = np.bincount(gcode[ok], minlength=G).astype(float)
        w = design.weights
        sw = np.bincount(gcode[ok], weights=w[ok], minlength=G)
        xbar = np.column_stack([np.bincount(gcode[ok], weights=w[ok] * x[ok, j], minlength=G)
                                for j in range(p)]) / sw[:, None]
        dev = x - xbar[np.maximum(gcode, 0)]
        with np.errstate(divide="ignore", invalid="ignore"):  # groups of one: NaN rows below
            factor = (n_g / (n_g - 1))[np.maximum(gcode, 0)]
            prod = dev[:, ii] * dev[:, jj] * factor[:, None]
        with np.errstate(over="ignore", invalid="ignore"):
            res = estimate(design, RatioOfTotals(prod, gcode, G, "mean"), joint=vcov)
        theta_g = [e.theta for e in res.groups]
        v_g = [e.vcov for e in res.groups]
        n_used = np.array([e.n for e in res.groups])
        joint = res.joint
    z = norm_ppf(0.5 + level / 2)
    nmiss = np.bincount(groups.codes[in_dom & any_miss], minlength=G)
    single = _single_respondent_groups(design, groups, names, n_used, by_names)
    rows: list[dict[str, Any]] = []
    for g in range(G):
        theta, v = theta_g[g], v_g[g]
        if g in single:  # n / (n - 1) is undefined: NaN, as R 4.5 (tests/mtcars-var.R)
            theta, v = np.full_like(theta, np.nan), np.full_like(v, np.nan)
        se = np.sqrt(np.clip(np.diag(v), 0, None))
        if n_used[g] and g not in single:
            require_finite(design, ", ".join(names), np.r_[theta, se], "variance")
        key = {b: groups.keys.iloc[g][b] for b in by_names}
        rows += [{**key, "variable": names[a], "variable2": names[b], "estimate": float(t),
                  "std_error": float(s), "ci_low": float(t - z * s),
                  "ci_high": float(t + z * s), "n_unweighted": int(n_used[g]),
                  "n_missing": int(nmiss[g])}
                 for a, b, t, s in zip(ii, jj, theta, se, strict=True)]
    pair_names = [f"{names[a]}:{names[b]}" for a, b in zip(ii, jj, strict=True)]
    if not by_names:
        out = tidy_result(rows, [], VAR_COLUMNS, synthetic=design.is_synthetic,
                          vcov=v_g[0] if vcov else None,
                          df=float(design.df) if vcov else None, names=pair_names)
        # immutable, so pandas can compare/copy the attrs (a DataFrame there breaks pd.concat)
        out.attrs["matrix"] = Covariance(theta_g[0].reshape(p, p), names)
        return out
    return tidy_result(rows, by_names, VAR_COLUMNS, synthetic=design.is_synthetic,
                       n_missing_by=groups.n_missing_by, vcov=joint,
                       df=float(design.df) if vcov else None, several=True,
                       labels=design, level=None,
                       suffix=[str(r["variable2"]) for r in rows])


def _single_respondent_groups(design: Design, groups: Groups, names: list[str],
                              n_used: np.ndarray, by_names: list[str]) -> set[int]:
    """Groups with exactly one respondent with values, whose variance ``n/(n-1) ...`` is
    undefined: an error without ``by``, else NaN rows with a warning naming the groups (R 4.5
    gives NA there; 4.1.1 fails)."""
    single = set(np.flatnonzero(np.asarray(n_used) == 1).tolist())
    if not single:
        return single
    what = " and ".join(names)
    if not by_names:
        raise EstimationError(f"a variance needs at least two respondents with a value of "
                              f"{what}; the design (domain) has one", file=design.source,
                              column=names[0])
    warnings.warn(f"{len(single)} group(s) have one respondent with a value of {what}: their "
                  f"variance is undefined, the rows are NaN: "
                  f"{group_labels(groups, sorted(single))}", UserWarning, stacklevel=4)
    return single


def _replicate(design: ReplicateDesign, x: np.ndarray, ok: np.ndarray, ii: np.ndarray,
               jj: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Variances (full sample, and recomputed with every replicate's weights, means
    included, R x p^2) of the rows in ``ok``, as R."""
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
    return theta, theta_r
