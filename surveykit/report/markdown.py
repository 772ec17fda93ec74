"""The Markdown replication report, and the display helpers shared with the HTML report.

Both renderers turn a :class:`~surveykit.replication.result.ReplicationResult` into the same
sections (see :data:`SECTIONS`) from the same display rows, so the two files always agree.
Nothing here reads the clock or the environment: the same result gives the same text.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from surveykit.replication.result import SYNTHETIC_BANNER

#: (anchor id, heading) of the report's sections, in order.
SECTIONS: tuple[tuple[str, str], ...] = (
    ("summary", "Summary"),
    ("tables", "Published tables: published vs computed"),
    ("figures", "Figures"),
    ("models", "Models"),
    ("weighting", "Weighting diagnostics"),
    ("harmonisation", "Harmonisation"),
    ("provenance", "Provenance"),
)
#: The section ``surveykit replicate --sensitivity`` adds after the weighting diagnostics.
SENSITIVITY_SECTION: tuple[str, str] = ("sensitivity", "Weighting sensitivity")


def report_sections(result: Any) -> list[tuple[str, str]]:
    """(anchor id, heading) of the sections of this result's report, in order: ``SECTIONS``
    plus the weighting-sensitivity section when the result carries one (the contents list
    names exactly the sections that are there)."""
    sections = list(SECTIONS)
    if getattr(result, "sensitivity", None) is not None:
        sections.insert(sections.index(("weighting", "Weighting diagnostics")) + 1,
                        SENSITIVITY_SECTION)
    return sections

REPORT_TITLE = "surveykit replication report"
REPLICA_EXPLANATION = (
    "The input is the bundled synthetic replica, reconstructed from the published tables. "
    "It reproduces the published cells by construction; its results are not findings about "
    "China."
)
#: Status of a comparison cell -> (Markdown marker, text).
STATUS: dict[str, tuple[str, str]] = {
    "pass": ("✓", "within rounding"),
    "fail": ("✗ **OUT**", "out of tolerance"),
    "na": ("–", "not replicable"),
}
COMPARISON_HEADER: tuple[str, ...] = (
    "Row", "Group", "n (unweighted)", "Published", "Computed", "Difference", "Tolerance", "95 % CI",
    "Status",
)
PROVENANCE_KEYS: tuple[tuple[str, str], ...] = (
    ("package_version", "surveykit version"),
    ("input_file", "Input file"),
    ("input_sha256", "Input SHA-256"),
    ("mapping", "Harmonisation mapping"),
    ("codebook_version", "Codebook version"),
    ("seed", "Random seed"),
    ("date", "Date"),
    ("is_replica", "Synthetic replica"),
)


# --------------------------------------------------------------------------------------------
# shared display helpers
# --------------------------------------------------------------------------------------------


def _missing(value: Any) -> bool:
    if value is None or value is pd.NA:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def fmt_number(value: Any, decimals: int) -> str:
    """Fixed-point text, "–" for a missing value."""
    if _missing(value):
        return "–"
    try:
        x = float(value)
    except (TypeError, ValueError):
        return str(value)
    if math.isinf(x):
        return "∞" if x > 0 else "-∞"
    text = f"{x:.{max(decimals, 0)}f}"
    return "0" + text[2:] if text.startswith("-0") and float(text) == 0 else text


def fmt_int(value: Any) -> str:
    if _missing(value):
        return "–"
    return f"{round(float(value)):,}"


def cell_decimals(tolerance: Any, default: int) -> int:
    """Published decimals of a cell, read back from its rounding tolerance 0.5 * 10^-d."""
    if _missing(tolerance) or float(tolerance) <= 0:
        return default
    return max(0, round(-math.log10(2.0 * float(tolerance))))


def cell_status(passed: Any) -> str:
    """"pass", "fail" or "na" (not replicable / not comparable)."""
    if _missing(passed):
        return "na"
    return "pass" if bool(passed) else "fail"


def fmt_value(value: Any) -> str:
    """Text of a provenance / summary value."""
    if _missing(value):
        return "–"
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, float | np.floating):
        return f"{float(value):,.6g}"
    if isinstance(value, Mapping):
        return ", ".join(f"{k}: {fmt_value(v)}" for k, v in value.items())
    return str(value)


@dataclass(frozen=True)
class ComparisonRow:
    """One published cell, formatted for display."""

    row: str
    group: str
    n: str
    published: str
    computed: str
    difference: str
    tolerance: str
    ci: str
    status: str  # "pass" | "fail" | "na"


def _label(row: pd.Series, label: str, key: str) -> str:
    value = row.get(label)
    return str(row.get(key)) if _missing(value) or value == "" else str(value)


def comparison_rows(table: pd.DataFrame, meta: Mapping[str, Any] | None = None
                    ) -> list[ComparisonRow]:
    """Display rows of a comparison frame, in its (published) order."""
    default = int((meta or {}).get("decimals") or 2)
    out = []
    for _, r in table.iterrows():
        d = cell_decimals(r.get("tolerance"), default)
        ci = "–"
        if not (_missing(r.get("ci_low")) or _missing(r.get("ci_high"))):
            ci = f"{fmt_number(r['ci_low'], d + 1)} – {fmt_number(r['ci_high'], d + 1)}"
        tol = r.get("tolerance")
        out.append(ComparisonRow(
            row=_label(r, "row_label", "row_id"),
            group=_label(r, "group_label", "group_id"),
            n=fmt_int(r.get("n_unweighted")),
            published=fmt_number(r.get("published"), d),
            computed=fmt_number(r.get("computed"), d + 1),
            difference=fmt_number(r.get("difference"), d + 1),
            tolerance="–" if _missing(tol) else f"±{fmt_number(tol, d + 1)}",
            ci=ci,
            status=cell_status(r.get("passed")),
        ))
    return out


def table_summary(table: pd.DataFrame) -> tuple[int, int, int]:
    """(passed, failed, not replicable) cell counts of one comparison frame."""
    status = [cell_status(p) for p in table["passed"]] if "passed" in table.columns else []
    return status.count("pass"), status.count("fail"), status.count("na")


def provenance_items(result: Any) -> list[tuple[str, str]]:
    """(label, text) pairs of the provenance, known keys first then any others, sorted."""
    prov = dict(getattr(result, "provenance", {}) or {})
    prov.setdefault("is_replica", bool(getattr(result, "is_replica", False)))
    items = [(label, fmt_value(prov.get(key))) for key, label in PROVENANCE_KEYS]
    known = {k for k, _ in PROVENANCE_KEYS}
    items += [(str(k), fmt_value(prov[k])) for k in sorted(prov, key=str) if k not in known]
    return items


def model_table(model: Any, exponentiate: bool) -> tuple[list[str], list[list[str]]]:
    """(header, rows) of a model's table: term (labelled from the codebooks), estimate, SE,
    95 % CI, p; the reference row of each factor ("Age group: 14–30 (ref.)", em-dash cells)
    and the ordinal cut-points under their own heading, on the link scale, never
    exponentiated (:func:`surveykit.models.tables.table_rows`)."""
    from surveykit.models.tables import EM_DASH, cutpoint_heading, estimate_heading, table_rows
    from surveykit.report.figures import term_labels

    if hasattr(model, "frame") and hasattr(model, "default_exponentiate"):
        tidy = table_rows(model, exponentiate)
    else:
        tidy = model.tidy(exponentiate=exponentiate)
    term = "term" if "term" in tidy.columns else tidy.columns[0]
    labels = (tidy["label"].astype(str).tolist() if "label" in tidy.columns  # from the data
              else term_labels([str(t) for t in tidy[term]]))
    kinds = (tidy["kind"].tolist() if "kind" in tidy.columns
             else ["cutpoint" if "|" in str(t) else "coef" for t in tidy[term]])
    header = ["Term", estimate_heading(model, exponentiate, plain="b"), "SE", "95 % CI", "p"]
    rows: list[list[str]] = []
    cut_title = False
    for label, kind, (_, r) in zip(labels, kinds, tidy.iterrows(), strict=True):
        if kind == "reference":
            rows.append([label, EM_DASH, "", "", ""])
            continue
        if kind == "cutpoint" and not cut_title:
            cut_title = True
            rows.append([f"{cutpoint_heading(model)}, not exponentiated", "", "", "", ""])
        ci = "–"
        if "ci_low" in tidy.columns and not _missing(r["ci_low"]):
            ci = f"{fmt_number(r['ci_low'], 3)} – {fmt_number(r['ci_high'], 3)}"
        p = r.get("p_value")
        p_text = "–" if _missing(p) else ("<0.001" if float(p) < 0.001 else f"{float(p):.3f}")
        rows.append([label, fmt_number(r["estimate"], 3),
                     fmt_number(r.get("std_error"), 3), ci, p_text])
    return header, rows


def frame_table(frame: pd.DataFrame | pd.Series | None) -> tuple[list[str], list[list[str]]]:
    """(header, rows) of a small diagnostic frame (a Series becomes statistic/value rows)."""
    if frame is None:
        return [], []
    if isinstance(frame, pd.Series):
        return ["Statistic", "Value"], [[str(k), fmt_value(v)] for k, v in frame.items()]
    header = [str(c) for c in frame.columns]
    rows = [[fmt_value(v) for v in row] for row in frame.itertuples(index=False, name=None)]
    return header, rows


#: statistic of :func:`surveykit.weight_summary` -> (display name, format)
WEIGHT_STATS: dict[str, tuple[str, str]] = {
    "n": ("Respondents", "{:,.0f}"), "sum": ("Sum of weights", "{:,.1f}"),
    "min": ("Smallest weight", "{:.3f}"), "max": ("Largest weight", "{:.3f}"),
    "mean": ("Mean weight", "{:.3f}"), "cv": ("Coefficient of variation", "{:.3f}"),
    "max_min_ratio": ("Largest / smallest", "{:.1f}"),
    "deff_kish": ("Kish design effect (1 + CV²)", "{:.3f}"),
    "n_effective": ("Effective sample size", "{:,.0f}"),
}


def weight_summary_table(summary: pd.DataFrame | pd.Series | None
                         ) -> tuple[list[str], list[list[str]]]:
    """(header, rows) of the weight summary with readable names and fixed decimals."""
    if summary is None or len(summary) == 0:
        return [], []
    if isinstance(summary, pd.DataFrame) and {"statistic", "value"} <= set(summary.columns):
        items = list(zip(summary["statistic"], summary["value"], strict=True))
    elif isinstance(summary, pd.Series):
        items = list(summary.items())
    else:
        return frame_table(summary)
    rows = []
    for key, value in items:
        name, fmt = WEIGHT_STATS.get(str(key), (str(key), "{:,.4g}"))
        rows.append([name, "–" if _missing(value) else fmt.format(float(value))])
    return ["Statistic", "Value"], rows


def margins_table(margins: pd.DataFrame | None) -> tuple[list[str], list[list[str]]]:
    """(header, rows) of the calibration margins in percent with one decimal: variable
    (its label), category (value label), n, n missing, sample %, weighted %, target %,
    weighted − target in percentage points (0.00 when calibration met the target)."""
    if margins is None or len(margins) == 0:
        return [], []
    sample = "unweighted_share" if "unweighted_share" in margins.columns else "sample_share"
    header = ["Variable", "Category", "n", "n missing", "Sample %", "Weighted %", "Target %",
              "Weighted − target (pp)"]
    rows = []
    for r in margins.to_dict("records"):
        label = r.get("label")
        cat = str(label) if not _missing(label) and label != "" else fmt_value(r.get("category"))
        diff = r.get("difference")
        if _missing(diff) and not (_missing(r.get("weighted_share"))
                                   or _missing(r.get("target_share"))):
            diff = float(r["weighted_share"]) - float(r["target_share"])
        name = r.get("variable_label")
        name = str(name) if not _missing(name) and name != "" else str(r.get("variable", ""))
        rows.append([name, cat, fmt_int(r.get("n_unweighted")),
                     fmt_int(r.get("n_missing")),
                     fmt_number(100 * float(r[sample]), 1) if not _missing(r.get(sample)) else "–",
                     fmt_number(100 * float(r["weighted_share"]), 1)
                     if not _missing(r.get("weighted_share")) else "–",
                     fmt_number(100 * float(r["target_share"]), 1)
                     if not _missing(r.get("target_share")) else "–",
                     fmt_number(100 * float(diff), 2) if not _missing(diff) else "–"])
    return header, rows


def model_description(model: Any, meta: Mapping[str, Any]) -> str:
    """One line: outcome, family, N and the model's own note."""
    parts = []
    if meta.get("outcome"):
        parts.append(f"outcome: {meta['outcome']}")
    family = meta.get("family") or getattr(model, "family", None)
    if family:
        parts.append(f"family: {family}")
    nobs = getattr(model, "nobs", None)
    if nobs is not None:
        n_missing = getattr(model, "n_missing", None)
        parts.append(f"N = {fmt_int(nobs)}" + (
            f" ({fmt_int(n_missing)} excluded for missing model variables)"
            if n_missing is not None else ""))
    text = "; ".join(parts)
    if meta.get("note"):
        text += f". {str(meta['note']).rstrip('. ')}"
    return text


# --------------------------------------------------------------------------------------------
# Markdown
# --------------------------------------------------------------------------------------------


def md_escape(text: Any) -> str:
    """Escape the characters that would break a Markdown table cell or start emphasis."""
    s = str(text).replace("\\", "\\\\").replace("\n", " ")
    for ch in ("|", "*", "_", "`", "[", "]", "<", ">"):
        s = s.replace(ch, "\\" + ch)
    return s


def md_table(header: Sequence[str], rows: Sequence[Sequence[str]],
             right: Sequence[bool] | None = None) -> str:
    """A pipe table; ``right`` flags right-aligned (numeric) columns."""
    if not header:
        return "_(empty)_\n"
    right = right or [False] * len(header)
    lines = ["| " + " | ".join(md_escape(h) for h in header) + " |",
             "|" + "|".join("---:" if r else "---" for r in right) + "|"]
    lines += ["| " + " | ".join(cells) + " |" for cells in rows]
    return "\n".join(lines) + "\n"


def _md_comparison(rows: list[ComparisonRow]) -> str:
    body = []
    for r in rows:
        marker = STATUS[r.status][0]
        computed = f"**{r.computed}**" if r.status == "fail" else r.computed
        body.append([md_escape(r.row), md_escape(r.group), r.n, r.published, computed,
                     r.difference, r.tolerance, r.ci, marker])
    return md_table(COMPARISON_HEADER, body,
                    right=[False, False, True, True, True, True, True, True, False])


def render_markdown(result: Any, figures: Sequence[Any]) -> str:
    """The whole Markdown report. ``figures`` are the saved
    :class:`~surveykit.report.figures_report.ReportFigure` objects; images are referenced by their
    PNG path relative to the report (``figures/<stem>.png``)."""
    from surveykit.report.figures_report import model_measure, published_source

    def image(fig: Any) -> str:
        return f"![{md_escape(fig.title)}](figures/{fig.stem}.png)\n\n*{md_escape(fig.caption)}*\n"

    out: list[str] = [f"# {REPORT_TITLE}\n"]
    if getattr(result, "is_replica", False):
        out.append(f"> **⚠ {SYNTHETIC_BANNER}.** {REPLICA_EXPLANATION}\n")
    out.append("## Contents\n")
    out += [f"- [{heading}](#{anchor})" for anchor, heading in report_sections(result)]
    out.append("")

    out.append('<a id="summary"></a>\n\n## Summary\n')
    out.append(f"{md_escape(result.summary)}.\n")
    out.append("Cells out of tolerance are marked ✗ **OUT** with the computed value in bold; "
               "✓ = within rounding of the published value; – = not replicable.\n")

    out.append('<a id="tables"></a>\n\n## Published tables: published vs computed\n')
    for table_id, table in result.tables.items():
        meta = result.table_meta.get(table_id, {})
        title = md_escape(meta.get("title") or table_id)
        out.append(f'<a id="table-{table_id}"></a>\n\n### {title}\n')
        source = published_source(meta)
        passed, failed, na = table_summary(table)
        line = f"Table `{table_id}`: {passed} of {passed + failed} cells within rounding"
        if na:
            line += f", {na} not replicable"
        out.append(line + (f". Published source: {md_escape(source)}." if source else "."))
        if meta.get("note"):
            out.append(f"\n{md_escape(meta['note'])}")
        out.append("")
        out.append(_md_comparison(comparison_rows(table, meta)))

    out.append('<a id="figures"></a>\n\n## Figures\n')
    table_figs = [f for f in figures if f.section == "tables"]
    out += [image(f) for f in table_figs] or ["_No figures for these tables._\n"]

    out.append('<a id="models"></a>\n\n## Models\n')
    if not result.models:
        out.append("_No models were fitted._\n")
    for name, model in result.models.items():
        meta = result.model_meta.get(name, {})
        exponentiate, measure = model_measure(model, meta)
        out.append(f"### {md_escape(meta.get('title') or name)}\n")
        out.append(md_escape(model_description(model, meta))
                   + f". Estimates: {measure.lower()}s with 95 % CI.\n")
        header, rows = model_table(model, exponentiate)
        out.append(md_table(header, [[md_escape(c) for c in row] for row in rows],
                            right=[False, True, True, True, True]))
        fig = next((f for f in figures if f.section == "models" and f.key == name), None)
        out.append(image(fig) if fig else "_No forest plot: the model has no coefficients "
                   "besides intercepts/thresholds._\n")

    out.append('<a id="weighting"></a>\n\n## Weighting diagnostics\n')
    weighting = getattr(result, "weighting", {}) or {}
    header, rows = weight_summary_table(weighting.get("summary"))
    out.append("### Weight summary\n")
    out.append(md_table(header, [[md_escape(c) for c in r] for r in rows],
                        right=[False, True]) if header else "_No weight summary._\n")
    margins = weighting.get("margins")
    out.append("### Margins: sample, weighted and target shares\n")
    if margins is not None and len(margins):
        header, rows = margins_table(margins)
        out.append(md_table(header, [[md_escape(c) for c in r] for r in rows],
                            right=[False, False, True, True, True, True, True, True]))
    else:
        out.append("_No calibration margins (the weights were used as supplied)._\n")
    out += [image(f) for f in figures if f.section == "weighting"]
    if getattr(result, "sensitivity", None) is not None:  # surveykit replicate --sensitivity
        from surveykit._sensitivity import section_markdown

        out.append('<a id="sensitivity"></a>\n')
        out.append(section_markdown(result.sensitivity, "sensitivity/cells_by_scheme.png"))

    out.append('<a id="harmonisation"></a>\n\n## Harmonisation\n')
    report = getattr(result, "harmonisation", None)
    out.append(report.to_markdown() if report is not None
               else "_The input was already canonical: validated, nothing recoded._\n")

    out.append('<a id="provenance"></a>\n\n## Provenance\n')
    out.append(md_table(["Item", "Value"],
                        [[md_escape(k), md_escape(v)] for k, v in provenance_items(result)]))
    return "\n".join(out).rstrip("\n") + "\n"
