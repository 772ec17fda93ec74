"""The shared inference contract (surveykit.inference) against R's svycontrast."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from surveykit.errors import EstimationError, SurveyKitError
from surveykit.inference import Estimates, as_estimates, contrast
from surveykit.models import glm
from tests.conftest import R_FIXTURES

RTOL_EST, RTOL_SE = 1e-6, 1e-4


@pytest.fixture(scope="module")
def rref() -> pd.DataFrame:
    return pd.read_csv(R_FIXTURES / "estimators_results.csv", keep_default_na=False,
                       na_values=["", "NA"])


def r_rows(ref: pd.DataFrame, case: str, stat: str) -> pd.DataFrame:
    out = ref[(ref["case"] == case) & (ref["stat"] == stat)].reset_index(drop=True)
    assert len(out), f"no R reference for {case}/{stat}"
    return out


def r_vcov(ref: pd.DataFrame, case: str, names: list[str]) -> np.ndarray:
    rows = r_rows(ref, case, "vcov").set_index("name")["estimate"]
    return np.array([[rows[f"{a}|{b}"] for b in names] for a in names])


@pytest.fixture(scope="module")
def model(dstrat):
    return glm(dstrat, "api00 ~ ell + meals + stype")


def test_linear_contrasts_of_a_glm_match_r_svycontrast(model, rref):
    res = contrast(model, {"E-H": {"stype[T.H]": -1}, "ell-meals": {"ell": 1, "meals": -1},
                           "M-H": {"stype[T.M]": 1, "stype[T.H]": -1}})
    want = r_rows(rref, "glm_dstrat", "contrast")
    assert list(res["contrast"]) == list(want["name"])
    np.testing.assert_allclose(res["estimate"], want["estimate"], rtol=RTOL_EST)
    np.testing.assert_allclose(res["std_error"], want["se"], rtol=RTOL_SE)
    np.testing.assert_allclose(res["ci_low"], want["ci_low"], rtol=RTOL_SE)
    np.testing.assert_allclose(res["ci_high"], want["ci_high"], rtol=RTOL_SE)
    names = list(want["name"])
    np.testing.assert_allclose(res.attrs["vcov"].loc[names, names].to_numpy(),
                               r_vcov(rref, "glm_dstrat_contrast", names), rtol=RTOL_SE)


def test_nonlinear_contrast_numeric_and_analytic_gradient_match_r(model, rref):
    want = r_rows(rref, "glm_dstrat_nl", "contrast")
    num = contrast(model, lambda c: c["ell"] / c["meals"])
    ana = contrast(model, lambda c: c["ell"] / c["meals"],
                   gradient=lambda c: [0, 1 / c["meals"], -c["ell"] / c["meals"] ** 2, 0, 0])
    for res in (num, ana):
        np.testing.assert_allclose(res["estimate"], want["estimate"], rtol=RTOL_EST)
        np.testing.assert_allclose(res["std_error"], want["se"], rtol=RTOL_SE)
        np.testing.assert_allclose(res["ci_low"], want["ci_low"], rtol=RTOL_SE)


def test_weight_forms_agree(model):
    names = list(model.params.index)
    by_dict = contrast(model, [{"ell": 1, "meals": -1}, {"stype[T.H]": 2}])
    mat = np.zeros((2, len(names)))
    mat[0, names.index("ell")], mat[0, names.index("meals")] = 1, -1
    mat[1, names.index("stype[T.H]")] = 2
    by_mat = contrast(model, mat)
    by_frame = contrast(model, pd.DataFrame([[1, -1, 0], [0, 0, 2]],
                                            columns=["ell", "meals", "stype[T.H]"]))
    for other in (by_mat, by_frame):
        np.testing.assert_allclose(other["estimate"], by_dict["estimate"], rtol=1e-12)
        np.testing.assert_allclose(other["std_error"], by_dict["std_error"], rtol=1e-12)
    assert list(by_dict["contrast"]) == ["contrast1", "contrast2"]


def test_default_intervals_are_normal_and_df_gives_t(model):
    est = as_estimates(model)
    assert est.df == model.df_resid
    z = contrast(model, {"ell": 1})
    t = contrast(model, {"ell": 1}, df=est.df)
    se = float(z["std_error"].iloc[0])
    assert z["ci_high"].iloc[0] - z["estimate"].iloc[0] == pytest.approx(
        stats.norm.ppf(0.975) * se, rel=1e-12)
    assert t["ci_high"].iloc[0] - t["estimate"].iloc[0] == pytest.approx(
        stats.t.ppf(0.975, model.df_resid) * se, rel=1e-12)
    assert t["p_value"].iloc[0] > z["p_value"].iloc[0]
    # a model's own t intervals are Estimates.confint with its df
    np.testing.assert_allclose(est.confint(), model.tidy()[["ci_low", "ci_high"]].to_numpy(),
                               rtol=1e-10)


def test_contrast_of_a_contrast_chains_through_attrs(model):
    first = contrast(model, {"a": {"ell": 1}, "b": {"meals": 1}})
    second = contrast(first, {"a": 1, "b": -1})
    direct = contrast(model, {"ell": 1, "meals": -1})
    np.testing.assert_allclose(second["std_error"], direct["std_error"], rtol=1e-12)


def test_bad_inputs_raise_typed_one_line_errors(model):
    with pytest.raises(EstimationError, match="unknown parameter") as exc:
        contrast(model, {"West": 1})
    assert "West" in str(exc.value) and "\n" not in str(exc.value)
    with pytest.raises(EstimationError, match="columns"):
        contrast(model, np.ones(3))
    with pytest.raises(EstimationError, match="vcov=True"):
        as_estimates(pd.DataFrame({"estimate": [1.0]}))
    with pytest.raises(SurveyKitError):
        Estimates(["a", "a"], [1, 2], np.eye(2))
    with pytest.raises(SurveyKitError):
        Estimates(["a"], [1, 2], np.eye(2))
    with pytest.raises(EstimationError, match="cannot get"):
        as_estimates(3.0)


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 5).flatmap(lambda k: st.tuples(
    st.lists(st.floats(-10, 10), min_size=k, max_size=k),
    st.lists(st.floats(-3, 3), min_size=k * k, max_size=k * k),
    st.lists(st.floats(-5, 5), min_size=k, max_size=k))))
def test_linear_contrast_is_c_theta_and_c_v_ct(data):
    coef, a, c = data
    k = len(coef)
    a = np.asarray(a).reshape(k, k)
    v = a @ a.T
    est = Estimates([f"p{i}" for i in range(k)], np.asarray(coef), v, df=12)
    res = contrast(est, {f"p{i}": c[i] for i in range(k)})
    cv = np.asarray(c)
    assert res["estimate"].iloc[0] == pytest.approx(cv @ coef, abs=1e-9)
    assert res["std_error"].iloc[0] == pytest.approx(np.sqrt(max(cv @ v @ cv, 0)), abs=1e-7)
    ident = contrast(est, np.eye(k))
    np.testing.assert_allclose(ident.attrs["vcov"].to_numpy(), v, atol=1e-12)
    np.testing.assert_allclose(est.se(), np.sqrt(np.diag(v)), atol=1e-12)


def test_contrast_on_a_glm_matches_svycontrast_normal_quantiles(dclus1):
    """R: svycontrast(svyglm, ...) is an svystat; its confint uses normal quantiles (not the
    model's residual df). tests/r/fixtures_polish.R; confint(df = df.residual) is the t form."""
    ref = pd.read_csv(R_FIXTURES / "polish_svycontrast_glm.csv").set_index("contrast")
    m = glm(dclus1, "api00 ~ ell + meals + stype", tol=1e-12)
    got = contrast(m, {"ell_minus_meals": {"ell": 1, "meals": -1},
                       "H_minus_M": {"stype[T.H]": 1, "stype[T.M]": -1}}).set_index("contrast")
    r = ref.loc[got.index]
    np.testing.assert_allclose(got["estimate"], r["estimate"], rtol=RTOL_EST)
    np.testing.assert_allclose(got["std_error"], r["std_error"], rtol=RTOL_SE)
    np.testing.assert_allclose(got[["ci_low", "ci_high"]], r[["ci_low", "ci_high"]],
                               rtol=RTOL_SE)
    assert m.df_resid == r["df_resid"].iloc[0] == 10
    t = contrast(m, {"ell_minus_meals": {"ell": 1, "meals": -1}}, df=m.df_resid)
    np.testing.assert_allclose(t[["ci_low", "ci_high"]].to_numpy()[0],
                               r.loc["ell_minus_meals", ["ci_low_t", "ci_high_t"]].to_numpy(
                                   dtype=float), rtol=RTOL_SE)
    assert got.attrs["df"] == float("inf") and t.attrs["df"] == 10
