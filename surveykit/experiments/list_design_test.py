"""Blair & Imai's (2012) test for design effects in a standard list experiment (R
``list::ict.test``).

Without design effects (adding the sensitive item does not change answers to the control items)
the population shares ``pi(y, 1) = F0(y) - F1(y)`` (y = 0..J-1) and
``pi(y, 0) = F1(y) - F0(y - 1)`` (y = 1..J) are all non-negative, ``F_t`` the cumulative
distribution of the count in arm t. Each family is tested against the negative orthant by the
likelihood-ratio statistic ``min_{b >= -pi} b' S^{-1} b`` (a quadratic programme), whose null
distribution is a mixture of chi-squares (weights from the correlations, closed forms up to three
estimates), after R's generalised moment selection (GMS) drops estimates that are clearly
positive; one remaining estimate is a one-sided t test. The two p-values are combined by
Bonferroni: ``min(1, 2 min(p1, p0))``.

``se="model"``: R's covariance (independent binomial proportions, unweighted) and Welch t
tests, reproducing ``ict.test``; ``se="design"`` (default): the shares from the survey weights
and their covariance from the design (influence functions of the cumulative shares, or
replicate weights), t tests on the design df.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from surveykit.errors import EstimationError
from surveykit.estimation._core import check_design
from surveykit.experiments._common import SYNTHETIC_NOTE, design_vcov
from surveykit.experiments.list_experiment import binary_treatment, list_counts
from surveykit.mi.dispatch import mi_aware
from surveykit.provenance import is_synthetic

__all__ = ["list_design_test"]


def _qp_lambda(pi: np.ndarray, cov: np.ndarray) -> float:
    """``min_b b' cov^+ b`` subject to ``b >= -pi`` (R: solve.QP(2 ginv(cov), 0, I, -pi)$value),
    exactly, by enumerating the active constraints (at most J of them)."""
    if not np.any(pi < 0):
        return 0.0
    Q = np.linalg.pinv(cov)
    k = len(pi)
    best = np.inf
    for r in range(k + 1):
        for act in itertools.combinations(range(k), r):
            a = list(act)
            f = [j for j in range(k) if j not in act]
            b = np.zeros(k)
            b[a] = -pi[a]
            if f:
                b[f] = -np.linalg.lstsq(Q[np.ix_(f, f)], Q[np.ix_(f, a)] @ b[a], rcond=None)[0]
            if np.all(b >= -pi - 1e-12):
                best = min(best, float(b @ Q @ b))
    return best


def _mixture_weights(rho: np.ndarray) -> np.ndarray:
    """Chi-bar-square weights w[0..k] of R's ict.test for k = 2 or 3 estimates."""
    k = rho.shape[0]
    if k == 2:
        a = np.arccos(rho[0, 1])
        return np.array([0.5 - a / (2 * np.pi), 0.5, a / (2 * np.pi)])
    r12, r13, r23 = rho[0, 1], rho[0, 2], rho[1, 2]
    p12 = (r12 - r13 * r23) / np.sqrt((1 - r13 ** 2) * (1 - r23 ** 2))
    p13 = (r13 - r12 * r23) / np.sqrt((1 - r12 ** 2) * (1 - r23 ** 2))
    p23 = (r23 - r12 * r13) / np.sqrt((1 - r12 ** 2) * (1 - r13 ** 2))
    w0 = 0.25 / np.pi * (2 * np.pi - np.arccos(r12) - np.arccos(r13) - np.arccos(r23))
    w1 = 0.25 / np.pi * (3 * np.pi - np.arccos(p12) - np.arccos(p13) - np.arccos(p23))
    return np.array([w0, w1, 0.5 - w0, 0.5 - w1])


def _family_p(pi: np.ndarray, cov: np.ndarray, keep: np.ndarray, t_p: np.ndarray) -> float:
    """p-value of one family after GMS (``keep``): t test for one estimate, chi-bar-square
    mixture for two or three; NaN when nothing remains (R then uses the other family)."""
    idx = np.flatnonzero(keep)
    if len(idx) == 0:
        return np.nan
    if len(idx) == 1:
        return float(t_p[idx[0]])
    if len(idx) > 3:
        raise EstimationError("the design-effect test has closed-form weights for up to three "
                              "estimates per family (J <= 3 after moment selection); R's "
                              "ict.test simulates them beyond that",
                              hint="J > 3 is not supported yet")
    c = cov[np.ix_(idx, idx)]
    sd = np.sqrt(np.diag(c))
    rho = c / np.outer(sd, sd)
    lam = _qp_lambda(pi[idx], c)
    w = _mixture_weights(rho)
    tail = np.array([0.0 if k == 0 else stats.chi2.sf(lam, k) for k in range(len(w))])
    if lam == 0:
        tail[0] = 0.0  # R: pchisq(0, df = 0, lower.tail = FALSE) = 0
    return float(w @ tail)


def _model_cov(F1: np.ndarray, F0: np.ndarray, n1: int, n0: int, J: int) -> np.ndarray:
    """R's covariance of (pi(0..J-1, 1), pi(1..J, 0)) from independent binomial proportions."""
    def c(Fa: np.ndarray, ia: int, ib: int) -> float:  # cov of cum shares at ia <= ib
        if ia < 0 or ib < 0:
            return 0.0
        return Fa[ia] * (1 - Fa[ib])

    def cov_cdf(Fa: np.ndarray, n: int, i: int, j: int) -> float:
        lo, hi = min(i, j), max(i, j)
        return c(Fa, lo, hi) / n

    # pi1_j = F0(j) - F1(j); pi0_j = F1(j) - F0(j-1)
    items = [("1", j) for j in range(J)] + [("0", j) for j in range(1, J + 1)]

    def parts(it: tuple[str, int]) -> list[tuple[str, int, float]]:
        kind, j = it
        if kind == "1":
            return [("F0", j, 1.0), ("F1", j, -1.0)]
        return [("F1", j, 1.0), ("F0", j - 1, -1.0)]

    V = np.zeros((2 * J, 2 * J))
    for a, ia in enumerate(items):
        for b, ib in enumerate(items):
            s = 0.0
            for fa, ja, ca in parts(ia):
                for fb, jb, cb in parts(ib):
                    if fa != fb or ja < 0 or jb < 0:
                        continue
                    Fa, n = (F0, n0) if fa == "F0" else (F1, n1)
                    s += ca * cb * cov_cdf(Fa, n, ja, jb)
            V[a, b] = s
    return V


def _welch_less(x: np.ndarray, y: np.ndarray) -> float:
    """R ``t.test(x, y, alternative = "less")$p.value`` (Welch)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(stats.ttest_ind(x, y, equal_var=False, alternative="less").pvalue)


@mi_aware
def list_design_test(design: Any, count: str, treatment: str, J: int, *, se: str = "design",
                     gms: bool = True, control: Any = None) -> pd.DataFrame:
    """Blair & Imai (2012) test for design effects (R ``list::ict.test``).

    Returns a one-row test frame (``test``, ``statistic`` = the smaller family p-value's LR
    statistic, ``p_value`` = the Bonferroni-corrected p-value, ``p_value_y1``, ``p_value_y0``)
    with ``attrs["pi_table"]``: the estimated shares ``pi(y, z)`` with their SEs (R's
    ``pi.table``). Small p-values are evidence of a design effect.

    Parameters
    ----------
    design : SurveyDesign or ReplicateDesign
        The design (domains: ``design.subset``).
    count : str
        The number of items endorsed.
    treatment : str
        Binary arm column.
    J : int
        Number of control items.
    se : {"design", "model"}
        Design-based or model-based (R ``list``) standard errors.
    gms : bool
        Use the generalised moment selection of Blair & Imai (R ``ict.test(gms=TRUE)``).
    control : optional
        The control arm's value or label (default: the lower value).

    Examples
    --------
    >>> from surveykit.replica.experiments import LIST_J, list_experiment_data
    >>> le = sk.SurveyDesign(list_experiment_data(), weights="weight", strata="region", psu="psu")
    >>> sk.list_design_test(le, "item_count", "list_treat", J=LIST_J)["test"].tolist()
    ['Blair-Imai design effect (Bonferroni)']
    """
    design = check_design(design)
    if se not in ("design", "model"):
        raise EstimationError(f"unknown se {se!r}", hint="use 'design' or 'model'")
    w_all = np.asarray(design.weights, dtype=float)
    domain = w_all != 0
    t, tmiss, _, _ = binary_treatment(design, treatment, control, domain)
    y, ymiss = list_counts(design, count, J, t, domain & ~tmiss)
    used = domain & ~tmiss & ~ymiss
    n = int(used.sum())
    m1, m0 = used & (t == 1), used & (t == 0)
    if not m1.any() or not m0.any():
        raise EstimationError("an arm of the list experiment has no rows in the domain",
                              file=design.source, column=treatment)
    levels = np.arange(J + 1)
    if se == "model":
        y1, y0 = y[m1], y[m0]
        F1 = np.array([np.mean(y1 <= j) for j in levels])
        F0 = np.array([np.mean(y0 <= j) for j in levels])
        cov = _model_cov(F1, F0, len(y1), len(y0), J)
        t1 = np.array([_welch_less((y0 <= j).astype(float), (y1 <= j).astype(float))
                       for j in range(J)])
        t0 = np.array([_welch_less((y1 <= j).astype(float), (y0 <= j - 1).astype(float))
                       for j in range(1, J + 1)])
        df = np.inf
    else:
        yz = np.where(used, y, -1.0)
        ind = (yz[:, None] <= levels[None, :]).astype(float)  # n x (J+1) cumulative indicators

        def cdfs(wv: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            w1, w0 = wv * m1, wv * m0
            return (w1 @ ind) / w1.sum(), (w0 @ ind) / w0.sum()

        def pis(wv: np.ndarray) -> np.ndarray:
            F1_, F0_ = cdfs(wv)
            return np.concatenate([F0_[:J] - F1_[:J], F1_[1:J + 1] - F0_[:J]])

        F1, F0 = cdfs(w_all)

        def influence() -> np.ndarray:
            w1, w0 = w_all * m1, w_all * m0
            i1 = w1[:, None] * (ind - F1) / w1.sum()
            i0 = w0[:, None] * (ind - F0) / w0.sum()
            return np.column_stack([i0[:, :J] - i1[:, :J], i1[:, 1:J + 1] - i0[:, :J]])

        theta = pis(w_all)
        cov = design_vcov(design, influence,
                          lambda W: np.vstack([pis(W[:, r] * used) for r in range(W.shape[1])]),
                          theta)
        df = float(design.subset(used).df)
        sd = np.sqrt(np.diag(cov))
        with np.errstate(divide="ignore", invalid="ignore"):
            z = theta / sd
        cdf = stats.norm.cdf if not np.isfinite(df) else (lambda s: stats.t.cdf(s, df))
        t1, t0 = cdf(z[:J]), cdf(z[J:])
    pi1 = F0[:J] - F1[:J]
    pi0 = F1[1:J + 1] - F0[:J]

    def keep(pi: np.ndarray) -> np.ndarray:
        drop = pi == 0
        if gms and len(pi) > 1:
            s = np.std(pi, ddof=1)
            with np.errstate(divide="ignore", invalid="ignore"):
                drop = drop | (np.sqrt(n) * pi / s > np.sqrt(np.log(n)))
        return ~drop

    c1, c0 = cov[:J, :J], cov[J:, J:]
    p1 = _family_p(pi1, c1, keep(pi1), t1)
    p0 = _family_p(pi0, c0, keep(pi0), t0)
    ps = [p for p in (p1, p0) if np.isfinite(p)]
    p = min(1.0, 2 * min(ps)) if ps else 1.0
    sd_all = np.sqrt(np.maximum(np.diag(cov), 0))
    pi_tb1 = np.concatenate([pi1, [F0[J] - F1[J]]])
    pi_tb0 = np.concatenate([[F1[0]], pi0])
    table = pd.DataFrame({
        "y": np.concatenate([levels, levels]),
        "z": [1] * (J + 1) + [0] * (J + 1),
        "estimate": np.concatenate([pi_tb1, pi_tb0]),
        "std_error": np.concatenate([sd_all[:J], [np.nan], [np.nan], sd_all[J:]])})
    out = pd.DataFrame([{
        "test": "Blair-Imai design effect (Bonferroni)", "terms": f"{count} ~ {treatment}",
        "statistic": np.nan, "df": np.nan, "ddf": df, "p_value": p,
        "p_value_y1": p1, "p_value_y0": p0}])
    out.attrs.update(pi_table=tuple(map(tuple, table.to_numpy().tolist())), se=se, J=J)
    if is_synthetic(design):
        out.attrs.update(synthetic=True, note=SYNTHETIC_NOTE)
    out.attrs["pi_table_columns"] = ("y", "z", "estimate", "std_error")
    return out
