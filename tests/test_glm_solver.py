"""The IRLS scoring step: Cholesky of the scaled information, least squares when ill-conditioned."""

import numpy as np
import pandas as pd
import pytest

import surveykit as sk
from surveykit.models.glm import _solve_information


def test_solve_information_matches_direct_inverse_and_refuses_near_singular() -> None:
    rng = np.random.default_rng(3)
    X = np.column_stack([np.ones(500), rng.normal(size=500) * 1e6, rng.integers(0, 2, 500)])
    ww = rng.uniform(0.2, 2.0, 500)
    rhs = rng.normal(size=3)
    sol, inv_diag = _solve_information(X, ww, rhs)
    A = X.T @ (X * ww[:, None])
    np.testing.assert_allclose(sol, np.linalg.solve(A, rhs), rtol=1e-9)
    np.testing.assert_allclose(inv_diag, np.diag(np.linalg.inv(A)), rtol=1e-9)
    near = X.copy()
    near[:, 2] = near[:, 0] + 1e-9 * rng.normal(size=500)  # collinear to 1e-9
    assert _solve_information(near, ww, rhs) is None


@pytest.mark.parametrize("family", ["binomial", "poisson", "gaussian"])
def test_badly_scaled_covariate_gives_the_same_fit_as_rescaled(family: str) -> None:
    """Income in yuan next to a dummy: coefficients equal those on the rescaled variable."""
    rng = np.random.default_rng(11)
    n = 3000
    df = pd.DataFrame({"inc": rng.lognormal(10, 0.5, n), "f": rng.integers(0, 2, n),
                       "w": rng.uniform(0.5, 2, n), "psu": np.repeat(np.arange(100), 30)})
    eta = -1 + 0.8 * (df["inc"] / 1e4 - 2.5) + 0.3 * df["f"]
    df["y"] = {"binomial": rng.random(n) < 1 / (1 + np.exp(-eta)),
               "poisson": rng.poisson(np.exp(eta)),
               "gaussian": eta + rng.normal(size=n)}[family]
    df["y"] = df["y"].astype(float)
    df["inc4"] = df["inc"] / 1e4
    d = sk.SurveyDesign(df, weights="w", psu="psu")
    raw = sk.glm(d, "y ~ inc + f", family=family)
    scaled = sk.glm(d, "y ~ inc4 + f", family=family)
    np.testing.assert_allclose(raw.params["inc"] * 1e4, scaled.params["inc4"], rtol=1e-8)
    np.testing.assert_allclose(raw.params["f"], scaled.params["f"], rtol=1e-8)
    se_raw = np.sqrt(np.diag(raw.vcov.to_numpy()))
    se_scaled = np.sqrt(np.diag(scaled.vcov.to_numpy()))
    np.testing.assert_allclose(se_raw[1] * 1e4, se_scaled[1], rtol=1e-7)
