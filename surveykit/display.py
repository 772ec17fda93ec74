"""Short text and HTML views of the package's objects for the console and notebooks.

The views are duck-typed and import nothing above the foundation floor, so every object (a
design, a model, a cross-table) can show itself without an upward import
(docs/ARCHITECTURE.md, "Floors"). ``__repr__`` stays within 20 lines (a design, a model, a
cross-table, a raw file, a harmonised result); ``_repr_html_`` shows the same as small HTML
tables in Jupyter. Objects made from the synthetic replica say so in both.
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


def stars(p: float) -> str:
    """Significance stars as the papers print them: * p<0.05, ** p<0.01, *** p<0.001."""
    if not np.isfinite(p):
        return ""
    return "***" if p < 0.001 else "**" if p < 0.01 else "*" if p < 0.05 else ""


def estimate_heading(result: Any, exponentiate: bool, plain: str = "Coef.") -> str:
    """The heading of a model's estimate column, as R/Stata users read it: "OR" (logit),
    "IRR" (log link), "RRR" (multinomial logit, its ``ratio_label``), else "exp(b)";
    ``plain`` when not exponentiated. Shared by publication tables, notebook display and the
    report so one model is headed the same everywhere."""
    if not exponentiate:
        return plain
    if getattr(result, "ratio_label", None):  # e.g. "RRR" for multinomial logit equations
        return str(result.ratio_label)
    return "OR" if result.link == "logit" else "IRR" if result.link == "log" else "exp(b)"


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
    """The notebook table of a model: reference rows ("Age group: 14–30 (ref.)", em dashes),
    coefficients with stars, and the ordinal cut-points under their own heading, on the link
    scale and without stars (:func:`surveykit.models.tables.table_rows`)."""
    from surveykit.models.tables import EM_DASH, cutpoint_heading, fmt_number, table_rows

    exp_ = m.default_exponentiate()
    t = table_rows(m, exp_)
    head = estimate_heading(m, exp_, plain="b")
    rows: list[dict[str, str]] = []
    cut_title = False
    for r in t.to_dict("records"):
        first = {"outcome": str(r["outcome_label"])} if "outcome_label" in t.columns else {}
        kind = r.get("kind", "coef")
        if kind == "reference":
            rows.append({**first, "term": str(r["label"]), head: EM_DASH, "SE": "",
                         "95 % CI": "", "p": ""})
            continue
        if kind == "cutpoint" and not cut_title:
            cut_title = True
            rows.append({**first, "term": f"{cutpoint_heading(m)}, not exponentiated",
                         head: "", "SE": "", "95 % CI": "", "p": ""})
        p = r["p_value"]
        rows.append({
            **first, "term": str(r["label"]),
            head: fmt_number(r["estimate"], 3) + ("" if kind == "cutpoint" else stars(p)),
            "SE": fmt_number(r["std_error"], 3),
            "95 % CI": f"{fmt_number(r['ci_low'], 3)} – {fmt_number(r['ci_high'], 3)}",
            "p": "" if kind == "cutpoint" or not np.isfinite(p) else
            ("<0.001" if p < 0.001 else f"{p:.3f}")})
    return pd.DataFrame(rows)


def model_html(m: Any) -> str:
    from surveykit.models.tables import dependent_variable

    banner = _BANNER_HTML if is_synthetic(getattr(m, "design", None)) else ""
    dv = dependent_variable(m)
    head = (f"<p><b>{html.escape(m.describe_model())}</b>: <code>{html.escape(m.formula)}"
            f"</code>; N = {m.nobs:,}, excluded for missing = {m.n_missing:,}"
            + (f"<br>Dependent variable: {html.escape(dv)}" if dv else "") + "</p>")
    foot = ("<p><small>* p&lt;0.05, ** p&lt;0.01, *** p&lt;0.001; design-based SEs; "
            "(ref.) marks the reference category of a factor.</small></p>")
    return banner + head + _table_html(_model_frame(m)) + foot


# -- cross-tables ------------------------------------------------------------------------------
#: percentage base of a cross-table -> (its column in ``ct.table``, how the display says it)
_PERCENT = {"row": ("row_share", "Row percentages (weighted): % of each {col} category "
                                 "within each {row} category"),
            "column": ("col_share", "Column percentages (weighted): % of each {row} category "
                                    "within each {col} category"),
            "cell": ("estimate", "Cell percentages (weighted): % of all respondents")}


def _percent(ct: Any) -> str:
    """The percentage base shown: the result's own (``ct.percent``), else column shares when
    the table has them, else row shares."""
    kind = getattr(ct, "percent", None) or ct.table.attrs.get("percent")
    if kind in _PERCENT and _PERCENT[kind][0] in ct.table.columns:
        return str(kind)
    return "column" if "col_share" in ct.table.columns else "row"


def _var_label(ct: Any, var: str) -> str:
    return str((ct.table.attrs.get("variable_labels") or {}).get(var) or var)


def _pivot(ct: Any, column: str) -> pd.DataFrame:
    """``100 x`` a column of the cross-table's long table, as a row x column grid in the order
    the categories appear, rounded to one decimal."""
    t = ct.table
    rows = t["row_label"] if "row_label" in t.columns else t["row"]
    cols = t["col_label"] if "col_label" in t.columns else t["col"]
    wide = pd.DataFrame({"row": rows, "col": cols, "v": 100 * t[column]}).pivot(
        index="row", columns="col", values="v")
    wide = wide.reindex(index=list(dict.fromkeys(rows)), columns=list(dict.fromkeys(cols)))
    wide.index.name = ct.row
    wide.columns.name = ct.col
    return wide.round(1) + 0.0  # + 0.0: no negative zeros


def crosstab_shares(ct: Any) -> pd.DataFrame:
    """The weighted percentages of a cross-table as displayed (rows: the row variable's
    labels, columns: the column variable's), on the result's percentage base."""
    return _pivot(ct, _PERCENT[_percent(ct)][0])


def _has_ci(ct: Any) -> bool:
    t = ct.table
    return "ci_low" in t.columns and bool(np.isfinite(t["ci_low"].to_numpy(float)).any())


def crosstab_cells(ct: Any) -> pd.DataFrame:
    """The cells as displayed: the percentages of :func:`crosstab_shares`, each with its
    confidence interval ("16.3 [14.1, 18.8]") when the result has them (``ci=True``)."""
    wide = crosstab_shares(ct)
    if not _has_ci(ct):
        return wide
    lo, hi = _pivot(ct, "ci_low"), _pivot(ct, "ci_high")
    cells = wide.copy().astype(object)
    for r in wide.index:
        for c in wide.columns:
            p, a, b = wide.at[r, c], lo.at[r, c], hi.at[r, c]
            cells.at[r, c] = ("" if pd.isna(p) else f"{p:.1f}" if pd.isna(a) or pd.isna(b)
                              else f"{p:.1f} [{a:.1f}, {b:.1f}]")
    return cells


def _caption(ct: Any) -> str:
    text = _PERCENT[_percent(ct)][1].format(row=_var_label(ct, ct.row),
                                           col=_var_label(ct, ct.col))
    if _has_ci(ct):
        level = float(ct.table.attrs.get("level", 0.95))
        text += f"; {100 * level:g}\u00a0% confidence intervals in brackets"
    return text


def _test_line(ct: Any) -> str:
    t = ct.test  # a TestResult (surveykit.testresult)
    p = t.p_value
    ptxt = "p < 0.001" if p < 0.001 else f"p = {p:.3f}"
    what = "Rao–Scott F" if t.method == "F" else f"{t.name} ({t.method})"
    dfs = (f"({t.df:.2f}, {t.ddf:.1f})" if np.isfinite(t.ddf) else f"{t.df:.2f}")
    return (f"{what} = {t.statistic:.3f} on {dfs} df, {ptxt}; "
            f"n = {t.extras.get('n', 0):,}, missing = {t.extras.get('n_missing', 0):,}")


def crosstab_repr(ct: Any) -> str:
    lines = [f"<CrosstabResult {ct.row} x {ct.col}> {_test_line(ct)}"]
    if ct.table.attrs.get("synthetic"):
        lines.append(SYNTHETIC_BANNER)
    lines.append(_caption(ct) + ":")
    lines += crosstab_cells(ct).to_string(max_colwidth=22).splitlines()
    return _clip(lines)


def crosstab_html(ct: Any) -> str:
    """The cross-table in a notebook: banner (replica), test line, and one header row -- the
    row variable's label over the row labels, the column categories over their columns."""
    wide = crosstab_cells(ct)
    flat = wide.reset_index()
    flat.columns = [_var_label(ct, ct.row), *(str(c) for c in wide.columns)]
    banner = _BANNER_HTML if ct.table.attrs.get("synthetic") else ""
    return (banner + f"<p><b>{html.escape(_var_label(ct, ct.row))} × "
            f"{html.escape(_var_label(ct, ct.col))}</b>: {html.escape(_test_line(ct))}</p>"
            + _table_html(flat, _caption(ct)))


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
