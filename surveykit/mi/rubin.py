"""Rubin's rules: combining m complete-data estimates and covariances (pure numpy).

Conventions (stated, and checked against R in ``tests/test_mi_r.py``):

* estimate ``qbar`` = mean of the m estimates; within ``W`` = mean of the m covariances;
  between ``B`` = sample covariance of the m estimates (divisor m - 1); total
  ``T = W + (1 + 1/m) B`` (matrix form, as ``mitools::MIcombine``).
* relative increase in variance ``riv = (1 + 1/m) b / w`` and ``lambda = (1 + 1/m) b / t`` per
  parameter (diagonals).
* degrees of freedom, ``df_method``:
  ``"barnard_rubin"`` (default; Barnard & Rubin 1999, ``mice::pool``):
  ``nu_old = (m - 1) / lambda^2``, ``nu_obs = (nu_com + 1) / (nu_com + 3) nu_com (1 - lambda)``,
  ``nu = 1 / (1 / nu_old + 1 / nu_obs)``. mice additionally floors lambda at 1e-4; we do not
  (the two differ only when lambda < 1e-4, i.e. essentially no missing information).
  ``"mitools"``: ``MIcombine(df.complete = nu_com)``, whose ``nu_obs`` uses ``w / (w + b)``
  in place of ``1 - lambda``. ``"rubin1987"``: ``nu_old`` only (``MIcombine``'s default
  ``df.complete = Inf``).
  ``nu_com`` is the complete-data df: the design's df in the domain for estimators, the
  model's residual df for models.
* fraction of missing information ``fmi = (riv + 2 / (nu + 3)) / (riv + 1)`` with the
  combined ``nu`` (Rubin 1987 eq. 3.1.10; ``mitools``' ``missinfo`` and ``mice::pool``'s
  ``fmi``).
* D1 Wald test (Li, Raghunathan & Rubin 1991) as ``mitml::testModels(method = "D1")``, which
  ``mice::D1`` calls: ``r = (1 + 1/m) tr(B U^-1) / k``, ``D1 = q' U^-1 q / (k (1 + r))`` on
  ``F(k, v)``; ``v`` by Reiter (2007) when the complete-data df is finite (``mice::D1(dfcom=)``),
  else Li, Raghunathan & Rubin's ``4 + (t - 4)(1 + (1 - 2/t) / r)^2``, ``t = k (m - 1)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from surveykit._dist import chi2_sf, f_sf
from surveykit.errors import ImputationError

DF_METHODS = ("barnard_rubin", "mitools", "rubin1987")


@dataclass(frozen=True, eq=False)
class Pooled:
    """Rubin's rules applied to k parameters over m imputations (see module docstring)."""

    names: list[str]
    qbar: np.ndarray
    within: np.ndarray
    between: np.ndarray
    total: np.ndarray
    m: int
    df_complete: float
    df: np.ndarray
    riv: np.ndarray
    lam: np.ndarray
    fmi: np.ndarray
    df_method: str = "barnard_rubin"

    @property
    def se(self) -> np.ndarray:
        return np.sqrt(np.clip(np.diag(self.total), 0.0, None))


def _df(m: int, w: np.ndarray, b: np.ndarray, dfc: float, method: str
        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-parameter riv, lambda and combined df from diagonals w (within) and b (between)."""
    t = w + (1 + 1 / m) * b
    with np.errstate(divide="ignore", invalid="ignore"):
        riv = np.where(b > 0, (1 + 1 / m) * b / w, 0.0)
        lam = np.where(b > 0, (1 + 1 / m) * b / t, 0.0)
        df_old = np.where(b > 0, (m - 1) / lam**2, np.inf)
        if method == "rubin1987" or not np.isfinite(dfc):
            return riv, lam, df_old
        share = (1 - lam) if method == "barnard_rubin" else w / (w + b)
        df_obs = (dfc + 1) / (dfc + 3) * dfc * share
        df = 1 / (1 / df_old + 1 / df_obs)
    return riv, lam, df


def pool(coefs: np.ndarray, vcovs: np.ndarray, names: Sequence[str] | None = None, *,
         df_complete: float = float("inf"), df_method: str = "barnard_rubin") -> Pooled:
    """Combine m estimates ``coefs`` (m x k) and covariances ``vcovs`` (m x k x k).

    Raises :class:`ImputationError` when m < 2 (no between-imputation variance) or the shapes
    disagree.
    """
    if df_method not in DF_METHODS:
        raise ImputationError(f"unknown df_method {df_method!r}", values=list(DF_METHODS))
    q = np.asarray(coefs, dtype=float)
    if q.ndim == 1:
        q = q[:, None]
    m, k = q.shape
    if m < 2:
        raise ImputationError(
            f"m = {m}: Rubin's rules need at least 2 imputations to combine",
            hint="with one completed data set analyse its design directly (an MIDesign with "
                 "m = 1 passes the complete-data result through unchanged)")
    u = np.asarray(vcovs, dtype=float).reshape(m, k, k)
    # centred on the first imputation, so identical imputations give qbar = q_1, W = U_1 and
    # B = 0 exactly (not to rounding)
    dq = q - q[0]
    qbar = q[0] + dq.mean(axis=0)
    W = u[0] + (u - u[0]).mean(axis=0)
    d = dq - dq.mean(axis=0)
    B = d.T @ d / (m - 1)
    T = W + (1 + 1 / m) * B
    w, b = np.diag(W).copy(), np.diag(B).copy()
    riv, lam, df = _df(m, w, b, float(df_complete), df_method)
    with np.errstate(divide="ignore", invalid="ignore"):
        fmi = np.where(b > 0, (riv + 2 / (df + 3)) / (riv + 1), 0.0)
    names = [str(n) for n in (names if names is not None else range(k))]
    return Pooled(names, qbar, W, B, T, m, float(df_complete), np.asarray(df, float),
                  np.asarray(riv, float), np.asarray(lam, float), np.asarray(fmi, float),
                  df_method)


@dataclass(frozen=True)
class D1Result:
    """The D1 statistic, its F reference distribution and the average riv ``r``."""

    statistic: float
    df1: int
    df2: float
    p_value: float
    riv: float
    df_variant: str


def d1(qbar: np.ndarray, within: np.ndarray, between: np.ndarray, m: int,
       df_complete: float | None = None, null: np.ndarray | None = None) -> D1Result:
    """D1 test of ``qbar = null`` (default 0) from pooled k-vectors and k x k matrices, as
    ``mitml::testModels(method="D1")`` / ``mice::D1``: Reiter (2007) denominator df when
    ``df_complete`` is finite, Li, Raghunathan & Rubin (1991) otherwise."""
    if m < 2:
        raise ImputationError(f"m = {m}: the D1 test needs at least 2 imputations")
    q = np.atleast_1d(np.asarray(qbar, float))
    q = q - (0.0 if null is None else np.asarray(null, float))
    U = np.atleast_2d(np.asarray(within, float))
    B = np.atleast_2d(np.asarray(between, float))
    k = len(q)
    Uinv = np.linalg.inv(U)
    r = (1 + 1 / m) * float(np.trace(B @ Uinv)) / k
    stat = float(q @ Uinv @ q) / (k * (1 + r))
    t = k * (m - 1)
    if df_complete is not None and np.isfinite(df_complete):
        a = r * t / (t - 2)
        vstar = (df_complete + 1) / (df_complete + 3) * df_complete
        c0 = np.inf if t == 4 else 1.0 / (t - 4)  # mitml: 1/0 = Inf, so v = 4 when t = 4
        c1 = vstar - 2 * (1 + a)
        c2 = vstar - 4 * (1 + a)
        z = (1 / c2 + c0 * (a**2 * c1 / ((1 + a) ** 2 * c2))
             + c0 * (8 * a**2 * c1 / ((1 + a) * c2**2) + 4 * a**2 / ((1 + a) * c2))
             + c0 * (4 * a**2 / (c2 * c1) + 16 * a**2 * c1 / c2**3) + c0 * (8 * a**2 / c2**2))
        v = 4 + 1 / z if np.isfinite(z) else 4.0
        variant = "Reiter (2007) small-sample df"
    else:
        with np.errstate(divide="ignore"):
            if t > 4:
                v = 4 + (t - 4) * (1 + (1 - 2 / t) / r) ** 2
            else:
                v = t * (1 + 1 / k) * (1 + 1 / r) ** 2 / 2
        variant = "Li, Raghunathan & Rubin (1991) df"
    p = float(f_sf(stat, k, v)) if np.isfinite(v) else float(chi2_sf(stat * k, k))
    return D1Result(stat, k, float(v), p, r, variant)


