"""Figures: assert on what is drawn (bars, points, labels, banner), and byte-identical files.

Input frames follow the ReplicationResult contract; their "published" values are the Figure
5.4 / 5.9 / 5.10 numbers of the seed text, "computed" values are published + a small known
offset, so every drawn quantity has a hand-checkable expected value.
"""

from __future__ import annotations

import hashlib
import struct

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PathCollection
from matplotlib.container import ErrorbarContainer
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle

from surveykit.errors import SurveyKitError, ValidationError
from surveykit.replication.result import COMPARISON_COLUMNS, SYNTHETIC_BANNER
from surveykit.report import figures as F

# ---------------------------------------------------------------------------------------------
# hand-made comparison frames shaped like the contract
# ---------------------------------------------------------------------------------------------

APPROVAL_GROUPS = [
    ("total", "Total", 2209), ("sesame", "Users of Sesame Credit", 1309),
    ("tencent", "Users of Tencent Credit", 680), ("commercial", "Users of commercial SCSs", 1639),
    ("commercial_no_gov", "Users of commercial SCSs without using governmental pilots", 1510),
    ("government", "Citizens part of governmental pilot", 160),
    ("government_only", "Citizens part of governmental pilot without using commercial pilots", 31),
]
APPROVAL = [  # Figure 5.4, rows = codes 1..5, columns = groups above
    [0.60, 0.09, 0.15, 0.14, 0.15, 0.00, 0.00],
    [0.75, 0.38, 0.08, 0.37, 0.40, 0.00, 0.00],
    [18.65, 10.61, 10.85, 12.63, 13.43, 9.73, 34.36],
    [31.11, 31.86, 30.31, 32.22, 32.55, 26.20, 17.37],
    [48.89, 57.06, 58.61, 54.65, 53.48, 64.07, 48.27],
]
ITEM_GROUPS = [
    ("total", "Total (N = 1,581)", 1581),
    ("commercial_only", "Commercial Participants Only (N = 1,421)", 1421),
    ("government", "Government and Commercial Participants (N = 160)", 160),
    ("government_only", "Government Participants Only", 31),
]
ITEMS = [
    ("pos_shopping", "Positive: Changed my shopping behavior", [50.8, 49.4, 63.3, 35.0]),
    ("pos_content", "Positive: Shared different content online", [25.5, 23.2, 45.9, 24.0]),
    ("pos_donate", "Positive: Donated money", [34.2, 31.9, 55.8, 37.2]),
    ("any_positive", "Minimum of one positive change", [91.3, 90.4, 99.4, 100.0]),
    ("neg_traffic", "Suppressed: Adhered to traffic regulations", [50.8, 48.9, 67.7, 49.4]),
    ("neg_unfriend", "Suppressed: Unfriended people on social media",
     [17.4, 15.6, 33.7, 40.6]),
    ("any_negative", "Minimum of one negative change", [85.0, 83.8, 95.3, 97.2]),
]
SOCIO = [  # Figure 5.10 (subset): group id, label, yes %, index, directional index
    ("total", "All SCS participants: Total (average)", 94.1, 3.5, 0.5),
    ("region_west", "Region: West", 96.2, 3.5, 0.4),
    ("region_east", "Region: East", 92.8, 3.6, 0.6),
    ("edu_none", "Education: No education (a)", 75.0, 1.9, -0.2),
    ("edu_high", "Education: High education", 94.1, 3.7, 0.7),
]
OFFSET = {"percent": 0.01, "mean": 0.02}  # computed = published + offset
SE = {"percent": 1.0, "mean": 0.1}


def make_frame(table_id: str, cells: list[tuple], decimals: int) -> pd.DataFrame:
    """cells: (row_id, row_label, group_id, group_label, group_n, stat, published)."""
    rows = []
    for row_id, row_label, group_id, group_label, group_n, stat, pub in cells:
        comp = pub + OFFSET[stat]
        se = SE[stat]
        tol = 0.5 * 10.0**-decimals
        rows.append({
            "table_id": table_id, "row_id": row_id, "row_label": row_label,
            "group_id": group_id, "group_label": group_label, "stat": stat,
            "published": pub, "computed": comp, "difference": comp - pub, "tolerance": tol,
            "passed": abs(comp - pub) <= tol, "std_error": se, "ci_low": comp - 1.96 * se,
            "ci_high": comp + 1.96 * se, "n_unweighted": 100, "group_n": group_n,
        })
    frame = pd.DataFrame(rows, columns=list(COMPARISON_COLUMNS))
    frame["passed"] = frame["passed"].astype("boolean")
    return frame


def approval_frame() -> pd.DataFrame:
    cells = [(f"approval_{i + 1}", f"{i + 1} = level {i + 1}", g, label, n, "percent",
              APPROVAL[i][j])
             for i in range(5) for j, (g, label, n) in enumerate(APPROVAL_GROUPS)]
    return make_frame("fig_5_4", cells, 2)


def items_frame() -> pd.DataFrame:
    cells = [(rid, rlab, g, glab, n, "percent", vals[j])
             for rid, rlab, vals in ITEMS for j, (g, glab, n) in enumerate(ITEM_GROUPS)]
    return make_frame("fig_5_9", cells, 1)


def socio_frame() -> pd.DataFrame:
    """Registry orientation: rows are the measures, groups the sociodemographic groups."""
    measures = [("change_yes", "At least one behavioral change (in %) Yes", "percent", 2),
                ("bc_index", "Mean of behavioral change index (0 to 12)", "mean", 3),
                ("bc_direction", "Mean of directional behavioral change index (-6 to 6)",
                 "mean", 4)]
    cells = [(mid, mlab, g, glab, None, stat, rec[k])
             for mid, mlab, stat, k in measures for rec in SOCIO
             for g, glab in [rec[:2]]]
    return make_frame("fig_5_10", cells, 1)


def texts(fig) -> list[str]:
    return F.figure_texts(fig)


# ---------------------------------------------------------------------------------------------
# approval_diverging
# ---------------------------------------------------------------------------------------------


def test_approval_diverging_draws_one_stacked_bar_per_group():
    fig = F.approval_diverging(approval_frame(), title="Approval", note="Source: test")
    (ax,) = fig.axes
    bars = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert len(bars) == 5 * 7
    widths = np.array([b.get_width() for b in bars]).reshape(5, 7)
    np.testing.assert_allclose(widths, np.array(APPROVAL) + 0.01)
    # the neutral segment (code 3) is centred on zero for every group
    neutral = bars[2 * 7: 3 * 7]
    centres = [b.get_x() + b.get_width() / 2 for b in neutral]
    np.testing.assert_allclose(centres, 0.0, atol=1e-12)
    # disapproval to the left: code 1 ends where code 2 starts, code 2 ends at -neutral/2
    for j in range(7):
        assert bars[7 + j].get_x() + bars[7 + j].get_width() == pytest.approx(
            -(APPROVAL[2][j] + 0.01) / 2)
    # one bar per group, published order top to bottom, N in the tick labels
    ticks = [t.get_text() for t in ax.get_yticklabels()]
    assert len(ticks) == 7
    assert ticks[0] == "Total\n(N = 2,209)"
    assert ticks[-1].endswith("(N = 31)")
    assert "Users of Tencent Credit\n(N = 680)" in ticks
    assert ax.yaxis_inverted()
    assert "neutral centred on zero" in ax.get_xlabel()
    # level labels from the codebook (the frame says "3 = level 3")
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend[0] == "Strongly disapprove"  # codebook label, capitalised for display
    assert set(legend) == {"Strongly disapprove", "Somewhat disapprove",
                           "Neither approve nor disapprove", "Somewhat approve",
                           "Strongly approve"}


def test_approval_diverging_published_values_and_labels_fallback(monkeypatch):
    monkeypatch.setattr(F, "codebook_labels", lambda *a, **k: None)
    fig = F.approval_diverging(approval_frame(), value="published")
    bars = fig.axes[0].patches
    np.testing.assert_allclose([b.get_width() for b in bars][:7], APPROVAL[0])
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend[0] == "1 = level 1"


def test_banner_present_iff_replica():
    frame = approval_frame()
    with_banner = texts(F.approval_diverging(frame, note="Source: x", replica=True))
    without = texts(F.approval_diverging(frame, note="Source: x", replica=False))
    assert SYNTHETIC_BANNER in with_banner
    assert SYNTHETIC_BANNER not in without
    assert "Source: x" in with_banner and "Source: x" in without


def test_source_note_text():
    assert F.source_note("/data/x/replica.sav", "Kostka (2019), p. 13") == (
        "Source: computed with surveykit from replica.sav; published values: "
        "Kostka (2019), p. 13")
    assert F.source_note() == "Source: computed with surveykit"


# ---------------------------------------------------------------------------------------------
# behaviour_items
# ---------------------------------------------------------------------------------------------


def test_behaviour_items_two_panels_bars_cis_and_published_markers():
    fig = F.behaviour_items(items_frame(), title="Items", note="n", replica=True)
    assert len(fig.axes) == 2
    pos_ax, neg_ax = fig.axes
    assert "positively" in pos_ax.get_title(loc="left")
    assert "avoid" in neg_ax.get_title(loc="left")
    for ax, items in ((pos_ax, ITEMS[:4]), (neg_ax, ITEMS[4:])):
        bars = ax.patches
        assert len(bars) == len(items) * 4
        # bars are drawn group by group; within a group, item by item
        widths = np.array([b.get_width() for b in bars]).reshape(4, len(items))
        np.testing.assert_allclose(widths.T, np.array([v for *_, v in items]) + 0.01)
        # 95 % CI whiskers: one errorbar container per group, half-width 1.96 * SE
        errs = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
        assert len(errs) == 4
        seg = errs[0].lines[2][0].get_segments()[0]
        assert seg[1][0] - seg[0][0] == pytest.approx(2 * 1.96)
        # one published marker per bar, at the published value
        marks = [c for c in ax.collections if isinstance(c, PathCollection)]
        offsets = np.vstack([m.get_offsets() for m in marks])
        assert offsets.shape == (len(items) * 4, 2)
        np.testing.assert_allclose(sorted(offsets[:, 0]),
                                   sorted(np.array([v for *_, v in items]).ravel()))
        # "Positive: " / "Suppressed: " prefixes are dropped (the panel title says it)
        labels = [t.get_text() for t in ax.get_yticklabels()]
        assert not any(lab.startswith(("Positive", "Suppressed")) for lab in labels)
    assert next(t.get_text() for t in pos_ax.get_yticklabels()) == "Changed my shopping behavior"
    assert pos_ax.get_xlim() == (0.0, 102.0)
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    # labels that already state N are not given a second one; the others get it
    assert legend[0] == "Total (N = 1,581)"
    assert "Government Participants Only (N = 31)" in legend
    assert "published value" in legend and len(legend) == 5
    assert SYNTHETIC_BANNER in texts(fig)


def test_behaviour_items_rejects_unclassifiable_rows():
    frame = items_frame()
    frame.loc[frame["row_id"] == "pos_donate", "row_id"] = "donate"
    with pytest.raises(ValidationError, match="donate"):
        F.behaviour_items(frame)


# ---------------------------------------------------------------------------------------------
# index_by_group
# ---------------------------------------------------------------------------------------------


def _points(ax, gid: str) -> np.ndarray:
    (line,) = [ln for ln in ax.lines if ln.get_gid() == gid]
    return np.column_stack([line.get_xdata(), line.get_ydata()])


def test_index_by_group_points_cis_and_published_markers():
    fig = F.index_by_group(socio_frame(), title="Index", note="Source: y")
    assert len(fig.axes) == 2  # the two mean measures; the percent row is left out
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels[0] == "All SCS participants: Total\n(average)"
    assert labels[1:] == [rec[1] for rec in SOCIO[1:]]
    for ax, k in zip(fig.axes, (3, 4), strict=True):
        comp = _points(ax, "computed")
        pub = _points(ax, "published")
        expected = np.array([rec[k] for rec in SOCIO])
        np.testing.assert_allclose(comp[:, 0], expected + 0.02)
        np.testing.assert_allclose(comp[:, 1], np.arange(len(SOCIO)))
        np.testing.assert_allclose(pub[:, 0], expected)
        np.testing.assert_allclose(pub[:, 1], np.arange(len(SOCIO)) + 0.28)  # beside, below
        assert ax.lines[[ln.get_gid() for ln in ax.lines].index("published")].get_marker() \
            == "D"
    assert "behavioral change index (0 to 12)" in fig.axes[0].get_xlabel().replace("\n", " ")
    # the directional index crosses zero -> a reference line at 0 is drawn
    zero = [ln for ln in fig.axes[1].lines if list(ln.get_xdata()) == [0.0, 0.0]]
    assert len(zero) == 1
    # separators between the categories Region | Education (labels "Category: level")
    seps = [ln for ln in fig.axes[0].lines if list(ln.get_ydata()) in ([0.5, 0.5], [2.5, 2.5])]
    assert len(seps) == 2
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend == ["computed (95 % CI)", "published"]


def test_index_by_group_detects_transposed_frames():
    frame = socio_frame()
    swapped = frame.rename(columns={"row_id": "group_id", "group_id": "row_id",
                                    "row_label": "group_label", "group_label": "row_label"})
    a = F.index_by_group(frame)
    b = F.index_by_group(swapped)
    for ax_a, ax_b in zip(a.axes, b.axes, strict=True):
        np.testing.assert_array_equal(_points(ax_a, "computed"), _points(ax_b, "computed"))
    with pytest.raises(ValidationError, match="nope"):
        F.index_by_group(frame, measures=["nope"])


# ---------------------------------------------------------------------------------------------
# forest
# ---------------------------------------------------------------------------------------------


def tidy_model() -> pd.DataFrame:
    b = np.array([0.4, -0.2, 0.3, 0.7])
    se = np.array([0.3, 0.1, 0.15, 0.08])
    terms = ["(Intercept)", "age_group[T.2]", "age_group[T.3]", "trust_central"]
    est = np.exp(b)
    frame = pd.DataFrame({"term": terms, "estimate": est, "std_error": est * se,
                          "ci_low": np.exp(b - 1.96 * se), "ci_high": np.exp(b + 1.96 * se)})
    cut = pd.DataFrame({"term": ["1|2", "2|3"], "estimate": [-3.0, -1.0], "std_error": [0.2, 0.1],
                        "ci_low": [-3.4, -1.2], "ci_high": [-2.6, -0.8]})
    return pd.concat([frame, cut], ignore_index=True)


def test_forest_log_axis_reference_line_and_rows():
    fig = F.forest(tidy_model(), "Ordinal logit", note="Source: z", replica=False)
    (ax,) = fig.axes
    assert ax.get_xscale() == "log"
    labels = [t.get_text() for t in ax.get_yticklabels()]
    # no intercept / cut points; labels from the codebook
    assert labels == ["Age group: 31–50 (ref. 14–30)", "Age group: 51–65 (ref. 14–30)",
                      "Trust in the central government"]
    (est,) = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    np.testing.assert_allclose(est.lines[0].get_xdata(), np.exp([-0.2, 0.3, 0.7]))
    ref = [ln for ln in ax.lines if isinstance(ln, Line2D) and list(ln.get_xdata()) == [1, 1]]
    assert len(ref) == 1
    # annotations "OR [low, high]" e.g. exp(-0.2) = 0.8187 -> 0.82, exp(-0.2 -/+ 0.196)
    notes = [t.get_text() for t in ax.texts]
    assert notes[0] == "0.82 [0.67, 1.00]"
    assert "Odds ratio (95 % CI, log scale)" == ax.get_xlabel()
    lo, hi = ax.get_xlim()
    assert lo < np.exp(-0.2 - 0.196) and hi > np.exp(0.7 + 0.157)
    assert "Ordinal logit" in texts(fig)
    assert SYNTHETIC_BANNER not in texts(fig)


def test_forest_rejects_raw_coefficients_on_log_axis():
    raw = tidy_model().assign(estimate=[0.4, -0.2, 0.3, 0.7, -3.0, -1.0])
    with pytest.raises(ValidationError, match=r"age_group\[T\.2\]"):
        F.forest(raw, "raw")
    fig = F.forest(raw.assign(ci_low=np.nan, ci_high=np.nan), "raw", log=False,
                   measure="Coefficient")
    assert fig.axes[0].get_xscale() == "linear"


def test_forest_keeps_non_estimable_terms_as_labelled_rows():
    tidy = tidy_model()
    tidy.loc[2, ["estimate", "ci_low", "ci_high"]] = np.nan  # age_group[T.3]
    ax = F.forest(tidy, "t").axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()][1].startswith("Age group: 51–65")
    (est,) = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    np.testing.assert_allclose(est.lines[0].get_ydata(), [0.0, 2.0])
    assert [t.get_text() for t in ax.texts][1] == "not estimable"
    with pytest.raises(ValidationError, match="no finite estimate"):
        F.forest(tidy.assign(estimate=np.nan), "t")


def test_term_labels_from_the_codebook():
    terms = ["C(age_group)[T.2]", "C(age_group)[T.3]", "urban", "gender[T.2]",
             "C(region)[T.3]", "not_a_variable", "(Intercept)", "1|2"]
    assert F.term_labels(terms) == [
        "Age group: 31–50 (ref. 14–30)", "Age group: 51–65 (ref. 14–30)",
        "Urban residence (urban vs rural)", "Gender: male (ref. female)",
        "Region (NBS economic belt): West (ref. East)", "not_a_variable", "(Intercept)", "1|2"]


# ---------------------------------------------------------------------------------------------
# weight_diagnostics
# ---------------------------------------------------------------------------------------------


def margins_frame() -> pd.DataFrame:
    return pd.DataFrame({
        "variable": ["gender", "gender", "region", "region", "region"],
        "category": ["female", "male", "East", "Central", "West"],
        "n_unweighted": [45, 55, 50, 30, 20],
        "unweighted_share": [0.45, 0.55, 0.50, 0.30, 0.20],
        "sample_share": [0.44, 0.56, 0.51, 0.29, 0.20],
        "weighted_share": [0.49, 0.51, 0.42, 0.33, 0.25],
        "target_share": [0.49, 0.51, 0.42, 0.33, 0.25],
    })


def test_weight_diagnostics_histogram_stats_and_margins():
    w = np.repeat([1.0, 2.0, 4.0], [50, 30, 20])
    fig = F.weight_diagnostics(w, margins_frame(), note="Source: w", replica=True)
    ax_h, ax_m = fig.axes
    heights = [p.get_height() for p in ax_h.patches]
    assert len(heights) == 10  # sqrt(100) bins
    assert sum(heights) == 100
    # Kish deff by hand: n sum(w^2) / sum(w)^2 = 100 * (50 + 120 + 320) / (50 + 60 + 80)^2
    deff = 100 * 490 / 190**2  # = 1.357, ESS = 73.7
    assert f"{deff:.3f}" == "1.357"
    (box,) = ax_h.texts
    assert f"Kish deff = {deff:.3f}" in box.get_text()
    assert f"ESS = {100 / deff:,.0f}" in box.get_text()
    bars = ax_m.patches
    assert len(bars) == 3 * 5
    widths = np.array([b.get_width() for b in bars]).reshape(3, 5)
    np.testing.assert_allclose(widths[0], [45, 55, 50, 30, 20])  # unweighted sample, in %
    np.testing.assert_allclose(widths[2], [49, 51, 42, 33, 25])  # target
    assert next(t.get_text() for t in ax_m.get_yticklabels()) == "gender: female"
    legend = [t.get_text() for lg in ax_m.figure.legends for t in lg.get_texts()]
    assert legend == ["sample (unweighted)", "weighted", "target"]
    assert SYNTHETIC_BANNER in texts(fig)


def test_weight_diagnostics_without_margins_and_bad_weights():
    fig = F.weight_diagnostics(np.ones(9), pd.DataFrame())
    assert len(fig.axes) == 1
    with pytest.raises(SurveyKitError):
        F.weight_diagnostics(np.array([1.0, np.nan]))
    with pytest.raises(ValidationError, match="target_share"):
        F.weight_diagnostics(np.ones(3), pd.DataFrame({"variable": ["a"], "x": [1]}))


# ---------------------------------------------------------------------------------------------
# saving: PNG 300 dpi, SVG, PDF, byte-identical
# ---------------------------------------------------------------------------------------------


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_save_figure_is_byte_identical_and_metadata_free(tmp_path):
    frame = approval_frame()
    a = F.save_figure(F.approval_diverging(frame, note="n", replica=True), tmp_path / "a" / "fig")
    b = F.save_figure(F.approval_diverging(frame, note="n", replica=True), tmp_path / "b" / "fig")
    assert sorted(a) == ["pdf", "png", "svg"]
    for fmt in a:
        assert a[fmt].name == f"fig.{fmt}"
        assert _digest(a[fmt]) == _digest(b[fmt]), fmt
    png = a["png"].read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    fig = F.approval_diverging(frame, note="n", replica=True)
    w_in, h_in = fig.get_size_inches()
    assert (width, height) == (round(w_in * 300), round(h_in * 300))
    assert b"Software" not in png
    pdf = a["pdf"].read_bytes()
    assert pdf.startswith(b"%PDF") and b"CreationDate" not in pdf
    assert b"/Producer (surveykit)" in pdf
    svg = a["svg"].read_text()
    assert "<dc:date>" not in svg
    with pytest.raises(ValidationError):
        F.save_figure(fig, tmp_path / "c", formats=("gif",))
