"""Models on replicate designs carry their replicate estimates (issue 25): the twin of R
survey 4.5's ``tests/svycontrast.R`` (svyglm on the JK1 version of the two-stage apiclus2
design, ``svycontrast`` with and without ``return.replicates=TRUE``), extended with nonlinear
contrasts -- whose SE from the replicates differs from the delta method's -- a logit model on a
domain of a stratified JKn design and an ordinal model on JK1.

R fixtures: ``tests/r/fixtures_rtests_models.R`` (outputs ``rtests_models_<version>.csv``,
survey 4.1.1 and 4.5; the same numbers where both compute them -- 4.1.1 fails on every linear
``svycontrast`` of a replicate-design svyglm, the bug R's test was written for).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from conftest import R_FIXTURES, r_jk1_design, with_mealcat

import surveykit as sk
from surveykit.errors import EstimationError


def _ref(version: str = "4.5") -> pd.DataFrame:
    return pd.read_csv(R_FIXTURES / f"rtests_models_{version}.csv")


def _rv(case: str, quantity: str, version: str = "4.5") -> np.ndarray:
    ref = _ref(version)
    got = ref[(ref["case"] == case) & (ref["quantity"] == quantity)]["value"]
    assert len(got), f"no R fixture value {case}/{quantity}"
    return got.to_numpy(float)


#: confint(method="likelihood") cases: (design, formula); all quasibinomial
CI_CASES = {
    "clus2_compimp": ("clus2", "compimp ~ 1"),            # R's confintrep.R, linearisation
    "jk1_clus2_compimp": ("jk1_clus2", "compimp ~ 1"),    # R's confintrep.R, replicates
    "jk1_clus1_schwide": ("jk1_clus1", "sch.wide ~ ell + meals"),
    "jkn_strat_domain_logit": ("jkn_strat_domain", "sch.wide ~ ell + meals + mobility"),
}


def _square(values: np.ndarray) -> np.ndarray:
    k = math.isqrt(values.size)
    return values.reshape(k, k)


@pytest.fixture(scope="module")
def rclus2(apiclus2):
    """as.svrepdesign(svydesign(id=~dnum+snum, weights=~pw, data=apiclus2)): JK1 over dnum."""
    return sk.SurveyDesign(apiclus2, psu=["dnum", "snum"], weights="pw").replicate("jk1")


@pytest.fixture(scope="module")
def model(rclus2):
    return sk.glm(rclus2, "api00 ~ ell + meals + mobility", tol=1e-12)


def test_both_r_versions_agree_where_both_compute():
    old, new = _ref("4.1.1"), _ref("4.5")
    by_old = old.groupby(["case", "quantity"])["value"].apply(list)
    by_new = new.groupby(["case", "quantity"])["value"].apply(list)
    shared = [k for k in by_new.index if k in by_old.index and "works" not in k[1]]
    assert len(shared) >= 30
    for k in shared:
        np.testing.assert_allclose(by_old[k], by_new[k], rtol=1e-12, err_msg=str(k))
    # 4.1.1 cannot take a linear svycontrast of a replicate-design svyglm (R's test fails)
    assert _rv("jk1_clus2", "linear_works", "4.1.1").tolist() == [0.0]
    assert _rv("jk1_clus2", "linear_works", "4.5").tolist() == [1.0]
    assert ("jk1_clus2", "ell") not in by_old.index
    # nor profile a replicate-design svyglm (NA limits), nor confint a withReplicates result
    for case in CI_CASES:
        works = 1.0 if case == "clus2_compimp" else 0.0
        for level in ("0.95", "0.9"):
            assert _rv(case, f"likelihood_works_{level}", "4.1.1").tolist() == [works]
            assert _rv(case, f"likelihood_works_{level}", "4.5").tolist() == [1.0]
    assert _rv("jk1_clus2_compimp", "with_replicates_ci_works", "4.1.1").tolist() == [0.0]


# ----------------------------------------------------------------- svycontrast.R
def test_svycontrast_model_on_jk1_clus2(rclus2, model):
    """R's test: svyglm on rclus2, svycontrast(model, c(ell=1, meals=0)) and c(0,1,0,0), with
    and without return.replicates; surveykit's model always carries its replicates."""
    case = "jk1_clus2"
    assert rclus2.n_replicates == 40
    np.testing.assert_allclose(rclus2.scale, _rv(case, "scale")[0], rtol=1e-12)
    np.testing.assert_allclose(model.params, _rv(case, "coef"), rtol=1e-6)
    np.testing.assert_allclose(model.std_errors, _rv(case, "coef_se"), rtol=1e-4)
    assert model.df_resid == _rv(case, "df_resid")[0] == 36
    # the replicate estimates: R's return.replicates=TRUE, replicate by replicate
    reps = model.replicates.values
    assert reps.shape == (40, 4)
    np.testing.assert_allclose(reps, _rv(case, "replicates").reshape(40, 4), rtol=1e-6)
    est = sk.as_estimates(model)
    assert est.replicates is model.replicates or np.array_equal(est.replicates.values, reps)
    for weights in ({"ell": 1, "meals": 0}, [0, 1, 0, 0]):
        for method in ("auto", "delta", "replicates"):
            c = sk.contrast(model, weights, method=method)
            np.testing.assert_allclose(c["estimate"], _rv(case, "ell"), rtol=1e-6)
            np.testing.assert_allclose(c["std_error"], _rv(case, "ell_se"), rtol=1e-4)
            np.testing.assert_allclose(c["std_error"], _rv(case, "ell_return_replicates_se"),
                                       rtol=1e-4)
        # the contrast's replicates (R: a2$replicates, tcrossprod(replicates, contrast))
        got = sk.as_estimates(sk.contrast(model, weights)).replicates.values[:, 0]
        np.testing.assert_allclose(got, _rv(case, "ell_contrast_replicates"), rtol=1e-6)


def test_svycontrast_nonlinear_replicates_and_delta(model):
    """ell/meals: R's svycontrast of the svyglm with return.replicates=TRUE evaluates the ratio
    on every replicate (SE 1.7393); without replicates it takes the delta method (1.8207).
    surveykit's default on a replicate design is the replicates."""
    case = "jk1_clus2"

    def ratio(c):
        return c["ell"] / c["meals"]

    auto = sk.contrast(model, ratio)
    rep = sk.contrast(model, ratio, method="replicates")
    delta = sk.contrast(model, ratio, method="delta")
    for res in (auto, rep, delta):
        np.testing.assert_allclose(res["estimate"], _rv(case, "ratio_ell_meals"), rtol=1e-6)
    np.testing.assert_allclose(auto["std_error"], _rv(case, "ratio_ell_meals_se_replicates"),
                               rtol=1e-4)
    np.testing.assert_allclose(rep["std_error"], auto["std_error"], rtol=1e-12)
    np.testing.assert_allclose(delta["std_error"], _rv(case, "ratio_ell_meals_se_delta"),
                               rtol=1e-4)
    assert abs(delta["std_error"].item() / auto["std_error"].item() - 1) > 0.04
    # the contrast's replicates are the ratio of every replicate's coefficients
    reps = model.replicates.values
    np.testing.assert_allclose(sk.as_estimates(auto).replicates.values[:, 0],
                               reps[:, 1] / reps[:, 2], rtol=1e-12)
    # two at once: the joint covariance, replicates and delta
    two = sk.contrast(model, lambda c: [c["ell"] / c["meals"], c["ell"] * c["mobility"]])
    np.testing.assert_allclose(two["estimate"], _rv(case, "two"), rtol=1e-6)
    np.testing.assert_allclose(sk.as_estimates(two).vcov,
                               _square(_rv(case, "two_vcov_replicates")), rtol=1e-4)
    two_d = sk.contrast(model, lambda c: [c["ell"] / c["meals"], c["ell"] * c["mobility"]],
                        method="delta")
    np.testing.assert_allclose(sk.as_estimates(two_d).vcov,
                               _square(_rv(case, "two_vcov_delta")), rtol=1e-4)


# ----------------------------------------------------------------- a logit on a JKn domain
def test_logit_on_a_jkn_domain(apistrat):
    """sch.wide ~ ell + meals + mobility (quasibinomial) on subset(as.svrepdesign(dstrat,
    type="JKn"), api99 < 750): the odds ratio of 10 points of meals and the probability at a
    covariate profile, from the replicates (R: return.replicates=TRUE) and the delta method."""
    case = "jkn_strat_domain_logit"
    rstrat = sk.SurveyDesign(apistrat, weights="pw", strata="stype",
                             fpc="fpc").replicate("jkn")
    dom = rstrat.subset(apistrat["api99"] < 750)
    m = sk.glm(dom, "sch.wide ~ ell + meals + mobility", family="quasibinomial", tol=1e-12)
    np.testing.assert_allclose(m.params, _rv(case, "coef"), rtol=1e-6)
    np.testing.assert_allclose(m.std_errors, _rv(case, "coef_se"), rtol=1e-4)
    assert m.df_resid == _rv(case, "df_resid")[0]
    R = dom.n_replicates
    np.testing.assert_allclose(m.replicates.values, _rv(case, "replicates").reshape(R, 4),
                               rtol=1e-6)

    def nl(c):
        eta = c["Intercept"] + 20 * c["ell"] + 50 * c["meals"] + 10 * c["mobility"]
        return [np.exp(10 * c["meals"]), 1 / (1 + np.exp(-eta))]

    auto, delta = sk.contrast(m, nl), sk.contrast(m, nl, method="delta")
    for res in (auto, delta):
        np.testing.assert_allclose(res["estimate"], _rv(case, "nonlinear"), rtol=1e-6)
    np.testing.assert_allclose(sk.as_estimates(auto).vcov,
                               _square(_rv(case, "nonlinear_vcov_replicates")), rtol=1e-4)
    np.testing.assert_allclose(sk.as_estimates(delta).vcov,
                               _square(_rv(case, "nonlinear_vcov_delta")), rtol=1e-4)
    lin = sk.contrast(m, {"ell": 1, "meals": -1})
    np.testing.assert_allclose(lin["estimate"], _rv(case, "ell_minus_meals"), rtol=1e-6)
    np.testing.assert_allclose(lin["std_error"], _rv(case, "ell_minus_meals_se"), rtol=1e-4)
    # predictions carry the replicates (R's predict.svrepglm of a fit with replicates): the
    # ratio of two predicted probabilities, from the replicates and by the delta method
    nd = pd.DataFrame({"ell": [10, 40], "meals": [20, 80], "mobility": [5, 20]},
                      index=["1", "2"])
    pred = m.predict(nd, se=True)
    np.testing.assert_allclose(pred["estimate"], _rv(case, "predict"), rtol=1e-6)
    np.testing.assert_allclose(sk.as_estimates(pred).vcov, _square(_rv(case, "predict_vcov")),
                               rtol=1e-4)
    np.testing.assert_allclose(sk.as_estimates(pred).replicates.values,
                               _rv(case, "predict_replicates").reshape(R, 2), rtol=1e-6)
    auto = sk.contrast(pred, lambda p: p["1"] / p["2"])
    delta = sk.contrast(pred, lambda p: p["1"] / p["2"], method="delta")
    np.testing.assert_allclose(auto["estimate"], _rv(case, "predict_ratio"), rtol=1e-6)
    np.testing.assert_allclose(auto["std_error"], _rv(case, "predict_ratio_se_replicates"),
                               rtol=1e-4)
    np.testing.assert_allclose(delta["std_error"], _rv(case, "predict_ratio_se_delta"),
                               rtol=1e-4)
    # the link scale: the replicates are X b_r; with an ordinal model there are none
    link = sk.as_estimates(m.predict(nd, type="link", se=True)).replicates.values
    np.testing.assert_allclose(link, m.replicates.values @ np.array(
        [[1, 10, 20, 5], [1, 40, 80, 20]], float).T, rtol=1e-12)


# ----------------------------------------------------------------- an ordinal model on JK1
def test_ordinal_on_jk1_carries_replicates(apiclus1):
    """svyolr(mealcat ~ avg.ed + mobility + stype) on JK1 apiclus1 with return.replicates=TRUE
    (refits converged). R's svycontrast.svyolr always takes the delta method; the replicate
    reference is svrVar of the function on every replicate, as R does for svrepglm. Here the
    two differ by a factor of 2.5 in variance (exp(avg.ed))."""
    case = "jk1_clus1_olr"
    d = r_jk1_design(with_mealcat(apiclus1))
    m = sk.ordinal(d, "mealcat ~ avg.ed + mobility + stype")
    np.testing.assert_allclose(m.params, _rv(case, "coef"), rtol=1e-6)
    np.testing.assert_allclose(m.std_errors, _rv(case, "coef_se"), rtol=1e-4)
    k = len(m.params)
    np.testing.assert_allclose(m.replicates.values,
                               _rv(case, "replicates").reshape(d.n_replicates, k),
                               rtol=1e-6, atol=1e-9)

    def nl(c):
        return [np.exp(c["avg.ed"]),
                1 / (1 + np.exp(-(c["(0,25]|(25,50]"] - 3 * c["avg.ed"]
                                  - 15 * c["mobility"])))]

    auto, delta = sk.contrast(m, nl), sk.contrast(m, nl, method="delta")
    for res in (auto, delta):
        np.testing.assert_allclose(res["estimate"], _rv(case, "nonlinear"), rtol=1e-6)
    np.testing.assert_allclose(sk.as_estimates(auto).vcov,
                               _square(_rv(case, "nonlinear_vcov_replicates")), rtol=1e-4)
    np.testing.assert_allclose(sk.as_estimates(delta).vcov,
                               _square(_rv(case, "nonlinear_vcov_delta")), rtol=1e-4)
    probs = m.predict(d.data.head(2), type="prob", se=True)
    assert sk.as_estimates(probs).replicates is None  # R's svyolr predicts without them


# ----------------------------------------------------------------- behaviour
def test_linearisation_models_have_no_replicates(apiclus2, model):
    d = sk.SurveyDesign(apiclus2, psu=["dnum", "snum"], weights="pw")
    m = sk.glm(d, "api00 ~ ell + meals + mobility")
    assert m.replicates is None and sk.as_estimates(m).replicates is None
    with pytest.raises(EstimationError, match="needs replicate estimates"):
        sk.contrast(m, lambda c: c["ell"] / c["meals"], method="replicates")
    # the same coefficients on the replicate design: identical point estimates
    np.testing.assert_allclose(m.params, model.params, rtol=1e-10)


def test_every_model_family_carries_its_replicates(rclus2, apiclus2):
    """glm, ordinal, multinom and negbin fitted on a replicate design keep one row of estimates
    per replicate, in params order; their covariance is the design's replicate covariance of
    them (the model's vcov), so a linear contrast has the same SE either way."""
    data = apiclus2.assign(stype3=apiclus2["stype"], count=np.round(apiclus2["enroll"] / 20))
    d = sk.SurveyDesign(data, psu=["dnum", "snum"], weights="pw").replicate("jk1")
    fits = {"multinom": sk.multinom(d, "stype3 ~ ell"),
            "negbin": sk.negbin(d, "count ~ ell + meals"),
            "glm": sk.glm(d, "api00 ~ ell + meals + mobility")}
    for name, m in fits.items():
        reps = m.replicates.values
        assert reps.shape == (d.n_replicates, len(m.params)), name
        v = d.replicate_vcov(m.params.to_numpy(), reps)
        np.testing.assert_allclose(v, m.vcov.to_numpy(), rtol=1e-10, err_msg=name)
        w = np.zeros(len(m.params))
        w[-1], w[0] = 1.0, -0.5
        a = sk.contrast(m, w, method="replicates")
        b = sk.contrast(m, w, method="delta")
        np.testing.assert_allclose(a["std_error"], b["std_error"], rtol=1e-10, err_msg=name)
    # multinom's tidy frame carries them too (its attrs["vcov"] is over params)
    mn = fits["multinom"]
    np.testing.assert_array_equal(sk.as_estimates(mn.tidy()).replicates.values,
                                  mn.replicates.values)
    # negbin: log(alpha) is not a parameter of params; its replicates stay in extra
    nb = fits["negbin"]
    assert nb.extra["full_replicates"].values.shape == (d.n_replicates, len(nb.params) + 1)


def test_domain_model_replicates_are_the_domain_refits(rclus2, apiclus2):
    """A model on a domain of a replicate design refits on the domain's replicate weights: a
    replicate that deletes a district without domain schools only rescales the domain's
    weights, so its estimates are the full-sample domain estimates; the others differ."""
    keep = (apiclus2["stype"] == "E").to_numpy()
    dom = sk.glm(rclus2.subset(keep), "api00 ~ ell + meals + mobility", tol=1e-12)
    W = rclus2.replicate_weights
    untouched = np.array([np.all(W[keep, r] > 0) for r in range(W.shape[1])])
    assert 0 < untouched.sum() < len(untouched)
    reps = dom.replicates.values
    np.testing.assert_allclose(reps[untouched], np.tile(dom.params, (untouched.sum(), 1)),
                               rtol=1e-8)
    assert np.all(np.abs(reps[~untouched] - dom.params.to_numpy()).max(axis=1) > 1e-6)


# ----------------------------------------------------------------- confintrep.R
@pytest.fixture(scope="module")
def ci_designs(apiclus1, apiclus2, apistrat):
    c2 = apiclus2.assign(compimp=apiclus2["comp.imp"].eq("Yes").astype(int))
    clus2 = sk.SurveyDesign(c2, psu=["dnum", "snum"], fpc=["fpc1", "fpc2"])
    with pytest.warns(UserWarning, match="finite population corrections"):
        jk1_clus2 = clus2.replicate("jk1")  # R's as.svrepdesign drops them too
    jkn = sk.SurveyDesign(apistrat, weights="pw", strata="stype", fpc="fpc").replicate("jkn")
    return {"clus2": clus2, "jk1_clus2": jk1_clus2, "jk1_clus1": r_jk1_design(apiclus1),
            "jkn_strat_domain": jkn.subset(apistrat["api99"] < 750)}


@pytest.mark.parametrize("case", list(CI_CASES))
def test_confintrep_profile_likelihood(ci_designs, case):
    """confint(svyglm, method="likelihood") on replicate designs (R 4.5; 4.1.1 gives NA):
    MASS's profile with the replicate SE as the step and the level rescaled by the replicate
    design effect; the dispersion is summary.svrepglm's. Wald limits: t on df.residual."""
    design, formula = CI_CASES[case]
    fit = sk.glm(ci_designs[design], formula, family="quasibinomial", tol=1e-12)
    assert fit.design.is_replicate == (case != "clus2_compimp")
    np.testing.assert_allclose(fit.params, _rv(case, "ci_coef"), rtol=1e-6)
    np.testing.assert_allclose(fit.std_errors, _rv(case, "ci_coef_se"), rtol=1e-4)
    wald = _rv(case, "ci_wald").reshape(-1, 2)
    got = fit.confint()
    np.testing.assert_allclose(got[["ci_low", "ci_high"]].to_numpy(), wald, rtol=1e-4)
    for level in (0.95, 0.9):
        want = _rv(case, f"ci_likelihood_{level}").reshape(-1, 2)
        got = fit.confint(level, method="likelihood")
        assert list(got["term"]) == list(fit.params.index)
        np.testing.assert_allclose(got[["ci_low", "ci_high"]].to_numpy(), want, rtol=1e-6,
                                   atol=1e-9)
        # not the Wald limits: the profile is asymmetric about the estimate
        assert not np.allclose(got[["ci_low", "ci_high"]].to_numpy(),
                               fit.confint(level)[["ci_low", "ci_high"]].to_numpy(),
                               rtol=1e-3)


def test_confintrep_with_replicates(ci_designs):
    """R's test's withReplicates: a total of meals and its log, with normal-quantile CIs."""
    r = sk.with_replicates(ci_designs["jk1_clus2"], lambda w, data: [
        np.sum(data["meals"] * w), np.log(np.sum(data["meals"] * w))])
    case = "jk1_clus2_compimp"
    np.testing.assert_allclose(r["estimate"], _rv(case, "with_replicates"), rtol=1e-6)
    np.testing.assert_allclose(r["std_error"], _rv(case, "with_replicates_se"), rtol=1e-4)
    np.testing.assert_allclose(r[["ci_low", "ci_high"]].to_numpy(),
                               _rv(case, "with_replicates_ci").reshape(2, 2), rtol=1e-4)


def test_profile_refuses_when_the_rescaled_level_leaves_nothing(ci_designs):
    """A gaussian svyglm: its naive variance has no dispersion, so the design effect is ~1e4
    and the rescaled level ~0 -- R fails inside the profile ("NA/NaN/Inf in 'y'"); surveykit
    says why, in one typed line."""
    fit = sk.glm(ci_designs["jk1_clus1"], "api00 ~ ell + meals")
    with pytest.raises(sk.SurveyKitError, match="no profile interval for Intercept"):
        fit.confint(method="likelihood")
