"""Multistage designs, FPC-implied weights and probs= against R (tests/r/fixtures_multistage.R)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import R_FIXTURES, read_r_data
from hypothesis import given, settings
from hypothesis import strategies as st

import surveykit as sk
from surveykit.design import SurveyDesign, _codes, interaction, validate_weights
from surveykit.errors import DesignError

BREAKS = [-np.inf, 25, 50, 75, np.inf]


@pytest.fixture(scope="module")
def ref() -> pd.DataFrame:
    return pd.read_csv(R_FIXTURES / "multistage_results.csv", keep_default_na=False,
                       na_values=["", "NA", "NaN"], dtype={"term": str})


def rows(ref: pd.DataFrame, design: str, stat: str) -> pd.DataFrame:
    out = ref[(ref["design"] == design) & (ref["stat"] == stat)].reset_index(drop=True)
    assert len(out), f"no R reference for {design}/{stat}"
    return out


def check(got_est, got_se, want: pd.DataFrame) -> None:
    np.testing.assert_allclose(np.asarray(got_est, float), want["estimate"], rtol=1e-6)
    np.testing.assert_allclose(np.asarray(got_se, float), want["se"], rtol=1e-4)


def _prepare(df: pd.DataFrame) -> pd.DataFrame:
    return df.assign(awards01=(df["awards"] == "Yes").astype(float),
                     mealcat=pd.cut(df["meals"], BREAKS))


@pytest.fixture(scope="module")
def apiclus2() -> pd.DataFrame:
    return _prepare(read_r_data("apiclus2"))


@pytest.fixture(scope="module")
def apistrat2() -> pd.DataFrame:
    return _prepare(read_r_data("apistrat2"))


def designs(apiclus2: pd.DataFrame, apistrat2: pd.DataFrame) -> dict[str, SurveyDesign]:
    two = ["dnum", "snum"]
    return {
        "clus2_fpc": SurveyDesign(apiclus2, psu=two, fpc=["fpc1", "fpc2"]),
        "clus2_fpc_uc": SurveyDesign(apiclus2, psu=two, fpc=["fpc1", "fpc2"],
                                     ultimate_cluster=True),
        "clus2_pw": SurveyDesign(apiclus2, psu=two, weights="pw"),
        "strat2": SurveyDesign(apistrat2, psu=two, strata=["stype", "sch.wide"],
                               fpc=["fpc1", "fpc2s"], nest=True),
        "strat2_s1": SurveyDesign(apistrat2, psu=two, strata="stype", fpc=["fpc1", "fpc2"],
                                  nest=True),
    }


CASES = {  # design -> (domain, by, factor variable, models?)
    "clus2_fpc": ("stype == 'E'", "stype", "awards", True),
    "clus2_fpc_uc": ("stype == 'E'", "stype", "awards", True),
    "clus2_pw": ("stype == 'E'", "stype", "awards", True),
    "strat2": ("`sch.wide` == 'Yes'", "sch.wide", "awards", True),
    "strat2_s1": ("`sch.wide` == 'Yes'", "sch.wide", "awards", False),
}


@pytest.mark.parametrize("name", list(CASES))
def test_estimators_match_r_on_multistage_designs(name, ref, apiclus2, apistrat2):
    d = designs(apiclus2, apistrat2)[name]
    domain, by, factor, models = CASES[name]
    if name in ("clus2_fpc", "strat2", "strat2_s1"):  # weights derived from the FPCs
        np.testing.assert_allclose(d.weights, rows(ref, name, "weights")["estimate"], rtol=1e-8)
    r = sk.mean(d, "api00")
    check(r["estimate"], r["std_error"], rows(ref, name, "mean").iloc[:1])
    r = sk.mean(d, "enroll")  # 6 missing in apiclus2: a domain of the multistage design
    check(r["estimate"], r["std_error"], rows(ref, name, "mean").iloc[1:])
    r = sk.total(d, "enroll")
    check(r["estimate"], r["std_error"], rows(ref, name, "total"))
    r = sk.proportion(d, factor)
    check(r["estimate"], r["std_error"], rows(ref, name, "prop"))
    r = sk.mean(d, "api00", by=by)
    want = rows(ref, name, "by_mean")
    assert list(r[by].astype(str)) == list(want["term"])
    check(r["estimate"], r["std_error"], want)
    sub = d.subset(domain)
    r = sk.mean(sub, "api00")
    check(r["estimate"], r["std_error"], rows(ref, name, "domain_mean"))
    r = sk.total(sub, "enroll")
    check(r["estimate"], r["std_error"], rows(ref, name, "domain_total"))
    if not models:
        return
    g = sk.glm(d, "api00 ~ ell + meals")
    check(g.params, g.std_errors, rows(ref, name, "glm"))
    g = sk.glm(d, "awards01 ~ ell + meals", family="quasibinomial")
    check(g.params, g.std_errors, rows(ref, name, "logit"))
    g = sk.glm(sub, "api00 ~ ell + meals")
    check(g.params, g.std_errors, rows(ref, name, "domain_glm"))
    o = sk.ordinal(d, "mealcat ~ ell + mobility")
    check(o.params, o.std_errors, rows(ref, name, "olr"))


def test_multistage_is_not_an_interaction(apiclus2, ref):
    """The silent error of issue 10: a list of PSU columns used to be their interaction."""
    d = SurveyDesign(apiclus2, psu=["dnum", "snum"], fpc=["fpc1", "fpc2"])
    assert d.n_stages == 2 and d.n_psu == 40 and d.df == 39
    inter = SurveyDesign(apiclus2, psu=interaction(apiclus2, ["dnum", "snum"]),
                         weights=d.weights)
    assert inter.n_psu == len(apiclus2)  # each school its own PSU: explicit, and different
    se_multi = float(sk.mean(d, "api00")["std_error"].iloc[0])
    se_inter = float(sk.mean(inter, "api00")["std_error"].iloc[0])
    assert se_inter < 0.7 * se_multi
    # PSU labels stored as floats define the same stages
    f = SurveyDesign(apiclus2.assign(dnum=apiclus2["dnum"] + 0.5, snum=apiclus2["snum"] * 1.0),
                     psu=["dnum", "snum"], fpc=["fpc1", "fpc2"])
    assert float(sk.mean(f, "api00")["std_error"].iloc[0]) == pytest.approx(se_multi, rel=1e-12)


def test_mu284_population_counts_and_fractions(ref):
    mu = read_r_data("mu284")
    mu["big"] = np.where(mu["y1"] >= 45, "yes", "no")
    d = SurveyDesign(mu, psu=["id1", "id2"], fpc=["n1", "n2"])
    np.testing.assert_allclose(d.weights, rows(ref, "mu284", "weights")["estimate"], rtol=1e-8)
    r = sk.mean(d, "y1")
    check(r["estimate"], r["std_error"], rows(ref, "mu284", "mean"))
    r = sk.total(d, "y1")
    check(r["estimate"], r["std_error"], rows(ref, "mu284", "total"))
    r = sk.proportion(d, "big")
    check(r["estimate"], r["std_error"], rows(ref, "mu284", "prop"))
    r = sk.total(d, "y1", by="big")
    check(r["estimate"], r["std_error"], rows(ref, "mu284", "by_total"))
    r = sk.mean(d.subset(mu["id1"].isin([19, 45, 47])), "y1")
    check(r["estimate"], r["std_error"], rows(ref, "mu284", "domain_mean"))
    mu["f1"] = 5 / mu["n1"]
    mu["f2"] = mu.groupby("id1")["id2"].transform("size") / mu["n2"]
    d = SurveyDesign(mu, psu=["id1", "id2"], fpc=["f1", "f2"])
    r = sk.total(d, "y1")
    check(r["estimate"], r["std_error"], rows(ref, "mu284_frac", "total"))


@pytest.mark.parametrize("policy", ["remove", "certainty", "average"])
def test_lonely_second_stage_units_match_r(policy, ref, apistrat2):
    drop = pd.read_csv(R_FIXTURES / "multistage_lonely_dropped.csv")["row"].to_numpy() - 1
    a2l = apistrat2.drop(index=drop).reset_index(drop=True)
    spec = dict(psu=["dnum", "snum"], strata=["stype", "sch.wide"], fpc=["fpc1", "fpc2s"],
                nest=True)
    with pytest.raises(DesignError, match="stage-2"):
        SurveyDesign(a2l, **spec)
    d = SurveyDesign(a2l, lonely_psu=policy, **spec)
    want = rows(ref, f"strat2_lonely_{policy}", "mean")
    if np.isnan(want["se"].iloc[0]):  # R: NaN when a group of strata is all lonely; we refuse
        with pytest.raises(DesignError, match="average"):
            sk.mean(d, "api00")
        return
    r = sk.mean(d, "api00")
    check(r["estimate"], r["std_error"], want)
    r = sk.total(d, "enroll")
    check(r["estimate"], r["std_error"], rows(ref, f"strat2_lonely_{policy}", "total"))
    # the ultimate-cluster variance ignores the lonely second-stage strata entirely
    SurveyDesign(a2l, ultimate_cluster=True, **spec)


def test_jk1_from_a_two_stage_design_uses_first_stage_psus(apiclus2, ref):
    d = SurveyDesign(apiclus2, psu=["dnum", "snum"], fpc=["fpc1", "fpc2"])
    with pytest.warns(UserWarning, match="after the first stage"):
        rep = d.replicate("jk1")
    want = pd.read_csv(R_FIXTURES / "multistage_jk1_clus2_weights.csv").to_numpy()
    np.testing.assert_allclose(rep.replicate_weights, want, rtol=1e-8)
    assert rep.scale == pytest.approx(rows(ref, "clus2_fpc_jk1", "scale")["estimate"][0],
                                      rel=1e-12)
    r = sk.mean(rep, "api00")
    check(r["estimate"], r["std_error"], rows(ref, "clus2_fpc_jk1", "mean"))


def test_weights_from_fpc_and_probs(ref):
    srs = read_r_data("apisrs")
    d = SurveyDesign(srs, fpc="fpc")
    np.testing.assert_allclose(d.weights, srs["pw"], rtol=1e-12)
    for stat, fn in (("mean", sk.mean), ("total", sk.total)):
        r = fn(d, "api00")
        check(r["estimate"], r["std_error"], rows(ref, "srs_fpc", stat))
    d = SurveyDesign(srs, probs=1 / srs["pw"])
    r = sk.total(d, "api00")
    check(r["estimate"], r["std_error"], rows(ref, "srs_probs", "total"))
    with pytest.raises(DesignError, match="not both"):
        SurveyDesign(srs.assign(p=1 / srs["pw"]), weights="pw", probs="p")
    with pytest.raises(DesignError, match=r"\(0, 1\]"):
        SurveyDesign(srs.assign(p=2.0), probs="p")
    st = read_r_data("apistrat")
    d = SurveyDesign(st, strata="stype", fpc="fpc")
    np.testing.assert_allclose(d.weights, st["pw"], rtol=1e-7)  # R's pw is rounded to float
    r = sk.total(d, "enroll")
    check(r["estimate"], r["std_error"], rows(ref, "strat_fpc_noweights", "total"))
    frac = st.groupby("stype")["fpc"].transform(lambda v: len(v) / v)
    d = SurveyDesign(st.assign(frac=frac), strata="stype", fpc="frac")
    r = sk.total(d, "enroll")
    check(r["estimate"], r["std_error"], rows(ref, "strat_frac_noweights", "total"))
    assert "equal probability" in SurveyDesign(st).describe()


def test_design_construction_refuses_ambiguous_specs(apiclus2, apistrat2):
    with pytest.raises(DesignError, match="one per stage"):
        SurveyDesign(apiclus2, psu=["dnum", "snum"], fpc="fpc1")
    with pytest.raises(DesignError, match="interaction") as exc:
        SurveyDesign(apiclus2, strata=["stype", "sch.wide"], weights="pw")
    assert exc.value.values == ["stype", "sch.wide"]
    mixed = apiclus2.assign(f2=apiclus2["fpc2"] / 1000)
    with pytest.raises(DesignError, match="mixes population counts"):
        SurveyDesign(mixed, psu=["dnum", "snum"], fpc=["fpc1", "f2"])
    # fpc varying within a first-stage unit at stage 2 (R only warns and uses each value)
    vary = apiclus2.assign(fpc2=apiclus2["fpc2"] + np.arange(len(apiclus2)) % 2)
    with pytest.raises(DesignError, match="stage 2"):
        SurveyDesign(vary, psu=["dnum", "snum"], fpc=["fpc1", "fpc2"])
    # stage-2 units must sit in one stage-2 stratum unless nest=True relabels them
    code = apistrat2["stype"].map({"E": 1, "H": 2, "M": 3})
    moved = apistrat2.assign(dnum=apistrat2["dnum"] * 10 + code, snum=1)
    with pytest.raises(DesignError, match="not nested in the stage-2 strata"):
        SurveyDesign(moved, psu=["dnum", "snum"], strata=["stype", "sch.wide"],
                     weights=np.ones(len(moved)))
    SurveyDesign(moved, psu=["dnum", "snum"], strata=["stype", "sch.wide"],
                 weights=np.ones(len(moved)), nest=True)  # relabelled: nested


# -- fast construction paths keep every check (issue 14 goal 1) ---------------------------------
@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.floats(allow_nan=True, allow_infinity=True, width=64),
                          st.sampled_from([0.0, 1e308, -0.0, 2.5])), min_size=1, max_size=30))
def test_weight_fast_path_refuses_exactly_the_bad_weights(values):
    arr = np.array(values)
    with np.errstate(all="ignore"):
        bad = (~np.isfinite(arr)).any() or (arr < 0).any() or not arr.sum() > 0
    for w in (arr, pd.Series(arr)):
        if bad:
            with pytest.raises(DesignError):
                validate_weights(w)
        else:
            np.testing.assert_array_equal(validate_weights(w), arr)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(-5, 40), min_size=1, max_size=50))
def test_integer_codes_equal_sorted_factorize(values):
    key = pd.Series(values)
    codes, levels = _codes(key)
    want_codes, want_levels = pd.factorize(key, sort=True)
    np.testing.assert_array_equal(codes, want_codes)
    assert list(levels) == list(want_levels)


@pytest.mark.parametrize("policy", ["fail", "average", "remove"])
def test_a_stratum_taken_whole_is_not_a_lonely_psu(policy, ref):
    """R returns zero variance for a stratum with f = 0 before any lonely-PSU rule: under
    "fail" it is no error, under "average" it counts as an estimable stratum."""
    st = read_r_data("apistrat")
    keep = pd.read_csv(R_FIXTURES / "multistage_certainty_kept.csv")["row"].iloc[0] - 1
    st1 = st[(st["stype"] != "H") | (st.index == keep)].reset_index(drop=True)
    st1["fpc2"] = np.where(st1["stype"] == "H", 1, st1["fpc"])
    d = SurveyDesign(st1, weights="pw", strata="stype", fpc="fpc2", lonely_psu=policy)
    for stat, fn, var in (("mean", sk.mean, "api00"), ("total", sk.total, "enroll")):
        r = fn(d, var)
        check(r["estimate"], r["std_error"], rows(ref, f"certainty_{policy}", stat))
    if policy == "fail":
        return
    m_first = st1.index[st1["stype"] == "M"][0]
    lon = st1[(st1["stype"] != "M") | (st1.index == m_first)].reset_index(drop=True)
    d = SurveyDesign(lon, weights="pw", strata="stype", fpc="fpc2", lonely_psu=policy)
    r = sk.total(d, "enroll")
    check(r["estimate"], r["std_error"], rows(ref, f"certainty_lonely_{policy}", "total"))


def test_fpc_of_one_is_a_population_count_when_others_are_counts(apiclus2):
    """R reads all fpc >= 1 as population counts: 1 next to counts is N = 1, not a fraction."""
    st = read_r_data("apistrat")
    bad = st.assign(f=np.where(st["stype"] == "H", 1, st["fpc"]))
    with pytest.raises(DesignError, match="smaller than the number of sampled"):
        SurveyDesign(bad, weights="pw", strata="stype", fpc="f")
    # all values <= 1 are fractions: 1 is a stratum taken whole
    frac = st.assign(f=np.where(st["stype"] == "H", 1.0, 0.5))
    d = SurveyDesign(frac, weights="pw", strata="stype", fpc="f")
    assert list(d.fpc_f) == [0.5, 0.0, 0.5]


def test_poststratified_two_stage_design_matches_r(apiclus2, ref):
    d = SurveyDesign(apiclus2, psu=["dnum", "snum"], fpc=["fpc1", "fpc2"])
    ps = sk.poststratify(d, "stype", {"E": 4421, "H": 755, "M": 1018})
    for stat, fn, var in (("mean", sk.mean, "api00"), ("total", sk.total, "enroll")):
        r = fn(ps, var)
        check(r["estimate"], r["std_error"], rows(ref, "clus2_fpc_ps", stat))
    r = sk.mean(ps.subset("stype == 'E'"), "api00")
    check(r["estimate"], r["std_error"], rows(ref, "clus2_fpc_ps", "domain_mean"))


def test_jkn_from_a_stratified_two_stage_design(apistrat2, ref):
    d = SurveyDesign(apistrat2, psu=["dnum", "snum"], strata=["stype", "sch.wide"],
                     fpc=["fpc1", "fpc2s"], nest=True)
    with pytest.warns(UserWarning, match="after the first stage"):
        rep = d.replicate("jkn")
    np.testing.assert_allclose(rep.rscales, rows(ref, "strat2_jkn", "rscales")["estimate"],
                               rtol=1e-12)
    r = sk.mean(rep, "api00")
    check(r["estimate"], r["std_error"], rows(ref, "strat2_jkn", "mean"))


def test_columns_given_as_arrays_define_the_same_design(apiclus2):
    """FPCs, PSUs and strata given as arrays instead of column names: same stages, same
    variance (the later stages must not be dropped because no column name was given)."""
    by_name = SurveyDesign(apiclus2, psu=["dnum", "snum"], fpc=["fpc1", "fpc2"])
    arrays = SurveyDesign(apiclus2, psu=[apiclus2["dnum"].to_numpy(), apiclus2["snum"]],
                          fpc=[apiclus2["fpc1"].to_numpy(), apiclus2["fpc2"].to_numpy()])
    a = sk.mean(by_name, "api00")["std_error"].iloc[0]
    b = sk.mean(arrays, "api00")["std_error"].iloc[0]
    assert b == pytest.approx(a, rel=1e-12)
    assert "with FPC" in arrays.describe() and "2 stages" in arrays.describe()
