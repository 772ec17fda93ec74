"""Tail probabilities of linear combinations of chi-squares (R survey's ``pchisqsum``/``pFsum``).

The Rao–Scott tests of :func:`surveykit.estimation.crosstab` refer Pearson's X^2 to
``sum_j a_j chi2_1`` (``a_j``: eigenvalues of the design-effect matrix), or, with ``ddf``
design degrees of freedom, to ``sum_j a_j chi2_1 - (x / ddf) chi2_ddf > 0`` (R's ``pFsum``).

- ``method="saddlepoint"``: R's ``saddle`` (Kuonen 1999), falling back to the Satterthwaite
  approximation where R does (saddlepoint root within 1e-4 of zero);
- ``method="integration"``: the exact distribution by Imhof's (1961) inversion formula,
  integrated numerically; R gets the same numbers from ``CompQuadForm::davies`` (when that
  package is installed; without it R silently uses the saddlepoint).

As in R, a non-integer ``ddf`` enters as ``floor(ddf)`` chi-square terms (R's ``rep`` and
``CompQuadForm``'s integer degrees of freedom).
"""

from __future__ import annotations

import numpy as np

from surveykit._dist import chi2_sf, f_sf, norm_sf


def _satterthwaite(a: np.ndarray) -> tuple[float, float]:
    tr = float(np.mean(a))
    tr2 = float(np.mean(a**2)) / tr**2
    return tr * tr2, len(a) / tr2  # scale, df


def saddle(x: float, lam: np.ndarray) -> float:
    """Upper tail ``P(sum lam_j chi2_1 > x)`` by R's saddlepoint formula; NaN where R gives NA."""
    d = float(np.max(lam))
    lam = np.asarray(lam, dtype=float) / d
    x = x / d

    def k0(z: float) -> float:
        return -float(np.sum(np.log(1 - 2 * z * lam))) / 2

    def k1(z: float) -> float:
        return float(np.sum(lam / (1 - 2 * z * lam)))

    def k2(z: float) -> float:
        return 2 * float(np.sum(lam**2 / (1 - 2 * z * lam) ** 2))

    if (lam < 0).any():
        lmin = float(np.max(1 / (2 * lam[lam < 0]))) * 0.99999
    elif x > lam.sum():
        lmin = -0.01
    else:
        lmin = -len(lam) / (2 * x)
    lmax = float(np.min(1 / (2 * lam[lam > 0]))) * 0.99999
    from scipy import optimize  # here, not at import: scipy.optimize costs ~0.1 s

    z = optimize.brentq(lambda t: k1(t) - x, lmin, lmax, xtol=1e-14, rtol=1e-15, maxiter=500)
    if abs(z) < 1e-4:
        return float("nan")
    w = np.sign(z) * np.sqrt(2 * (z * x - k0(z)))
    v = z * np.sqrt(k2(z))
    return float(norm_sf(w + np.log(v / w) / w))


def imhof(q: float, lam: np.ndarray, h: np.ndarray) -> float:
    """Exact upper tail ``P(sum lam_j chi2_{h_j} > q)`` by Imhof's formula.

    ``1/2 + 1/pi int_0^inf sin(theta(u)) / (u rho(u)) du`` with ``theta = sum h_j atan(lam_j u)/2
    - q u / 2``. The oscillating tail beyond ten periods of ``q u / 2`` is integrated as two
    Fourier integrals (QUADPACK's QAWF), which plain quadrature cannot do accurately.
    """
    from scipy import integrate  # here, not at import: scipy.integrate costs ~0.15 s

    lam = np.asarray(lam, dtype=float)
    h = np.asarray(h, dtype=float)

    def theta0(u: float) -> float:
        return 0.5 * float(np.sum(h * np.arctan(lam * u)))

    def rho(u: float) -> float:
        with np.errstate(over="ignore"):  # inf for huge u: the integrand is 0 there
            return float(np.exp(np.sum(h / 4 * np.log1p((lam * u) ** 2))))

    def full(u: float) -> float:
        return float(np.sin(theta0(u) - 0.5 * q * u) / (u * rho(u)))

    omega = 0.5 * q
    if omega <= 0:
        val = integrate.quad(full, 0, np.inf, limit=1000, epsabs=1e-13, epsrel=1e-12)[0]
    else:
        cut = 20 * np.pi / omega
        val = integrate.quad(full, 0, cut, limit=2000, epsabs=1e-13, epsrel=1e-12)[0]
        # sin(t0 - w u) = sin(t0) cos(w u) - cos(t0) sin(w u)
        val += integrate.quad(lambda u: np.sin(theta0(u)) / (u * rho(u)), cut, np.inf,
                              weight="cos", wvar=omega, limlst=200)[0]
        val -= integrate.quad(lambda u: np.cos(theta0(u)) / (u * rho(u)), cut, np.inf,
                              weight="sin", wvar=omega, limlst=200)[0]
    return float(min(max(0.5 + val / np.pi, 0.0), 1.0))


def chisqsum_sf(x: float, a: np.ndarray, method: str) -> float:
    """``P(sum a_j chi2_1 > x)`` (R's ``pchisqsum(..., lower.tail=FALSE)``)."""
    a = np.asarray(a, dtype=float)
    scale, df = _satterthwaite(a)
    guess = float(chi2_sf(x / scale, df))
    if method == "integration":
        return imhof(x, a, np.ones_like(a))
    s = saddle(x, a)
    return guess if np.isnan(s) else s


def fsum_sf(x: float, a: np.ndarray, ddf: float, method: str) -> float:
    """``P(sum a_j chi2_1 > (x / ddf) chi2_ddf)`` (R's ``pFsum(..., lower.tail=FALSE)``)."""
    if not np.isfinite(ddf):
        return chisqsum_sf(x, a, method)
    a = np.asarray(a, dtype=float)
    k = int(np.floor(ddf))
    if method == "integration":
        return imhof(0.0, np.append(a, -x / ddf), np.append(np.ones_like(a), k))
    scale, ndf = _satterthwaite(a)
    rval = float(f_sf(x / ndf / scale, ndf, ddf))
    lam = np.concatenate([a, np.full(k, -x / ddf)])
    s = saddle(0.0, lam)
    return rval if np.isnan(s) else s
