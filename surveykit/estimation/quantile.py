"""Quantiles with confidence intervals, R's ``svyquantile(..., ci=TRUE)`` of survey >= 4.1.

The estimate is the weighted quantile by a quantile rule (``qrule``, default "math": the
smallest value whose weighted CDF reaches ``q``). Its interval is Woodruff's by default
(``ci="mean"``): an interval for ``F(qhat)`` — the design-based mean of ``x <= qhat`` — mapped
back through the quantile rule; "beta", "xlogit" and "asin" transform that interval as
``svyciprop``; "score" inverts the score test (Francisco and Fuller); "quantile" (replicate
designs) uses the replicate quantiles. As in R the standard error is derived from the
interval: ``(upper - lower) / (2 t)``, with ``t`` on the design degrees of freedom.

With ``vcov=True`` the covariance is Woodruff's linearisation: the joint design covariance of
the CDF estimates ``F(qhat)`` of every row, each scaled by its interval's slope
``SE(q) / SE(F)``, so its diagonal is exactly ``std_error**2``; with ``ci="quantile"`` it is the
joint replicate covariance of the replicate quantiles.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from surveykit._dist import beta_ppf, norm_ppf, t_ppf
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
    replicate_df,
    require_nonempty,
    warn_empty_groups,
)
from surveykit.estimation._result import tidy_result
from surveykit.mi.dispatch import mi_aware

QRULES = ("math", "school", "shahvaish", "hf1", "hf2", "hf3", "hf4", "hf5", "hf6", "hf7",
          "hf8", "hf9")
INTERVALS = ("mean", "beta", "xlogit", "asin", "score", "quantile")
QUANTILE_COLUMNS = ("variable", "quantile", "estimate", "std_error", "ci_low", "ci_high",
                    "n_unweighted", "n_missing")


# -- quantile rules (R's qrule_*) --------------------------------------------------------------
def _sorted(x: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    keep = w != 0
    x, w = x[keep], w[keep]
    order = np.argsort(x, kind="stable")
    return x[order], w[order]


def _cumsum(w: np.ndarray) -> np.ndarray:
    """Cumulative sums accumulated in extended precision, as R's ``cumsum``/``sum``."""
    return np.cumsum(w.astype(np.longdouble)).astype(float)


def _qs(x: np.ndarray, w: np.ndarray, p: float) -> dict[str, Any]:
    """R's ``qs``: the order statistics around the weighted ``p`` quantile (x, w sorted)."""
    cumw = _cumsum(w)
    total = cumw[-1]
    below = np.flatnonzero(cumw <= p * total)
    pos = int(below[-1]) if below.size else 0
    nxt = pos if pos == len(x) - 1 else pos + 1
    return {"qlow": x[pos], "qup": x[nxt], "ilow": pos + 1, "wlow": p - cumw[pos] / total,
            "wup": cumw[nxt] / total - p}


def _approx(xp: np.ndarray, yp: np.ndarray, v: float, constant: bool) -> float:
    """R's ``approx(xp, yp, v, rule=2)`` (ties averaged; linear or left-constant)."""
    order = np.argsort(xp, kind="stable")
    xs, ys = xp[order], yp[order]
    ux, inv = np.unique(xs, return_inverse=True)
    uy = np.bincount(inv, weights=ys) / np.bincount(inv)
    if not constant:
        return float(np.interp(v, ux, uy))
    i = int(np.searchsorted(ux, v, side="right")) - 1
    return float(uy[min(max(i, 0), len(uy) - 1)])


def qrule(x: np.ndarray, w: np.ndarray, p: float, rule: str = "math") -> float:
    """The weighted ``p`` quantile of ``x`` by one of R's quantile rules (``qrule_<rule>``);
    rows with zero weight are ignored."""
    x, w = _sorted(np.asarray(x, float), np.asarray(w, float))
    if x.size == 0:
        return float("nan")
    if rule in ("math", "hf1", "school", "hf2", "hf4"):
        q = _qs(x, w, p)
        # wlow < 0: p is below the first row's share, whose value is the quantile (R: <= 0)
        if rule in ("math", "hf1"):
            return float(q["qlow"] if q["wlow"] <= 0 else q["qup"])
        if rule in ("school", "hf2"):
            return float((q["qlow"] + q["qup"]) / 2 if q["wlow"] <= 0 else q["qup"])
        if q["wlow"] <= 0 or q["wup"] + q["wlow"] <= 0:
            # p at or below the first value's share, or p = 1: that end's value. survey 4.5's
            # qrule_hf4 extrapolates below the smallest value there (R's tests/quantile.R data:
            # the 0.01 quantile of 20 positive values is -0.0537) and gives NaN at p = 1;
            # oldsvyquantile and base R's quantile(type = 4) give the smallest value (0.0535)
            return float(q["qlow"])
        gamma = q["wlow"] / (q["wup"] + q["wlow"])
        return float(q["qlow"] * (1 - gamma) + q["qup"] * gamma)
    if rule == "hf3":
        ux, inv = np.unique(x, return_inverse=True)
        q = _qs(ux, np.bincount(inv, weights=w), p)
        return float(q["qlow"] if q["wlow"] <= 0 and q["ilow"] % 2 == 0 else q["qup"])
    n = len(x)
    cumw = _cumsum(w)
    prev = np.r_[0.0, cumw[:-1]]
    if rule == "shahvaish":
        s = _cumsum(w / w.mean())
        return _approx((s + 0.5 - w / 2) / (n + 1), x, p, constant=True)
    if rule == "hf5":
        pk = (cumw - w / 2) / cumw[-1]
    elif rule == "hf6":
        pk = cumw / (cumw[-1] + w[-1])
    elif rule == "hf7":
        pk = prev / cumw[n - 2] if n > 1 else np.zeros(1)
    elif rule == "hf8":
        pk = (prev / 3 + cumw * 2 / 3) / (cumw[-1] + w[-1] / 3)
    elif rule == "hf9":
        pk = (prev * 3 / 8 + cumw * 5 / 8) / (cumw[-1] + w[-1] / 4)
    else:
        raise EstimationError(f"unknown quantile rule {rule!r}", hint=f"use one of {QRULES}")
    return _approx(pk, x, p, constant=False)


# -- the estimator -------------------------------------------------------------------------------
def _crit(level: float, df: float) -> float:
    q = 0.5 + level / 2
    return float(norm_ppf(q) if not np.isfinite(df) else t_ppf(q, df))


def _cdf_interval(p: float, se: float, method: str, level: float, df: float,
                  n_rows: int, design_df: float) -> tuple[float, float]:
    """R's woodruffCI: the interval of the CDF estimate ``p`` (SE ``se``) on ``df``; the beta
    interval's effective sample size is scaled by t quantiles on ``n_rows - 1`` and the
    design's df (R's ``degf(design)``, whatever ``df`` the user gave)."""
    t = _crit(level, df)
    alpha = 1 - level
    # numpy scalars: at a CDF of exactly 0 or 1 (se 0) the transformed intervals are NaN, as
    # in R, instead of a Python ZeroDivisionError that loses every quantile of the call
    p, se = np.float64(p), np.float64(se)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if method == "mean":
            return p - t * se, p + t * se
        if method == "xlogit":
            eta, s = np.log(p / (1 - p)), se / (p * (1 - p))
            return float(1 / (1 + np.exp(-(eta - t * s)))), float(1 / (1 + np.exp(-(eta + t * s))))
        if method == "asin":
            a, s = np.arcsin(np.sqrt(p)), se / (2 * np.sqrt(p * (1 - p)))
            return float(np.sin(a - t * s) ** 2), float(np.sin(a + t * s) ** 2)
        # beta (Korn-Graubard on the effective sample size)
        n_eff = p * (1 - p) / se**2
        n_eff *= (t_ppf(alpha / 2, n_rows - 1) / t_ppf(alpha / 2, design_df)) ** 2
        return (float(beta_ppf(alpha / 2, n_eff * p, n_eff * (1 - p) + 1)),
                float(beta_ppf(1 - alpha / 2, n_eff * p + 1, n_eff * (1 - p))))


@mi_aware
def quantile(design: Design, var: str | Sequence[str], q: float | Sequence[float] = (0.5,),
             by: str | Sequence[str] | None = None, *,
             ci: Literal["mean", "beta", "xlogit", "asin", "score", "quantile"] = "mean",
             qrule: str = "math", level: float = 0.95, df: float | None = None,
             vcov: bool = False, na: str = "per_variable") -> pd.DataFrame:
    """Weighted quantiles with confidence intervals, R's ``svyquantile(~var, design, q,
    ci=TRUE, interval.type=ci, qrule=qrule, na.rm=TRUE)`` (via ``svyby`` for ``by``).

    One row per group, variable and quantile (``quantile`` column). Missing values of a
    variable are dropped for that variable (``n_missing``). ``ci``: "mean" (Woodruff, R's
    default), "beta", "xlogit", "asin", "score" (linearisation designs) or "quantile"
    (replicate designs: replicate quantiles); an interval end whose CDF limit falls outside
    [0, 1] is NaN, as R (a "score" end where the score test does not change sign
    between the data's ends is NaN with a warning; R's ``uniroot`` stops). ``std_error`` is
    R's: the interval width over ``2 t`` on ``df`` (default: the design df of the group's
    non-missing rows; ``float("inf")`` for normal).
    ``qrule``: "math" (default, = "hf1"), "school" (= "hf2"), "shahvaish", "hf3".."hf9".
    ``vcov=True``: joint covariance (see the module docstring), names "group:var:q".
    ``na``: the missing-value rule of every estimator; the default "per_variable" is R's
    (each variable on its own respondents), "listwise" leaves a respondent missing any of the
    variables out of all of them (counted in ``n_missing``).

    Parameters
    ----------
    design : SurveyDesign or ReplicateDesign
        The survey design (a domain: ``design.subset(...)``).
    var : str or sequence of str
        Numeric column(s).
    q : float or sequence of float
        Quantile(s) in (0, 1).
    by : str or sequence of str, optional
        Grouping column(s): one row per group (R's ``svyby``).
    ci : {"mean", "beta", "xlogit", "asin", "score", "quantile"}
        Interval type (R's ``interval.type``).
    qrule : str
        Quantile rule: "math", "school", "shahvaish", "hf1" .. "hf9".
    level : float
        Confidence level of the intervals.
    df : float, optional
        Degrees of freedom of the t quantiles (default: the design df).
    vcov : bool
        Put the joint covariance of all rows in ``attrs["vcov"]`` (for :func:`surveykit.contrast`).
    na : {"per_variable", "listwise"}
        Missing-value rule shared by every estimator.

    Returns
    -------
    pandas.DataFrame

    Examples
    --------
    >>> df = sk.load_replica()
    >>> design = sk.SurveyDesign(df, weights="weight")
    >>> sk.quantile(design, "internet_hours", q=0.5)["estimate"].tolist()
    [...]
    """
    from surveykit.estimation.descriptive import check_na

    design = check_design(design)
    check_na(na)
    if not 0 < level < 1:
        raise EstimationError(f"level must be between 0 and 1, got {level!r}")
    if ci not in INTERVALS:
        raise EstimationError(f"unknown interval type {ci!r}", hint=f"use one of {INTERVALS}")
    if qrule not in QRULES:
        raise EstimationError(f"unknown quantile rule {qrule!r}", hint=f"use one of {QRULES}")
    replicate = isinstance(design, ReplicateDesign)
    if ci == "quantile" and not replicate:
        raise EstimationError("ci='quantile' needs a replicate-weight design",
                              hint="use ci='mean' (Woodruff) on a linearisation design")
    if ci == "score" and replicate:
        raise EstimationError("ci='score' needs a linearisation design (as R)",
                              hint="use ci='mean' or 'quantile' on a replicate design")
    qs = [float(v) for v in np.atleast_1d(np.asarray(q, dtype=float))]
    bad = [v for v in qs if not 0 <= v <= 1]
    if bad or not qs:
        raise EstimationError("quantiles must be between 0 and 1", values=bad or [q])
    names = as_list(var, "var")
    if not names:
        raise EstimationError("no variable given")
    by_names = as_list(by, "by")
    groups = make_groups(design, by_names)
    G = groups.n_groups
    in_group = groups.codes >= 0
    ok_w = design.domain & (design.base_weights != 0)
    w_all = design.weights
    rows: list[dict[str, Any]] = []
    # per row of the result: CDF indicator column, its group code column, and the slope
    ind_cols, code_cols, slopes, rep_cols = [], [], [], []
    any_miss = (np.logical_or.reduce([numeric_column(design, n)[1] for n in names])
                if na == "listwise" and len(names) > 1 else None)
    for name in names:
        x, miss = numeric_column(design, name)
        if any_miss is not None:
            miss = miss | any_miss
        require_nonempty(design, name, in_group, miss)
        warn_empty_groups(groups, name, miss)
        codes = np.where(miss, -1, groups.codes)
        any_codes = np.where(miss, -1, groups.codes_any_weight)
        nmiss = np.bincount(groups.codes[in_group & miss], minlength=G)
        for g in range(G):
            key = {b: groups.keys.iloc[g][b] for b in by_names}
            used = (codes == g) & ok_w
            # the rows of R's design for this group (svyby's subset, then na.rm): weight-0
            # rows included; a calibrated design keeps every row (R then sets missing x to 0)
            r_rows = np.ones(len(x), dtype=bool) if not replicate and design.calibrations \
                else (any_codes == g) & design.domain
            idx = np.flatnonzero(used)
            xg, wg = x[idx], w_all[idx]
            if replicate:
                g_df = float(replicate_df(design, used))
                n_rows = int(idx.size)
            else:
                g_df = float(design.df_psu(np.bincount(design.psu_codes[idx],
                                                       minlength=design.n_psu) > 0))
                n_rows = design.n_total if design.calibrations else int(
                    r_rows.sum())
            use_df = g_df if df is None else float(df)
            t = _crit(level, use_df)
            for p in qs:
                qrule_value = _q(xg, wg, p, qrule)
                est, lo, hi = qrule_value, np.nan, np.nan
                ycol = np.where(used, x <= qrule_value, 0.0)
                slope = np.nan
                reps = None
                if idx.size:
                    if ci == "quantile":
                        wr = design.repweights[idx]  # type: ignore[union-attr]
                        reps = np.array([_q(xg, wr[:, r], p, qrule) for r in range(wr.shape[1])])
                        v = replicate_cov(design, np.array([est]), reps[:, None])  # type: ignore
                        se_q = float(np.sqrt(v[0, 0]))
                        lo, hi = est - t * se_q, est + t * se_q
                    else:
                        e = estimate_by(design, ycol[:, None], np.where(used, 0, -1), 1,
                                        "mean").groups[0]
                        pm, se_f = float(e.theta[0]), float(e.se[0])
                        if ci == "score":
                            lo, hi = _score_interval(design, x, used, p, qrule, level, use_df,
                                                     n_rows, np.where(miss, 0.0, x)[r_rows])
                        else:
                            plo, phi = _cdf_interval(pm, se_f, ci, level, use_df, n_rows,
                                                     g_df)
                            lo = _q(xg, wg, plo, qrule) if np.isfinite(plo) and plo >= 0 \
                                else np.nan
                            hi = _q(xg, wg, phi, qrule) if np.isfinite(phi) and phi <= 1 \
                                else np.nan
                        se_q = (hi - lo) / (2 * t)
                        slope = se_q / se_f if se_f > 0 else np.nan
                else:
                    se_q = np.nan
                rows.append({**key, "variable": name, "quantile": p, "estimate": float(est),
                             "std_error": float(se_q), "ci_low": float(lo),
                             "ci_high": float(hi), "n_unweighted": int(idx.size),
                             "n_missing": int(nmiss[g])})
                if vcov:  # kept only when the joint covariance is asked for (n-length)
                    ind_cols.append(ycol)
                    code_cols.append(np.where(used, 0, -1))
                    slopes.append(slope)
                    rep_cols.append(reps)
    joint = None
    if vcov:
        joint = _joint(design, ci, rows, ind_cols, code_cols, slopes, rep_cols)
    # the naming rule of surveykit.estimation._result, with the quantile last
    out = tidy_result(rows, by_names, QUANTILE_COLUMNS, synthetic=design.is_synthetic,
                      n_missing_by=groups.n_missing_by, vcov=joint,
                      df=float(design.df) if vcov else None, several=len(names) > 1,
                      labels=design, level=None,  # codes as int, <by>_label
                      suffix=[f"{r['quantile']:g}" for r in rows])
    return out


def _q(x: np.ndarray, w: np.ndarray, p: float, rule: str) -> float:
    return qrule(x, w, p, rule)


def _score_interval(design: Design, x: np.ndarray, used: np.ndarray, p: float, rule: str,
                    level: float, df: float, n_rows: int, x_rows: np.ndarray
                    ) -> tuple[float, float]:
    """R's ffullerCI: invert the design-based score test of ``P(x > theta) = 1 - p``.

    ``x_rows`` are the values on the rows of R's design object (weight-0 rows included; every
    row of a calibrated design): R takes the search bracket (min, max, IQR) and the final
    unweighted share ``mean(x <= limit)`` over them."""
    idx = np.flatnonzero(used)
    xg = x[idx]
    t_hi = _crit(level, df)
    codes = np.where(used, 0, -1)

    def score(theta: float, limit: float) -> float:
        u = np.where(used, (x > theta) - (1 - p), 0.0)
        e = estimate_by(design, u[:, None], codes, 1, "mean").groups[0]
        return float(e.theta[0] / e.se[0] - limit)

    iqr = float(np.subtract(*np.percentile(x_rows, [75, 25])))
    a, b = float(x_rows.min() + iqr / 100), float(x_rows.max() - iqr / 100)
    tol = 1 / (100 * np.sqrt(n_rows))
    from scipy import optimize  # here, not at import: scipy.optimize costs ~0.1 s

    def root(limit: float) -> float:
        # no sign change inside the bracket (a quantile near the ends of a small sample): the
        # limit does not exist there -- NaN with a warning (R's uniroot stops the whole call)
        try:
            theta = optimize.brentq(score, a, b, args=(limit,), xtol=tol)
        except ValueError:
            warnings.warn(f"score interval of the {p:g} quantile: the score test does not "
                          f"change sign between the data's ends, so that limit is NaN",
                          UserWarning, stacklevel=4)
            return float("nan")
        return _q(xg, design.weights[idx], float(np.mean(x_rows <= theta)), rule)

    return root(t_hi), root(-t_hi)


def _joint(design: Design, ci: str, rows: list[dict[str, Any]], ind_cols: list[np.ndarray],
           code_cols: list[np.ndarray], slopes: list[float],
           rep_cols: list[np.ndarray | None]) -> np.ndarray:
    """Joint covariance of all rows (module docstring)."""
    k = len(rows)
    if ci == "quantile":
        theta = np.array([r["estimate"] for r in rows])
        ok = np.array([r is not None for r in rep_cols])
        out = np.full((k, k), np.nan)
        if ok.any():
            reps = np.column_stack([r for r in rep_cols if r is not None])
            out[np.ix_(ok, ok)] = replicate_cov(design, theta[ok], reps)  # type: ignore
        return out
    y = np.column_stack(ind_cols)
    codes = np.column_stack(code_cols)
    e = estimate_by(design, y, codes, 1, "mean").groups[0]
    s = np.asarray(slopes, dtype=float)
    return e.vcov * np.outer(s, s)
