"""Invariants of the weighting functions (issue 11, "the siblings"), checked with Hypothesis:

- raking (and post-stratifying, and linear calibration) to the margins the design already has
  changes no weight;
- scaling every starting weight by c, with shares (or totals scaled by c) as targets, leaves the
  means, proportions and their standard errors of the weighted result unchanged.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from surveykit.design import SurveyDesign
from surveykit.errors import WeightingError
from surveykit.estimation import mean, proportion
from surveykit.weighting import calibrate, poststratify, rake

SETTINGS = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@st.composite
def samples(draw) -> pd.DataFrame:
    """A clustered sample: 6-12 PSUs of 3-6 rows, two categorical margins with every level
    present, a numeric outcome and positive weights."""
    n_psu = draw(st.integers(6, 12))
    sizes = draw(st.lists(st.integers(3, 6), min_size=n_psu, max_size=n_psu))
    n = sum(sizes)
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    ka, kb = draw(st.integers(2, 4)), draw(st.integers(2, 3))
    a = np.concatenate([np.arange(ka), rng.integers(0, ka, n - ka)])
    b = np.concatenate([np.arange(kb), rng.integers(0, kb, n - kb)])
    return pd.DataFrame({
        "psu": np.repeat(np.arange(n_psu), sizes),
        "a": rng.permutation(a),
        "b": rng.permutation(b),
        "y": rng.normal(50, 10, n).round(3),
        "w": rng.uniform(0.5, 4.0, n),
    })


def _margins(d: SurveyDesign, cols: list[str], shares: bool = False) -> dict:
    w = pd.Series(d.weights)
    out = {}
    for c in cols:
        t = w.groupby(d.data[c].to_numpy()).sum()
        out[c] = (t / t.sum() if shares else t).to_dict()
    return out


@SETTINGS
@given(samples())
def test_weighting_to_the_margins_the_design_has_changes_nothing(df):
    d = SurveyDesign(df, weights="w", psu="psu")
    res = rake(d, _margins(d, ["a", "b"]), tol=1e-12)
    np.testing.assert_allclose(res.weights, d.weights, rtol=1e-10)
    assert res.iterations == 1
    ps = poststratify(d, "a", _margins(d, ["a"])["a"])
    np.testing.assert_allclose(ps.weights, d.weights, rtol=1e-12)
    totals = {"Intercept": d.weights.sum(), "y": float(d.weights @ df["y"].to_numpy())}
    cal = calibrate(d, "~y", totals)
    np.testing.assert_allclose(cal.weights, d.weights, rtol=1e-10)
    # same on a replicate design: the full-sample weights stay; every replicate is raked
    # to the same (full-sample) margins, so its own margins become those
    rep = d.replicate("jk1")
    if (df.groupby("a")["psu"].nunique() < 2).any():
        # a category in one PSU only: the replicate that drops it has no weight there, which
        # is a typed error naming the replicate (never a silently unraked replicate)
        with pytest.raises(WeightingError, match="no weight in a category of a"):
            rake(rep, _margins(d, ["a"]), tol=1e-12)
        return
    rr = rake(rep, _margins(d, ["a"]), tol=1e-12).design
    np.testing.assert_allclose(rr.base_weights, d.weights, rtol=1e-10)
    sums = pd.DataFrame(rr.repweights).groupby(df["a"].to_numpy()).sum()
    target = pd.Series(_margins(d, ["a"])["a"])
    np.testing.assert_allclose(sums.to_numpy(), np.repeat(target.loc[sums.index].to_numpy()[
        :, None], rep.n_replicates, axis=1), rtol=1e-9)


def _stats(design) -> np.ndarray:
    m = mean(design, "y")
    p = proportion(design, "a")
    return np.concatenate([m[["estimate", "std_error"]].to_numpy().ravel(),
                           p[["estimate", "std_error"]].to_numpy().ravel()])


@SETTINGS
@given(samples(), st.sampled_from([1e-3, 0.37, 2.0, 1e4]))
def test_scaling_the_weights_changes_no_mean_proportion_or_se(df, c):
    d1 = SurveyDesign(df, weights="w", psu="psu")
    d2 = SurveyDesign(df.assign(w=df["w"] * c), weights="w", psu="psu")
    shares = _margins(d1, ["a", "b"], shares=True)
    shares["a"] = {k: (v + 0.2) / 1.2 if i == 0 else v / 1.2
                   for i, (k, v) in enumerate(shares["a"].items())}  # move one margin
    r1, r2 = rake(d1, shares, tol=1e-13, max_iter=500), rake(d2, shares, tol=1e-13, max_iter=500)
    np.testing.assert_allclose(r2.weights, c * r1.weights, rtol=1e-9)
    np.testing.assert_allclose(_stats(r2.design), _stats(r1.design), rtol=1e-8, atol=1e-12)
    y = df["y"].to_numpy()
    tot = {"Intercept": 1.1 * d1.weights.sum(), "y": 1.05 * float(d1.weights @ y)}
    c1 = calibrate(d1, "~y", tot, method="raking")
    c2 = calibrate(d2, "~y", {k: c * v for k, v in tot.items()}, method="raking")
    np.testing.assert_allclose(_stats(c2), _stats(c1), rtol=1e-8, atol=1e-12)
