"""Issue 21's new shapes against R (tests/r/fixtures_restructure.R): sk.var(by=) =
svyby(svyvar), ratio(separate=True) + predict_ratio = svyratio(separate=TRUE) + predict(total=),
and the worked-example estimator of docs/ARCHITECTURE.md (weighted geometric mean), executed
from the document itself."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import R_FIXTURES

import surveykit as sk
from surveykit.errors import EstimationError

REF = pd.read_csv(R_FIXTURES / "restructure.csv")
DOC = Path(__file__).resolve().parents[1] / "docs" / "ARCHITECTURE.md"


def _ref(case: str) -> pd.DataFrame:
    r = REF[REF["case"] == case]
    assert len(r), case
    return r


@pytest.fixture(scope="module")
def designs(dclus1, dstrat):
    return {"dclus1": dclus1, "dstrat": dstrat, "jk1": dclus1.replicate("jk1")}


@pytest.mark.parametrize("name", ["dclus1", "dstrat", "jk1"])
def test_var_by_matches_svyby_svyvar(designs, name):
    got = sk.var(designs[name], "api00", by="stype", vcov=True)
    want = _ref(f"var_by_{name}")
    assert list(got["stype"]) == list(want["name"])
    np.testing.assert_allclose(got["estimate"], want["estimate"], rtol=1e-6)
    np.testing.assert_allclose(got["std_error"], want["se"], rtol=1e-4)
    v = got.attrs["vcov"]
    assert list(v.index) == ["E:api00:api00", "H:api00:api00", "M:api00:api00"]
    np.testing.assert_allclose(np.sqrt(np.diag(v.to_numpy())), got["std_error"], rtol=1e-10)


def test_var_by_covariance_matrix_per_group(dstrat):
    got = sk.var(dstrat, ["api00", "api99"], by="stype")
    assert len(got) == 3 * 4
    one = sk.var(dstrat.subset(dstrat.data["stype"] == "H"), ["api00", "api99"])
    h = got[got["stype"] == "H"]
    np.testing.assert_allclose(h["estimate"], one["estimate"], rtol=1e-12)
    np.testing.assert_allclose(h["std_error"], one["std_error"], rtol=1e-12)


def test_separate_ratio_and_its_predicted_total_match_r(dstrat, apipop):
    got = sk.ratio(dstrat, "api.stu", "enroll", separate=True)
    want = _ref("ratio_separate_dstrat")
    assert list(got["stratum"]) == list(want["name"])
    np.testing.assert_allclose(got["estimate"], want["estimate"], rtol=1e-6)
    np.testing.assert_allclose(got["std_error"], want["se"], rtol=1e-4)
    totals = apipop.groupby("stype")["enroll"].sum()
    pred = sk.predict_ratio(got, totals)
    w = _ref("ratio_separate_predict_dstrat").iloc[0]
    assert pred["estimate"].iloc[0] == pytest.approx(w["estimate"], rel=1e-6)
    assert pred["std_error"].iloc[0] == pytest.approx(w["se"], rel=1e-4)
    # the same totals as a sequence in stratum order, and the combined ratio's prediction
    same = sk.predict_ratio(got, totals.loc[list(got["stratum"])].to_numpy())
    assert same["estimate"].iloc[0] == pred["estimate"].iloc[0]
    comb = sk.predict_ratio(sk.ratio(dstrat, "api.stu", "enroll"), apipop["enroll"].sum())
    w = _ref("ratio_combined_predict_dstrat").iloc[0]
    assert comb["estimate"].iloc[0] == pytest.approx(w["estimate"], rel=1e-6)
    assert comb["std_error"].iloc[0] == pytest.approx(w["se"], rel=1e-4)


def test_separate_ratio_refuses_what_r_refuses(dclus1, dstrat):
    with pytest.raises(EstimationError, match="stratified"):
        sk.ratio(dclus1, "api.stu", "enroll", separate=True)
    with pytest.raises(EstimationError, match="no by="):
        sk.ratio(dstrat, "api.stu", "enroll", by="sch.wide", separate=True)
    r = sk.ratio(dstrat, "api.stu", "enroll", separate=True)
    with pytest.raises(EstimationError, match="3 strata"):
        sk.predict_ratio(r, [1.0, 2.0])
    with pytest.raises(EstimationError, match="no denominator total"):
        sk.predict_ratio(r, {"E": 1.0})


def _worked_example() -> dict:
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## How to add an estimator", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    namespace: dict = {}
    exec(compile(code, str(DOC), "exec"), namespace)  # the document's own code
    return namespace


@pytest.mark.parametrize("name", ["dclus1", "dstrat", "jk1"])
def test_architecture_worked_example_matches_r(designs, name):
    geometric_mean = _worked_example()["geometric_mean"]
    d = designs[name]
    one = geometric_mean(d, "api00")
    w = _ref(f"geomean_{name}").iloc[0]
    assert one["estimate"].iloc[0] == pytest.approx(w["estimate"], rel=1e-6)
    assert one["std_error"].iloc[0] == pytest.approx(w["se"], rel=1e-4)
    by = geometric_mean(d, "api00", by="stype", vcov=True)
    w = _ref(f"geomean_by_{name}")
    np.testing.assert_allclose(by["estimate"], w["estimate"], rtol=1e-6)
    np.testing.assert_allclose(by["std_error"], w["se"], rtol=1e-4)
    assert list(by.attrs["vcov"].index) == ["E", "H", "M"]
    # and it answers the inference contract like every estimator
    c = sk.contrast(by, {"E": 1, "H": -1})
    assert float(c["estimate"].iloc[0]) == pytest.approx(
        by["estimate"].iloc[0] - by["estimate"].iloc[1], rel=1e-12)


def test_worked_example_is_short_and_refuses_non_positive_values(dclus1):
    code = re.search(r"```python\n(.*?)```",
                     DOC.read_text(encoding="utf-8").split("## How to add an estimator")[1],
                     re.S).group(1)
    assert len(code.strip().splitlines()) <= 50
    geometric_mean = _worked_example()["geometric_mean"]
    with pytest.raises(EstimationError, match="positive"):
        geometric_mean(dclus1, "growth")  # growth has negative values


def test_bootstrap_scale_is_rs_as_svrepdesign_scale(dclus1):
    """The docstring's sentence: R's as.svrepdesign(type="bootstrap") scale for apiclus1 (15
    PSUs, 50 replicates) is m/((m-1)(R-1)) = 0.0218659 (R 4.x), not svrepdesign's 1/(R-1)."""
    b = dclus1.replicate("bootstrap", replicates=50, seed=1)
    assert b.scale == pytest.approx(0.02186589, rel=1e-6)
    assert "design$scale" in sk.ReplicateDesign.__doc__


def test_factor_marked_outcome_is_the_column(dclus1, dnh):
    """multinom(d, "C(y) ~ x") = multinom(d, "y ~ x") (R: a factor outcome), also factor()."""
    plain = sk.multinom(dclus1, "stype ~ ell")
    for f in ("C(stype) ~ ell", "factor(stype) ~ ell"):
        m = sk.multinom(dclus1, f)
        np.testing.assert_array_equal(m.params.to_numpy(), plain.params.to_numpy())
        np.testing.assert_array_equal(m.vcov.to_numpy(), plain.vcov.to_numpy())
        assert m.frame.lhs == "stype"
    assert list(sk.multinom(dnh, "C(race) ~ RIAGENDR").params.index) == list(
        sk.multinom(dnh, "race ~ RIAGENDR").params.index)


def test_predict_returns_a_frame_and_the_series_is_deprecated(dclus1):
    m = sk.glm(dclus1, "api00 ~ ell")
    with pytest.warns(DeprecationWarning, match="DataFrame"):
        old = m.predict()
    assert isinstance(old, pd.Series)
    new = m.predict(frame=True)
    assert isinstance(new, pd.DataFrame) and list(new.columns) == ["estimate"]
    np.testing.assert_array_equal(new["estimate"].to_numpy(), old.to_numpy())
    assert new.attrs["type"] == "response"
    link = m.predict(type="link", frame=True)
    np.testing.assert_array_equal(link["estimate"], m.predict(type="link", frame=False))
    # se=True was already a frame with the same estimate column
    np.testing.assert_allclose(m.predict(se=True)["estimate"], new["estimate"], rtol=1e-12)
    mm = sk.multinom(dclus1, "stype ~ ell")
    r = mm.predict(type="response", frame=True)
    assert isinstance(r, pd.DataFrame) and set(r["estimate"]) <= {"E", "H", "M"}


def test_parameter_names_follow_the_documented_rule(dstrat):
    """docs/ARCHITECTURE.md "Parameter names": group, then variable (several variables or no
    by), then level."""
    def names(res):
        return list(res.attrs["vcov"].index)[:2]

    assert names(sk.mean(dstrat, "api00", vcov=True)) == ["api00"]
    assert names(sk.mean(dstrat, "api00", by="stype", vcov=True)) == ["E", "H"]
    assert names(sk.mean(dstrat, ["api00", "api99"], by="stype", vcov=True)) == [
        "E:api00", "E:api99"]
    assert names(sk.proportion(dstrat, "awards", vcov=True)) == ["awards:No", "awards:Yes"]
    assert names(sk.ratio(dstrat, "api.stu", "enroll", vcov=True)) == ["api.stu/enroll"]
    assert names(sk.ratio(dstrat, "api.stu", "enroll", by="stype", vcov=True)) == ["E", "H"]
    assert names(sk.ratio(dstrat, "api.stu", "enroll", separate=True, vcov=True)) == ["E", "H"]
    assert names(sk.quantile(dstrat, "api00", vcov=True)) == ["api00:0.5"]
    assert names(sk.quantile(dstrat, "api00", by="stype", vcov=True)) == ["E:0.5", "H:0.5"]
    assert names(sk.var(dstrat, "api00", by="stype", vcov=True)) == ["E:api00:api00",
                                                                      "H:api00:api00"]


def test_i_expressions_wherever_a_variable_is_asked(dclus1):
    """I(...) through the validated expression language equals a derived column, in the
    estimators (mean, proportion, by=) and the tests (one-sample ttest of a difference)."""
    ap = dclus1.data
    d2 = dclus1.with_columns(diff=ap["api00"] - ap["api99"], hi=ap["api00"] > 700)
    got = sk.mean(dclus1, "I(api00 - api99)")
    want = sk.mean(d2, "diff")
    assert got["variable"].iloc[0] == "I(api00 - api99)"
    np.testing.assert_array_equal(got[["estimate", "std_error"]], want[["estimate", "std_error"]])
    np.testing.assert_array_equal(sk.proportion(dclus1, "I(api00 > 700)")["estimate"],
                                  sk.proportion(d2, "hi")["estimate"])
    np.testing.assert_array_equal(sk.mean(dclus1, "api00", by="I(api00 > 700)")["estimate"],
                                  sk.mean(d2, "api00", by="hi")["estimate"])
    t1, t2 = sk.ttest(dclus1, "I(api00 - api99)"), sk.ttest(d2, "diff")
    np.testing.assert_array_equal(t1[["estimate", "statistic", "p_value"]],
                                  t2[["estimate", "statistic", "p_value"]])
    with pytest.raises(EstimationError, match="not allowed"):
        sk.mean(dclus1, "I(__import__('os'))")
