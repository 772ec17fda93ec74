"""surveykit.models against R (tests/r/fixtures_models2.R): every family and link converged to
the exact solution, offsets, predictions with SEs, AIC/BIC, Wald/LRT term tests, anova,
t-tests, rank tests and predictive margins, on stratified, clustered, calibrated and
replicate designs and on domains."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import with_mealcat

from surveykit.design import SurveyDesign
from surveykit.errors import ModelError
from surveykit.models import glm

R_FIXTURES = Path(__file__).parent / "fixtures" / "r"


def _fixture(name: str) -> pd.DataFrame:
    return pd.read_csv(R_FIXTURES / f"models2_{name}.csv", keep_default_na=False,
                       na_values=["", "NA"])


def _norm(term: str) -> str:
    """R and surveykit term names made comparable: factor(race)2 ~ C(race)[T.2]."""
    t = term.replace("factor(", "").replace("C(", "").replace("[T.", "")
    return re.sub(r"[^A-Za-z0-9.|:]", "", t).replace("Intercept", "(Intercept)")


@pytest.fixture(scope="module")
def cal_strat(dstrat, apipop):
    from surveykit.weighting import calibrate

    types = apipop["stype"].value_counts()
    totals = {"Intercept": len(apipop), "stype[T.H]": types["H"], "stype[T.M]": types["M"],
              "api99": float(apipop["api99"].sum())}
    return calibrate(dstrat, "~stype + api99", totals)


@pytest.fixture(scope="module")
def designs(dclus1, dstrat, dnh, rclus1, cal_strat):
    return {"dclus1": dclus1, "dstrat": dstrat, "dnh": dnh, "rclus1": rclus1,
            "cal_strat": cal_strat}


def design_of(designs, name: str, domain: str | float):
    d = designs[name]
    return d.subset(domain) if isinstance(domain, str) and domain else d


GLM_CASES = _fixture("glm_cases")


def fit_case(designs, case: str, **kw):
    cs = GLM_CASES.set_index("case").loc[case]
    d = design_of(designs, cs["design"], cs["domain"])
    return glm(d, cs["formula"], family=cs["family"], link=cs["link"], **kw)


# ------------------------------------------------------------------- issue 10 item 6: exact glm
@pytest.mark.parametrize("case", list(GLM_CASES["case"]))
def test_glm_every_family_and_link_matches_exact_r(designs, case):
    ref = _fixture("glm")
    ref = ref[ref["case"] == case]
    res = fit_case(designs, case)
    assert [_norm(t) for t in res.params.index] == [_norm(t) for t in ref["term"]]
    # R run with glm.control(epsilon = 1e-16): both sides are the exact solution
    np.testing.assert_allclose(res.params, ref["estimate"], rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(res.std_errors, ref["std_error"], rtol=1e-6)
    assert res.df_resid == ref["df_resid"].iloc[0]
    np.testing.assert_allclose(res.deviance(), ref["deviance"].iloc[0], rtol=1e-8)


def test_cloglog_on_calibrated_design_is_exact_not_r_default(designs):
    """The issue's case: R's default stopping rule stops short; we converge on the score."""
    res = fit_case(designs, "binomial_cloglog_calstrat")
    exact = _fixture("glm").query("case == 'binomial_cloglog_calstrat'")["estimate"].to_numpy()
    default = _fixture("cloglog_default_control")["estimate"].to_numpy()
    assert np.max(np.abs(default / exact - 1)) > 1e-7  # R's default is measurably short
    np.testing.assert_allclose(res.params, exact, rtol=1e-9)
    # the weighted score equations hold at our solution
    from surveykit.models.glm import LINKS, variance

    X, w = res.frame.X, res.design.weights[res.frame.rows]
    y = res.extra["y"]
    eta = X @ res.params.to_numpy()
    lk = LINKS["cloglog"]
    mu = lk.inverse(eta)
    score = X.T @ (w * (y - mu) * lk.mu_eta(eta) / variance("binomial", mu))
    assert np.max(np.abs(score)) < 1e-8 * np.sum(w)


def test_tol_and_maxiter_are_honoured(designs):
    with pytest.raises(Exception, match="did not converge in 2 iterations"):
        fit_case(designs, "binomial_cloglog_strat", maxiter=2)
    loose = fit_case(designs, "binomial_cloglog_strat", tol=1e-3)
    tight = fit_case(designs, "binomial_cloglog_strat")
    assert loose.iterations < tight.iterations
    with pytest.raises(ModelError, match="tol"):
        fit_case(designs, "binomial_cloglog_strat", tol=0)


def test_link_not_in_family_is_rejected(dstrat):
    with pytest.raises(ModelError, match="not available"):
        glm(dstrat, "api00 ~ ell", family="poisson", link="logit")
    with pytest.raises(ModelError, match="Gamma outcome must be positive"):
        glm(dstrat, "growth ~ ell", family="Gamma")


# ------------------------------------------------------------------------------------- offsets
def test_offset_column_equals_offset_term(dstrat):
    data = dstrat.data.assign(logenr=np.log(dstrat.data["enroll"]))
    d = SurveyDesign(data, weights="pw", strata="stype", fpc="fpc")
    a = glm(d, "emer ~ meals + offset(log(enroll))", family="poisson")
    b = glm(d, "emer ~ meals", family="poisson", offset="logenr")
    np.testing.assert_allclose(a.params, b.params, rtol=1e-12)
    np.testing.assert_allclose(a.vcov, b.vcov, rtol=1e-10)
    with pytest.raises(ModelError, match="offset"):
        glm(d, "emer ~ meals", family="poisson", offset="nosuch")


def test_missing_offset_is_an_error(dstrat):
    data = dstrat.data.copy()
    data.loc[data.index[:3], "enroll"] = np.nan
    d = SurveyDesign(data, weights="pw", strata="stype", fpc="fpc")
    with pytest.raises(ModelError, match="offset has missing or infinite values in 3 rows"):
        glm(d, "emer ~ meals + offset(log(enroll))", family="poisson")


# ------------------------------------------------------------- issue 10 item 7: ordinal CIs
def test_ordinal_tidy_uses_normal_quantiles_as_r_confint_default(dclus1):
    from surveykit.models import ordinal

    data = with_mealcat(dclus1.data)
    d = SurveyDesign(data, weights="pw", psu="dnum", fpc="fpc")
    res = ordinal(d, "mealcat ~ avg.ed + mobility + stype")
    t = res.tidy(conf_level=0.9)
    ref = _fixture("olr_confint")
    np.testing.assert_allclose(t["estimate"], ref["estimate"], rtol=1e-6)
    np.testing.assert_allclose(t["ci_low"], ref["ci_low"], rtol=1e-4)
    np.testing.assert_allclose(t["ci_high"], ref["ci_high"], rtol=1e-4)
    from scipy import stats

    np.testing.assert_allclose(t["p_value"], 2 * stats.norm.sf(np.abs(t["statistic"])))
    assert "normal" in res.summary()


# ------------------------------- predict(se=), AIC/BIC, wald_test, anova (R fixtures models2_tests)
# case: (design, domain, family, link, bigger formula, smaller formula, tested terms)
TEST_CASES = {
    "logit_clus1": ("dclus1", "", "quasibinomial", None, "sch.wide ~ ell + meals + stype",
                    "sch.wide ~ ell", ["meals", "stype"]),
    "logit_rclus1": ("rclus1", "", "quasibinomial", None, "sch.wide ~ ell + meals + stype",
                     "sch.wide ~ ell", ["meals", "stype"]),
    "logit_strat_domain": ("dstrat", "stype != 'H'", "quasibinomial", None,
                           "sch.wide ~ ell + meals + mobility", "sch.wide ~ ell",
                           ["meals", "mobility"]),
    "probit_nhanes": ("dnh", "", "quasibinomial", "probit",
                      "HI_CHOL ~ factor(race) + agecat + RIAGENDR", "HI_CHOL ~ RIAGENDR",
                      ["factor(race)", "agecat"]),
    "lm_clus1": ("dclus1", "", "gaussian", None, "api00 ~ ell + meals + stype", "api00 ~ ell",
                 ["meals", "stype"]),
    "lm_rclus1": ("rclus1", "", "gaussian", None, "api00 ~ ell + meals + stype", "api00 ~ ell",
                  ["meals", "stype"]),
    "lm_strat_domain": ("dstrat", "stype != 'H'", "gaussian", None,
                        "api00 ~ ell + meals + mobility", "api00 ~ ell", ["meals", "mobility"]),
    "poisson_offset_strat": ("dstrat", "", "poisson", None,
                             "emer ~ ell + meals + stype + offset(log(enroll))",
                             "emer ~ ell + offset(log(enroll))", ["meals", "stype"]),
    "gamma_cal_domain": ("cal_strat", "stype != 'E'", "Gamma", "log",
                         "api00 ~ ell + meals + mobility", "api00 ~ ell", ["meals", "mobility"]),
}


@pytest.fixture(scope="module")
def test_fits(designs):
    out = {}
    for case, (dname, domain, family, link, big, small, terms) in TEST_CASES.items():
        d = design_of(designs, dname, domain)
        out[case] = (glm(d, big, family=family, link=link), glm(d, small, family=family,
                                                                 link=link), terms)
    return out


def _ref(case: str, quantity: str) -> pd.Series:
    r = _fixture("tests")
    r = r[(r["case"] == case) & (r["quantity"] == quantity)]
    assert len(r), f"no R reference {case}/{quantity}"
    return pd.Series(r["value"].to_numpy(dtype=float), index=r["name"].astype(str).to_numpy())


@pytest.mark.parametrize("case", list(TEST_CASES))
def test_deviances_on_r_weight_scale(test_fits, case):
    big, small, _ = test_fits[case]
    np.testing.assert_allclose(big.deviance(), _ref(case, "deviance_big").iloc[0], rtol=1e-8)
    np.testing.assert_allclose(small.deviance(), _ref(case, "deviance_small").iloc[0],
                               rtol=1e-8)


@pytest.mark.parametrize("case", [c for c in TEST_CASES if c != "probit_nhanes"])
def test_predict_with_se_matches_predict_svyglm(test_fits, case):
    big = test_fits[case][0]
    new = pd.read_csv(R_FIXTURES / "models2_newdata.csv")
    for type_ in ("link", "response"):
        # R's predict.svyglm leaves the offset out; offset=False reproduces it
        got = big.predict(new, type=type_, se=True, offset=False)
        np.testing.assert_allclose(got["estimate"], _ref(case, f"predict_{type_}"), rtol=1e-6)
        np.testing.assert_allclose(got["std_error"], _ref(case, f"predict_{type_}_se"),
                                   rtol=1e-4)
        vc = got.attrs["vcov"].to_numpy()
        np.testing.assert_allclose(np.sqrt(np.diag(vc)), got["std_error"], rtol=1e-12)
    if big.extra["offset_exprs"]:  # ours includes the offset by default
        with_off = big.predict(new, type="link")
        np.testing.assert_allclose(with_off - np.log(new["enroll"]),
                                   _ref(case, "predict_link").to_numpy(), rtol=1e-6)


@pytest.mark.parametrize("case", list(TEST_CASES))
def test_aic_bic_match_r(test_fits, case):
    big, small, _ = test_fits[case]
    if case != "lm_rclus1":  # survey 4.1.1's AIC fails for a Gaussian svrepglm
        for model, q in ((big, "aic"), (small, "aic_small")):
            ref = _ref(case, q)
            got = model.aic()
            np.testing.assert_allclose(got.to_numpy(), ref[["eff.p", "AIC", "deltabar"]],
                                       rtol=1e-6)
    for model, q in ((small, "bic_small"), (big, "bic_big")):
        ref = _ref(case, q)
        got = model.bic(maximal=big)
        np.testing.assert_allclose(got[["p", "BIC"]], ref[["p", "BIC"]], rtol=1e-6)
        if np.isfinite(ref["neff"]):
            np.testing.assert_allclose(got["neff"], ref["neff"], rtol=1e-5)
        else:
            assert np.isnan(got["neff"])


def r_lrt_factor(model, method: str) -> float:
    """R's LRT statistic and eigenvalues are on weights / mean over the design's rows; ours on
    weights / mean over the fitted (complete, in-domain) rows. Their ratio (1 without missing
    rows or calibrated domains); the p-values are the same (README, documented differences)."""
    from surveykit.models.wald import working_scale

    return model.extra["weight_scale"] / working_scale(model) if method == "LRT" else 1.0


@pytest.mark.parametrize("case", list(TEST_CASES))
def test_wald_test_matches_regtermtest(test_fits, case):
    from surveykit.models.wald import wald_test

    big, _, terms = test_fits[case]
    if case in ("probit_nhanes", "gamma_cal_domain"):  # missing outcomes / calibrated domain
        assert abs(r_lrt_factor(big, "LRT") - 1) > 1e-3
    for method in ("Wald", "LRT"):
        f = r_lrt_factor(big, method)
        for ddf in ("default", "Inf"):
            ref = _ref(case, f"regtermtest_{method}_{ddf}")
            got = wald_test(big, terms, method=method,
                            df=None if ddf == "default" else float("inf")).iloc[0]
            np.testing.assert_allclose(got["statistic"], ref["statistic"] * f, rtol=1e-6)
            np.testing.assert_allclose(got["p_value"], ref["p"], rtol=1e-4)
            assert got["df"] == ref["df"] and got["ddf"] == ref["ddf"]
            if method == "LRT":
                np.testing.assert_allclose(
                    wald_test(big, terms, method="LRT").attrs["lambdas"],
                    _ref(case, f"regtermtest_{method}_{ddf}_lambda") * f, rtol=1e-6)
        one = wald_test(big, terms[0], method=method).iloc[0]
        ref = _ref(case, f"regtermtest1_{method}")
        np.testing.assert_allclose(one["statistic"], ref["statistic"] * f, rtol=1e-6)
        np.testing.assert_allclose(one["p_value"], ref["p"], rtol=1e-4)


@pytest.mark.parametrize("case", list(TEST_CASES))
def test_anova_matches_anova_svyglm(test_fits, case):
    from surveykit.models.wald import anova

    big, small, _ = test_fits[case]
    for method in ("LRT", "Wald"):
        for test in ("F", "Chisq"):
            ref = _ref(case, f"anova_{method}_{test}")
            got = anova(small, big, method=method, test=test).iloc[0]
            np.testing.assert_allclose(got["statistic"],
                                       ref["statistic"] * r_lrt_factor(big, method), rtol=1e-6)
            np.testing.assert_allclose(got["p_value"], ref["p"], rtol=1e-4)
    # order of the arguments does not matter
    a = anova(big, small)
    b = anova(small, big)
    pd.testing.assert_frame_equal(a, b)


@pytest.fixture(scope="module")
def olr(dclus1):
    from surveykit.models import ordinal

    data = with_mealcat(dclus1.data)
    d = SurveyDesign(data, weights="pw", psu="dnum", fpc="fpc")
    return ordinal(d, "mealcat ~ avg.ed + mobility + stype")


def test_ordinal_category_probabilities_with_se(olr):
    new = pd.DataFrame({"avg.ed": [2.5, 3.5], "mobility": [10.0, 20.0], "stype": ["E", "H"]})
    got = olr.predict(new, type="prob", se=True)
    ref = _fixture("olr_predict")
    assert list(got["row"]) == [0] * 4 + [1] * 4
    np.testing.assert_allclose(got["estimate"], ref["estimate"], rtol=1e-6)
    np.testing.assert_allclose(got["std_error"], ref["std_error"], rtol=1e-4)
    # the joint covariance of a row's probabilities is singular (they sum to one)
    vc = got.attrs["vcov"].to_numpy()[:4, :4]
    np.testing.assert_allclose(vc.sum(axis=0), 0, atol=1e-12)
    with pytest.raises(ModelError, match="type='prob'"):
        olr.predict(new, type="response", se=True)


def test_ordinal_wald_test_matches_regtermtest(olr):
    from surveykit.models.wald import wald_test

    ref = _fixture("olr_regtermtest").set_index("test")
    got = wald_test(olr, "stype").iloc[0]
    np.testing.assert_allclose(got["statistic"], ref.loc["stype_F", "statistic"], rtol=1e-5)
    np.testing.assert_allclose(got["p_value"], ref.loc["stype_F", "p"], rtol=1e-4)
    assert got["ddf"] == ref.loc["stype_F", "ddf"] == olr.df_resid
    got = wald_test(olr, ["avg.ed", "C(stype)"], df=float("inf")).iloc[0]
    np.testing.assert_allclose(got["statistic"], ref.loc["avg.ed+stype_chisq", "statistic"],
                               rtol=1e-5)
    np.testing.assert_allclose(got["p_value"], ref.loc["avg.ed+stype_chisq", "p"], rtol=1e-4)
    with pytest.raises(ModelError, match="not in the model") as err:
        wald_test(olr, "education")
    assert "stype" in err.value.values


def test_term_spellings(test_fits):
    from surveykit.models.wald import wald_test

    big = test_fits["probit_nhanes"][0]
    a = wald_test(big, "factor(race)")
    b = wald_test(big, "C(race)")
    c = wald_test(big, "race")
    assert a["statistic"].iloc[0] == b["statistic"].iloc[0] == c["statistic"].iloc[0]
    assert a["df"].iloc[0] == 3  # race has four levels


# --------------------------------------------------------- ttest, ranktest, margins (R htests)
def _href(case: str, quantity: str) -> pd.Series:
    r = _fixture("htests")
    r = r[(r["case"] == case) & (r["quantity"] == quantity)]
    assert len(r), f"no R reference {case}/{quantity}"
    return pd.Series(r["value"].to_numpy(dtype=float), index=r["name"].astype(str).to_numpy())


TTEST_CASES = {  # case: (design, domain, variable, group)
    "ttest_clus1": ("dclus1", "", "api00", "comp.imp"),
    "ttest_rclus1": ("rclus1", "", "api00", "comp.imp"),
    "ttest_strat_domain": ("dstrat", "stype != 'H'", "api00", "sch.wide"),
    "ttest_nhanes": ("dnh", "", "HI_CHOL", "RIAGENDR"),
    "ttest1_clus1": ("dclus1", "", "growth", None),
    "ttest1_rclus1": ("rclus1", "", "growth", None),
}


@pytest.mark.parametrize("case", list(TTEST_CASES))
def test_ttest_matches_svyttest(designs, case):
    from surveykit.models.ttest import ttest

    dname, domain, var, group = TTEST_CASES[case]
    got = ttest(design_of(designs, dname, domain), var, group).iloc[0]
    ref = _href(case, "ttest")
    np.testing.assert_allclose(got[["estimate", "statistic"]].astype(float),
                               ref[["estimate", "statistic"]], rtol=1e-6)
    assert got["df"] == ref["df"]
    np.testing.assert_allclose(got[["p_value", "ci_low", "ci_high"]].astype(float),
                               ref[["p", "ci_low", "ci_high"]], rtol=1e-4)


RANK_CASES = {  # case: (design, domain, variable, group)
    "rank_clus1": ("dclus1", "", "enroll", "comp.imp"),
    "rank_rclus1": ("rclus1", "", "enroll", "comp.imp"),
    "rank_strat_domain": ("dstrat", "stype != 'H'", "enroll", "sch.wide"),
    "krank_clus1": ("dclus1", "", "enroll", "stype"),
    "krank_strat_domain": ("dstrat", "`sch.wide` == 'Yes'", "enroll", "stype"),
}


@pytest.mark.parametrize("case", list(RANK_CASES))
@pytest.mark.parametrize("test", ["wilcoxon", "vanderWaerden", "median", "KruskalWallis"])
def test_ranktest_matches_svyranktest(designs, case, test):
    from surveykit.models.ttest import ranktest

    dname, domain, var, group = RANK_CASES[case]
    got = ranktest(design_of(designs, dname, domain), var, group, test=test).iloc[0]
    ref = _href(case, f"rank_{test}")
    if case.startswith("krank"):
        np.testing.assert_allclose(got["statistic"], ref["chisq"], rtol=1e-6)
        assert (got["df"], got["ddf"]) == (ref["ndf"], ref["ddf"])
    else:
        np.testing.assert_allclose(got[["estimate", "statistic"]].astype(float),
                                   ref[["estimate", "statistic"]], rtol=1e-6)
        assert got["df"] == ref["df"]
    np.testing.assert_allclose(got["p_value"], ref["p"], rtol=1e-4)


def test_ranktest_k_groups_on_replicate_design(designs):
    """R's multiranktest fails on replicate designs; ours uses the replicate totals of the
    same influence functions, which must equal a direct replicate computation."""
    from surveykit.models.ttest import ranktest

    got = ranktest(designs["rclus1"], "enroll", "stype").iloc[0]
    lin = ranktest(designs["dclus1"], "enroll", "stype").iloc[0]
    assert got["df"] == 2 and np.isfinite(got["p_value"])
    # same rank scores, so the statistic differs only through the variance (JK1 vs sandwich)
    assert 0.5 < got["statistic"] / lin["statistic"] < 2


PM_CASES = {  # case: (design, domain, family, formula, by, at, by-term for the at= model)
    "pm_lm_clus1": ("dclus1", "", "gaussian", "api00 ~ ell + meals", "stype", {"meals": 50},
                    "stype"),
    "pm_logit_clus1": ("dclus1", "", "quasibinomial", "sch.wide ~ ell + meals", "stype",
                       {"meals": 50}, "stype"),
    "pm_logit_rclus1": ("rclus1", "", "quasibinomial", "sch.wide ~ ell + meals", "stype",
                        {"meals": 50}, "stype"),
    "pm_poisson_strat_domain": ("dstrat", "`sch.wide` == 'Yes'", "poisson", "emer ~ ell + meals",
                                "stype", {"ell": 20}, "stype"),
    "pm_logit_nhanes": ("dnh", "", "quasibinomial", "HI_CHOL ~ agecat + RIAGENDR", "C(race)",
                        {"RIAGENDR": 2}, "factor(race)"),
}


@pytest.mark.parametrize("case", list(PM_CASES))
def test_margins_match_svypredmeans(designs, case):
    from surveykit.models.margins import margins

    dname, domain, family, formula, by, at, term = PM_CASES[case]
    d = design_of(designs, dname, domain)
    model = glm(d, formula, family=family)
    got = margins(model, by=by)
    np.testing.assert_allclose(got["estimate"], _href(case, "predmeans"), rtol=1e-6)
    np.testing.assert_allclose(got["std_error"], _href(case, "predmeans_se"), rtol=1e-4)
    assert [str(v) for v in got.iloc[:, 0]] == list(_href(case, "predmeans").index)
    # the by variable already in the model: the same margins without a refit
    with_by = glm(d, f"{formula} + {term}", family=family)
    again = margins(with_by, by=by)
    np.testing.assert_allclose(again["estimate"], got["estimate"], rtol=1e-9)
    at_ref = _href(case, "at_margin")
    one = margins(with_by, at=at).iloc[0]
    np.testing.assert_allclose(one["estimate"], at_ref["estimate"], rtol=1e-6)
    np.testing.assert_allclose(one["std_error"], at_ref["std_error"], rtol=1e-4)


def test_margins_contrast_through_as_estimates(designs):
    from surveykit.inference import as_estimates, contrast
    from surveykit.models.margins import margins

    m = margins(glm(designs["dclus1"], "sch.wide ~ ell + meals", family="binomial"), by="stype")
    est = as_estimates(m)
    assert est.names == ["E", "H", "M"]
    diff = contrast(m, {"H": 1, "E": -1})
    V = m.attrs["vcov"].to_numpy()
    np.testing.assert_allclose(diff["estimate"].iloc[0],
                               m["estimate"].iloc[1] - m["estimate"].iloc[0], rtol=1e-12)
    np.testing.assert_allclose(diff["std_error"].iloc[0],
                               np.sqrt(V[0, 0] + V[1, 1] - 2 * V[0, 1]), rtol=1e-10)


def test_model_result_as_estimates(designs):
    from surveykit.inference import as_estimates

    res = glm(designs["dclus1"], "api00 ~ ell + meals")
    est = as_estimates(res)
    assert est.names == list(res.params.index)
    np.testing.assert_allclose(est.se(), res.std_errors, rtol=1e-12)
    assert est.df == res.df_resid


def test_pchisqsum_public_signature_matches_r():
    from surveykit.distributions import pchisqsum, pFsum

    ref = _ref("logit_clus1", "regtermtest_LRT_Inf_lambda").to_numpy()
    x = _ref("logit_clus1", "regtermtest_LRT_Inf")["statistic"]
    p = _ref("logit_clus1", "regtermtest_LRT_Inf")["p"]
    np.testing.assert_allclose(pchisqsum(x, 1, ref, lower_tail=False), [p], rtol=1e-4)
    np.testing.assert_allclose(pchisqsum(x, 1, ref), [1 - p], rtol=1e-6)
    p10 = _ref("logit_clus1", "regtermtest_LRT_default")["p"]
    np.testing.assert_allclose(pFsum(x, np.ones(3), ref, 10, lower_tail=False), p10, rtol=1e-4)


def test_offset_as_values(dstrat):
    a = glm(dstrat, "emer ~ meals + offset(log(enroll))", family="poisson")
    b = glm(dstrat, "emer ~ meals", family="poisson",
            offset=np.log(dstrat.data["enroll"].to_numpy()))
    np.testing.assert_allclose(a.params, b.params, rtol=1e-12)
    with pytest.raises(ModelError, match="one per row"):
        glm(dstrat, "emer ~ meals", family="poisson", offset=np.zeros(3))


@pytest.mark.parametrize("case", ["logit_clus1", "lm_rclus1", "logit_strat_domain",
                                  "probit_nhanes", "poisson_offset_strat"])
def test_sequential_anova_matches_r(test_fits, case):
    from surveykit.models.wald import anova

    big = test_fits[case][0]
    for method in ("LRT", "Wald"):
        ref = _ref(case, f"seqanova_{method}").to_numpy()
        got = anova(big, method=method)
        assert len(got) == len(ref) // 2
        np.testing.assert_allclose(got["statistic"], ref[0::2] * r_lrt_factor(big, method),
                                   rtol=1e-6)
        np.testing.assert_allclose(got["p_value"], ref[1::2], rtol=1e-4)


def test_ordinal_predictions_speak_the_outcomes_value_labels():
    """Category probabilities of a labelled outcome: columns (and se=True rows) carry the value
    labels, the codes stay available; contrast reads the labels."""
    import surveykit as sk

    df = sk.load_replica()
    d = sk.SurveyDesign(df, weights="weight")
    m = sk.ordinal(d, "approval ~ C(age_group) + C(gender)")
    vl = df.attrs["value_labels"]["approval"]
    probs = m.predict(df.head(3), type="prob")
    assert probs.attrs["codes"] == [1, 2, 3, 4, 5]
    assert list(probs.columns) == [sk.labels.pretty(vl[c]) for c in range(1, 6)]
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-12)
    se = m.predict(df.head(3), type="prob", se=True)
    assert se["level"].tolist()[:5] == [1, 2, 3, 4, 5]
    assert se["level_label"].tolist()[:5] == list(probs.columns)
    np.testing.assert_allclose(se["estimate"].to_numpy()[:5], probs.iloc[0].to_numpy(),
                               rtol=1e-12)
    top, below = f"0:{probs.columns[4]}", f"0:{probs.columns[3]}"
    diff = sk.contrast(se, {top: 1, below: -1})
    assert diff["estimate"].iloc[0] == pytest.approx(probs.iloc[0, 4] - probs.iloc[0, 3],
                                                     rel=1e-12)
    resp = m.predict(df.head(3), type="response")
    assert set(resp) <= {1, 2, 3, 4, 5}
