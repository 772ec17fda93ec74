"""The weighted descriptive table of a paper ("Table 1"), as R's ``gtsummary::tbl_svysummary``.

``summary_table(design, ["approval", "gender", "age"], by="urban")`` lists, per variable, its
levels with the weighted percentage and 95 % CI (categorical variables, from
:func:`surveykit.proportion`) or the weighted mean, SD and 95 % CI (continuous variables, from
:func:`surveykit.mean`), the unweighted n and the missing count of every column (overall and
each group of ``by``), and a design-based test of the difference between the groups:
Rao–Scott F (:func:`surveykit.crosstab`, R ``svychisq``) for categorical variables, the
design-based t (:func:`surveykit.ttest`, R ``svyttest``) for two groups or Wald F
(:func:`surveykit.wald_test` on ``glm(var ~ C(by))``, R ``regTermTest``) for more.

The result exports to Markdown, LaTeX, HTML and Word (``.docx``, python-docx); tables made
from the synthetic replica carry its banner in every format.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from surveykit._text import terminal_safe
from surveykit.errors import EstimationError
from surveykit.labels import label_of, value_labels, variable_label
from surveykit.mi.dispatch import mi_aware
from surveykit.provenance import SYNTHETIC_BANNER

__all__ = ["SummaryTable", "regression_docx", "regression_frame", "summary_table"]

#: Variables with at most this many distinct values (and value labels or integer codes) are
#: summarised as categorical unless ``types`` says otherwise.
MAX_CATEGORIES = 10


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:] if text[:1].islower() else text


def _kind(design: Any, var: str, given: str | None) -> str:
    if given is not None:
        if given not in ("categorical", "continuous"):
            raise EstimationError("types: use 'categorical' or 'continuous'", column=var,
                                  values=[given])
        return given
    col = design.data[var]
    if not pd.api.types.is_numeric_dtype(col.dtype) or value_labels(design, var):
        return "categorical"
    vals = pd.unique(col.dropna())
    if len(vals) <= MAX_CATEGORIES and np.all(np.mod(vals.astype(float), 1) == 0):
        return "categorical"
    return "continuous"


def _pct(x: float, digits: int) -> str:
    return "–" if not np.isfinite(x) else f"{100 * x:.{digits}f}"


def _num(x: float, digits: int) -> str:
    return "–" if not np.isfinite(x) else f"{x:,.{digits}f}"


def _p(p: float) -> str:
    if not np.isfinite(p):
        return "–"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


@dataclass
class SummaryTable:
    """A weighted descriptive table. ``cells`` is tidy (one row per variable x level x column,
    the numbers behind every cell); ``tests`` one row per variable; :meth:`to_frame` the table
    as displayed."""

    cells: pd.DataFrame
    tests: pd.DataFrame
    columns: list[str]
    column_n: dict[str, int]
    by: str | None
    by_label: str | None
    synthetic: bool = False
    digits: int = 1
    notes: list[str] = field(default_factory=list)

    # -- the displayed table ------------------------------------------------------------------
    def to_frame(self) -> pd.DataFrame:
        """The table as shown: a ``Characteristic`` column, one column per overall/group
        (header with its unweighted N) and, with ``by``, a ``p-value`` column."""
        heads = [f"{c} (N = {self.column_n[c]:,})" for c in self.columns]
        rows: list[dict[str, str]] = []
        tests = self.tests.set_index("variable") if len(self.tests) else None
        for var, sub in self.cells.groupby("variable", sort=False):
            kind = sub["kind"].iloc[0]
            first = {"Characteristic": str(sub["variable_label"].iloc[0])}
            unit = ", % (95 % CI)" if kind == "categorical" else ", mean (SD) [95 % CI]"
            first["Characteristic"] += unit
            for h in heads:
                first[h] = ""
            if self.by is not None:
                first["p-value"] = ""
                if tests is not None and var in tests.index:
                    t = tests.loc[var]
                    first["p-value"] = f"{_p(float(t['p_value']))}{t['mark']}"
            rows.append(first)
            if kind == "categorical":
                for level_label, lev in sub.groupby("level_label", sort=False):
                    row = {"Characteristic": f"    {_capital(str(level_label))}"}
                    for c, h in zip(self.columns, heads, strict=True):
                        r = lev[lev["column"] == c]
                        row[h] = "" if r.empty else (
                            f"{_pct(r['estimate'].item(), self.digits)} "
                            f"({_pct(r['ci_low'].item(), self.digits)}–"
                            f"{_pct(r['ci_high'].item(), self.digits)})")
                    if self.by is not None:
                        row["p-value"] = ""
                    rows.append(row)
            else:
                row = {"Characteristic": "    Mean (SD) [95 % CI]"}
                for c, h in zip(self.columns, heads, strict=True):
                    r = sub[sub["column"] == c]
                    row[h] = "" if r.empty else (
                        f"{_num(r['estimate'].item(), self.digits)} "
                        f"({_num(r['sd'].item(), self.digits)}) "
                        f"[{_num(r['ci_low'].item(), self.digits)}–"
                        f"{_num(r['ci_high'].item(), self.digits)}]")
                if self.by is not None:
                    row["p-value"] = ""
                rows.append(row)
            for what, col in (("n (unweighted)", "n_unweighted"), ("Missing", "n_missing")):
                counts = sub.drop_duplicates("column").set_index("column")[col]
                if what == "Missing" and not counts.any():
                    continue
                row = {"Characteristic": f"    {what}"}
                for c, h in zip(self.columns, heads, strict=True):
                    row[h] = f"{int(counts[c]):,}" if c in counts.index else ""
                if self.by is not None:
                    row["p-value"] = ""
                rows.append(row)
        return pd.DataFrame(rows)

    def footnote(self) -> str:
        """The table's note: what the cells are, which tests, the banner for the replica."""
        parts = ["Weighted percentages with 95 % CIs (logit intervals, R svyciprop) and weighted "
                 "means with SD and 95 % CIs; n = unweighted respondents; missing values are "
                 "excluded and counted."]
        if self.by is not None and len(self.tests):
            marks = dict(zip(self.tests["mark"], self.tests["test"], strict=True))
            parts.append("Tests of no difference between the groups of "
                         f"{self.by_label}: " + "; ".join(f"{m} {t}" for m, t in marks.items())
                         + ".")
        parts += self.notes
        if self.synthetic:
            parts.append(f"{SYNTHETIC_BANNER}: not findings about China.")
        return " ".join(parts)

    # -- exports -----------------------------------------------------------------------------
    def to_markdown(self) -> str:
        """A pipe table with the note (and banner) below."""
        frame = self.to_frame()
        out = []
        if self.synthetic:
            out += [f"> **{SYNTHETIC_BANNER}**", ""]
        head = list(frame.columns)
        out.append("| " + " | ".join(head) + " |")
        out.append("|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|")
        for rec in frame.itertuples(index=False):
            cells = [str(v).replace("|", "\\|") for v in rec]
            cells[0] = cells[0].replace("    ", "&emsp;", 1) if cells[0].startswith("    ") \
                else f"**{cells[0]}**"
            out.append("| " + " | ".join(cells) + " |")
        out += ["", self.footnote()]
        return "\n".join(out) + "\n"

    def to_latex(self) -> str:
        """A ``tabular`` (booktabs-free, plain LaTeX) with the note as its last row."""
        from surveykit.replication.writers import tex_escape

        frame = self.to_frame()
        ncol = len(frame.columns)
        lines = [r"\begin{tabular}{l" + "r" * (ncol - 1) + "}", r"\hline",
                 " & ".join(tex_escape(c) for c in frame.columns) + r" \\", r"\hline"]
        for rec in frame.itertuples(index=False):
            cells = [tex_escape(v) for v in rec]
            cells[0] = (r"\quad " + cells[0].strip()) if str(rec[0]).startswith("    ") \
                else r"\textbf{" + cells[0] + "}"
            lines.append(" & ".join(cells) + r" \\")
        lines += [r"\hline", r"\multicolumn{" + str(ncol) + r"}{p{0.95\linewidth}}{\footnotesize "
                  + tex_escape(self.footnote()) + "}", r"\end{tabular}"]
        return "\n".join(lines) + "\n"

    def to_html(self) -> str:
        """A self-contained ``<table>`` with caption banner and note (no external CSS)."""
        frame = self.to_frame()
        parts = ['<table class="surveykit-summary" style="border-collapse:collapse">']
        if self.synthetic:
            parts.append('<caption style="color:#B22222;font-weight:bold">'
                         f"{html.escape(SYNTHETIC_BANNER)}</caption>")
        parts.append("<thead><tr>" + "".join(
            f'<th style="text-align:{"left" if i == 0 else "right"};border-bottom:1px solid">'
            f"{html.escape(str(c))}</th>" for i, c in enumerate(frame.columns)) + "</tr></thead>")
        parts.append("<tbody>")
        for rec in frame.itertuples(index=False):
            first = str(rec[0])
            label = (f'<td style="padding-left:1.5em">{html.escape(first.strip())}</td>'
                     if first.startswith("    ") else f"<td><b>{html.escape(first)}</b></td>")
            parts.append("<tr>" + label + "".join(
                f'<td style="text-align:right">{html.escape(str(v))}</td>' for v in rec[1:])
                + "</tr>")
        parts.append("</tbody>")
        parts.append(f'<tfoot><tr><td colspan="{len(frame.columns)}" style="font-size:smaller;'
                     f'border-top:1px solid">{html.escape(self.footnote())}</td></tr></tfoot>')
        parts.append("</table>")
        return "\n".join(parts) + "\n"

    def _repr_html_(self) -> str:
        return self.to_html()

    def __repr__(self) -> str:
        frame = self.to_frame()
        shown = frame.head(16).to_string(index=False, max_colwidth=40)
        more = f"\n... {len(frame) - 16} more rows" if len(frame) > 16 else ""
        banner = f"{SYNTHETIC_BANNER}\n" if self.synthetic else ""
        return terminal_safe(
            f"<SummaryTable: {len(self.tests) or len(set(self.cells['variable']))} "
            f"variable(s)>\n{banner}{shown}{more}")

    def to_docx(self, path: str | Path, *, style: str = "apa", title: str | None = None
                ) -> Path:
        """Write the table to a Word document. ``style="apa"`` (default): the three-line
        journal table of :mod:`surveykit.word` (columns sized to content, landscape when
        wide, header repeated on every page, decimal-aligned numbers, note and source line);
        ``style="grid"``: a plain full grid."""
        from surveykit.word import WordTable, write_docx

        frame = self.to_frame()
        first = frame.iloc[:, 0].astype(str)
        heading = [not v.startswith("    ") for v in first]
        table = WordTable(
            header=[str(c) for c in frame.columns],
            rows=[[v.strip() if j == 0 else str(v) for j, v in enumerate(rec)]
                  for rec in frame.itertuples(index=False)],
            kinds=["heading" if h else "" for h in heading], indent=[not h for h in heading],
            title=title, note=self.footnote(),
            source=f"Source: {SYNTHETIC_BANNER}." if self.synthetic else None,
            synthetic=self.synthetic)
        return write_docx(table, path, style=style)


# ---------------------------------------------------------------------------------------------
# building the table
# ---------------------------------------------------------------------------------------------


def _weighted_sd(design: Any, var: str, mask: np.ndarray) -> float:
    """Weighted population SD of ``var`` among ``mask`` (R ``sqrt(svyvar(...))`` up to the
    n/(n-1) factor R applies)."""
    x = pd.to_numeric(design.data[var], errors="coerce").to_numpy(dtype=float)
    w = np.asarray(design.weights, dtype=float)
    ok = mask & np.isfinite(x) & (w > 0)
    if ok.sum() < 2:
        return float("nan")
    xw, ww = x[ok], w[ok]
    m = np.sum(ww * xw) / ww.sum()
    n = ok.sum()
    return float(np.sqrt(np.sum(ww * (xw - m) ** 2) / ww.sum() * n / (n - 1)))


@mi_aware
def summary_table(design: Any, variables: str | Sequence[str], by: str | None = None, *,
                  overall: bool = True, types: dict[str, str] | None = None,
                  digits: int = 1, tests: bool = True, na: str = "per_variable"
                  ) -> SummaryTable:
    """The weighted descriptive table of ``variables`` (R ``tbl_svysummary``); see the module
    docstring. ``types`` forces a variable to "categorical" or "continuous" (default: labelled
    or integer-coded variables with at most 10 values are categorical); ``overall`` adds the
    all-respondents column when ``by`` is given. ``na``: the missing-value rule of every
    estimator; "per_variable" (default, as ``tbl_svysummary``) summarises each variable on its
    own respondents, "listwise" keeps only respondents with a value of every variable (the
    others are excluded as a domain; the column Ns count the respondents kept).

    Parameters
    ----------
    design : SurveyDesign or ReplicateDesign
        The survey design.
    variables : str or sequence of str
        The variables to summarise.
    by : str, optional
        Grouping column: one column per group, with tests.
    overall : bool
        Add the all-respondents column when ``by`` is given.
    types : dict, optional
        ``{variable: "categorical" or "continuous"}``.
    digits : int
        Decimal places.
    tests : bool
        Add design-based tests of difference between the groups.
    na : {"per_variable", "listwise"}
        Missing-value rule (see above).

    Returns
    -------
    SummaryTable

    Examples
    --------
    >>> df = sk.load_replica()
    >>> design = sk.SurveyDesign(df, weights="weight")
    >>> table = sk.summary_table(design, ["age", "urban"], by="gender")
    >>> table.to_frame()["Characteristic"].iloc[0]
    'Age in years, mean (SD) [95 % CI]'
    """
    from surveykit.estimation import mean, proportion
    from surveykit.estimation.descriptive import check_na

    names = [variables] if isinstance(variables, str) else list(variables)
    if not names:
        raise EstimationError("summary_table needs at least one variable")
    for v in [*names, *([by] if by else [])]:
        if v not in design.data.columns:
            raise EstimationError("variable not found in the design's data",
                                  file=design.source, column=v)
    if by in names:
        raise EstimationError("the by variable cannot also be a row variable", column=by)
    if check_na(na) == "listwise":
        design = design.subset(design.data[names].notna().all(axis=1).to_numpy())
    types = dict(types or {})
    by_labels = value_labels(design, by) if by else {}
    columns: list[str] = []
    column_n: dict[str, int] = {}
    dom = np.asarray(design.domain, bool) & (np.asarray(design.weights) > 0)
    group_masks: list[tuple[str, Any, np.ndarray]] = []
    if by is None or overall:
        group_masks.append(("Overall", None, dom))
    n_missing_by = 0
    if by is not None:
        g = design.data[by]
        n_missing_by = int((dom & g.isna().to_numpy()).sum())
        for code in sorted(pd.unique(g[dom & g.notna().to_numpy()]),
                           key=lambda v: (str(type(v)), v)):
            group_masks.append((_capital(label_of(by_labels, code)), code,
                                dom & g.eq(code).fillna(False).to_numpy(dtype=bool)))
    for name, _, mask in group_masks:
        columns.append(name)
        column_n[name] = int(mask.sum())
    recs: list[dict[str, Any]] = []
    test_rows: list[dict[str, Any]] = []
    for var in names:
        kind = _kind(design, var, types.get(var))
        vlabel = variable_label(design, var)
        for col, code, mask in group_masks:
            sub = design if code is None and mask is dom else design.subset(mask)
            if kind == "categorical":
                res = proportion(sub, var)
                for r in res.itertuples(index=False):
                    recs.append({"variable": var, "variable_label": vlabel, "kind": kind,
                                 "level": r.level, "level_label": r.level_label,
                                 "column": col, "estimate": r.estimate,
                                 "std_error": r.std_error, "ci_low": r.ci_low,
                                 "ci_high": r.ci_high, "sd": np.nan,
                                 "n_unweighted": r.n_unweighted, "n_missing": r.n_missing})
            else:
                res = mean(sub, var)
                r = next(res.itertuples(index=False))
                recs.append({"variable": var, "variable_label": vlabel, "kind": kind,
                             "level": None, "level_label": None, "column": col,
                             "estimate": r.estimate, "std_error": r.std_error,
                             "ci_low": r.ci_low, "ci_high": r.ci_high,
                             "sd": _weighted_sd(design, var, mask),
                             "n_unweighted": r.n_unweighted, "n_missing": r.n_missing})
        if by is not None and tests and len(group_masks) - (1 if overall else 0) >= 2:
            test_rows.append(_test(design, var, by, kind))
    cells = pd.DataFrame(recs)
    tests_frame = pd.DataFrame(test_rows, columns=["variable", "test", "statistic", "df1",
                                                   "df2", "p_value", "mark"])
    if len(tests_frame):  # one footnote mark per kind of test
        kinds = list(dict.fromkeys(tests_frame["test"]))
        marks = {k: "†" * (i + 1) for i, k in enumerate(kinds)}
        tests_frame["mark"] = tests_frame["test"].map(marks)
    notes = []
    if n_missing_by:
        notes.append(f"{n_missing_by:,} respondent(s) with a missing {variable_label(design, by)}"
                     " are in the Overall column only.")
    return SummaryTable(cells=cells, tests=tests_frame, columns=columns, column_n=column_n,
                        by=by, by_label=variable_label(design, by) if by else None,
                        synthetic=bool(getattr(design, "is_synthetic", False)), digits=digits,
                        notes=notes)


def _test(design: Any, var: str, by: str, kind: str) -> dict[str, Any]:
    """Design-based test of no difference of ``var`` between the groups of ``by``."""
    from surveykit.estimation import crosstab

    if kind == "categorical":
        ct = crosstab(design, var, by)
        t = ct.test
        return {"variable": var, "test": "Rao–Scott F (design-based chi-square)",
                "statistic": t.statistic, "df1": t.df, "df2": t.ddf,
                "p_value": t.p_value, "mark": ""}
    groups = pd.unique(design.data.loc[np.asarray(design.domain, bool), by].dropna())
    if len(groups) == 2:
        from surveykit.models.ttest import ttest

        t = ttest(design, var, by).iloc[0]
        return {"variable": var, "test": "design-based t-test", "statistic": float(
            t["statistic"]), "df1": 1.0, "df2": float(t["df"]), "p_value": float(t["p_value"]),
            "mark": ""}
    from surveykit.models import glm
    from surveykit.models.wald import wald_test

    fit = glm(design, f"{var} ~ C({by})")
    w = wald_test(fit, f"C({by})").iloc[0]
    return {"variable": var, "test": "design-based Wald F", "statistic": float(w["statistic"]),
            "df1": float(w["df"]), "df2": float(w["ddf"]), "p_value": float(w["p_value"]),
            "mark": ""}


# ---------------------------------------------------------------------------------------------
# model tables to Word
# ---------------------------------------------------------------------------------------------


def regression_frame(results: Sequence[Any], names: Sequence[str] | None = None,
                     exponentiate: bool | None = None, digits: int = 3, *,
                     ci: bool = False) -> pd.DataFrame:
    """The publication table of one or several models as a frame: the rows of
    :class:`surveykit.models.tables.RegressionTable` (factor headings with their levels and
    reference rows, estimates with stars and the SE -- or ``ci=True`` the CI -- on the next
    row, the cut-points section, N and excluded N)."""
    from surveykit.models.tables import RegressionTable

    return RegressionTable(results, names=names, exponentiate=exponentiate, digits=digits,
                           ci=ci).to_frame()


def regression_docx(results: Any, path: str | Path, *, names: Sequence[str] | None = None,
                    exponentiate: bool | None = None, digits: int = 3,
                    title: str | None = None, ci: bool = False, style: str = "apa") -> Path:
    """Write the publication table of one or several models to a Word file: the journal
    three-line table (``style="apa"``) with the SE (or ``ci=True`` the CI) under the
    estimate in the same cell; same as ``sk.regression_table(results).to_docx(path)``."""
    from surveykit.models.tables import RegressionTable

    return RegressionTable(results, names=names, exponentiate=exponentiate, digits=digits,
                           ci=ci, title=title).to_docx(path, style=style)

