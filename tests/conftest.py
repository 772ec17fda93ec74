"""Shared test helpers: paths of the committed R fixtures and data sets."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import settings

# Property tests draw the same examples on every run (CI must not turn red on a new random
# draw); HYPOTHESIS_PROFILE=explore searches afresh, e.g. before a release.
settings.register_profile("surveykit", derandomize=True)
settings.register_profile("explore", derandomize=False, max_examples=200)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "surveykit"))

FIXTURES = Path(__file__).parent / "fixtures"
R_FIXTURES = FIXTURES / "r"
R_DATA = R_FIXTURES / "data"


def read_r_data(name: str) -> pd.DataFrame:
    """One of R survey's example data sets, exported by tests/r/export_data.R."""
    return pd.read_csv(R_DATA / f"{name}.csv")


@pytest.fixture(scope="session")
def apistrat() -> pd.DataFrame:
    return read_r_data("apistrat")


@pytest.fixture(scope="session")
def apiclus1() -> pd.DataFrame:
    return read_r_data("apiclus1")


@pytest.fixture(scope="session")
def apiclus2() -> pd.DataFrame:
    return read_r_data("apiclus2")


@pytest.fixture(scope="session")
def apipop() -> pd.DataFrame:
    return read_r_data("apipop")


@pytest.fixture(scope="session")
def nhanes() -> pd.DataFrame:
    return read_r_data("nhanes")


# R's standard example designs (as in the survey package's own examples)
@pytest.fixture(scope="session")
def dstrat(apistrat: pd.DataFrame):
    """svydesign(id=~1, strata=~stype, weights=~pw, fpc=~fpc, data=apistrat)"""
    from surveykit.design import SurveyDesign

    return SurveyDesign(apistrat, weights="pw", strata="stype", fpc="fpc")


@pytest.fixture(scope="session")
def dclus1(apiclus1: pd.DataFrame):
    """svydesign(id=~dnum, weights=~pw, fpc=~fpc, data=apiclus1)"""
    from surveykit.design import SurveyDesign

    return SurveyDesign(apiclus1, weights="pw", psu="dnum", fpc="fpc")


#: R's ``mealcat``: ``cut(meals, c(0, 25, 50, 75, 100))`` as an ordered factor (svyolr's example)
MEALCAT_LEVELS = ["(0,25]", "(25,50]", "(50,75]", "(75,100]"]


def with_mealcat(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of an api data set with R's ordered ``mealcat``."""
    out = df.copy()
    out["mealcat"] = pd.Categorical(pd.cut(out["meals"], [0, 25, 50, 75, 100],
                                           labels=MEALCAT_LEVELS),
                                    categories=MEALCAT_LEVELS, ordered=True)
    return out


def r_jk1_design(data: pd.DataFrame):
    """apiclus1 (or a frame with its rows) with R's own JK1 replicate weights and scales
    (as.svrepdesign(dclus1, type="JK1"), exported by tests/r/fixtures_models.R)."""
    from surveykit.design import ReplicateDesign

    rw = pd.read_csv(R_FIXTURES / "models_jk1_repweights.csv").to_numpy()
    sc = pd.read_csv(R_FIXTURES / "models_jk1_scale.csv")
    return ReplicateDesign(data, weights="pw", repweights=rw, type="JK1",
                           scale=float(sc["scale"].iloc[0]), rscales=sc["rscales"].to_numpy(),
                           mse=bool(sc["mse"].iloc[0]))


@pytest.fixture(scope="session")
def rclus1(apiclus1: pd.DataFrame):
    """apiclus1 with R's JK1 replicate weights (see r_jk1_design)."""
    return r_jk1_design(apiclus1)


@pytest.fixture(scope="session")
def jk1(dclus1):
    """as.svrepdesign(dclus1, type="JK1")"""
    return dclus1.replicate("jk1")


@pytest.fixture(scope="session")
def dnh(nhanes: pd.DataFrame):
    """svydesign(id=~SDMVPSU, strata=~SDMVSTRA, weights=~WTMEC2YR, nest=TRUE, data=nhanes)"""
    from surveykit.design import SurveyDesign

    return SurveyDesign(nhanes, weights="WTMEC2YR", strata="SDMVSTRA", psu="SDMVPSU", nest=True)


@pytest.fixture(scope="session")
def ref() -> pd.DataFrame:
    """R survey's estimation reference values (tests/r/fixtures_estimation.R)."""
    return pd.read_csv(R_FIXTURES / "estimation_results.csv", keep_default_na=False,
                       na_values=[""])
