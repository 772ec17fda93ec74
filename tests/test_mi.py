"""Multiple imputation: invariants (Hypothesis), the combined results downstream, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import surveykit as sk
from surveykit.errors import ImputationError, SurveyKitError
from surveykit.mi.rubin import pool

SETTINGS = settings(max_examples=20, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def _frame(seed: int, n: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    strata = np.repeat(np.arange(3), int(np.ceil(n / 3)))[:n]
    return pd.DataFrame({
        "h": strata, "psu": strata * 10 + rng.integers(0, 4, n),
        "w": rng.uniform(0.5, 3.0, n), "x": rng.normal(size=n),
        "g": rng.integers(1, 4, n), "y": rng.integers(0, 2, n)})


def _imputations(seed: int, n: int, m: int) -> list[pd.DataFrame]:
    """m completed copies: x is 'missing' in a fifth of rows and drawn anew in each copy."""
    base = _frame(seed, n)
    rng = np.random.default_rng(seed + 1)
    miss = rng.random(n) < 0.2
    out = []
    for _ in range(m):
        f = base.copy()
        f.loc[miss, "x"] = rng.normal(size=int(miss.sum()))
        out.append(f)
    return out


def _mi(frames):
    return sk.mi_design(frames, weights="w", strata="h", psu="psu", nest=True)


@SETTINGS
@given(seed=st.integers(0, 10_000), n=st.integers(40, 120))
def test_m1_is_the_complete_data_result(seed, n):
    f = _frame(seed, n)
    d = sk.SurveyDesign(f, weights="w", strata="h", psu="psu", nest=True)
    mi = _mi([f])
    pd.testing.assert_frame_equal(sk.mean(mi, "x", by="g"), sk.mean(d, "x", by="g"))
    a, b = sk.glm(mi, "y ~ x + C(g)", family="quasibinomial"), sk.glm(d, "y ~ x + C(g)",
                                                                       family="quasibinomial")
    np.testing.assert_array_equal(a.params, b.params)
    np.testing.assert_array_equal(a.vcov, b.vcov)


@SETTINGS
@given(seed=st.integers(0, 10_000), n=st.integers(40, 120), m=st.integers(2, 6))
def test_identical_imputations_have_no_between_variance(seed, n, m):
    f = _frame(seed, n)
    d = sk.SurveyDesign(f, weights="w", strata="h", psu="psu", nest=True)
    r = sk.mean(_mi([f] * m), "x", by="g")
    c = sk.mean(d, "x", by="g")
    np.testing.assert_allclose(r["estimate"], c["estimate"], rtol=1e-12)
    np.testing.assert_allclose(r["std_error"], c["std_error"], rtol=1e-12)
    assert (r["riv"] == 0).all() and (r["fmi"] == 0).all()
    dfc = d.df  # B = 0: Barnard-Rubin df is the observed-data df of the complete data
    np.testing.assert_allclose(r["df"], (dfc + 1) / (dfc + 3) * dfc)
    fit = sk.glm(_mi([f] * m), "y ~ x", family="quasibinomial")
    np.testing.assert_array_equal(fit.pooled.between, 0.0)


@SETTINGS
@given(seed=st.integers(0, 10_000), n=st.integers(40, 120), m=st.integers(2, 5),
       perm_seed=st.integers(0, 1000))
def test_permuting_imputations_changes_nothing(seed, n, m, perm_seed):
    frames = _imputations(seed, n, m)
    order = np.random.default_rng(perm_seed).permutation(m)
    a = sk.mean(_mi(frames), "x", by="g", vcov=True)
    b = sk.mean(_mi([frames[i] for i in order]), "x", by="g", vcov=True)
    cols = ["estimate", "std_error", "ci_low", "ci_high", "df", "riv", "fmi"]
    np.testing.assert_allclose(a[cols].to_numpy(float), b[cols].to_numpy(float), rtol=1e-10)
    np.testing.assert_allclose(a.attrs["vcov"].to_numpy(), b.attrs["vcov"].to_numpy(),
                               rtol=1e-10)
    fa = sk.glm(_mi(frames), "y ~ x", family="quasibinomial")
    fb = sk.glm(_mi([frames[i] for i in order]), "y ~ x", family="quasibinomial")
    np.testing.assert_allclose(fa.tidy()[["estimate", "std_error", "df"]],
                               fb.tidy()[["estimate", "std_error", "df"]], rtol=1e-10)


def test_rubin_by_hand_and_downstream():
    frames = _imputations(3, 150, 4)
    mi = _mi(frames)
    r = sk.mean(mi, "x", by="g", vcov=True)
    per = [sk.mean(sk.SurveyDesign(f, weights="w", strata="h", psu="psu", nest=True), "x",
                   by="g", vcov=True) for f in frames]
    q = np.stack([p["estimate"].to_numpy() for p in per])
    W = np.mean([p.attrs["vcov"].to_numpy() for p in per], axis=0)
    B = np.cov(q.T, ddof=1)
    T = W + (1 + 1 / 4) * B
    np.testing.assert_allclose(r["estimate"], q.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(r.attrs["vcov"].to_numpy(), T, rtol=1e-12)
    # a linear contrast of the combined result = the combination of the contrasts
    c = sk.contrast(r, {r.attrs["vcov"].names[0]: 1, r.attrs["vcov"].names[1]: -1})
    L = np.array([1.0, -1.0, 0.0])
    np.testing.assert_allclose(c["estimate"].iloc[0], L @ q.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(c["std_error"].iloc[0] ** 2, L @ T @ L, rtol=1e-12)
    assert "m = 4 multiple imputations" in r.attrs["note"]
    fit = sk.glm(mi, "y ~ x + C(g)", family="quasibinomial")
    assert "m = 4 multiple imputations" in fit.summary()
    t = fit.tidy(exponentiate=True)
    np.testing.assert_allclose(t["estimate"], np.exp(fit.params), rtol=1e-12)
    assert {"df", "riv", "fmi"} <= set(t.columns)
    assert "(1) Odds ratio" in fit.to_markdown() or "(1)" in fit.to_markdown()
    w = sk.wald_test(fit, "C(g)")
    assert w["test"].iloc[0].startswith("D1") and w["df"].iloc[0] == 2
    assert 0 <= w["p_value"].iloc[0] <= 1
    mg = sk.margins(fit, by="g")
    assert len(mg) == 3 and {"df", "fmi"} <= set(mg.columns)
    with pytest.raises(ImputationError, match="multiply imputed"):
        sk.anova(fit)


def test_other_estimators_accept_an_mi_design():
    mi = _mi(_imputations(5, 150, 3))
    assert len(sk.proportion(mi, "g")) == 3
    assert len(sk.total(mi, "x")) == 1
    assert len(sk.quantile(mi, "x", q=0.5)) == 1
    assert len(sk.ratio(mi, "x", "w")) == 1
    lk = sk.likert(mi, "g", se=True)
    assert "Total (SE)" in lk.columns and "m = 3" in lk.attrs["note"]
    x = sk.crosstab(mi, "g", "y")
    assert np.isnan(x.test["p_value"]) and "m = 3" in x.test["note"]
    o = sk.ordinal(mi, "g ~ x")
    assert len(o.tidy()) == 3 and o.imputations and len(o.imputations) == 3
    mn = sk.multinom(mi, "g ~ x")
    assert {"df", "fmi"} <= set(mn.tidy().columns)
    st_ = sk.summary_table(mi, ["x", "g"], by="y")
    assert "m = 3 multiple imputations" in st_.footnote()


# -- bad input: one-line typed errors ------------------------------------------------------------
def test_mismatched_rows():
    a, b = _imputations(1, 60, 2)
    with pytest.raises(ImputationError, match="imputation 2 has 59 rows") as e:
        _mi([a, b.iloc[:-1]])
    assert "\n" not in str(e.value)


def test_design_column_differs():
    a, b = _imputations(1, 60, 2)
    b = b.assign(w=b["w"] * 2)
    with pytest.raises(ImputationError, match="design column differs") as e:
        _mi([a, b])
    assert "'w'" in str(e.value) or "w" in str(e.value)


def test_fewer_than_two_to_combine():
    with pytest.raises(ImputationError, match="at least 2 imputations"):
        pool(np.ones((1, 2)), np.ones((1, 2, 2)))


def test_stacked_frame_and_file(tmp_path):
    frames = _imputations(2, 80, 3)
    orig = frames[0].copy()
    miss = frames[0]["x"].ne(frames[1]["x"])
    orig.loc[miss, "x"] = np.nan
    long = pd.concat([f.assign(**{".imp": i, ".id": np.arange(80)})
                      for i, f in enumerate([orig, *frames])], ignore_index=True)
    long = long.sample(frac=1.0, random_state=1)  # rows in any order: aligned by .id
    mi = sk.mi_design(long, weights="w", strata="h", psu="psu", nest=True)
    assert mi.m == 3 and "imputation 0" in mi.notes[0]
    assert int(mi.imputed[0]["x"].sum()) == int(miss.sum())
    a = sk.mean(mi, "x")
    b = sk.mean(_mi(frames), "x")
    np.testing.assert_allclose(a["estimate"], b["estimate"], rtol=1e-12)
    out = mi.write(tmp_path / "imputed.csv")
    back = pd.read_csv(out)
    assert set(back["imputation"]) == {1, 2, 3} and back["x_imputed"].sum() == 3 * miss.sum()
    assert (tmp_path / "imputed.csv.json").exists()
    with pytest.raises(ImputationError, match="imputation-number column"):
        sk.mi_design(long.drop(columns=".imp"), weights="w")


def test_errors_are_surveykit_errors():
    assert issubclass(ImputationError, SurveyKitError)


def test_replicate_spec_equals_replicating_the_mi_design():
    frames = _imputations(7, 120, 3)
    mi = _mi(frames)
    rep = mi.replicate("jkn")
    W = rep.designs[0].repweights
    cols = [f"rw{j}" for j in range(W.shape[1])]
    with_rw = [f.assign(**{c: W[:, j] for j, c in enumerate(cols)}) for f in frames]
    spec = sk.mi_design(with_rw, weights="w", repweights=cols, type="JKn",
                        scale=rep.designs[0].scale, rscales=rep.designs[0].rscales)
    assert spec.is_replicate and spec.m == 3
    a, b = sk.mean(rep, "x", by="g"), sk.mean(spec, "x", by="g")
    np.testing.assert_allclose(a["std_error"], b["std_error"], rtol=1e-12)
    np.testing.assert_allclose(a["df"], b["df"], rtol=1e-12)
    bad = [with_rw[0], with_rw[1].assign(rw0=with_rw[1]["rw0"] + 1), with_rw[2]]
    with pytest.raises(ImputationError, match="design column differs"):
        sk.mi_design(bad, weights="w", repweights=cols)


def test_with_replicates_on_an_imputed_replicate_design():
    frames = _imputations(9, 120, 3)
    rep = _mi(frames).replicate("jkn")

    def stat(w, d):
        return np.average(d["x"], weights=w)

    r = sk.with_replicates(rep, stat)
    m = sk.mean(rep, "x")
    np.testing.assert_allclose(r["estimate"], m["estimate"], rtol=1e-12)
    np.testing.assert_allclose(r["std_error"], m["std_error"], rtol=1e-10)
    assert "fmi" in r.columns


def test_experiment_on_an_mi_design_and_refusals():
    frames = _imputations(11, 150, 3)
    mi = _mi(frames)
    r = sk.experiment(mi, "x", "g", by="y")
    per = [sk.experiment(d, "x", "g", by="y") for d in mi.designs]
    np.testing.assert_allclose(r["estimate"], np.mean([p["estimate"] for p in per], axis=0),
                               rtol=1e-12)
    assert {"fmi", "riv"} <= set(r.columns) and (r["p_adjusted"] >= r["p_value"]).all()
    # the complete-data df of the experiment's own model feeds Barnard-Rubin
    assert (r["df"] <= per[0]["df"].iloc[0]).all()
    with pytest.raises(ImputationError, match="no Rubin's-rules combination"):
        sk.balance(mi, "g", ["x"])
