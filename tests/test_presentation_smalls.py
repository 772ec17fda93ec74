"""Issue 20 items 4 and 10: the cross-table display (banner, header not shifted) and the
smaller presentation fixes -- 1-based row numbers in errors, accepted levels and columns in
model errors, describe --codebook on a raw file, no negative zeros, the uncompared published
cell marked in its figure, the harmonisation block wrapping."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from test_figures import SOCIO, socio_frame

import surveykit as sk
from surveykit.cli import main
from surveykit.errors import ModelError, SurveyKitError, WeightingError
from surveykit.report import figures as F


@pytest.fixture(scope="module")
def replica() -> sk.SurveyDesign:
    return sk.SurveyDesign(sk.load_replica(), weights="weight")


def test_crosstab_repr_and_html_carry_the_banner_and_one_header_row(replica):
    ct = sk.crosstab(replica, "approval", "region")
    text = repr(ct)
    assert sk.SYNTHETIC_BANNER in text
    html = ct._repr_html_()
    assert sk.SYNTHETIC_BANNER in html
    thead = re.search(r"<thead>(.*?)</thead>", html, re.S).group(1)
    assert thead.count("<tr") == 1  # no second header row for the index name
    heads = re.findall(r"<th>(.*?)</th>", thead)
    regions = list(dict.fromkeys(ct.table["col_label"]))
    assert heads == [sk.labels.variable_label(replica, "approval"), *regions]
    body = re.search(r"<tbody>(.*?)</tbody>", html, re.S).group(1)
    assert "<th" not in body  # no empty index cells shifting the rows
    first = re.findall(r"<td>(.*?)</td>", body.split("</tr>")[0])
    assert len(first) == len(heads)
    plain = sk.SurveyDesign(replica.data.assign(weight=replica.data["weight"] * 1.37),
                            weights="weight")
    plain.data.attrs.pop("synthetic", None)
    assert not sk.crosstab(plain, "approval", "region").table.attrs.get("synthetic", False)


def test_weighting_error_rows_are_counted_from_one():
    df = pd.DataFrame({"g": [np.nan, "a", "b", "a"], "w": [1.0, 1.0, 1.0, 1.0]})
    d = sk.SurveyDesign(df, weights="w")
    with pytest.raises(WeightingError) as err:
        sk.rake(d, {"g": {"a": 2.0, "b": 2.0}})
    assert err.value.values == ["row 1"]  # the first case, as SPSS numbers it


def test_predict_lists_the_accepted_levels(replica):
    fit = sk.glm(replica, "approval ~ C(age_group) + urban")
    age = sk.labels.value_labels(replica, "age_group")
    with pytest.raises(ModelError) as err:
        fit.predict(pd.DataFrame({"age_group": [age[2]], "urban": [1]}))
    assert err.value.column == "age_group" and err.value.values == [age[2]]
    for code, label in age.items():
        assert f"{code} ({label})" in err.value.hint


def test_formula_typo_lists_the_columns(replica):
    with pytest.raises(ModelError) as err:
        sk.glm(replica, "approval ~ C(age_grop) + urban")
    assert err.value.column == "age_grop"
    assert err.value.hint.startswith("did you mean age_group")
    assert "columns: study, resp_id, weight, approval" in err.value.hint
    with pytest.raises(ModelError) as err:
        sk.glm(replica, "aproval ~ urban")
    assert "did you mean approval" in err.value.hint


def test_describe_codebook_on_a_raw_file_says_to_harmonise_first(tmp_path, capsys):
    raw = tmp_path / "raw.csv"
    pd.DataFrame({"Q1": [1, 2, 3], "sex": [1, 2, 1]}).to_csv(raw, index=False)
    code = main(["describe", str(raw), "--codebook", "approval"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert "harmonise it first" in err and "surveykit harmonise raw.csv --mapping" in err
    assert len(err.strip().splitlines()) == 1


def test_no_negative_zero_in_replication_csv_and_markdown():
    from surveykit.replication.writers import _fmt, _plain_csv

    frame = pd.DataFrame({"difference": [-1e-9, -4e-8, 0.5], "label": ["a", "b", "c"]})
    csv = _plain_csv(frame, "x")
    assert "-0.0" not in csv and "\n0.000000,a" in csv and "\n0.000000,b" in csv
    assert _fmt(-1e-12, 4) == "0.0000" and _fmt(-0.5, 1) == "-0.5"
    from surveykit.models.tables import fmt_number

    assert fmt_number(-0.0001, 3) == "0.000" and fmt_number(-0.002, 3) == "-0.002"


def test_uncompared_published_cell_is_marked():
    frame = socio_frame()
    frame["reason"] = None
    target = frame.index[frame["stat"] == "mean"][1]
    frame.loc[target, "reason"] = "inconsistent: the published shares do not add up"
    fig = F.index_by_group(frame)
    ax = next(a for a in fig.axes if any(ln.get_gid() == "published-not-compared"
                                         for ln in a.lines))
    bad = next(ln for ln in ax.lines if ln.get_gid() == "published-not-compared")
    pub = next(ln for ln in ax.lines if ln.get_gid() == "published")
    assert len(bad.get_xdata()) == 1 and bad.get_marker() == "X"
    assert len(pub.get_xdata()) == len(SOCIO) - 1  # drawn once, as not compared
    assert float(bad.get_xdata()[0]) == pytest.approx(float(frame.loc[target, "published"]))
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert any("not compared" in x for x in legend)
    assert any(t.get_text() == "not compared" for t in ax.texts)


def test_harmonisation_block_wraps():
    from surveykit.report.html import _template

    css = _template("report.css")
    rule = re.search(r"pre\.harmonisation\s*\{([^}]*)\}", css).group(1)
    assert "pre-wrap" in rule


def test_errors_are_typed_one_liners(replica):
    with pytest.raises(SurveyKitError):
        sk.regression_table([])


def test_readme_shows_a_targets_yaml_that_loads():
    from pathlib import Path

    import yaml

    from surveykit.weighting.targets import parse_targets

    text = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml\n(.*?)```", text, re.S)
    targets = [b for b in blocks if "margins:" in b]
    assert targets, "the README shows the targets YAML format"
    parsed = parse_targets(yaml.safe_load(targets[0]))
    assert parsed["population"] == 1_000_000
    assert parsed["margins"]["gender"] == {1: 0.49, 2: 0.51}
    assert "regression_table(models" in text
