"""sk.list_experiment against R `list` (ictreg lm / nls / ml, predict.ictreg) on list's `race`
data (Imai 2011), with and without weights, and against design-based references (svyglm,
svytotal of the estimating functions, JKn replicates) from tests/r/fixtures_list.R."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import surveykit as sk
from surveykit.errors import SurveyKitError
from tests.conftest import R_FIXTURES

COVS = ["south", "age", "male", "college"]


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="list experiment: control arm")
        yield


@pytest.fixture(scope="module")
def race() -> pd.DataFrame:
    return pd.read_csv(R_FIXTURES / "data" / "list_race.csv")


@pytest.fixture(scope="module")
def ref() -> pd.DataFrame:
    return pd.read_csv(R_FIXTURES / "list_race.csv")


def table(res) -> pd.DataFrame:
    rows = {}
    if res.coefficients is not None:
        for _, r in res.coefficients.iterrows():
            term = "(Intercept)" if r["term"] == "Intercept" else r["term"]
            rows[f"{r['item']}:{term}"] = (r["estimate"], r["std_error"])
    for _, r in res.prevalence.iterrows():
        rows[f"prevalence:{r.iloc[1]}"] = (r["estimate"], r["std_error"])
    return pd.DataFrame(rows, index=["estimate", "std_error"]).T


def check(res, ref: pd.DataFrame, case: str, skip: tuple[str, ...] = (),
          se_rtol: float = 1e-4) -> None:
    r = ref[(ref["case"] == case) & ~ref["name"].isin(skip)].set_index("name")
    got = table(res).loc[r.index]
    np.testing.assert_allclose(got["estimate"], r["estimate"], rtol=1e-6, atol=1e-8)
    ok = r["std_error"].notna()
    np.testing.assert_allclose(got["std_error"][ok], r["std_error"][ok], rtol=se_rtol)


@pytest.mark.parametrize("method", ["lm", "nls", "ml"])
def test_model_based_matches_ictreg_unweighted(race, ref, method):
    res = sk.list_experiment(sk.SurveyDesign(race), "y", "treat", J=3, method=method,
                             covariates=COVS, se="model")
    # R's nls SEs and prevalence are computed at ictreg's own nls estimates (nls tol 1e-5,
    # 1e-4 off the converged ones, which are the reference estimates): SEs agree to 5e-4 there
    check(res, ref, f"race_{method}_unweighted",
          skip=("prevalence:overall",) if method == "nls" else (),
          se_rtol=1e-3 if method == "nls" else 1e-4)
    if method == "nls":
        r = ref[(ref["case"] == "race_nls_unweighted")].set_index("name")
        assert res.prevalence["estimate"].iloc[0] == pytest.approx(
            r.loc["prevalence:overall", "estimate"], rel=1e-3)


@pytest.mark.parametrize("method", ["lm", "ml"])
def test_model_based_matches_ictreg_weighted(race, ref, method):
    res = sk.list_experiment(sk.SurveyDesign(race, weights="w"), "y", "treat", J=3,
                             method=method, covariates=COVS, se="model")
    # R's predict(avg=TRUE) averages the predictions without the weights: not compared
    check(res, ref, f"race_{method}_weighted", skip=("prevalence:overall",))


def design(race: pd.DataFrame, weights: str | None = "w"):
    return sk.SurveyDesign(race, weights=weights, strata="south", psu="state", nest=True)


def test_design_based_difference_by_group(race, ref):
    res = sk.list_experiment(design(race), "y", "treat", J=3, by="male")
    check(res, ref, "race_design_difference")
    assert res.prevalence["male_label"].tolist() == ["overall", "0", "1"]


def test_design_based_regressions(race, ref):
    check(sk.list_experiment(design(race), "y", "treat", J=3, method="lm", covariates=COVS),
          ref, "race_design_lm")
    check(sk.list_experiment(design(race, None), "y", "treat", J=3, method="nls",
                             covariates=COVS, by="male"), ref, "race_design_nls")
    check(sk.list_experiment(design(race), "y", "treat", J=3, method="ml", covariates=COVS,
                             by="male"), ref, "race_design_ml")


def test_replicate_design(race, ref):
    rw = pd.read_csv(R_FIXTURES / "list_race_jkn_repweights.csv").to_numpy()
    sc = pd.read_csv(R_FIXTURES / "list_race_jkn_scale.csv")
    rep = sk.ReplicateDesign(race, weights="w", repweights=rw, type="JKn",
                             scale=float(sc["scale"].iloc[0]), rscales=sc["rscales"].to_numpy(),
                             mse=bool(sc["mse"].iloc[0]))
    check(sk.list_experiment(rep, "y", "treat", J=3), ref, "race_jkn_difference")
    check(sk.list_experiment(rep, "y", "treat", J=3, method="lm", covariates=COVS), ref,
          "race_jkn_lm")


def test_direct_question_joint_covariance(race):
    rng = np.random.default_rng(1)
    df = race.assign(direct=(rng.random(len(race)) < 0.3).astype(int))
    d = design(df)
    res = sk.list_experiment(d, "y", "treat", J=3, direct="direct")
    dr = res.direct.set_index("quantity")
    w = df["w"].to_numpy()
    assert dr.loc["direct", "estimate"] == pytest.approx(np.average(df["direct"], weights=w))
    assert dr.loc["list", "estimate"] == pytest.approx(res.prevalence["estimate"].iloc[0])
    assert dr.loc["direct - list", "estimate"] == pytest.approx(
        dr.loc["direct", "estimate"] - dr.loc["list", "estimate"])
    V = res.direct.attrs["vcov"].to_numpy()
    # the difference's variance uses the covariance of the two estimates from one design
    assert dr.loc["direct - list", "std_error"] ** 2 == pytest.approx(
        V[0, 0] + V[1, 1] - 2 * V[0, 1])
    c = sk.contrast(res.direct, {"overall:direct": 1, "overall:list": -1})
    assert c["std_error"].iloc[0] == pytest.approx(dr.loc["direct - list", "std_error"])


def test_diagnostics_and_warning(race):
    with pytest.warns(UserWarning, match="floor/ceiling"):
        warnings.simplefilter("default")
        res = sk.list_experiment(sk.SurveyDesign(race), "y", "treat", J=3)
    dg = res.diagnostics
    n = dg.groupby("arm")["n"].sum()
    assert n["control"] == (race["treat"] == 0).sum()
    top = dg[(dg["arm"] == "treated") & (dg["count"] == 4)]["n"].iloc[0]
    assert top == ((race["treat"] == 1) & (race["y"] == 4)).sum()


def test_bad_inputs(race):
    d = sk.SurveyDesign(race)
    with pytest.raises(SurveyKitError, match="binary treatment"):
        sk.list_experiment(sk.SurveyDesign(race.assign(treat=race["treat"] + (race["y"] == 0))),
                           "y", "treat", J=3)
    with pytest.raises(SurveyKitError, match="whole numbers from 0 to J"):
        sk.list_experiment(d, "y", "treat", J=2)
    with pytest.raises(SurveyKitError, match="whole numbers"):
        sk.list_experiment(sk.SurveyDesign(race.assign(y=race["y"] + 0.5)), "y", "treat", J=3)
    with pytest.raises(SurveyKitError, match="no rows in the domain"):
        sk.list_experiment(d.subset(race["treat"] == 1), "y", "treat", J=3)
    with pytest.raises(SurveyKitError, match="no rows in a group"):
        sk.list_experiment(sk.SurveyDesign(race.assign(g=np.where(race["treat"] == 1, 1, 2)
                                                       * (race.index < 50) + 3)),
                           "y", "treat", J=3, by="g")
    with pytest.raises(SurveyKitError, match="collinear"):
        sk.list_experiment(d, "y", "treat", J=3, method="ml",
                           covariates=["south", "male", "south"])
    with pytest.raises(SurveyKitError, match="constant"):
        sk.list_experiment(d.subset(race["south"] == 1), "y", "treat", J=3, method="lm",
                           covariates=["south", "male"])
    with pytest.raises(SurveyKitError, match="positive integer"):
        sk.list_experiment(d, "y", "treat", J=0)
    with pytest.raises(SurveyKitError, match="regression method"):
        sk.list_experiment(d, "y", "treat", J=3, covariates=COVS)


def test_missing_rows_are_counted(race):
    df = race.copy()
    df.loc[:9, "y"] = np.nan
    res = sk.list_experiment(sk.SurveyDesign(df), "y", "treat", J=3)
    assert res.n_missing == 10
    ref = sk.list_experiment(sk.SurveyDesign(df.iloc[10:]), "y", "treat", J=3)
    assert res.prevalence["estimate"].iloc[0] == pytest.approx(ref.prevalence["estimate"].iloc[0])


@pytest.fixture(scope="module")
def ref_test() -> pd.DataFrame:
    return pd.read_csv(R_FIXTURES / "list_test.csv")


def synthetic(name: str = "list_synthetic") -> pd.DataFrame:
    return pd.read_csv(R_FIXTURES / "data" / f"{name}.csv")


@pytest.mark.parametrize(("case", "data", "gms"), [
    ("ict_test_race", "race", True), ("ict_test_race_nogms", "race", False),
    ("ict_test_synthetic", "list_synthetic", True),
    ("ict_test_synthetic_nogms", "list_synthetic", False),
    ("ict_test_synthetic_bad", "list_synthetic_bad", True)])
def test_design_effect_test_matches_ict_test(race, ref_test, case, data, gms):
    frame = race if data == "race" else synthetic(data)
    y, t = ("y", "treat") if data == "race" else ("item_count", "list_treat")
    res = sk.list_design_test(sk.SurveyDesign(frame), y, t, J=3, se="model", gms=gms)
    p = ref_test[(ref_test["case"] == case) & (ref_test["name"] == "p")]["estimate"].iloc[0]
    assert res["p_value"].iloc[0] == pytest.approx(p, rel=1e-6)
    if case == "ict_test_race":
        tb = pd.DataFrame(list(res.attrs["pi_table"]), columns=res.attrs["pi_table_columns"])
        r = ref_test[(ref_test["case"] == case) & (ref_test["name"] != "p")]
        np.testing.assert_allclose(tb["estimate"], r["estimate"], atol=5e-5)  # R rounds to 4


def test_design_effect_test_design_based_detects_the_violation():
    bad = synthetic("list_synthetic_bad")
    d = sk.SurveyDesign(bad, weights="weight", strata="region", psu="psu", nest=True)
    res = sk.list_design_test(d, "item_count", "list_treat", J=3)
    assert res["p_value"].iloc[0] < 0.01
    ok = sk.SurveyDesign(synthetic(), weights="weight", strata="region", psu="psu", nest=True)
    assert sk.list_design_test(ok, "item_count", "list_treat", J=3)["p_value"].iloc[0] > 0.5


def test_synthetic_direct_and_list_against_survey(ref_test):
    d = sk.SurveyDesign(synthetic(), weights="weight", strata="region", psu="psu", nest=True)
    res = sk.list_experiment(d, "item_count", "list_treat", J=3, direct="direct_approve")
    r = ref_test[ref_test["case"] == "synthetic_difference"].set_index("name")
    got = res.direct[res.direct["group"] == "overall"].set_index("quantity")
    np.testing.assert_allclose(got.loc[r.index, "estimate"], r["estimate"], rtol=1e-6)
    np.testing.assert_allclose(got.loc[r.index, "std_error"], r["std_error"], rtol=1e-4)
    from surveykit.replica.experiments import list_experiment_data

    gen = sk.SurveyDesign(list_experiment_data(), weights="weight", strata="region", psu="psu",
                          nest=True)
    res2 = sk.list_experiment(gen, "item_count", "list_treat", J=3, direct="direct_approve")
    assert res2.direct["estimate"].tolist() == pytest.approx(res.direct["estimate"].tolist())
    assert res2.synthetic and res2.direct.attrs["synthetic"] and "SYNTHETIC" in repr(res2)


def test_synthetic_ml_weighted_model_ses(ref_test):
    from surveykit.experiments.list_ml import ListLikelihood

    s = synthetic()
    d = sk.SurveyDesign(s, weights="weight")
    covs = ["urban", "age_group", "college"]
    res = sk.list_experiment(d, "item_count", "list_treat", J=3, method="ml", covariates=covs,
                             se="model")
    r = ref_test[ref_test["case"] == "synthetic_ml_weighted"]
    # R's EM (even at a 1e-15 log-likelihood tolerance) stops ~2e-6 short of the maximum on
    # these data: one Newton step from R's estimates lands on ours
    X = np.column_stack([np.ones(len(s)), s[covs].to_numpy(float)])
    model = ListLikelihood(s["item_count"].to_numpy(float), s["list_treat"].to_numpy(float), X, 3)
    w = s["weight"].to_numpy()
    th = r["estimate"].to_numpy()
    g, H = model.grad_hess(th, w)
    polished = th - np.linalg.solve(H, g)
    np.testing.assert_allclose(res.params.to_numpy(), polished, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(res.params.to_numpy(), th, rtol=5e-5, atol=5e-6)
    np.testing.assert_allclose(res.coefficients["std_error"], r["std_error"], rtol=1e-4)


def test_ml_separation_is_a_typed_convergence_error():
    rng = np.random.default_rng(5)
    n = 600
    x = rng.integers(0, 2, n)
    t = rng.integers(0, 2, n)
    y = rng.binomial(3, 0.5, n) + t * x  # the sensitive item is exactly x: coefficients diverge
    d = sk.SurveyDesign(pd.DataFrame({"y": y, "t": t, "x": x}))
    with pytest.raises(SurveyKitError, match=r"did not converge|diverge"):
        sk.list_experiment(d, "y", "t", J=3, method="ml", covariates=["x"])


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(deadline=None, max_examples=15)
@given(seed=st.integers(0, 10_000), scale=st.floats(0.01, 100))
def test_list_invariant_to_row_order_and_weight_scale(race, seed, scale):
    d = design(race)
    res = sk.list_experiment(d, "y", "treat", J=3, method="ml", covariates=["south", "male"])
    perm = race.sample(frac=1, random_state=seed).assign(w=lambda f: f["w"] * scale)
    res2 = sk.list_experiment(design(perm), "y", "treat", J=3, method="ml",
                              covariates=["south", "male"])
    np.testing.assert_allclose(res2.params, res.params, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(res2.prevalence["std_error"], res.prevalence["std_error"],
                               rtol=1e-6)


def test_direct_with_ml_and_replicate_refits(race):
    rng = np.random.default_rng(2)
    df = race.assign(direct=(rng.random(len(race)) < 0.4).astype(int))
    lin = sk.list_experiment(design(df), "y", "treat", J=3, method="ml", covariates=["south"],
                             direct="direct")
    o = lin.direct.set_index("quantity")
    assert o.loc["list", "estimate"] == pytest.approx(lin.prevalence["estimate"].iloc[0])
    assert o.loc["direct - list", "estimate"] == pytest.approx(
        o.loc["direct", "estimate"] - o.loc["list", "estimate"])
    rw = pd.read_csv(R_FIXTURES / "list_race_jkn_repweights.csv").to_numpy()
    sc = pd.read_csv(R_FIXTURES / "list_race_jkn_scale.csv")
    rep = sk.ReplicateDesign(df, weights="w", repweights=rw, type="JKn",
                             scale=float(sc["scale"].iloc[0]), rscales=sc["rscales"].to_numpy(),
                             mse=bool(sc["mse"].iloc[0]))
    jk = sk.list_experiment(rep, "y", "treat", J=3, method="ml", covariates=["south"],
                            direct="direct")
    np.testing.assert_allclose(jk.params, lin.params, rtol=1e-9)
    # jackknife and linearisation SEs of the same design estimate the same variance
    np.testing.assert_allclose(jk.coefficients["std_error"], lin.coefficients["std_error"],
                               rtol=0.35)
    np.testing.assert_allclose(jk.direct["std_error"], lin.direct["std_error"], rtol=0.35)
