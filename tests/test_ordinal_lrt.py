"""Working likelihood-ratio term tests of ordinal models against R's
``regTermTest(svyolr, method = "LRT")`` (tests/r/fixtures_polish.R).

R 4.1.1 reports the svyolr deviance on weights divided by their mean but keeps the Hessian
(``V0``) on the raw weights, so its lambdas are mean(weight) x the design effects and its
p-value is right only when the weights average 1. We compare with R on the same designs with
weights / mean(weight) ("mean1"), and check that R's lambdas on the given weights are exactly
that multiple of ours. Estimates 1e-6 relative; lambdas and p-values 1e-4."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import R_FIXTURES, with_mealcat

from surveykit import SurveyDesign, negbin, ordinal, wald_test
from surveykit.errors import ModelError
from surveykit.models.infocrit import aic, bic


@pytest.fixture(scope="module")
def ref() -> pd.DataFrame:
    return pd.read_csv(R_FIXTURES / "polish_svyolr_lrt.csv")


@pytest.fixture(scope="module")
def designs(apiclus1, apistrat):
    return {"clus1": SurveyDesign(with_mealcat(apiclus1), weights="pw", psu="dnum", fpc="fpc"),
            "strat": SurveyDesign(with_mealcat(apistrat), weights="pw", strata="stype",
                                  fpc="fpc")}


CASES = [("clus1_logit_stype", "clus1", "logit", "stype"),
         ("clus1_probit_mobility", "clus1", "probit", "mobility"),
         ("strat_logit_stype", "strat", "logit", "stype")]


@pytest.mark.parametrize(("case", "design", "link", "term"), CASES)
def test_ordinal_lrt_matches_regtermtest(ref, designs, case, design, link, term):
    fit = ordinal(designs[design], "mealcat ~ avg.ed + mobility + stype", link=link)
    got = wald_test(fit, term, method="LRT")
    r = ref[(ref["case"] == case) & (ref["weights"] == "mean1")].iloc[0]
    lam = got.attrs["lambdas"]
    assert got["df"].item() == r["df"] and got["ddf"].item() == r["ddf"] == fit.df_resid
    np.testing.assert_allclose(got["statistic"].item(), r["chisq"], rtol=1e-6)
    r_lam = r[["lambda1", "lambda2"]].to_numpy(dtype=float)[: r["df"]]
    np.testing.assert_allclose(lam, r_lam, rtol=1e-4)
    np.testing.assert_allclose(got["p_value"].item(), r["p_value"], rtol=1e-4)
    # R on the given weights: the same 2logLR, lambdas scaled by the mean weight
    given = ref[(ref["case"] == case) & (ref["weights"] == "given")].iloc[0]
    np.testing.assert_allclose(given["chisq"], r["chisq"], rtol=1e-6)
    w = designs[design].weights[fit.frame.rows]
    np.testing.assert_allclose(given[["lambda1", "lambda2"]].to_numpy(float)[: r["df"]] / lam,
                               w.mean(), rtol=1e-4)


def test_ordinal_lrt_does_not_depend_on_the_weight_scale(apiclus1):
    data = with_mealcat(apiclus1)
    a = ordinal(SurveyDesign(data, weights="pw", psu="dnum", fpc="fpc"),
                "mealcat ~ avg.ed + stype")
    b = ordinal(SurveyDesign(data.assign(pw=data["pw"] * 7.5), weights="pw", psu="dnum",
                             fpc="fpc"), "mealcat ~ avg.ed + stype")
    ta, tb = wald_test(a, "stype", method="LRT"), wald_test(b, "stype", method="LRT")
    np.testing.assert_allclose(ta[["statistic", "p_value"]], tb[["statistic", "p_value"]],
                               rtol=1e-7)
    # a term the outcome ignores gives a small statistic; the LRT agrees with the Wald test
    # in direction (both reject or both do not at 5 %) on this strong term
    wald = wald_test(a, "avg.ed")["p_value"].item()
    lrt = wald_test(a, "avg.ed", method="LRT")["p_value"].item()
    assert (wald < 0.05) == (lrt < 0.05)


def test_what_r_does_not_have_says_what_to_use(designs, apiclus1):
    fit = ordinal(designs["clus1"], "mealcat ~ avg.ed + stype")
    with pytest.raises(ModelError, match="no AIC") as err:
        aic(fit)
    assert "method='LRT'" in err.value.hint
    with pytest.raises(ModelError, match="no BIC"):
        bic(fit)
    nb = negbin(SurveyDesign(apiclus1, weights="pw", psu="dnum", fpc="fpc"),
                "enroll ~ ell + stype")
    with pytest.raises(ModelError, match="not available for negbin") as err:
        wald_test(nb, "stype", method="LRT")
    assert "Wald" in err.value.hint
    with pytest.raises(ModelError, match="no AIC") as err:
        aic(nb)
    assert "wald_test" in err.value.hint


def test_sequential_anova_of_an_ordinal_model_names_the_alternative(designs):
    fit = ordinal(designs["clus1"], "mealcat ~ avg.ed + stype")
    from surveykit import anova

    with pytest.raises(ModelError, match="R survey has none for ordinal") as err:
        anova(fit)
    assert "method='LRT'" in err.value.hint
