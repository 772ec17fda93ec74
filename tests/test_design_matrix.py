"""Model frames (surveykit.models._design_matrix): formulaic encoding with patsy's names and
R's model.frame semantics (levels of excluded rows dropped, missing rows counted)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import patsy
import pytest

from surveykit.design import SurveyDesign
from surveykit.errors import ModelError
from surveykit.models import glm, ordinal
from surveykit.models._design_matrix import build_frame


@pytest.fixture(scope="module")
def survey() -> SurveyDesign:
    rng = np.random.default_rng(11)
    n = 400
    df = pd.DataFrame({
        "w": rng.uniform(0.5, 2.0, n),
        "age": rng.integers(1, 4, n),
        "edu": rng.integers(1, 5, n),
        "city": rng.choice(["Beijing", "Chengdu", "Xian"], n),
        "urban": rng.random(n) < 0.6,
        "trust": rng.integers(1, 6, n).astype(float),
        "avg.ed": rng.normal(size=n),
    })
    df["approval"] = np.clip(np.round(3 + 0.4 * (df.trust - 3) + rng.normal(size=n)), 1, 5)
    df["k"] = (rng.random(n) < 0.4).astype(int)
    return SurveyDesign(df, weights="w")


def test_matrix_equals_patsy_with_patsy_names(survey):
    """Same columns, names and numbers as patsy (the reference it replaced), in formula order."""
    rhs = "C(age) + urban + city + C(edu, Treatment(reference=4)) + trust + I(trust ** 2)"
    fr = build_frame(survey, "approval ~ " + rhs)
    ref = patsy.dmatrix(rhs, survey.data, return_type="dataframe")
    expected = ["Intercept", "C(age)[T.2]", "C(age)[T.3]", "urban[T.True]", "city[T.Chengdu]",
                "city[T.Xian]", "C(edu, Treatment(reference=4))[T.1]",
                "C(edu, Treatment(reference=4))[T.2]", "C(edu, Treatment(reference=4))[T.3]",
                "trust", "I(trust ** 2)"]
    assert fr.columns == expected
    np.testing.assert_array_equal(fr.X, ref[expected].to_numpy())


def test_dotted_names_and_factor_spelling(survey):
    fr = build_frame(survey, "approval ~ avg.ed + factor(age)")
    assert fr.columns == ["Intercept", "avg.ed", "C(age)[T.2]", "C(age)[T.3]"]
    np.testing.assert_array_equal(fr.X[:, 1], survey.data["avg.ed"].to_numpy())


def test_levels_only_in_excluded_rows_are_dropped_like_r(survey):
    """A city whose only respondents lack the covariate leaves the model (R's model.frame with
    drop.unused.levels), instead of an all-zero column; the exclusions are counted."""
    data = survey.data.copy()
    data.loc[data.city == "Xian", "trust"] = np.nan
    des = SurveyDesign(data, weights="w")
    res = glm(des, "k ~ city + trust", family="binomial")
    assert list(res.params.index) == ["Intercept", "city[T.Chengdu]", "trust"]
    assert res.n_missing == int((survey.data.city == "Xian").sum())
    complete = SurveyDesign(data[data.city != "Xian"].reset_index(drop=True), weights="w")
    np.testing.assert_allclose(res.params, glm(complete, "k ~ city + trust",
                                               family="binomial").params, rtol=1e-10)


def test_missing_outcome_and_covariates_counted_per_row(survey):
    data = survey.data.copy()
    data.loc[[0, 1], "approval"] = np.nan
    data.loc[[1, 2, 3], "edu"] = np.nan
    fr = build_frame(SurveyDesign(data, weights="w"), "approval ~ C(edu)")
    assert fr.n_missing == 4 and len(fr.rows) == len(data) - 4
    assert not fr.used[[0, 1, 2, 3]].any()
    # float-coded factor with NaN keeps patsy's float level labels
    assert fr.columns == ["Intercept", "C(edu)[T.2]", "C(edu)[T.3]", "C(edu)[T.4]"]


def test_prediction_matrix_and_unseen_levels(survey):
    res = ordinal(survey, "approval ~ C(age) + city + trust")
    new = pd.DataFrame({"age": [1, 3], "city": ["Xian", "Beijing"], "trust": [2.0, 5.0]})
    X = res.frame.model_matrix(new)
    np.testing.assert_array_equal(X, [[0, 0, 0, 1, 2], [0, 1, 0, 0, 5]])
    probs = res.predict(new, type="prob")
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    with pytest.raises(ModelError, match="not seen in the fit"):
        res.frame.model_matrix(new.assign(city=["Shanghai", "Xian"]))
    with pytest.raises(ModelError, match="null values"):
        res.frame.model_matrix(new.assign(trust=[np.nan, 1.0]))


def test_variables_for_marginal_effects(survey):
    fr = build_frame(survey, "approval ~ C(age) + trust + I(trust ** 2) + city")
    kinds = {v.name: (v.kind, v.categories) for v in fr.variables()}
    assert kinds == {"age": ("categorical", (1, 2, 3)), "trust": ("numeric", ()),
                     "city": ("categorical", ("Beijing", "Chengdu", "Xian"))}
