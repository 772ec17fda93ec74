"""sk.summary_table (R gtsummary::tbl_svysummary): its numbers are those of sk.proportion,
sk.mean, sk.crosstab, sk.ttest and sk.wald_test; every export carries them, Word included."""

from __future__ import annotations

import docx
import numpy as np
import pandas as pd
import pytest

import surveykit as sk
from surveykit._summary_table import regression_frame
from surveykit.errors import SurveyKitError


@pytest.fixture(scope="module")
def replica() -> sk.SurveyDesign:
    return sk.SurveyDesign(sk.load_replica(), weights="weight")


def _docx_rows(path) -> list[list[str]]:
    (table,) = docx.Document(str(path)).tables
    return [[c.text for c in row.cells] for row in table.rows]


def _cell(p: float, lo: float, hi: float) -> str:
    return f"{100 * p:.1f} ({100 * lo:.1f}–{100 * hi:.1f})"


def test_docx_holds_the_proportions_by_group(replica, tmp_path):
    path = sk.summary_table(replica, ["approval", "gender"], by="urban").to_docx(
        tmp_path / "table1.docx")
    rows = _docx_rows(path)
    header = rows[0]
    n = replica.data["urban"].value_counts()
    assert header == ["Characteristic", "Overall (N = 2,209)", f"Rural (N = {n[0]:,})",
                      f"Urban (N = {n[1]:,})", "p-value"]
    by_label = {r[0]: r for r in rows}
    overall = sk.proportion(replica, "approval")
    groups = sk.proportion(replica, "approval", by="urban")
    for code, label in ((1, "Strongly disapprove"), (5, "Strongly approve")):
        row = by_label[label]
        o = overall[overall["level"] == code].iloc[0]
        assert row[1] == _cell(o.estimate, o.ci_low, o.ci_high)
        for col, urban in ((2, 0), (3, 1)):
            g = groups[(groups["level"] == code) & (groups["urban"] == urban)].iloc[0]
            assert row[col] == _cell(g.estimate, g.ci_low, g.ci_high)
    # the Rao-Scott test of sk.crosstab, and the gender missing count
    p = sk.crosstab(replica, "approval", "urban").test["p_value"]
    title = next(r for r in rows if r[0].startswith("Approval"))
    assert title[4].rstrip("†") == ("<0.001" if p < 0.001 else f"{p:.3f}")
    missing = [r for r in rows if r[0] == "Missing"]
    g, urban = replica.data["gender"].isna(), replica.data["urban"]
    assert missing[-1][1:4] == [f"{int(g.sum()):,}", f"{int((g & (urban == 0)).sum()):,}",
                                f"{int((g & (urban == 1)).sum()):,}"]
    text = "\n".join(p.text for p in docx.Document(str(path)).paragraphs)
    assert sk.SYNTHETIC_BANNER in text and "Rao–Scott" in text


def test_continuous_rows_and_tests(replica):
    two = sk.summary_table(replica, "age", by="urban")
    m = sk.mean(replica.subset(replica.data["urban"] == 1), "age").iloc[0]
    cell = two.cells[(two.cells["column"] == "Urban")].iloc[0]
    assert cell["estimate"] == pytest.approx(m.estimate, rel=1e-12)
    assert cell["ci_low"] == pytest.approx(m.ci_low, rel=1e-12)
    t = sk.ttest(replica, "age", "urban").iloc[0]
    assert two.tests.iloc[0]["p_value"] == pytest.approx(t["p_value"], rel=1e-12)
    three = sk.summary_table(replica, "age", by="region")
    w = sk.wald_test(sk.glm(replica, "age ~ C(region)"), "C(region)").iloc[0]
    assert three.tests.iloc[0]["statistic"] == pytest.approx(w["statistic"], rel=1e-12)
    assert three.tests.iloc[0]["test"] == "design-based Wald F"
    # SD: the weighted SD of the urban respondents (n/(n-1) as R's svyvar)
    sel = replica.data["urban"].eq(1).to_numpy()
    x, wt = replica.data["age"].to_numpy(float)[sel], replica.weights[sel]
    mu = np.average(x, weights=wt)
    sd = np.sqrt(np.average((x - mu) ** 2, weights=wt) * sel.sum() / (sel.sum() - 1))
    assert cell["sd"] == pytest.approx(sd, rel=1e-12)


def test_exports_carry_the_same_cells(replica):
    tab = sk.summary_table(replica, ["approval"], by="urban")
    frame = tab.to_frame()
    strongly = frame[frame["Characteristic"].str.strip() == "Strongly approve"].iloc[0]
    for text in (tab.to_markdown(), tab.to_html(), tab.to_latex().replace("--", "–")):
        assert strongly.iloc[1] in text and strongly.iloc[3] in text
        assert "Synthetic replica" in text
    assert tab._repr_html_() == tab.to_html()
    assert len(repr(tab).splitlines()) <= 20


def test_no_by_and_unlabelled_data(apiclus1):
    d = sk.SurveyDesign(apiclus1, weights="pw", psu="dnum")
    tab = sk.summary_table(d, ["stype", "api00"])
    assert tab.columns == ["Overall"] and len(tab.tests) == 0
    assert "p-value" not in tab.to_frame().columns
    assert "Synthetic" not in tab.to_markdown()
    prop = sk.proportion(d, "stype")
    cells = tab.cells[tab.cells["variable"] == "stype"]
    np.testing.assert_allclose(cells["estimate"], prop["estimate"], rtol=1e-12)


def test_bad_input(replica):
    with pytest.raises(SurveyKitError):
        sk.summary_table(replica, ["nope"])
    with pytest.raises(SurveyKitError):
        sk.summary_table(replica, ["urban"], by="urban")
    with pytest.raises(SurveyKitError):
        sk.summary_table(replica, ["age"], types={"age": "ordinal"})


def test_model_table_to_docx(replica, tmp_path):
    fit = sk.ordinal(replica, "approval ~ C(age_group) + urban")
    path = fit.to_docx(tmp_path / "model.docx")
    rows = _docx_rows(path)
    frame = regression_frame([fit])
    assert rows[0] == list(frame.columns) == ["Term", "(1) OR"]
    t = fit.tidy(exponentiate=True)
    # the factor's levels under its label, reference first; SE under the estimate, same cell
    labels = [r[0] for r in rows]
    i = labels.index("Age group")
    assert labels[i + 1:i + 4] == ["14–30 (ref.)", "31–50", "51–65"]
    assert rows[i + 1][1] == "—"
    est, se = t.loc[t["term"] == "C(age_group)[T.2]", ["estimate", "std_error"]].iloc[0]
    assert rows[i + 2][1].split("\n")[0].rstrip("*") == f"{est:.3f}"
    assert rows[i + 2][1].split("\n")[1] == f"({se:.3f})"
    assert rows[-2] == ["N", f"{fit.nobs:,}"]
    assert rows[-1] == ["Excluded (missing)", f"{fit.n_missing:,}"]


def test_docx_is_deterministic(replica, tmp_path):
    tab = sk.summary_table(replica, ["gender"], by="urban")
    a = tab.to_docx(tmp_path / "a.docx")
    b = tab.to_docx(tmp_path / "b.docx")
    pa, pb = docx.Document(str(a)), docx.Document(str(b))
    assert pa.core_properties.created == pb.core_properties.created
    assert _docx_rows(a) == _docx_rows(b)
    assert isinstance(tab.to_frame(), pd.DataFrame)
