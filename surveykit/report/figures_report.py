"""All figures of a replication result, in report order (used by :func:`write_report`).

Which figure draws which registry table (:data:`TABLE_FIGURES`), how a model's coefficients are
shown (odds ratios, incidence-rate ratios or raw coefficients) and the file stems.
:func:`plan_figures` describes them without drawing, so that the report draws and saves them in
worker processes (:class:`surveykit.report.ReportRun`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from matplotlib.figure import Figure

from surveykit import plot
from surveykit.errors import ValidationError
from surveykit.report.figures import (
    approval_diverging,
    behaviour_items,
    index_by_group,
    source_note,
    weight_diagnostics,
)

#: Which figure function draws which registry table (tables not listed get no figure).
TABLE_FIGURES: dict[str, str] = {
    "fig_5_4": "approval_diverging",
    "fig_5_8": "index_by_group",
    "fig_5_9": "behaviour_items",
    "fig_5_10": "index_by_group",
}

_LINK_MEASURES = {"logit": "Odds ratio", "log": "Incidence-rate ratio"}
_FAMILY_MEASURES = {"binomial": "Odds ratio", "ordinal": "Odds ratio", "logit": "Odds ratio",
                    "poisson": "Incidence-rate ratio", "negbin": "Incidence-rate ratio",
                    "negative binomial": "Incidence-rate ratio"}


@dataclass
class ReportFigure:
    """One figure of the report: file stem, section, title, caption, how to draw it (``draw``
    returns None when there is nothing to plot) and, once saved, its files."""

    stem: str
    section: Literal["tables", "models", "weighting"]
    key: str  # table id, model name or "weights"
    title: str
    caption: str
    draw: Callable[[], Figure | None] = field(repr=False, compare=False)
    files: dict[str, Path] = field(default_factory=dict)


def published_source(meta: Mapping[str, Any] | None) -> str | None:
    """The published source of a table as text (registry ``source`` may be a mapping)."""
    if not meta:
        return None
    source = meta.get("source")
    if isinstance(source, Mapping):
        return source.get("page") or source.get("paper") or None
    return str(source) if source else None


def model_measure(model: Any, meta: Mapping[str, Any] | None = None) -> tuple[bool, str]:
    """(exponentiate?, axis label) for a fitted model: odds ratios for logit links,
    incidence-rate ratios for log links, raw coefficients otherwise."""
    link = getattr(model, "link", None)
    if link in _LINK_MEASURES:
        return True, _LINK_MEASURES[link]
    if link is None:
        family = str((meta or {}).get("family") or getattr(model, "family", "")).lower()
        if family in _FAMILY_MEASURES:
            return True, _FAMILY_MEASURES[family]
    return False, "Coefficient"


def _stem(key: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(key)).strip("_") or "figure"


def plan_figures(result: Any) -> list[ReportFigure]:
    """Every figure of a :class:`~surveykit.replication.result.ReplicationResult`, not drawn:
    one per published table listed in :data:`TABLE_FIGURES`, a forest plot per model and the
    weight diagnostics, in report order (tables, models, weights). Captions are numbered by
    :func:`number_figures` once it is known which figures were drawn."""
    prov = getattr(result, "provenance", {}) or {}
    input_file = prov.get("input_file")
    replica = bool(getattr(result, "is_replica", False))
    out: list[ReportFigure] = []
    drawers = {"approval_diverging": approval_diverging, "behaviour_items": behaviour_items,
               "index_by_group": index_by_group}
    for table_id, table in result.tables.items():
        kind = TABLE_FIGURES.get(table_id)
        if kind is None or table is None or len(table) == 0:
            continue
        meta = result.table_meta.get(table_id, {})
        title = str(meta.get("title") or table_id)
        note = source_note(input_file, published_source(meta))

        def draw_table(fn: Any = drawers[kind], table: Any = table, note: str = note) -> Figure:
            # the title is the caption (the source note stays in the figure): said once each
            return fn(table, title=None, note=note, replica=replica)

        out.append(ReportFigure(_stem(table_id), "tables", table_id, title, title, draw_table))
    for name, model in result.models.items():
        meta = result.model_meta.get(name, {})
        exponentiate, measure = model_measure(model, meta)

        def draw_model(model: Any = model, exponentiate: bool = exponentiate) -> Figure | None:
            try:  # the public sk.plot.forest, labelled from the data
                return plot.forest(model, exponentiate=exponentiate,
                                   note=source_note(input_file))
            except ValidationError:  # intercept-only model: nothing to plot (said in the report)
                return None

        scale = ", log scale" if exponentiate else ""
        out.append(ReportFigure(_stem(f"model_{name}"), "models", name,
                                str(meta.get("title") or name),
                                f"{measure}s with 95 % confidence intervals{scale}.", draw_model))
    weights = np.asarray(getattr(result, "weights", np.zeros(0)), dtype=float)
    if weights.size:
        margins = (getattr(result, "weighting", {}) or {}).get("margins")

        def draw_weights() -> Figure:
            return weight_diagnostics(weights, margins, title=None,
                                      note=source_note(input_file), replica=replica)

        caption = "Distribution of the analysis weights" + (
            " and, per calibration margin, sample, weighted and target shares."
            if margins is not None and len(margins) else " (no calibration margins).")
        out.append(ReportFigure("weights", "weighting", "weights", "Weighting diagnostics",
                                caption, draw_weights))
    return out


def number_figures(figures: list[ReportFigure]) -> list[ReportFigure]:
    """Prefix each caption with "Figure k." (once), in order; returns the list."""
    for k, fig in enumerate(figures, start=1):
        fig.caption = f"Figure {k}. {fig.caption}"
    return figures

