"""sk.experiment against R survey (svyglm / svycontrast / regTermTest;
tests/r/fixtures_experiments.R) on a stratified cluster design (NHANES), R's JK1
replicate design (apiclus1) and a domain of apistrat; estimatr's lm_lin and
difference_in_means point estimates; bad input; invariants."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import surveykit as sk
from surveykit.errors import SurveyKitError
from tests.conftest import R_FIXTURES, r_jk1_design, read_r_data


@pytest.fixture(scope="module")
def ref() -> pd.DataFrame:
    return pd.read_csv(R_FIXTURES / "experiments_survey.csv", dtype={"name": str})


@pytest.fixture(scope="module")
def dnh():
    nh = read_r_data("nhanes")
    return sk.SurveyDesign(nh, weights="WTMEC2YR", strata="SDMVSTRA", psu="SDMVPSU", nest=True)


@pytest.fixture(scope="module")
def rclus1():
    return r_jk1_design(read_r_data("apiclus1"))


@pytest.fixture(scope="module")
def dstrat_domain():
    d = sk.SurveyDesign(read_r_data("apistrat"), weights="pw", strata="stype", fpc="fpc")
    return d.subset(d.data["api99"] > 600)


def names_of(res: pd.DataFrame, by: str | None = None) -> list[str]:
    arms = res["arm"].astype(str)
    return list(arms if by is None else res[by].astype(str) + ":" + arms)


def check(res: pd.DataFrame, ref: pd.DataFrame, case: str, by: str | None = None) -> None:
    r = ref[ref["case"] == case].set_index("name")
    got = res.assign(name=names_of(res, by)).set_index("name").loc[r.index]
    np.testing.assert_allclose(got["estimate"], r["estimate"], rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(got["std_error"], r["std_error"], rtol=1e-4)
    np.testing.assert_allclose(got["df"], r["df"])
    np.testing.assert_allclose(got["p_value"], r["p_value"], rtol=1e-4)


def check_test(res: pd.DataFrame, ref: pd.DataFrame, case: str) -> None:
    r = ref[ref["case"] == case].set_index("name")
    t = res.attrs["equal_effects_test"]
    term = next(n for n in r.index if n != "df_num")
    assert t["statistic"] == pytest.approx(r.loc[term, "estimate"], rel=1e-6)
    assert t["ddf"] == r.loc[term, "df"]
    assert t["df"] == r.loc["df_num", "estimate"]
    assert t["p_value"] == pytest.approx(r.loc[term, "p_value"], rel=1e-4)


def test_difference_stratified_cluster_binary_in_points(dnh, ref):
    res = sk.experiment(dnh, "HI_CHOL", "race")
    check(res, ref, "nhanes_diff")
    assert res.attrs["scale"] == "percentage points"
    # 745 rows without HI_CHOL are excluded and counted
    assert (res["n_missing"] == int(dnh.data["HI_CHOL"].isna().sum())).all()
    est = ref[ref["case"] == "estimatr_dim"]["estimate"].iloc[0]
    assert res.loc[res["arm"] == 2, "estimate"].iloc[0] == pytest.approx(est, rel=1e-6)


def test_by_group_and_equal_effects_test(dnh, ref):
    res = sk.experiment(dnh, "HI_CHOL", "race", by="RIAGENDR")
    check(res, ref, "nhanes_by", by="RIAGENDR")
    check_test(res, ref, "nhanes_by_test")


def test_lin_adjustment_matches_svyglm_and_estimatr(dnh, ref):
    res = sk.experiment(dnh, "HI_CHOL", "race", covariates=["agecat"], estimator="lin")
    check(res, ref, "nhanes_lin")
    lin = ref[ref["case"] == "estimatr_lm_lin"].set_index("name")["estimate"]
    np.testing.assert_allclose(res.set_index(res["arm"].astype(str))["estimate"].loc[lin.index],
                               lin, rtol=1e-6)


def test_replicate_design(rclus1, ref):
    check(sk.experiment(rclus1, "api00", "stype"), ref, "jk1_diff")
    res = sk.experiment(rclus1, "api00", "stype", by="awards")
    check(res, ref, "jk1_by", by="awards")
    check_test(res, ref, "jk1_by_test")
    check(sk.experiment(rclus1, "api00", "stype", covariates=["meals", "ell"],
                        estimator="lin"), ref, "jk1_lin")


def test_lin_linearisation_cluster(ref):
    d = sk.SurveyDesign(read_r_data("apiclus1"), weights="pw", psu="dnum", fpc="fpc")
    check(sk.experiment(d, "api00", "stype", covariates=["meals", "ell"], estimator="lin"),
          ref, "clus1_lin")


def test_domain(dstrat_domain, ref):
    check(sk.experiment(dstrat_domain, "growth", "awards"), ref, "strat_domain_diff")
    res = sk.experiment(dstrat_domain, "growth", "awards", by="stype")
    check(res, ref, "strat_domain_by", by="stype")
    check_test(res, ref, "strat_domain_by_test")


def test_contrast_between_arms_uses_joint_vcov(dnh):
    res = sk.experiment(dnh, "HI_CHOL", "race")
    V = res.attrs["vcov"].to_numpy()
    c = sk.contrast(res, {"3": 1, "2": -1})
    diff = res["estimate"].iloc[1] - res["estimate"].iloc[0]
    assert c["estimate"].iloc[0] == pytest.approx(diff)
    assert c["std_error"].iloc[0] == pytest.approx(np.sqrt(V[0, 0] + V[1, 1] - 2 * V[0, 1]))


def test_p_adjust_matches_r_rules():
    from surveykit.experiments._common import p_adjust

    p = np.array([0.01, 0.04, 0.03, 0.2])
    # R: p.adjust(c(.01,.04,.03,.2), "holm") etc.
    np.testing.assert_allclose(p_adjust(p, "holm"), [0.04, 0.09, 0.09, 0.2])
    np.testing.assert_allclose(p_adjust(p, "bonferroni"), [0.04, 0.16, 0.12, 0.8])
    np.testing.assert_allclose(p_adjust(p, "BH"), [0.04, 0.04 * 4 / 3 * 1.0, 0.04 * 4 / 3, 0.2])


def test_top_box_and_control_choice():
    rng = np.random.default_rng(3)
    n = 600
    df = pd.DataFrame({"arm": rng.choice(["control", "info"], n),
                       "support": rng.integers(0, 11, n), "w": rng.uniform(0.5, 2, n)})
    d = sk.SurveyDesign(df, weights="w")
    res = sk.experiment(d, "support", "arm", control="control", top_box=[9, 10])
    top = (df["support"] >= 9).astype(float)
    m = [np.average(top[df["arm"] == a], weights=df["w"][df["arm"] == a]) for a in
         ("info", "control")]
    assert res["estimate"].iloc[0] == pytest.approx(100 * (m[0] - m[1]))
    assert res.attrs["scale"] == "percentage points"
    flip = sk.experiment(d, "support", "arm", control="info")
    assert flip["arm"].tolist() == ["control"]


def test_bad_inputs(dnh, dstrat_domain):
    with pytest.raises(SurveyKitError, match="no respondents"):
        sk.experiment(dstrat_domain, "growth", "yr.rnd", by="stype")
    with pytest.raises(SurveyKitError, match=r"no respondents .* in the domain"):
        sk.experiment(dnh.subset(dnh.data["race"] == 1), "HI_CHOL", "race")
    one = dnh.data[dnh.data["race"] == 1]
    with pytest.raises(SurveyKitError, match="at least two arms"):
        sk.experiment(sk.SurveyDesign(one, weights="WTMEC2YR"), "HI_CHOL", "race")
    with pytest.raises(SurveyKitError, match="constant"):
        sk.experiment(dnh.subset(dnh.data["agecat"] == "(19,39]"), "HI_CHOL", "race",
                      covariates=["agecat", "RIAGENDR"], estimator="lin")
    with pytest.raises(SurveyKitError, match="not a value"):
        sk.experiment(dnh, "HI_CHOL", "race", control=9)
    with pytest.raises(SurveyKitError, match="needs covariates"):
        sk.experiment(dnh, "HI_CHOL", "race", estimator="lin")
    with pytest.raises(SurveyKitError, match="adjustment"):
        sk.experiment(dnh, "HI_CHOL", "race", adjust="tukey")
    with pytest.raises(SurveyKitError):
        sk.experiment(dnh, "nope", "race")


@settings(deadline=None, max_examples=25)
@given(seed=st.integers(0, 10_000), scale=st.floats(0.01, 100))
def test_invariant_to_row_order_weight_scale_and_domain_as_zero_weights(seed, scale):
    rng = np.random.default_rng(seed)
    n = 120
    df = pd.DataFrame({"t": rng.integers(0, 3, n), "y": rng.normal(size=n),
                       "x": rng.normal(size=n), "psu": rng.integers(0, 12, n),
                       "w": rng.uniform(0.5, 3, n), "keep": rng.random(n) < 0.8})
    df.loc[:2, "t"] = [0, 1, 2]
    df.loc[:2, "keep"] = True
    base = sk.SurveyDesign(df, weights="w", psu="psu")
    res = sk.experiment(base.subset(df["keep"]), "y", "t", covariates=["x"], estimator="lin")
    perm = df.sample(frac=1, random_state=seed).assign(w=lambda f: f["w"] * scale)
    d2 = sk.SurveyDesign(perm, weights="w", psu="psu")
    res2 = sk.experiment(d2.subset(perm["keep"]), "y", "t", covariates=["x"], estimator="lin")
    np.testing.assert_allclose(res2["estimate"], res["estimate"], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(res2["std_error"], res["std_error"], rtol=1e-7)
    # the domain estimate equals the estimate on the kept rows (with the same PSUs)
    kept = sk.SurveyDesign(df[df["keep"]], weights="w", psu="psu")
    res3 = sk.experiment(kept, "y", "t", covariates=["x"], estimator="lin")
    np.testing.assert_allclose(res3["estimate"], res["estimate"], rtol=1e-9, atol=1e-12)


def check_omnibus(res: pd.DataFrame, ref: pd.DataFrame, case: str) -> None:
    r = ref[ref["case"] == case].set_index("name")
    t = res.attrs["omnibus_test"]
    assert t["statistic"] == pytest.approx(r.loc["omnibus", "estimate"], rel=1e-5)
    assert t["df"] == r.loc["df_num", "estimate"]
    assert t["ddf"] == r.loc["omnibus", "df"]
    assert t["p_value"] == pytest.approx(r.loc["omnibus", "p_value"], rel=1e-4)


def test_balance_omnibus_matches_regtermtest(dnh, rclus1, ref):
    res = sk.balance(dnh, "RIAGENDR", ["agecat", "race"], categorical=["race"])
    check_omnibus(res, ref, "balance_nhanes")
    res2 = sk.balance(rclus1, "awards", ["meals", "ell", "stype"])
    check_omnibus(res2, ref, "balance_jk1")


def test_balance_means_and_standardised_differences(dnh):
    res = sk.balance(dnh, "RIAGENDR", ["agecat", "race"], categorical=["race"])
    df = dnh.data
    w = df["WTMEC2YR"]
    x = (df["agecat"] == "(19,39]").astype(float)
    m = {a: np.average(x[df["RIAGENDR"] == a], weights=w[df["RIAGENDR"] == a]) for a in (1, 2)}
    row = res[(res["variable"] == "agecat") & (res["level"] == "(19,39]")].set_index("arm")
    assert row.loc[1, "mean"] == pytest.approx(m[1])
    pooled = np.sqrt((m[1] * (1 - m[1]) + m[2] * (1 - m[2])) / 2)
    assert row.loc[2, "std_diff"] == pytest.approx((m[2] - m[1]) / pooled)
    assert np.isnan(row.loc[1, "std_diff"])
    # shares of a categorical covariate sum to one in each arm
    sums = res[res["variable"] == "race"].groupby("arm")["mean"].sum()
    np.testing.assert_allclose(sums, 1.0)


def test_balance_bad_input(dnh):
    with pytest.raises(SurveyKitError, match="constant"):
        sk.balance(dnh.with_columns(one=np.ones(dnh.n_total)), "RIAGENDR", ["one"])
    with pytest.raises(SurveyKitError, match="not found"):
        sk.balance(dnh, "RIAGENDR", ["nope"])


def test_unit_level_and_psu_total_paths_agree(dnh, monkeypatch):
    fast = sk.experiment(dnh, "HI_CHOL", "race", by="RIAGENDR")
    monkeypatch.setattr(type(dnh), "psu_aggregable", property(lambda self: False))
    slow = sk.experiment(dnh, "HI_CHOL", "race", by="RIAGENDR")
    np.testing.assert_allclose(slow.attrs["vcov"].to_numpy(), fast.attrs["vcov"].to_numpy(),
                               rtol=1e-10, atol=1e-14)
