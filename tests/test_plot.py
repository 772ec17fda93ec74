"""sk.plot: every figure draws the numbers of the result it is given, labelled from the data,
with the banner exactly when the data are the synthetic replica, byte-identical on re-save."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.container import ErrorbarContainer
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

import surveykit as sk
from surveykit.errors import SurveyKitError
from surveykit.plot import weighted_quantiles
from surveykit.report.figures import figure_texts


@pytest.fixture(scope="module")
def replica() -> sk.SurveyDesign:
    return sk.SurveyDesign(sk.load_replica(), weights="weight", source="replica.sav")


def _bars(ax) -> list[Rectangle]:
    return [p for p in ax.patches if isinstance(p, Rectangle) and p.get_width() != 0]


def test_likert_draws_the_table_with_labelled_categories(replica):
    tab = sk.likert(replica, "approval", by="urban")
    fig = sk.plot.likert(tab)
    assert isinstance(fig, Figure)
    texts = figure_texts(fig)
    assert sk.SYNTHETIC_BANNER in texts
    assert "Strongly approve" in texts and "Neither approve nor disapprove" in texts
    ticks = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    n = tab.loc["N"]
    assert ticks == [f"Total\n(N = {int(n['Total']):,})", f"Rural\n(N = {int(n['rural']):,})",
                     f"Urban\n(N = {int(n['urban']):,})"]
    widths = sorted(round(b.get_width(), 9) for b in _bars(fig.axes[0]))
    expected = sorted(round(v, 9) for v in tab.drop(index=["N", "N missing"]).to_numpy().ravel())
    assert widths == expected
    # the neutral level is centred on zero in every bar
    neutral = [b for b in _bars(fig.axes[0]) if b.get_facecolor()[:3] == pytest.approx(
        (0xD9 / 255, 0xD9 / 255, 0xD9 / 255))]
    for b in neutral:
        assert b.get_x() + b.get_width() / 2 == pytest.approx(0.0, abs=1e-9)


def test_likert_columns_and_bad_input(replica):
    tab = sk.likert(replica, "approval", by="urban")
    fig = sk.plot.likert(tab, columns=["urban", "rural"])
    assert [t.get_text().split("\n")[0] for t in fig.axes[0].get_yticklabels()] == [
        "Urban", "Rural"]
    with pytest.raises(SurveyKitError):
        sk.plot.likert(tab, columns=["nope"])
    with pytest.raises(SurveyKitError):
        sk.plot.likert(sk.proportion(replica, "approval"))


def test_report_function_accepts_likert_output(replica):
    from surveykit.report.figures import approval_diverging

    fig = approval_diverging(sk.likert(replica, "approval"))
    assert "Strongly disapprove" in figure_texts(fig)


def test_estimates_proportions_by_group(replica):
    res = sk.proportion(replica, "approval", by="urban")
    fig = sk.plot.estimates(res)
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title(loc="left") for ax in axes] == ["Urban residence: Rural",
                                                          "Urban residence: Urban"]
    for ax, code in zip(axes, [0, 1], strict=True):
        (cont,) = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
        x = cont.lines[0].get_xdata()
        np.testing.assert_allclose(x, 100 * res.loc[res["urban"] == code, "estimate"])
    labels = [t.get_text() for t in axes[0].get_yticklabels()]
    assert labels[0] == "Strongly disapprove" and labels[-1] == "Strongly approve"
    # upper CI limits are inside the shared axis
    assert axes[0].get_xlim()[1] >= 100 * res["ci_high"].max()


def test_estimates_means_one_panel_per_variable(replica):
    res = sk.mean(replica, ["age", "internet_hours"], by="region")
    fig = sk.plot.estimates(res, kind="bar")
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title(loc="left") for ax in axes] == ["Age in years",
                                                          "Hours online per day"]
    assert [t.get_text() for t in axes[0].get_yticklabels()] == ["East", "Central", "West"]
    heights = [b.get_width() for b in _bars(axes[1])]
    np.testing.assert_allclose(heights, res.loc[res["variable"] == "internet_hours",
                                                "estimate"])


def test_forest_one_and_several_models(replica):
    f1 = sk.ordinal(replica, "approval ~ C(age_group) + urban + fairness")
    f2 = sk.ordinal(replica, "approval ~ C(age_group) + urban")
    fig = sk.plot.forest(f1)
    ticks = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert ticks == ["Age group: 14–30 (ref.)", "Age group: 31–50", "Age group: 51–65",
                     "Urban residence (urban vs rural)", "Perceived fairness of SCS scoring"]
    (cont,) = [c for c in fig.axes[0].containers if isinstance(c, ErrorbarContainer)]
    np.testing.assert_allclose(cont.lines[0].get_xdata(), np.exp(f1.params.iloc[:4]))
    assert fig.axes[0].get_xscale() == "log"
    both = sk.plot.forest([f1, f2], names=["Full", "Small"])
    assert {"Full", "Small"} <= set(figure_texts(both))
    conts = [c for c in both.axes[0].containers if isinstance(c, ErrorbarContainer)]
    assert [len(c.lines[0].get_xdata()) for c in conts] == [4, 3]


def test_hist_is_the_weighted_density(replica):
    fig = sk.plot.hist(replica, "age", bins=10)
    bars = _bars(fig.axes[0])
    x = replica.data["age"].to_numpy(dtype=float)
    dens, _ = np.histogram(x, bins=10, weights=replica.weights, density=True)
    np.testing.assert_allclose([b.get_height() for b in bars], dens)
    assert sum(b.get_height() * b.get_width() for b in bars) == pytest.approx(1.0)
    assert "Source: replica.sav" in figure_texts(fig)


def test_boxplot_medians_are_weighted(replica):
    fig = sk.plot.boxplot(replica, "internet_hours", by="region")
    texts = figure_texts(fig)
    assert any(t.startswith("East\n(n = ") for t in texts)
    data = replica.data
    for code, name in ((1, "East"), (3, "West")):
        sel = data["region"].eq(code).to_numpy()
        med = weighted_quantiles(data["internet_hours"].to_numpy(float)[sel],
                                 replica.weights[sel], [0.5])[0]
        lines = [ln for ln in fig.axes[0].lines if ln.get_color() == "#D55E00"]
        ys = [t.get_text().split("\n")[0] for t in fig.axes[0].get_yticklabels()]
        pos = ys.index(name)
        assert lines[pos].get_xdata()[0] == pytest.approx(med)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 20), st.integers(1, 4)), min_size=1, max_size=30),
       st.floats(0.01, 0.99))
def test_weighted_quantile_is_the_quantile_of_the_expanded_sample(pairs, p):
    x = np.array([a for a, _ in pairs], dtype=float)
    w = np.array([b for _, b in pairs], dtype=float)
    expanded = np.repeat(x, w.astype(int))
    got = weighted_quantiles(x, w, [p])[0]
    assert got == np.quantile(expanded, p, method="inverted_cdf")


def test_weights_figure_and_banner_only_for_the_replica(replica, apiclus1):
    fig = sk.plot.weights(replica)
    assert sk.SYNTHETIC_BANNER in figure_texts(fig)
    assert any("n = 2,209" in t for t in figure_texts(fig))
    d = sk.SurveyDesign(apiclus1, weights="pw", psu="dnum")
    plain = sk.plot.estimates(sk.mean(d, "api00", by="stype"))
    assert sk.SYNTHETIC_BANNER not in figure_texts(plain)


def test_saved_files_are_byte_identical(replica, tmp_path):
    res = sk.proportion(replica, "approval")
    a = sk.plot.save(sk.plot.estimates(res), tmp_path / "a" / "fig")
    b = sk.plot.save(sk.plot.estimates(res), tmp_path / "b" / "fig")
    for fmt in ("png", "svg", "pdf"):
        assert a[fmt].read_bytes() == b[fmt].read_bytes(), fmt


def test_errors_are_typed(replica):
    with pytest.raises(SurveyKitError):
        sk.plot.estimates(pd.DataFrame({"x": [1]}))
    with pytest.raises(SurveyKitError):
        sk.plot.hist(replica, "nope")
    with pytest.raises(SurveyKitError):
        sk.plot.estimates(sk.proportion(replica, "approval"), kind="pie")


def test_estimates_of_quantiles_one_row_per_group_and_quantile(replica):
    res = sk.quantile(replica, "age", [0.25, 0.5, 0.75], by="urban")
    assert res["urban"].dtype == np.int64 and "urban_label" in res.columns
    fig = sk.plot.estimates(res)
    (ax,) = [a for a in fig.axes if a.get_visible()]
    ticks = [t.get_text() for t in ax.get_yticklabels()]
    assert ticks[0] == "Rural, 25th percentile" and ticks[-1] == "Urban, 75th percentile"
    (cont,) = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    np.testing.assert_allclose(cont.lines[0].get_xdata(), res["estimate"])
