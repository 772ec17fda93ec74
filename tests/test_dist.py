"""surveykit._dist gives scipy.stats' values (it calls the same special functions directly)."""

import numpy as np
import pytest
from scipy import stats

from surveykit import _dist

Q = np.array([1e-10, 0.001, 0.025, 0.3, 0.5, 0.8, 0.975, 0.999999])
X = np.array([-40.0, -3.2, -0.5, 0.0, 0.7, 2.1, 8.0, 60.0])
DF = [0.5, 1.0, 3.0, 27.5, 1e7, np.inf, np.nan]


def same(a: np.ndarray, b: np.ndarray) -> None:
    np.testing.assert_allclose(a, b, rtol=1e-14, atol=0, equal_nan=True)


def test_normal_and_cauchy() -> None:
    same(_dist.norm_ppf(Q), stats.norm.ppf(Q))
    same(_dist.norm_cdf(X), stats.norm.cdf(X))
    same(_dist.norm_sf(X), stats.norm.sf(X))
    same(_dist.norm_pdf(X), stats.norm.pdf(X))
    same(_dist.cauchy_cdf(X), stats.cauchy.cdf(X))
    same(_dist.cauchy_pdf(X), stats.cauchy.pdf(X))
    same(_dist.cauchy_ppf(Q), stats.cauchy.ppf(Q))


@pytest.mark.parametrize("df", DF)
def test_t_chi2_f(df: float) -> None:
    same(_dist.t_ppf(Q, df), stats.t.ppf(Q, df))
    same(_dist.t_sf(X, df), stats.t.sf(X, df))
    pos = np.abs(X)
    same(_dist.chi2_sf(pos, df), stats.chi2.sf(pos, df))
    for dfd in (1.0, 12.0, 400.0):
        same(_dist.f_sf(pos, df, dfd), stats.f.sf(pos, df, dfd))


@pytest.mark.parametrize(("a", "b"), [(0.5, 0.5), (2.5, 30.0), (120.0, 3.0), (1e-3, 9.0)])
def test_beta_ppf(a: float, b: float) -> None:
    same(_dist.beta_ppf(Q, a, b), stats.beta.ppf(Q, a, b))
