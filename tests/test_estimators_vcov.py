"""vcov=True on mean/total/proportion with by= (joint covariance across groups), R's rule for
several variables with missing values, and contrasts of by-results — against R."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from surveykit.design import SurveyDesign
from surveykit.errors import EstimationError
from surveykit.estimation import mean, proportion, total
from surveykit.estimation._core import categorical_column, make_groups
from surveykit.inference import as_estimates, contrast
from surveykit.variance import totals as vtotals
from surveykit.weighting import calibrate
from tests import r_estimators as rr


@pytest.fixture(scope="module")
def ref() -> pd.DataFrame:
    return rr.load()


@pytest.fixture(scope="module")
def cal1(apiclus1, apipop):
    clus1 = SurveyDesign(apiclus1, weights="pw", psu="dnum", fpc="fpc")
    types = apipop["stype"].value_counts()
    tot = {"Intercept": len(apipop), "stype[T.H]": types["H"], "stype[T.M]": types["M"],
           "api99": float(apipop["api99"].sum())}
    return calibrate(clus1, "~stype + api99", tot)


def test_mean_by_joint_covariance_matches_r(dclus1, ref):
    res = mean(dclus1, "api00", by="stype", vcov=True)
    rr.check_vcov(res, ref, "mean_by_dclus1")
    # the diagonal is svyby's SE, and the groups are correlated (shared PSUs)
    want = rr.rows(ref, "mean_by_dclus1", "svyby_se")
    np.testing.assert_allclose(res["std_error"], want["se"], rtol=rr.RTOL_SE)
    v = res.attrs["vcov"].to_numpy()
    assert abs(v[0, 1]) > 1e-3 * np.sqrt(v[0, 0] * v[1, 1])
    assert res.attrs["df"] == dclus1.df == 14


def test_several_variables_total_domain_calibrated_match_r(dstrat, cal1, ref):
    rr.check_vcov(mean(dstrat, ["api00", "api99"], by="stype", vcov=True), ref,
                  "mean2_by_dstrat")
    rr.check_vcov(total(dstrat, "enroll", by="stype", vcov=True), ref, "total_by_dstrat")
    dom = dstrat.subset(dstrat.data["meals"].gt(30).to_numpy())
    rr.check_vcov(mean(dom, "api00", by="stype", vcov=True), ref, "mean_by_domain_dstrat")
    rr.check_vcov(mean(cal1, "api00", by="sch.wide", vcov=True), ref, "mean_by_cal_clus1")
    rr.check_vcov(proportion(cal1, "awards", by="sch.wide", vcov=True), ref,
                  "prop_by_cal_clus1")


def test_multistage_by_covariance_matches_r(apiclus2, ref):
    two = ["dnum", "snum"]
    full = SurveyDesign(apiclus2, psu=two, fpc=["fpc1", "fpc2"])
    uc = SurveyDesign(apiclus2, psu=two, fpc=["fpc1", "fpc2"], ultimate_cluster=True)
    assert not full.psu_aggregable and uc.psu_aggregable
    rr.check_vcov(mean(full, "api00", by="stype", vcov=True), ref, "mean_by_clus2")
    rr.check_vcov(mean(uc, "api00", by="stype", vcov=True), ref, "mean_by_clus2_uc")


def test_many_psus_aggregate_a_few_groups_at_a_time(monkeypatch, apistrat):
    """Rows as PSUs: the by-group totals are built in chunks of groups, same numbers."""
    d = SurveyDesign(apistrat, weights="pw", strata="stype", fpc="fpc")
    want_p = proportion(d, "awards", by="cname")
    want_m = mean(d, ["api00", "api99"], by="cname", na="per_variable")
    monkeypatch.setattr(vtotals, "_AGG_CELLS", 3 * d.n_psu)
    got_p = proportion(d, "awards", by="cname")
    got_m = mean(d, ["api00", "api99"], by="cname", na="per_variable")
    for got, want in ((got_p, want_p), (got_m, want_m)):
        pd.testing.assert_frame_equal(got, want, rtol=1e-12)


def test_proportion_by_joint_covariance_matches_r(dclus1, ref):
    res = proportion(dclus1, "awards", by="stype", vcov=True)
    assert list(res.attrs["vcov"].index)[:2] == ["E:awards:No", "E:awards:Yes"]
    rr.check_vcov(res, ref, "prop_by_dclus1")


@pytest.mark.parametrize("fn, case", [(mean, "mean_by_jk1"), (total, "total_by_jk1")])
def test_replicate_by_covariance_matches_svyby_covmat(jk1, ref, fn, case):
    rr.check_vcov(fn(jk1, "api00", by="stype", vcov=True), ref, case)


def test_replicate_proportion_covariance_matches_svyby_covmat(jk1, ref):
    rr.check_vcov(proportion(jk1, "awards", by="stype", vcov=True), ref, "prop_by_jk1")


def test_contrast_of_by_means_matches_svycontrast(jk1, ref):
    res = mean(jk1, "api00", by="stype", vcov=True)
    got = contrast(res, {"E-H": {"E": 1, "H": -1}, "avg": {"E": 1 / 3, "H": 1 / 3,
                                                           "M": 1 / 3}})
    want = rr.rows(ref, "jk1_contrast", "contrast")
    np.testing.assert_allclose(got["estimate"], want["estimate"], rtol=rr.RTOL_EST)
    np.testing.assert_allclose(got["std_error"], want["se"], rtol=rr.RTOL_SE)
    np.testing.assert_allclose(got["ci_low"], want["ci_low"], rtol=rr.RTOL_SE)
    # R's svycontrast of an svyby without return.replicates: the delta method (surveykit's
    # default on a replicate design uses the replicates, see test_r_survey_tests.py)
    ratio = contrast(res, lambda c: c["E"] / c["H"], method="delta")
    want = rr.rows(ref, "jk1_ratio", "contrast")
    np.testing.assert_allclose(ratio["estimate"], want["estimate"], rtol=rr.RTOL_EST)
    np.testing.assert_allclose(ratio["std_error"], want["se"], rtol=rr.RTOL_SE)


def test_several_variables_drop_rows_missing_any_as_r(dstrat, apistrat, ref):
    res = mean(dstrat, ["acs.k3", "acs.46"], vcov=True)
    rr.check_vcov(res, ref, "listwise_dstrat")
    both = apistrat[["acs.k3", "acs.46"]].notna().all(axis=1)
    assert (res["n_missing"] == int((~both).sum())).all()
    assert (res["n_unweighted"] == int(both.sum())).all()
    want = rr.rows(ref, "listwise_total_dstrat", "estimate")
    tot = total(dstrat, ["acs.k3", "acs.46"])
    np.testing.assert_allclose(tot["estimate"], want["estimate"], rtol=rr.RTOL_EST)
    np.testing.assert_allclose(tot["std_error"], want["se"], rtol=rr.RTOL_SE)
    by = mean(dstrat, ["acs.46", "api00"], by="stype", vcov=True)
    rr.check_vcov(by, ref, "listwise_by_dstrat")
    want = rr.rows(ref, "listwise_by_dstrat", "svyby_se")
    got = by.set_index(by["stype"] + ":" + by["variable"]).loc[want["name"]]
    np.testing.assert_allclose(got["std_error"], want["se"], rtol=rr.RTOL_SE)


def test_per_variable_option_matches_separate_calls(dstrat):
    with pytest.warns(UserWarning, match="acs.k3"):  # no acs.k3 in high/middle schools
        both = mean(dstrat, ["acs.k3", "acs.46"], by="stype", na="per_variable", vcov=True)
    for var in ("acs.k3", "acs.46"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            one = mean(dstrat, var, by="stype")
        got = both[both["variable"] == var].reset_index(drop=True)
        np.testing.assert_allclose(got["estimate"], one["estimate"], rtol=1e-12)
        np.testing.assert_allclose(got["std_error"], one["std_error"], rtol=1e-12)
        assert got["estimate"].notna().sum() == (1 if var == "acs.k3" else 3)
        assert list(got["n_missing"]) == list(one["n_missing"])
        assert list(got["n_unweighted"]) == list(one["n_unweighted"])
    with pytest.raises(EstimationError, match="na="):
        mean(dstrat, ["acs.k3", "acs.46"], na="pairwise")


def test_listwise_with_no_complete_row_is_an_error():
    d = SurveyDesign(pd.DataFrame({"a": [1, None, 2, None], "b": [None, 3, None, 4]}))
    with pytest.raises(EstimationError, match="every variable"):
        mean(d, ["a", "b"])
    res = mean(d, ["a", "b"], na="per_variable")
    assert list(res["estimate"]) == [1.5, 3.5] and list(res["n_missing"]) == [2, 2]


def test_vcov_names_and_as_estimates(dstrat):
    res = mean(dstrat, ["api00", "api99"], by=["stype", "awards"], vcov=True)
    names = list(res.attrs["vcov"].index)
    assert names[0] == "E.No:api00" and names[1] == "E.No:api99"
    est = as_estimates(res)
    np.testing.assert_allclose(est.coef, res["estimate"])
    np.testing.assert_allclose(est.se(), res["std_error"], rtol=1e-12)
    plain = mean(dstrat, "api00")
    assert "vcov" not in plain.attrs
    one = mean(dstrat, "api00", vcov=True)
    assert list(one.attrs["vcov"].index) == ["api00"]
    p = proportion(dstrat, "awards", vcov=True)
    assert list(p.attrs["vcov"].index) == ["awards:No", "awards:Yes"]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.one_of(st.none(), st.integers(-3, 6)), min_size=2, max_size=40),
       st.booleans())
def test_fast_coding_equals_factorize(values, as_float):
    col = pd.Series(values, dtype="float64" if as_float or None in values else "int64")
    d = SurveyDesign(pd.DataFrame({"v": col, "w": 1.0}), weights="w")
    codes, levels, miss = categorical_column(d, "v")
    want_codes, want_levels = pd.factorize(col, sort=True)
    assert list(codes) == list(want_codes)
    assert levels == list(want_levels)
    assert list(miss) == list(col.isna())
    if col.notna().any():
        with pytest.warns(UserWarning) if col.isna().any() else _nowarn():
            g = make_groups(d, "v")
        assert list(g.keys["v"]) == sorted(set(col.dropna()))


class _nowarn:
    def __enter__(self):
        import warnings
        self._cm = warnings.catch_warnings()
        self._cm.__enter__()
        warnings.simplefilter("error")

    def __exit__(self, *exc):
        return self._cm.__exit__(*exc)
