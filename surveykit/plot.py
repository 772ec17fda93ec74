"""Publication figures from designs and results: ``sk.plot.likert``, ``estimates``, ``forest``,
``hist``, ``boxplot`` and ``weights``.

Each function returns a :class:`matplotlib.figure.Figure` (made without ``pyplot``, so nothing
is shown or kept in a global registry; in a notebook the figure displays itself). The style is
seaborn's "ticks" look (written out: seaborn is not imported) with colour-blind-safe palettes
(Okabe–Ito; ColorBrewer BrBG for diverging scales); categories carry the value labels of the
data (:mod:`surveykit.labels`); ``note=`` adds a source line; figures of the synthetic replica
always carry its banner. Save with :func:`save` (PNG/SVG/PDF with fixed metadata: the same
figure gives byte-identical files).

The replication report draws its figures with these same functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from surveykit.errors import ValidationError
from surveykit.labels import label_of, value_labels, variable_label
from surveykit.provenance import is_synthetic
from surveykit.report import figures as _f

__all__ = ["boxplot", "estimates", "forest", "hist", "likert", "list_counts", "save", "weights"]

PALETTE = _f.OKABE_ITO


def save(fig: Figure, path_stem: str | Path,
         formats: Sequence[str] = _f.FORMATS) -> dict[str, Path]:
    """Write ``fig`` as ``<path_stem>.png`` (300 dpi), ``.svg`` and ``.pdf``, byte-identical
    across runs; returns ``{format: path}``.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure.
    path_stem : str or pathlib.Path
        Path without suffix; one file per format is written.
    formats : sequence of str
        File formats among ``"png"``, ``"svg"``, ``"pdf"``.

    Returns
    -------
    dict of str to pathlib.Path

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> df = sk.load_replica()
    >>> design = sk.SurveyDesign(df, weights="weight")
    >>> fig = sk.plot.hist(design, "age")
    >>> paths = sk.plot.save(fig, "age_hist", formats=("png",))
    >>> sorted(p.name for p in paths.values())
    ['age_hist.png']
    >>> plt.close(fig)
    """
    return _f.save_figure(fig, path_stem, formats)


def _synthetic(obj: Any) -> bool:
    if isinstance(obj, pd.DataFrame):
        return bool(obj.attrs.get("synthetic", False))
    return bool(getattr(obj, "is_synthetic", False)) or is_synthetic(obj)


def _note(note: str | None, design: Any = None) -> str | None:
    """The caller's source note; for a design read from a file, "Source: <file>" by default."""
    if note is not None:
        return note or None
    src = getattr(design, "source", None)
    return f"Source: {Path(str(src)).name}" if src else None


# ---------------------------------------------------------------------------------------------
# Likert: diverging stacked bars
# ---------------------------------------------------------------------------------------------


def likert(result: pd.DataFrame, *, title: str | None = None, note: str | None = None,
           columns: Sequence[str] | None = None, sort: bool = True) -> Figure:
    """Diverging stacked bars of an :func:`surveykit.likert` table: one bar per column (Total,
    groups, domains; ``columns`` picks and orders them), levels from disagreement (left) to
    agreement (right) with the neutral level centred on zero; tick labels carry each column's
    unweighted N. The synthetic banner is drawn when the table comes from the replica.

    A battery (``sk.likert(design, [items], by=...)``) is drawn as the standard battery chart:
    one bar per item (its variable label, wrapped; N in the label), the items sorted by net
    agreement (top half minus bottom half of the scale; ``sort=False`` keeps the table's order),
    the legend in the scale's labels, and one panel per ``by`` group side by side.

    Parameters
    ----------
    result : pandas.DataFrame
        A :func:`surveykit.likert` table.
    title : str, optional
        Figure title.
    note : str, optional
        Note printed under the figure (e.g. the source).
    columns : sequence of str, optional
        The columns to draw, in order.
    sort : bool
        Order battery items by net agreement (False: the table's order).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> df = sk.load_replica()
    >>> design = sk.SurveyDesign(df, weights="weight")
    >>> fig = sk.plot.likert(sk.likert(design, "approval", by="urban"))
    >>> type(fig).__name__
    'Figure'
    >>> plt.close(fig)
    """
    if result.attrs.get("battery") or "item" in result.columns:
        return _battery(result, title=title, note=note, sort=sort)
    if "N" not in result.index or "Total" not in result.columns:
        raise ValidationError("plot.likert takes the table of sk.likert (rows = levels and "
                              "'N', columns 'Total' and groups)", values=list(result.columns))
    table = result
    if columns is not None:
        unknown = [c for c in columns if c not in result.columns]
        if unknown:
            raise ValidationError("plot.likert: unknown column(s)", values=unknown,
                                  hint=f"columns: {list(result.columns)}")
        keep = [c for col in columns for c in (col, f"{col} (SE)") if c in result.columns]
        table = result[keep]
        table.attrs.update(result.attrs)
    frame = _f.likert_frame(table)
    return _f.approval_diverging(frame, title=title, note=note, replica=_synthetic(result),
                                 variable="")


def _battery(table: pd.DataFrame, *, title: str | None, note: str | None,
             sort: bool) -> Figure:
    """The diverging chart of an item battery (see :func:`likert`)."""
    from surveykit.estimation.battery import group_text, net_agreement

    levels = list(table.attrs.get("levels") or [])
    missing = [c for c in [*levels, "item", "N"] if c not in table.columns]
    if not levels or missing:
        raise ValidationError("plot.likert takes the table of sk.likert(design, [items]) (its "
                              "columns: item, the scale's levels, N)", values=missing or levels)
    by = [b for b in table.attrs.get("by", []) if b in table.columns]
    k = len(levels)
    shares = np.nan_to_num(table[levels].to_numpy(dtype=float), nan=0.0)
    net = net_agreement(shares)
    items = list(dict.fromkeys(table["item"]))
    if sort:  # by the net agreement of the item (mean over the groups of a by table)
        mean_net = pd.Series(net).groupby(table["item"].to_numpy()).mean()
        items = sorted(items, key=lambda i: (-mean_net[i], items.index(i)))
    labels = dict(zip(table["item"], table.get("item_label", table["item"]), strict=True))
    if by:
        group_of = [group_text(r, by) for _, r in table.iterrows()]
        groups = list(dict.fromkeys(group_of))
    else:
        group_of, groups = [""] * len(table), [""]
    pos = {(i, g): r for r, (i, g) in enumerate(zip(table["item"], group_of, strict=True))}
    n_neg, odd = k // 2, k % 2 == 1
    colours = _f.DIVERGING_5 if k == 5 else _f.diverging_colours(k)
    many = len(groups) > 1
    with _f._style():
        height = 0.6 + 0.5 * len(items)
        fig = _f._new_figure(height, note=note, replica=_synthetic(table), title=title,
                             legend_rows=int(np.ceil(k / 3)),
                             width=max(_f.FIGURE_WIDTH, 2.2 + 2.6 * len(groups)))
        axes = fig.subplots(1, len(groups), sharey=True, squeeze=False)[0]
        y = np.arange(len(items))
        lo_all, hi_all = 0.0, 0.0
        for ax, g in zip(axes, groups, strict=True):
            rows = [pos.get((i, g)) for i in items]
            vals = np.array([shares[r] if r is not None else np.zeros(k) for r in rows]).T
            neutral = vals[n_neg] if odd else np.zeros(len(items))
            starts = -(neutral / 2.0 + vals[:n_neg].sum(axis=0))
            lo_all = min(lo_all, float(starts.min()))
            for j in range(k):
                bars = ax.barh(y, vals[j], left=starts, height=0.7, color=colours[j],
                               edgecolor="white", linewidth=0.5, label=levels[j])
                for rect, w in zip(bars.patches, vals[j], strict=True):
                    if w >= 5.0:
                        ax.text(rect.get_x() + w / 2.0, rect.get_y() + rect.get_height() / 2,
                                f"{w:.0f}", ha="center", va="center", fontsize=6.5,
                                color="white" if j in (0, k - 1) else "black")
                starts = starts + vals[j]
            hi_all = max(hi_all, float(starts.max()))
            ax.axvline(0.0, color="#404040", linewidth=0.8, zorder=0)
            if many:  # each bar's N at its right end, the group as the panel title
                ax.set_title(_f._wrap(_f.capitalise(g), 28), fontsize=8.5)
                for yy, r, end in zip(y, rows, starts, strict=True):
                    if r is not None:
                        ax.text(end + 1.0, yy, f"N = {int(table['N'].iloc[r]):,}",
                                va="center", ha="left", fontsize=6, color="#555555")
        ticks = []
        for i in items:
            ns = [int(table["N"].iloc[pos[(i, g)]]) for g in groups if (i, g) in pos]
            n_text = ns[0] if len(ns) == 1 else None
            ticks.append(_f._with_n(_f._wrap(_f.capitalise(labels[i]), 30), n_text, sep="\n"))
        left = max(20.0, 10.0 * np.ceil(-lo_all / 10.0))
        right = max(20.0, 10.0 * np.ceil(hi_all / 10.0))
        step = 20.0 if right + left > 120 else 10.0
        for ax in axes:
            ax.set_xlim(-left, right + (18.0 if many else 0.0))  # room for the N texts
            xt = np.arange(-left, right + 1e-9, step)
            ax.set_xticks(xt, [f"{abs(v):.0f}" for v in xt])
            ax.spines[["top", "right"]].set_visible(False)
        axes[0].set_yticks(y, ticks)
        axes[0].invert_yaxis()
        axes[len(axes) // 2].set_xlabel(
            "Percent of respondents (weighted); neutral centred on zero")
        handles, names = axes[0].get_legend_handles_labels()
        _f._figure_legend(fig, handles, [_f._wrap(_f.capitalise(t), 32) for t in names],
                          ncol=min(k, 3))
    return fig


# ---------------------------------------------------------------------------------------------
# Estimates with confidence intervals
# ---------------------------------------------------------------------------------------------


def _by_columns(result: pd.DataFrame) -> list[str]:
    """The ``by`` columns of a tidy estimate: every column before ``variable`` that is not a
    ``<by>_label`` column."""
    if "variable" not in result.columns:
        return _label_columns(result)
    cols = list(result.columns[: result.columns.get_loc("variable")])
    return [c for c in cols if not (str(c).endswith("_label") and str(c)[:-6] in cols)]


#: columns of a tidy result that are numbers about an estimate, not labels of it
_STAT_COLUMNS = {"estimate", "std_error", "statistic", "p_value", "ci_low", "ci_high", "deff",
                 "n_unweighted", "n_missing", "n", "df", "kind", "se", "conf_low", "conf_high"}


def _label_columns(result: pd.DataFrame) -> list[str]:
    """The columns naming the rows of any tidy result (margins, contrasts, model terms,
    experiment effects): every non-statistic column, a code column giving way to its
    ``<col>_label``, ``term`` giving way to ``label``."""
    cols = [c for c in result.columns if str(c) not in _STAT_COLUMNS]
    cols = [c for c in cols if f"{c}_label" not in cols]
    if "label" in cols and "term" in cols:
        cols.remove("term")
    return cols


def _group_text(result: pd.DataFrame, by: list[str]) -> pd.Series:
    parts = []
    for b in by:
        col = f"{b}_label" if f"{b}_label" in result.columns and not str(b).endswith(
            "_label") else b
        parts.append(result[col].map(lambda v: _f.capitalise(label_of({}, v))))
    if not parts:
        return pd.Series([""] * len(result), index=result.index)
    text = parts[0]
    for p in parts[1:]:
        text = text + " / " + p
    return text


def estimates(result: pd.DataFrame, *, by: str | None = None, kind: str = "point",
              title: str | None = None, note: str | None = None,
              xlabel: str | None = None, ncol: int | None = None) -> Figure:
    """Estimates with confidence intervals from any tidy result with ``estimate`` (and
    ``ci_low``/``ci_high``), as dots with whiskers (``kind="point"``) or bars
    (``kind="bar"``).

    Proportions (in %): one row per level, one panel per group of the ``by`` column (``by=``
    picks it when there are several; the others join the rows). Means, totals and quantiles:
    one panel per variable (each on its own scale), one row per group. Any other tidy result
    (``sk.margins``, ``sk.contrast``, model terms, experiment effects): one row per
    combination of its label columns; with ``by=`` (or, for results with two or more label
    columns, by the first) one panel per group of that column. Any number of panels is laid
    out in a grid of ``ncol`` columns (default up to 3); every panel keeps its own tick labels
    and its title wraps to the panel's width.

    Parameters
    ----------
    result : pandas.DataFrame
        A tidy result with ``estimate`` (and ``ci_low``/``ci_high``).
    by : str, optional
        The group column that gets a panel each (proportions).
    kind : {"point", "bar"}
        Dots with whiskers or bars.
    title : str, optional
        Figure title.
    note : str, optional
        Note printed under the figure (e.g. the source).
    xlabel : str, optional
        Axis label of the values (default: the variable label).
    ncol : int, optional
        Number of panel columns.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> df = sk.load_replica()
    >>> design = sk.SurveyDesign(df, weights="weight")
    >>> fig = sk.plot.estimates(sk.proportion(design, "approval", by="urban"))
    >>> type(fig).__name__
    'Figure'
    >>> plt.close(fig)
    """
    if kind not in ("point", "bar"):
        raise ValidationError("plot.estimates: kind must be 'point' or 'bar'", values=[kind])
    _f._require(result, ["estimate"], "plot.estimates")
    by_cols = _by_columns(result)
    if by is not None and by not in by_cols:
        raise ValidationError("plot.estimates: by= is not a by column of the result",
                              column=by, values=by_cols)
    frame = result.reset_index(drop=True)
    generic = "variable" not in frame.columns
    is_prop = "level" in frame.columns and not generic
    scale = 100.0 if is_prop else 1.0
    inner: list[str] = []
    if generic:
        if not by_cols:
            rows = pd.Series([f"{i + 1}" for i in range(len(frame))])
            panels = pd.Series([""] * len(frame))
        else:
            facet = [by] if by is not None else (by_cols[:1] if len(by_cols) > 1 else [])
            inner = [b for b in by_cols if b not in facet]
            rows = _group_text(frame, inner) if inner else pd.Series([""] * len(frame))
            if facet:
                fname = variable_label(result, str(facet[0]).removesuffix("_label"))
                panels = fname + ": " + _group_text(frame, facet)
            else:
                panels = pd.Series([""] * len(frame))
        share_x = True
    elif is_prop:
        facet = [by] if by is not None else by_cols[:1]
        inner = [b for b in by_cols if b not in facet]
        lab = frame["level_label"] if "level_label" in frame.columns else frame["level"]
        rows = lab.map(lambda v: _f.capitalise(label_of({}, v)))
        if frame["variable"].nunique() > 1:
            rows = frame["variable"] + ": " + rows
        if inner:
            rows = _group_text(frame, inner) + " – " + rows
        if facet:
            fname = variable_label(result, facet[0])
            panels = fname + ": " + _group_text(frame, facet)
        else:
            panels = frame["variable"].map(lambda v: variable_label(result, str(v)))
        share_x = True
    else:
        rows = _group_text(frame, by_cols) if by_cols else pd.Series([""] * len(frame))
        if "quantile" in frame.columns:  # sk.quantile: one row per group and quantile
            pct = frame["quantile"].map(lambda q: f"{100 * float(q):g}th percentile")
            rows = (rows + ", " + pct) if by_cols else pct
        panels = frame["variable"].map(lambda v: variable_label(result, str(v)))
        share_x = False
    row_order = list(dict.fromkeys(rows.tolist()))
    panel_order = list(dict.fromkeys(panels.tolist()))
    est = _f._num(frame["estimate"]) * scale
    lo = _f._num(frame["ci_low"]) * scale if "ci_low" in frame.columns else est * np.nan
    hi = _f._num(frame["ci_high"]) * scale if "ci_high" in frame.columns else est * np.nan
    if xlabel is None:
        what = "Percent (weighted)" if is_prop else "Estimate" if generic else \
            "Weighted estimate"
        xlabel = f"{what} with 95 % confidence interval"
    n_panels = len(panel_order)
    ncol = max(1, min(n_panels, ncol if ncol is not None else 3))
    nrow = int(np.ceil(n_panels / ncol))
    wrap_title = max(16, int(_f.FIGURE_WIDTH / ncol * 11))
    titles = [_f._wrap(p, wrap_title) for p in panel_order]
    title_lines = max((t.count("\n") + 1 for t in titles if t), default=0)
    with _f._style():
        height = nrow * (0.7 + 0.2 * title_lines + 0.24 * max(len(row_order), 1))
        fig = _f._new_figure(height, note=note, replica=_synthetic(result), title=title)
        axes = fig.subplots(nrow, ncol, sharex=share_x, sharey=True, squeeze=False).ravel()
        y_of = {r: i for i, r in enumerate(row_order)}
        for k, (ax, p) in enumerate(zip(axes, panel_order, strict=False)):
            sel = (panels == p).to_numpy()
            y = np.array([y_of[r] for r in rows[sel]], dtype=float)
            e, a, b = est[sel], lo[sel], hi[sel]
            ok = np.isfinite(a) & np.isfinite(b)
            err = np.clip(np.vstack([np.where(ok, e - a, 0.0), np.where(ok, b - e, 0.0)]),
                          0, None)
            if kind == "bar":
                ax.barh(y, e, height=0.65, color=PALETTE[0], alpha=0.85)
                ax.errorbar(e, y, xerr=err, fmt="none", ecolor="#222222", elinewidth=0.9,
                            capsize=2.0)
            else:
                ax.errorbar(e, y, xerr=err, fmt="o", color=PALETTE[0], markersize=3.8,
                            elinewidth=1.0, capsize=2.0)
            if p and (n_panels > 1 or not is_prop or by_cols):
                ax.set_title(titles[k], loc="left", fontsize=8.5)
            ax.grid(axis="x", color="#E5E5E5", linewidth=0.5)
            ax.set_axisbelow(True)
            ax.tick_params(labelbottom=True)  # every panel keeps its x tick labels
            if k % ncol == 0:
                ax.set_yticks(np.arange(len(row_order)), [_f._wrap(r, 34) for r in row_order])
                if generic and len(inner) == 1 and inner[0] != "contrast":
                    ax.set_ylabel(variable_label(result, str(inner[0]).removesuffix(
                        "_label")), fontsize=8.0)
            if generic and np.nanmin(np.where(ok, a, e)) < 0 < np.nanmax(np.where(ok, b, e)):
                ax.axvline(0.0, color="#808080", linewidth=0.8, linestyle="--", zorder=0)
            if not share_x and kind == "bar":
                top = float(np.nanmax(np.where(ok, b, e)))
                ax.set_xlim(min(0.0, float(np.nanmin(np.where(ok, a, e)))), top * 1.05)
        if share_x and not generic:  # proportions: from 0 to the largest upper limit
            top = float(np.nanmax(np.where(np.isfinite(hi), hi, est)))
            axes[0].set_xlim(min(0.0, float(np.nanmin(np.where(np.isfinite(lo), lo, est)))),
                             top * 1.05)
        for ax in axes[n_panels:]:
            ax.set_visible(False)
        axes[0].set_ylim(len(row_order) - 0.5, -0.5)
        fig.supxlabel(xlabel, fontsize=8.0)
    return fig


# ---------------------------------------------------------------------------------------------
# Forest plot of one or several models
# ---------------------------------------------------------------------------------------------


def forest(models: Any, *, names: Sequence[str] | None = None, exponentiate: bool | None = None,
           title: str | None = None, note: str | None = None,
           intercept: bool = False, reference: bool = True) -> Figure:
    """Coefficients with 95 % CIs of one model or a list of models (``sk.glm``,
    ``sk.ordinal``, ``sk.negbin``, ``sk.multinom``), one row per term labelled from the data
    ("Age group: 31–50").

    Several models, and the outcome equations of a multinomial model ("Middle vs
    Elementary"), are dodged on each row and told apart by colour and marker with a legend;
    the numbers are printed beside the points only when one series is drawn (so they never
    overlap). Each factor's reference level gets its own row ("Age group: 14–30 (ref.)",
    a hollow marker on the no-effect line) unless ``reference=False``. Odds ratios /
    incidence-rate ratios / relative-risk ratios on a log axis by default for logit / log /
    multinomial links. Ordinal cut-points are left out (they are thresholds, not effects) and
    the figure's note says so; the intercept is left out unless ``intercept``.

    Parameters
    ----------
    models : ModelResult or sequence of ModelResult
        One model or several (one series each).
    names : sequence of str, optional
        Legend names of the models.
    exponentiate : bool, optional
        Show odds/rate ratios (default: per model family).
    title : str, optional
        Figure title.
    note : str, optional
        Note printed under the figure (e.g. the source).
    intercept : bool
        Draw the intercept row.
    reference : bool
        Draw a row for each factor's reference level.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> df = sk.load_replica()
    >>> design = sk.SurveyDesign(df, weights="weight")
    >>> model = sk.glm(design, "commercial ~ age + urban", family="binomial")
    >>> fig = sk.plot.forest(model)
    >>> type(fig).__name__
    'Figure'
    >>> plt.close(fig)
    """
    from surveykit.models.tables import table_rows

    single = not isinstance(models, (list, tuple))
    fits = [models] if single else list(models)
    if not fits:
        raise ValidationError("plot.forest needs at least one model")
    names = list(names) if names is not None else (
        [""] if single else [f"Model {i + 1}" for i in range(len(fits))])
    if len(names) != len(fits):
        raise ValidationError("plot.forest: one name per model", values=names)
    exps = [m.default_exponentiate() if exponentiate is None else exponentiate for m in fits]
    if len(set(exps)) > 1:
        raise ValidationError("plot.forest: models on different scales (ratios and raw "
                              "coefficients); pass exponentiate= explicitly")
    log = exps[0]
    tables = []
    n_cut = 0
    for m, name in zip(fits, names, strict=True):
        t = table_rows(m, log)
        n_cut += int((t["kind"] == "cutpoint").sum())
        t = t[t["kind"] != "cutpoint"]
        if not intercept:  # "Intercept", R's "(Intercept)"
            t = t[~t["term"].astype(str).str.contains(_f._INTERCEPT)]
        if not reference:
            t = t[t["kind"] != "reference"]
        if "outcome_label" in t.columns:  # multinomial: one series per outcome equation
            base = m.outcome_label(m.base) if hasattr(m, "outcome_label") else "base"
            series = t["outcome_label"].astype(str) + f" vs {base}"
            if name:
                series = name + ": " + series
        else:
            series = pd.Series([name] * len(t), index=t.index)
        tables.append(t.assign(series=series.to_numpy()))
    long = pd.concat(tables, ignore_index=True)
    if (long["kind"] != "reference").sum() == 0:
        raise ValidationError("plot.forest: no coefficients to plot (only intercepts/"
                              "cut-points)")
    terms = list(dict.fromkeys(long["term"]))
    label_of_term = dict(zip(long["term"], long["label"], strict=False))
    est, lo, hi = (_f._num(long[c]) for c in ("estimate", "ci_low", "ci_high"))
    is_ref = (long["kind"] == "reference").to_numpy()
    est = np.where(is_ref, 1.0 if log else 0.0, est)
    if log and ((est <= 0) | (lo <= 0) | (hi <= 0)).any():
        raise ValidationError("plot.forest: ratios must be positive on a log axis")
    links = {getattr(m, "link", "") for m in fits}
    measure = ("Odds ratio" if links == {"logit"} else "Incidence-rate ratio"
               if links == {"log"} else "Relative-risk ratio" if links == {"mlogit"}
               else "Ratio") if log else "Coefficient"
    series_names = list(dict.fromkeys(long["series"]))
    k = len(series_names)
    offsets = (np.arange(k) - (k - 1) / 2.0) * (0.7 / max(k, 1)) if k > 1 else np.zeros(1)
    markers = ("s", "o", "D", "^", "v", "P")
    replica = any(_synthetic(getattr(m, "design", None)) for m in fits)
    if n_cut:
        cut = ("Ordinal cut-points (thresholds on the "
               f"{'/'.join(sorted(links & {'logit', 'probit'})) or 'link'} scale) are not "
               "shown.")
        note = f"{note} {cut}" if note else cut
    if reference and is_ref.any():
        ref = "(ref.): reference category (hollow marker at no effect)."
        note = f"{note} {ref}" if note else ref
    with _f._style():
        height = 0.9 + 0.26 * len(terms) * (1 + 0.25 * (k - 1))
        fig = _f._new_figure(height, note=note, replica=replica, title=title,
                             legend_rows=int(np.ceil(k / 3)) if k > 1 else 0)
        ax = fig.add_subplot()
        y_of = {t: i for i, t in enumerate(terms)}
        for j, name in enumerate(series_names):
            sel = (long["series"] == name).to_numpy()
            y = np.array([y_of[t] for t in long["term"][sel]], dtype=float) + offsets[j]
            e, a, b, r = est[sel], lo[sel], hi[sel], is_ref[sel]
            ok = np.isfinite(a) & np.isfinite(b) & ~r
            err = np.vstack([np.where(ok, e - a, 0.0), np.where(ok, b - e, 0.0)])
            colour = PALETTE[j % len(PALETTE)]
            marker = markers[j % len(markers)]
            ax.errorbar(e[~r], y[~r], xerr=np.clip(err[:, ~r], 0, None), fmt=marker,
                        color=colour, markersize=3.6, elinewidth=0.9, capsize=1.5,
                        label=name or None)
            if r.any():
                ax.plot(e[r], y[r], marker=marker, linestyle="none", markersize=3.6,
                        markerfacecolor="white", markeredgecolor=colour, markeredgewidth=0.9)
            if k == 1:
                for yi, ei, ai, bi, oki, ri in zip(y, e, a, b, ok, r, strict=True):
                    text = ("ref." if ri else f"{ei:.2f} [{ai:.2f}, {bi:.2f}]" if oki
                            else f"{ei:.2f}")
                    ax.annotate(text, xy=(1.0, yi), xycoords=("axes fraction", "data"),
                                xytext=(6, 0), textcoords="offset points", ha="left",
                                va="center", fontsize=6.8)
        ax.axvline(1.0 if log else 0.0, color="#808080", linewidth=0.8, linestyle="--",
                   zorder=0)
        if log:
            ax.set_xscale("log")
            shown = np.concatenate([est, lo[np.isfinite(lo)], hi[np.isfinite(hi)]])
            span = max(abs(np.log10(shown.min())), abs(np.log10(shown.max())), 0.1)
            ax.set_xlim(10 ** (-span * 1.08), 10 ** (span * 1.08))
            # denser tick sets only where they cannot collide (the axis is symmetric about 1)
            tier = _f._LOG_TICKS if span <= 0.6 else (
                _f._LOG_TICKS_125 if span <= 1.3 else _f._LOG_TICKS_10)
            lo_lim, hi_lim = ax.get_xlim()
            ax.xaxis.set_major_locator(mpl.ticker.FixedLocator(
                [t for t in tier if lo_lim <= t <= hi_lim]))
            ax.xaxis.set_minor_locator(mpl.ticker.NullLocator())
            ax.xaxis.set_major_formatter(mpl.ticker.StrMethodFormatter("{x:g}"))  # picklable
        ax.set_yticks(np.arange(len(terms)), [_f._wrap(label_of_term[t], 46) for t in terms])
        ax.set_ylim(len(terms) - 0.5, -0.5)
        ax.set_xlabel(f"{measure} (95 % CI{', log scale' if log else ''})")
        ax.grid(axis="x", color="#E5E5E5", linewidth=0.5)
        ax.set_axisbelow(True)
        if k > 1:
            handles, labels = ax.get_legend_handles_labels()
            _f._figure_legend(fig, handles, labels, ncol=min(k, 3))
    return fig


# ---------------------------------------------------------------------------------------------
# Weighted distributions: histogram and boxplot (R's svyhist, svyboxplot)
# ---------------------------------------------------------------------------------------------


def _values(design: Any, var: str) -> tuple[np.ndarray, np.ndarray, int]:
    """(values, weights) of the design's domain with a non-missing ``var``; n missing."""
    if var not in design.data.columns:
        raise ValidationError("variable not found in the design's data", file=design.source,
                              column=var)
    x = pd.to_numeric(design.data[var], errors="coerce").to_numpy(dtype=float)
    w = np.asarray(design.weights, dtype=float)
    dom = np.asarray(design.domain, dtype=bool) & (w > 0)
    ok = dom & np.isfinite(x)
    if not ok.any():
        raise ValidationError("no non-missing value in the design's domain",
                              file=design.source, column=var)
    return x[ok], w[ok], int((dom & ~np.isfinite(x)).sum())


def weighted_quantiles(x: np.ndarray, w: np.ndarray, probs: Sequence[float]) -> np.ndarray:
    """Weighted quantiles by the inverse of the weighted distribution function: the smallest
    x whose weighted cumulative share reaches p (R ``svyquantile(qrule = "math")``)."""
    order = np.argsort(x, kind="stable")
    xs, cw = x[order], np.cumsum(w[order])
    cdf = cw / cw[-1]
    idx = np.searchsorted(cdf, np.asarray(probs, dtype=float) - 1e-12, side="left")
    return xs[np.clip(idx, 0, len(xs) - 1)]


def hist(design: Any, var: str, *, bins: int | Sequence[float] | None = None,
         title: str | None = None, note: str | None = None, xlabel: str | None = None) -> Figure:
    """Weighted histogram of ``var`` (R ``svyhist``): bar areas are weighted shares, so the
    heights are a density estimate of the population distribution; an outline shows the
    unweighted sample for comparison. Missing values are counted in the legend.

    Parameters
    ----------
    design : SurveyDesign or ReplicateDesign
        The design (its domain).
    var : str
        Numeric column.
    bins : int or sequence of float, optional
        Number of bins or their edges.
    title : str, optional
        Figure title.
    note : str, optional
        Note printed under the figure (e.g. the source).
    xlabel : str, optional
        Axis label of the values (default: the variable label).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> df = sk.load_replica()
    >>> design = sk.SurveyDesign(df, weights="weight")
    >>> fig = sk.plot.hist(design, "age")
    >>> type(fig).__name__
    'Figure'
    >>> plt.close(fig)
    """
    x, w, n_missing = _values(design, var)
    edges = np.histogram_bin_edges(x, bins=bins if bins is not None else "sturges")
    dens_w, _ = np.histogram(x, bins=edges, weights=w, density=True)
    dens_u, _ = np.histogram(x, bins=edges, density=True)
    with _f._style():
        fig = _f._new_figure(2.8, note=_note(note, design), replica=_synthetic(design),
                             title=title, legend_rows=1)
        ax = fig.add_subplot()
        ax.bar(edges[:-1], dens_w, width=np.diff(edges), align="edge", color=PALETTE[0],
               edgecolor="white", linewidth=0.4, label="weighted (population estimate)")
        ax.stairs(dens_u, edges, color=PALETTE[1], linewidth=1.1,
                  label="unweighted sample")
        ax.set_xlabel(xlabel or variable_label(design, var))
        ax.set_ylabel("Density")
        miss = f"; {n_missing:,} missing excluded" if n_missing else ""
        ax.set_title(f"n = {len(x):,}{miss}", loc="right", fontsize=7, fontweight="normal",
                     color="#404040")
        handles, labels = ax.get_legend_handles_labels()
        order = sorted(range(len(labels)), key=lambda i: not labels[i].startswith("weighted"))
        _f._figure_legend(fig, [handles[i] for i in order], [labels[i] for i in order], ncol=2)
    return fig


def boxplot(design: Any, var: str, by: str | None = None, *, title: str | None = None,
            note: str | None = None, xlabel: str | None = None) -> Figure:
    """Weighted boxplots of ``var``, overall or by the groups of ``by`` (R ``svyboxplot``):
    the box spans the weighted quartiles with the weighted median inside; whiskers reach the
    most extreme values within 1.5 IQR of the box; values beyond are drawn as points.

    Parameters
    ----------
    design : SurveyDesign or ReplicateDesign
        The design (its domain).
    var : str
        Numeric column.
    by : str, optional
        Grouping column: one box per group.
    title : str, optional
        Figure title.
    note : str, optional
        Note printed under the figure (e.g. the source).
    xlabel : str, optional
        Axis label of the values (default: the variable label).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> df = sk.load_replica()
    >>> design = sk.SurveyDesign(df, weights="weight")
    >>> fig = sk.plot.boxplot(design, "internet_hours", by="urban")
    >>> type(fig).__name__
    'Figure'
    >>> plt.close(fig)
    """
    x, w, n_missing = _values(design, var)
    if by is None:
        keys = [("All respondents", np.ones(len(x), dtype=bool))]
        n_missing_by = 0
    else:
        if by not in design.data.columns:
            raise ValidationError("by variable not found in the design's data",
                                  file=design.source, column=by)
        xs = pd.to_numeric(design.data[var], errors="coerce").to_numpy(dtype=float)
        dom = np.asarray(design.domain, bool) & (np.asarray(design.weights) > 0) & np.isfinite(xs)
        g = design.data[by].to_numpy()[dom]
        present = pd.Series(g).dropna().unique()
        labels = value_labels(design, by)
        keys = [(_f.capitalise(label_of(labels, v)), pd.Series(g).eq(v).to_numpy())
                for v in sorted(present, key=lambda v: (str(type(v)), v))]
        n_missing_by = int(pd.Series(g).isna().sum())
    stats = []
    for name, sel in keys:
        xi, wi = x[sel], w[sel]
        q1, med, q3 = weighted_quantiles(xi, wi, [0.25, 0.5, 0.75])
        iqr = q3 - q1
        inside = xi[(xi >= q1 - 1.5 * iqr) & (xi <= q3 + 1.5 * iqr)]
        out = np.unique(xi[(xi < q1 - 1.5 * iqr) | (xi > q3 + 1.5 * iqr)])
        stats.append({"label": f"{name}\n(n = {len(xi):,})", "med": med, "q1": q1, "q3": q3,
                      "whislo": float(inside.min()), "whishi": float(inside.max()),
                      "fliers": out})
    with _f._style():
        height = 0.8 + 0.42 * len(stats)
        fig = _f._new_figure(max(height, 1.6), note=_note(note, design),
                             replica=_synthetic(design), title=title)
        ax = fig.add_subplot()
        horizontal = ({"orientation": "horizontal"}
                      if tuple(int(v) for v in mpl.__version__.split(".")[:2]) >= (3, 10)
                      else {"vert": False})
        ax.bxp(stats[::-1], **horizontal, widths=0.55, patch_artist=True, showfliers=True,
               boxprops={"facecolor": "#CFE3F2", "edgecolor": PALETTE[0], "linewidth": 0.9},
               medianprops={"color": PALETTE[5], "linewidth": 1.4},
               whiskerprops={"color": PALETTE[0], "linewidth": 0.9},
               capprops={"color": PALETTE[0], "linewidth": 0.9},
               flierprops={"marker": "o", "markersize": 2.2, "markerfacecolor": "none",
                           "markeredgecolor": "#555555", "markeredgewidth": 0.5})
        ax.set_xlabel(xlabel or f"{variable_label(design, var)} (weighted quartiles)")
        if by is not None:
            ax.set_ylabel(variable_label(design, by))
        ax.grid(axis="x", color="#E5E5E5", linewidth=0.5)
        ax.set_axisbelow(True)
        extra = []
        if n_missing:
            extra.append(f"{n_missing:,} missing {var} excluded")
        if n_missing_by:
            extra.append(f"{n_missing_by:,} missing {by} excluded")
        if extra:
            ax.set_title("; ".join(extra), loc="right", fontsize=7, fontweight="normal",
                         color="#404040")
    return fig


# ---------------------------------------------------------------------------------------------
# Weight diagnostics
# ---------------------------------------------------------------------------------------------


def _labelled_margins(margins: pd.DataFrame, design: Any) -> pd.DataFrame:
    """A margin table with ``variable_label`` and ``label`` columns from the design's labels
    (kept when the table already has them)."""
    if "variable" not in margins.columns:
        return margins
    out = margins.copy()
    names = out["variable"].astype(str)
    if "variable_label" not in out.columns:
        out.insert(out.columns.get_loc("variable") + 1, "variable_label",
                   [variable_label(design, v) for v in names])
    if "label" not in out.columns and "category" in out.columns:
        out.insert(out.columns.get_loc("category") + 1, "label",
                   [label_of(value_labels(design, v), c)
                    for v, c in zip(names, out["category"], strict=True)])
    return out


def weights(design: Any, margins: pd.DataFrame | None = None, *, title: str | None = None,
            note: str | None = None) -> Figure:
    """Weight diagnostics of a design (its domain): histogram of the weights with n, mean,
    range, CV, Kish design effect and effective sample size, and, when ``margins`` (a
    :func:`surveykit.margin_table` frame) is given, sample vs weighted vs target shares, the
    margins named by the design's variable and value labels ("Age group: 14–30").

    Parameters
    ----------
    design : SurveyDesign or ReplicateDesign
        The weighted design (its domain).
    margins : pandas.DataFrame, optional
        A :func:`surveykit.margin_table` frame: sample vs weighted vs target shares.
    title : str, optional
        Figure title.
    note : str, optional
        Note printed under the figure (e.g. the source).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> df = sk.load_replica()
    >>> design = sk.SurveyDesign(df, weights="weight")
    >>> fig = sk.plot.weights(design)
    >>> type(fig).__name__
    'Figure'
    >>> plt.close(fig)
    """
    if hasattr(design, "base_weights"):
        w = np.asarray(design.base_weights, dtype=float)[np.asarray(design.domain, bool)]
        replica = _synthetic(design)
        if margins is not None:
            margins = _labelled_margins(margins, design)
    else:
        w = np.asarray(design, dtype=float).ravel()
        replica = False
    return _f.weight_diagnostics(w, margins, title=title, note=_note(note, design),
                                 replica=replica)


# ---------------------------------------------------------------------------------------------
# List experiments
# ---------------------------------------------------------------------------------------------


def list_counts(result: Any, *, title: str | None = None, note: str | None = None) -> Figure:
    """Weighted distribution of the item count in each arm of a list experiment (the
    ``diagnostics`` of :func:`surveykit.list_experiment`): side-by-side bars per count, the
    floor (0) and ceiling (J, J + 1) counts outlined. The banner is drawn for synthetic data.

    Parameters
    ----------
    result : ListExperimentResult
        A :func:`surveykit.list_experiment` result.
    title : str, optional
        Figure title.
    note : str, optional
        Note printed under the figure (e.g. the source).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from surveykit.replica.experiments import LIST_J, list_experiment_data
    >>> le = sk.SurveyDesign(list_experiment_data(), weights="weight", strata="region", psu="psu")
    >>> res = sk.list_experiment(le, "item_count", "list_treat", J=LIST_J)
    >>> fig = sk.plot.list_counts(res)
    >>> type(fig).__name__
    'Figure'
    >>> plt.close(fig)
    """
    diag = getattr(result, "diagnostics", result)
    if not isinstance(diag, pd.DataFrame) or not {"arm", "count", "share"} <= set(diag.columns):
        raise ValidationError("plot.list_counts takes a sk.list_experiment result (or its "
                              "diagnostics frame)")
    counts = sorted(diag["count"].unique())
    arms = list(dict.fromkeys(diag["arm"]))
    synthetic = bool(diag.attrs.get("synthetic", False) or getattr(result, "synthetic", False))
    with _f._style():
        fig = _f._new_figure(2.6, note=note, replica=synthetic, title=title, legend_rows=1)
        ax = fig.add_subplot()
        width = 0.8 / len(arms)
        for j, arm in enumerate(arms):
            part = diag[diag["arm"] == arm].set_index("count").reindex(counts)
            x = np.arange(len(counts)) + (j - (len(arms) - 1) / 2) * width
            label = str(part["arm_label"].dropna().iloc[0]) if "arm_label" in part else arm
            bars = ax.bar(x, 100 * part["share"].fillna(0).to_numpy(), width=width * 0.95,
                          color=PALETTE[j % len(PALETTE)], label=_f.capitalise(label))
            edge = part["boundary"].fillna("").to_numpy() != ""
            for b, e in zip(bars, edge, strict=True):
                if e:
                    b.set_edgecolor("#222222")
                    b.set_linewidth(1.0)
        ax.set_xticks(np.arange(len(counts)), [str(c) for c in counts])
        ax.set_xlabel("Number of items that apply (outlined: floor 0 and ceiling)")
        ax.set_ylabel("Percent of arm (weighted)")
        ax.grid(axis="y", color="#E5E5E5", linewidth=0.5)
        ax.set_axisbelow(True)
        handles, labels = ax.get_legend_handles_labels()
        _f._figure_legend(fig, handles, labels, ncol=len(arms))
    return fig
