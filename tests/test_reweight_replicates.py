"""Weighting a replicate-weight design (issue 10 item 5) against R's svyrep.design methods.

Fixtures: tests/r/fixtures_reweight.R. Python starts from R's own replicate multipliers (JK1,
bootstrap, BRR, Fay), re-weights with surveykit and compares every weight (1e-8) and the
estimates (1e-6) and SEs (1e-4) of svymean / svytotal after each operation.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import R_FIXTURES, read_r_data

from surveykit.design import ReplicateDesign, SurveyDesign
from surveykit.errors import ConvergenceError, DesignError, WeightingError
from surveykit.estimation import mean, total
from surveykit.weighting import calibrate, poststratify, rake, trim
from surveykit.weighting.trim import trim_weights

META = pd.read_csv(R_FIXTURES / "reweight_meta.csv").set_index("design")
EST = pd.read_csv(R_FIXTURES / "reweight_estimates.csv")
API_DESIGNS = ["jk1_clus1", "boot_clus1"]
NH_DESIGNS = ["brr_nhanes", "fay_nhanes"]


def _rep_design(name: str) -> ReplicateDesign:
    """R's replicate design rebuilt from its exported multipliers."""
    mult = pd.read_csv(R_FIXTURES / f"reweight_multipliers_{name}.csv")
    meta = META.loc[name]
    if name in API_DESIGNS:
        data = read_r_data("apiclus1")
        key, wcol = ["dnum"], "pw"
    else:
        data = read_r_data("nhanes")
        data = data[data["SDMVPSU"] != 3].reset_index(drop=True)
        key, wcol = ["SDMVSTRA", "SDMVPSU"], "WTMEC2YR"
    m = data[key].merge(mult, on=key, how="left", validate="many_to_one")
    reps = m[[f"rep{j}" for j in range(1, int(meta["replicates"]) + 1)]].to_numpy()
    assert np.isfinite(reps).all()
    rep = reps * data[wcol].to_numpy()[:, None]
    rho = float(meta["rho"]) if meta["type"] == "Fay" else None
    return ReplicateDesign(data, weights=wcol, repweights=rep, type=meta["type"],
                           scale=float(meta["scale"]), rho=rho)


def _api_targets(apipop: pd.DataFrame):
    types = apipop["stype"].value_counts().to_dict()
    schwide = apipop["sch.wide"].value_counts().to_dict()
    n = len(apipop)
    tot = {"Intercept": n, "stype[T.H]": types["H"], "stype[T.M]": types["M"],
           "api99": float(apipop["api99"].sum())}
    return types, schwide, tot


def _nh_targets(data: pd.DataFrame):
    w = data["WTMEC2YR"]
    wt_race = w.groupby(data["race"]).sum().sort_index()
    pop_race = np.round(wt_race.to_numpy() * np.array([1.06, 0.95, 1.02, 0.97]))
    n = pop_race.sum()
    wt_age = w.groupby(data["agecat"]).sum().sort_index()
    share = wt_age.to_numpy() / wt_age.sum() * np.array([0.97, 1.03, 1.01, 0.99])
    pop_age = n * share / share.sum()
    race = dict(zip(wt_race.index, pop_race, strict=True))
    age = dict(zip(wt_age.index, pop_age, strict=True))
    tot = {"Intercept": n, "C(race)[T.2]": race[2], "C(race)[T.3]": race[3],
           "C(race)[T.4]": race[4],
           "RIAGENDR": float((data["WTMEC2YR"] * data["RIAGENDR"]).sum() * 1.01)}
    return race, age, tot


def _apply(name: str, op: str, d: ReplicateDesign, apipop: pd.DataFrame):
    if name in API_DESIGNS:
        types, schwide, tot = _api_targets(apipop)
        tight = dict(tol=1e-13, max_iter=300)
        return {
            "none": lambda: d,
            "poststratify": lambda: poststratify(d, "stype", types),
            "rake": lambda: rake(d, {"stype": types, "sch.wide": schwide}, **tight).design,
            "cal_linear": lambda: calibrate(d, "~stype + api99", tot),
            "cal_raking": lambda: calibrate(d, "~stype + api99", tot, method="raking",
                                            tol=1e-13, max_iter=100),
            "cal_logit": lambda: calibrate(d, "~stype + api99", tot, method="logit",
                                           bounds=(0.1, 8), tol=1e-13, max_iter=100),
            "rake_bounded": lambda: rake(d, {"stype": types, "sch.wide": schwide},
                                         bounds=(0.2, 6), tol=1e-13, max_iter=100).design,
        }[op]()
    race, age, tot = _nh_targets(d.data)
    return {
        "none": lambda: d,
        "poststratify": lambda: poststratify(d, "race", race),
        "rake": lambda: rake(d, {"race": race, "agecat": age}, tol=1e-13, max_iter=300).design,
        "cal_linear": lambda: calibrate(d, "~C(race) + RIAGENDR", tot),
    }[op]()


CASES = [(dn, op) for dn in API_DESIGNS for op in
         ["none", "poststratify", "rake", "cal_linear", "cal_raking", "cal_logit", "rake_bounded"]]
CASES += [(dn, op) for dn in NH_DESIGNS for op in ["none", "poststratify", "rake", "cal_linear"]]


@pytest.mark.parametrize(("name", "op"), CASES)
def test_reweighted_replicates_match_r(name: str, op: str, apipop: pd.DataFrame) -> None:
    d = _apply(name, op, _rep_design(name), apipop)
    assert isinstance(d, ReplicateDesign)
    wr = pd.read_csv(R_FIXTURES / f"reweight_weights_{name}.csv")
    wr = wr[wr["op"] == op]
    rows = wr["row"].to_numpy() - 1
    np.testing.assert_allclose(d.base_weights[rows], wr["full"].to_numpy(), rtol=1e-8)
    repcols = [c for c in wr.columns if c.startswith("rep")]
    idx = [int(c[3:]) - 1 for c in repcols]
    np.testing.assert_allclose(d.repweights[np.ix_(rows, idx)], wr[repcols].to_numpy(),
                               rtol=1e-8, atol=1e-8 * float(d.base_weights.max()))
    ref = EST[(EST["design"] == name) & (EST["op"] == op)]
    assert len(ref) >= 2
    for _, r in ref.iterrows():
        if r["stat"] == "mean":
            got = mean(d, r["variable"])
        elif r["stat"] == "total":
            got = total(d, r["variable"])
        else:
            got = mean(d.subset(d.data["sch.wide"] == "Yes"), r["variable"])
        assert got["estimate"].iloc[0] == pytest.approx(r["estimate"], rel=1e-6)
        assert got["std_error"].iloc[0] == pytest.approx(r["se"], rel=1e-4)


def test_weighting_changes_the_replicate_variance(apipop: pd.DataFrame) -> None:
    """Post-stratifying on school type must shrink the SE of the enrolment total (R: 932k ->
    473k), which only happens when the replicates are re-weighted too."""
    d = _rep_design("jk1_clus1")
    before = total(d, "enroll")["std_error"].iloc[0]
    after = total(_apply("jk1_clus1", "poststratify", d, apipop), "enroll")["std_error"].iloc[0]
    assert after < 0.6 * before


def test_trim_replicate_design_trims_every_column() -> None:
    d = _rep_design("jk1_clus1")
    d = d._evolve(base_weights=d.base_weights * np.linspace(0.5, 1.5, d.n_total),
                  repweights=d.repweights * np.linspace(0.5, 1.5, d.n_total)[:, None])
    out = trim(d, lower=20, upper=50)
    np.testing.assert_allclose(out.base_weights, trim_weights(d.base_weights, 20, 50)[0])
    for r in range(d.n_replicates):
        col = d.repweights[:, r]
        keep = col > 0
        expect = np.zeros_like(col)
        expect[keep] = trim_weights(col[keep], 20, 50)[0]
        np.testing.assert_allclose(out.repweights[:, r], expect, rtol=1e-12)
        assert out.repweights[keep, r].sum() == pytest.approx(col.sum(), rel=1e-12)
    assert ((out.repweights == 0) == (d.repweights == 0)).all()  # dropped rows stay dropped


def test_trim_replicate_design_infeasible_bounds_name_the_replicates() -> None:
    d = _rep_design("boot_clus1")
    with pytest.raises(WeightingError, match="cannot hold"):
        trim(d, lower=20, upper=40)


def test_replicate_weighting_keeps_the_domain(apipop: pd.DataFrame) -> None:
    d = _rep_design("jk1_clus1")
    dom = d.subset(d.data["sch.wide"] == "Yes")
    types = apipop["stype"].value_counts().to_dict()
    out = poststratify(dom, "stype", types)
    outside = ~dom.domain
    np.testing.assert_array_equal(out.base_weights[outside], d.base_weights[outside])
    np.testing.assert_array_equal(out.repweights[outside], d.repweights[outside])
    sums = pd.DataFrame(out.replicate_weights).groupby(d.data["stype"].to_numpy()).sum()
    np.testing.assert_allclose(sums.to_numpy(),
                               np.array([[types[k]] * d.n_replicates for k in sums.index]),
                               rtol=1e-10)


def test_replicate_of_a_calibrated_design_says_what_to_do(dclus1, apipop) -> None:
    types = apipop["stype"].value_counts().to_dict()
    ps = poststratify(dclus1, "stype", types)
    with pytest.raises(DesignError, match="before weighting"):
        ps.replicate("jk1")
    assert isinstance(dclus1.replicate("jk1"), ReplicateDesign)


def test_replicate_calibration_failure_names_the_replicates(apipop) -> None:
    d = _rep_design("boot_clus1")
    _, _, tot = _api_targets(apipop)
    with pytest.raises(ConvergenceError, match="replicate"):
        calibrate(d, "~stype + api99", tot, method="logit", bounds=(0.7, 1.7), max_iter=30)


def test_with_weights_still_refuses_without_replicates() -> None:
    d = _rep_design("jk1_clus1")
    with pytest.raises(DesignError, match="every replicate"):
        d.with_weights(d.base_weights)
    assert isinstance(SurveyDesign(d.data, weights="pw"), SurveyDesign)


def test_replicate_without_weight_in_a_category_is_named(apiclus1):
    """A JK1 replicate that deletes the only PSU holding a category cannot be raked to it."""
    data = apiclus1.assign(g=np.where(apiclus1["dnum"] == apiclus1["dnum"].iloc[0], "x", "y"))
    d = SurveyDesign(data, weights="pw", psu="dnum").replicate("jk1")
    with pytest.raises(WeightingError, match=r"1 replicate.*no weight in a category of g") as info:
        rake(d, {"g": {"x": 100.0, "y": 6000.0}})
    assert len(info.value.values) == 1 and info.value.values[0].startswith("x in replicate")
    with pytest.raises(WeightingError, match="no weight in a post-stratification cell"):
        poststratify(d, "g", {"x": 100.0, "y": 6000.0})
