"""surveykit twins of R ``survey``'s own regression tests (the ``tests/`` folder of survey 4.5).

Each test below is named after the R script it ports and checks what that script checks, on
the same data, with surveykit's API -- plus the numbers, from R fixtures
(``tests/r/fixtures_rtests_*.R``, outputs ``tests/fixtures/r/rtests_*``).
``docs/r_survey_tests.md`` lists every script of R's folder as in scope (ported here) or out
of scope (with the reason).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from conftest import R_FIXTURES, with_mealcat

import surveykit as sk
from surveykit.errors import EstimationError
from surveykit.models.wald import working_scale


def _lrt_ref(version: str) -> pd.DataFrame:
    r = pd.read_csv(R_FIXTURES / f"rtests_lrt_{version}.csv", dtype={"lambda": str})
    r["lambda"] = [np.array(s.split(), float) for s in r["lambda"]]
    return r.set_index(["case", "design"])


# ----------------------------------------------------------------- regTermTest-missing.R
LRT_CASES = {
    # case: (design builder, formula, term, family, missing-variable column)
    "nhanes_race1": ("nhanes", "I(race == 1) ~ HI_CHOL + agecat + RIAGENDR", "HI_CHOL",
                     "quasibinomial", "HI_CHOL"),
    "clus2_acs46": ("clus2", "sch.wide ~ ell + acs.46", "acs.46", "quasibinomial", "acs.46"),
    "strat_domain_acsk3": ("strat_domain", "api00 ~ ell + acs.k3 + meals", "acs.k3",
                           "gaussian", "acs.k3"),
}


@pytest.fixture(scope="module")
def lrt_designs(nhanes, apiclus2, apistrat):
    dnh = sk.SurveyDesign(nhanes, weights="WTMEC2YR", strata="SDMVSTRA", psu="SDMVPSU",
                          nest=True)
    dclus2 = sk.SurveyDesign(apiclus2, psu=["dnum", "snum"], fpc=["fpc1", "fpc2"])
    dstrat = sk.SurveyDesign(apistrat, weights="pw", strata="stype", fpc="fpc")
    return {"nhanes": dnh, "clus2": dclus2,
            "strat_domain": dstrat.subset(apistrat["stype"].ne("H"))}


@pytest.mark.parametrize("case", list(LRT_CASES))
def test_regTermTest_missing(lrt_designs, case):
    """The working LRT of a term is the same on the full design and on the design subset to the
    rows without missing values (R's test); statistic, lambdas and p-values equal survey 4.5's
    on the complete rows. survey 4.5 on the full design: same p, statistic x mean(w complete) /
    mean(w all); survey 4.1.1 on the full design refits the smaller model on other rows."""
    kind, formula, term, family, col = LRT_CASES[case]
    full = lrt_designs[kind]
    complete = full.subset(full.data[col].notna())
    r45, r411 = _lrt_ref("4.5"), _lrt_ref("4.1.1")
    for df, suffix in ((None, ""), (float("inf"), "_chisq")):
        got = {}
        for label, d in (("full", full), ("complete_rows", complete)):
            fit = sk.glm(d, formula, family=family)
            got[label] = (sk.wald_test(fit, term, method="LRT", df=df), fit)
        ref = r45.loc[(case + suffix, "complete_rows")]
        for res, _ in got.values():
            np.testing.assert_allclose(res["statistic"].item(), float(ref["chisq"]), rtol=1e-6)
            np.testing.assert_allclose(res.attrs["lambdas"], ref["lambda"], rtol=1e-6)
            np.testing.assert_allclose(res["p_value"].item(), float(ref["p"]), rtol=1e-4)
            assert res["ddf"].item() == float(ref["ddf"])
        # survey 4.5 on the full design: the same test on R's weight scale
        fit = got["full"][1]
        factor = fit.extra["weight_scale"] / working_scale(fit)
        assert abs(factor - 1) > 1e-3  # the rows excluded change the mean weight
        r_full = r45.loc[(case + suffix, "full")]
        np.testing.assert_allclose(float(r_full["chisq"]) * factor, float(ref["chisq"]),
                                   rtol=1e-6)
        np.testing.assert_allclose(float(r_full["p"]), float(ref["p"]), rtol=1e-6)
        # survey 4.1.1 on the complete rows agrees; on the full design it is another test
        np.testing.assert_allclose(float(r411.loc[(case + suffix, "complete_rows")]["chisq"]),
                                   float(ref["chisq"]), rtol=1e-9)
        assert float(r411.loc[(case + suffix, "full")]["chisq"]) > 10 * float(ref["chisq"])


def test_regTermTest_missing_ordinal(apiclus1):
    """The ordinal working LRT (svyolr) with avg.ed missing in 26 schools: full design ==
    complete rows == R (both versions agree; weights / their mean, see test_ordinal_lrt)."""
    data = with_mealcat(apiclus1)
    used = data["avg.ed"].notna()
    data["w1"] = data["pw"] / data.loc[used, "pw"].mean()
    full = sk.SurveyDesign(data, weights="w1", psu="dnum", fpc="fpc")
    ref = _lrt_ref("4.5").loc[("olr_clus1_stype", "complete_rows")]
    for d in (full, full.subset(used)):
        fit = sk.ordinal(d, "mealcat ~ avg.ed + mobility + stype")
        res = sk.wald_test(fit, "stype", method="LRT")
        np.testing.assert_allclose(res["statistic"].item(), float(ref["chisq"]), rtol=1e-6)
        # R's V0 is optim's finite-difference Hessian (ndeps 1e-3): lambdas, p to 1e-3
        np.testing.assert_allclose(res.attrs["lambdas"], ref["lambda"], rtol=1e-3)
        np.testing.assert_allclose(res["p_value"].item(), float(ref["p"]), rtol=1e-3)
    assert float(_lrt_ref("4.1.1").loc[("olr_clus1_stype", "full")]["chisq"]) == \
        pytest.approx(float(ref["chisq"]), rel=1e-9)


# ----------------------------------------------------------------- contrast-replicates.R
def _rep_ref(version: str = "4.5") -> pd.DataFrame:
    return pd.read_csv(R_FIXTURES / f"rtests_replicates_{version}.csv")


def _rv(ref: pd.DataFrame, case: str, quantity: str) -> np.ndarray:
    return ref[(ref["case"] == case) & (ref["quantity"] == quantity)]["value"].to_numpy(float)


@pytest.fixture(scope="module")
def rep_designs(apiclus1, apistrat):
    from conftest import r_jk1_design

    c1 = apiclus1.assign(log_enroll=np.log(apiclus1["enroll"]))
    st = apistrat.assign(log_enroll=np.log(apistrat["enroll"]))
    rclus1 = r_jk1_design(c1)
    return {"jk1_clus1": rclus1,
            "jkn_strat": sk.SurveyDesign(st, weights="pw", strata="stype",
                                         fpc="fpc").replicate("jkn"),
            "jk1_clus1_domain": rclus1.subset(c1["api00"] > 600)}


def _median(w: np.ndarray, d: pd.DataFrame) -> float:
    o = np.argsort(d["api00"].to_numpy(), kind="stable")
    cw = np.cumsum(w[o]) / w.sum()
    return float(d["api00"].to_numpy()[o][np.argmax(cw >= 0.5)])


@pytest.mark.parametrize("case", ["jk1_clus1", "jkn_strat", "jk1_clus1_domain"])
def test_contrast_replicates(rep_designs, case):
    """R's test: exp(E - H) of svyby means with return.replicates=TRUE has the replicate
    variance of exp(rE - rH) (0.2423 on the R test's design), not the delta method's (0.2620).
    On a replicate design surveykit's default is the replicates; method='delta' gives R's
    svycontrast without replicates."""
    ref, d = _rep_ref(), rep_designs[case]
    assert _rep_ref("4.1.1")["value"].equals(ref["value"])  # both versions agree here
    m = sk.mean(d, "log_enroll", by="stype", vcov=True)
    np.testing.assert_allclose(m["estimate"], _rv(ref, case, "means"), rtol=1e-6)
    np.testing.assert_allclose(m["std_error"], _rv(ref, case, "means_se"), rtol=1e-4)

    def f(c):
        return np.exp(c["E"] - c["H"])

    auto, rep = sk.contrast(m, f), sk.contrast(m, f, method="replicates")
    delta = sk.contrast(m, f, method="delta")
    for res in (auto, rep, delta):
        np.testing.assert_allclose(res["estimate"], _rv(ref, case, "exp_E_minus_H"), rtol=1e-6)
    np.testing.assert_allclose(auto["std_error"], _rv(ref, case, "exp_E_minus_H_se_replicates"),
                               rtol=1e-4)
    np.testing.assert_allclose(rep["std_error"], auto["std_error"], rtol=1e-12)
    np.testing.assert_allclose(delta["std_error"], _rv(ref, case, "exp_E_minus_H_se_delta"),
                               rtol=1e-4)
    # the replicate values are exp(rE - rH), as the R test checks
    reps = sk.as_estimates(m).replicates.values
    own = sk.as_estimates(auto).replicates.values[:, 0]
    np.testing.assert_allclose(own, np.exp(reps[:, 0] - reps[:, 1]), rtol=1e-12)
    two = sk.contrast(m, lambda c: [c["E"] / c["M"], np.log(c["H"])])
    np.testing.assert_allclose(two["estimate"], _rv(ref, case, "two_contrasts"), rtol=1e-6)
    np.testing.assert_allclose(two["std_error"], _rv(ref, case, "two_contrasts_se"), rtol=1e-4)
    lin = sk.contrast(m, {"E": 1, "M": -1})
    np.testing.assert_allclose(lin["estimate"], _rv(ref, case, "E_minus_M"), rtol=1e-6)
    np.testing.assert_allclose(lin["std_error"], _rv(ref, case, "E_minus_M_se"), rtol=1e-4)
    # a contrast of a contrast still has its replicates (here: linear, so the same SE)
    again = sk.contrast(lin, {"contrast": 2})
    np.testing.assert_allclose(again["std_error"], 2 * lin["std_error"], rtol=1e-10)
    assert sk.as_estimates(again).replicates is not None


@pytest.mark.parametrize("case", ["jk1_clus1", "jkn_strat", "jk1_clus1_domain"])
def test_withReplicates(rep_designs, case):
    ref, d = _rep_ref(), rep_designs[case]

    def stat(w, data):
        return {"ratio": np.sum(w * data["api00"]) / np.sum(w * data["api99"]),
                "median": _median(w, data)}

    got = sk.with_replicates(d, stat)
    assert list(got["statistic"]) == ["ratio", "median"]
    np.testing.assert_allclose(got["estimate"], _rv(ref, case, "with_replicates"), rtol=1e-6)
    np.testing.assert_allclose(got["std_error"], _rv(ref, case, "with_replicates_se"),
                               rtol=1e-4)
    # the result takes contrasts, replicate by replicate
    c = sk.contrast(got, lambda v: v["median"] / v["ratio"])
    reps = sk.as_estimates(got).replicates.values
    np.testing.assert_allclose(sk.as_estimates(c).replicates.values[:, 0],
                               reps[:, 1] / reps[:, 0], rtol=1e-12)


def test_with_replicates_refuses_a_linearisation_design(dclus1):
    with pytest.raises(sk.SurveyKitError, match="replicate design"):
        sk.with_replicates(dclus1, lambda w, d: w.sum())
    with pytest.raises(sk.SurveyKitError, match="needs replicate estimates"):
        sk.contrast(sk.mean(dclus1, "api00", by="stype", vcov=True),
                    lambda c: c["E"] / c["H"], method="replicates")


# ----------------------------------------------------------------- intervals (issue 25, item 6)
def _int_ref(version: str = "4.5") -> pd.DataFrame:
    return pd.read_csv(R_FIXTURES / f"rtests_intervals_{version}.csv")


@pytest.fixture(scope="module")
def ci_designs(apiclus1, apiclus2, apistrat, nhanes):
    from conftest import r_jk1_design

    c1 = apiclus1.assign(rare=(apiclus1["api00"] > 850).astype(int))
    dclus1 = sk.SurveyDesign(c1, weights="pw", psu="dnum", fpc="fpc")
    dstrat = sk.SurveyDesign(apistrat, weights="pw", strata="stype", fpc="fpc")
    dnh = sk.SurveyDesign(nhanes, weights="WTMEC2YR", strata="SDMVSTRA", psu="SDMVPSU",
                          nest=True)
    complete = nhanes[nhanes["HI_CHOL"].notna()].reset_index(drop=True)
    return {"dclus1": dclus1, "dstrat": dstrat, "dnh": dnh,
            "dclus2": sk.SurveyDesign(apiclus2, psu=["dnum", "snum"], fpc=["fpc1", "fpc2"]),
            "rclus1": r_jk1_design(apiclus1),
            "dnh_complete": sk.SurveyDesign(complete, weights="WTMEC2YR", strata="SDMVSTRA",
                                            psu="SDMVPSU", nest=True)}


WILSON = {"clus1_schwide": ("dclus1", None, "sch.wide", "Yes"),
          "clus2_awards": ("dclus2", None, "awards", "Yes"),
          "strat_domain_both": ("dstrat", "E", "both", "Yes"),
          "nhanes_hichol": ("dnh", None, "HI_CHOL", 1),
          "jk1_clus1_schwide": ("rclus1", None, "sch.wide", "Yes"),
          "clus1_rare": ("dclus1", None, "rare", 1)}


@pytest.mark.parametrize("case", list(WILSON))
def test_svyciprop_wilson(ci_designs, case):
    """R 4.5's svyciprop(method="wilson") (survey 4.1.1 has no Wilson interval): the score
    interval on the effective sample size, t quantiles on the design df."""
    ref = _int_ref()
    assert "wilson_0.95" not in set(_int_ref("4.1.1")["quantity"])
    dname, drop, var, lv = WILSON[case]
    d = ci_designs[dname]
    if drop is not None:
        d = d.subset(d.data["stype"] != drop)
    for level in (0.95, 0.9):
        got = sk.proportion(d, var, ci="wilson", level=level)
        row = got[got["level"] == lv].iloc[0]
        want = _rv(ref, case, f"wilson_{level}")
        np.testing.assert_allclose(row["estimate"], want[0], rtol=1e-6)
        np.testing.assert_allclose([row["ci_low"], row["ci_high"]], want[1:], rtol=1e-6)


def test_svyciprop_wilson_by_group(ci_designs):
    got = sk.proportion(ci_designs["dclus1"], "sch.wide", by="stype", ci="wilson")
    got = got[got["level"] == "Yes"]
    want = _rv(_int_ref(), "clus1_by_stype", "wilson_0.95").reshape(3, 3)
    np.testing.assert_allclose(got["estimate"], want[0], rtol=1e-6)
    np.testing.assert_allclose(got["ci_low"], want[1], rtol=1e-6)
    np.testing.assert_allclose(got["ci_high"], want[2], rtol=1e-6)


PROFILE = {"logit_clus1": ("dclus1", "sch.wide ~ ell + meals", "quasibinomial", None),
           "logit_clus1_binomial": ("dclus1", "sch.wide ~ ell + meals", "binomial", None),
           "probit_nhanes": ("dnh_complete", "HI_CHOL ~ agecat + RIAGENDR", "quasibinomial",
                             "probit"),
           "poisson_clus2": ("dclus2", "emer ~ ell + stype", "poisson", None)}


@pytest.mark.parametrize("case", list(PROFILE))
def test_confint_svyglm_likelihood(ci_designs, case):
    """confint(svyglm, method="likelihood"): R's profile grid + spline at the level rescaled
    for each coefficient's design effect (survey 4.1.1 and 4.5 agree to 1e-15)."""
    ref, d = _int_ref(), ci_designs[PROFILE[case][0]]
    _, formula, family, link = PROFILE[case]
    data = d.data
    if "sch.wide" in formula:
        d = d.with_columns(sch_yes=(data["sch.wide"] == "Yes").astype(int))
        formula = formula.replace("sch.wide", "sch_yes")
    fit = sk.glm(d, formula, family=family, link=link)
    np.testing.assert_allclose(fit.params, _rv(ref, case, "coef"), rtol=1e-6)
    for quantity, kw in (("profile_0.95", {}), ("profile_0.8", {"level": 0.8}),
                         ("profile_ddf_inf", {"ddf": float("inf")})):
        got = fit.confint(method="likelihood", **kw)
        want = _rv(ref, case, quantity).reshape(2, -1)
        np.testing.assert_allclose(got["ci_low"], want[0], rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(got["ci_high"], want[1], rtol=1e-6, atol=1e-9)
    one = fit.confint(method="likelihood", parm=[fit.params.index[1]])
    assert len(one) == 1 and one["term"].item() == fit.params.index[1]


# ----------------------------------------------------------------- deff.R, defftest.R
def _deff_ref(version: str = "4.5") -> pd.DataFrame:
    return pd.read_csv(R_FIXTURES / f"rtests_deff_{version}.csv")


@pytest.fixture(scope="module")
def deff_designs(apiclus1, apiclus2, apistrat, nhanes):
    from conftest import r_jk1_design

    kigyo = pd.read_csv(R_FIXTURES / "rtests_deff_kigyo.csv")
    dstrat = sk.SurveyDesign(apistrat, weights="pw", strata="stype", fpc="fpc")
    return {"kigyo_srs": (sk.SurveyDesign(kigyo, weights="srs.w"), ["uriage"]),
            "kigyo_pps": (sk.SurveyDesign(kigyo, weights="pps.w"), ["uriage"]),
            "clus1": (sk.SurveyDesign(apiclus1, weights="pw", psu="dnum", fpc="fpc"),
                      ["api00", "enroll"]),
            "clus2": (sk.SurveyDesign(apiclus2, psu=["dnum", "snum"], fpc=["fpc1", "fpc2"]),
                      ["api00", "ell"]),
            "strat_domain": (dstrat.subset(apistrat["stype"] != "E"), ["api00", "meals"]),
            "nhanes": (sk.SurveyDesign(nhanes, weights="WTMEC2YR", strata="SDMVSTRA",
                                       psu="SDMVPSU", nest=True), ["HI_CHOL"]),
            "jk1_clus1": (r_jk1_design(apiclus1), ["api00", "enroll"])}


@pytest.mark.parametrize("case", ["kigyo_srs", "kigyo_pps", "clus1", "clus2", "strat_domain",
                                  "nhanes", "jk1_clus1"])
def test_deff(deff_designs, case):
    """R's deff.R: deff=TRUE divides by the SRS-without-replacement variance (1.0101 for the
    SRS of 10 firms out of 1000), deff="replace" by the with-replacement one (1.9741 and
    18.157 for the PPS sample's mean and total)."""
    ref = _deff_ref()
    assert _deff_ref("4.1.1")["value"].to_numpy() == pytest.approx(ref["value"].to_numpy(),
                                                                   rel=1e-12)
    d, names = deff_designs[case]
    for kind, fn in (("mean", sk.mean), ("total", sk.total)):
        for label, arg in (("TRUE", True), ("replace", "replace")):
            got = fn(d, names, deff=arg)["deff"].to_numpy()
            np.testing.assert_allclose(got, _rv(ref, case, f"{kind}_{label}"), rtol=1e-6)
    assert np.isnan(sk.mean(d, names, deff=False)["deff"]).all()


def test_deff_proportions_and_groups(deff_designs):
    ref = _deff_ref()
    clus1, clus2 = deff_designs["clus1"][0], deff_designs["clus2"][0]
    for label, arg in (("TRUE", True), ("replace", "replace")):
        got = sk.proportion(clus1, "stype", deff=arg)["deff"].to_numpy()
        np.testing.assert_allclose(got, _rv(ref, "clus1", f"prop_stype_{label}"), rtol=1e-6)
        got = sk.mean(clus2, "api00", by="stype", deff=arg)["deff"].to_numpy()
        np.testing.assert_allclose(got, _rv(ref, "clus2", f"by_stype_mean_{label}"), rtol=1e-6)
    with pytest.raises(sk.SurveyKitError, match="deff"):
        sk.mean(clus1, "api00", deff="srs")


MODEL_DEFF = {"lm_clus1": ("clus1", "api99 ~ enroll + api.stu", "gaussian"),
              "logit_strat_domain": ("strat_domain", "sch_yes ~ ell + meals", "quasibinomial"),
              "logit_nhanes": ("nhanes", "HI_CHOL ~ agecat + RIAGENDR", "binomial"),
              "poisson_clus2": ("clus2", "emer ~ ell + stype", "poisson")}


@pytest.mark.parametrize("case", list(MODEL_DEFF))
def test_defftest(deff_designs, case):
    """R's defftest.R: deff(svyglm(..., deff=TRUE)) = design SE^2 / SE^2 of the glm fitted to
    the same data as an SRS (1.92, 2.50, 2.69 on apiclus1)."""
    ref = _deff_ref()
    dname, formula, family = MODEL_DEFF[case]
    d = deff_designs[dname][0]
    if "sch_yes" in formula:
        d = d.with_columns(sch_yes=(d.data["sch.wide"] == "Yes").astype(int))
    fit = sk.glm(d, formula, family=family)
    np.testing.assert_allclose(fit.params, _rv(ref, case, "coef"), rtol=1e-6)
    np.testing.assert_allclose(fit.deff(), _rv(ref, case, "model_deff"), rtol=1e-6)


# ----------------------------------------------------------------- caleg.R, regpredict.R
def _cal_ref(version: str = "4.5") -> pd.DataFrame:
    return pd.read_csv(R_FIXTURES / f"rtests_calibrate_{version}.csv")


def _check(res: pd.DataFrame, ref: pd.DataFrame, case: str, name: str, atol: float = 0.0):
    np.testing.assert_allclose(res["estimate"], _rv(ref, case, name), rtol=1e-6)
    np.testing.assert_allclose(res["std_error"], _rv(ref, case, f"{name}_se"), rtol=1e-4,
                               atol=atol)


def test_caleg_versions_agree():
    a, b = _cal_ref(), _cal_ref("4.1.1")
    np.testing.assert_allclose(a["value"], b["value"], rtol=1e-9, atol=1e-6)


def test_caleg_stage1_calibration_to_cluster_totals():
    """calibrate(dclus2, ~api99, pop, stage=1): each district's schools calibrated to its own
    api99 total and school count; the first-stage variance is unchanged, the second-stage
    variance uses the within-district regression residuals."""
    ref = _cal_ref()
    data = pd.read_csv(R_FIXTURES / "rtests_calibrate_apiclus2a.csv")
    d = sk.SurveyDesign(data, psu=["dnum", "snum"], fpc=["fpc1", "fpc2"])
    _check(sk.mean(d, "api00"), ref, "stage1_uncal", "mean_api00")
    q = ref[(ref["case"] == "stage1") & ref["quantity"].str.startswith("pop_")]
    pop = {k.removeprefix("pop_"): g["value"].to_numpy(float)
           for k, g in q.groupby("quantity", sort=False)}
    g = sk.calibrate(d, "~api99", pop, stage=1)
    np.testing.assert_allclose(g.weights, _rv(ref, "stage1", "weights"), rtol=1e-8)
    _check(sk.mean(g, "api99"), ref, "stage1", "mean_api99")
    _check(sk.mean(g, "api00"), ref, "stage1", "mean_api00")
    _check(sk.total(g, "enroll"), ref, "stage1", "total_enroll")
    by = sk.mean(g, "api00", by="dnum")
    np.testing.assert_allclose(by["estimate"], _rv(ref, "stage1", "by_dnum_api00"), rtol=1e-6)
    np.testing.assert_allclose(by["std_error"], _rv(ref, "stage1", "by_dnum_api00_se"),
                               rtol=1e-4, atol=1e-8)
    # every cluster hits its own totals: within-cluster weights (weight x n1 / N1) sum to them
    n1 = data["dnum"].nunique()
    within = g.weights * n1 / data["fpc1"].to_numpy()
    for k, tot in pop.items():
        rows = (data["dnum"].astype(str) == k).to_numpy()
        got = [within[rows].sum(), (within[rows] * data["api99"].to_numpy()[rows]).sum()]
        np.testing.assert_allclose(got, tot, rtol=1e-8)
    with pytest.raises(sk.SurveyKitError, match="exactly the sampled clusters"):
        sk.calibrate(d, "~api99", dict(list(pop.items())[:-1]), stage=1)


def test_caleg_aggregate_stage(dclus1, apiclus1):
    """aggregate=1: one g per cluster (no weight variation within clusters), totals hit.
    R's linear version gives one district negative weights (g = -0.146): surveykit refuses
    them (README), so the numbers are compared on raking to the same totals."""
    ref = _cal_ref()
    pop = _rv(ref, "aggregate", "pop")
    assert (_rv(ref, "aggregate", "weights") < 0).sum() > 0
    with pytest.raises(sk.SurveyKitError, match="negative weight"):
        sk.calibrate(dclus1, "~enroll", pop, aggregate_stage=1)
    g = sk.calibrate(dclus1, "~enroll", pop, aggregate_stage=1, method="raking")
    np.testing.assert_allclose(g.weights, _rv(ref, "aggregate_raking", "weights"), rtol=1e-8)
    w = pd.Series(g.weights).groupby(apiclus1["dnum"]).agg(["min", "max"])
    np.testing.assert_allclose(w["min"], w["max"], rtol=1e-12)
    np.testing.assert_allclose(sk.total(g, "enroll")["estimate"], pop[1], rtol=1e-8)
    _check(sk.total(g, "api.stu"), ref, "aggregate_raking", "total_api.stu")
    _check(sk.mean(g.subset(apiclus1["stype"] == "H"), "api00"), ref, "aggregate_raking",
           "mean_api00_domain_H")


def test_caleg_bounded_and_ratio_estimators(dclus1, dstrat):
    ref = _cal_ref()
    pop = _rv(ref, "aggregate", "pop")
    b = sk.calibrate(dclus1, "~enroll", pop, bounds=(0.6, 1.5))
    gr = b.weights / dclus1.weights
    np.testing.assert_allclose([gr.min(), gr.max()], _rv(ref, "bounded", "g_range"), rtol=1e-6)
    _check(sk.total(b, "api.stu"), ref, "bounded", "total_api.stu")
    T = float(_rv(ref, "ratio", "total_enroll_pop")[0])
    # the ratio estimator four ways (regpredict.R): variance=1, 2 (any constant), per unit
    for name, variance in (("variance1", [1]), ("variance2", [2]),
                           ("variance_unit", "enroll")):
        g = sk.calibrate(dstrat, "~enroll - 1", [T], variance=variance)
        _check(sk.total(g, "api.stu"), ref, "ratio", name)
    np.testing.assert_allclose(_rv(ref, "ratio", "variance1"), _rv(ref, "ratio", "predict_total"),
                               rtol=1e-10)
    g = sk.calibrate(dstrat, "~enroll - 1", [T], variance="enroll")
    np.testing.assert_allclose(g.weights, _rv(ref, "ratio", "variance_unit_weights"), rtol=1e-8)
    # the regression estimator (regpredict.R)
    npop = float(_rv(ref, "regression", "npop")[0])
    g = sk.calibrate(dstrat, "~enroll", [npop, T])
    _check(sk.total(g, "api.stu"), ref, "regression", "total_api.stu")


def test_caleg_unit_specific_bounds(dstrat, dclus1, apiclus1):
    ref = _cal_ref()
    T = float(_rv(ref, "ratio", "total_enroll_pop")[0])
    n = dstrat.n_total
    lo = np.r_[1.0, 1.0, np.full(n - 2, -np.inf)]
    hi = np.r_[1.0, 1.0, np.full(n - 2, np.inf)]
    g = sk.calibrate(dstrat, "~enroll - 1", [T], bounds=(lo, hi), variance="enroll")
    np.testing.assert_allclose(g.weights, _rv(ref, "unit_bounds", "weights"), rtol=1e-6)
    np.testing.assert_allclose(g.weights[:2], dstrat.weights[:2], rtol=1e-12)
    _check(sk.total(g, "api.stu"), ref, "unit_bounds", "total_api.stu")
    lo2 = np.r_[44.21, 44.21, np.full(n - 2, -np.inf)]
    hi2 = np.r_[44.21, 44.21, np.full(n - 2, np.inf)]
    g2 = sk.calibrate(dstrat, "~enroll - 1", [T], bounds=(lo2, hi2), bounds_const=True,
                      variance="enroll")
    np.testing.assert_allclose(g2.weights, _rv(ref, "unit_bounds_const", "weights"), rtol=1e-6)
    _check(sk.total(g2, "api.stu"), ref, "unit_bounds_const", "total_api.stu")
    e = apiclus1["stype"].eq("E").to_numpy()
    r = sk.calibrate(dclus1, "~stype", [6194, 755, 1018], method="raking",
                     bounds=(np.where(e, 0.8, 0.5), np.where(e, 1.2, 2.0)))
    np.testing.assert_allclose(r.weights, _rv(ref, "unit_bounds_raking", "weights"), rtol=1e-6)
    _check(sk.mean(r, "api00"), ref, "unit_bounds_raking", "mean_api00")
    with pytest.raises(sk.SurveyKitError, match="one value per row"):
        sk.calibrate(dstrat, "~enroll - 1", [T], bounds=(np.zeros(3), np.ones(3) * 2))


# ----------------------------------------------------------------- lonely.psu.R (domains)
def _lonely_ref(version: str = "4.5") -> pd.DataFrame:
    return pd.read_csv(R_FIXTURES / f"rtests_lonely_{version}.csv")


def _lonely_domains(apistrat, nhanes, rule: str, adjust: bool) -> dict:
    a1 = pd.read_csv(R_FIXTURES / "rtests_lonely_apiclus1.csv")
    kw = {"lonely_psu": rule, "adjust_domain_lonely": adjust}
    ds = sk.SurveyDesign(a1, weights="pw", strata="dnum", **kw)
    keep = np.ones(len(a1), dtype=bool)
    keep[30] = False  # R's ds[-31, ]
    dstrat = sk.SurveyDesign(apistrat, weights="pw", strata="stype", fpc="fpc", **kw)
    first_e = int(np.flatnonzero(apistrat["stype"].eq("E"))[0])
    one_e = apistrat["stype"].ne("E").to_numpy().copy()
    one_e[first_e] = True
    dnh = sk.SurveyDesign(nhanes, weights="WTMEC2YR", strata="SDMVSTRA", psu="SDMVPSU",
                          nest=True, **kw)
    nh_dom = ~(nhanes["SDMVSTRA"].isin([76, 80]) & nhanes["SDMVPSU"].eq(1)).to_numpy()
    return {"clus1_row31": (ds.subset(keep), "api00"),
            "strat_one_E": (dstrat.subset(one_e), "api00"),
            "nhanes_two_strata": (dnh.subset(nh_dom), "HI_CHOL")}


@pytest.mark.parametrize("rule", ["remove", "certainty", "adjust", "average"])
@pytest.mark.parametrize("adjust", [False, True])
def test_lonely_psu_in_domains(apistrat, nhanes, rule, adjust):
    """R's lonely.psu.R "with adjustment": options(survey.adjust.domain.lonely=TRUE) is
    SurveyDesign(adjust_domain_lonely=True); it changes "adjust" and "average" only."""
    import warnings

    ref = _lonely_ref()
    tag = f"{rule}_{'adj' if adjust else 'noadj'}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for case, (d, var) in _lonely_domains(apistrat, nhanes, rule, adjust).items():
            for kind, fn in (("mean", sk.mean), ("total", sk.total)):
                got = fn(d, var)
                want = _rv(ref, case, f"{kind}_{tag}")
                np.testing.assert_allclose(got["estimate"].item(), want[0], rtol=1e-6)
                np.testing.assert_allclose(got["std_error"].item(), want[1], rtol=1e-4)
        d = _lonely_domains(apistrat, nhanes, rule, adjust)["strat_one_E"][0]
        want = _rv(ref, "strat_one_E", f"by_stype_{tag}").reshape(2, 3)
        if rule == "average" and adjust:
            # group E's only stratum is lonely in it: R gives that group a NaN SE; surveykit
            # refuses 'average' when every stratum is lonely (README, documented differences)
            assert np.isnan(want[1][0])
            with pytest.raises(sk.SurveyKitError, match="average"):
                sk.mean(d, "api00", by="stype")
            return
        by = sk.mean(d, "api00", by="stype")
    np.testing.assert_allclose(by["estimate"], want[0], rtol=1e-6)
    np.testing.assert_allclose(by["std_error"], want[1], rtol=1e-4, atol=1e-12)


def test_lonely_domain_adjustment_warns(apistrat, nhanes):
    d = _lonely_domains(apistrat, nhanes, "adjust", True)["clus1_row31"][0]
    with pytest.warns(UserWarning, match="single sampled unit in the domain"):
        sk.mean(d, "api00")


# ----------------------------------------------------------------- short R tests, ported
def test_domain_R(dstrat, apistrat, dclus1, apiclus1):
    """domain.R: a domain mean's SE equals the SE of the domain's coefficient in a glm
    without intercept and of the ratio estimator, also on a calibrated design."""
    yes = apistrat["comp.imp"].eq("Yes")
    m1 = sk.mean(dstrat.subset(yes), "enroll")
    d2 = dstrat.with_columns(num=apistrat["enroll"] * yes, den=yes.astype(float))
    m2 = sk.glm(dstrat, "enroll ~ C(comp.imp) - 1")
    m3 = sk.ratio(d2, "num", "den")
    se2 = m2.std_errors.iloc[[i for i, n in enumerate(m2.params.index) if "Yes" in n]].item()
    np.testing.assert_allclose(m1["std_error"].item(), se2, rtol=1e-10)
    np.testing.assert_allclose(m1["std_error"].item(), m3["std_error"].item(), rtol=1e-10)
    pop = {"Intercept": 6194, "stype[T.H]": 755, "stype[T.M]": 1018, "api99": 3914069}
    g3 = sk.calibrate(dclus1, "~stype + api99", pop)
    cy = apiclus1["comp.imp"].eq("Yes")
    c1 = sk.mean(g3.subset(cy), "api00")
    c2 = sk.glm(g3, "api00 ~ C(comp.imp) - 1")
    se = c2.std_errors.iloc[[i for i, n in enumerate(c2.params.index) if "Yes" in n]].item()
    np.testing.assert_allclose(c1["std_error"].item(), se, rtol=1e-8)


def test_badcal_R():
    """badcal.R: linear and raking calibration to category counts give the same totals."""
    data = pd.DataFrame({"x": [1, 1, 1, 1, 2, 2, 2, 2, 2, 2], "w": [10.0] * 10})
    d = sk.SurveyDesign(data, weights="w")
    lin = sk.calibrate(d, "~C(x)", [10000, 5000])
    rak = sk.calibrate(d, "~C(x)", [10000, 5000], method="raking")
    a = sk.total(lin.with_columns(x2=data["x"].eq(2).astype(float)), "x2")
    b = sk.total(rak.with_columns(x2=data["x"].eq(2).astype(float)), "x2")
    np.testing.assert_allclose(a["estimate"], b["estimate"], rtol=1e-10)
    np.testing.assert_allclose(a["std_error"], b["std_error"], atol=1e-9)  # both ~0
    np.testing.assert_allclose(lin.weights.sum(), 10000, rtol=1e-10)


def test_svyby_se_R(dstrat):
    """svyby_se.R: by-group SEs are the square roots of the joint covariance's diagonal."""
    t = sk.total(dstrat, "enroll", by="stype", vcov=True)
    np.testing.assert_allclose(t["std_error"], np.sqrt(np.diag(t.attrs["vcov"].to_numpy())),
                               rtol=1e-12)


@pytest.mark.parametrize("replicate", [False, True])
def test_bycovmat_R_ratios(dclus1, apiclus1, replicate):
    """bycovmat.R: ratio estimates and their covariance equal svycontrast of the totals
    (delta method on a linearisation design; on a replicate design R evaluates the ratios on
    the totals' replicates, as surveykit's default does, and the two agree to 1e-10)."""
    from conftest import r_jk1_design

    d = r_jk1_design(apiclus1) if replicate else dclus1
    rat = sk.ratio(d, ["ell", "mobility"], "meals", vcov=True)
    tot = sk.total(d, ["ell", "mobility", "meals"], vcov=True)
    names = list(tot.attrs["vcov"].names)
    c = sk.contrast(tot, lambda v: [v[names[0]] / v[names[2]], v[names[1]] / v[names[2]]])
    np.testing.assert_allclose(c["estimate"], rat["estimate"], rtol=1e-10)
    np.testing.assert_allclose(c.attrs["vcov"].to_numpy(), rat.attrs["vcov"].to_numpy(),
                               rtol=1e-8)


def test_confintrep_R(apiclus2):
    """confintrep.R: profile-likelihood CI of an intercept-only quasibinomial glm on a
    two-stage design has no NA; withReplicates of a total and its log gives CIs."""
    d = sk.SurveyDesign(apiclus2.assign(ci=apiclus2["comp.imp"].eq("Yes").astype(int)),
                        psu=["dnum", "snum"], fpc=["fpc1", "fpc2"])
    m = sk.glm(d, "ci ~ 1", family="quasibinomial")
    ci = m.confint(method="likelihood")
    assert np.isfinite(ci[["ci_low", "ci_high"]].to_numpy()).all()
    assert ci["ci_low"].item() < m.params.item() < ci["ci_high"].item()
    with pytest.warns(UserWarning, match="finite population corrections"):
        rep = d.replicate("jk1")  # R's as.svrepdesign drops them too
    r = sk.with_replicates(rep, lambda w, data: [
        np.sum(data["meals"] * w), np.log(np.sum(data["meals"] * w))])
    assert np.isfinite(r[["ci_low", "ci_high"]].to_numpy()).all()


# ------------------------------------------- the last ported scripts (fixtures_rtests_more.R)
def _more_data(name: str) -> pd.DataFrame:
    return pd.read_csv(R_FIXTURES / f"rtests_more_{name}.csv")


@pytest.fixture(scope="module")
def more_ref() -> dict[str, pd.DataFrame]:
    return {v: pd.read_csv(R_FIXTURES / f"rtests_more_{v}.csv", keep_default_na=False,
                           dtype={"term": str, "value": str}) for v in ("4.5", "4.1.1")}


def _more(ref: dict[str, pd.DataFrame], script: str, case: str, quantity: str,
          version: str = "4.5") -> np.ndarray:
    r = ref[version]
    rows = r[(r["script"] == script) & (r["case"] == case) & (r["quantity"] == quantity)]
    assert len(rows), (script, case, quantity)
    return pd.to_numeric(rows["value"], errors="coerce").to_numpy()


def _failed_in_411(ref: dict[str, pd.DataFrame], script: str, case: str) -> bool:
    r = ref["4.1.1"]
    return bool(((r["script"] == script) & (r["case"] == case) & (r["value"] == "error")).any())


def test_svyolr_rake_subset_R(apiclus1, more_ref):
    """svyolr-rake-subset.R: svyolr on a raked cluster sample (apiclus1, FPC) whose covariate
    has missing values equals svyolr on its subset to complete rows (R 4.5; 4.1.1 fails on
    both) -- coefficients, cut-points, SEs, the rows used and the raked weights."""
    data = with_mealcat(apiclus1)
    d = sk.SurveyDesign(data, weights="pw", psu="dnum", fpc="fpc")
    raked = sk.rake(d, {"stype": {"E": 4421, "H": 755, "M": 1018},
                        "sch.wide": {"No": 1072, "Yes": 5122}}, tol=1e-12).design
    np.testing.assert_allclose(raked.weights, _more(more_ref, "svyolr-rake-subset", "raked",
                                                    "weight"), rtol=1e-8)
    formula = "mealcat ~ avg.ed + mobility + stype"
    complete = raked.subset(data["avg.ed"].notna().to_numpy())
    fits = {case: sk.ordinal(des, formula) for case, des in
            (("plain", d), ("raked", raked), ("raked_subset", complete))}
    for case, fit in fits.items():
        np.testing.assert_allclose(fit.params, _more(more_ref, "svyolr-rake-subset", case,
                                                     "coef"), rtol=1e-6)
        np.testing.assert_allclose(fit.std_errors, _more(more_ref, "svyolr-rake-subset", case,
                                                         "se"), rtol=1e-4)
        assert fit.nobs == _more(more_ref, "svyolr-rake-subset", case, "n").item() == 157
    np.testing.assert_allclose(fits["raked"].params, fits["raked_subset"].params, rtol=1e-12)
    assert fits["raked"].n_missing == len(data) - 157  # counted, not dropped silently
    assert _failed_in_411(more_ref, "svyolr-rake-subset", "raked")
    assert _failed_in_411(more_ref, "svyolr-rake-subset", "raked_subset")


def test_mtcars_var_R(more_ref):
    """mtcars-var.R: by groups of one car give NA (a NaN row with a warning), not an error;
    var with missing values excluded equals var on the subset to complete rows (R 4.5; 4.1.1
    counted the missing row in n/(n-1))."""
    mt = _more_data("mtcars")
    d = sk.SurveyDesign(mt)
    with pytest.warns(UserWarning, match="one respondent.*carb=6; carb=8"):
        v = sk.var(d, "mpg", by="carb")
    assert v["carb"].tolist() == [1, 2, 3, 4, 6, 8]
    np.testing.assert_allclose(v["estimate"], _more(more_ref, "mtcars-var", "by_carb",
                                                    "estimate"), rtol=1e-10, equal_nan=True)
    np.testing.assert_allclose(v["std_error"], _more(more_ref, "mtcars-var", "by_carb", "se"),
                               rtol=1e-10, equal_nan=True)
    assert v["estimate"].isna().tolist() == [False] * 4 + [True] * 2
    with pytest.raises(EstimationError, match="at least two respondents"):
        sk.var(d.subset(mt["carb"].eq(6).to_numpy()), "mpg")
    mt.loc[0, "mpg"] = np.nan
    d = sk.SurveyDesign(mt)
    full = sk.var(d, "mpg")
    sub = sk.var(d.subset(mt["mpg"].notna().to_numpy()), "mpg")
    for res in (full, sub):
        np.testing.assert_allclose(res["estimate"], _more(more_ref, "mtcars-var", "na_rm",
                                                          "estimate"), rtol=1e-12)
        np.testing.assert_allclose(res["std_error"], _more(more_ref, "mtcars-var", "na_rm",
                                                           "se"), rtol=1e-12)
    assert full["n_missing"].item() == 1
    old = _more(more_ref, "mtcars-var", "na_rm", "estimate", version="4.1.1")
    assert abs(old.item() / full["estimate"].item() - 1) > 1e-4  # 4.1.1's other n


def _kalton_designs() -> tuple[pd.DataFrame, dict[str, Any]]:
    ks, kp = _more_data("kaltonsample"), _more_data("kaltonpop")
    d = sk.SurveyDesign(ks)

    def totals(formula: str) -> dict[str, float]:
        from formulaic import model_matrix

        mm = model_matrix(formula, kp)
        return dict(zip(mm.columns, mm.sum().to_numpy(), strict=True))

    joint = kp.groupby(["a", "b"]).size().reset_index(name="Freq")
    marg = {v: kp[v].value_counts().sort_index().to_dict() for v in ("a", "b")}
    add = "~C(a) + C(b)"
    return ks, {
        "ps": sk.poststratify(d, ["a", "b"], joint),
        "rake": sk.rake(d, marg, tol=1e-12).design,
        "calps": sk.calibrate(d, "~C(a) * C(b)", totals("~C(a) * C(b)")),
        "calrake": sk.calibrate(d, add, totals(add), method="raking"),
        "linear": sk.calibrate(d, add, totals(add)),
        "trunclinear": sk.calibrate(d, add, totals(add), bounds=(0.5, 2.2), max_iter=1000),
        "logit": sk.calibrate(d, add, totals(add), method="logit", bounds=(0.5, 2.2),
                              max_iter=1000),
        "greg": sk.calibrate(d, "~a + b", totals("~a + b")),
    }


def test_kalton_R(more_ref):
    """kalton.R: Kalton & Flores-Cervantes' weighting examples -- post-stratification, raking,
    linear, truncated linear, logit and GREG calibration of the same 4 x 3 table. Each cell's
    mean g-weight (R's tables A-G, run to convergence) and the total and SE of a variable the
    margins do not calibrate."""
    ks, designs = _kalton_designs()
    cells = ks.groupby(["a", "b"]).size()
    for case, des in designs.items():
        g = pd.Series(des.weights, index=ks.index).groupby([ks["a"], ks["b"]]).sum() / cells
        np.testing.assert_allclose(g.sort_index(level=["b", "a"]).to_numpy(),
                                   _more(more_ref, "kalton", case, "cell_ratio"), rtol=1e-8,
                                   err_msg=case)
        t = sk.total(des, "y")
        np.testing.assert_allclose(t["estimate"], _more(more_ref, "kalton", case, "total_y"),
                                   rtol=1e-8, err_msg=case)
        np.testing.assert_allclose(t["std_error"], _more(more_ref, "kalton", case,
                                                         "total_y_se"),
                                   rtol=1e-4, atol=1e-9, err_msg=case)
    # joint calibration = post-stratification; the truncated weights respect their bounds
    np.testing.assert_allclose(designs["calps"].weights, designs["ps"].weights, rtol=1e-10)
    g = designs["trunclinear"].weights
    assert g.min() >= 0.5 - 1e-9 and g.max() <= 2.2 + 1e-9 and g.max() > 2.2 - 1e-6


def test_toy_example_for_postStratify_R(more_ref):
    """toy_example_for_postStratify.R: post-stratifying the respondents of a JK1 replicate
    design (user-supplied replicate weights, rows scrambled) to the full sample's class
    totals keeps every replicate's column total; totals, SEs and weights as R."""
    toy = _more_data("toy")
    reps = [f"rep{i}" for i in range(1, 11)]
    d = sk.ReplicateDesign(toy, weights="weight", repweights=reps, type="JK1", scale=0.9)
    pop = sk.total(d, "dummy", by="class")[["class", "estimate"]]
    adjusted = sk.poststratify(d.subset(toy["responded"].to_numpy()), "class",
                               pop.rename(columns={"estimate": "Freq"}))
    script = "toy_example_for_postStratify"
    np.testing.assert_allclose(adjusted.replicate_weights.sum(axis=0),
                               d.replicate_weights.sum(axis=0), rtol=1e-12)
    np.testing.assert_allclose(adjusted.replicate_weights.sum(axis=0),
                               _more(more_ref, script, "adjusted", "repweight_colsums"),
                               rtol=1e-12)
    resp = toy["responded"].to_numpy()
    np.testing.assert_allclose(adjusted.weights[resp], _more(more_ref, script, "adjusted",
                                                             "weight"), rtol=1e-12)
    assert (adjusted.weights[~resp] == 0).all()
    t = sk.total(adjusted, "dummy", by="class")
    np.testing.assert_allclose(t["estimate"], _more(more_ref, script, "adjusted", "total"),
                               rtol=1e-12)
    np.testing.assert_allclose(t["std_error"], _more(more_ref, script, "adjusted",
                                                     "total_se"), atol=1e-9)
    m = sk.mean(adjusted, "id")
    np.testing.assert_allclose(m["estimate"], _more(more_ref, script, "adjusted", "mean_id"),
                               rtol=1e-12)
    np.testing.assert_allclose(m["std_error"], _more(more_ref, script, "adjusted",
                                                     "mean_id_se"), rtol=1e-10)


@pytest.fixture(scope="module")
def clus1_na(apiclus1):
    data = apiclus1.copy()
    rows = _more_data("svyby_bug_na_rows")["row"].to_numpy() - 1  # R's set.seed(123) draw
    data.loc[rows, "api99"] = np.nan
    return data, sk.SurveyDesign(data, weights="pw", psu="dnum", fpc="fpc")


def test_svyby_bug_R(clus1_na, more_ref):
    """svyby_bug.R: by-group means, totals, ratios and intercept-only glms with missing
    values, na.rm and covmat=TRUE: estimates, SEs and the joint covariance equal R 4.5's
    (4.1.1 fails with covmat) and the per-group subsets'. Keeping missing values is an error
    naming them here, where R returns NA for the groups that have them."""
    data, d = clus1_na
    with pytest.raises(EstimationError, match=r"5 missing value.*api99.*row 14"):
        sk.mean(d, "api99", by="stype", na_rm=False)
    keep_na = _more(more_ref, "svyby_bug", "by_keepna", "estimate")
    assert np.isnan(keep_na).tolist() == [True, False, True]  # R: NA where a group has one
    results = {
        "mean_covmat": sk.mean(d, "api99", by="stype", vcov=True),
        "total_covmat": sk.total(d, "api99", by="stype", vcov=True),
        "ratio_covmat": sk.ratio(d, "api99", "api00", by="stype", vcov=True),
    }
    for case, res in results.items():
        np.testing.assert_allclose(res["estimate"], _more(more_ref, "svyby_bug", case,
                                                          "estimate"), rtol=1e-10)
        np.testing.assert_allclose(res["std_error"], _more(more_ref, "svyby_bug", case, "se"),
                                   rtol=1e-10)
        np.testing.assert_allclose(res.attrs["vcov"].to_numpy().ravel(order="F"),
                                   _more(more_ref, "svyby_bug", case, "vcov"), rtol=1e-10)
        assert _failed_in_411(more_ref, "svyby_bug", case)
    np.testing.assert_allclose(keep_na[1], results["mean_covmat"]["estimate"].iloc[1])
    for i, s in enumerate("EHM"):
        dom = d.subset(data["stype"].eq(s).to_numpy())
        m = sk.mean(dom, "api99")
        np.testing.assert_allclose(m["estimate"].item(), _more(
            more_ref, "svyby_bug", "subset_narm", "estimate")[i], rtol=1e-12)
        np.testing.assert_allclose(m["std_error"].item(), _more(
            more_ref, "svyby_bug", "subset_narm", "se")[i], rtol=1e-10)
        fit = sk.glm(dom, "api99 ~ 1")
        np.testing.assert_allclose(fit.params.item(), _more(
            more_ref, "svyby_bug", "glm_covmat", "estimate")[i], rtol=1e-10)
        np.testing.assert_allclose(fit.std_errors.item(), _more(
            more_ref, "svyby_bug", "glm_covmat", "se")[i], rtol=1e-8)
    # R's by-group glm covariance is the by-group means' (intercept-only models)
    np.testing.assert_allclose(_more(more_ref, "svyby_bug", "glm_covmat", "vcov"),
                               results["mean_covmat"].attrs["vcov"].to_numpy().ravel("F"),
                               rtol=1e-10)


def test_svyby_strings_R(dclus1, more_ref):
    """svyby-strings.R: the shares of a character variable (11 counties) in each group of a
    character by-variable: 2 groups x 11 levels, every level in every group (zero shares
    included, as R's 2 x 23 table), estimates and SEs as R 4.5 (4.1.1: not 2 x 23)."""
    p = sk.proportion(dclus1, "cname", by="both")
    assert len(p) == 22 and p.groupby("both")["level"].nunique().tolist() == [11, 11]
    p = p.set_index(["level", "both"]).sort_index()  # R's order: county, then group
    np.testing.assert_allclose(p["estimate"], _more(more_ref, "svyby-strings",
                                                    "cname_by_both", "estimate"),
                               rtol=1e-10, atol=1e-15)
    np.testing.assert_allclose(p["std_error"], _more(more_ref, "svyby-strings",
                                                     "cname_by_both", "se"),
                               rtol=1e-8, atol=1e-15)
    assert (p["estimate"] == 0).sum() > 0  # counties absent from a group are shares of 0
    np.testing.assert_allclose(p.groupby(level="both")["estimate"].sum(), [1, 1], rtol=1e-12)
    assert _failed_in_411(more_ref, "svyby-strings", "cname_by_both")


def _fpc_designs() -> dict[str, Any]:
    f = _more_data("fpc")
    f = f.assign(prob=1 / f["weight"], frac=f["nh"] / f["Nh"], one=1,
                 sp=f["stratid"].astype(str) + "." + f["psuid"].astype(str))
    S = sk.SurveyDesign
    w, psu, st = f["weight"].to_numpy(), f["psuid"].to_numpy(), f["stratid"].to_numpy()
    return {
        # check.R, in its order
        "check01": S(f, weights="weight", psu="psuid", strata="stratid", nest=True),
        "check02": S(f, weights="weight", strata="stratid", nest=True),
        "check03": S(f, weights="one", strata="stratid", nest=True),
        "check04": S(f, strata="stratid", nest=True),
        "check05": S(f, probs="prob", strata="stratid", nest=True),
        "check06": S(f, psu="psuid", strata="stratid", nest=True),
        "check07": S(f, psu="psuid", nest=True),
        "check08": S(f, psu="psuid", weights="weight", nest=True),
        "check09": S(f, psu=["stratid", "psuid"], weights="weight"),
        "check10": S(f, psu=["stratid", "psuid"]),
        "check11": S(f, weights=w, psu=psu, strata=st, nest=True),
        "check12": S(f, weights=w, psu=psu, strata=st, nest=True),
        "check13": S(f, weights=w, psu=psu, fpc=np.full(len(f), 27.0)),
        "check14": S(f, weights=w, psu=psu, strata=st, nest=True, fpc=f["Nh"].to_numpy()),
        # example(fpc), in its order
        "fpc01": S(f, weights="weight", psu="psuid", strata="stratid", nest=True),
        "fpc02": S(f, weights="weight", psu="psuid", strata="stratid", fpc="Nh", nest=True),
        "fpc03": S(f, probs="prob", psu="psuid", strata="stratid", fpc="Nh", nest=True),
        "fpc04": S(f, weights="weight", psu="psuid", strata="stratid", fpc="frac",
                   nest=True),
        "fpc05": S(f, weights="weight", psu="sp", strata="stratid", fpc="frac"),
        "fpc06": S(f, psu="psuid", strata="stratid", fpc="Nh", nest=True),
        "fpc07": S(f, psu="psuid", strata="stratid", fpc="frac", nest=True),
    }


def test_check_and_fpc_R(more_ref):
    """check.R and fpc.R (example(fpc)): 21 ways of declaring designs on R's 8-row fpc data
    -- weights, probabilities or none; PSUs, strata, nesting, two stages; FPC as population
    sizes or sampling fractions, from columns or vectors -- give R's mean and SE of x."""
    designs = _fpc_designs()
    for case, des in designs.items():
        script = "check" if case.startswith("check") else "fpc"
        m = sk.mean(des, "x")
        np.testing.assert_allclose(m["estimate"], _more(more_ref, script, case, "estimate"),
                                   rtol=1e-10, err_msg=case)
        np.testing.assert_allclose(m["std_error"], _more(more_ref, script, case, "se"),
                                   rtol=1e-10, err_msg=case)
    # example(fpc): every way of giving the FPC is the same design (SE 0.616 vs 0.7413)
    se = {c: sk.mean(d, "x")["std_error"].item() for c, d in designs.items()}
    assert len({round(se[f"fpc0{i}"], 12) for i in range(2, 8)}) == 1
    assert se["fpc01"] > se["fpc02"] * 1.1


QS_R = [0.01, 0.1, 0.5, 0.9, 0.99]


@pytest.mark.parametrize("n", [1000, 20])
@pytest.mark.parametrize("kind", ["ddf", "rdf"])
@pytest.mark.parametrize("df", [None, float("inf")])
def test_quantile_R(more_ref, n, kind, df):
    """quantile.R on its own simulated data (R's set.seed(42) draws, written out): R's
    deprecated oldsvyquantile(ties="discrete") is svyquantile(qrule="hf4") on the design
    (n = 1000, checked in R) -- estimates, SEs and limits, on the SRS design and its JK1
    replicates, t or normal (df=Inf); the rounded variable with R's default, school and hf7
    rules (beta interval on the design, Woodruff on replicates), NaN limits where R's are."""
    data = _more_data(f"quantile_{n}")
    design = sk.SurveyDesign(data)
    d = design if kind == "ddf" else design.replicate("jk1")
    tag = f"n{n}_{kind}" + ("" if df is None else "_dfInf")

    def ref(q: str) -> np.ndarray:
        return _more(more_ref, "quantile", tag, q)

    x = sk.quantile(d, "x", QS_R, qrule="hf4", df=df)
    # below the smallest value's share of the weight (n = 20: q = 0.01), survey 4.5's hf4
    # extrapolates below the data (-0.0537 for positive values); surveykit gives the smallest
    # value, as R's oldsvyquantile (0.0535) -- a documented difference
    below = ref("x_hf4_estimate") < data["x"].min()
    assert below.sum() == (1 if n == 20 else 0)
    np.testing.assert_allclose(x["estimate"][below], data["x"].min(), rtol=1e-15)
    np.testing.assert_allclose(x["estimate"][below], ref("old_estimate")[below], rtol=1e-12)
    np.testing.assert_allclose(x["estimate"][~below], ref("x_hf4_estimate")[~below], rtol=1e-10)
    for ours, theirs in (("std_error", "x_hf4_se"), ("ci_low", "x_hf4_ci_low"),
                         ("ci_high", "x_hf4_ci_high")):
        np.testing.assert_allclose(x[ours][~below], ref(theirs)[~below], rtol=1e-8,
                                   equal_nan=True)
    # there R's interval is [-0.0805, -0.0805] (SE 0: no value is below its estimate); ours
    # starts at the smallest value, whose CDF interval passes 0, so the lower limit is NaN
    assert (ref("x_hf4_ci_high")[below] < data["x"].min()).all()
    assert x["ci_low"][below].isna().all() and (x["ci_high"][below] > data["x"].min()).all()
    if n == 1000 and kind == "ddf":
        np.testing.assert_allclose(ref("old_estimate"), ref("x_hf4_estimate"), rtol=1e-12)
        np.testing.assert_allclose(ref("old_se"), ref("x_hf4_se"), rtol=1e-10)
    for rule in ("math", "school", "hf7"):
        y = sk.quantile(d, "y", QS_R, qrule=rule, df=df, ci="beta" if kind == "ddf" else "mean")
        np.testing.assert_allclose(y["estimate"], ref(f"y_{rule}_estimate"), rtol=1e-10)
        np.testing.assert_allclose(y["std_error"], ref(f"y_{rule}_se"), rtol=1e-8,
                                   equal_nan=True, err_msg=rule)


@pytest.mark.parametrize("degf", [None, 4, 2])
def test_degf_svrepdesign_and_subset_R(more_ref, degf):
    """degf-svrepdesign.R and degf-subset.R: a replicate design's df is the rank of its
    replicate weights minus 1 (3 here; its subset 2) unless the user gives ``degf``, which a
    subset keeps (survey 4.5; 4.1.1 ignores degf=), with the t interval on it; a degf larger
    than the number of replicates warns, as R."""
    scd = _more_data("scd")
    rw = 2 * np.column_stack([[1, 0, 1, 0, 1, 0], [1, 0, 0, 1, 0, 1], [0, 1, 1, 0, 0, 1],
                              [0, 1, 0, 1, 1, 0]])
    d = sk.ReplicateDesign(scd.assign(w=1.0), weights="w", repweights=rw, type="BRR",
                           degf=degf)
    sub = d.subset(scd["arrests"].ge(200).to_numpy())
    tag = "default" if degf is None else f"degf{degf}"
    assert d.df == _more(more_ref, "degf", tag, "degf").item()
    assert sub.df == _more(more_ref, "degf", tag, "degf_subset").item()
    m = sk.mean(sub, "arrests", vcov=True)
    np.testing.assert_allclose(m["estimate"], _more(more_ref, "degf", tag, "subset_mean"))
    np.testing.assert_allclose(m["std_error"], _more(more_ref, "degf", tag, "subset_se"),
                               rtol=1e-12)
    c = sk.contrast(m, [1], df=sub.df)
    np.testing.assert_allclose(c[["ci_low", "ci_high"]].to_numpy().ravel(),
                               _more(more_ref, "degf", tag, "subset_ci"), rtol=1e-10)
    if degf == 4:  # 4.1.1 ignores the user's degf
        assert _more(more_ref, "degf", tag, "degf", version="4.1.1").item() == 3
    assert _more(more_ref, "degf", "degf10", "warned").item() == 1
    with pytest.warns(UserWarning, match=r"degf \(10\) is larger than the number of "
                                         r"replicates \(4\)"):
        sk.ReplicateDesign(scd.assign(w=1000.0), weights="w", repweights=rw, type="BRR",
                           degf=10)
    for bad in (1.5, 0, "three", float("nan")):
        with pytest.raises(sk.SurveyKitError, match="degf must be a positive whole number"):
            sk.ReplicateDesign(scd.assign(w=1.0), weights="w", repweights=rw, type="BRR",
                               degf=bad)
