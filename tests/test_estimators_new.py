"""ratio (svyratio), var (svyvar) and table (svytable) against R on stratified, clustered,
replicate designs and domains."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from surveykit.errors import EstimationError
from surveykit.estimation import ratio, table, var
from surveykit.inference import contrast
from tests import r_estimators as rr


@pytest.fixture(scope="module")
def ref() -> pd.DataFrame:
    return rr.load()


def _check(res: pd.DataFrame, want: pd.DataFrame, names: list[str] | None = None) -> None:
    if names is not None:
        assert names == list(want["name"])
    np.testing.assert_allclose(res["estimate"], want["estimate"], rtol=rr.RTOL_EST)
    np.testing.assert_allclose(res["std_error"], want["se"], rtol=rr.RTOL_SE)


def test_ratio_matches_svyratio(dstrat, dclus1, jk1, ref, apistrat):
    res = ratio(dstrat, ["api00", "api99"], "enroll")
    _check(res, rr.rows(ref, "ratio_dstrat", "ratio"), list(res["variable"]))
    _check(ratio(dclus1, "api00", "enroll"), rr.rows(ref, "ratio_dclus1", "ratio"))
    _check(ratio(jk1, "api00", "enroll"), rr.rows(ref, "ratio_jk1", "ratio"))
    dom = dstrat.subset(dstrat.data["meals"].gt(30).to_numpy())
    _check(ratio(dom, "api00", "enroll"), rr.rows(ref, "ratio_domain", "ratio"))
    na = ratio(dstrat, "acs.k3", "enroll")
    _check(na, rr.rows(ref, "ratio_na", "ratio"))
    assert na["n_missing"].item() == int(apistrat["acs.k3"].isna().sum())
    assert np.isnan(na["deff"].item())


def test_ratio_by_groups_and_joint_covariance(dclus1, jk1, ref):
    res = ratio(dclus1, "api00", "enroll", by="stype")
    _check(res, rr.rows(ref, "ratio_by_dclus1", "ratio"), list(res["stype"]))
    rj = ratio(jk1, "api00", "enroll", by="stype", vcov=True)
    rr.check_vcov(rj, ref, "ratio_by_jk1")
    diff = contrast(rj, {"E": 1, "H": -1})
    v = rj.attrs["vcov"]
    assert diff["std_error"].item() == pytest.approx(
        np.sqrt(v.loc["E", "E"] + v.loc["H", "H"] - 2 * v.loc["E", "H"]), rel=1e-12)


def test_var_matches_svyvar(dstrat, dclus1, jk1, ref):
    one = var(dstrat, "api00")
    _check(one, rr.rows(ref, "var_dstrat", "var"))
    three = var(dclus1, ["api00", "api99", "enroll"], vcov=True)
    want = rr.rows(ref, "var3_dclus1", "var")
    _check(three, want, [f"{a}:{b}" for a, b in zip(three["variable"], three["variable2"],
                                                    strict=True)])
    m = three.attrs["matrix"]
    assert m.loc["api00", "enroll"] == m.loc["enroll", "api00"] < 0
    assert list(three.attrs["vcov"].index)[1] == "api00:api99"
    two = var(jk1, ["api00", "api99"])
    _check(two, rr.rows(ref, "var2_jk1", "var"))
    dom = dstrat.subset(dstrat.data["meals"].gt(30).to_numpy())
    _check(var(dom, "api00"), rr.rows(ref, "var_domain", "var"))
    _check(var(dstrat, "acs.k3"), rr.rows(ref, "var_na", "var"))
    jdom = jk1.subset(jk1.data["meals"].gt(30).to_numpy())
    _check(var(jdom, "api00"), rr.rows(ref, "var_jk1_domain", "var"))


def _cells(res: pd.DataFrame, row: str, col: str) -> list[str]:
    return list(res[row].astype(str) + "." + res[col].astype(str))


def test_table_matches_svytable_and_svytotal(dstrat, dclus1, jk1, ref):
    res = table(dstrat, "stype", "awards", vcov=True)
    want = rr.rows(ref, "table_dstrat", "table").set_index("name")
    got = res.set_index(pd.Index(_cells(res, "stype", "awards")))
    np.testing.assert_allclose(got["estimate"], want.loc[got.index, "estimate"],
                               rtol=rr.RTOL_EST)
    se = rr.rows(ref, "table_dstrat", "total_se").set_index("name")
    np.testing.assert_allclose(got["std_error"], se.loc[got.index, "se"], rtol=rr.RTOL_SE)
    assert list(res.attrs["vcov"].index) == list(got.index)
    assert res["n_unweighted"].sum() == len(dstrat.data)
    one = table(dclus1, "stype")
    want = rr.rows(ref, "table_dclus1", "table")
    assert list(one["stype"]) == list(want["name"])
    np.testing.assert_allclose(one["estimate"], want["estimate"], rtol=rr.RTOL_EST)
    rep = table(jk1, "stype", "awards")
    got = rep.set_index(pd.Index(_cells(rep, "stype", "awards")))
    want = rr.rows(ref, "table_jk1", "total_se").set_index("name")
    np.testing.assert_allclose(got["estimate"], want.loc[got.index, "estimate"],
                               rtol=rr.RTOL_EST)
    np.testing.assert_allclose(got["std_error"], want.loc[got.index, "se"], rtol=rr.RTOL_SE)


def test_table_domain_ntotal_round(dstrat, ref):
    dom = dstrat.subset(dstrat.data["meals"].gt(30).to_numpy())
    for case, res in (("table_domain", table(dom, "stype", "awards")),
                      ("table_ntotal", table(dstrat, "stype", "awards", Ntotal=1000)),
                      ("table_round", table(dstrat, "stype", "awards", round=True))):
        want = rr.rows(ref, case, "table").set_index("name")
        got = res.set_index(pd.Index(_cells(res, "stype", "awards")))
        np.testing.assert_allclose(got["estimate"], want.loc[got.index, "estimate"],
                                   rtol=rr.RTOL_EST, atol=1e-9)
    res = table(dstrat, "stype", "awards", Ntotal=1000)
    se = rr.rows(ref, "table_ntotal", "mean_se").set_index("name")
    got = res.set_index(pd.Index(_cells(res, "stype", "awards")))
    np.testing.assert_allclose(got["std_error"], se.loc[got.index, "se"], rtol=rr.RTOL_SE)
    assert res["estimate"].sum() == pytest.approx(1000)


def test_new_estimators_bad_input(dstrat):
    with pytest.raises(EstimationError, match="Ntotal"):
        table(dstrat, "stype", Ntotal=-1)
    with pytest.raises(EstimationError, match="denominator"):
        ratio(dstrat, "api00", ["enroll", "api99"])  # type: ignore[arg-type]
    with pytest.raises(EstimationError, match="numeric"):
        var(dstrat, "stype")
    with pytest.raises(EstimationError, match="empty"):
        ratio(dstrat.subset(dstrat.data["stype"].eq("H").to_numpy()), "acs.k3", "enroll")
