"""sk.impute: chained equations with PMM (statsmodels MICEData), missing reasons, report."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import surveykit as sk
from surveykit.errors import ImputationError


def _data(n: int = 300, seed: int = 4) -> tuple[pd.DataFrame, dict[str, pd.Series]]:
    rng = np.random.default_rng(seed)
    h = rng.integers(0, 2, n)
    x = rng.normal(size=n)
    edu = np.clip(np.round(2.5 + x + rng.normal(size=n)), 1, 4)
    inc = np.clip(np.round(2 + 0.5 * x + rng.normal(size=n) * 0.7), 1, 3)
    df = pd.DataFrame({"h": h, "w": rng.uniform(0.5, 2, n), "x": x,
                       "edu": pd.array(edu.astype(int), dtype="Int64"), "inc": inc})
    why_edu = np.full(n, None, dtype=object)
    miss = rng.random(n) < 0.15
    why_edu[miss] = np.where(rng.random(miss.sum()) < 0.5, "refused", "don't know")
    df.loc[miss, "edu"] = pd.NA
    why_inc = np.full(n, None, dtype=object)
    na_inc = rng.random(n) < 0.2
    why_inc[na_inc] = np.where(rng.random(na_inc.sum()) < 0.5, "refused", "not asked")
    df.loc[na_inc, "inc"] = np.nan
    df.attrs["value_labels"] = {"edu": {1: "none", 2: "low", 3: "medium", 4: "high"}}
    return df, {"edu": pd.Series(why_edu), "inc": pd.Series(why_inc)}


@pytest.fixture(scope="module")
def imputed():
    df, why = _data()
    d = sk.SurveyDesign(df, weights="w", strata="h")
    return df, why, sk.impute(d, ["edu", "inc"], m=3, seed=11, iterations=3, reasons=why)


def test_codes_preserved_and_reasons_respected(imputed):
    df, why, mi = imputed
    assert mi.m == 3 and mi.label == "m = 3 multiple imputations (PMM)"
    for i in range(1, 4):
        data = mi.data(i)
        assert str(data["edu"].dtype) == "Int64"  # integer codes stay integer
        assert set(data["edu"].dropna()) <= set(df["edu"].dropna())  # PMM: observed values
        assert data["edu"].notna().all()  # refused and don't know both imputed (default)
        not_asked = (why["inc"] == "not asked").to_numpy()
        assert data["inc"][not_asked].isna().all()  # structural: kept missing
        assert data["inc"][~not_asked].notna().all()
        assert set(data["inc"].dropna()) <= {1.0, 2.0, 3.0}
        # observed values pass through unchanged
        obs = df["edu"].notna().to_numpy()
        assert (data["edu"][obs] == df["edu"][obs]).all()
        pd.testing.assert_series_equal(data["x"], df["x"])
    s = mi.report.summary.set_index("variable")
    assert s.loc["edu", "n_imputed"] == int(df["edu"].isna().sum())
    assert s.loc["inc", "n_imputed"] == int((why["inc"] == "refused").sum())
    assert "not asked: " in s.loc["inc", "reasons_kept_missing"]
    assert mi.imputed[0]["inc"].sum() == (why["inc"] == "refused").sum()
    ch = mi.report.chains
    assert set(ch["chain"]) == {1, 2, 3} and set(ch["iteration"]) == {1, 2, 3}


def test_imputations_differ_and_seed_reproduces(imputed):
    df, why, mi = imputed
    a, b = mi.data(1)["edu"], mi.data(2)["edu"]
    assert not a.equals(b)  # proper imputation: draws differ between chains
    d = sk.SurveyDesign(df, weights="w", strata="h")
    again = sk.impute(d, ["edu", "inc"], m=3, seed=11, iterations=3, reasons=why)
    for i in range(1, 4):
        pd.testing.assert_frame_equal(again.data(i), mi.data(i))


def test_chosen_reasons_only():
    df, why = _data()
    d = sk.SurveyDesign(df, weights="w", strata="h")
    mi = sk.impute(d, "edu", m=2, seed=1, iterations=2, reasons=why,
                   impute_reasons=["refused"])
    dk = (why["edu"] == "don't know").to_numpy()
    assert mi.data(1)["edu"][dk].isna().all()
    assert mi.data(1)["edu"][(why["edu"] == "refused").to_numpy()].notna().all()


def test_nothing_to_impute_and_bad_variables():
    df, why = _data()
    d = sk.SurveyDesign(df, weights="w", strata="h")
    with pytest.raises(ImputationError, match="nothing to impute") as e:
        sk.impute(d, "x", m=2)
    assert "\n" not in str(e.value)
    with pytest.raises(ImputationError, match="nothing to impute"):
        sk.impute(d, "inc", m=2, reasons=why, impute_reasons=["don't know"])
    with pytest.raises(ImputationError, match="not found"):
        sk.impute(d, "nope", m=2)
    with pytest.raises(ImputationError, match="not numeric"):
        sk.impute(d.with_columns(s=np.where(df["x"] > 0, "a", None)), "s", m=2)
    with pytest.raises(ImputationError, match="method"):
        sk.impute(d, "edu", m=2, method="hotdeck")


def test_report_figure_and_write(imputed, tmp_path):
    df, _, mi = imputed
    md = mi.report.to_markdown()
    assert "m = 3 multiple imputations (PMM)" in md and "refused" in md
    fig = mi.report.plot()
    assert len(fig.axes) == 4
    assert fig.axes[0].get_xticklabels()[0].get_text() == "none"
    out = mi.write(tmp_path / "imp.csv")
    back = pd.read_csv(out)
    assert len(back) == 3 * len(df)
    assert back.groupby("imputation")["edu_imputed"].sum().tolist() == [
        int(df["edu"].isna().sum())] * 3
    with pytest.raises(ImputationError, match=r"\.csv"):
        mi.write(tmp_path / "imp.sav")


def test_analysis_on_imputed_design(imputed):
    mi = imputed[2]
    r = sk.mean(mi, "edu")
    assert r["fmi"].iloc[0] > 0 and "m = 3 multiple imputations (PMM)" in r.attrs["note"]
    fit = sk.ordinal(mi, "edu ~ x")
    assert "m = 3 multiple imputations (PMM)" in fit.describe_model()


def test_collinear_design_predictors_are_left_out():
    df, why = _data()
    df = df.assign(w=np.where(df["h"] == 1, 2.0, 1.0))  # weights determined by the strata
    d = sk.SurveyDesign(df, weights="w", strata="h")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no rank-deficiency warning from the chains
        mi = sk.impute(d, "edu", m=2, seed=1, iterations=2, reasons=why)
    assert mi.report.settings["dropped_collinear_predictors"] == ["design_stratum_1"]
    assert "collinear" in mi.report.to_markdown()
