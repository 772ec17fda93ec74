"""surveykit.weighting against R survey 4.x (fixtures from tests/r/fixtures_weighting.R).

Each case re-creates in Python what the R script does (same data, margins and totals from
apipop), then compares the weights (1e-8 relative) and svymean(~api00), svymean(~ell) with
their linearisation SEs after weighting (estimates 1e-6, SEs 1e-4 relative).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from conftest import R_FIXTURES

from surveykit.design import SurveyDesign
from surveykit.errors import ConvergenceError, SurveyKitError, WeightingError
from surveykit.weighting import (
    GregCalibration,
    calibrate,
    margin_table,
    poststratify,
    rake,
    trim,
    weight_summary,
)

TIGHT = 1e-13


# -- helpers -------------------------------------------------------------------------------------
def mean_and_se(design: SurveyDesign, var: str) -> tuple[float, float]:
    """Weighted mean and its linearisation SE: scores w (y - ybar) / sum(w) (R's svymean)."""
    w = design.weights
    y = design.data[var].to_numpy(dtype=float)
    m = float((w * y).sum() / w.sum())
    v = design.vcov(w * (y - m) / w.sum())
    return m, float(np.sqrt(v[0, 0]))


@pytest.fixture(scope="module")
def r_estimates() -> pd.DataFrame:
    return pd.read_csv(R_FIXTURES / "weighting_estimates.csv")


@pytest.fixture(scope="module")
def r_weights() -> dict[str, pd.DataFrame]:
    return {d: pd.read_csv(R_FIXTURES / f"weighting_weights_{d}.csv")
            for d in ("apiclus1", "apistrat")}




@pytest.fixture(scope="module")
def pop(apipop: pd.DataFrame) -> dict:
    n = len(apipop)
    types = apipop["stype"].value_counts().to_dict()
    schwide = apipop["sch.wide"].value_counts().to_dict()
    tot_stype = {"Intercept": n, "stype[T.H]": types["H"], "stype[T.M]": types["M"]}
    return {
        "N": n,
        "types": types,
        "schwide": schwide,
        "cells": apipop.groupby(["stype", "sch.wide"]).size().to_dict(),
        "tot_stype": tot_stype,
        "tot_api99": {**tot_stype, "api99": float(apipop["api99"].sum())},
        "tot_logit": {**tot_stype, "sch.wide[T.Yes]": schwide["Yes"],
                      "api99": float(apipop["api99"].sum())},
    }


Case = Callable[[SurveyDesign, dict], SurveyDesign]


def _one_pass_trim(des: SurveyDesign, lower: float, upper: float) -> SurveyDesign:
    """R's trimWeights(strict=FALSE): one pass, which here leaves one weight above ``upper``."""
    with pytest.warns(UserWarning, match="1 weight.*still outside"):
        return trim(des, lower=lower, upper=upper, max_iter=1)

CASES: dict[tuple[str, str], Case] = {
    ("apiclus1", "cal_linear"): lambda d, p: calibrate(d, "~stype + api99", p["tot_api99"]),
    ("apiclus1", "cal_linear_stype"): lambda d, p: calibrate(d, "~stype", p["tot_stype"]),
    ("apiclus1", "cal_logit"): lambda d, p: calibrate(
        d, "~stype + api99", p["tot_api99"], method="logit", bounds=(0.7, 1.7), tol=TIGHT,
        max_iter=100),
    ("apiclus1", "cal_raking"): lambda d, p: calibrate(
        d, "~stype + api99", p["tot_api99"], method="raking", tol=TIGHT, max_iter=100),
    ("apiclus1", "cal_linear_bounded"): lambda d, p: calibrate(
        d, "~stype + api99", p["tot_api99"], method="linear", bounds=(0.7, 1.7), tol=TIGHT,
        max_iter=100),
    # R: calibrate(list(~stype, ~sch.wide), calfun="raking", bounds=c(0.8, 1.8)) == bounded rake
    ("apiclus1", "cal_raking_margins_bounded"): lambda d, p: rake(
        d, {"stype": p["types"], "sch.wide": p["schwide"]}, bounds=(0.8, 1.8), tol=TIGHT).design,
    ("apiclus1", "poststratify_stype"): lambda d, p: poststratify(d, "stype", p["types"]),
    ("apiclus1", "rake_stype_schwide"): lambda d, p: rake(
        d, {"stype": p["types"], "sch.wide": p["schwide"]}, tol=TIGHT, max_iter=500).design,
    ("apiclus1", "trim_loose"): lambda d, p: trim(
        calibrate(d, "~stype", p["tot_stype"]), lower=31, upper=50, max_iter=1),
    ("apiclus1", "trim_strict"): lambda d, p: trim(
        calibrate(d, "~stype", p["tot_stype"]), lower=31, upper=50),
    ("apiclus1", "trim_greg_loose"): lambda d, p: _one_pass_trim(
        calibrate(d, "~stype + api99", p["tot_api99"]), lower=20, upper=50),
    ("apiclus1", "trim_greg_strict"): lambda d, p: trim(
        calibrate(d, "~stype + api99", p["tot_api99"]), lower=20, upper=50),
    ("apistrat", "trim_loose"): lambda d, p: trim(d, lower=20, upper=35, max_iter=1),
    ("apistrat", "cal_linear"): lambda d, p: calibrate(d, "~stype + api99", p["tot_api99"]),
    ("apistrat", "cal_logit"): lambda d, p: calibrate(
        d, "~stype + sch.wide + api99", p["tot_logit"], method="logit", bounds=(0.6, 1.6),
        tol=TIGHT, max_iter=100),
    ("apistrat", "poststratify_cells"): lambda d, p: poststratify(
        d, ["stype", "sch.wide"], p["cells"]),
    ("apistrat", "rake_stype_schwide"): lambda d, p: rake(
        d, {"stype": p["types"], "sch.wide": p["schwide"]}, tol=TIGHT, max_iter=500).design,
    ("apistrat", "trim_strict"): lambda d, p: trim(d, lower=18, upper=40),
}


def _design(name: str, dclus1: SurveyDesign, dstrat: SurveyDesign) -> SurveyDesign:
    return {"apiclus1": dclus1, "apistrat": dstrat}[name]


def _check_against_r(data: str, case: str, des: SurveyDesign, r_weights: dict,
                     r_estimates: pd.DataFrame) -> None:
    ref_w = r_weights[data][case].to_numpy()
    np.testing.assert_allclose(des.weights, ref_w, rtol=1e-8, atol=0)
    for var in ("api00", "ell"):
        row = r_estimates[(r_estimates["data"] == data) & (r_estimates["case"] == case)
                          & (r_estimates["variable"] == var)]
        assert len(row) == 1
        m, s = mean_and_se(des, var)
        assert m == pytest.approx(row["mean"].iloc[0], rel=1e-6)
        assert s == pytest.approx(row["se"].iloc[0], rel=1e-4)


# -- agreement with R ----------------------------------------------------------------------------
@pytest.mark.parametrize(("data", "case"), sorted(CASES))
def test_weights_and_se_match_r(data, case, dclus1, dstrat, pop, r_weights, r_estimates):
    des = CASES[(data, case)](_design(data, dclus1, dstrat), pop)
    _check_against_r(data, case, des, r_weights, r_estimates)


@pytest.mark.parametrize("data", ["apiclus1", "apistrat"])
def test_unweighted_base_matches_r(data, dclus1, dstrat, r_weights, r_estimates):
    """The un-calibrated design (sanity check of the fixture pipeline itself)."""
    _check_against_r(data, "base", _design(data, dclus1, dstrat), r_weights, r_estimates)


def test_trim_strict_differs_from_one_pass(r_weights):
    """Guard: the fixture cases really distinguish one pass from iterated trimming."""
    w = r_weights["apiclus1"]
    assert w["trim_greg_loose"].max() > 50 + 0.2 and w["trim_greg_strict"].max() <= 50


def test_zero_columns_and_uncarried_targets(dclus1, pop):
    """An all-zero column with a zero total is kept (harmless); with a non-zero total it is an
    error naming the column (R would drop the former and fail obscurely on the latter)."""
    data = dclus1.data
    x = pd.DataFrame({"one": 1.0, "H": (data["stype"] == "H").astype(float), "none": 0.0})
    des = calibrate(dclus1, x, [pop["N"], pop["types"]["H"], 0.0], method="raking")
    assert des.weights.sum() == pytest.approx(pop["N"], rel=1e-10)
    with pytest.raises(WeightingError, match="zero for every respondent") as info:
        calibrate(dclus1, x, [pop["N"], pop["types"]["H"], 5.0])
    assert info.value.values == ["none"]


def test_calibration_changes_the_se(dclus1, r_estimates):
    """Guard: the calibrated SE differs a lot from the uncalibrated one, so the residualizer
    (not just the weights) is what makes the R comparison pass."""
    base = r_estimates.query("data == 'apiclus1' and case == 'base' and variable == 'api00'")
    cal = r_estimates.query("data == 'apiclus1' and case == 'cal_linear' and variable == 'api00'")
    assert cal["se"].iloc[0] < 0.2 * base["se"].iloc[0]


def test_matrix_and_column_forms_equal_formula(dclus1, pop, r_weights):
    """A DataFrame of calibration variables + a totals vector gives R's weights too."""
    data = dclus1.data
    x = pd.DataFrame({"one": 1.0, "H": (data["stype"] == "H").astype(float),
                      "M": (data["stype"] == "M").astype(float), "api99": data["api99"]})
    t = list(pop["tot_api99"].values())
    ref = r_weights["apiclus1"]["cal_linear"].to_numpy()
    np.testing.assert_allclose(calibrate(dclus1, x, t).weights, ref, rtol=1e-8)
    np.testing.assert_allclose(calibrate(dclus1, x.to_numpy(), t).weights, ref, rtol=1e-8)
    # with a collinear duplicate column (consistent total): same solution, nothing dropped
    x2 = x.assign(E=1.0 - x["H"] - x["M"])
    t2 = [*t, pop["types"]["E"]]
    des = calibrate(dclus1, x2, t2, method="logit", bounds=(0.7, 1.7), tol=TIGHT)
    cal = des.calibrations[-1]
    assert cal.rank == 4 and len(cal.columns) == 5
    np.testing.assert_allclose(des.weights, r_weights["apiclus1"]["cal_logit"], rtol=1e-8)
    # list of data columns
    d2 = SurveyDesign(data.assign(one=1.0), weights="pw", psu="dnum", fpc="fpc")
    res = calibrate(d2, ["one", "api99"], [pop["N"], pop["tot_api99"]["api99"]])
    assert res.weights.sum() == pytest.approx(pop["N"], rel=1e-12)
    assert (res.weights * data["api99"]).sum() == pytest.approx(pop["tot_api99"]["api99"],
                                                               rel=1e-12)


def test_greg_total_of_calibration_variable_has_zero_variance(dclus1, pop):
    """After GREG, the estimated total of a calibration variable is fixed: variance 0."""
    des = calibrate(dclus1, "~stype + api99", pop["tot_api99"])
    y = des.data["api99"].to_numpy(dtype=float)
    v = des.vcov(des.weights * y)
    assert abs(v[0, 0]) < 1e-12 * (des.weights * y).sum() ** 2
    assert isinstance(des.calibrations[-1], GregCalibration)
    assert des.calibrations[-1].iterations == 1


def test_many_indicator_columns_logit(dclus1):
    """~200 overlapping indicator columns (groups x codes) with logit bounds: exact hits."""
    rng = np.random.default_rng(20260101)
    n = dclus1.n_total
    groups = rng.random((n, 15)) < 0.5
    codes = rng.integers(1, 4, n)
    x = np.column_stack([np.ones(n)] + [groups[:, k] & (codes == c)
                                        for k in range(15) for c in (1, 2, 3)]).astype(float)
    target_w = dclus1.weights * rng.uniform(0.8, 1.25, n)
    totals = x.T @ target_w
    des = calibrate(dclus1, x, totals, method="logit", bounds=(0.5, 2.0))
    np.testing.assert_allclose(x.T @ des.weights, totals, rtol=1e-9)
    g = des.weights / dclus1.weights
    assert g.min() > 0.5 and g.max() < 2.0
    with pytest.raises(ConvergenceError, match="did not converge") as info:
        calibrate(dclus1, x, totals * np.r_[1.0, np.full(45, 1.6)], method="logit",
                  bounds=(0.9, 1.1))
    assert "x" in str(info.value)  # names the worst columns


def test_failed_bounded_raking_says_what_went_wrong(dclus1, pop):
    """Issue 11.12: "rank of the calibration system 0 of 3" -> which targets the bounds block."""
    with pytest.raises(ConvergenceError, match="cannot be reached with every g-weight inside "
                                               r"the bounds \(0.9, 1.1\)") as info:
        rake(dclus1, {"stype": pop["types"]}, bounds=(0.9, 1.1))
    msg = str(info.value)
    assert "stype=H (needs g = 1.593" in msg and "rank" not in msg


# -- rake specifics ------------------------------------------------------------------------------
def test_rake_shares_and_population(dclus1, pop, r_weights):
    """Shares summing to 1, scaled by population=, give R's raked weights (counts)."""
    n = pop["N"]
    shares = {"stype": {k: v / n for k, v in pop["types"].items()},
              "sch.wide": {k: v / n for k, v in pop["schwide"].items()}}
    res = rake(dclus1, shares, population=n, tol=TIGHT, max_iter=500)
    np.testing.assert_allclose(res.weights, r_weights["apiclus1"]["rake_stype_schwide"],
                               rtol=1e-8)
    # without population=, shares are scaled to the design's weighted total
    res2 = rake(dclus1, shares, tol=TIGHT, max_iter=500)
    assert res2.weights.sum() == pytest.approx(dclus1.weights.sum(), rel=1e-12)
    # shares next to counts are ambiguous: an error naming each margin and its sum
    mixed = {"stype": pop["types"], "sch.wide": shares["sch.wide"]}
    with pytest.raises(WeightingError, match="mix shares") as info:
        rake(dclus1, mixed)
    assert info.value.values == ["stype: 6194", "sch.wide: 1"]


def test_rake_shares_not_summing_to_one_are_refused(dclus1):
    """Issue 11.2: {1: 0.40, 2: 0.21, 3: 0.29} used to be taken as counts (weights sum 0.9)."""
    bad = {"E": 0.40, "H": 0.21, "M": 0.29}
    with pytest.raises(WeightingError, match="do not sum to 1") as info:
        rake(dclus1, {"stype": bad})
    assert info.value.values == ["stype: 0.9"]
    # the same when every margin shares the wrong sum
    with pytest.raises(WeightingError, match="do not sum to 1"):
        rake(dclus1, {"stype": bad, "sch.wide": {"No": 0.3, "Yes": 0.6}})
    # counts that agree are counts
    res = rake(dclus1, {"stype": {"E": 400, "H": 210, "M": 290}})
    assert res.weights.sum() == pytest.approx(900)


def test_rake_result_fields(dclus1, pop, apiclus1):
    res = rake(apiclus1, {"stype": pop["types"], "sch.wide": pop["schwide"]}, weights="pw")
    assert res.converged
    h = res.history
    assert list(h.columns) == ["iteration", "margin", "max_abs_deviation"]
    assert h["iteration"].max() == res.iterations
    assert set(h["margin"]) == {"stype", "sch.wide"}
    last = h[h["iteration"] == res.iterations]["max_abs_deviation"]
    assert (last <= 1e-8 * pop["N"]).all()
    # deviations shrink: the first sweep is far off, the last is within tol
    assert h["max_abs_deviation"].iloc[0] > 100
    wsum = pd.Series(res.weights).groupby(apiclus1["stype"].to_numpy()).sum()
    np.testing.assert_allclose(wsum[["E", "H", "M"]].to_numpy(),
                               [pop["types"][k] for k in "EHM"], rtol=1e-7)
    assert res.targets["stype"]["H"] == pop["types"]["H"]


def test_rake_row_loop_equals_cell_table(dclus1, pop, r_weights, monkeypatch):
    """The row-level IPF (used when the margins have too many cells) gives R's weights too."""
    import sys

    rake_mod = sys.modules["surveykit.weighting.rake"]  # the package attribute is the function
    monkeypatch.setattr(rake_mod, "_cell_table", lambda *a: None)
    margins = {"stype": pop["types"], "sch.wide": pop["schwide"]}
    res = rake(dclus1, margins, tol=TIGHT, max_iter=500)
    np.testing.assert_allclose(res.weights, r_weights["apiclus1"]["rake_stype_schwide"],
                               rtol=1e-8)
    _, s = mean_and_se(res.design, "api00")
    assert s == pytest.approx(23.703616887922493, rel=1e-4)  # R, weighting_estimates.csv


def test_rake_integer_codes_and_string_keys():
    """Codes stored as integers match YAML-style string keys; hand-checkable 2x2 raking."""
    df = pd.DataFrame({"a": [1, 1, 2, 2], "b": [1, 2, 1, 2]})
    res = rake(df, {"a": {"1": 50, "2": 50}, "b": {1: 30, 2: 70}}, tol=1e-12)
    # independent 2x2 with equal starting weights: w_ij = 100 * p_a(i) * p_b(j)
    np.testing.assert_allclose(res.weights, [15, 35, 15, 35], rtol=1e-10)


# -- error paths ---------------------------------------------------------------------------------
def test_rake_target_category_absent_from_sample(dclus1, pop):
    bad = {**pop["types"], "X": 10}
    with pytest.raises(WeightingError, match="absent from the sample") as info:
        rake(dclus1, {"stype": bad})
    assert info.value.column == "stype" and "X" in info.value.values


def test_rake_sample_category_absent_from_targets(dclus1, pop):
    bad = {k: v for k, v in pop["types"].items() if k != "M"}
    with pytest.raises(WeightingError, match="absent from the targets") as info:
        rake(dclus1, {"stype": bad})
    assert info.value.column == "stype" and info.value.values == ["M"]


def test_rake_margins_disagree(dclus1, pop):
    doubled = {k: 2 * v for k, v in pop["schwide"].items()}
    with pytest.raises(WeightingError, match="different population totals") as info:
        rake(dclus1, {"stype": pop["types"], "sch.wide": doubled})
    assert any("12388" in str(v) for v in info.value.values)


def test_rake_missing_values_named(apiclus1, pop):
    df = apiclus1.copy()
    df.loc[[3, 10, 11], "stype"] = None
    with pytest.raises(WeightingError, match="3 missing") as info:
        rake(df, {"stype": pop["types"]}, weights="pw")
    assert info.value.column == "stype" and info.value.count == 3


def test_rake_non_convergence_reports_deviations(dclus1, pop):
    with pytest.raises(ConvergenceError, match="did not converge in 2") as info:
        rake(dclus1, {"stype": pop["types"], "sch.wide": pop["schwide"]}, tol=1e-14,
             max_iter=2)
    assert {str(v).split(":")[0] for v in info.value.values} == {"stype", "sch.wide"}


def test_calibrate_errors(dclus1, pop):
    tot = dict(pop["tot_api99"])
    del tot["api99"]
    with pytest.raises(WeightingError, match="do not match") as info:
        calibrate(dclus1, "~stype + api99", tot)
    assert "missing api99" in info.value.values
    with pytest.raises(ConvergenceError):
        calibrate(dclus1, "~stype + api99", pop["tot_api99"], method="logit",
                  bounds=(0.95, 1.05))
    with pytest.raises(WeightingError, match="finite g-bounds"):
        calibrate(dclus1, "~stype", pop["tot_stype"], method="logit")
    halved = {**pop["tot_api99"], "api99": 0.3 * pop["tot_api99"]["api99"]}
    with pytest.raises(WeightingError, match="negative weight"):
        calibrate(dclus1, "~stype + api99", halved)
    with pytest.raises(WeightingError, match="missing value") as info:
        calibrate(dclus1, "~stype + acs.core", {})  # acs.core is NA for elementary schools
    assert info.value.column == "acs.core"


def test_poststratify_errors(dclus1, pop):
    with pytest.raises(WeightingError, match="absent from the population"):
        poststratify(dclus1, "stype", {"E": 4421, "H": 755})
    with pytest.raises(WeightingError, match="no sample weight"):
        poststratify(dclus1, "stype", {**pop["types"], "X": 3})
    des = poststratify(dclus1, "stype", {**pop["types"], "X": 3}, partial=True)
    assert des.weights.sum() == pytest.approx(pop["N"], rel=1e-12)


def test_trim_errors_and_no_redistribution(dstrat):
    with pytest.raises(SurveyKitError):
        trim(dstrat, lower=50, upper=60)  # every weight is below 50: nobody takes the excess
    # issue 11.3: bounds around the wrong level (apistrat's mean weight is 30.97) were met
    # with a warning and weights outside them; now a typed error naming the mean weight
    with pytest.raises(WeightingError, match=r"cannot hold: the mean weight is 30\.97"):
        trim(dstrat, lower=2, upper=3)
    with pytest.raises(WeightingError, match="cannot hold"):
        trim(dstrat, lower=35, upper=60)
    clipped = trim(dstrat, lower=18, upper=40, redistribute=False)
    assert clipped.weights.max() == 40 and clipped.weights.min() == 18
    assert clipped.weights.sum() < dstrat.weights.sum()


# -- diagnostics ---------------------------------------------------------------------------------
def test_weight_summary_hand_calculation():
    s = weight_summary(np.array([1.0, 2.0, 3.0, 4.0]))
    # sum 10, mean 2.5, population sd sqrt(1.25); deff = 4 * 30 / 100 = 1.2 = 1 + cv^2
    assert s["n"] == 4 and s["sum"] == 10 and s["max_min_ratio"] == 4
    assert s["cv"] == pytest.approx(np.sqrt(1.25) / 2.5)
    assert s["deff_kish"] == pytest.approx(1.2)
    assert s["deff_kish"] == pytest.approx(1 + s["cv"] ** 2)
    assert s["n_effective"] == pytest.approx(4 / 1.2)


def test_margin_table(dclus1, pop):
    margins = {"stype": pop["types"], "sch.wide": pop["schwide"]}
    res = rake(dclus1, margins)
    tab = margin_table(dclus1, res.design, margins)
    assert list(tab.columns) == ["variable", "category", "n_unweighted", "unweighted_share",
                                 "sample_share", "weighted_share", "target_share", "difference"]
    assert len(tab) == 5
    assert tab["difference"].abs().max() < 1e-7
    e = tab[(tab["variable"] == "stype") & (tab["category"] == "E")].iloc[0]
    assert e["n_unweighted"] == 144 and e["unweighted_share"] == pytest.approx(144 / 183)
    # apiclus1 has equal weights, so the sample share is the unweighted share
    assert e["sample_share"] == pytest.approx(144 / 183)
    assert e["target_share"] == pytest.approx(4421 / 6194)


def test_rake_in_a_domain_keeps_rows_outside(dclus1):
    """Raking a domain (R's subset) reweights only the domain; the other rows keep weight 0 in
    analysis and their base weights; nothing is dropped."""
    dom = dclus1.subset(dclus1.data["stype"] == "E")
    res = rake(dom, {"sch.wide": {"Yes": 0.8, "No": 0.2}}, population=4421)
    inside = dclus1.data["stype"].to_numpy() == "E"
    assert res.weights[~inside].sum() == 0 and len(res.weights) == dclus1.n_total
    np.testing.assert_allclose(res.design.base_weights[~inside], dclus1.base_weights[~inside])
    yes = (dclus1.data["sch.wide"] == "Yes").to_numpy() & inside
    assert res.weights[yes].sum() == pytest.approx(0.8 * 4421, rel=1e-9)
    assert res.weights.sum() == pytest.approx(4421, rel=1e-9)
