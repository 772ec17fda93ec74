"""Distributions of quadratic forms used by design-based tests (R ``survey``'s ``pchisqsum``).

Under a complex design a Pearson/likelihood-ratio statistic is asymptotically a weighted sum
of independent chi-squares, ``sum_i a_i chi2_{df_i}``; its F analogue divides by an independent
``chi2_ddf / ddf``. R's Rao-Scott tests (``svychisq(statistic="Chisq")``, ``regTermTest(method=
"LRT")``, ``anova.svyglm``) take p-values from these by a saddlepoint approximation, falling back
to the Satterthwaite (scaled chi-square/F) approximation where the saddlepoint is undefined.
Definitions follow R ``survey`` 4.1 (``pchisqsum``, ``pFsum``, ``saddle``); the root of the
saddlepoint equation is found to full precision (R stops at 1e-8).
"""

from __future__ import annotations

import numpy as np
from scipy import optimize, stats

__all__ = ["pFsum", "pchisqsum", "saddle"]


def saddle(x: float, lam: np.ndarray) -> float:
    """Upper tail P(sum lam_i chi2_1 > x) by Kuonen's saddlepoint approximation (R ``saddle``);
    NaN where it is undefined (saddlepoint within 1e-4 of zero), so callers fall back."""
    lam = np.asarray(lam, dtype=float)
    d = float(np.max(lam))
    lam = lam / d
    x = x / d

    def k0(z: float) -> float:
        return -0.5 * float(np.sum(np.log1p(-2 * z * lam)))

    def k1(z: float) -> float:
        return float(np.sum(lam / (1 - 2 * z * lam)))

    def k2(z: float) -> float:
        return 2 * float(np.sum(lam**2 / (1 - 2 * z * lam) ** 2))

    if np.any(lam < 0):
        lmin = float(np.max(1 / (2 * lam[lam < 0]))) * 0.99999
    elif x > lam.sum():
        lmin = -0.01
    else:
        lmin = -len(lam) / (2 * x)
    lmax = float(np.min(1 / (2 * lam[lam > 0]))) * 0.99999
    try:
        zeta = optimize.brentq(lambda z: k1(z) - x, lmin, lmax, xtol=1e-15, rtol=1e-15,
                               maxiter=500)
    except ValueError:
        return float("nan")
    if abs(zeta) < 1e-4:
        return float("nan")
    w = np.sign(zeta) * np.sqrt(2 * (zeta * x - k0(zeta)))
    v = zeta * np.sqrt(k2(zeta))
    return float(stats.norm.sf(w + np.log(v / w) / w))


def _expand(a: np.ndarray, df: np.ndarray) -> np.ndarray:
    return np.repeat(a, df.astype(int)) if np.any(df > 1) else a


def pchisqsum(x: float | np.ndarray, df: np.ndarray, a: np.ndarray, *, lower_tail: bool = True,
              method: str = "saddlepoint") -> np.ndarray:
    """P(sum_i a_i chi2_{df_i} <= x) (or > x with ``lower_tail=False``), R ``pchisqsum``.

    ``method``: "saddlepoint" (default, as R's Rao-Scott tests) or "satterthwaite" (a scaled
    chi-square with matching mean and variance)."""
    if method not in ("saddlepoint", "satterthwaite"):
        raise ValueError(f"method must be 'saddlepoint' or 'satterthwaite', got {method!r}")
    xs = np.atleast_1d(np.asarray(x, dtype=float))
    aa = _expand(np.atleast_1d(np.asarray(a, dtype=float)),
                 np.atleast_1d(np.asarray(df, dtype=float)))
    tr = aa.mean()
    tr2 = np.mean(aa**2) / tr**2
    scale, sdf = tr * tr2, len(aa) / tr2
    out = (stats.chi2.cdf if lower_tail else stats.chi2.sf)(xs / scale, sdf)
    if method == "saddlepoint":
        for i, xi in enumerate(xs):
            s = saddle(float(xi), aa)
            if np.isfinite(s):
                out[i] = 1 - s if lower_tail else s
    return out


def pFsum(x: float, df: np.ndarray, a: np.ndarray, ddf: float, *, lower_tail: bool = True,
          method: str = "saddlepoint") -> float:
    """P(sum_i a_i chi2_{df_i} / (chi2_ddf / ddf) <= x), R ``pFsum`` (``ddf`` = inf: pchisqsum).

    Saddlepoint of ``sum a_i chi2 - (x / ddf) chi2_ddf`` at zero, Satterthwaite F otherwise."""
    if np.isinf(ddf):
        return float(pchisqsum(x, df, a, lower_tail=lower_tail, method=method)[0])
    dfa = np.atleast_1d(np.asarray(df, dtype=float))
    aa = _expand(np.atleast_1d(np.asarray(a, dtype=float)), dfa)
    tr = aa.mean()
    tr2 = np.mean(aa**2) / tr**2
    scale, ndf = tr * tr2, len(aa) / tr2
    f = stats.f.cdf if lower_tail else stats.f.sf
    rval = float(f(x / ndf / scale, ndf, ddf))
    if method == "saddlepoint":
        lam = np.concatenate([aa, np.full(round(ddf), -x / ddf)])
        s = saddle(0.0, lam)
        if np.isfinite(s):
            rval = 1 - s if lower_tail else s
    return rval
