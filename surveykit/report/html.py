"""The self-contained HTML replication report.

One file: CSS inline (``templates/report.css``), images embedded as base64 PNG, no scripts and
no network resources, so it opens anywhere (and offline) and is byte-identical for the same
result. Sections and display rows are shared with :mod:`surveykit.report.markdown`.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from html import escape
from importlib.resources import files
from string import Template
from typing import Any

from surveykit.replication.result import SYNTHETIC_BANNER
from surveykit.report.markdown import (
    COMPARISON_HEADER,
    REPLICA_EXPLANATION,
    REPORT_TITLE,
    STATUS,
    comparison_rows,
    margins_table,
    model_description,
    model_table,
    provenance_items,
    report_sections,
    table_summary,
    weight_summary_table,
)

_NUM = ' class="num"'


def _template(name: str) -> str:
    return (files("surveykit.report") / "templates" / name).read_text(encoding="utf-8")


def html_table(header: Sequence[str], rows: Sequence[Sequence[str]],
               numeric: Sequence[bool] | None = None, cls: str | None = None) -> str:
    """An escaped HTML table; ``numeric`` flags right-aligned columns."""
    numeric = numeric or [False] * len(header)
    head = "".join(f"<th{_NUM if n else ''}>{escape(h)}</th>"
                   for h, n in zip(header, numeric, strict=True))
    body = []
    for row in rows:
        cells = "".join(f"<td{_NUM if n else ''}>{escape(c)}</td>"
                        for c, n in zip(row, numeric, strict=True))
        body.append(f"<tr>{cells}</tr>")
    attr = f' class="{cls}"' if cls else ""
    return (f"<table{attr}>\n<thead><tr>{head}</tr></thead>\n<tbody>\n" + "\n".join(body)
            + "\n</tbody>\n</table>")


def _comparison_table(table: Any, meta: dict[str, Any]) -> str:
    numeric = [False, False, True, True, True, True, True, True, False]
    head = "".join(f"<th{_NUM if n else ''}>{escape(h)}</th>"
                   for h, n in zip(COMPARISON_HEADER, numeric, strict=True))
    body = []
    for r in comparison_rows(table, meta):
        computed_cls = "num out-of-tolerance" if r.status == "fail" else "num"
        marker, text = STATUS[r.status]
        marker = marker.replace("**", "")
        body.append(
            f'<tr class="{r.status}">'
            f"<td>{escape(r.row)}</td><td>{escape(r.group)}</td>"
            f'<td class="num">{escape(r.n)}</td><td class="num">{escape(r.published)}</td>'
            f'<td class="{computed_cls}">{escape(r.computed)}</td>'
            f'<td class="num">{escape(r.difference)}</td>'
            f'<td class="num">{escape(r.tolerance)}</td><td class="num">{escape(r.ci)}</td>'
            f'<td class="status-{r.status}" title="{escape(text)}">{escape(marker)} '
            f"{escape(text)}</td></tr>"
        )
    return (f'<table class="comparison">\n<thead><tr>{head}</tr></thead>\n<tbody>\n'
            + "\n".join(body) + "\n</tbody>\n</table>")


def _figure(fig: Any) -> str:
    """A <figure> with the saved PNG embedded as base64 (no external file needed)."""
    data = base64.b64encode(fig.files["png"].read_bytes()).decode("ascii")
    return (f'<figure id="figure-{escape(fig.stem)}">\n'
            f'<img src="data:image/png;base64,{data}" alt="{escape(fig.title)}" '
            f'data-figure="{escape(fig.stem)}">\n'
            f"<figcaption>{escape(fig.caption)}</figcaption>\n</figure>")


def render_html(result: Any, figures: Sequence[Any]) -> str:
    """The whole HTML report; ``figures`` must have been saved (``fig.files["png"]``)."""
    from surveykit import __version__
    from surveykit.report.figures_report import model_measure, published_source

    out: list[str] = [f"<h1>{escape(REPORT_TITLE)}</h1>"]
    if getattr(result, "is_replica", False):
        out.append(f'<div class="banner" role="alert" id="synthetic-banner">'
                   f"{escape(SYNTHETIC_BANNER)}<span>{escape(REPLICA_EXPLANATION)}</span></div>")
    toc = "".join(f'<li><a href="#{a}">{escape(h)}</a></li>' for a, h in report_sections(result))
    out.append(f'<nav class="toc" id="contents"><h2>Contents</h2><ol>{toc}</ol></nav>')

    out.append('<section id="summary">\n<h2>Summary</h2>')
    out.append(f"<p>{escape(result.summary)}.</p>")
    out.append('<p class="note">Cells out of tolerance are highlighted (row shaded, computed '
               "value in bold red, status ✗); ✓ = within rounding of the published value; "
               "– = not replicable.</p>\n</section>")

    out.append('<section id="tables">\n<h2>Published tables: published vs computed</h2>')
    for table_id, table in result.tables.items():
        meta = result.table_meta.get(table_id, {})
        passed, failed, na = table_summary(table)
        source = published_source(meta)
        line = f"Table {table_id}: {passed} of {passed + failed} cells within rounding"
        if na:
            line += f", {na} not replicable"
        line += f". Published source: {source}." if source else "."
        out.append(f'<h3 id="table-{escape(table_id)}">{escape(meta.get("title") or table_id)}'
                   f'</h3>\n<p class="meta">{escape(line)}</p>')
        if meta.get("note"):
            out.append(f'<p class="note">{escape(str(meta["note"]))}</p>')
        out.append(_comparison_table(table, meta))
    out.append("</section>")

    out.append('<section id="figures">\n<h2>Figures</h2>')
    table_figs = [f for f in figures if f.section == "tables"]
    out += [_figure(f) for f in table_figs] or ["<p>No figures for these tables.</p>"]
    out.append("</section>")

    out.append('<section id="models">\n<h2>Models</h2>')
    if not result.models:
        out.append("<p>No models were fitted.</p>")
    for name, model in result.models.items():
        meta = result.model_meta.get(name, {})
        exponentiate, measure = model_measure(model, meta)
        out.append(f'<h3 id="model-{escape(str(name))}">{escape(meta.get("title") or name)}</h3>')
        out.append(f'<p class="meta">{escape(model_description(model, meta))}. Estimates: '
                   f"{escape(measure.lower())}s with 95 % CI.</p>")
        header, rows = model_table(model, exponentiate)
        out.append(html_table(header, rows, numeric=[False, True, True, True, True],
                              cls="model"))
        fig = next((f for f in figures if f.section == "models" and f.key == name), None)
        out.append(_figure(fig) if fig else "<p>No forest plot: the model has no coefficients "
                   "besides intercepts/thresholds.</p>")
    out.append("</section>")

    out.append('<section id="weighting">\n<h2>Weighting diagnostics</h2>')
    weighting = getattr(result, "weighting", {}) or {}
    header, rows = weight_summary_table(weighting.get("summary"))
    out.append("<h3>Weight summary</h3>")
    out.append(html_table(header, rows, numeric=[False, True], cls="weights") if header
               else "<p>No weight summary.</p>")
    out.append("<h3>Margins: sample, weighted and target shares</h3>")
    margins = weighting.get("margins")
    if margins is not None and len(margins):
        header, rows = margins_table(margins)
        out.append(html_table(header, rows, numeric=[False, False] + [True] * 6,
                              cls="margins"))
    else:
        out.append("<p>No calibration margins (the weights were used as supplied).</p>")
    out += [_figure(f) for f in figures if f.section == "weighting"]
    out.append("</section>")

    if getattr(result, "sensitivity", None) is not None:  # surveykit replicate --sensitivity
        from surveykit._sensitivity import section_html

        out.append(section_html(result.sensitivity))

    out.append('<section id="harmonisation">\n<h2>Harmonisation</h2>')
    report = getattr(result, "harmonisation", None)
    out.append(f'<pre class="harmonisation">{escape(report.render())}</pre>' if report is not None
               else "<p>The input was already canonical: validated, nothing recoded.</p>")
    out.append("</section>")

    out.append('<section id="provenance">\n<h2>Provenance</h2>\n<dl class="provenance">')
    out += [f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in provenance_items(result)]
    out.append("</dl>\n</section>")

    return Template(_template("report.html")).substitute(
        title=escape(REPORT_TITLE), version=escape(__version__), css=_template("report.css"),
        body="\n".join(out))
