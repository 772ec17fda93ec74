"""crosstab(percent=..., ci=True) and item-battery shares against R (issue 20 items 1 and 4):
column / row / cell shares with svyciprop CIs (tests/r/fixtures_crosstab_percent.R) on a
clustered design, its JK1 replicate design and a domain; the default reads "outcome within
group"; svymean(~factor(a)+factor(b)+factor(c), na.rm=TRUE) for a listwise battery."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import surveykit as sk
from surveykit.design import SurveyDesign
from tests.conftest import R_FIXTURES, r_jk1_design

EST_RTOL, SE_RTOL = 1e-6, 1e-4


def _items(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    out["meals3"] = 1 + (out["meals"] > 30).astype(int) + (out["meals"] > 60).astype(int)
    ell = 1 + (out["ell"] > 10).astype(int) + (out["ell"] > 30).astype(int)
    out["ell3"] = ell.where(out["acs.46"].notna())  # missing where acs.46 is (as the R script)
    out["mob3"] = 1 + (out["mobility"] > 10).astype(int) + (out["mobility"] > 20).astype(int)
    return out


@pytest.fixture(scope="module")
def designs(apiclus1) -> dict[str, sk.SurveyDesign]:
    data = _items(apiclus1)
    clus1 = SurveyDesign(data, weights="pw", psu="dnum", fpc="fpc")
    return {"clus1": clus1, "jk1_clus1": r_jk1_design(data),
            "clus1_domain": clus1.subset(data["enroll"].gt(300).to_numpy())}


@pytest.fixture(scope="module")
def ref() -> pd.DataFrame:
    return pd.read_csv(R_FIXTURES / "crosstab_percent.csv", keep_default_na=False)


def _code(v: str):
    try:
        return int(float(v))
    except ValueError:
        return v


CASES = [(d, r, c, m, pc) for d in ("clus1", "jk1_clus1", "clus1_domain")
         for r, c in (("stype", "awards"), ("ell3", "stype"), ("meals3", "sch.wide"))
         for m in ("logit", "beta") for pc in ("column", "row", "cell")]


@pytest.mark.parametrize("design, row, col, method, percent", CASES)
def test_crosstab_shares_and_cis_match_r(designs, ref, design, row, col, method, percent):
    want = ref[(ref["design"] == design) & (ref["row"] == row) & (ref["col"] == col)
               & (ref["method"] == method) & (ref["percent"] == percent)]
    assert len(want) >= 4
    degenerate = design == "jk1_clus1" and method == "logit" and row == "ell3"
    if degenerate:
        # a JK1 replicate has a share of 0 in some cell, so its logit is -inf: we drop that
        # replicate with a warning, R's svyglm stops at a large finite logit that depends on
        # its convergence (README, differences from R); estimates and SEs still agree
        with pytest.warns(UserWarning, match="undefined"):
            tab = sk.crosstab(designs[design], row, col, percent=percent,
                              ci_method=method).table
    else:
        tab = sk.crosstab(designs[design], row, col, percent=percent, ci_method=method).table
    got = tab.set_index(["row", "col"])
    keys = [(_code(a), _code(b)) for a, b in zip(want["row_level"], want["col_level"],
                                                  strict=True)]
    got = got.loc[keys]
    np.testing.assert_allclose(got["estimate"], want["estimate"].astype(float), rtol=EST_RTOL)
    np.testing.assert_allclose(got["std_error"], want["se"].astype(float), rtol=SE_RTOL)
    if degenerate:
        return
    np.testing.assert_allclose(got["ci_low"], want["ci_low"].astype(float), rtol=SE_RTOL)
    np.testing.assert_allclose(got["ci_high"], want["ci_high"].astype(float), rtol=SE_RTOL)


def test_default_reads_outcome_within_group(designs):
    """crosstab(d, outcome, group): each group's column of shares sums to 1; the other shares
    stay available whatever percent is; the test is unchanged by percent."""
    d = designs["clus1"]
    ct = sk.crosstab(d, "stype", "awards")
    assert ct.percent == "column"
    sums = ct.table.groupby("col")["estimate"].sum()
    np.testing.assert_allclose(sums, 1.0, rtol=1e-12)
    within = sk.proportion(d, "stype", by="awards")
    got = ct.table.sort_values(["col", "row"])["estimate"].to_numpy()
    np.testing.assert_allclose(got, within["estimate"], rtol=1e-12)
    np.testing.assert_allclose(ct.table["col_share"], ct.table["estimate"], rtol=0)
    cell = sk.crosstab(d, "stype", "awards", percent="cell")
    np.testing.assert_allclose(cell.table["estimate"], ct.table["cell_share"], rtol=0)
    assert cell.test == ct.test
    row = sk.crosstab(d, "stype", "awards", percent="row", ci=False)
    assert row.table["ci_low"].isna().all()
    np.testing.assert_allclose(row.table.groupby("row")["estimate"].sum(), 1.0, rtol=1e-12)


def test_bad_percent_and_na_are_typed_errors(designs):
    with pytest.raises(sk.SurveyKitError, match="percent"):
        sk.crosstab(designs["clus1"], "stype", "awards", percent="columns")
    with pytest.raises(sk.SurveyKitError, match="listwise"):
        sk.crosstab(designs["clus1"], "stype", "awards", na="per_variable")


@pytest.mark.parametrize("design", ["clus1", "jk1_clus1", "clus1_domain"])
def test_listwise_battery_shares_match_svymean(designs, design):
    want = pd.read_csv(R_FIXTURES / "battery_shares.csv")
    want = want[want["design"] == design]
    d = designs[design]
    items = ["meals3", "ell3", "mob3"]
    long = sk.proportion(d, items, na="listwise")
    np.testing.assert_allclose(long["estimate"], want["estimate"], rtol=EST_RTOL)
    np.testing.assert_allclose(long["std_error"], want["se"], rtol=SE_RTOL)
    bat = sk.likert(d, items, labels={1: "low", 2: "mid", 3: "high"})
    np.testing.assert_allclose(bat[["low", "mid", "high"]].to_numpy().ravel(),
                               100 * want["estimate"].to_numpy(), rtol=EST_RTOL)
