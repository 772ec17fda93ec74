"""The variance engine's one entry point (surveykit.variance.estimate) and TestResult."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from surveykit.errors import EstimationError
from surveykit.estimation import mean
from surveykit.testresult import TestResult
from surveykit.variance import RatioOfTotals, Statistic, estimate


def _r(ref, design, stat, variable, by=""):
    row = ref[(ref.design == design) & (ref.stat == stat) & (ref.variable == variable)
              & (ref.by.fillna("") == by)]
    assert len(row) == 1
    return row.iloc[0]


def _mean_statistic(design, var):
    y = design.data[var].to_numpy(float)
    w = design.weights
    m = float(w @ y / w.sum())

    def reestimate(W):
        return ((W.T @ y) / W.sum(axis=0))[:, None]

    n = int((w != 0).sum())
    s2 = float(w @ (y - m) ** 2 / w.sum() * n / (n - 1))
    return Statistic(estimate=[m], scores=lambda: (w * (y - m) / w.sum())[:, None],
                     reestimate=reestimate, names=[var], srs_variance=[s2],
                     weight_sum=float(w.sum()), n=n, kind="mean")


@pytest.mark.parametrize("name", ["dclus1", "dstrat"])
def test_influence_statistic_matches_r_svymean(request, ref, name):
    """A mean declared as estimate + influence scores: R's svymean estimate, SE and deff."""
    design = request.getfixturevalue(name)
    res = estimate(design, _mean_statistic(design, "api00"))
    want = _r(ref, name, "mean", "api00")
    assert res.estimate[0] == pytest.approx(want.estimate, rel=1e-9)
    assert res.se[0] == pytest.approx(want.se, rel=1e-6)
    assert res.deff[0] == pytest.approx(want.deff, rel=1e-6)
    assert res.df == design.df and res.method == "linearisation"
    assert res.names == ("api00",)


def test_replicate_statistic_equals_the_estimator_on_a_replicate_design(jk1):
    """On a replicate design the engine re-estimates on all replicate columns at once; the
    SE is mean()'s (which runs the ratio-of-totals statistic through the same engine)."""
    res = estimate(jk1, _mean_statistic(jk1, "api00"), keep_reps=True)
    want = mean(jk1, "api00")
    assert res.method == "replication"
    assert res.replicates.shape == (jk1.n_replicates, 1)
    assert res.se[0] == pytest.approx(want["std_error"].iloc[0], rel=1e-10)
    assert res.df == jk1.df


def test_ratio_of_totals_by_group_gives_the_joint_covariance(dclus1):
    """RatioOfTotals: all groups at once, the joint covariance equal to mean(vcov=True)."""
    codes = dclus1.data["stype"].map({"E": 0, "H": 1, "M": 2}).to_numpy()
    y = dclus1.data[["api00"]].to_numpy(float)
    res = estimate(dclus1, RatioOfTotals(y, codes, 3, "mean"))
    want = mean(dclus1, "api00", by="stype", vcov=True)
    np.testing.assert_allclose(res.estimate, want["estimate"], rtol=1e-12)
    np.testing.assert_allclose(res.vcov, want.attrs["vcov"].to_numpy(), rtol=1e-10)
    assert len(res.df) == 3


def test_statistic_domain_rows_give_the_domain_df(dclus1):
    rows = (dclus1.data["stype"] == "H").to_numpy()
    sub = dclus1.subset(rows)
    stat = _mean_statistic(sub, "api00")
    res = estimate(dclus1, Statistic(stat.estimate, scores=stat.scores, rows=rows))
    assert res.df == sub.df < dclus1.df
    assert res.vcov[0, 0] == pytest.approx(estimate(sub, stat).vcov[0, 0], rel=1e-12)


def test_engine_names_what_a_statistic_lacks(dclus1, jk1):
    with pytest.raises(EstimationError, match="influence scores"):
        estimate(dclus1, Statistic([1.0], reestimate=lambda W: W[:1].T))
    with pytest.raises(EstimationError, match="re-estimate"):
        estimate(jk1, Statistic([1.0], scores=np.ones((jk1.n_total, 1))))
    with pytest.raises(EstimationError, match="Statistic or RatioOfTotals"):
        estimate(dclus1, {"estimate": 1})  # type: ignore[arg-type]


def test_design_methods_are_delegates_of_the_engine(dclus1, jk1):
    """design.vcov / replicate_vcov / df give exactly the engine's numbers."""
    from surveykit.variance import linearised_vcov, replicate_df, svr_var

    x = np.random.default_rng(1).normal(size=(dclus1.n_total, 2))
    np.testing.assert_array_equal(dclus1.vcov(x), linearised_vcov(dclus1, x))
    th, reps = np.zeros(2), np.random.default_rng(2).normal(size=(jk1.n_replicates, 2))
    np.testing.assert_array_equal(jk1.replicate_vcov(th, reps), svr_var(jk1, th, reps))
    assert jk1.df == replicate_df(jk1, jk1.domain)


# -- TestResult -------------------------------------------------------------------------------
def test_test_result_f_and_chisq_reference_distributions():
    f = TestResult.f(3.2, 2, 38, name="x")
    assert f.method == "F" and f.df == 2 and f.ddf == 38
    assert f.p_value == pytest.approx(0.05195315226, rel=1e-9)  # R: pf(3.2, 2, 38, lower=FALSE)
    c = TestResult.chisq(5.991464547, 2)
    assert c.ddf == math.inf and c.p_value == pytest.approx(0.05, rel=1e-8)
    # F with infinite ddf is the chi-square / df limit
    assert TestResult.f(5.991464547 / 2, 2, math.inf).p_value == pytest.approx(0.05, rel=1e-8)
    t = TestResult.t(-2.0, 10)
    assert t.p_value == pytest.approx(0.07338803, rel=1e-6)  # R: 2*pt(-2, 10)
    assert t.reference == "t(10)" and f.reference == "F(2, 38)"
    with pytest.raises(ValueError, match="reference distribution"):
        TestResult(1.0, 1, 1, 0.5, "Z")


def test_test_result_is_frozen_and_legacy_keys_warn():
    r = TestResult.f(2.0, 1, 10, extras={"chisq": 4.0}, legacy={"value": 2.0, "df1": 1.0})
    with pytest.raises(AttributeError):
        r.statistic = 3.0  # type: ignore[misc]
    with pytest.raises(TypeError):
        r.extras["chisq"] = 1.0  # type: ignore[index]
    with pytest.warns(DeprecationWarning, match="statistic, df, ddf"):
        assert r["value"] == 2.0
    with pytest.raises(KeyError):
        r["nope"]
    assert "df1" in r and bool(TestResult.chisq(1.0, 1))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        d = r.as_dict()
    assert d == {"statistic": 2.0, "df": 1.0, "ddf": 10.0, "p_value": r.p_value,
                 "method": "F", "chisq": 4.0}
    assert list(r.to_frame().columns)[:5] == ["statistic", "df", "ddf", "p_value", "method"]
