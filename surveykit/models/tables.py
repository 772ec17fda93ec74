"""Publication tables of survey models, as journals print them.

One layout, every format (Markdown, LaTeX, HTML, Word, the notebook and the report):

- a **dependent-variable line** (the outcome's variable label);
- coefficients (odds ratios for logit, IRRs for log links, RRRs for multinomial equations by
  default) with stars * p<0.05, ** p<0.01, *** p<0.001 (the model's own reference
  distribution) and the design-based SE in parentheses below -- or, with ``ci=True``, the
  confidence interval in brackets; the SE of a ratio is by the delta method, exp(b) se(b);
- a **reference row per categorical term** ("Age group: 14–30 (ref.)", em-dash cells), the
  level named by the data's value label, so the reader sees the baseline;
- ordinal **cut-points in their own section** ("Cut-points (logit scale)"), never
  exponentiated and never starred (they are not tests of anything);
- N (respondents used) and the respondents excluded for a missing model variable;
- a note (what the cells are, the stars, the synthetic-data banner for the replica) and a
  source line.

:func:`table_rows` is the one place that decides the rows; :class:`RegressionTable` renders
them.
"""

from __future__ import annotations

import html as _html
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from surveykit.display import estimate_heading, stars
from surveykit.errors import ModelError
from surveykit.labels import label_of, term_label, term_labels, value_labels, variable_label
from surveykit.provenance import SYNTHETIC_BANNER, is_synthetic

#: the cell of a reference category
EM_DASH = "—"


def fmt_number(value: Any, digits: int) -> str:
    """Fixed-point text without a negative zero ("-0.000" -> "0.000"); "" when missing."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        return ""
    if not np.isfinite(x):
        return ""
    text = f"{x:.{digits}f}"
    if text.startswith("-") and float(text) == 0:
        text = text[1:]
    return text


def cutpoint_heading(result: Any) -> str:
    """"Cut-points (logit scale)" / "(probit scale)": the section title of ordinal
    thresholds."""
    return f"Cut-points ({getattr(result, 'link', 'link')} scale)"


def dependent_variable(result: Any) -> str:
    """The outcome's variable label (its name when unlabelled)."""
    frame = getattr(result, "frame", None)
    lhs = getattr(frame, "lhs", None)
    if not lhs:
        return ""
    return variable_label(getattr(result, "design", None), str(lhs))


def _factors(result: Any, terms: Sequence[str]) -> list[dict[str, Any]]:
    """The factors of a model whose reference level was left out of the model matrix: per
    factor its variable label, first term, reference term and level label, and the level
    label of each of its terms (from the data's value labels)."""
    frame = getattr(result, "frame", None)
    if frame is None or not hasattr(frame, "variables"):
        return []
    present = set(terms)
    design = getattr(result, "design", None)
    out: list[dict[str, Any]] = []
    for var in frame.variables():
        if var.kind != "categorical" or not var.categories:
            continue
        names = {c: f"{var.code}[T.{c}]" for c in var.categories}
        own = [t for t in terms if t in set(names.values())]
        missing = [c for c, t in names.items() if t not in present]
        if not own or len(missing) != 1:  # no intercept (all levels shown) or other coding
            continue
        vl = value_labels(design, var.name)
        out.append({"factor": variable_label(design, var.name), "first": own[0],
                    "ref_term": names[missing[0]],
                    "ref_level": label_of(vl, missing[0]),
                    "levels": {t: label_of(vl, c) for c, t in names.items()}})
    return out


def table_rows(result: Any, exponentiate: bool | None = None,
               conf_level: float = 0.95) -> pd.DataFrame:
    """The rows of a model's publication table: the model's ``tidy()`` with a ``kind``
    column -- "coef", "reference" (the left-out level of a factor, placed before the factor's
    first coefficient; its numbers NaN) or "cutpoint" (ordinal thresholds, last, on the link
    scale whatever ``exponentiate`` says) -- and, for the levels of a factor, ``factor`` (the
    variable label) and ``level_text`` (the level's value label; "14–30 (ref.)" on the
    reference row).

    Multinomial results give one block per non-baseline outcome (``outcome`` columns kept).
    """
    exp_ = result.default_exponentiate() if exponentiate is None else exponentiate
    t = (result.tidy(exponentiate=exp_) if conf_level == 0.95  # any object with tidy()
         else result.tidy(exponentiate=exp_, conf_level=conf_level))
    if "kind" not in t.columns:  # an object shaped like a model result: "a|b" are cut-points
        t = t.assign(kind=["cutpoint" if "|" in str(x) else "coef" for x in t["term"]])
    if "label" not in t.columns:
        t = t.assign(label=term_labels(t["term"].astype(str), getattr(result, "design", None)))
    t = t.assign(factor=None, level_text=None)
    group_cols = [c for c in ("outcome", "outcome_label") if c in t.columns]
    blocks = [t] if not group_cols else [g for _, g in t.groupby(group_cols[0], sort=False)]
    out = []
    for block in blocks:
        coefs = block[block["kind"] != "cutpoint"]
        factors = _factors(result, [str(x) for x in coefs["term"]])
        first = {f["first"]: f for f in factors}
        member = {t: f for f in factors for t in f["levels"]}
        rows: list[dict[str, Any]] = []
        for rec in coefs.to_dict("records"):
            term = str(rec["term"])
            f = first.get(term)
            if f is not None:
                blank = {k: (rec[k] if k in group_cols else np.nan) for k in rec}
                rows.append({**blank, "term": f["ref_term"],
                             "label": f"{term_label(f['ref_term'], result.design)} (ref.)",
                             "kind": "reference", "factor": f["factor"],
                             "level_text": f"{f['ref_level']} (ref.)"})
            if term in member:
                rec = {**rec, "factor": member[term]["factor"],
                       "level_text": member[term]["levels"][term]}
            rows.append(rec)
        rows += block[block["kind"] == "cutpoint"].to_dict("records")
        out.append(pd.DataFrame(rows, columns=t.columns))
    res = pd.concat(out, ignore_index=True) if out else t.iloc[:0]
    res.attrs.update(exponentiate=exp_)
    return res


# ---------------------------------------------------------------------------------------------
# the multi-model table
# ---------------------------------------------------------------------------------------------


@dataclass
class Row:
    """One row of a rendered table: ``kind`` "coef", "reference", "group" (a factor's
    variable label above its levels), "section" (the cut-points title), "cutpoint" or
    "foot"; ``cells`` one (estimate line, SE/CI line) per model; ``indent`` for the levels of
    a factor."""

    label: str
    kind: str
    cells: list[tuple[str, str]]
    indent: bool = False


class RegressionTable:
    """The publication table of one or several survey models (see the module docstring).

    ``str(table)`` is Markdown; ``to_markdown``, ``to_latex``, ``to_html``, ``to_frame`` and
    ``to_docx(path, style="apa")`` give the other formats with the same rows.
    """

    def __init__(self, results: Any, *, names: Sequence[str] | None = None,
                 exponentiate: bool | None = None, ci: bool = False, digits: int = 3,
                 conf_level: float = 0.95, title: str | None = None) -> None:
        results = [results] if not isinstance(results, (list, tuple)) else list(results)
        if not results:
            raise ModelError("regression_table needs at least one model result")
        if names is not None and len(names) != len(results):
            raise ModelError("regression_table: one name per model",
                             values=[str(n) for n in names])
        if not 0 < conf_level < 1:
            raise ModelError(f"conf_level must be in (0, 1), got {conf_level}")
        self.results = results
        self.names = (list(names) if names is not None
                      else [f"({i + 1})" for i in range(len(results))])
        self.exponentiate = exponentiate
        self.ci = bool(ci)
        self.digits = int(digits)
        self.conf_level = conf_level
        self.title = title

    # -- the rows ------------------------------------------------------------------------------
    def _exp(self, res: Any) -> bool:
        return res.default_exponentiate() if self.exponentiate is None else self.exponentiate

    def headings(self) -> list[str]:
        """One heading per model: its name and the measure ("(1) OR")."""
        return [f"{n} {estimate_heading(r, self._exp(r))}".strip()
                for r, n in zip(self.results, self.names, strict=True)]

    def dependent_variables(self) -> list[str]:
        return [dependent_variable(r) for r in self.results]

    def rows(self) -> list[Row]:
        """The body: coefficient and reference rows, cut-point sections, N, excluded N."""
        d = self.digits
        k = len(self.results)
        order: list[tuple[str, str]] = []  # (kind, key) in first-seen order
        labels: dict[tuple[str, str], str] = {}
        levels: dict[tuple[str, str], tuple[str, str]] = {}  # key -> (factor, level text)
        cells: list[dict[tuple[str, str], tuple[str, str]]] = []
        sections: dict[str, str] = {}  # cut-point section key -> title
        for res in self.results:
            t = table_rows(res, self._exp(res), self.conf_level)
            col: dict[tuple[str, str], tuple[str, str]] = {}
            for r in t.to_dict("records"):
                kind = r["kind"]
                key = (kind, str(r["term"]))
                if kind == "cutpoint":
                    sec = cutpoint_heading(res)
                    key = (f"cutpoint:{sec}", str(r["term"]))
                    sections[key[0]] = sec
                if key not in labels:
                    order.append(key)
                    labels[key] = str(r.get("label", r["term"]))
                    if isinstance(r.get("factor"), str) and isinstance(r.get("level_text"), str):
                        levels[key] = (r["factor"], r["level_text"])
                if kind == "reference":
                    col[key] = (EM_DASH, "")
                    continue
                est = fmt_number(r["estimate"], d) + ("" if kind == "cutpoint"
                                                      else stars(r["p_value"]))
                if self.ci:
                    lo, hi = fmt_number(r["ci_low"], d), fmt_number(r["ci_high"], d)
                    second = f"[{lo}, {hi}]" if lo and hi else ""
                else:
                    se = fmt_number(r["std_error"], d)
                    second = f"({se})" if se else ""
                col[key] = (est, second)
            cells.append(col)
        body: list[Row] = []
        coef_keys = [key for key in order if not key[0].startswith("cutpoint")]
        headed: set[str] = set()
        for key in coef_keys:
            row_cells = [c.get(key, ("", "")) for c in cells]
            if key in levels:
                factor, text = levels[key]
                if factor not in headed:
                    headed.add(factor)
                    body.append(Row(factor, "group", [("", "")] * k))
                body.append(Row(text, key[0], row_cells, indent=True))
            else:
                body.append(Row(labels[key], key[0], row_cells))
        for sec_key, title in sections.items():
            body.append(Row(title, "section", [("", "")] * k))
            for key in order:
                if key[0] == sec_key:
                    body.append(Row(labels[key], "cutpoint",
                                    [c.get(key, ("", "")) for c in cells]))
        body.append(Row("N", "foot", [(f"{r.nobs:,}", "") for r in self.results]))
        body.append(Row("Excluded (missing)", "foot",
                        [(f"{r.n_missing:,}", "") for r in self.results]))
        if any("alpha" in getattr(r, "extra", {}) for r in self.results):  # NB2 dispersion
            body.append(Row("Dispersion alpha (SE)", "foot", [
                (f"{fmt_number(r.extra['alpha'], d)} ({fmt_number(r.extra['alpha_se'], d)})"
                 if "alpha" in r.extra else "", "") for r in self.results]))
        return body

    @property
    def synthetic(self) -> bool:
        return any(is_synthetic(getattr(r, "design", None)) for r in self.results)

    def dv_line(self) -> str:
        """"Dependent variable: <label>" (models of different outcomes: each in turn)."""
        dvs = [x for x in self.dependent_variables() if x]
        if not dvs:
            return ""
        uniq = list(dict.fromkeys(dvs))
        if len(uniq) == 1:
            return f"Dependent variable: {uniq[0]}"
        return "Dependent variables: " + "; ".join(
            f"{n or i + 1} {x}" for i, (n, x) in enumerate(
                zip(self.names, self.dependent_variables(), strict=True)))

    def note(self, tex: bool = False) -> str:
        """What the cells are, the stars, the cut-points, the banner."""
        level = f"{100 * self.conf_level:g} %"
        parts = ["Survey-weighted estimates; "
                 + (f"{level} confidence intervals in brackets." if self.ci
                    else "design-based standard errors in parentheses.")]
        if any(self._exp(r) for r in self.results):
            parts.append("Ratios are exponentiated coefficients, their SEs by the delta method.")
        rows = self.rows()
        if any(r.kind == "reference" for r in rows):
            parts.append("(ref.) marks the reference category of a factor.")
        if any(r.kind == "section" for r in rows):
            parts.append("Cut-points are on the link scale, not exponentiated and not tested.")
        parts.append("$^{*}$ p<0.05, $^{**}$ p<0.01, $^{***}$ p<0.001." if tex
                     else "* p<0.05, ** p<0.01, *** p<0.001.")
        if self.synthetic:
            parts.append(f"{SYNTHETIC_BANNER}: not findings about China.")
        return " ".join(parts)

    def source(self) -> str:
        """"Source: <file>" of the designs read from files (the replica: its banner)."""
        srcs = []
        for r in self.results:
            src = getattr(getattr(r, "design", None), "source", None)
            if src:
                srcs.append(Path(str(src)).name)
        if self.synthetic:
            return f"Source: {SYNTHETIC_BANNER}."
        srcs = list(dict.fromkeys(srcs))
        return f"Source: {', '.join(srcs)}." if srcs else ""

    # -- renderers -----------------------------------------------------------------------------
    def to_frame(self) -> pd.DataFrame:
        """The table as a frame: a ``Term`` column, one column per model; the SE (or CI) line
        of a coefficient is the next row; section titles are rows with empty cells."""
        out = []
        for row in self.rows():
            out.append([("    " if row.indent else "") + row.label, *(c[0] for c in row.cells)])
            if row.kind in ("coef", "cutpoint") and any(c[1] for c in row.cells):
                out.append(["", *(c[1] for c in row.cells)])
        return pd.DataFrame(out, columns=["Term", *self.headings()])

    def to_markdown(self) -> str:
        def esc(text: str) -> str:
            return text.replace("|", "\\|")
        k = len(self.results)
        lines = []
        if self.title:
            lines += [f"**{esc(self.title)}**", ""]
        if self.dv_line():
            lines += [esc(self.dv_line()), ""]
        lines += ["| Term | " + " | ".join(esc(h) for h in self.headings()) + " |",
                  "|---|" + "---:|" * k]
        for row in self.rows():
            label = esc(row.label)
            if row.kind in ("section", "group"):
                lines.append((f"| *{label}* |" if row.kind == "section" else f"| {label} |")
                             + " |" * k)
                continue
            lines.append(f"| {label} | " + " | ".join(c[0] for c in row.cells) + " |")
            if row.kind in ("coef", "cutpoint") and any(c[1] for c in row.cells):
                lines.append("| | " + " | ".join(c[1] for c in row.cells) + " |")
        foot = [self.note()] + ([self.source()] if self.source() else [])
        return "\n".join(lines) + "\n\n" + "\n".join(foot) + "\n"

    def to_latex(self) -> str:
        esc = _latex_escape
        k = len(self.results)
        lines = [r"\begin{tabular}{l" + "r" * k + "}", r"\hline"]
        if self.dv_line():
            lines.append(r"\multicolumn{" + str(k + 1) + "}{l}{" + esc(self.dv_line())
                         + r"} \\")
        lines += ["Term & " + " & ".join(esc(h) for h in self.headings()) + r" \\", r"\hline"]
        foot_started = False
        for row in self.rows():
            if row.kind == "foot" and not foot_started:
                lines.append(r"\hline")
                foot_started = True
            if row.kind == "section":
                lines.append(r"\multicolumn{" + str(k + 1) + r"}{l}{\textit{" + esc(row.label)
                             + r"}} \\")
                continue
            if row.kind == "group":
                lines.append(esc(row.label) + " &" * k + r" \\")
                continue
            lines.append((r"\quad " if row.indent else "") + esc(row.label) + " & " + " & ".join(
                _star_tex(c[0]) for c in row.cells) + r" \\")
            if row.kind in ("coef", "cutpoint") and any(c[1] for c in row.cells):
                lines.append(" & " + " & ".join(c[1] for c in row.cells) + r" \\")
        note = self.note(tex=True) + (f" {self.source()}" if self.source() else "")
        lines += [r"\hline", r"\multicolumn{" + str(k + 1) + r"}{p{0.9\linewidth}}{\footnotesize "
                  + _latex_escape(note, keep_math=True) + "}", r"\end{tabular}"]
        return "\n".join(lines) + "\n"

    def to_html(self) -> str:
        """A three-line HTML table (top, header and bottom rules), SE/CI under the estimate
        in the same cell; banner first for the replica."""
        e = _html.escape
        k = len(self.results)
        rule = "border-top:1px solid #000"
        parts = []
        if self.synthetic:
            parts.append('<p style="color:#B22222;font-weight:bold;margin:0">'
                         f"{e(SYNTHETIC_BANNER)}</p>")
        if self.title:
            parts.append(f"<p><b>{e(self.title)}</b></p>")
        if self.dv_line():
            parts.append(f"<p>{e(self.dv_line())}</p>")
        head = "".join(f'<th style="text-align:right;{rule};border-bottom:1px solid #000">'
                       f"{e(h)}</th>" for h in self.headings())
        parts.append('<table style="border-collapse:collapse;border-bottom:1px solid #000">'
                     f'<thead><tr><th style="text-align:left;{rule};border-bottom:1px solid '
                     f'#000">Term</th>{head}</tr></thead><tbody>')
        for row in self.rows():
            if row.kind == "section":
                parts.append(f'<tr><td colspan="{k + 1}"><i>{e(row.label)}</i></td></tr>')
                continue
            if row.kind == "group":
                parts.append(f'<tr><td colspan="{k + 1}">{e(row.label)}</td></tr>')
                continue
            style = f' style="{rule}"' if row.label == "N" else ""
            pad = ' style="padding-left:1.2em"' if row.indent else ""
            tds = "".join(
                f'<td style="text-align:right">{e(c[0])}'
                + (f"<br>{e(c[1])}" if c[1] else "") + "</td>" for c in row.cells)
            parts.append(f"<tr{style}><td{pad}>{e(row.label)}</td>{tds}</tr>")
        parts.append("</tbody></table>")
        foot = e(self.note()) + (f"<br>{e(self.source())}" if self.source() else "")
        parts.append(f"<p><small>{foot}</small></p>")
        return "".join(parts)

    def _repr_html_(self) -> str:
        return self.to_html()

    def __str__(self) -> str:
        return self.to_markdown()

    def __repr__(self) -> str:
        return self.to_markdown()

    def to_docx(self, path: str | Path, *, style: str = "apa", title: str | None = None
                ) -> Path:
        """Write the table to a Word file: with ``style="apa"`` (default) a three-line table
        (top, header and bottom rules), SE or [CI] under the estimate in the same cell,
        decimal-aligned numbers, header row repeated on every page, landscape when wider than
        a portrait page, note and source line; ``style="grid"`` the plain full grid."""
        from surveykit.word import WordTable, write_docx

        heads = self.headings()
        body, kinds, indent = [], [], []
        for row in self.rows():
            body.append([row.label, *("\n".join(x for x in c if x) for c in row.cells)])
            kinds.append(row.kind)
            indent.append(row.indent)
        table = WordTable(
            header=["Term", *heads], rows=body,
            kinds=kinds, indent=indent, title=title or self.title, subtitle=self.dv_line(),
            note=self.note(),
            source=self.source(), synthetic=self.synthetic)
        return write_docx(table, path, style=style)


def _latex_escape(text: str, keep_math: bool = False) -> str:
    for a, b in (("&", r"\&"), ("%", r"\%"), ("_", r"\_"), ("#", r"\#")):
        text = text.replace(a, b)
    if not keep_math:
        text = text.replace("$", r"\$")
    return text


def _star_tex(text: str) -> str:
    body = text.rstrip("*")
    n = len(text) - len(body)
    return body + (f"$^{{{'*' * n}}}$" if n else "")


def regression_table(results: Any, fmt: str | None = None, exponentiate: bool | None = None,
                     digits: int = 3, names: Sequence[str] | None = None, *,
                     ci: bool = False, conf_level: float = 0.95,
                     title: str | None = None) -> RegressionTable | str:
    """The publication table of one or several survey models (one column per model).

    Returns a :class:`RegressionTable` (``to_markdown``, ``to_latex``, ``to_html``,
    ``to_frame``, ``to_docx(path, style="apa")``); with ``fmt="markdown"|"latex"|"html"``
    the text directly. ``ci=True`` shows the ``conf_level`` interval in brackets instead of
    the SE; ``exponentiate`` defaults per model (OR / IRR / RRR).

    Parameters
    ----------
    results : ModelResult or sequence of ModelResult
        The model(s), one column each.
    fmt : {"markdown", "latex", "html"}, optional
        Return the table as text in this format (default: a RegressionTable).
    exponentiate : bool, optional
        Show odds/rate ratios (default: per model family).
    digits : int
        Decimal places.
    names : sequence of str, optional
        Column headers of the models.
    ci : bool
        Show confidence intervals instead of standard errors.
    conf_level : float
        Confidence level of the intervals.
    title : str, optional
        Table title.

    Returns
    -------
    RegressionTable or str

    Examples
    --------
    >>> df = sk.load_replica()
    >>> design = sk.SurveyDesign(df, weights="weight")
    >>> model = sk.glm(design, "approval ~ age + urban")
    >>> print(sk.regression_table(model, fmt="markdown"))
    Dependent variable: Approval of social credit systems
    ...
    | Intercept | 3.979*** |
    ...
    """
    table = RegressionTable(results, names=names, exponentiate=exponentiate, ci=ci,
                            digits=digits, conf_level=conf_level, title=title)
    if fmt is None:
        return table
    if fmt == "markdown":
        return table.to_markdown()
    if fmt == "latex":
        return table.to_latex()
    if fmt == "html":
        return table.to_html()
    raise ModelError(f"unknown table format {fmt!r}", hint="use 'markdown', 'latex' or 'html'")


def tidy_frame(results: Sequence[Any]) -> pd.DataFrame:
    """All models' tidy tables stacked, with a ``model`` column (1-based position)."""
    return pd.concat([r.tidy().assign(model=i + 1) for i, r in enumerate(results)],
                     ignore_index=True)
