"""Several studies at once (issue 15 item 3): a synthetic follow-up-style study with a 0-10
approval scale and ISO province codes, harmonised by stated rules, stacked with the replica and
analysed with study as a design stratum."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import surveykit as sk
from surveykit._resources import data_path
from surveykit.replica.followup import (
    ISO_PROVINCES,
    STUDY,
    followup_raw,
    load_followup,
    stacked_studies,
)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def stacked():
    return stacked_studies(n=600)


def test_followup_is_deterministic_synthetic_and_differently_designed():
    a, b = followup_raw(n=300), followup_raw(n=300)
    pd.testing.assert_frame_equal(a, b)
    assert a.attrs["synthetic"] is True
    assert not followup_raw(seed=1, n=300).equals(a)
    assert set(a["APPROVE10"]) <= set(range(11)) | {99}
    assert a["PROV"].str.match(r"^CN-[A-Z]{2}$").all()
    assert a["WT"].sum() == pytest.approx(300)
    # its own weights: raked to its assumed margins
    for col, shares in {"AREA": {1: 0.60, 2: 0.40}, "SEX": {1: 0.51, 2: 0.49}}.items():
        for code, share in shares.items():
            assert a.loc[a[col] == code, "WT"].sum() / 300 == pytest.approx(share, abs=1e-6)


def test_scale_harmonisation_rules_are_the_stated_ones():
    h = load_followup(n=800)
    f = h.frame
    stated = {**dict.fromkeys(range(0, 5), 1), 5: 2, **dict.fromkeys(range(6, 11), 3)}
    has = f["approval_0_10"].notna()
    assert f.loc[has, "approval3"].tolist() == [stated[int(v)] for v in f.loc[has,
                                                                           "approval_0_10"]]
    # 99 is "don't know" in both, never a category
    raw = followup_raw(n=800)
    dk = (raw["APPROVE10"] == 99).to_numpy()
    assert dk.any() and f.loc[dk, "approval3"].isna().all()
    assert (h.missing["approval3"][dk] == "don't know").all()
    # the codebook states the rules and the mapping applies exactly them
    mapping = yaml.safe_load(data_path("mappings", "followup.yaml").read_text("utf-8"))
    assert mapping["variables"]["approval3"]["recode"] == stated
    assert mapping["synthetic"] is True
    text = data_path("codebooks", "studies.yaml").read_text("utf-8")
    assert "0-4 -> 1 disapprove,  5 (scale midpoint) -> 2 neutral,  6-10 -> 3 approve" in text


def test_iso_province_codes_give_the_canonical_regions():
    f = load_followup(n=500).frame
    provinces = yaml.safe_load(data_path("provinces.yaml").read_text("utf-8"))
    codes = {"east": 1, "central": 2, "west": 3}
    expected = f["province"].map(lambda p: codes[provinces[p]["region"]])
    assert (f["region"] == expected).all()
    assert len(ISO_PROVINCES) == len(provinces) == 31


def test_stack_keeps_studies_apart_and_says_what_was_not_collected(stacked):
    f = stacked.frame
    assert f.attrs.get("synthetic") is True
    assert f["study"].value_counts().to_dict() == {"kostka2018_replica": 2209, STUDY: 600}
    assert not f.duplicated(["study", "resp_id"]).any()
    rep, fu = f["study"] == "kostka2018_replica", f["study"] == STUDY
    # the replica's approval3 is the stated 5-point rule
    rule = f.loc[rep, "approval"].map({1: 1, 2: 1, 3: 2, 4: 3, 5: 3})
    assert (f.loc[rep, "approval3"] == rule).all()
    assert f.loc[fu, "approval"].isna().all() and f.loc[rep, "approval_0_10"].isna().all()
    assert (stacked.missing["approval"][fu.to_numpy()] == "not collected").all()
    assert (stacked.missing["approval_0_10"][rep.to_numpy()] == "not collected").all()


def test_study_is_a_design_stratum(stacked):
    """With study as a stratum, by-study estimates equal those of each study's own design
    (estimate and SE), and the two studies' estimates are independent."""
    f = stacked.frame
    design = sk.SurveyDesign(f, weights="weight", strata="study")
    assert design.is_synthetic
    assert design.df == len(f) - 2  # n - #strata
    by = sk.proportion(design, "approval3", by="study")
    for study in (STUDY, "kostka2018_replica"):
        alone = sk.SurveyDesign(f[f["study"] == study].reset_index(drop=True), weights="weight")
        own = sk.proportion(alone, "approval3")
        mine = by[by["study"] == study]
        np.testing.assert_allclose(mine["estimate"], own["estimate"], rtol=1e-12)
        np.testing.assert_allclose(mine["std_error"], own["std_error"], rtol=1e-10)
    # the pooled share is the weight-share-weighted average of the study shares
    pooled = sk.proportion(design, "approval3")
    wsum = f.assign(has=f["approval3"].notna() * f["weight"]).groupby("study")["has"].sum()
    share = by.set_index(["study", "level"])["estimate"]
    expect = sum(wsum[s] * share[(s, 3.0)] for s in wsum.index) / wsum.sum()
    assert pooled.loc[pooled["level"] == 3.0, "estimate"].iloc[0] == pytest.approx(expect)


def test_two_studies_example_runs(tmp_path):
    proc = subprocess.run([sys.executable, str(ROOT / "analyses" / "two_studies.py"), "--out",
                           str(tmp_path), "--n", "500"], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0].startswith("*** SYNTHETIC studies")
    out = tmp_path / "two_studies"
    diff = pd.read_csv(out / "approve_difference.csv")
    assert (diff["data_source"] == "synthetic studies").all() and len(diff) == 1
    by = pd.read_csv(out / "approval3_by_study.csv")
    assert set(by["study"]) == {"kostka2018_replica", STUDY}
    logit = pd.read_csv(out / "approve_logit.csv")
    assert any("study" in t for t in logit["term"])
    assert '"synthetic": true' in (out / "approve_logit.json").read_text("utf-8")
