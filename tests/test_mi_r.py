"""Multiple imputation against R: survey + mitools::MIcombine, Barnard–Rubin df as mice::pool,
D1 as mitml/mice::D1 (tests/r/fixtures_mi.R). Stratified cluster design (NHANES), a JK1
replicate design (apiclus1) and domains of both."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import surveykit as sk
from tests.conftest import R_FIXTURES as FIXTURES
from tests.conftest import read_r_data

M = 5


def _frames(data: pd.DataFrame, var: str, file: str) -> list[pd.DataFrame]:
    imp = pd.read_csv(FIXTURES / file)
    out = []
    for i in range(1, M + 1):
        f = data.copy()
        part = imp[imp["imputation"] == i]
        f.loc[part["row_id"].to_numpy(), var] = part["value"].to_numpy()
        assert f[var].notna().all()
        out.append(f)
    return out


@pytest.fixture(scope="module")
def nh_mi():
    nh = read_r_data("nhanes")
    order = ["(0,19]", "(19,39]", "(39,59]", "(59,Inf]"]
    nh["agegrp"] = nh["agecat"].map({k: i + 1 for i, k in enumerate(order)})
    return sk.mi_design(_frames(nh, "HI_CHOL", "mi_nhanes_imputed.csv"), weights="WTMEC2YR",
                        strata="SDMVSTRA", psu="SDMVPSU", nest=True)


@pytest.fixture(scope="module")
def rep_mi():
    ap = read_r_data("apiclus1")
    ap["ell"] = ap["ell"].astype(float)
    imp = pd.read_csv(FIXTURES / "mi_apiclus1_imputed.csv")
    ap.loc[imp["row_id"].unique(), "ell"] = np.nan  # the missing values R made
    return sk.mi_design(_frames(ap, "ell", "mi_apiclus1_imputed.csv"), weights="pw",
                        psu="dnum").replicate("jk1")


@pytest.fixture(scope="module")
def fixture():
    return pd.read_csv(FIXTURES / "mi_combined.csv")


def _check(fixture, name, est, se, df_of, fmi_of, riv=None):
    ref = fixture[fixture["analysis"] == name]
    assert len(ref) == len(est), (name, len(ref), len(est))
    np.testing.assert_allclose(est, ref["estimate"], rtol=1e-6, atol=1e-10)
    np.testing.assert_allclose(se, ref["std_error"], rtol=1e-4)
    for method, col in (("barnard_rubin", "br"), ("mitools", "mitools"), ("rubin1987", "rubin")):
        np.testing.assert_allclose(df_of(method), ref[f"df_{col}"], rtol=1e-4, err_msg=method)
        np.testing.assert_allclose(fmi_of(method), ref[f"fmi_{col}"], rtol=1e-4, err_msg=method)
    if riv is not None:
        np.testing.assert_allclose(riv, ref["riv"], rtol=1e-4)


def _frame_case(fixture, name, mi, fn):
    res = {m: fn(mi.with_df_method(m)) for m in ("barnard_rubin", "mitools", "rubin1987")}
    r = res["barnard_rubin"]
    _check(fixture, name, r["estimate"], r["std_error"], lambda m: res[m]["df"],
           lambda m: res[m]["fmi"], r["riv"])


def _model_case(fixture, name, mi, fn):
    res = {m: fn(mi.with_df_method(m)) for m in ("barnard_rubin", "mitools", "rubin1987")}
    r = res["barnard_rubin"]
    _check(fixture, name, r.params.to_numpy(), r.std_errors.to_numpy(),
           lambda m: res[m].pooled.df, lambda m: res[m].pooled.fmi, r.pooled.riv)
    return r


def test_mean_stratified_cluster(nh_mi, fixture):
    _frame_case(fixture, "nh_mean", nh_mi, lambda d: sk.mean(d, "HI_CHOL"))


def test_mean_domain(nh_mi, fixture):
    _frame_case(fixture, "nh_dom_mean", nh_mi.subset("RIAGENDR == 2"),
                lambda d: sk.mean(d, "HI_CHOL"))


def test_glm_stratified_cluster_and_d1(nh_mi, fixture):
    fit = _model_case(fixture, "nh_glm", nh_mi, lambda d: sk.glm(
        d, "HI_CHOL ~ C(race) + C(agegrp)", family="quasibinomial"))
    _d1(fit, "nh_glm_race", "C(race)")


def test_glm_domain_and_d1(nh_mi, fixture):
    fit = _model_case(fixture, "nh_dom_glm", nh_mi.subset("RIAGENDR == 2"), lambda d: sk.glm(
        d, "HI_CHOL ~ C(race) + C(agegrp)", family="quasibinomial"))
    _d1(fit, "nh_dom_glm_race", "C(race)")


def test_ordinal_stratified_cluster(nh_mi, fixture):
    # surveykit's complete-data ordinal inference is normal (as R's confint on svyolr), so the
    # complete-data df is infinite: Barnard-Rubin and mitools reduce to Rubin (1987)
    _model_case(fixture, "nh_olr", nh_mi, lambda d: sk.ordinal(d, "agegrp ~ HI_CHOL + C(race)"))


def test_replicate_mean_glm_and_domain(rep_mi, fixture):
    assert rep_mi.is_replicate and rep_mi.m == M
    _frame_case(fixture, "rep_mean", rep_mi, lambda d: sk.mean(d, "ell"))
    _frame_case(fixture, "rep_dom_mean", rep_mi.subset("stype == 'E'"),
                lambda d: sk.mean(d, "ell"))
    fit = _model_case(fixture, "rep_glm", rep_mi, lambda d: sk.glm(d, "api00 ~ ell + meals"))
    _d1(fit, "rep_glm_ell", "ell")


def _d1(fit, name, term):
    ref = pd.read_csv(FIXTURES / "mi_d1.csv").set_index("analysis").loc[name]
    t = sk.wald_test(fit, term)
    assert t["df"].iloc[0] == ref["k"]
    np.testing.assert_allclose(t["statistic"].iloc[0], ref["statistic"], rtol=1e-6)
    np.testing.assert_allclose(t.attrs["riv"], ref["riv"], rtol=1e-4)
    np.testing.assert_allclose(t["ddf"].iloc[0], ref["ddf_reiter"], rtol=1e-4)
    np.testing.assert_allclose(t["p_value"].iloc[0], ref["p_reiter"], rtol=1e-4)
    assert "Reiter" in t.attrs["df_variant"]
    inf = sk.wald_test(fit, term, df=float("inf"))  # no complete-data df: LRR (1991) ddf
    np.testing.assert_allclose(inf["ddf"].iloc[0], ref["ddf_lrr"], rtol=1e-4)
    np.testing.assert_allclose(inf["p_value"].iloc[0], ref["p_lrr"], rtol=1e-4)
