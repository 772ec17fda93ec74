"""`vcov=True` by-group covariances against R's `svyby(covmat=TRUE)` itself (cross-group terms
included: groups share PSUs and strata), on stratified, clustered, two-stage and nhanes designs
(tests/r/fixtures_covmat.R)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from conftest import R_FIXTURES

import surveykit as sk
from surveykit.design import SurveyDesign


@pytest.fixture(scope="module")
def rcov() -> pd.DataFrame:
    return pd.read_csv(R_FIXTURES / "covmat_svyby.csv", keep_default_na=False)


def _r_matrix(rcov: pd.DataFrame, case: str, rename) -> pd.DataFrame:
    sub = rcov[rcov["case"] == case]
    mat = sub.pivot(index="row", columns="col", values="value")
    mat.index = [rename(n) for n in mat.index]
    mat.columns = [rename(n) for n in mat.columns]
    return mat


def _compare(ours: pd.DataFrame, r: pd.DataFrame) -> None:
    assert sorted(ours.index) == sorted(r.index)
    r = r.loc[ours.index, ours.columns]
    scale = np.abs(np.diag(r.to_numpy())).max()
    np.testing.assert_allclose(ours.to_numpy(), r.to_numpy(), rtol=1e-6, atol=1e-9 * scale)
    off = ~np.eye(len(r), dtype=bool)
    assert np.abs(r.to_numpy()[off]).max() > 1e-6 * scale  # the cross terms are really there


def _same(name: str) -> str:
    return name


def test_mean_by_group_on_clustered_design(rcov, dclus1):
    res = sk.mean(dclus1, "api00", by="stype", vcov=True)
    _compare(res.attrs["vcov"], _r_matrix(rcov, "mean_clus1_stype", _same))


def test_mean_by_group_on_stratified_design(rcov, dstrat):
    res = sk.mean(dstrat, "api00", by="awards", vcov=True)
    _compare(res.attrs["vcov"], _r_matrix(rcov, "mean_strat_awards", _same))


def test_total_by_group_on_clustered_design(rcov, dclus1):
    res = sk.total(dclus1, "api00", by="stype", vcov=True)
    _compare(res.attrs["vcov"], _r_matrix(rcov, "total_clus1_stype", _same))


def test_proportion_by_group_on_clustered_design(rcov, dclus1):
    res = sk.proportion(dclus1, "stype", by="awards", vcov=True)
    rename = lambda n: re.sub(r"^(\w+):stype(\w)$", r"\1:stype:\2", n)  # noqa: E731
    _compare(res.attrs["vcov"], _r_matrix(rcov, "prop_clus1_awards", rename))


def test_mean_by_group_on_two_stage_design(rcov, apiclus2):
    design = SurveyDesign(apiclus2, psu=["dnum", "snum"], fpc=["fpc1", "fpc2"])
    res = sk.mean(design, "api00", by="stype", vcov=True)
    _compare(res.attrs["vcov"], _r_matrix(rcov, "mean_clus2_stype", _same))


def test_proportion_by_group_on_nhanes(rcov, dnh):
    res = sk.proportion(dnh, "RIAGENDR", by="race", vcov=True)
    rename = lambda n: re.sub(r"^(\d):factor\(RIAGENDR\)(\d)$", r"\1:RIAGENDR:\2", n)  # noqa: E731
    _compare(res.attrs["vcov"], _r_matrix(rcov, "prop_nhanes_race", rename))


def test_contrast_of_two_groups_equals_svycontrast(rcov, dclus1):
    res = sk.mean(dclus1, "api00", by="stype", vcov=True)
    got = sk.contrast(res, {"E": 1, "M": -1})
    ref = rcov[rcov["case"] == "contrast_clus1_E_M"].set_index("row")["value"]
    assert got["estimate"].iloc[0] == pytest.approx(ref["estimate"], rel=1e-6)
    assert got["std_error"].iloc[0] == pytest.approx(ref["se"], rel=1e-4)
