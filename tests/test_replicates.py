"""surveykit.replicates against R's as.svrepdesign (tests/r/fixtures_estimation.R)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from r_reference import close, pick

from surveykit.design import ReplicateDesign, SurveyDesign
from surveykit.errors import DesignError
from surveykit.estimation import mean, total
from surveykit.replicates import make_replicate_design

R_FIXTURES = Path(__file__).parent / "fixtures" / "r"


def r_weights(name: str) -> np.ndarray:
    return pd.read_csv(R_FIXTURES / f"estimation_{name}_weights.csv").to_numpy()


@pytest.fixture(scope="module")
def dnh2(nhanes: pd.DataFrame) -> SurveyDesign:
    data = nhanes[nhanes["SDMVPSU"] != 3].reset_index(drop=True)
    return SurveyDesign(data, weights="WTMEC2YR", strata="SDMVSTRA", psu="SDMVPSU", nest=True)


def test_jk1_weights_scale_and_se_match_r(dclus1, ref):
    rep = dclus1.replicate("jk1")
    assert isinstance(rep, ReplicateDesign) and rep.type == "JK1"
    w = r_weights("jk1_clus1")
    assert rep.repweights.shape == w.shape == (183, 15)
    close(rep.repweights, w, 1e-8)
    meta = pick(ref, "jk1_clus1", "meta").set_index("variable")
    close(rep.scale, meta.loc["scale", "estimate"], 1e-12)  # f (n-1)/n with the fpc
    assert rep.df == meta.loc["degf", "estimate"] == 14
    r = pick(ref, "jk1_clus1", "mean")
    res = mean(rep, ["api00", "enroll"])
    close(res["estimate"], r["estimate"], 1e-6)
    close(res["std_error"], r["se"], 1e-4)


def test_jkn_weights_rscales_and_se_match_r(dstrat, ref):
    rep = make_replicate_design(dstrat, "jkn")
    w = r_weights("jkn_strat")
    assert rep.repweights.shape == w.shape == (200, 200)
    close(rep.repweights, w, 1e-8)
    meta = pick(ref, "jkn_strat", "meta").set_index("variable")
    rscales = np.array([float(x) for x in meta.loc["scale", "extra"].split()])
    close(rep.rscales, rscales, 1e-12)  # f_h (n_h - 1)/n_h
    close(rep.scale, meta.loc["scale", "estimate"], 1e-12)
    for stat, fn, var in (("mean", mean, "api00"), ("total", total, "enroll")):
        r = pick(ref, "jkn_strat", stat)
        res = fn(rep, var)
        close(res["estimate"], r["estimate"], 1e-6)
        close(res["std_error"], r["se"], 1e-4)


@pytest.mark.parametrize("rho, name", [(None, "brr_nhanes"), (0.3, "fay_nhanes")])
def test_brr_and_fay_totals_match_r(dnh2, ref, rho, name):
    """BRR/Fay variances of totals are exact for any fully balanced Hadamard matrix."""
    rep = make_replicate_design(dnh2, "brr", fay_rho=rho)
    assert rep.type == ("BRR" if rho is None else "Fay")
    r = pick(ref, name, "total")
    # R computes the two totals in separate svytotal calls: each on its own non-missing rows
    res = total(rep, list(r["variable"]), na="per_variable")
    close(res["estimate"], r["estimate"], 1e-6)
    close(res["std_error"], r["se"], 1e-4)
    # multipliers are 2 - rho / rho, one PSU of each pair in each half-sample
    m = rep.repweights / dnh2.base_weights[:, None]
    vals = np.unique(np.round(m, 12))
    r_ = 0.0 if rho is None else rho
    close(vals, sorted({r_, 2 - r_}), 1e-12)


def test_bootstrap_is_seeded_and_follows_bootweights(dstrat):
    a = make_replicate_design(dstrat, "bootstrap", replicates=40, seed=7)
    b = dstrat.replicate("bootstrap", replicates=40, seed=7)
    c = make_replicate_design(dstrat, "bootstrap", replicates=40, seed=8)
    np.testing.assert_array_equal(a.repweights, b.repweights)
    assert not np.array_equal(a.repweights, c.repweights)
    # multipliers are draw counts; each stratum draws n_h PSUs (here: rows) per replicate
    mult = a.repweights / dstrat.base_weights[:, None]
    close(mult, np.round(mult), 1e-12)
    per_h = pd.DataFrame(mult).groupby(dstrat.strata_codes).sum()
    np.testing.assert_allclose(per_h.to_numpy(), dstrat.n_psu_h[:, None] * np.ones((1, 40)))
    nbar = 1 / np.mean(1 / dstrat.n_psu_h)
    close(a.scale, nbar / ((nbar - 1) * 39), 1e-12)


def test_bootstrap_se_close_to_linearisation(dstrat):
    """With many replicates the bootstrap SE approaches the linearisation SE (seeded)."""
    rep = make_replicate_design(dstrat, "bootstrap", replicates=400, seed=1)
    lin = mean(dstrat.__class__(dstrat.data, weights="pw", strata="stype"), "api00")
    boot = mean(rep, "api00")
    assert abs(boot["std_error"].item() / lin["std_error"].item() - 1) < 0.1


def test_bootstrap_with_fpc_draws_without_replacement(dclus1):
    rep = make_replicate_design(dclus1, "bootstrap", replicates=30, seed=3)
    mult = rep.repweights / dclus1.base_weights[:, None]
    psu_mult = pd.DataFrame(mult).groupby(dclus1.psu_codes).first().to_numpy()
    np.testing.assert_allclose(psu_mult.sum(axis=0), 15)  # n PSUs drawn per replicate


def test_subbootstrap_rao_wu(dstrat):
    rep = make_replicate_design(dstrat, "subbootstrap", replicates=20, seed=2)
    mult = rep.repweights / dstrat.base_weights[:, None]
    nh = dstrat.n_psu_h[dstrat.strata_codes].astype(float)
    counts = mult * (nh - 1)[:, None] / nh[:, None]
    per_h = pd.DataFrame(counts).groupby(dstrat.strata_codes).sum().to_numpy()
    np.testing.assert_allclose(per_h, (dstrat.n_psu_h - 1)[:, None] * np.ones((1, 20)))
    close(rep.scale, 1 / 19, 1e-12)


def test_replicate_errors(dstrat, dclus1, nhanes):
    with pytest.raises(DesignError, match="unstratified"):
        make_replicate_design(dstrat, "jk1")
    with pytest.raises(DesignError, match="stratified"):
        make_replicate_design(dclus1, "jkn")
    with pytest.raises(DesignError, match="unknown"):
        make_replicate_design(dclus1, "jackknife")
    full = SurveyDesign(nhanes, weights="WTMEC2YR", strata="SDMVSTRA", psu="SDMVPSU", nest=True)
    with pytest.raises(DesignError, match="3 PSUs"):
        make_replicate_design(full, "brr")
    with pytest.raises(DesignError, match="replicates"):
        make_replicate_design(dclus1, "jk1", replicates=10)


def test_domain_is_kept_and_progress_bar(dclus1, capfd):
    dom = dclus1.subset(dclus1.data["stype"].eq("E").to_numpy())
    rep = make_replicate_design(dom, "bootstrap", replicates=5, seed=1, progress=False)
    assert rep.n == int(dclus1.data["stype"].eq("E").sum())
    capfd.readouterr()
    make_replicate_design(dclus1, "bootstrap", replicates=3, seed=1, progress=True)
    out = capfd.readouterr()
    assert "bootstrap" in out.err and out.out == ""  # the bar goes to stderr only
    mean(rep, "api00", progress=True)
    assert "replicates" in capfd.readouterr().err
