"""crosstab(statistic=...) against R's svychisq, and proportion(ci="asin"/"likelihood") against
svyciprop
(issue 10 item 9). Fixtures: tests/r/fixtures_crosstab_ci.R."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import R_FIXTURES
from scipy import stats

from surveykit.design import SurveyDesign
from surveykit.errors import EstimationError
from surveykit.estimation import crosstab, proportion
from surveykit.estimation.quadform import chisqsum_sf, fsum_sf, imhof, saddle

TESTS = pd.read_csv(R_FIXTURES / "crosstab_tests.csv")
CIPROP = pd.read_csv(R_FIXTURES / "ciprop_methods.csv")
CIPROP = CIPROP[CIPROP["ci_low"].notna()]  # R gives NA for likelihood on replicate designs


@pytest.fixture(scope="module")
def designs(dstrat, dclus1, dnh):
    rclus1 = dclus1.replicate("jk1")
    return {
        "strat": dstrat,
        "clus1": dclus1,
        "clus1_domain": dclus1.subset(dclus1.data["enroll"] > 300),
        "jk1_clus1": rclus1,
        "jk1_clus1_domain": rclus1.subset(rclus1.data["enroll"] > 300),
        "nhanes": dnh,
    }


@pytest.mark.parametrize("i", range(len(TESTS)))
def test_crosstab_statistics_match_svychisq(designs, i):
    r = TESTS.iloc[i]
    t = crosstab(designs[r["design"]], r["row"], r["col"], statistic=r["statistic"]).test
    assert t["statistic"] == r["statistic"]
    assert t["value"] == pytest.approx(r["value"], rel=1e-6)
    assert t["p_value"] == pytest.approx(r["p_value"], rel=1e-4)
    for k in ("df1", "df2"):
        if pd.isna(r[k]):
            assert np.isnan(t[k])
        else:
            assert t[k] == pytest.approx(r[k], rel=1e-6)


def test_lincom_is_exact_where_the_answer_is_known(designs):
    # equal eigenvalues a: sum a chi2_1 = a chi2_k, and against chi2_ddf / ddf an F distribution
    a = np.full(3, 1.7)
    assert fsum_sf(9.0, a, 40.0, "integration") == pytest.approx(
        stats.f.sf(9.0 / (3 * 1.7), 3, 40), rel=1e-6)
    assert chisqsum_sf(9.0, a, "integration") == pytest.approx(stats.chi2.sf(9 / 1.7, 3),
                                                               rel=1e-6)
    # unequal eigenvalues: Imhof against a direct convolution of two scaled chi2_1 densities
    lam = np.array([2.0, 0.5])
    x = 4.0

    def direct(q: float) -> float:
        from scipy import integrate

        # u = t^2 removes the u^(-1/2) singularity of the chi2_1 density at 0
        f = integrate.quad(lambda t: stats.chi2.pdf(t * t / 2.0, 1) / 2.0 * 2 * t
                           * stats.chi2.sf((q - t * t) / 0.5, 1), 0, np.sqrt(q),
                           limit=200, epsabs=1e-13)[0]
        return f + stats.chi2.sf(q / 2.0, 1)

    assert imhof(x, lam, np.ones(2)) == pytest.approx(direct(x), rel=1e-6)
    # the saddlepoint approximation is close to the exact value (R's fallback for lincom)
    assert saddle(x, lam) == pytest.approx(direct(x), rel=0.05)
    # on a real design lincom and saddlepoint agree to a few per cent
    t1 = crosstab(designs["clus1"], "stype", "awards", statistic="lincom").test
    t2 = crosstab(designs["clus1"], "stype", "awards", statistic="saddlepoint").test
    assert t1["value"] == t2["value"]
    assert t1["p_value"] == pytest.approx(t2["p_value"], rel=0.1)


def test_crosstab_unknown_statistic(dclus1):
    with pytest.raises(EstimationError, match="unknown crosstab statistic"):
        crosstab(dclus1, "stype", "awards", statistic="G2")


@pytest.mark.parametrize("i", range(len(CIPROP)))
def test_proportion_ci_methods_match_svyciprop(designs, i):
    r = CIPROP.iloc[i]
    d = designs[r["design"]]
    res = proportion(d, r["variable"], ci=r["method"], level=float(r["level"]))
    yes = res[res["level"].isin(["Yes", 1, 1.0, True])]
    assert len(yes) == 1
    assert yes["estimate"].item() == pytest.approx(r["estimate"], rel=1e-6)
    assert yes["ci_low"].item() == pytest.approx(r["ci_low"], rel=1e-4)
    assert yes["ci_high"].item() == pytest.approx(r["ci_high"], rel=1e-4)


def test_likelihood_ci_on_a_replicate_design_is_refused(designs):
    with pytest.raises(EstimationError, match="linearisation"):
        proportion(designs["jk1_clus1"], "awards", ci="likelihood")


def test_asin_ci_at_the_edges_stays_in_the_unit_interval(apiclus1):
    data = apiclus1.assign(rare=(np.arange(len(apiclus1)) == 0).astype(int))
    d = SurveyDesign(data, weights="pw", psu="dnum")
    res = proportion(d, "rare", ci="asin").set_index("level")
    assert res.loc[1, "ci_low"] == 0.0  # clamped: R would give sin(negative)^2 > 0
    assert 0 < res.loc[1, "ci_high"] < 1
    assert res.loc[0, "ci_high"] == 1.0
