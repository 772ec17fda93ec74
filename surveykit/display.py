"""Short text and HTML views of the package's objects for the console and notebooks.

``__repr__`` stays within 20 lines (a design, a model, a cross-table, a raw file, a harmonised
result); ``_repr_html_`` shows the same as small HTML tables in Jupyter. Objects made from the
synthetic replica say so in both.
"""

from __future__ import annotations

import html
from typing import Any

import numpy as np
import pandas as pd

from surveykit._text import terminal_safe
from surveykit.provenance import SYNTHETIC_BANNER, is_synthetic

MAX_LINES = 20
_BANNER_HTML = ('<p style="color:#B22222;font-weight:bold;margin:0">'
                f"{html.escape(SYNTHETIC_BANNER)}</p>")


def count(n: int, one: str, many: str | None = None) -> str:
    """``n`` with the noun in the right number: "1 stratum", "3 strata", "1 PSU", "2 PSUs"."""
    return f"{n:,} {one if n == 1 else (many if many is not None else one + 's')}"


def _names(cols: Any, k: int = 8) -> str:
    cols = [str(c) for c in cols]
    return ", ".join(cols[:k]) + (f", … (+{len(cols) - k})" if len(cols) > k else "")


def _table_html(frame: pd.DataFrame, caption: str | None = None) -> str:
    body = frame.to_html(index=False, border=0, na_rep="–", escape=True)
    cap = f"<p><b>{html.escape(caption)}</b></p>" if caption else ""
    return cap + body


def _clip(lines: list[str]) -> str:
    if len(lines) > MAX_LINES:
        lines = [*lines[: MAX_LINES - 1], f"… ({len(lines) - MAX_LINES + 1} more lines)"]
    # labels, paths and names are data: control characters are shown escaped, never sent raw
    return "\n".join(terminal_safe(line, newlines=False) for line in lines)


# -- designs -----------------------------------------------------------------------------------
def _design_lines(d: Any) -> list[str]:
    w = np.asarray(d.weights, dtype=float)[np.asarray(d.domain, bool)]
    kind = type(d).__name__
    lines = [f"<{kind}> {d.describe()}"]
    spec = getattr(d, "spec", {}) or {}
    roles = [f"{k}={spec[k]!r}" for k in ("weights", "strata", "psu", "fpc")
             if isinstance(spec.get(k), str)]
    if roles:
        lines.append("  " + ", ".join(roles))
    if w.size:
        lines.append(f"  weights in the domain: sum {w.sum():,.6g}, min {w.min():.4g}, "
                     f"max {w.max():.4g}")
    lines.append(f"  data: {count(d.n_total, 'row')} x {count(d.data.shape[1], 'column')} "
                 f"({_names(d.data.columns)})")
    if getattr(d, "source", None):
        lines.append(f"  source: {d.source}")
    if d.is_synthetic:
        lines.append(f"  {SYNTHETIC_BANNER}")
    return lines


def design_repr(d: Any) -> str:
    return _clip(_design_lines(d))


def design_html(d: Any) -> str:
    lines = _design_lines(d)
    items = "".join(f"<li>{html.escape(x.strip())}</li>" for x in lines[1:]
                    if SYNTHETIC_BANNER not in x)
    banner = _BANNER_HTML if d.is_synthetic else ""
    return (f"{banner}<p><b>{html.escape(type(d).__name__)}</b>: "
            f"{html.escape(d.describe())}</p><ul>{items}</ul>")


# -- models ------------------------------------------------------------------------------------
def _model_frame(m: Any) -> pd.DataFrame:
    exp_ = m.default_exponentiate()
    t = m.tidy(exponentiate=exp_)
    from surveykit.models.results import stars
    from surveykit.models.tables import estimate_heading

    label = t["label"] if "label" in t.columns else t["term"]
    first = {"outcome": t["outcome_label"]} if "outcome_label" in t.columns else {}
    return pd.DataFrame({
        **first,
        "term": label,
        estimate_heading(m, exp_, plain="b"): [f"{v:.3f}{stars(p)}" for v, p in
                                      zip(t["estimate"], t["p_value"], strict=True)],
        "SE": [f"{v:.3f}" for v in t["std_error"]],
        "95 % CI": [f"{a:.3f} – {b:.3f}" for a, b in zip(t["ci_low"], t["ci_high"],
                                                          strict=True)],
        "p": ["<0.001" if p < 0.001 else f"{p:.3f}" for p in t["p_value"].fillna(1.0)],
    })


def model_html(m: Any) -> str:
    banner = _BANNER_HTML if is_synthetic(getattr(m, "design", None)) else ""
    head = (f"<p><b>{html.escape(m.describe_model())}</b>: <code>{html.escape(m.formula)}"
            f"</code>; N = {m.nobs:,}, excluded for missing = {m.n_missing:,}</p>")
    foot = "<p><small>* p&lt;0.05, ** p&lt;0.01, *** p&lt;0.001; design-based SEs.</small></p>"
    return banner + head + _table_html(_model_frame(m)) + foot


# -- cross-tables ------------------------------------------------------------------------------
_PERCENT_TITLES = {"column": "Column percentages", "row": "Row percentages",
                   "cell": "Cell percentages"}


def percent_title(ct: Any) -> str:
    """"Column percentages (weighted)" etc.: what the displayed shares are."""
    return f"{_PERCENT_TITLES[getattr(ct, 'percent', 'row')]} (weighted)"


def crosstab_shares(ct: Any) -> pd.DataFrame:
    """The table's percentages (``ct.percent``: within columns, within rows, of the table)."""
    t = ct.table
    rows = t["row_label"] if "row_label" in t.columns else t["row"]
    cols = t["col_label"] if "col_label" in t.columns else t["col"]
    share = t["estimate"] if "percent" in t.attrs or "cell_share" in t.columns else t["row_share"]
    wide = pd.DataFrame({"row": rows, "col": cols, "pct": 100 * share}).pivot(
        index="row", columns="col", values="pct")
    wide = wide.reindex(index=list(dict.fromkeys(rows)), columns=list(dict.fromkeys(cols)))
    wide.index.name = ct.row
    wide.columns.name = ct.col
    return wide.round(1)


def _test_line(ct: Any) -> str:
    t = ct.test
    p = t.get("p_value", np.nan)
    ptxt = "p < 0.001" if p < 0.001 else f"p = {p:.3f}"
    stat = t.get("F", t.get("value", np.nan))
    return (f"Rao–Scott F = {stat:.3f} on ({t.get('df1', np.nan):.2f}, "
            f"{t.get('df2', np.nan):.1f}) df, {ptxt}; n = {t.get('n', 0):,}, "
            f"missing = {t.get('n_missing', 0):,}")


def crosstab_repr(ct: Any) -> str:
    lines = [f"<CrosstabResult {ct.row} x {ct.col}> {_test_line(ct)}",
             f"{percent_title(ct)}:"]
    lines += crosstab_shares(ct).to_string(max_colwidth=22).splitlines()
    return _clip(lines)


def crosstab_html(ct: Any) -> str:
    wide = crosstab_shares(ct).reset_index()
    return (f"<p><b>{html.escape(ct.row)} × {html.escape(ct.col)}</b>: "
            f"{html.escape(_test_line(ct))}</p>"
            + _table_html(wide, percent_title(ct)))


# -- raw files and harmonisation -----------------------------------------------------------------
def raw_repr(raw: Any) -> str:
    n_vl = len(raw.value_labels)
    lines = [f"<RawFile {raw.format}: {raw.path}> {raw.n:,} rows x {raw.data.shape[1]} columns",
             f"  columns: {_names(raw.data.columns)}",
             f"  variable labels: {len(raw.variable_labels)}; value labels: {n_vl}; columns "
             f"with missing reasons: {len(raw.missing_reasons)}"]
    if raw.file_label:
        lines.append(f"  file label: {raw.file_label}")
    lines.append("  surveykit.io.describe_raw(raw) lists every variable")
    return _clip(lines)


def raw_html(raw: Any) -> str:
    return "<pre>" + html.escape(raw_repr(raw)) + "</pre>"


def report_repr(rep: Any) -> str:
    lines = [f"<HarmonisationReport {', '.join(rep.studies)}> rows in {rep.rows_in:,}, "
             f"rows out {rep.rows_out:,}",
             f"  recodes: {len(rep.recodes):,} rows; unmapped codes: {len(rep.unmapped):,}; "
             f"NA reasons: {len(rep.missing):,} rows (report.missing)"]
    if len(rep.missing):
        top = rep.missing.sort_values("n", ascending=False, kind="stable").head(5)
        lines.append("  most frequent NA reasons:")
        lines += [f"    {r.variable}: {r.reason} ({int(r.n):,})" for r in top.itertuples()]
    lines += [f"  note: {n}" for n in rep.notes[:5]]
    if len(rep.notes) > 5:
        lines.append(f"  … {len(rep.notes) - 5} more notes")
    return _clip(lines)


def report_html(rep: Any) -> str:
    return "<pre>" + html.escape(report_repr(rep)) + "</pre>"


def harmonised_repr(h: Any) -> str:
    frame = h.frame
    lines = [f"<Harmonised> {len(frame):,} rows x {frame.shape[1]} canonical columns "
             f"(codebook {getattr(h.codebook, 'name', '?')})",
             f"  columns: {_names(frame.columns)}"]
    if is_synthetic(frame):
        lines.append(f"  {SYNTHETIC_BANNER}")
    lines += ["  " + x for x in report_repr(h.report).splitlines()[: MAX_LINES - len(lines) - 1]]
    return _clip(lines)


def harmonised_html(h: Any) -> str:
    banner = _BANNER_HTML if is_synthetic(h.frame) else ""
    return banner + "<pre>" + html.escape(harmonised_repr(h)) + "</pre>"
