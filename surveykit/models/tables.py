"""Publication tables of survey models: estimates with stars, SEs in parentheses, N.

Stars as the papers print them: * p<0.05, ** p<0.01, *** p<0.001 (t tests with the model's
residual df). Logit models are shown as odds ratios and log-link models as incidence-rate
ratios by default (SE of the ratio by the delta method, exp(b) * se(b)); ordinal thresholds
are shown on the link scale.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from surveykit.display import estimate_heading, stars
from surveykit.errors import ModelError
from surveykit.provenance import SYNTHETIC_BANNER, is_synthetic


def _latex_escape(text: str) -> str:
    for a, b in (("&", r"\&"), ("%", r"\%"), ("_", r"\_"), ("#", r"\#"), ("$", r"\$")):
        text = text.replace(a, b)
    return text


def regression_table(results: Sequence[Any], fmt: str = "markdown",
                     exponentiate: bool | None = None, digits: int = 3,
                     names: Sequence[str] | None = None) -> str:
    """One column per model: estimate (or OR / IRR) with stars, SE in parentheses below; N
    (respondents used) and excluded-for-missing counts at the foot."""
    if fmt not in ("markdown", "latex"):
        raise ModelError(f"unknown table format {fmt!r}", hint="use 'markdown' or 'latex'")
    results = list(results)
    if not results:
        raise ModelError("regression_table needs at least one model result")
    names = list(names) if names is not None else [f"({i + 1})" for i in range(len(results))]
    terms: list[str] = []
    shown: dict[str, str] = {}  # term -> its label from the data ("Age group: 31–50")
    cells: list[dict[str, tuple[str, str]]] = []
    heads: list[str] = []
    for res, name in zip(results, names, strict=True):
        exp_ = res.default_exponentiate() if exponentiate is None else exponentiate
        t = res.tidy(exponentiate=exp_)
        heads.append(f"{name} {estimate_heading(res, exp_)}")
        col: dict[str, tuple[str, str]] = {}
        for row in t.itertuples(index=False):
            col[row.term] = (f"{row.estimate:.{digits}f}{stars(row.p_value)}",
                             f"({row.std_error:.{digits}f})")
            if row.term not in terms:
                terms.append(row.term)
                shown[row.term] = str(getattr(row, "label", row.term))
        cells.append(col)
    foot = [("N", [str(r.nobs) for r in results]),
            ("Excluded (missing)", [str(r.n_missing) for r in results])]
    if any("alpha" in r.extra for r in results):  # NB2 dispersion, with its design-based SE
        foot.append(("Dispersion alpha (SE)", [
            f"{r.extra['alpha']:.{digits}f} ({r.extra['alpha_se']:.{digits}f})"
            if "alpha" in r.extra else "" for r in results]))
    note = ("Survey-weighted estimates; design-based SEs in parentheses. "
            "* p<0.05, ** p<0.01, *** p<0.001.")
    synthetic = any(is_synthetic(r.design) for r in results)
    if synthetic:
        note += f" {SYNTHETIC_BANNER}: not findings about China."
    if fmt == "markdown":
        lines = ["| Term | " + " | ".join(heads) + " |",
                 "|---|" + "---:|" * len(results)]
        for term in terms:
            label = shown[term].replace("|", "\\|")  # ordinal thresholds "a|b" in a table
            lines.append(f"| {label} | " + " | ".join(c.get(term, ("", ""))[0] for c in cells)
                         + " |")
            lines.append("| | " + " | ".join(c.get(term, ("", ""))[1] for c in cells) + " |")
        for label, vals in foot:
            lines.append(f"| {label} | " + " | ".join(vals) + " |")
        return "\n".join(lines) + f"\n\n{note}\n"
    esc = _latex_escape
    lines = [r"\begin{tabular}{l" + "r" * len(results) + "}", r"\hline",
             "Term & " + " & ".join(esc(h) for h in heads) + r" \\", r"\hline"]
    for term in terms:
        lines.append(esc(shown[term]) + " & " + " & ".join(
            _star_tex(c.get(term, ("", ""))[0]) for c in cells) + r" \\")
        lines.append(" & " + " & ".join(c.get(term, ("", ""))[1] for c in cells) + r" \\")
    lines.append(r"\hline")
    for label, vals in foot:
        lines.append(f"{label} & " + " & ".join(vals) + r" \\")
    tex_note = ("Survey-weighted estimates; design-based SEs in parentheses. "
                "$^{*}$ p<0.05, $^{**}$ p<0.01, $^{***}$ p<0.001.")
    if synthetic:
        tex_note += f" {SYNTHETIC_BANNER}: not findings about China."
    lines += [r"\hline", r"\multicolumn{" + str(len(results) + 1) + r"}{l}{\footnotesize "
              + tex_note + "}", r"\end{tabular}"]
    return "\n".join(lines) + "\n"


def _star_tex(text: str) -> str:
    body = text.rstrip("*")
    n = len(text) - len(body)
    return body + (f"$^{{{'*' * n}}}$" if n else "")


def tidy_frame(results: Sequence[Any]) -> pd.DataFrame:
    """All models' tidy tables stacked, with a ``model`` column (1-based position)."""
    return pd.concat([r.tidy().assign(model=i + 1) for i, r in enumerate(results)],
                     ignore_index=True)
