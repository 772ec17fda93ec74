"""sk.plot.forest on multinomial and ordinal models and sk.plot.estimates on any tidy result
(issue 20, items 3, 5, 6): one colour and legend entry per outcome equation, reference rows,
cut-points left out and said so, margins/contrasts drawn, many groups laid out with tick
labels on every panel and titles inside the figure."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.container import ErrorbarContainer

import surveykit as sk
from surveykit.report.figures import figure_texts


@pytest.fixture(scope="module")
def replica() -> sk.SurveyDesign:
    return sk.SurveyDesign(sk.load_replica(), weights="weight")


def _bars(ax) -> list[ErrorbarContainer]:
    return [c for c in ax.containers if isinstance(c, ErrorbarContainer)]


def test_forest_multinom_one_series_per_outcome_with_legend(replica):
    m = sk.multinom(replica, "education ~ C(age_group) + urban")
    fig = sk.plot.forest(m)
    ax = fig.axes[0]
    conts = _bars(ax)
    levels = sk.labels.value_labels(replica, "education")
    base = levels[min(levels)]
    assert len(conts) == len(levels) - 1
    # one colour per equation, and the legend names each against the baseline
    colours = {tuple(np.round(c.lines[0].get_color() if isinstance(c.lines[0].get_color(), tuple)
                              else [hash(c.lines[0].get_color())], 6)) for c in conts}
    assert len(colours) == len(conts)
    legend = fig.legends[0]
    assert [t.get_text() for t in legend.get_texts()] == [
        f"{levels[k]} vs {base}" for k in sorted(levels)[1:]]
    # each equation's RRRs are drawn on the rows, dodged (never on the same y)
    t = m.tidy(exponentiate=True)
    first = t[t["outcome"] == t["outcome"].iloc[0]]
    np.testing.assert_allclose(conts[0].lines[0].get_xdata(),
                               first.loc[first["term"] != "Intercept", "estimate"])
    ys = [tuple(np.round(c.lines[0].get_ydata(), 6)) for c in conts]
    assert len(set(ys)) == len(ys)
    # no number annotations (they would overlap); the reference row is labelled
    assert not ax.texts
    ticks = [x.get_text() for x in ax.get_yticklabels()]
    age = sk.labels.value_labels(replica, "age_group")
    assert ticks[0] == f"Age group: {age[1]} (ref.)"
    assert fig.axes[0].get_xlabel().startswith("Relative-risk ratio")


def test_forest_ordinal_leaves_cutpoints_out_and_says_so(replica):
    o = sk.ordinal(replica, "approval ~ C(age_group) + urban")
    fig = sk.plot.forest(o)
    ticks = [x.get_text() for x in fig.axes[0].get_yticklabels()]
    assert not any("|" in x for x in ticks)
    assert len(ticks) == o.n_coef + 1  # + the reference row
    assert any("cut-points" in x and "not shown" in x for x in figure_texts(fig))
    (cont,) = _bars(fig.axes[0])
    assert len(cont.lines[0].get_xdata()) == o.n_coef
    no_ref = sk.plot.forest(o, reference=False)
    assert len(no_ref.axes[0].get_yticklabels()) == o.n_coef


def _inside(fig, artist) -> bool:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig).draw()  # runs the constrained layout
    box = artist.get_window_extent()
    fb = fig.bbox
    return box.x0 >= fb.x0 - 1 and box.x1 <= fb.x1 + 1 and box.y1 <= fb.y1 + 1


def test_estimates_draws_margins_and_contrasts(replica):
    g = sk.glm(replica, "urban ~ C(age_group) + C(gender)", family="binomial")
    marg = sk.margins(g, "age_group")
    fig = sk.plot.estimates(marg)
    (cont,) = _bars(fig.axes[0])
    np.testing.assert_allclose(cont.lines[0].get_xdata(), marg["estimate"])
    ticks = [x.get_text() for x in fig.axes[0].get_yticklabels()]
    assert ticks == list(marg["age_group_label"])
    assert sk.SYNTHETIC_BANNER in figure_texts(fig)
    mm = sk.mean(replica, "approval", by="age_group", vcov=True)
    lab = list(mm["age_group_label"])
    c = sk.contrast(mm, {f"{lab[1]} vs {lab[0]}": {lab[1]: 1, lab[0]: -1},
                         f"{lab[2]} vs {lab[0]}": {lab[2]: 1, lab[0]: -1}})
    fig = sk.plot.estimates(c)
    (cont,) = _bars(fig.axes[0])
    np.testing.assert_allclose(cont.lines[0].get_xdata(), c["estimate"])
    assert [x.get_text() for x in fig.axes[0].get_yticklabels()] == list(c["contrast"])
    assert sk.SYNTHETIC_BANNER in figure_texts(fig)


@pytest.mark.parametrize("groups", [4, 10])
def test_estimates_many_groups_keep_ticks_and_titles(groups):
    rng = np.random.default_rng(groups)
    n = 300 * groups
    df = pd.DataFrame({"g": rng.integers(1, groups + 1, n), "y": rng.integers(1, 4, n),
                       "w": rng.uniform(1, 3, n)})
    sk.labels.attach(df, {"g": {i: f"Province number {i} with a long name"
                                for i in range(1, groups + 1)}},
                     {"g": "Province of residence (administrative region)"})
    d = sk.SurveyDesign(df, weights="w")
    fig = sk.plot.estimates(sk.proportion(d, "y", by="g"))
    shown = [ax for ax in fig.axes if ax.get_visible()]
    assert len(shown) == groups
    for ax in shown:
        labels = [t for t in ax.get_xticklabels() if t.get_text()]
        assert labels and all(t.get_visible() for t in labels)
        title = ax._left_title  # set_title(loc="left")
        assert "Province number" in title.get_text()
        assert _inside(fig, title)
