"""Codes and labels as the user wrote them (issue 20 item 8): whole-number codes stay integers
through read (nullable Int64 where values are missing), into model term names (C(g)[T.2]),
ttest contrasts ("1 - 0") and files written back (weight CSV "1,10", not "1.0,10.0");
marginal_effects() carries labels like tidy(); label text is never rewritten."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import surveykit as sk
from surveykit import cli


@pytest.fixture(scope="module")
def coded_csv(tmp_path_factory) -> str:
    rng = np.random.default_rng(20)
    n = 240
    df = pd.DataFrame({"id": np.arange(n), "y": rng.integers(0, 2, n),
                       "g": rng.choice([1, 2, 10], n), "x": rng.uniform(0, 5, n).round(2),
                       "grp": rng.integers(0, 2, n), "half": rng.choice([1.0, 2.5], n),
                       "w": 1.0})
    lines = ["id,y,g,x,grp,half,w"]
    for r in df.itertuples(index=False):
        g = "" if r.id % 9 == 0 else str(r.g)          # integer codes with missing values
        grp = "" if r.id % 11 == 0 else str(r.grp)
        half = "" if r.id % 7 == 0 else f"{r.half:.1f}"  # decimals as written: stay float
        lines.append(f"{r.id},{r.y},{g},{r.x},{grp},{half},1")
    path = tmp_path_factory.mktemp("codes") / "coded.csv"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def test_integer_codes_stay_integers_through_read(coded_csv):
    raw = sk.read(coded_csv)
    assert str(raw.data["g"].dtype) == "Int64" and str(raw.data["grp"].dtype) == "Int64"
    assert raw.data["half"].dtype == np.float64  # "2.5"/"1.0" as written: floats
    assert raw.data["g"].isna().sum() == 240 // 9 + 1
    assert sorted(raw.data["g"].dropna().unique().tolist()) == [1, 2, 10]


def test_term_names_and_contrasts_read_as_codes(coded_csv):
    raw = sk.read(coded_csv)
    d = sk.SurveyDesign(raw.data, weights="w")
    fit = sk.glm(d, "y ~ C(g) + x", family="binomial")
    assert list(fit.params.index) == ["Intercept", "C(g)[T.2]", "C(g)[T.10]", "x"]
    # the same from float codes (how .sav files and pandas store codes with missing values)
    data = raw.data.astype({"g": "float64", "grp": "float64"})
    fit2 = sk.glm(sk.SurveyDesign(data, weights="w"), "y ~ C(g) + x", family="binomial")
    assert list(fit2.params.index) == list(fit.params.index)
    np.testing.assert_allclose(fit2.params.to_numpy(), fit.params.to_numpy(), rtol=1e-12)
    assert sk.ttest(d, "x", "grp")["contrast"].item() == "1 - 0"
    t2 = sk.ttest(sk.SurveyDesign(data, weights="w"), "x", "grp")
    assert t2["contrast"].item() == "1 - 0"
    assert t2["estimate"].item() == pytest.approx(sk.ttest(d, "x", "grp")["estimate"].item(),
                                                  rel=1e-12)


def test_weight_csv_writes_codes_as_read(coded_csv, tmp_path):
    targets = tmp_path / "t.yaml"
    targets.write_text("margins:\n  y:\n    0: 0.5\n    1: 0.5\n")
    out = tmp_path / "weighted.csv"
    assert cli.main(["weight", coded_csv, "--targets", str(targets), "--out", str(out),
                     "--weights", "w"]) == 0
    text = out.read_text().splitlines()
    header = text[0].split(",")
    g = [line.split(",")[header.index("g")] for line in text[1:]]
    assert set(g) == {"", "1", "2", "10"}  # not 1.0 / 10.0
    half = {line.split(",")[header.index("half")] for line in text[1:]}
    assert half == {"", "1.0", "2.5"}


def test_marginal_effects_carry_labels():
    df = sk.load_replica()
    d = sk.SurveyDesign(df, weights="weight")
    fit = sk.glm(d, "urban ~ C(income_group) + age", family="binomial")
    ame = fit.marginal_effects()
    assert list(ame["term"]) == ["income_group[2]", "income_group[3]", "age"]
    assert list(ame["label"]) == ["Monthly income group (RMB): 1,000–4,000 RMB",
                                  "Monthly income group (RMB): >4,000 RMB", "Age in years"]
    o = sk.ordinal(d, "approval ~ C(age_group) + fairness").marginal_effects()
    first = o[o["term"] == "age_group[2]"]
    assert list(first["outcome"]) == ["1", "2", "3", "4", "5"]
    assert first["outcome_label"].iloc[-1] == "strongly approve"
    assert first["label"].iloc[0] == "Age group: 31–50"
