"""Design-based t-tests and rank tests (R ``svyttest``, ``svyranktest``).

``ttest`` is a Gaussian ``glm`` of the variable on the group (R fits ``svyglm(var ~ group)``):
the difference in means is the group coefficient, tested with t on the model's residual df
(one-sample: the mean, t on design df - 1). ``ranktest`` replaces the variable by its
design-weighted mid-rank score (``r / N`` for Wilcoxon/Kruskal-Wallis, ``qnorm(r / N)`` for van
der Waerden, ``r > N / 2`` for the median test), regresses it on the group by weighted least
squares and takes the variance of the regression's influence functions as a design total
(``design.vcov``; on a replicate design the replicate totals of the same influence functions,
as R's ``svytotal`` there: the ranks are not recomputed per replicate). Two groups: t on design
df - 1; more: Wald F of the group coefficients on (K - 1, design df - (K - 1)). Rows with a
missing variable or group are excluded as a domain and counted.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from surveykit._dist import f_sf, t_ppf, t_sf
from surveykit.errors import ModelError
from surveykit.estimation._input import _I_EXPR, get_column
from surveykit.inference import attach_covariance
from surveykit.mi.dispatch import mi_aware

RANK_TESTS = ("wilcoxon", "vanderWaerden", "median", "KruskalWallis")


def _check_columns(design: Any, *cols: str | None) -> None:
    for c in cols:
        if c is not None and c not in design.data.columns and not _I_EXPR.fullmatch(c):
            raise ModelError("variable not found in the design's data", file=design.source,
                             column=c)


def _column(design: Any, name: str) -> pd.Series:
    """A column, or an ``I(...)`` expression computed by the shared input layer."""
    if name in design.data.columns:
        return design.data[name]
    return get_column(design, name)


def _with_yg(design: Any, var: str, group: str | None) -> Any:
    """The design with the variable (and group) under fixed internal names; either may be an
    ``I(...)`` expression (e.g. a one-sample test of a difference, ``I(api00 - api99)``)."""
    cols = {"_sk_y": pd.to_numeric(_column(design, var), errors="coerce")}
    if group is not None:
        cols["_sk_g"] = _column(design, group)
    return design.with_columns(**cols)


@mi_aware
def ttest(design: Any, var: str, group: str | None = None, *, conf_level: float = 0.95
          ) -> pd.DataFrame:
    """Design-based t-test (R ``svyttest(var ~ group, design)``; ``group=None``: one-sample
    test of mean zero, R's ``var ~ 0``).

    Two groups (any two values; the difference is second level minus first in sorted or
    categorical order): difference in means, its SE, t, df (model residual df), two-sided p and
    a t interval (R's ``confint.svyglm``). One row: variable, group, contrast, estimate,
    std_error, statistic, df, p_value, ci_low, ci_high, n_unweighted, n_missing, method ("t";
    :func:`surveykit.testresult.as_test_result` gives the TestResult); ``attrs["vcov"]``/
    ``["df"]`` carry the estimate's variance for ``contrast``/``as_estimates``.

    Parameters
    ----------
    design : SurveyDesign, ReplicateDesign or MIDesign
        The survey design (a domain: ``design.subset(...)``).
    var : str
        The numeric outcome.
    group : str, optional
        Column with two groups (None: a one-sample test of mean zero).
    conf_level : float
        Confidence level of the interval.

    Returns
    -------
    pandas.DataFrame
        One row (see above).

    Examples
    --------
    >>> df = sk.load_replica()
    >>> design = sk.SurveyDesign(df, weights="weight")
    >>> res = sk.ttest(design, "internet_hours", "urban")
    >>> res[["variable", "group", "contrast"]]
             variable  group contrast
    0  internet_hours  urban    1 - 0
    """
    from surveykit.models.glm import glm

    _check_columns(design, var, group)
    d = _with_yg(design, var, group)
    if group is None:
        fit = glm(d, "_sk_y ~ 1")
        est, se = float(fit.params.iloc[0]), float(fit.std_errors.iloc[0])
        df = fit.df_resid - 1  # R: degf(design) - 1
        contrast = "mean"
    else:
        g = d.data["_sk_g"]
        used = np.asarray(d.domain) & (d.weights > 0) & g.notna().to_numpy() \
            & d.data["_sk_y"].notna().to_numpy()
        levels = (list(g.cat.categories) if isinstance(g.dtype, pd.CategoricalDtype)
                  else sorted(pd.unique(g[used])))
        present = [v for v in levels if (g[used] == v).any()]
        if len(present) != 2:
            raise ModelError("group must have exactly two values among the rows used",
                             file=design.source, column=group, values=present)
        is1 = g.eq(present[1]).fillna(False).to_numpy(dtype=bool)  # nullable codes: NA is
        is0 = g.eq(present[0]).fillna(False).to_numpy(dtype=bool)  # in neither group
        d2 = d.with_columns(_sk_g2=pd.Series(np.where(is1, 1.0, np.where(is0, 0.0, np.nan)),
                                             index=d.data.index))
        fit = glm(d2, "_sk_y ~ _sk_g2")
        est, se = float(fit.params.iloc[1]), float(fit.std_errors.iloc[1])
        df = fit.df_resid
        from surveykit.labels import as_code

        contrast = f"{as_code(present[1])} - {as_code(present[0])}"  # codes as written: 1 - 0
    stat = est / se
    p = 2 * t_sf(abs(stat), df) if df > 0 else float("nan")
    q = t_ppf(0.5 + conf_level / 2, df) if df > 0 else float("nan")
    out = pd.DataFrame([{"variable": var, "group": group, "contrast": contrast, "estimate": est,
                         "std_error": se, "statistic": stat, "df": float(df), "p_value": p,
                         "ci_low": est - q * se, "ci_high": est + q * se,
                         "n_unweighted": fit.nobs, "n_missing": fit.n_missing,
                         "method": "t"}])
    return attach_covariance(out, [[se**2]], [contrast], float(df), coef=[est])


def _mid_ranks(y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Design-weighted mid-ranks: cumulative weight below each value plus half its own,
    averaged over ties (R: ``ave(cumsum(w[ii]) - w[ii] / 2, factor(y[ii]))``).

    Sums are accumulated in extended precision and tie means refined as R's ``cumsum`` and
    ``mean`` do, so that ranks falling exactly at N/2 (the median test's cut) compare as in R.
    """
    ld = np.longdouble
    order = np.argsort(y, kind="stable")
    ys, ws = y[order], w[order]
    r = np.cumsum(ws.astype(ld)).astype(float) - ws / 2
    _, first, counts = np.unique(ys, return_index=True, return_counts=True)
    rl = r.astype(ld)
    means = np.add.reduceat(rl, first) / counts
    means = means + np.add.reduceat(rl - np.repeat(means, counts), first) / counts
    out = np.empty_like(r)
    out[order] = np.repeat(means.astype(float), counts)
    return out


def _total_weight(w: np.ndarray) -> float:
    """sum(w) accumulated in extended precision, as R's ``sum``."""
    return float(np.sum(w.astype(np.longdouble)))


def _total_vcov(design: Any, rows: np.ndarray, infl: np.ndarray) -> np.ndarray:
    """Design covariance of the weighted total of per-row influence values (R ``svytotal``)."""
    w = design.weights[rows]
    if design.is_replicate:
        reps = design.replicate_weights[rows].T @ infl
        return design.replicate_vcov(w @ infl, reps)
    full = np.zeros((design.n_total, infl.shape[1]))
    full[rows] = infl * w[:, None]
    return design.vcov(full)


@mi_aware
def ranktest(design: Any, var: str, group: str, test: str = "wilcoxon") -> pd.DataFrame:
    """Design-based rank test (R ``svyranktest(var ~ group, design, test=)``).

    ``test``: "wilcoxon", "vanderWaerden", "median" or "KruskalWallis" (wilcoxon and
    KruskalWallis use the same rank score). Two groups: difference in mean rank score (second
    minus first value; a numeric group enters as a number, as in R), its SE, t on design df -
    1, p. More groups: ``statistic`` is the Wald chi-square of the group effects, ``df`` = K-1,
    ``ddf`` = design df - (K-1), p from F = chisq/df. One row: test, variable, group, estimate,
    std_error, statistic, df, ddf, p_value, n_unweighted, n_missing, method (the reference
    distribution; :func:`surveykit.testresult.as_test_result` gives the TestResult).

    Parameters
    ----------
    design : SurveyDesign, ReplicateDesign or MIDesign
        The survey design (a domain: ``design.subset(...)``).
    var : str
        The outcome.
    group : str
        The grouping column (two or more groups).
    test : {"wilcoxon", "vanderWaerden", "median", "KruskalWallis"}
        The rank score.

    Returns
    -------
    pandas.DataFrame
        One row (see above).

    Examples
    --------
    >>> df = sk.load_replica()
    >>> design = sk.SurveyDesign(df, weights="weight")
    >>> res = sk.ranktest(design, "internet_hours", "urban")
    >>> res[["test", "variable", "group"]]
           test        variable  group
    0  wilcoxon  internet_hours  urban
    """
    if test not in RANK_TESTS:
        raise ModelError(f"unknown rank test {test!r}", hint=f"use one of {', '.join(RANK_TESTS)}")
    _check_columns(design, var, group)
    y_all = pd.to_numeric(_column(design, var), errors="coerce").to_numpy(dtype=float)
    g_all = _column(design, group)
    inside = np.asarray(design.domain) & (design.weights > 0)
    complete = ~np.isnan(y_all) & g_all.notna().to_numpy()
    rows = np.flatnonzero(inside & complete)
    n_missing = int((inside & ~complete).sum())
    if len(rows) == 0:
        raise ModelError("no complete rows in the domain", file=design.source, column=var)
    y, g, w = y_all[rows], g_all.iloc[rows], design.weights[rows]
    N = _total_weight(w)
    r = _mid_ranks(y, w)
    score = {"vanderWaerden": special.ndtri(r / N), "median": (r > N / 2).astype(float)}.get(
        test, r / N)
    levels = (list(g.cat.categories) if isinstance(g.dtype, pd.CategoricalDtype)
              else sorted(pd.unique(g)))
    levels = [v for v in levels if (g == v).any()]
    K = len(levels)
    if K < 2:
        raise ModelError("group needs at least two values among the rows used",
                         file=design.source, column=group, values=levels)
    if K == 2 and pd.api.types.is_numeric_dtype(g.dtype) and g.dtype != bool:
        X = np.column_stack([np.ones(len(rows)), g.to_numpy(dtype=float)])
    else:
        X = np.column_stack([np.ones(len(rows))]
                            + [(g == v).to_numpy(dtype=float) for v in levels[1:]])
    A = X.T @ (X * w[:, None])
    beta = np.linalg.solve(A, X.T @ (w * score))
    infl = (X * (score - X @ beta)[:, None]) @ np.linalg.inv(A)
    V = _total_vcov(design, rows, infl)
    ddf_design = design.subset(np.isin(np.arange(design.n_total), rows)).df
    base = {"test": test, "variable": var, "group": group, "n_unweighted": len(rows),
            "n_missing": n_missing}
    if K == 2:
        est, se = float(beta[1]), float(np.sqrt(V[1, 1]))
        df = ddf_design - 1
        stat = est / se
        p = 2 * t_sf(abs(stat), df) if df > 0 else float("nan")
        row = {**base, "estimate": est, "std_error": se, "statistic": stat, "df": float(df),
               "ddf": float("nan"), "p_value": p, "method": "t"}
    else:
        b, Vb = beta[1:], V[1:, 1:]
        chisq = float(b @ np.linalg.solve(Vb, b))
        ndf = K - 1
        ddf = ddf_design - ndf
        p = float(f_sf(chisq / ndf, ndf, ddf)) if ddf > 0 else float("nan")
        # R's layout: the Wald chi-square with its F p-value (testresult.as_test_result gives
        # the F statistic chisq / df on the F reference)
        row = {**base, "estimate": float("nan"), "std_error": float("nan"), "statistic": chisq,
               "df": float(ndf), "ddf": float(ddf), "p_value": p, "method": "F"}
    cols = ["test", "variable", "group", "estimate", "std_error", "statistic", "df", "ddf",
            "p_value", "n_unweighted", "n_missing", "method"]
    return pd.DataFrame([row], columns=cols)
