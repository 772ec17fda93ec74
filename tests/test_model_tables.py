"""Model tables as journals print them (issue 20, items 2, 3, 7): reference rows, ordinal
cut-points in their own section (never exponentiated, never starred), CI option, dependent
variable line, N and excluded N -- in Markdown, LaTeX, HTML, Word, the notebook and the
report -- and the journal (APA) Word layout, checked in the document's XML."""

from __future__ import annotations

import re
import zipfile

import docx
import numpy as np
import pandas as pd
import pytest
from docx.oxml.ns import qn

import surveykit as sk
from surveykit.models.tables import RegressionTable, table_rows


@pytest.fixture(scope="module")
def replica() -> sk.SurveyDesign:
    return sk.SurveyDesign(sk.load_replica(), weights="weight")


@pytest.fixture(scope="module")
def ordfit(replica):
    return sk.ordinal(replica, "approval ~ C(age_group) + urban + C(education)")


def _age_labels(replica) -> dict[int, str]:
    return sk.labels.value_labels(replica, "age_group")


def test_tidy_marks_cutpoints_and_never_exponentiates_them(ordfit):
    raw = ordfit.tidy()
    ex = ordfit.tidy(exponentiate=True)
    assert list(raw["kind"]) == ["coef"] * ordfit.n_coef + ["cutpoint"] * ordfit.n_thresholds
    cut = ex["kind"] == "cutpoint"
    np.testing.assert_allclose(ex.loc[cut, "estimate"], raw.loc[cut, "estimate"], rtol=0)
    np.testing.assert_allclose(ex.loc[~cut, "estimate"], np.exp(raw.loc[~cut, "estimate"]))
    assert (raw.loc[cut, "estimate"] < 0).any()  # a negative cut-point stays negative


def test_table_rows_put_a_reference_row_before_each_factor(replica, ordfit):
    rows = table_rows(ordfit)
    ref = rows[rows["kind"] == "reference"]
    assert list(ref["factor"]) == ["Age group", "Education"]
    first_level = _age_labels(replica)[1]
    assert ref["level_text"].iloc[0] == f"{first_level} (ref.)"
    assert ref["label"].iloc[0] == f"Age group: {first_level} (ref.)"
    assert ref["estimate"].isna().all()
    i = ref.index[0]
    assert rows.loc[i + 1, "term"] == "C(age_group)[T.2]"
    assert list(rows["kind"].iloc[-ordfit.n_thresholds:]) == ["cutpoint"] * ordfit.n_thresholds


def test_markdown_reference_rows_cutpoint_section_dv_and_counts(replica, ordfit):
    md = ordfit.to_markdown()
    labels = _age_labels(replica)
    lines = md.splitlines()
    assert lines[0] == "Dependent variable: " + sk.labels.variable_label(replica, "approval")
    i = lines.index("| Age group | |")
    assert lines[i + 1] == f"| {labels[1]} (ref.) | — |"
    assert lines[i + 2].startswith(f"| {labels[2]} | ")
    # cut-points: after the coefficients, under their own heading, raw and without stars
    j = lines.index("| *Cut-points (logit scale)* | |")
    assert j > i
    t = ordfit.tidy(exponentiate=True)
    for r in t[t["kind"] == "cutpoint"].itertuples():
        shown = r.label.replace("|", "\\|")
        row = next(x for x in lines[j:] if x.startswith(f"| {shown} |"))
        assert row.endswith(f"| {r.estimate:.3f} |")  # no stars, link scale
    assert f"| N | {ordfit.nobs:,} |" in md
    assert f"| Excluded (missing) | {ordfit.n_missing:,} |" in md and ordfit.n_missing > 0
    # coefficient cells: OR with stars, SE in parentheses on the next line
    c = t[t["term"] == "urban"].iloc[0]
    k = next(n for n, x in enumerate(lines) if x.startswith("| Urban residence"))
    assert lines[k].endswith(f"| {c.estimate:.3f}{sk.models.results.stars(c.p_value)} |")
    assert lines[k + 1] == f"| | ({c.std_error:.3f}) |"


def test_ci_option_replaces_the_se_line(ordfit):
    md = ordfit.to_markdown(ci=True)
    t = ordfit.tidy(exponentiate=True)
    c = t[t["term"] == "urban"].iloc[0]
    assert f"| | [{c.ci_low:.3f}, {c.ci_high:.3f}] |" in md
    assert f"({c.std_error:.3f})" not in md
    assert "95 % confidence intervals in brackets" in md


def test_latex_and_html_follow_the_same_rules(replica, ordfit):
    labels = _age_labels(replica)
    tex = ordfit.to_latex()
    assert rf"\quad {labels[1]} (ref.) & — \\" in tex
    assert r"\textit{Cut-points (logit scale)}" in tex
    assert "Dependent variable:" in tex and f"Excluded (missing) & {ordfit.n_missing:,}" in tex
    cut = tex.split("Cut-points")[1]
    assert "$^{*" not in cut.split(r"\hline")[0]  # no stars in the cut-point section
    h = sk.regression_table(ordfit).to_html()
    assert f"{labels[1]} (ref.)" in h and "<i>Cut-points (logit scale)</i>" in h
    assert sk.SYNTHETIC_BANNER in h


def test_notebook_and_report_tables(replica, ordfit):
    from surveykit.report.markdown import model_description, model_table

    labels = _age_labels(replica)
    html = ordfit._repr_html_()
    assert f"Age group: {labels[1]} (ref.)" in html
    assert "Cut-points (logit scale), not exponentiated" in html
    assert "Dependent variable: " in html
    _, rows = model_table(ordfit, True)
    names = [r[0] for r in rows]
    ref = names.index(f"Age group: {labels[1]} (ref.)")
    assert rows[ref][1] == "—" and names[ref + 1] == f"Age group: {labels[2]}"
    cut = names.index("Cut-points (logit scale), not exponentiated")
    raw = ordfit.tidy()
    assert rows[cut + 1][1] == f"{raw['estimate'].iloc[ordfit.n_coef]:.3f}"
    text = model_description(ordfit, {})
    assert f"N = {ordfit.nobs:,} ({ordfit.n_missing:,} excluded for missing" in text


def test_multi_model_table_and_public_name(replica, ordfit):
    logit = sk.glm(replica, "urban ~ C(age_group) + C(gender)", family="binomial")
    tab = sk.regression_table([ordfit, logit], names=["Approval", "Urban"])
    assert isinstance(tab, RegressionTable)
    frame = tab.to_frame()
    assert list(frame.columns) == ["Term", "Approval OR", "Urban OR"]
    sex = sk.labels.value_labels(replica, "gender")
    ref = min(sex)
    assert f"    {sex[ref]} (ref.)" in frame["Term"].tolist()
    row = frame[frame["Term"] == f"    {sex[ref]} (ref.)"].iloc[0]
    assert row.tolist()[1:] == ["", "—"]  # only the second model has gender
    row = frame[frame["Term"] == f"    {_age_labels(replica)[1]} (ref.)"].iloc[0]
    assert row.tolist()[1:] == ["—", "—"]
    assert tab.dv_line().startswith("Dependent variables: Approval")
    assert frame["Term"].tolist()[-2:] == ["N", "Excluded (missing)"]


def _xml(path) -> str:
    with zipfile.ZipFile(path) as z:
        return z.read("word/document.xml").decode("utf-8")


def test_apa_word_table_xml(ordfit, tmp_path):
    path = ordfit.to_docx(tmp_path / "m.docx", title="Table 2")
    d = docx.Document(str(path))
    (table,) = d.tables
    tbl_pr = table._tbl.tblPr
    borders = tbl_pr.find(qn("w:tblBorders"))
    val = {el.tag.split("}")[1]: el.get(qn("w:val")) for el in borders}
    assert val == {"top": "single", "left": "nil", "bottom": "single", "right": "nil",
                   "insideH": "nil", "insideV": "nil"}
    assert table.style is None or table.style.name != "Table Grid"
    head = table.rows[0]._tr
    assert head.trPr.find(qn("w:tblHeader")) is not None
    assert all(r._tr.trPr.find(qn("w:tblHeader")) is None for r in table.rows[1:])
    for cell in table.rows[0].cells:  # the header's bottom rule
        b = cell._tc.tcPr.find(qn("w:tcBorders")).find(qn("w:bottom"))
        assert b.get(qn("w:val")) == "single"
    assert tbl_pr.find(qn("w:tblLayout")).get(qn("w:type")) == "fixed"
    widths = [int(c.get(qn("w:w"))) for c in table._tbl.tblGrid.findall(qn("w:gridCol"))]
    assert widths[0] > 2 * widths[1]  # the label column is the wide one
    assert sum(widths) <= 6.5 * 1440  # fits a portrait Letter page
    assert d.sections[0].orientation == 0
    # numbers right-aligned with indents that line the decimal points up; no tab characters
    xml = _xml(path)
    assert "<w:tab/>" not in xml
    cells = [c for r in table.rows[1:] for c in r.cells[1:]
             if c.text and c._tc is not r.cells[0]._tc]  # not the merged heading rows
    assert all(p.alignment == 2 for c in cells for p in c.paragraphs)  # RIGHT
    texts = "\n".join(p.text for p in d.paragraphs)
    assert "Table 2" in texts and "Dependent variable:" in texts
    assert "Note." in texts and sk.SYNTHETIC_BANNER in texts and "Source:" in texts


def test_decimal_points_line_up(ordfit, tmp_path):
    """Right indent + width after the point is the same for every number line of a column."""
    from surveykit.word import _split_decimal, _text_pt

    path = ordfit.to_docx(tmp_path / "m.docx")
    (table,) = docx.Document(str(path)).tables
    ends = []
    for row in table.rows[1:]:
        cell = row.cells[1]
        for p in cell.paragraphs:
            rest = _split_decimal(p.text)[1]
            if rest:
                ends.append(round(p.paragraph_format.right_indent.pt + _text_pt(rest), 1))
    assert len(ends) > 10 and len(set(ends)) == 1


def test_wide_word_table_turns_landscape(tmp_path):
    rng = np.random.default_rng(4)
    n = 400
    df = pd.DataFrame({f"x{i}": rng.normal(size=n) for i in range(3)})
    df["y"] = (df.sum(axis=1) + rng.normal(size=n) > 0).astype(int)
    df["w"] = rng.uniform(1, 2, n)
    d = sk.SurveyDesign(df, weights="w")
    fits = [sk.glm(d, "y ~ x0 + x1 + x2", family="binomial") for _ in range(9)]
    path = sk.regression_table(fits, ci=True).to_docx(tmp_path / "wide.docx")
    doc = docx.Document(str(path))
    sec = doc.sections[0]
    assert sec.orientation == 1 and sec.page_width > sec.page_height
    (table,) = doc.tables
    assert re.search(r"\[\d+\.\d{3}, \d+\.\d{3}\]", table.rows[2].cells[1].text)


def test_summary_table_apa_docx(replica, tmp_path):
    tab = sk.summary_table(replica, ["approval", "gender"], by="urban")
    path = tab.to_docx(tmp_path / "t1.docx")
    d = docx.Document(str(path))
    (table,) = d.tables
    assert table.rows[0]._tr.trPr.find(qn("w:tblHeader")) is not None
    borders = table._tbl.tblPr.find(qn("w:tblBorders"))
    assert borders.find(qn("w:insideH")).get(qn("w:val")) == "nil"
    widths = [int(c.get(qn("w:w"))) for c in table._tbl.tblGrid.findall(qn("w:gridCol"))]
    assert widths[0] == max(widths) and len(set(widths)) > 1
    # no word of the first column's heading is broken: the column holds "Characteristic"
    from surveykit.word import _text_pt
    assert widths[0] / 20 > _text_pt("Characteristic")
    grid = tab.to_docx(tmp_path / "grid.docx", style="grid")
    assert docx.Document(str(grid)).tables[0].style.name == "Table Grid"
    with pytest.raises(sk.SurveyKitError):
        tab.to_docx(tmp_path / "x.docx", style="fancy")


def test_summary_text_stars_no_cutpoint(ordfit):
    text = ordfit.summary()
    cut = [ln for ln in text.splitlines() if ln.rstrip().endswith("cutpoint")]
    assert len(cut) == ordfit.n_thresholds
    assert not any("*" in ln for ln in cut)
