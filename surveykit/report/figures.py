"""Publication figures built from tidy replication frames (matplotlib/seaborn, no pyplot).

Every function takes the long comparison frames of :class:`~surveykit.replication.result.
ReplicationResult` (or a model's ``tidy(exponentiate=True)`` frame, or the analysis weights) and
returns a :class:`matplotlib.figure.Figure`. Figures are created without ``pyplot`` (so no global
figure registry and no GUI backend are involved) and written by :func:`save_figure` as PNG, SVG
and PDF with fixed metadata, so the same inputs give byte-identical files.

Every figure carries a source note; figures made from the bundled synthetic replica also carry
:data:`~surveykit.replication.result.SYNTHETIC_BANNER` as figure-level text.
"""

from __future__ import annotations

import io
import re
import textwrap
import types
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from surveykit._atomic import atomic_path, write_bytes
from surveykit.errors import SurveyKitError, ValidationError
from surveykit.replication.result import SYNTHETIC_BANNER

#: Okabe–Ito colours (colour-blind safe), yellow left out because it is unreadable on white.
OKABE_ITO: tuple[str, ...] = (
    "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000",
)
#: Five-step diverging palette (ColorBrewer BrBG, CVD safe) with a grey neutral midpoint.
DIVERGING_5: tuple[str, ...] = ("#8C510A", "#D8B365", "#D9D9D9", "#5AB4AC", "#01665E")
#: Colour of published reference markers.
PUBLISHED_COLOUR = "#000000"

#: Fixed file metadata, so that saved files do not depend on the clock or the matplotlib build.
PNG_METADATA: dict[str, Any] = {"Software": None}
SVG_METADATA: dict[str, Any] = {"Date": None, "Creator": "surveykit"}
PDF_METADATA: dict[str, Any] = {
    "Creator": "surveykit", "Producer": "surveykit", "CreationDate": None,
}

#: seaborn's "ticks" axes style (seaborn 0.13 ``axes_style("ticks")``), written out so that
#: drawing a figure does not import seaborn (and with it scipy.stats and pyplot: ~1 s).
TICKS_STYLE: dict[str, Any] = {
    "figure.facecolor": "white", "axes.facecolor": "white", "axes.edgecolor": ".15",
    "axes.labelcolor": ".15", "axes.grid": False, "axes.axisbelow": True,
    "axes.spines.left": True, "axes.spines.bottom": True,
    "axes.spines.right": True, "axes.spines.top": True,
    "grid.color": ".8", "grid.linestyle": "-", "text.color": ".15",
    "xtick.direction": "out", "ytick.direction": "out", "xtick.color": ".15",
    "ytick.color": ".15", "xtick.top": False, "ytick.right": False, "xtick.bottom": True,
    "ytick.left": True, "lines.solid_capstyle": "round", "patch.edgecolor": "w",
    "patch.force_edgecolor": True, "image.cmap": "viridis",
    "font.family": ["sans-serif"],
    "font.sans-serif": ["Arial", "DejaVu Sans", "Liberation Sans", "Bitstream Vera Sans",
                        "sans-serif"],
}

#: rcParams applied while a figure is drawn and saved (style, sizes, deterministic SVG ids).
RC: dict[str, Any] = {
    **TICKS_STYLE,
    "svg.hashsalt": "surveykit",
    "svg.fonttype": "path",
    "pdf.fonttype": 42,
    "font.family": "DejaVu Sans",
    "font.size": 8.0,
    "axes.titlesize": 9.0,
    "axes.titleweight": "bold",
    "axes.labelsize": 8.0,
    "xtick.labelsize": 7.5,
    "ytick.labelsize": 7.5,
    "legend.fontsize": 7.5,
    "legend.frameon": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "savefig.dpi": 300,
    "path.simplify": True,
}

FIGURE_WIDTH = 7.2  # inches: a two-column journal page
NOTE_SIZE = 6.5
BANNER_COLOUR = "#B22222"


@contextmanager
def _style():
    """Apply :data:`RC` for the duration of figure construction or saving."""
    with mpl.rc_context(RC):
        yield


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------


def diverging_colours(k: int) -> list[str]:
    """``k`` colours of ColorBrewer BrBG sampled as seaborn's ``color_palette("BrBG", k)``
    (evenly spaced, both ends left out)."""
    cmap = mpl.colormaps["BrBG"]
    return [mpl.colors.to_hex(c) for c in cmap(np.linspace(0, 1, k + 2)[1:-1])]


def source_note(input_file: str | None = None, published: str | None = None) -> str:
    """The standard source line: what was computed from which file, and where published values
    come from (e.g. ``"Kostka (2019), p. 13"``)."""
    text = "Source: computed with surveykit"
    if input_file:
        text += f" from {Path(str(input_file)).name}"
    if published:
        text += f"; published values: {published}"
    return text


def _wrap(text: str, width: int) -> str:
    """Wrap at spaces, never inside parentheses (keeps "(-6 to 6)" on one line)."""
    text = re.sub(r"\([^)]*\)", lambda m: m.group(0).replace(" ", "\u00a0"), str(text))
    lines = textwrap.wrap(text, width=width, break_on_hyphens=False) or [text]
    return "\n".join(lines).replace("\u00a0", " ")


def _new_figure(height: float, *, note: str | None, replica: bool, title: str | None = None,
                legend_rows: int = 0, width: float = FIGURE_WIDTH) -> Figure:
    """A constrained-layout figure with fixed bands for banner and title (top) and for a
    figure legend of ``legend_rows`` rows and the source note (bottom).

    ``height`` is the height of the panels' area; the bands are added to it. Banner, title and
    note are figure-level texts outside the layout rectangle (placed in inches, so they never
    overlap the panels); :func:`_figure_legend` puts the legend in its band.
    """
    note = _wrap(note, int(width * 17)) if note else None
    title = _wrap(title, int(width * 12)) if title else None
    top_in = 0.05 + (0.22 if replica else 0.0)
    top_in += (0.06 + 0.16 * (title.count("\n") + 1)) if title else 0.0
    note_in = (0.1 + 0.11 * (note.count("\n") + 1)) if note else 0.0
    legend_in = (0.08 + 0.16 * legend_rows) if legend_rows else 0.0
    total = height + top_in + note_in + legend_in
    fig = Figure(figsize=(width, total), layout="constrained")
    fig.get_layout_engine().set(rect=(0.0, (note_in + legend_in) / total, 1.0,
                                      height / total))
    y = 1.0 - 0.05 / total
    if replica:
        fig.text(0.5, y, SYNTHETIC_BANNER, ha="center", va="top", fontsize=8.5,
                 fontweight="bold", color=BANNER_COLOUR, gid="synthetic-banner")
        y -= 0.22 / total
    if title:
        fig.text(0.5, y - 0.03 / total, title, ha="center", va="top", fontsize=9.5,
                 fontweight="bold", gid="figure-title")
    if note:
        fig.text(0.01, 0.05 / total, note, ha="left", va="bottom", fontsize=NOTE_SIZE,
                 color="#404040", gid="source-note")
    fig._surveykit_legend_y = (note_in + legend_in) / total  # type: ignore[attr-defined]
    return fig


def _figure_legend(fig: Figure, handles: list[Any], labels: list[str], ncol: int) -> None:
    """A figure legend centred in the band reserved by :func:`_new_figure`, read row-wise."""
    y = getattr(fig, "_surveykit_legend_y", 0.0)
    # matplotlib fills legend columns first; reorder so that entries read row by row
    order = [i for c in range(ncol) for i in range(c, len(labels), ncol)]
    handles, labels = [handles[i] for i in order], [labels[i] for i in order]
    fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, y), ncol=ncol,
               borderaxespad=0.2, handlelength=1.2, columnspacing=1.2)


def figure_texts(fig: Figure) -> list[str]:
    """Every text drawn on ``fig``: figure texts, title, note, axes titles/labels/ticks/texts,
    legend entries (used by tests and by the report's alt texts)."""
    out = [t.get_text() for t in fig.texts]
    for legend in fig.legends:
        out += [t.get_text() for t in legend.get_texts()]
    for ax in fig.axes:
        out += [ax.get_title(loc=loc) for loc in ("left", "center", "right")]
        out += [ax.get_xlabel(), ax.get_ylabel()]
        out += [t.get_text() for t in ax.get_xticklabels() + ax.get_yticklabels()]
        out += [t.get_text() for t in ax.texts]
        if ax.get_legend() is not None:
            out += [t.get_text() for t in ax.get_legend().get_texts()]
    return [t for t in out if t]


def _require(frame: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValidationError(f"{what}: the frame lacks required column(s)", column=missing[0],
                              values=missing, hint=f"present columns: {list(frame.columns)}")


def _ordered_unique(values: pd.Series) -> list[Any]:
    """Distinct values in order of first appearance (the published order)."""
    return list(dict.fromkeys(values.tolist()))


def _first_label(frame: pd.DataFrame, id_col: str, label_col: str) -> dict[Any, str]:
    """id -> label (first occurrence), falling back to the id when the label is missing."""
    out: dict[Any, str] = {}
    labels = frame[label_col] if label_col in frame.columns else frame[id_col]
    for key, label in zip(frame[id_col].tolist(), labels.tolist(), strict=True):
        if key not in out:
            out[key] = str(key) if label is None or pd.isna(label) or label == "" else str(label)
    return out


def _num(series: pd.Series) -> np.ndarray:
    """Numbers to draw, rounded to 10 decimals: last-bit differences of a computation (e.g. the
    summation order of a threaded BLAS) then cannot move an axis limit, so files stay
    byte-identical across runs."""
    return np.round(pd.to_numeric(series, errors="coerce").to_numpy(dtype=float), 10)


def _with_n(label: str, n: Any, sep: str = " ") -> str:
    """``label (N = n)`` unless the label already states its N or n is unknown."""
    n_text = _format_n(n)
    if n_text is None or re.search(r"\bN\s*=", label):
        return label
    return f"{label}{sep}({n_text})"


_BLOCK_PREFIX = re.compile(r"^(positive|negative|suppressed|pos|neg)\s*:\s*", re.IGNORECASE)


def _format_n(value: Any) -> str | None:
    if value is None or pd.isna(value):
        return None
    return f"N = {round(float(value)):,}"


def _trailing_code(value: Any) -> int | None:
    match = re.search(r"(-?\d+)$", str(value))
    return int(match.group(1)) if match else None


def codebook_labels(variable: str, codebook: str | None = None) -> dict[int, str] | None:
    """Value labels of ``variable`` from the canonical codebook, or None when unavailable.

    Figures prefer codebook labels and fall back to the table's own row/group labels.
    """
    try:
        from surveykit.dictionary import load_codebook
    except ImportError:
        return None
    try:
        labels = load_codebook(codebook or variable).labels(variable)
    except (SurveyKitError, KeyError, LookupError, AttributeError, FileNotFoundError):
        return None
    try:
        return {int(k): str(v) for k, v in dict(labels).items()}
    except (TypeError, ValueError):
        return None


#: Canonical codebooks searched for variable and value labels of model terms.
TERM_CODEBOOKS: tuple[str, ...] = ("approval", "behaviour")
_TERM = re.compile(r"(?:C\()?([A-Za-z_]\w*)\)?(?:\[T\.([^\]]+)\])?")


def _variable_info(variable: str) -> tuple[str, dict[int, str]] | None:
    """(variable label, value labels) from the first canonical codebook that has it."""
    try:
        from surveykit.dictionary import load_codebook
    except ImportError:
        return None
    for name in TERM_CODEBOOKS:
        try:
            book = load_codebook(name)
            if variable in book:
                values = {int(k): str(v) for k, v in dict(book.labels(variable)).items()}
                return str(book[variable].label), values
        except (SurveyKitError, KeyError, LookupError, TypeError, ValueError):
            continue
    return None


def term_labels(terms: Sequence[str]) -> list[str]:
    """Readable labels of model terms from the codebooks: ``C(age_group)[T.2]`` becomes
    "Age group: 31-50 (ref. 14-30)", ``urban`` "Urban residence (urban vs rural)"; terms of
    unknown variables are returned unchanged."""
    parsed = [_TERM.fullmatch(str(t)) for t in terms]
    present: dict[str, set[int]] = {}
    for m in parsed:
        if m and m.group(2) is not None:
            try:
                present.setdefault(m.group(1), set()).add(int(float(m.group(2))))
            except ValueError:
                continue
    out = []
    for term, m in zip(terms, parsed, strict=True):
        info = _variable_info(m.group(1)) if m else None
        if info is None:
            out.append(str(term))
            continue
        label, values = info
        if m.group(2) is None:
            if set(values) == {0, 1}:
                out.append(f"{label} ({values[1]} vs {values[0]})")
            else:
                out.append(label)
            continue
        try:
            code = int(float(m.group(2)))
        except ValueError:
            out.append(f"{label}: {m.group(2)}")
            continue
        ref = next((c for c in sorted(values) if c not in present.get(m.group(1), ())), None)
        text = f"{label}: {values.get(code, m.group(2))}"
        out.append(f"{text} (ref. {values[ref]})" if ref is not None else text)
    return out


def capitalise(text: Any) -> str:
    """A label as shown on a figure: first letter upper case ("strongly approve" -> "Strongly
    approve"); labels starting with a digit or already capitalised are unchanged."""
    text = str(text)
    return text[:1].upper() + text[1:] if text[:1].islower() else text


def likert_frame(result: pd.DataFrame) -> pd.DataFrame:
    """The long comparison-frame shape (``row_id``, ``row_label``, ``group_id``,
    ``group_label``, ``computed``, ``group_n``) of a :func:`surveykit.likert` table, so the
    figure functions draw it; SE columns become ``std_error``."""
    if "N" not in result.index:
        raise ValidationError("not an sk.likert table: it has no 'N' row",
                              values=list(result.index)[-3:])
    body = result.drop(index=[r for r in ("N", "N missing") if r in result.index])
    groups = [c for c in result.columns if not str(c).endswith(" (SE)")]
    recs = []
    for i, level in enumerate(body.index):
        for g in groups:
            se_col = f"{g} (SE)"
            recs.append({"row_id": f"level_{i}", "row_label": str(level), "group_id": str(g),
                         "group_label": str(g), "stat": "percent",
                         "computed": float(body.loc[level, g]),
                         "std_error": float(body.loc[level, se_col])
                         if se_col in body.columns else np.nan,
                         "group_n": float(result.loc["N", g])})
    frame = pd.DataFrame(recs)
    frame.attrs.update(result.attrs)
    frame.attrs["likert"] = True
    return frame


def _pivot(table: pd.DataFrame, value: str) -> tuple[list[Any], list[Any], np.ndarray]:
    """rows x groups matrix of ``value`` in published order (missing cells are NaN)."""
    rows = _ordered_unique(table["row_id"])
    groups = _ordered_unique(table["group_id"])
    r_index = {r: i for i, r in enumerate(rows)}
    g_index = {g: j for j, g in enumerate(groups)}
    out = np.full((len(rows), len(groups)), np.nan)
    ri = table["row_id"].map(r_index).to_numpy(dtype=int)
    gi = table["group_id"].map(g_index).to_numpy(dtype=int)
    out[ri, gi] = _num(table[value])
    return rows, groups, out


def _check_value(value: str) -> None:
    if value not in ("computed", "published"):
        raise ValidationError("value must be 'computed' or 'published'", values=[value])


def _select_stat(table: pd.DataFrame, stat: str) -> pd.DataFrame:
    if "stat" not in table.columns:
        return table
    sub = table[table["stat"] == stat]
    return sub if len(sub) else table


# --------------------------------------------------------------------------------------------
# Figure 5.4: approval by group, diverging stacked bars
# --------------------------------------------------------------------------------------------


def approval_diverging(table: pd.DataFrame, *, value: Literal["computed", "published"] = "computed",
                       title: str | None = None, note: str | None = None, replica: bool = False,
                       variable: str = "approval") -> Figure:
    """Diverging stacked bars of a 5-point (any odd/even k-point) scale by group.

    ``table`` is a comparison frame whose rows are the scale levels (in code order) and whose
    groups are the bars (published order, top to bottom), or the table of
    :func:`surveykit.likert` (its columns are the bars, its rows the levels); the neutral level
    is centred on zero, disapproval extends left and approval right. Tick labels carry the
    group N (``group_n``). Level labels come from the codebook of ``variable`` when the row ids
    carry its codes.
    """
    from_likert = "row_id" not in table.columns and "Total" in table.columns
    if from_likert:  # an sk.likert table
        table, variable = likert_frame(table), ""
    from_likert = from_likert or bool(table.attrs.get("likert"))
    _require(table, ["row_id", "group_id", value], "approval_diverging")
    _check_value(value)
    table = _select_stat(table, "percent")
    rows, groups, values = _pivot(table, value)
    k = len(rows)
    if k < 2:
        raise ValidationError("approval_diverging needs at least two scale levels", column="row_id",
                              values=rows)
    values = np.nan_to_num(values, nan=0.0)
    row_labels = _first_label(table, "row_id", "row_label")
    codes = [_trailing_code(r) for r in rows]
    book = codebook_labels(variable) if variable else None
    if book and all(c in book for c in codes):
        level_labels = [capitalise(book[c]) for c in codes]
    else:
        level_labels = [capitalise(row_labels[r]) for r in rows]
    group_labels = _first_label(table, "group_id", "group_label")
    n_by_group: dict[Any, Any] = {}
    if "group_n" in table.columns:
        for g, n in zip(table["group_id"].tolist(), table["group_n"].tolist(), strict=True):
            if g not in n_by_group or pd.isna(n_by_group[g]):
                n_by_group[g] = n
    ticks = [_with_n(_wrap(capitalise(group_labels[g]), 36), n_by_group.get(g), sep="\n")
             for g in groups]

    n_neg = k // 2
    has_neutral = k % 2 == 1
    neutral = values[n_neg] if has_neutral else np.zeros(len(groups))
    left_edge = -(neutral / 2.0 + values[:n_neg].sum(axis=0))
    colours = DIVERGING_5 if k == 5 else diverging_colours(k)

    with _style():
        height = 1.0 + 0.55 * len(groups)
        fig = _new_figure(height, note=note, replica=replica, title=title, legend_rows=2)
        ax = fig.add_subplot()
        y = np.arange(len(groups))
        starts = left_edge.copy()
        for i in range(k):
            widths = values[i]
            bars = ax.barh(y, widths, left=starts, height=0.7, color=colours[i],
                           edgecolor="white", linewidth=0.5, label=_wrap(level_labels[i], 32))
            dark = i in (0, k - 1)
            for rect, w in zip(bars.patches, widths, strict=True):
                if w >= 5.0:
                    ax.text(rect.get_x() + w / 2.0, rect.get_y() + rect.get_height() / 2.0,
                            f"{w:.0f}", ha="center", va="center", fontsize=6.5,
                            color="white" if dark else "black")
            starts = starts + widths
        left_lim = max(20.0, 10.0 * np.ceil(float(np.max(-left_edge)) / 10.0))
        right_lim = max(20.0, 10.0 * np.ceil(float(np.max(starts)) / 10.0))
        ax.set_xlim(-left_lim, right_lim)
        xt = np.arange(-left_lim, right_lim + 1e-9, 20.0 if right_lim > 60 else 10.0)
        ax.set_xticks(xt, [f"{abs(v):.0f}" for v in xt])
        ax.axvline(0.0, color="#404040", linewidth=0.8, zorder=0)
        ax.set_yticks(y, ticks)
        ax.invert_yaxis()
        what = "weighted" if from_likert else f"weighted, {value}"
        ax.set_xlabel(f"Percent of respondents ({what}); neutral centred on zero")
        handles, labels = ax.get_legend_handles_labels()
        _figure_legend(fig, handles, labels, ncol=min(k, 3))
    return fig


# --------------------------------------------------------------------------------------------
# Figure 5.9: behaviour items by participant group
# --------------------------------------------------------------------------------------------

_BLOCK_TITLES = {
    "pos": "Changed behaviour to positively influence the score",
    "neg": "Suppressed behaviour to avoid negatively influencing the score",
}


def _item_block(row_id: Any) -> str | None:
    key = str(row_id).lower()
    if "neg" in key or "suppress" in key:
        return "neg"
    if "pos" in key:
        return "pos"
    return None


def behaviour_items(table: pd.DataFrame, *, title: str | None = None, note: str | None = None,
                    replica: bool = False) -> Figure:
    """Grouped horizontal bars of the behaviour items by participant group, with 95 % CIs.

    Items whose ``row_id`` mentions "pos" go to the first panel (changed behaviour to raise the
    score), "neg"/"suppress" to the second. Bars are the computed percentages, whiskers the
    design-based ``ci_low``/``ci_high``, and a black tick marks the published value.
    """
    _require(table, ["row_id", "group_id", "computed"], "behaviour_items")
    table = _select_stat(table, "percent")
    rows, groups, comp = _pivot(table, "computed")
    pub = _pivot(table, "published")[2] if "published" in table.columns else None
    lo = _pivot(table, "ci_low")[2] if "ci_low" in table.columns else None
    hi = _pivot(table, "ci_high")[2] if "ci_high" in table.columns else None
    blocks = {r: _item_block(r) for r in rows}
    unknown = [r for r, b in blocks.items() if b is None]
    if unknown:
        raise ValidationError("behaviour_items: cannot tell positive from suppressing items; "
                              "row ids must contain 'pos' or 'neg'", column="row_id",
                              values=unknown)
    row_labels = _first_label(table, "row_id", "row_label")
    group_labels = _first_label(table, "group_id", "group_label")
    n_by_group = {}
    if "group_n" in table.columns:
        n_by_group = dict(zip(table["group_id"], table["group_n"], strict=True))
    panels = [b for b in ("pos", "neg") if any(v == b for v in blocks.values())]
    counts = [sum(v == b for v in blocks.values()) for b in panels]
    ng = len(groups)
    colours = OKABE_ITO
    bar_h = 0.8 / ng

    with _style():
        height = 0.9 + 0.11 * ng * sum(counts) + 0.35 * len(panels)
        fig = _new_figure(height, note=note, replica=replica, title=title,
                          legend_rows=int(np.ceil((ng + 1) / 2)))
        axes = fig.subplots(len(panels), 1, sharex=True, squeeze=False,
                            gridspec_kw={"height_ratios": counts})[:, 0]
        for ax, block in zip(axes, panels, strict=True):
            idx = [i for i, r in enumerate(rows) if blocks[r] == block]
            y = np.arange(len(idx), dtype=float)
            for j, g in enumerate(groups):
                yj = y - 0.4 + bar_h * (j + 0.5)
                vals = comp[idx, j]
                ax.barh(yj, np.nan_to_num(vals), height=bar_h * 0.92, color=colours[j % 7],
                        label=_with_n(group_labels[g], n_by_group.get(g)))
                if lo is not None and hi is not None:
                    ok = ~(np.isnan(lo[idx, j]) | np.isnan(hi[idx, j]) | np.isnan(vals))
                    if ok.any():
                        err = np.vstack([vals[ok] - lo[idx, j][ok], hi[idx, j][ok] - vals[ok]])
                        ax.errorbar(vals[ok], yj[ok], xerr=np.clip(err, 0.0, None), fmt="none",
                                    ecolor="#333333", elinewidth=0.6, capsize=1.2)
                if pub is not None:
                    pv = pub[idx, j]
                    ok = ~np.isnan(pv)
                    ax.scatter(pv[ok], yj[ok], marker="D", s=9, facecolors="white",
                               edgecolors=PUBLISHED_COLOUR, linewidths=0.7, zorder=3,
                               label="published value" if j == 0 else None)
            ax.set_yticks(y, [_wrap(_BLOCK_PREFIX.sub("", row_labels[rows[i]]), 34) for i in idx])
            ax.set_ylim(len(idx) - 0.5, -0.5)
            ax.set_title(_BLOCK_TITLES[block], loc="left", fontsize=8.5)
            ax.set_xlim(0.0, 102.0)
            ax.grid(axis="x", color="#E5E5E5", linewidth=0.5)
            ax.set_axisbelow(True)
        axes[-1].set_xlabel("Percent of participants (weighted), with 95 % design-based CI")
        handles, labels = axes[0].get_legend_handles_labels()
        order = [i for i, lab in enumerate(labels) if lab != "published value"]
        order += [i for i, lab in enumerate(labels) if lab == "published value"]
        _figure_legend(fig, [handles[i] for i in order], [labels[i] for i in order], ncol=2)
    return fig


# --------------------------------------------------------------------------------------------
# Figure 5.10 (and 5.8): index by group, point + CI dot plot
# --------------------------------------------------------------------------------------------

def _category_boundaries(labels: Sequence[str]) -> list[float]:
    """y positions between consecutive labels whose "Category: level" prefixes differ."""
    cats = [lab.split(": ", 1)[0] if ": " in lab else None for lab in labels]
    if sum(c is not None for c in cats) < 2:
        return []
    return [i - 0.5 for i in range(1, len(cats)) if cats[i] != cats[i - 1]]


_MEASURE_PATTERN = re.compile(r"index|bc_|direction|mean", re.IGNORECASE)


def _measure_axis(table: pd.DataFrame) -> Literal["row", "group"]:
    """Which axis of the frame holds the measures (the other holds the groups compared)."""
    n_rows, n_groups = table["row_id"].nunique(), table["group_id"].nunique()
    if n_groups == 1 and n_rows > 1:
        return "group"
    if n_rows == 1 and n_groups > 1:
        return "row"
    row_hit = all(_MEASURE_PATTERN.search(str(v)) for v in table["row_id"].unique())
    group_hit = all(_MEASURE_PATTERN.search(str(v)) for v in table["group_id"].unique())
    if group_hit != row_hit:
        return "group" if group_hit else "row"
    return "group" if n_groups <= n_rows else "row"


def index_by_group(table: pd.DataFrame, *, measures: Sequence[Any] | None = None,
                   title: str | None = None, note: str | None = None, replica: bool = False,
                   measure_axis: Literal["row", "group"] | None = None) -> Figure:
    """Dot plot of mean indices by group: computed point with 95 % CI, published value beside.

    Uses the ``stat == "mean"`` cells. One panel per measure (e.g. the behaviour-change index
    and the directional index); the compared groups run top to bottom in published order. The
    measure axis (rows or groups of the frame) is detected from the ids (``index``, ``bc_``,
    ``direction``) or given as ``measure_axis``; ``measures`` restricts/reorders the panels.
    """
    _require(table, ["row_id", "group_id", "computed"], "index_by_group")
    table = _select_stat(table, "mean")
    axis = measure_axis or _measure_axis(table)
    m_col, u_col = ("row_id", "group_id") if axis == "row" else ("group_id", "row_id")
    m_lab, u_lab = ("row_label", "group_label") if axis == "row" else ("group_label", "row_label")
    all_measures = _ordered_unique(table[m_col])
    if measures is not None:
        missing = [m for m in measures if m not in all_measures]
        if missing:
            raise ValidationError("index_by_group: unknown measure(s)", column=m_col,
                                  values=missing, hint=f"available: {all_measures}")
        all_measures = list(measures)
    units = _ordered_unique(table[u_col])
    measure_labels = _first_label(table, m_col, m_lab)
    unit_labels = _first_label(table, u_col, u_lab)
    y = np.arange(len(units), dtype=float)
    u_index = {u: i for i, u in enumerate(units)}

    with _style():
        height = 1.0 + 0.24 * len(units)
        legend_rows = 2 if _uncompared(table).any() else 1
        fig = _new_figure(height, note=note, replica=replica, title=title,
                          legend_rows=legend_rows)
        axes = fig.subplots(1, len(all_measures), sharey=True, squeeze=False)[0]
        for ax, m in zip(axes, all_measures, strict=True):
            sub = table[table[m_col] == m]
            pos = sub[u_col].map(u_index).to_numpy(dtype=float)
            comp = _num(sub["computed"])
            lo = _num(sub["ci_low"]) if "ci_low" in sub.columns else np.full(len(sub), np.nan)
            hi = _num(sub["ci_high"]) if "ci_high" in sub.columns else np.full(len(sub), np.nan)
            has_ci = ~(np.isnan(lo) | np.isnan(hi))
            ok = ~np.isnan(comp)
            err = np.vstack([np.where(has_ci, comp - lo, 0.0), np.where(has_ci, hi - comp, 0.0)])
            drawn = ax.errorbar(comp[ok], pos[ok], xerr=np.clip(err[:, ok], 0.0, None),
                                fmt="o", color=OKABE_ITO[0], markersize=3.5, elinewidth=0.9,
                                capsize=1.5, label="computed (95 % CI)")
            drawn.lines[0].set_gid("computed")
            if "published" in sub.columns:
                pv = _num(sub["published"])
                unc = _uncompared(sub)
                okp = ~np.isnan(pv) & ~unc
                ax.plot(pv[okp], pos[okp] + 0.28, linestyle="none", marker="D", markersize=3.2,
                        markerfacecolor="white", markeredgecolor=OKABE_ITO[5],
                        markeredgewidth=0.9, label="published", gid="published")
                bad = ~np.isnan(pv) & unc
                if bad.any():  # a published cell not compared: marked, never passed off
                    ax.plot(pv[bad], pos[bad] + 0.28, linestyle="none", marker="X",
                            markersize=4.2, color="#808080",
                            label="published, not compared (inconsistent with other "
                                  "published cells)", gid="published-not-compared")
                    for xv, yv in zip(pv[bad], pos[bad], strict=True):
                        ax.annotate("not compared", xy=(xv, yv + 0.28), xytext=(4, 0),
                                    textcoords="offset points", va="center", fontsize=6.5,
                                    color="#606060")
            lo_x, hi_x = ax.get_xlim()
            if lo_x < 0.0 < hi_x:
                ax.axvline(0.0, color="#808080", linewidth=0.6, zorder=0)
            ax.set_xlabel(_wrap(measure_labels[m], 100 // len(all_measures)))
            for boundary in _category_boundaries([unit_labels[u] for u in units]):
                ax.axhline(boundary, color="#BBBBBB", linewidth=0.5, zorder=0)
            ax.grid(axis="x", color="#E5E5E5", linewidth=0.5)
            ax.set_axisbelow(True)
        axes[0].set_yticks(y, [_wrap(unit_labels[u], 32) for u in units])
        axes[0].set_ylim(len(units) - 0.4, -0.6)
        handles, labels = axes[0].get_legend_handles_labels()
        order = sorted(range(len(labels)), key=lambda i: labels[i] != "computed (95 % CI)")
        _figure_legend(fig, [handles[i] for i in order], [labels[i] for i in order],
                       ncol=min(len(labels), 2))
    return fig


def _uncompared(cells: pd.DataFrame) -> np.ndarray:
    """Published cells left out of the comparison because the published numbers are
    inconsistent with each other (their ``reason`` says "inconsistent")."""
    if "reason" not in cells.columns:
        return np.zeros(len(cells), dtype=bool)
    return cells["reason"].astype(str).str.startswith("inconsistent").to_numpy()


# --------------------------------------------------------------------------------------------
# Forest plot of a model
# --------------------------------------------------------------------------------------------

_TERM_COLUMNS = ("term", "variable", "parameter", "name")
_CI_COLUMNS = (("ci_low", "ci_high"), ("conf_low", "conf_high"), ("lower", "upper"))
_LOG_TICKS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0, 1.5, 2.0, 3.0, 5.0, 7.0, 10.0,
              20.0, 50.0, 100.0)
_LOG_TICKS_125 = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0)
_LOG_TICKS_10 = (0.001, 0.01, 0.1, 1.0, 10.0, 100.0, 1000.0)
_INTERCEPT = re.compile(r"^\(?intercept\)?$|\|", re.IGNORECASE)


def forest(model_tidy: pd.DataFrame, title: str, *, measure: str = "Odds ratio",
           note: str | None = None, replica: bool = False, drop_intercept: bool = True,
           log: bool = True) -> Figure:
    """Forest plot of exponentiated coefficients (odds ratios, incidence-rate ratios).

    ``model_tidy`` is a model's ``tidy(exponentiate=True)`` frame (term column ``term`` or
    ``variable``, ``estimate``, ``ci_low``/``ci_high``). Intercepts and ordinal cut points
    (terms containing "|") are left out; the x axis is logarithmic with a reference line at 1,
    and each row is annotated with "estimate [CI]".
    """
    frame = model_tidy.reset_index() if not any(c in model_tidy.columns for c in _TERM_COLUMNS) \
        else model_tidy
    term_col = next((c for c in (*_TERM_COLUMNS, "index") if c in frame.columns), None)
    _require(frame, [term_col or "term", "estimate"], "forest")
    ci = next(((a, b) for a, b in _CI_COLUMNS if a in frame.columns and b in frame.columns), None)
    terms = frame[term_col].astype(str)
    keep = ~terms.str.contains(_INTERCEPT) if drop_intercept else pd.Series(True, index=frame.index)
    frame, terms = frame[keep.to_numpy()], terms[keep.to_numpy()]
    est = _num(frame["estimate"])
    lo = _num(frame[ci[0]]) if ci else np.full(len(frame), np.nan)
    hi = _num(frame[ci[1]]) if ci else np.full(len(frame), np.nan)
    if len(frame) == 0:
        raise ValidationError("forest: no coefficients to plot (only intercepts/cut points)",
                              column=term_col)
    if log:
        bad = terms[(est <= 0) | (lo <= 0) | (hi <= 0)].tolist()
        if bad:
            raise ValidationError("forest: ratios must be positive on a log axis; pass "
                                  "tidy(exponentiate=True)", column="estimate", values=bad)
    finite = np.isfinite(est)
    if not finite.any():
        raise ValidationError("forest: no finite estimate to plot", column="estimate",
                              values=terms.tolist())
    y = np.arange(len(frame), dtype=float)
    has_ci = np.isfinite(lo) & np.isfinite(hi) & finite
    err = np.vstack([np.where(has_ci, est - lo, 0.0), np.where(has_ci, hi - est, 0.0)])

    with _style():
        height = 1.0 + 0.26 * len(frame)
        fig = _new_figure(height, note=note, replica=replica, title=title)
        ax = fig.add_subplot()
        drawn = ax.errorbar(est[finite], y[finite], xerr=np.clip(err[:, finite], 0.0, None),
                            fmt="s", color=OKABE_ITO[0], markersize=3.5, elinewidth=0.9,
                            capsize=1.5)
        drawn.lines[0].set_gid("estimates")
        ax.axvline(1.0 if log else 0.0, color="#808080", linewidth=0.8, linestyle="--", zorder=0)
        if log:
            ax.set_xscale("log")
            shown = np.concatenate([est[finite], lo[has_ci], hi[has_ci]])
            span = max(abs(np.log10(shown.min())), abs(np.log10(shown.max())), 0.1)
            ax.set_xlim(10 ** (-span * 1.08), 10 ** (span * 1.08))
            lo_lim, hi_lim = ax.get_xlim()
            # denser tick sets for narrow ranges, so that labels never collide
            tier = _LOG_TICKS if span <= 0.6 else (
                _LOG_TICKS_125 if span <= 2.25 else _LOG_TICKS_10)
            ticks = [t for t in tier if lo_lim <= t <= hi_lim]
            ax.xaxis.set_major_locator(mpl.ticker.FixedLocator(ticks))
            ax.xaxis.set_minor_locator(mpl.ticker.NullLocator())
            ax.xaxis.set_major_formatter(mpl.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
            ax.xaxis.set_minor_formatter(mpl.ticker.NullFormatter())
        ax.set_yticks(y, [_wrap(t, 40) for t in term_labels(terms.tolist())])
        ax.set_ylim(len(frame) - 0.5, -0.5)
        ax.set_xlabel(f"{measure} (95 % CI{', log scale' if log else ''})")
        for yi, e, a, b, ok in zip(y, est, lo, hi, has_ci, strict=True):
            text = f"{e:.2f} [{a:.2f}, {b:.2f}]" if ok else (
                f"{e:.2f}" if np.isfinite(e) else "not estimable")
            ax.annotate(text, xy=(1.0, yi), xycoords=("axes fraction", "data"),
                        xytext=(6, 0), textcoords="offset points", ha="left", va="center",
                        fontsize=6.8)
        ax.grid(axis="x", which="major", color="#E5E5E5", linewidth=0.5)
        ax.set_axisbelow(True)
    return fig


# --------------------------------------------------------------------------------------------
# Weighting diagnostics
# --------------------------------------------------------------------------------------------

#: share columns shown, each with its preferred column names (first present wins)
_SHARE_KINDS: dict[str, tuple[str, ...]] = {
    "sample (unweighted)": ("unweighted_share", "sample_share", "sample"),
    "weighted": ("weighted_share", "weighted"),
    "target": ("target_share", "target"),
}
_SHARE_COLOURS = {"sample (unweighted)": "#999999", "weighted": OKABE_ITO[0],
                  "target": OKABE_ITO[1]}


def _margin_columns(margins: pd.DataFrame) -> tuple[str | None, str | None, dict[str, str]]:
    """(variable column, level column, {kind: share column}) of a margin table."""
    cols = list(margins.columns)
    lower = {c: str(c).lower() for c in cols}
    var = next((c for c in cols if lower[c] in ("variable_label", "margin_label")), None) or next(
        (c for c in cols if lower[c] in ("variable", "margin", "var")), None)
    level = next((c for c in cols if lower[c] in ("label", "level_label", "category_label")),
                 None) or next(
        (c for c in cols if lower[c] in ("level", "category", "value", "code")), None)
    by_name = {lower[c]: c for c in cols}
    shares: dict[str, str] = {}
    for kind, names in _SHARE_KINDS.items():
        col = next((by_name[n] for n in names if n in by_name), None)
        if col is not None:
            shares[kind] = col
    return var, level, shares


def _margin_tick(variable: Any, level: Any, width: int = 30) -> str:
    """ "Age group: 14–30" on one line when it fits, else the variable on the first line and
    the level on the second (two lines fit a margin row; a wrapped level never spills over)."""
    level = str(level)
    if variable is None:
        return _wrap(level, width)
    text = f"{variable}: {level}"
    return text if len(text) <= width else f"{variable}:\n{level}"


def weight_diagnostics(weights: np.ndarray, margins: pd.DataFrame | None = None, *,
                       title: str | None = None, note: str | None = None,
                       replica: bool = False) -> Figure:
    """Histogram of the analysis weights and, when margins are given, sample vs weighted vs
    target shares per margin level (grouped horizontal bars, in percent).

    ``margins`` is the weighting margin table: a variable column (``variable_label``, else
    ``variable``/``margin``), a level column (``label``, else ``category``/``level``; bars read
    "Age group: 14–30", ranges with an en dash) and the share columns of
    :func:`surveykit.weighting.margin_table` (``unweighted_share``, else ``sample_share``;
    ``weighted_share``; ``target_share``; fractions or percent). An empty/absent table gives the
    histogram only. Summary statistics come from :func:`surveykit.weighting.weight_summary`.
    """
    from surveykit.weighting.diagnostics import weight_summary

    w = np.asarray(weights, dtype=float).ravel()
    stats = weight_summary(w)
    show_margins = margins is not None and len(margins) > 0
    if show_margins:
        var, level, shares = _margin_columns(margins)
        if not shares or level is None:
            raise ValidationError("weight_diagnostics: margin table needs a level column and "
                                  "share columns (unweighted_share or sample_share, "
                                  "weighted_share, target_share)",
                                  values=list(margins.columns))

    with _style():
        n_levels = len(margins) if show_margins else 0
        height = max(2.8, 1.4 + 0.2 * n_levels) if show_margins else 2.8
        fig = _new_figure(height, note=note, replica=replica, title=title,
                          legend_rows=1 if show_margins else 0)
        if show_margins:
            ax_h, ax_m = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.0, 1.15]})
        else:
            ax_h, ax_m = fig.add_subplot(), None
        ax_h.hist(w, bins=min(40, max(5, int(np.sqrt(w.size)))),  # as seaborn's histplot
                  facecolor=mpl.colors.to_rgba(OKABE_ITO[0], 0.75), edgecolor="white",
                  linewidth=0.3)
        ax_h.axvline(stats["mean"], color=OKABE_ITO[5], linewidth=0.9, linestyle="--")
        text = (f"n = {int(stats['n']):,}\nmean = {stats['mean']:.3g}\n"
                f"min–max = {stats['min']:.3g}–{stats['max']:.3g}\n"
                f"CV = {stats['cv']:.3f}\nKish deff = {stats['deff_kish']:.3f}\n"
                f"ESS = {stats['n_effective']:,.0f}")
        ax_h.text(0.98, 0.97, text, transform=ax_h.transAxes, ha="right", va="top",
                  fontsize=6.5, bbox={"facecolor": "white", "edgecolor": "#CCCCCC",
                                      "linewidth": 0.5, "pad": 2.5})
        ax_h.set_xlabel("Analysis weight")
        ax_h.set_ylabel("Respondents")
        ax_h.set_title("Weight distribution", loc="left", fontsize=8.5)
        if ax_m is not None:
            labels = [_margin_tick(row[var] if var is not None else None, row[level])
                      for _, row in margins.iterrows()]
            data = {k: _num(margins[c]) for k, c in shares.items()}
            scale = 100.0 if max(np.nanmax(np.abs(v)) if np.isfinite(v).any() else 0.0
                                 for v in data.values()) <= 1.0 + 1e-9 else 1.0
            y = np.arange(len(labels), dtype=float)
            nk = len(data)
            bh = 0.8 / nk
            for j, (kind, vals) in enumerate(data.items()):
                ax_m.barh(y - 0.4 + bh * (j + 0.5), np.nan_to_num(vals * scale),
                          height=bh * 0.92, color=_SHARE_COLOURS[kind], label=kind)
            ax_m.set_yticks(y, labels)
            ax_m.set_ylim(len(labels) - 0.5, -0.5)
            ax_m.set_xlabel("Share of respondents (%)")
            ax_m.set_title("Sample vs weighted vs target", loc="left", fontsize=8.5)
            handles, kinds = ax_m.get_legend_handles_labels()
            _figure_legend(fig, handles, kinds, ncol=len(kinds))  # below the panels: no overlap
            ax_m.grid(axis="x", color="#E5E5E5", linewidth=0.5)
            ax_m.set_axisbelow(True)
    return fig


# --------------------------------------------------------------------------------------------
# Saving
# --------------------------------------------------------------------------------------------

FORMATS: tuple[str, ...] = ("png", "svg", "pdf")
#: What ``surveykit replicate`` writes unless asked (``--figure-formats``): PNG for Word and
#: the HTML report, PDF (vector, TrueType fonts) for journals. SVG is on request.
REPORT_FORMATS: tuple[str, ...] = ("png", "pdf")
_METADATA: Mapping[str, dict[str, Any]] = {
    "png": PNG_METADATA, "svg": SVG_METADATA, "pdf": PDF_METADATA,
}
#: OpenType layout tables: they drive text shaping, which matplotlib has already done when it
#: embeds a font subset in a PDF, so no viewer reads them there. Parsing them is ~60 % of
#: the time of writing a PDF.
_LAYOUT_TABLES = ("GSUB", "GPOS", "GDEF", "JSTF", "MATH", "BASE")


def check_formats(formats: Sequence[str], where: str = "save_figure") -> tuple[str, ...]:
    """``formats`` as a tuple of known figure formats (ValidationError naming the others)."""
    unknown = [f for f in formats if f not in _METADATA]
    if unknown or not formats:
        raise ValidationError(f"{where}: unsupported figure format(s)", values=unknown,
                              hint=f"use any of {', '.join(FORMATS)}")
    return tuple(dict.fromkeys(formats))


@contextmanager
def _lean_pdf_font_subsets() -> Iterator[None]:
    """While a PDF is written, subset its TrueType fonts without the OpenType layout tables.

    matplotlib subsets each embedded font with ``fontTools.subset`` and keeps GSUB/GPOS, so
    every PDF re-parses them; the glyph outlines, metrics and cmap that a PDF needs are kept.
    Applied only when matplotlib's PDF backend uses fontTools' ``subset`` module as expected;
    otherwise matplotlib's own subsetting runs unchanged.
    """
    try:
        from fontTools import subset as ft_subset
        from matplotlib.backends import _backend_pdf_ps as pdf_ps
    except ImportError:  # pragma: no cover - both ship with matplotlib >= 3.8
        yield
        return
    if getattr(pdf_ps, "subset", None) is not ft_subset:
        yield
        return

    class Options(ft_subset.Options):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.drop_tables = [*self.drop_tables, *_LAYOUT_TABLES]

    lean = types.ModuleType(ft_subset.__name__)
    lean.__dict__.update(ft_subset.__dict__)
    lean.Options = Options  # type: ignore[attr-defined]
    pdf_ps.subset = lean
    try:
        yield
    finally:
        pdf_ps.subset = ft_subset


def save_figure(fig: Figure, path_stem: str | Path,
                formats: Sequence[str] = FORMATS) -> dict[str, Path]:
    """Write ``fig`` as ``<path_stem>.png`` (300 dpi), ``.svg`` and/or ``.pdf`` with fixed
    metadata; returns ``{format: path}``.

    No timestamps, software versions or random ids end up in the files, so the same figure
    gives byte-identical files on every run. A layout engine (constrained layout) is run once,
    at the PNG's 300 dpi, and every format is drawn with that layout: the files agree with
    each other, and the layout is not recomputed per format.
    """
    formats = check_formats(formats)
    stem = Path(path_stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    out: dict[str, Path] = {}
    engine, dpi = fig.get_layout_engine(), fig.dpi
    with _style():
        if engine is not None:
            fig.set_dpi(300)
            engine.execute(fig)
            fig.set_dpi(dpi)
            fig.set_layout_engine("none")
        try:
            for fmt in formats:
                path = stem.with_name(f"{stem.name}.{fmt}")
                if fmt == "svg":
                    buf = io.BytesIO()
                    fig.savefig(buf, format=fmt, dpi=300, metadata=dict(_METADATA[fmt]))
                    write_bytes(path, _stable_svg_ids(buf.getvalue()))
                elif fmt == "pdf":
                    with _lean_pdf_font_subsets(), atomic_path(path) as tmp:
                        fig.savefig(tmp, format=fmt, dpi=300, metadata=dict(_METADATA[fmt]))
                else:
                    with atomic_path(path) as tmp:
                        fig.savefig(tmp, format=fmt, dpi=300, metadata=dict(_METADATA[fmt]))
                out[fmt] = path
        finally:
            if engine is not None:
                fig.set_layout_engine(engine)
    return out


_CLIP_ID = re.compile(rb"\bp[0-9a-f]{10}\b")


def _stable_svg_ids(svg: bytes) -> bytes:
    """Renumber matplotlib's clip-path ids in order of appearance: for clip paths it hashes
    ``id()`` of a transform (a memory address), so the same figure could get other ids."""
    order: dict[bytes, bytes] = {}
    for m in _CLIP_ID.finditer(svg):
        order.setdefault(m.group(0), b"clip%04d" % len(order))
    return _CLIP_ID.sub(lambda m: order[m.group(0)], svg)
