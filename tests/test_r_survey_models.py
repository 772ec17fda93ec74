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
    shared = [k for k in by_new.index if k in by_old.index and k[1] != "linear_works"]
    assert len(shared) >= 20
    for k in shared:
        assert by_old[k] == by_new[k], k
    # 4.1.1 cannot take a linear svycontrast of a replicate-design svyglm (R's test fails)
    assert _rv("jk1_clus2", "linear_works", "4.1.1").tolist() == [0.0]
    assert _rv("jk1_clus2", "linear_works", "4.5").tolist() == [1.0]
    assert ("jk1_clus2", "ell") not in by_old.index


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
