"""Item batteries (issue 20 item 1): sk.likert(design, [items]), sk.proportion(design, [items])
and sk.plot.likert(battery) — numbers equal each item's own proportion, one shared scale,
the missing-value rule, net-agreement sorting, the diverging chart's content."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import surveykit as sk
from surveykit.errors import ScaleMismatchError
from surveykit.report.figures import figure_texts

TRUST = ["trust_central", "data_trust_central", "data_trust_provincial"]
LEVELS = ["no trust at all", "little trust", "some trust", "much trust", "complete trust"]


@pytest.fixture(scope="module")
def replica() -> sk.SurveyDesign:
    return sk.SurveyDesign(sk.load_replica(), weights="weight")


@pytest.fixture(scope="module")
def holed() -> sk.SurveyDesign:
    """The replica with missing answers (different rows per item) and stratified."""
    df = sk.load_replica().copy()
    rng = np.random.default_rng(20)
    for item in TRUST:
        df.loc[rng.random(len(df)) < 0.1, item] = np.nan
    return sk.SurveyDesign(df, weights="weight", strata="region")


def test_battery_rows_are_each_items_percentages(replica):
    bat = sk.likert(replica, TRUST)
    assert list(bat["item"]) == TRUST
    assert list(bat.columns) == ["item", "item_label", *LEVELS, "N", "n missing"]
    assert bat.loc[0, "item_label"] == "Trust in the central government"
    for r, item in enumerate(TRUST):
        one = sk.proportion(replica, item)
        np.testing.assert_allclose(bat.loc[r, LEVELS].to_numpy(float),
                                   100 * one["estimate"].to_numpy(), rtol=1e-12)
        assert bat.loc[r, "N"] == 2209 and bat.loc[r, "n missing"] == 0
    assert bat.attrs["levels"] == LEVELS and bat.attrs["codes"] == [1, 2, 3, 4, 5]
    assert sk.provenance.is_synthetic(bat)


def test_battery_missing_value_rule(holed):
    any_miss = holed.data[TRUST].isna().any(axis=1).to_numpy()
    listwise = sk.likert(holed, TRUST)
    assert (listwise["N"] == int((~any_miss).sum())).all()
    assert (listwise["n missing"] == int(any_miss.sum())).all()
    sub = holed.subset(~any_miss)
    for r, item in enumerate(TRUST):
        want = 100 * sk.proportion(sub, item)["estimate"].to_numpy()
        np.testing.assert_allclose(listwise.loc[r, LEVELS].to_numpy(float), want, rtol=1e-12)
    per = sk.likert(holed, TRUST, na="per_variable", se=True)
    for r, item in enumerate(TRUST):
        one = sk.proportion(holed, item)
        np.testing.assert_allclose(per.loc[r, LEVELS].to_numpy(float),
                                   100 * one["estimate"].to_numpy(), rtol=1e-12)
        np.testing.assert_allclose(per.loc[r, [f"{lv} (SE)" for lv in LEVELS]].to_numpy(float),
                                   100 * one["std_error"].to_numpy(), rtol=1e-10)
        assert per.loc[r, "N"] == one["n_unweighted"].iloc[0]
        assert per.loc[r, "n missing"] == int(holed.data[item].isna().sum())


def test_battery_by_groups_and_net_sort(replica):
    bat = sk.likert(replica, TRUST, by="urban", sort="net")
    whole = sk.likert(replica, TRUST)
    net = (whole[LEVELS[3:]].sum(axis=1) - whole[LEVELS[:2]].sum(axis=1)).to_numpy()
    order = [TRUST[i] for i in np.argsort(-net, kind="stable")]
    assert list(dict.fromkeys(bat["item"])) == order
    assert order[-1] == "data_trust_provincial"  # the least trusted item last
    assert list(bat["urban_label"][:2]) == ["rural", "urban"]
    row = bat[(bat["item"] == "trust_central") & (bat["urban"] == 1)].iloc[0]
    one = sk.proportion(replica, "trust_central", by="urban")
    want = 100 * one.loc[one["urban"] == 1, "estimate"].to_numpy()
    np.testing.assert_allclose(row[LEVELS].to_numpy(float), want, rtol=1e-12)
    assert row["N"] == int((replica.data["urban"] == 1).sum())


def test_items_on_different_scales_are_a_typed_error(replica):
    with pytest.raises(ScaleMismatchError, match="approval") as err:
        sk.likert(replica, ["approval", "fairness", "trust_central"])
    assert "fairness" in str(err.value) and "very unfair" in str(err.value)
    assert isinstance(err.value, sk.SurveyKitError)
    with pytest.raises(ScaleMismatchError, match="outside"):
        sk.likert(replica, ["trust_central", "urban"],
                  labels={1: "a", 2: "b", 3: "c", 4: "d", 5: "e"})
    # the same codes shown on one declared scale
    scale = {1: "1 (lowest)", 2: "2", 3: "3", 4: "4", 5: "5 (highest)"}
    bat = sk.likert(replica, ["approval", "fairness"], labels=scale)
    assert list(bat.columns[2:7]) == list(scale.values())


def test_unlabelled_items_need_the_same_codes():
    df = pd.DataFrame({"a": [1, 2, 3, 1, 2, 3], "b": [1, 2, 2, 1, 1, 2], "w": 1.0})
    d = sk.SurveyDesign(df, weights="w")
    with pytest.raises(ScaleMismatchError, match="codes"):
        sk.likert(d, ["a", "b"])
    bat = sk.likert(d, ["a", "b"], labels={1: "low", 2: "mid", 3: "high"})
    np.testing.assert_allclose(bat.loc[1, ["low", "mid", "high"]].to_numpy(float),
                               [50.0, 50.0, 0.0])


def test_single_item_call_unchanged(replica):
    tab = sk.likert(replica, "approval", by="urban")
    assert list(tab.columns) == ["Total", "rural", "urban"]
    assert tab.index[-2:].tolist() == ["N", "N missing"]
    with pytest.raises(sk.SurveyKitError, match="sort"):
        sk.likert(replica, "approval", sort="net")


def test_proportion_of_several_items_long_form(holed):
    long = sk.proportion(holed, TRUST, na="per_variable", vcov=True)
    assert len(long) == 15 and list(long["variable"].unique()) == TRUST
    for item in TRUST:
        one = sk.proportion(holed, item)
        part = long[long["variable"] == item].reset_index(drop=True)
        for col in ("estimate", "std_error", "ci_low", "ci_high"):
            np.testing.assert_allclose(part[col], one[col], rtol=1e-10)
        assert list(part["level_label"]) == LEVELS
    v = long.attrs["vcov"].to_numpy()
    np.testing.assert_allclose(np.sqrt(np.diag(v)), long["std_error"], rtol=1e-8)
    assert long.attrs["vcov"].names[0] == "trust_central:no trust at all"
    # a contrast across items uses the joint covariance
    c = sk.contrast(long, {"trust_central:complete trust": 1,
                           "data_trust_central:complete trust": -1})
    assert float(c["estimate"].iloc[0]) == pytest.approx(
        long["estimate"].iloc[4] - long["estimate"].iloc[9], rel=1e-12)
    assert float(c["std_error"].iloc[0]) < long["std_error"].iloc[4] + long["std_error"].iloc[9]


def test_battery_chart_content(replica, tmp_path):
    bat = sk.likert(replica, TRUST, by="age_group")
    fig = sk.plot.likert(bat, title="Trust")
    texts = figure_texts(fig)
    assert sk.SYNTHETIC_BANNER in texts
    for lv in LEVELS:
        assert lv.capitalize() in texts
    assert {"14–30", "31–50", "51–65"} <= set(texts)  # one panel per age group
    assert len(fig.axes) == 3
    ticks = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert ticks[-1].startswith("Trusts provincial governments")  # lowest net agreement last
    assert "\n" in ticks[0]  # long labels wrapped
    # neutral centred: the middle level's bar straddles zero in every row
    ax = fig.axes[0]
    neutral = [p for p in ax.patches if p.get_facecolor()[:3] == pytest.approx(
        (0xD9 / 255, 0xD9 / 255, 0xD9 / 255), abs=1e-3)]
    assert len(neutral) == 3
    for p in neutral:
        assert p.get_x() == pytest.approx(-p.get_width() / 2)
    out = sk.plot.save(fig, tmp_path / "battery")
    assert (tmp_path / "battery.png").stat().st_size > 10_000 or out
