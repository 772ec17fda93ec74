"""sk.margins(ordinal_fit, by=) (issue 20 item 6): predicted probability of every response
category per group with svypredmeans' design-based variance and the joint covariance, against
R (svyolr run to convergence + svypredmeans' computation on the category probabilities,
tests/r/fixtures_ordinal_margins.R) on a clustered design, its JK1 replicate design and a
domain, and with a by variable added to the model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import surveykit as sk
from surveykit.design import SurveyDesign
from tests.conftest import R_FIXTURES, r_jk1_design, with_mealcat

EST_RTOL, SE_RTOL = 1e-6, 1e-4
FORMULA = "mealcat ~ avg.ed + mobility + stype"


@pytest.fixture(scope="module")
def designs(apiclus1) -> dict[str, sk.SurveyDesign]:
    data = with_mealcat(apiclus1)
    clus1 = SurveyDesign(data, weights="pw", psu="dnum", fpc="fpc")
    return {"clus1": clus1, "jk1_clus1": r_jk1_design(data),
            "clus1_domain": clus1.subset(data["enroll"].gt(300).to_numpy()),
            "clus1_added": clus1}


@pytest.fixture(scope="module")
def ref() -> pd.DataFrame:
    return pd.read_csv(R_FIXTURES / "ordinal_margins.csv")


@pytest.mark.parametrize("case, formula, by", [
    ("clus1", FORMULA, "stype"), ("jk1_clus1", FORMULA, "stype"),
    ("clus1_domain", FORMULA, "stype"), ("clus1_added", FORMULA, "C(sch.wide)")])
def test_ordinal_margins_match_r(designs, ref, case, formula, by):
    want = ref[ref["case"] == case].reset_index(drop=True)
    fit = sk.ordinal(designs[case], formula)
    m = sk.margins(fit, by=by)
    col = by.removeprefix("C(").removesuffix(")")
    assert list(m[col].astype(str)) == list(want["group"].astype(str))
    np.testing.assert_allclose(m["estimate"], want["estimate"], rtol=EST_RTOL)
    np.testing.assert_allclose(m["std_error"], want["se"], rtol=SE_RTOL)
    v = m.attrs["vcov"].to_numpy()
    np.testing.assert_allclose(v[0], want["cov_first"], rtol=SE_RTOL, atol=1e-10)


def test_ordinal_margins_shape_labels_and_contrast():
    df = sk.load_replica()
    d = sk.SurveyDesign(df, weights="weight")
    fit = sk.ordinal(d, "approval ~ C(age_group) + fairness + trust_central")
    m = sk.margins(fit, by="C(age_group)")
    assert len(m) == 3 * 5
    assert list(m["age_group_label"].unique()) == ["14–30", "31–50", "51–65"]
    assert list(m["level_label"][:5]) == ["strongly disapprove", "somewhat disapprove",
                                          "neither approve nor disapprove", "somewhat approve",
                                          "strongly approve"]
    np.testing.assert_allclose(m.groupby("age_group")["estimate"].sum(), 1.0, rtol=1e-12)
    # the margin is the weighted mean of the predicted probabilities with age_group set
    new = fit.frame.data.copy()
    new["age_group"] = 3
    probs = fit.predict(new, type="prob").to_numpy()
    w = d.weights[fit.frame.rows]
    np.testing.assert_allclose(m["estimate"].to_numpy()[10:], w @ probs / w.sum(), rtol=1e-12)
    names = m.attrs["vcov"].names
    assert names[4] == "14–30:strongly approve" and names[14] == "51–65:strongly approve"
    c = sk.contrast(m, {"51–65:strongly approve": 1, "14–30:strongly approve": -1})
    assert float(c["estimate"].iloc[0]) == pytest.approx(m["estimate"].iloc[14]
                                                         - m["estimate"].iloc[4], rel=1e-12)
    v = m.attrs["vcov"].to_numpy()
    se = np.sqrt(v[14, 14] + v[4, 4] - 2 * v[4, 14])
    assert float(c["std_error"].iloc[0]) == pytest.approx(se, rel=1e-10)
    assert sk.provenance.is_synthetic(m)
