"""One documented behaviour for empty domains across every estimator (issue 11 items 5-7).

Rule (docs/ARCHITECTURE.md, Tidy results): an empty *domain* is an EstimationError naming the
variable and the domain size; an empty *group* within ``by=`` / ``likert(domains=)`` keeps its
NaN row(s) with n_unweighted 0 and a warning naming it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from surveykit.design import SurveyDesign
from surveykit.errors import EstimationError
from surveykit.estimation import crosstab, likert, mean, proportion, total


@pytest.fixture()
def dom(dclus1):
    """A domain with no respondents (apiclus1 has no school with enroll < 0)."""
    return dclus1.subset(dclus1.data["enroll"] < 0)


@pytest.mark.parametrize("call", [
    lambda d: mean(d, "api00"),
    lambda d: total(d, "api00"),
    lambda d: proportion(d, "stype"),
    lambda d: proportion(d, "stype", by="awards"),
    lambda d: mean(d, "api00", by="awards"),
    lambda d: likert(d, "stype"),
    lambda d: crosstab(d, "stype", "awards"),
], ids=["mean", "total", "proportion", "proportion_by", "mean_by", "likert", "crosstab"])
def test_empty_domain_is_a_typed_error_for_every_estimator(dom, call):
    with pytest.raises(EstimationError, match="the domain is empty") as info:
        call(dom)
    assert "'0 respondent(s) with a non-zero weight in the domain'" in str(info.value)


def test_empty_domain_on_a_replicate_design(dclus1):
    rep = dclus1.replicate("jk1")
    with pytest.raises(EstimationError, match="the domain is empty"):
        proportion(rep.subset(rep.data["enroll"] < 0), "stype")


def test_domain_whose_values_are_all_missing_is_empty(apiclus1):
    data = apiclus1.assign(v=np.where(apiclus1["awards"] == "Yes", np.nan, 1.0))
    d = SurveyDesign(data, weights="pw", psu="dnum")
    with pytest.raises(EstimationError, match="the domain is empty") as info:
        mean(d.subset(data["awards"] == "Yes"), "v")
    n_yes = int((apiclus1["awards"] == "Yes").sum())
    assert f"'{n_yes} of them missing'" in str(info.value)


def test_empty_group_within_by_is_a_nan_row_with_a_warning(apiclus1):
    data = apiclus1.assign(v=np.where(apiclus1["stype"] == "H", np.nan, apiclus1["api00"]),
                           c=np.where(apiclus1["stype"] == "H", None, apiclus1["awards"]))
    d = SurveyDesign(data, weights="pw", psu="dnum")
    for fn, var in ((mean, "v"), (total, "v"), (proportion, "c")):
        with pytest.warns(UserWarning, match=r"1 group\(s\) have no respondent.*stype=H"):
            res = fn(d, var, by="stype")
        h = res[res["stype"] == "H"]
        assert len(h) >= 1 and h["estimate"].isna().all() and h["std_error"].isna().all()
        assert (h["n_unweighted"] == 0).all()
        assert (h["n_missing"] == int((apiclus1["stype"] == "H").sum())).all()
        assert res.loc[res["stype"] != "H", "estimate"].notna().all()


def test_likert_empty_named_domain_is_a_nan_column_with_a_warning(dclus1):
    with pytest.warns(UserWarning, match="no respondent with a value of stype.*nobody"):
        tab = likert(dclus1, "stype", domains={"nobody": np.zeros(dclus1.n_total, bool)})
    assert tab["nobody"].iloc[:3].isna().all() and tab.loc["N", "nobody"] == 0
    assert tab["Total"].iloc[:3].sum() == pytest.approx(100)


def test_likert_refuses_a_continuous_variable_unless_asked(dclus1):
    """Issue 11.6: likert(d, "age") on a many-valued variable returned a 52-row table."""
    n_values = dclus1.data["api00"].nunique()
    with pytest.raises(EstimationError, match=f"{n_values} distinct values") as info:
        likert(dclus1, "api00")
    assert "max_levels" in str(info.value) and info.value.column == "api00"
    tab = likert(dclus1, "api00", max_levels=None)
    assert len(tab) == n_values + 2
    # an 11-point scale is still a Likert scale
    scale = dclus1.with_columns(s11=np.arange(dclus1.n_total) % 11)
    assert len(likert(scale, "s11")) == 13


def test_likert_shows_missing_answers(apiclus1):
    """Issue 11.6: missing answers are shown in the table (row "N missing"), per column."""
    data = apiclus1.copy()
    data.loc[data.index[:7], "stype"] = np.nan
    d = SurveyDesign(data, weights="pw", psu="dnum")
    tab = likert(d, "stype", by="awards")
    miss_by = data["stype"].isna().groupby(data["awards"]).sum()
    assert tab.loc["N missing", "Total"] == 7
    assert tab.loc["N missing", "No"] == miss_by["No"]
    assert tab.loc["N missing", "Yes"] == miss_by["Yes"]
    assert (tab.loc["N"] + tab.loc["N missing"]).tolist() == [
        183, int((data["awards"] == "No").sum()), int((data["awards"] == "Yes").sum())]


def test_total_overflowing_is_a_typed_error(apiclus1):
    """Issue 11.7: weights near 1e300 made total() return inf with RuntimeWarnings."""
    d = SurveyDesign(apiclus1.assign(w=1e300), weights="w", psu="dnum")
    with pytest.raises(EstimationError, match="overflows floating point") as info:
        total(d, "api00")
    assert info.value.column == "api00" and "largest weight 1e+300" in str(info.value)
    # the mean does not depend on the scale of the weights, and 183 x 1e300 is still finite
    m = mean(d, "api00")["estimate"].item()
    assert m == pytest.approx(apiclus1["api00"].mean(), rel=1e-12)


def test_proportion_overflow_is_a_typed_error(apiclus1):
    d = SurveyDesign(apiclus1.assign(w=1.5e308), weights="w", psu="dnum")
    with pytest.raises(EstimationError, match="overflows"):
        proportion(d, "stype")


def test_no_warning_when_no_group_is_empty(dclus1, recwarn):
    res = mean(dclus1, "api00", by="stype")
    assert not [w for w in recwarn.list if "no respondent" in str(w.message)]
    assert isinstance(res, pd.DataFrame)
