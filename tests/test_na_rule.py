"""One missing-value rule on every estimator (issue 20 item 9): ``na="listwise"`` leaves a
respondent missing any of the variables out of all of them, ``na="per_variable"`` uses each
variable's own respondents — the same numbers as the estimator on the matching subset."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import surveykit as sk


@pytest.fixture(scope="module")
def holed() -> sk.SurveyDesign:
    rng = np.random.default_rng(9)
    n = 400
    df = pd.DataFrame({"x": rng.normal(10, 2, n), "y": rng.gamma(2.0, 3.0, n),
                       "z": rng.uniform(1, 5, n), "g": rng.integers(1, 4, n),
                       "h": rng.integers(1, 3, n), "w": rng.uniform(0.5, 2.0, n),
                       "psu": np.repeat(np.arange(40), 10), "s": np.repeat([1, 2], 200)})
    df.loc[rng.random(n) < 0.15, "x"] = np.nan
    df.loc[rng.random(n) < 0.15, "y"] = np.nan
    df.loc[rng.random(n) < 0.1, "g"] = np.nan
    return sk.SurveyDesign(df, weights="w", psu="psu", strata="s", nest=True)


def _complete(d: sk.SurveyDesign, cols: list[str]) -> sk.SurveyDesign:
    return d.subset(d.data[cols].notna().all(axis=1).to_numpy())


def test_quantile_listwise_and_per_variable(holed):
    per = sk.quantile(holed, ["x", "y"], q=[0.5])  # R's default: each variable on its own
    lw = sk.quantile(holed, ["x", "y"], q=[0.5], na="listwise")
    sub = _complete(holed, ["x", "y"])
    for v in ("x", "y"):
        own = sk.quantile(holed, v, q=[0.5])
        both = sk.quantile(sub, v, q=[0.5])
        assert per.loc[per["variable"] == v, "estimate"].item() == own["estimate"].item()
        np.testing.assert_allclose(lw.loc[lw["variable"] == v, ["estimate", "std_error"]]
                                   .to_numpy(), both[["estimate", "std_error"]].to_numpy(),
                                   rtol=1e-12)
    n_any = int(holed.data[["x", "y"]].isna().any(axis=1).sum())
    assert (lw["n_missing"] == n_any).all()
    assert per.loc[per["variable"] == "x", "n_missing"].item() == int(holed.data["x"].isna().sum())


def test_ratio_per_variable_takes_each_numerator_on_its_rows(holed):
    lw = sk.ratio(holed, ["x", "y"], "z")
    per = sk.ratio(holed, ["x", "y"], "z", na="per_variable")
    sub = _complete(holed, ["x", "y"])
    for j, v in enumerate(("x", "y")):
        own = sk.ratio(holed, v, "z")
        np.testing.assert_allclose(per.iloc[j][["estimate", "std_error"]].to_numpy(float),
                                   own.iloc[0][["estimate", "std_error"]].to_numpy(float),
                                   rtol=1e-10)
        assert per.iloc[j]["n_unweighted"] == own.iloc[0]["n_unweighted"]
        assert per.iloc[j]["n_missing"] == int(holed.data[v].isna().sum())
        both = sk.ratio(sub, v, "z")
        np.testing.assert_allclose(lw.iloc[j]["estimate"], both.iloc[0]["estimate"],
                                   rtol=1e-12)
    assert per.iloc[0]["estimate"] != pytest.approx(lw.iloc[0]["estimate"], rel=1e-9)


def test_mean_total_proportion_same_rule(holed):
    lw = sk.mean(holed, ["x", "y"])
    per = sk.total(holed, ["x", "y"], na="per_variable")
    sub = _complete(holed, ["x", "y"])
    np.testing.assert_allclose(lw["estimate"], [sk.mean(sub, v)["estimate"].item()
                                                for v in ("x", "y")], rtol=1e-12)
    np.testing.assert_allclose(per["estimate"], [sk.total(holed, v)["estimate"].item()
                                                 for v in ("x", "y")], rtol=1e-12)
    one = sk.proportion(holed, "g", na="listwise")
    pd.testing.assert_frame_equal(one, sk.proportion(holed, "g", na="per_variable"))
    both = sk.proportion(holed, ["g", "h"], na="listwise")
    sub = _complete(holed, ["g", "h"])
    np.testing.assert_allclose(both.loc[both["variable"] == "h", "estimate"],
                               sk.proportion(sub, "h")["estimate"], rtol=1e-12)
    assert (both["n_missing"] == int(holed.data["g"].isna().sum())).all()


def test_joint_estimates_are_listwise_only(holed):
    with pytest.raises(sk.SurveyKitError, match="listwise"):
        sk.var(holed, ["x", "y"], na="per_variable")
    with pytest.raises(sk.SurveyKitError, match="listwise"):
        sk.table(holed, "g", "h", na="per_variable")
    one = sk.var(holed, "x", na="per_variable")  # one variable: the two rules agree
    assert one["estimate"].item() == sk.var(holed, "x")["estimate"].item()
    with pytest.raises(sk.SurveyKitError, match="na="):
        sk.mean(holed, "x", na="pairwise")


def test_summary_table_na(holed):
    per = sk.summary_table(holed, ["x", "g"], tests=False)
    lw = sk.summary_table(holed, ["x", "g"], na="listwise", tests=False)
    n_complete = int(holed.data[["x", "g"]].notna().all(axis=1).sum())
    assert f"N = {n_complete:,}" in lw.to_markdown()
    assert f"N = {len(holed.data):,}" in per.to_markdown()
