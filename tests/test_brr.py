"""BRR, Fay, JKn and JK1 replicate weights element-wise against R (tests/r/fixtures_brr.R)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import R_FIXTURES, read_r_data

import surveykit as sk
from surveykit.design import SurveyDesign
from surveykit.errors import DesignError
from surveykit.hadamard import hadamard
from surveykit.replicates import make_replicate_design

METHODS = {"BRR": ("brr", None), "Fay0.3": ("brr", 0.3), "JKn": ("jkn", None),
           "JK1": ("jk1", None)}


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return pd.read_csv(R_FIXTURES / "brr_data.csv", keep_default_na=False)


@pytest.fixture(scope="module")
def mults() -> pd.DataFrame:
    return pd.read_csv(R_FIXTURES / "brr_multipliers.csv")


@pytest.fixture(scope="module")
def results() -> pd.DataFrame:
    return pd.read_csv(R_FIXTURES / "brr_results.csv", keep_default_na=False)


def generated(data: pd.DataFrame, name: str) -> pd.DataFrame:
    d = data[data["design"] == name].reset_index(drop=True)
    if name != "text":  # numeric labels, as in R: sorted as text ("10" < "2")
        d["stratum"] = d["stratum"].astype(int)
    return d


def build(d: pd.DataFrame, method: str, strata: str = "stratum", psu: str = "psu", **kw):
    how, rho = METHODS[method]
    if how == "jk1":
        design = SurveyDesign(d, weights=kw.pop("weights", "w"), psu=psu, **kw)
    else:
        design = SurveyDesign(d, weights=kw.pop("weights", "w"), strata=strata, psu=psu, **kw)
    return make_replicate_design(design, how, fay_rho=rho)


def check(rep, d: pd.DataFrame, name: str, method: str, mults: pd.DataFrame,
          results: pd.DataFrame) -> None:
    want = mults[(mults["design"] == name) & (mults["method"] == method)]
    r = results[(results["design"] == name) & (results["method"] == method)]
    assert rep.n_replicates == int(r["n_rep"].iloc[0])
    assert rep.scale == pytest.approx(float(r["scale"].iloc[0]), rel=1e-12)
    if len(want):
        rows = want["psu_row"].to_numpy() - 1
        got = rep.repweights[rows, want["rep"].to_numpy() - 1] / rep.base_weights[rows]
        np.testing.assert_allclose(got, want["value"], rtol=1e-8, atol=1e-12)
    m = sk.mean(rep, "y")
    mr = r[r["stat"] == "mean"]
    np.testing.assert_allclose(m["estimate"], mr["estimate"].astype(float), rtol=1e-6)
    np.testing.assert_allclose(m["std_error"], mr["se"].astype(float), rtol=1e-4)
    p = sk.proportion(rep, "g")
    pr = r[r["stat"] == "prop"]
    np.testing.assert_allclose(p["std_error"], pr["se"].astype(float), rtol=1e-4)


GENERATED = [(f"k{k}", m) for k in range(2, 31) for m in ("BRR", "Fay0.3")] + [
    (n, m) for n in ("k5", "k11", "text", "large") for m in ("JKn", "JK1")] + [
    ("text", "BRR"), ("text", "Fay0.3"), ("large", "BRR"), ("large", "Fay0.3")]


@pytest.mark.filterwarnings("ignore:.*gave undefined estimates:UserWarning")  # as R's svrVar
@pytest.mark.parametrize(("name", "method"), GENERATED, ids=[f"{n}-{m}" for n, m in GENERATED])
def test_replicate_weights_equal_r_elementwise(name, method, data, mults, results):
    d = generated(data, name)
    check(build(d, method), d, name, method, mults, results)


@pytest.mark.parametrize("method", ["BRR", "Fay0.3"])
def test_nhanes_brr_equals_r(method, mults, results):
    nh = read_r_data("nhanes")
    nh = nh[(nh["SDMVPSU"] != 3) & nh["HI_CHOL"].notna()].reset_index(drop=True)
    nh = nh.assign(y=nh["HI_CHOL"], g=nh["agecat"].astype(str))
    rep = build(nh, method, strata="SDMVSTRA", psu="SDMVPSU", weights="WTMEC2YR", nest=True)
    check(rep, nh, "nhanes", method, mults, results)


def test_float_stratum_labels_sort_like_r(data, mults, results):
    d = generated(data, "k12")
    rep = build(d.assign(stratum=d["stratum"].astype(float)), "BRR")
    check(rep, d, "k12", "BRR", mults, results)


def test_brr_refuses_what_r_refuses(data):
    d = generated(data, "k5")
    one = d[~((d["stratum"] == 3) & (d["psu"] == d.loc[d["stratum"] == 3, "psu"].iloc[0]))]
    with pytest.raises(DesignError, match="at least 2 PSUs"):
        build(one.reset_index(drop=True), "BRR", lonely_psu="remove")
    three = generated(data, "large")
    extra = three[three["stratum"] == 1].assign(psu=99999)
    with pytest.raises(DesignError, match="even number"):
        build(pd.concat([three, extra], ignore_index=True), "BRR")


def test_hadamard_is_hadamard():
    for n in (1, 3, 11, 15, 27, 35, 55, 99):
        h = hadamard(n).astype(int) * 2 - 1
        assert h.shape[0] > n and h.shape[0] == h.shape[1]
        np.testing.assert_array_equal(h @ h.T, h.shape[0] * np.eye(h.shape[0]))
    assert hadamard(11).shape == (12, 12) and hadamard(15).shape == (16, 16)
