"""attrs["vcov"] as an immutable Covariance: pandas can concat/merge/copy results that carry
it (it compared attrs with == and raised on DataFrames), and sk.bind stacks results of
independent samples with their block-diagonal covariance so contrast compares across them."""

from __future__ import annotations

import copy
import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import surveykit as sk
from surveykit.errors import EstimationError
from surveykit.inference import Covariance, Estimates


@pytest.fixture(scope="module")
def design():
    return sk.SurveyDesign(sk.load_replica(), weights="weight", strata="region")


@pytest.fixture(scope="module")
def followup():
    return sk.SurveyDesign(sk.load_followup().frame, weights="weight")


def test_concat_merge_and_copies_of_results_with_vcov(design):
    a = sk.mean(design, "approval", by="region", vcov=True)
    b = sk.mean(design, "age", by="region", vcov=True)
    both = pd.concat([a, b], ignore_index=True)  # raised ValueError before
    assert len(both) == 6 and "vcov" not in both.attrs  # no joint covariance is known
    with pytest.raises(EstimationError, match="no covariance") as err:
        sk.contrast(both, {"East": 1})
    assert "bind" in err.value.hint
    assert pd.concat([a, a.copy()]).attrs["vcov"] == a.attrs["vcov"]  # equal attrs are kept
    merged = a.merge(b, on="region", suffixes=("_approval", "_age"))
    assert len(merged) == 3
    # pandas deep-copies attrs on every operation: the immutable covariance is shared instead
    pct = a.assign(estimate=a["estimate"] * 20)
    assert pct.attrs["vcov"] is a.attrs["vcov"] and copy.deepcopy(a).attrs["vcov"] is \
        a.attrs["vcov"]
    v = a.attrs["vcov"]
    with pytest.raises(ValueError):
        v.values[0, 0] = 1.0
    with warnings.catch_warnings(), pytest.raises(ValueError):
        warnings.simplefilter("ignore")  # pandas also warns of chained assignment
        v.loc["East", "West"] = 1.0  # not a silent write to a copy
    with pytest.raises(AttributeError):
        v._values = None
    assert pickle.loads(pickle.dumps(a)).attrs["vcov"] == v
    # it reads like the DataFrame it replaced
    assert list(v.index) == list(v.columns) == ["East", "Central", "West"]
    assert v.shape == (3, 3) and np.allclose(np.sqrt(np.diag(v)), a["std_error"], rtol=1e-12)
    assert v.loc["East", "East"] == v.iloc[0, 0] == v.to_frame().loc["East", "East"]


def test_bind_results_of_independent_samples(design, followup):
    s2018 = sk.mean(design, "age", by="urban", vcov=True)
    s2020 = sk.mean(followup, "age", by="urban", vcov=True)
    with pytest.raises(EstimationError, match="independent"):
        sk.bind([s2018, s2020])
    with pytest.raises(EstimationError, match="repeat"):
        sk.bind([s2018, s2020], independent=True)
    both = sk.bind({"2018": s2018, "follow-up": s2020}, independent=True)
    assert list(both["result"]) == ["2018", "2018", "follow-up", "follow-up"]
    assert list(both.attrs["vcov"].index) == ["2018:rural", "2018:urban", "follow-up:rural",
                                              "follow-up:urban"]
    assert both.attrs["synthetic"] is True
    diff = sk.contrast(both, {"follow-up:urban": 1, "2018:urban": -1})
    urban = [r.set_index("urban_label").loc["urban"] for r in (s2018, s2020)]
    assert diff["estimate"].item() == pytest.approx(
        urban[1]["estimate"] - urban[0]["estimate"], rel=1e-12)
    assert diff["std_error"].item() == pytest.approx(
        np.hypot(urban[0]["std_error"], urban[1]["std_error"]), rel=1e-12)
    # the within-result covariances stay; across results they are zero
    v = both.attrs["vcov"]
    assert v.loc["2018:rural", "2018:urban"] == s2018.attrs["vcov"].loc["rural", "urban"]
    assert v.loc["2018:rural", "follow-up:rural"] == 0.0
    # models bind with their tidy rows; df is the smallest
    fit = sk.glm(followup, "age ~ urban")
    mixed = sk.bind([s2018, fit], independent=True, keys=["a", "m"])
    assert list(mixed.attrs["vcov"].index)[-2:] == ["m:Intercept", "m:urban"]
    assert mixed.attrs["df"] == min(s2018.attrs["df"], fit.df_resid)
    with pytest.raises(EstimationError, match="rows"):
        sk.bind([s2018.iloc[:1], s2020], independent=True, keys=["a", "b"])


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=4), min_size=1, max_size=4),
       st.integers(min_value=0, max_value=10_000))
def test_bind_is_block_diagonal_and_sums_variances(sizes, seed):
    rng = np.random.default_rng(seed)
    parts = []
    for k in sizes:
        a = rng.normal(size=(k, k))
        parts.append(Estimates([f"p{j}" for j in range(k)], rng.normal(size=k),
                               a @ a.T + np.eye(k), df=float(rng.integers(1, 50))))
    keys = [f"r{i}" for i in range(len(parts))]
    out = sk.bind(dict(zip(keys, parts, strict=True)), independent=True)
    v = out.attrs["vcov"].to_numpy()
    start = 0
    for e in parts:
        k = len(e.names)
        np.testing.assert_array_equal(v[start:start + k, start:start + k], e.vcov)
        assert not v[start:start + k, start + k:].any()
        start += k
    total = sk.contrast(out, {f"{key}:p0": 1.0 for key in keys})
    assert total["estimate"].item() == pytest.approx(sum(e.coef[0] for e in parts))
    assert total["std_error"].item() ** 2 == pytest.approx(sum(e.vcov[0, 0] for e in parts))
    assert out.attrs["df"] == min(e.df for e in parts)


def test_covariance_value_semantics():
    a = Covariance([[1.0, 0.5], [0.5, 2.0]], ["x", "y"])
    assert a == Covariance(np.array([[1.0, 0.5], [0.5, 2.0]]), ["x", "y"])
    assert a != Covariance([[1.0, 0.5], [0.5, 2.0]], ["x", "z"])
    assert a != Covariance([[1.0, 0.5], [0.5, 2.0]], ["x", "y"], coef=[1, 2])
    assert (a == "x") is False
    with pytest.raises(EstimationError, match="2 x 2"):
        Covariance([[1.0]], ["x", "y"])


def test_every_result_type_concatenates(design):
    """Tables of tests and estimates are built with pd.concat: no attr may break it."""
    fit = sk.glm(design, "sesame ~ C(age_group) + urban", family="binomial")
    small = sk.glm(design, "sesame ~ urban", family="binomial")
    tests = pd.concat([sk.wald_test(fit, "C(age_group)", method="LRT"),
                       sk.wald_test(fit, "urban", method="LRT"),
                       sk.anova(small, fit)], ignore_index=True)
    assert list(tests["terms"]) == ["C(age_group)", "urban", "C(age_group)"]
    assert tests["p_value"].between(0, 1).all()
    lam = sk.wald_test(fit, "C(age_group)", method="LRT").attrs["lambdas"]
    assert len(lam) == 2 and lam[0] >= lam[1] > 0
    v1 = sk.var(design, ["age", "internet_hours"])
    v2 = sk.var(design, ["age", "approval"])
    assert len(pd.concat([v1, v2])) == 8
    assert v1.attrs["matrix"].loc["age", "internet_hours"] == v1["estimate"][1]
    t1 = sk.ttest(design, "age", "urban")
    t2 = sk.ttest(design, "internet_hours", "urban")
    assert list(pd.concat([t1, t2])["variable"]) == ["age", "internet_hours"]
    m1 = sk.margins(fit, by="C(age_group)")
    m2 = sk.margins(fit, by="urban")
    assert len(pd.concat([m1, m2])) == 5
    p1 = fit.predict(design.data.iloc[:3], se=True)
    p2 = fit.predict(design.data.iloc[3:5], se=True)
    assert len(pd.concat([p1, p2])) == 5
