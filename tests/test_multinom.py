"""surveykit.multinom against R: nnet::multinom point estimates (reltol 1e-14, polished by Newton
steps in R as BFGS stops ~1e-5 short) with svyrecvar of
the score influence functions (linearisation, svy_vglm's recipe) and replicate-weight refits
(JK1), from tests/r/fixtures_multinom.R. Estimates 1e-6 relative, SEs 1e-4 relative."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from conftest import R_FIXTURES
from hypothesis import given, settings
from hypothesis import strategies as st

from surveykit import multinom
from surveykit.design import SurveyDesign
from surveykit.errors import ModelError
from surveykit.models import glm


def _fixture(name: str) -> pd.DataFrame:
    return pd.read_csv(R_FIXTURES / f"multinom_{name}.csv")


def _norm(term: str) -> str:
    """R's agecat(19,39] / (Intercept) and our agecat[T.(19,39]] / Intercept on one key."""
    t = term.replace("[T.", "").replace("(Intercept)", "Intercept")
    return re.sub(r"[\[\]]", "", t)


def _compare(name: str, res, *, estimates_only: bool = False) -> None:
    ref = _fixture(name)
    tidy = res.tidy()
    assert list(tidy["outcome"]) == [str(v) for v in ref["outcome"]]
    assert [_norm(t) for t in tidy["term"]] == [_norm(t) for t in ref["term"]]
    np.testing.assert_allclose(tidy["estimate"], ref["estimate"], rtol=1e-6, atol=1e-9)
    # nnet::multinom's own optimum (BFGS, reltol 1e-14) is the same maximum, short by <= 1e-5
    np.testing.assert_allclose(tidy["estimate"], ref["nnet_estimate"], rtol=1e-4, atol=1e-6)
    if not estimates_only:
        np.testing.assert_allclose(tidy["std_error"], ref["std_error"], rtol=1e-4)
    assert res.nobs == ref["n"].iloc[0]


def test_stratified_clustered_with_missing_covariate(dnh):
    res = multinom(dnh, "race ~ agecat + RIAGENDR + HI_CHOL")
    _compare("race_nhanes", res)
    assert res.n_missing == int(dnh.data["HI_CHOL"].isna().sum())
    assert res.df_resid == _fixture("race_nhanes")["design_df"].iloc[0] + 1 - 6


def test_cluster_sample_string_outcome(dclus1):
    res = multinom(dclus1, "stype ~ ell + meals + mobility")
    _compare("stype_apiclus1", res)
    assert res.outcome_levels == ["E", "H", "M"]
    assert res.params.index[:2].tolist() == ["Intercept[H]", "ell[H]"]


def test_domain(dclus1):
    dom = dclus1.subset(dclus1.data["both"] == "Yes")
    res = multinom(dom, "stype ~ ell + meals + mobility")
    _compare("stype_apiclus1_domain", res)
    assert res.df_resid == _fixture("stype_apiclus1_domain")["design_df"].iloc[0] + 1 - 4


def test_replicate_jk1(rclus1):
    _compare("jk1_stype_apiclus1", multinom(rclus1, "stype ~ ell + meals + mobility"))


def test_replicate_jk1_domain(rclus1):
    dom = rclus1.subset(rclus1.data["both"] == "Yes")
    _compare("jk1_stype_apiclus1_domain", multinom(dom, "stype ~ ell + meals + mobility"))


def test_two_levels_equal_weighted_logistic_regression(dclus1):
    """With two outcome levels the model is the logit glm: same coefficients and SEs."""
    res = multinom(dclus1, "sch.wide ~ ell + meals")
    lg = glm(dclus1, "sch.wide ~ ell + meals", family="binomial")
    np.testing.assert_allclose(res.params.to_numpy(), lg.params.to_numpy(), rtol=1e-8)
    np.testing.assert_allclose(res.std_errors.to_numpy(), lg.std_errors.to_numpy(), rtol=1e-6)


def test_base_level_reparametrises(dclus1):
    a = multinom(dclus1, "stype ~ ell + meals")
    b = multinom(dclus1, "stype ~ ell + meals", base="M")
    assert b.outcome_levels == ["M", "E", "H"]
    # log RR(H vs M) = beta_H - beta_M under base E
    np.testing.assert_allclose(b.params.filter(like="[H]").to_numpy(),
                               a.params.filter(like="[H]").to_numpy()
                               - a.params.filter(like="[M]").to_numpy(), rtol=1e-7)
    np.testing.assert_allclose(a.predict(type="prob")[["E", "H", "M"]],
                               b.predict(type="prob")[["E", "H", "M"]], atol=1e-10)
    with pytest.raises(ModelError, match="base is not a level"):
        multinom(dclus1, "stype ~ ell", base="X")


def test_predict_tidy_and_table(dclus1):
    res = multinom(dclus1, "stype ~ ell + meals + mobility")
    probs = res.predict(type="prob")
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    # the weighted mean fitted probability equals the weighted share (score equation, intercept)
    w = dclus1.weights[res.frame.rows]
    share = pd.Series(w).groupby(dclus1.data["stype"].to_numpy()[res.frame.rows]).sum() / w.sum()
    np.testing.assert_allclose(probs.to_numpy().T @ w / w.sum(), share.to_numpy(), atol=1e-9)
    new = pd.DataFrame({"ell": [10.0], "meals": [20.0], "mobility": [15.0]})
    link = res.predict(new, type="link")
    b = res.params
    np.testing.assert_allclose(link["H"].iloc[0], b["Intercept[H]"] + 10 * b["ell[H]"]
                               + 20 * b["meals[H]"] + 15 * b["mobility[H]"], rtol=1e-12)
    rrr = res.tidy(exponentiate=True)
    np.testing.assert_allclose(rrr["estimate"], np.exp(res.params.to_numpy()))
    assert rrr.attrs["vcov"].shape == (8, 8) and rrr.attrs["base"] == "E"
    table = res.to_markdown()
    assert "H vs E RRR" in table and "M vs E RRR" in table and "| N | 183 | 183 |" in table
    with pytest.raises(ModelError, match="not implemented"):
        res.marginal_effects()


def test_bad_inputs_are_typed(dclus1):
    data = dclus1.data.assign(y3=pd.Categorical(dclus1.data["stype"],
                                                categories=["E", "H", "M", "X"]))
    d = SurveyDesign(data, weights="pw", psu="dnum", fpc="fpc")
    with pytest.raises(ModelError, match="empty") as err:
        multinom(d, "y3 ~ ell")
    assert err.value.values == ["X"]
    with pytest.raises(ModelError, match="at least 2"):
        multinom(d.subset(data["stype"] == "E"), "stype ~ ell")
    with pytest.raises(ModelError, match="rank deficient"):
        multinom(d, "stype ~ ell + I(2 * ell)")
    sep = pd.DataFrame({"y": np.repeat([1, 2, 3], 20), "x": np.arange(60.0), "w": 1.0})
    with pytest.raises(ModelError, match="separation"):
        multinom(SurveyDesign(sep, weights="w"), "y ~ x")


@settings(max_examples=15, deadline=None)
@given(scale=st.floats(0.01, 100.0), seed=st.integers(0, 10_000))
def test_invariant_to_weight_scale_and_row_order(scale, seed):
    """Multiplying the weights by a constant, or permuting rows, changes nothing."""
    rng = np.random.default_rng(seed)
    n = 120
    df = pd.DataFrame({"x": rng.normal(size=n), "g": rng.integers(0, 2, n),
                       "w": rng.uniform(0.5, 2, n), "psu": np.arange(n) // 4})
    eta = np.column_stack([np.zeros(n), 0.5 + df.x, -0.3 * df.x + df.g])
    df["y"] = (np.exp(eta) / np.exp(eta).sum(1, keepdims=True)).cumsum(1).__gt__(
        rng.random(n)[:, None]).argmax(1)
    if np.bincount(df["y"], minlength=3).min() < 5:
        return
    a = multinom(SurveyDesign(df, weights="w", psu="psu"), "y ~ x + g")
    perm = df.sample(frac=1.0, random_state=seed).assign(w=lambda d: d.w * scale)
    b = multinom(SurveyDesign(perm, weights="w", psu="psu"), "y ~ x + g")
    np.testing.assert_allclose(a.params, b.params, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(a.std_errors, b.std_errors, rtol=1e-6)


def test_predicted_probabilities_with_se_match_r(dclus1):
    """Delta-method SEs of predicted probabilities (R: numerical gradient times the svyrecvar
    covariance)."""
    res = multinom(dclus1, "stype ~ ell + meals + mobility")
    new = pd.DataFrame({"ell": [10.0, 40.0], "meals": [20.0, 80.0], "mobility": [15.0, 5.0]})
    pred = res.predict(new, type="prob", se=True)
    ref = _fixture("stype_apiclus1_predict")
    assert list(pred["outcome"]) == list(ref["level"]) and list(pred["row"]) == list(ref["row"])
    np.testing.assert_allclose(pred["estimate"], ref["estimate"], rtol=1e-6)
    np.testing.assert_allclose(pred["std_error"], ref["std_error"], rtol=1e-4)
    np.testing.assert_allclose(pred["estimate"].to_numpy().reshape(2, 3).sum(axis=1), 1.0)
    assert pred.attrs["vcov"].shape == (6, 6)
    with pytest.raises(ModelError, match="probabilities"):
        res.predict(new, type="link", se=True)


def test_tidy_and_table_speak_the_value_labels(dclus1):
    """outcome_label / label columns as glm and ordinal tidy(): from the data's labels."""
    from surveykit import labels

    data = dclus1.data.copy()
    data["grade"] = data["stype"].map({"E": 1, "M": 2, "H": 3})
    data["big"] = (data["enroll"] > 500).astype(int)
    labels.attach(data, {"grade": {1: "Elementary", 2: "Middle", 3: "High"},
                         "big": {0: "small", 1: "large"}},
                  {"grade": "School type", "big": "Enrolment over 500"})
    d = SurveyDesign(data, weights="pw", psu="dnum", fpc="fpc")
    res = multinom(d, "grade ~ C(big) + ell")
    t = res.tidy()
    assert list(t.columns[:4]) == ["outcome", "outcome_label", "term", "label"]
    assert list(t["outcome"].unique()) == ["2", "3"]
    assert list(t["outcome_label"].unique()) == ["Middle", "High"]
    assert list(t["label"][:3]) == ["Intercept", "Enrolment over 500: large", "ell"]
    assert list(t["term"][:3]) == ["Intercept", "C(big)[T.1]", "ell"]
    assert t.attrs["base"] == "1" and t.attrs["base_label"] == "Elementary"
    # the publication table and the model description use them too
    table = res.to_markdown()
    assert "Middle vs Elementary RRR" in table
    # the factor under its variable label, its reference level shown
    assert "| Enrolment over 500 | | |\n| small (ref.) | — | — |\n| large |" in table
    assert "'Elementary'" in res.describe_model()
    html = res._repr_html_()
    assert "High" in html and "Enrolment over 500: large" in html
    # unlabelled data: the codes and formula names show
    plain = multinom(dclus1, "stype ~ ell").tidy()
    assert list(plain["outcome_label"]) == list(plain["outcome"])
    assert list(plain["label"]) == list(plain["term"])


def test_predictions_speak_the_value_labels(dclus1):
    """predict(type="prob"/"link") columns and predict(se=True) rows carry the outcome's value
    labels (codes kept in attrs["codes"] / the outcome column); the numbers are those of the
    same model fitted on the unlabelled codes."""
    from surveykit import contrast, labels

    data = dclus1.data.copy()
    data["grade"] = data["stype"].map({"E": 1, "M": 2, "H": 3})
    plain = multinom(SurveyDesign(data.copy(), weights="pw", psu="dnum", fpc="fpc"),
                     "grade ~ ell + meals")
    labels.attach(data, {"grade": {1: "Elementary", 2: "Middle", 3: "High"}})
    res = multinom(SurveyDesign(data, weights="pw", psu="dnum", fpc="fpc"), "grade ~ ell + meals")
    new = pd.DataFrame({"ell": [10.0, 40.0], "meals": [20.0, 80.0]})
    probs = res.predict(new, type="prob")
    assert list(probs.columns) == ["Elementary", "Middle", "High"]
    assert probs.attrs["codes"] == ["1", "2", "3"]
    unl = plain.predict(new, type="prob")
    assert list(unl.columns) == ["1", "2", "3"]
    np.testing.assert_allclose(probs.to_numpy(), unl.to_numpy(), rtol=1e-12)
    link = res.predict(new, type="link")
    assert list(link.columns) == ["Middle", "High"] and link.attrs["codes"] == ["2", "3"]
    np.testing.assert_allclose(link["High"], np.log(probs["High"] / probs["Elementary"]),
                               rtol=1e-10)
    pred = res.predict(new, type="prob", se=True)
    assert list(pred.columns[:3]) == ["row", "outcome", "outcome_label"]
    assert list(pred["outcome"]) == ["1", "2", "3"] * 2
    assert list(pred["outcome_label"]) == ["Elementary", "Middle", "High"] * 2
    np.testing.assert_allclose(pred["estimate"], probs.to_numpy().ravel(), rtol=1e-12)
    # parameter names read as the question; the difference is that of the two rows
    gap = contrast(pred, {"0:High": 1.0, "1:High": -1.0})
    assert gap["estimate"].iloc[0] == pytest.approx(probs["High"][0] - probs["High"][1],
                                                     rel=1e-10)
    assert pred.attrs["vcov"].names[:3] == ["0:Elementary", "0:Middle", "0:High"]
    # labels that repeat: the codes name the columns and parameters
    dup = data.copy()
    labels.attach(dup, {"grade": {1: "school", 2: "school", 3: "High"}})
    rdup = multinom(SurveyDesign(dup, weights="pw", psu="dnum", fpc="fpc"), "grade ~ ell")
    assert list(rdup.predict(new, type="prob").columns) == ["1", "2", "3"]
    assert rdup.predict(new, se=True).attrs["vcov"].names[:2] == ["0:1", "0:2"]


def test_ratio_column_is_rrr_in_every_table(dclus1):
    """Relative-risk ratios are headed "RRR" (as R/Stata users read them) in the notebook
    table, the report's model table and the Markdown/LaTeX publication tables alike; log
    relative risks keep the plain heading."""
    from surveykit.report.markdown import model_table

    res = multinom(dclus1, "stype ~ ell + meals")
    html = res._repr_html_()
    assert "<th>RRR</th>" in html and "exp(b)" not in html
    assert model_table(res, True)[0][1] == "RRR" and model_table(res, False)[0][1] == "b"
    assert "H vs E RRR" in res.to_latex() and "exp(b)" not in res.to_markdown()
    assert "H vs E Coef." in res.table(exponentiate=False)
    # other models keep their own ratio names in the same helper: a logit is headed OR
    data = dclus1.data.assign(high=(dclus1.data["stype"] == "H").astype(float))
    logit = glm(SurveyDesign(data, weights="pw", psu="dnum", fpc="fpc"), "high ~ ell",
                family="quasibinomial")
    assert "<th>OR</th>" in logit._repr_html_()
