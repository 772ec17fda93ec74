"""Quantiles and tail probabilities of the normal, t, chi-square, F and beta distributions.

The same special functions ``scipy.stats`` evaluates (``ndtri``, ``stdtrit``, ``chdtrc``,
``fdtrc``, ``betaincinv``), called directly: importing ``scipy.stats`` costs more than half a
second, a third of a cold ``surveykit replicate``, and the estimators only need these.
Values are identical to ``scipy.stats`` (df = inf gives the normal limit; invalid -> NaN).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import special

__all__ = ["beta_ppf", "cauchy_cdf", "cauchy_pdf", "cauchy_ppf", "chi2_sf", "f_sf", "norm_cdf",
           "norm_pdf", "norm_ppf", "norm_sf", "t_ppf", "t_sf"]


def norm_ppf(q: Any) -> Any:
    """Standard normal quantile (``stats.norm.ppf``)."""
    return special.ndtri(q)


def norm_cdf(x: Any) -> Any:
    """Standard normal distribution function (``stats.norm.cdf``)."""
    return special.ndtr(x)


def norm_sf(x: Any) -> Any:
    """Standard normal upper tail (``stats.norm.sf``)."""
    return special.ndtr(-x)


def norm_pdf(x: Any) -> Any:
    """Standard normal density (``stats.norm.pdf``)."""
    x = np.asarray(x, dtype=float)
    return np.exp(-0.5 * x * x) / np.sqrt(2 * np.pi)


def t_ppf(q: Any, df: Any) -> Any:
    """Student t quantile (``stats.t.ppf``)."""
    return special.stdtrit(df, q)


def t_sf(x: Any, df: Any) -> Any:
    """Student t upper tail (``stats.t.sf``)."""
    return special.stdtr(df, -x)


def chi2_sf(x: Any, df: Any) -> Any:
    """Chi-square upper tail (``stats.chi2.sf``)."""
    return special.chdtrc(df, x)


def f_sf(x: Any, dfn: Any, dfd: Any) -> Any:
    """F upper tail (``stats.f.sf``; 1 at x <= 0, the support's edge, for any dfn)."""
    x = np.asarray(x, dtype=float)
    valid = (np.asarray(dfn) > 0) & (np.asarray(dfd) > 0)
    return np.where((x <= 0) & valid, 1.0, special.fdtrc(dfn, dfd, np.maximum(x, 0.0)))


def beta_ppf(q: Any, a: Any, b: Any) -> Any:
    """Beta quantile (``stats.beta.ppf``)."""
    return special.betaincinv(a, b, q)


def cauchy_cdf(x: Any) -> Any:
    """Standard Cauchy distribution function (``stats.cauchy.cdf``)."""
    return np.arctan2(1.0, -np.asarray(x, dtype=float)) / np.pi


def cauchy_pdf(x: Any) -> Any:
    """Standard Cauchy density (``stats.cauchy.pdf``)."""
    x = np.asarray(x, dtype=float)
    return 1.0 / np.pi / (1.0 + x * x)


def cauchy_ppf(q: Any) -> Any:
    """Standard Cauchy quantile (``stats.cauchy.ppf``)."""
    q = np.asarray(q, dtype=float)
    with np.errstate(divide="ignore"):  # cot(pi q) in each half: accurate in both tails
        out = np.where(q < 0.5, -1.0 / np.tan(np.pi * q), 1.0 / np.tan(np.pi * (1.0 - q)))
    return np.where(q == 0.5, 0.0, out)
