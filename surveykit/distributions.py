"""R-named entry points to the distribution of weighted sums of chi-squares (R ``survey``'s
``pchisqsum``/``pFsum``), used by Rao-Scott tests of tables and models.

There is one implementation, :mod:`surveykit.estimation.quadform` (saddlepoint as R, exact by
Imhof's formula, Satterthwaite fallback); this module gives it R's signatures (``df``, ``a``,
``lower.tail``) for public use and for the model term tests.
"""

from __future__ import annotations

import numpy as np

from surveykit.estimation.quadform import chisqsum_sf, fsum_sf

__all__ = ["pFsum", "pchisqsum"]

_METHODS = {"saddlepoint": "saddlepoint", "integration": "integration"}


def _terms(df: np.ndarray | float, a: np.ndarray) -> np.ndarray:
    a = np.atleast_1d(np.asarray(a, dtype=float))
    d = np.broadcast_to(np.asarray(df, dtype=float), a.shape)
    return np.repeat(a, d.astype(int)) if np.any(d > 1) else a


def _method(method: str) -> str:
    if method not in _METHODS:
        raise ValueError(f"method must be 'saddlepoint' or 'integration', got {method!r}")
    return _METHODS[method]


def pchisqsum(x: float | np.ndarray, df: np.ndarray | float, a: np.ndarray, *,
              lower_tail: bool = True, method: str = "saddlepoint") -> np.ndarray:
    """P(sum_i a_i chi2_{df_i} <= x) (``lower_tail=False``: > x), R ``pchisqsum``.

    The distribution of design-based (Rao–Scott) test statistics: a weighted sum of
    chi-squares with the design effects' eigenvalues as weights.

    Parameters
    ----------
    x : float or array
        Quantile(s).
    df : float or array
        Degrees of freedom of each chi-square.
    a : array
        Weights of the chi-squares.
    lower_tail : bool
        ``True``: P(X <= x); ``False``: P(X > x).
    method : {"saddlepoint", "integration"}
        As R's ``pchisqsum`` (``"integration"``: Imhof's exact formula).

    Returns
    -------
    numpy.ndarray

    Examples
    --------
    >>> sk.pchisqsum(3.84, df=[1], a=[1.0], lower_tail=False, method="integration").round(4)
    array([0.05])
    """
    aa = _terms(df, a)
    m = _method(method)
    sf = np.array([chisqsum_sf(float(xi), aa, m) for xi in np.atleast_1d(x)])
    return 1 - sf if lower_tail else sf


def pFsum(x: float, df: np.ndarray | float, a: np.ndarray, ddf: float, *,
          lower_tail: bool = True, method: str = "saddlepoint") -> float:
    """P(sum_i a_i chi2_{df_i} / (chi2_ddf / ddf) <= x), R ``pFsum`` (``ddf`` inf: pchisqsum)."""
    sf = fsum_sf(float(x), _terms(df, a), float(ddf), _method(method))
    return 1 - sf if lower_tail else sf
