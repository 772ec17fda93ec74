"""surveykit twins of R ``survey``'s own regression tests (the ``tests/`` folder of survey 4.5).

Each test below is named after the R script it ports and checks what that script checks, on
the same data, with surveykit's API -- plus the numbers, from R fixtures
(``tests/r/fixtures_rtests_*.R``, outputs ``tests/fixtures/r/rtests_*``).
``docs/r_survey_tests.md`` lists every script of R's folder as in scope (ported here) or out
of scope (with the reason).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import R_FIXTURES, with_mealcat

import surveykit as sk
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
