"""Profile-likelihood confidence interval of a proportion, as R's ``svyciprop(method=
"likelihood")``.

R fits the intercept-only quasi-binomial ``svyglm`` and calls ``confint(method="likelihood")``:
the binomial deviance (with the normalised survey weights) is profiled on a grid of at most
nine steps of ``zmax/5`` design standard errors each side of ``logit(p)``, the signed root
``z = +-sqrt(delta deviance / dispersion)`` is interpolated by an FMM cubic spline (R's
``spline``) and inverted by linear interpolation at ``+-qnorm(2 alpha)``, where the level is
rescaled for the design effect: ``alpha = pnorm(qt((1 - level)/2, df) sqrt(lambda)) / 2``,
``lambda`` = design variance / model-based variance of the intercept. The dispersion is R's
``svyvar`` of the Pearson residuals. This module repeats those steps, grid and spline included,
so the limits agree with R to the precision R computes them.
"""

from __future__ import annotations

import numpy as np

from surveykit._dist import norm_cdf, norm_ppf, t_ppf


def fmm_spline(x: np.ndarray, y: np.ndarray, xout: np.ndarray) -> np.ndarray:
    """Cubic interpolating spline with Forsythe–Malcolm–Moler end conditions (R's
    ``spline(method="fmm")``): the third derivative at each end equals that of the cubic
    through the four end points. Fewer than 4 points: the polynomial through them."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    n = x.size
    if n < 4:
        coef = np.polyfit(x, y, n - 1)
        return np.polyval(coef, xout)
    h = np.diff(x)
    slope = np.diff(y) / h
    # unknowns: second derivatives m_0..m_{n-1}
    a = np.zeros((n, n))
    rhs = np.zeros(n)
    for i in range(1, n - 1):
        a[i, i - 1], a[i, i], a[i, i + 1] = h[i - 1], 2 * (h[i - 1] + h[i]), h[i]
        rhs[i] = 6 * (slope[i] - slope[i - 1])

    def third_dd(xs: np.ndarray, ys: np.ndarray) -> float:
        d1 = np.diff(ys) / np.diff(xs)
        d2 = np.diff(d1) / (xs[2:] - xs[:-2])
        return float(np.diff(d2)[0] / (xs[3] - xs[0]))

    # s''' on the first / last interval = 6 x third divided difference of the end points
    a[0, 0], a[0, 1] = -1.0, 1.0
    rhs[0] = 6 * h[0] * third_dd(x[:4], y[:4])
    a[n - 1, n - 2], a[n - 1, n - 1] = -1.0, 1.0
    rhs[n - 1] = 6 * h[-1] * third_dd(x[-4:], y[-4:])
    m = np.linalg.solve(a, rhs)
    i = np.clip(np.searchsorted(x, xout, side="right") - 1, 0, n - 2)
    t = xout - x[i]
    b = slope[i] - h[i] * (2 * m[i] + m[i + 1]) / 6
    return y[i] + t * (b + t * (m[i] / 2 + t * (m[i + 1] - m[i]) / (6 * h[i])))


def _approx(x: np.ndarray, y: np.ndarray, xout: np.ndarray) -> np.ndarray:
    """R's ``approx(x, y, xout)``: sort by x, average ties, linear, NaN outside the range."""
    ux, inv = np.unique(x, return_inverse=True)
    uy = np.bincount(inv, weights=y) / np.bincount(inv)
    return np.interp(xout, ux, uy, left=np.nan, right=np.nan)


def _deviance(y: np.ndarray, wt: np.ndarray, eta: float) -> float:
    mu = 1.0 / (1.0 + np.exp(-eta))
    with np.errstate(divide="ignore", invalid="ignore"):
        t1 = np.where(y > 0, y * np.log(y / mu), 0.0)
        t0 = np.where(y < 1, (1 - y) * np.log((1 - y) / (1 - mu)), 0.0)
    return float(2 * np.sum(wt * (t1 + t0)))


def likelihood_ci(y: np.ndarray, w: np.ndarray, mean_weight: float, mean_used: float,
                  n_model: int, p: float, se_logit: float, df: float,
                  level: float) -> tuple[float, float]:
    """Limits for the share ``p`` of ``y`` (0/1, the rows used, with positive weights ``w``).

    ``mean_weight`` normalises the weights as ``svyglm`` does (mean over the rows of the design
    R is given, missing values included), ``mean_used`` the same mean over the rows without a
    missing value; ``n_model`` is the number of rows in the model frame;
    ``se_logit`` the design SE of ``logit(p)``; ``df`` the design degrees of freedom.
    """
    if not (0 < p < 1) or not np.isfinite(se_logit) or se_logit <= 0:
        return (p, p) if p in (0.0, 1.0) else (np.nan, np.nan)
    wt = w / mean_weight
    eta0 = float(np.log(p / (1 - p)))
    naive = 1.0 / float(np.sum(wt * p * (1 - p)))
    lam = se_logit**2 / naive
    q = norm_ppf((1 - level) / 2) if not np.isfinite(df) else t_ppf((1 - level) / 2, df)
    alpha = float(norm_cdf(q * np.sqrt(lam)) / 2)
    # survey's residuals.svyglm: (y - mu) sqrt(prior weight / design weight normalised over
    # the rows without missing values) / sqrt(V(mu)), i.e. a constant factor when values are
    # missing (the two normalisations differ), else none
    resid = (y - p) * np.sqrt(mean_used / mean_weight) / np.sqrt(p * (1 - p))
    n = int(np.count_nonzero(w))
    rbar = float(np.sum(w * resid) / np.sum(w))
    disp = float(np.sum(w * (resid - rbar) ** 2) / np.sum(w)) * n / (n - 1)
    from scipy import stats  # only here: scipy.stats is slow to import

    zmax = float(np.sqrt(stats.f.isf(alpha, 1, n_model - 1)))
    step_size = zmax / 5
    d0 = _deviance(y, wt, eta0)
    zs, bs = [0.0], [eta0]
    for sgn in (-1, 1):
        step, z = 0, 0.0
        while (step := step + 1) < 10 and abs(z) < zmax:
            b = eta0 + sgn * step * step_size * se_logit
            zz = max((_deviance(y, wt, b) - d0) / disp, 0.0)
            z = sgn * float(np.sqrt(zz))
            zs.append(z)
            bs.append(b)
    order = np.argsort(zs, kind="stable")
    bx, zy = np.asarray(bs)[order], np.asarray(zs)[order]
    xout = np.linspace(bx.min(), bx.max(), 3 * bx.size)
    yout = fmm_spline(bx, zy, xout)
    cut = norm_ppf(2 * alpha)
    lo, hi = _approx(yout, xout, np.array([cut, -cut]))
    return float(1 / (1 + np.exp(-lo))), float(1 / (1 + np.exp(-hi)))
