"""Issue 19, strings and readers: hostile text stays inert (terminal, Markdown, Word), SPSS label
limits are never a silent cut, .docx/.sav bytes are reproducible, integer Stata/SPSS items with
missing values read as numbers, SurveyDesign takes a RawFile, quantile intervals at CDF 1."""

from __future__ import annotations

import time
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
import pytest

import surveykit as sk
import surveykit.cli as cli
from surveykit._summary_table import regression_docx
from surveykit.errors import SchemaError
from surveykit.io import describe_raw, read, write_sav

FIX = Path(__file__).parent / "fixtures" / "r"
CLEAR = "\x1b[2J"


# --- terminal ---------------------------------------------------------------------------------


def _hostile_sav(tmp_path: Path) -> Path:
    df = pd.DataFrame({"trust": [1.0, 2.0, 1.0, 2.0], "w": [1.0, 1.0, 2.0, 2.0]})
    path = tmp_path / "hostile.sav"
    pyreadstat.write_sav(df, str(path), column_labels={"trust": f"Trust{CLEAR} in courts"},
                         variable_value_labels={"trust": {1.0: "yes\x1b]0;pwn\x07",
                                                          2.0: "no\u202eon"}},
                         file_label=f"label{CLEAR}")
    return path


def test_describe_escapes_control_characters(tmp_path, capsys):
    path = _hostile_sav(tmp_path)
    assert cli.main(["describe", str(path)]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
    assert "Trust\\x1b[2J in courts" in out and "yes\\x1b]0;pwn\\x07" in out
    assert "no\\u202eon" in out


def test_reprs_escape_control_characters(tmp_path):
    raw = read(_hostile_sav(tmp_path))
    assert "\x1b" not in repr(raw) and "\\x1b[2J" in repr(raw)
    design = sk.SurveyDesign(raw.data, weights="w", source=f"survey{CLEAR}.csv")
    assert "\x1b" not in repr(design) and "\\x1b" in repr(design)
    df = pd.DataFrame({"s": [f"a{CLEAR}", "b", "b", "a\x1b[2J"], "w": 1.0})
    table = sk.summary_table(sk.SurveyDesign(df, weights="w"), ["s"])
    assert "\x1b" not in repr(table) and "\\x1b[2J" in repr(table)
    small = pd.DataFrame({"y": [1.0, 2, 3, 4, 5, 7], "x": [1.0, 2, 3, 4, 6, 5], "w": 1.0})
    fit = sk.glm(sk.SurveyDesign(small, weights="w", source=f"f{CLEAR}"), "y ~ x")
    assert "\x1b" not in fit.summary()


def test_error_messages_on_the_cli_are_escaped(tmp_path, capsys):
    bad = tmp_path / "data.csv"
    pd.DataFrame({"x": [1, 2]}).to_csv(bad, index=False)
    code = cli.main(["describe", str(bad), "--variables", f"nope{CLEAR}"])
    err = capsys.readouterr().err
    assert code == 2 and "\x1b" not in err and "nope" in err


# --- Markdown ---------------------------------------------------------------------------------


def test_markdown_report_cannot_leave_its_code_fence():
    from surveykit.io.harmonise import HarmonisationReport

    empty = pd.DataFrame()
    rep = HarmonisationReport(studies=["s"], sources=["a.sav"], rows_in=1, rows_out=1,
                              recodes=empty, unmapped=empty, missing=empty,
                              notes=["```\n<script>alert(1)</script>\n````"])
    md = rep.to_markdown()
    fence = md.splitlines()[0].removesuffix("text")
    assert len(fence) >= 5 and md.rstrip().endswith(fence)
    body = md[len(fence):-len(fence) - 1]
    assert fence not in body  # nothing in the body closes the fence


def test_mapping_study_must_be_one_line(tmp_path):
    import yaml

    from surveykit.io import load_mapping

    repo = Path(__file__).resolve().parents[1]
    base = yaml.safe_load((repo / "data_dictionary" / "mappings" / "example_raw.yaml")
                          .read_text())
    load_mapping(repo / "data_dictionary" / "mappings" / "example_raw.yaml")  # valid as is
    for study in ["a\nb", "a`b", f"x{CLEAR}"]:
        path = tmp_path / "m.yaml"
        path.write_text(yaml.safe_dump({**base, "study": study}))
        with pytest.raises(SchemaError, match="study name must be one line"):
            load_mapping(path)


# --- Word -------------------------------------------------------------------------------------


def _docx_text(path: Path) -> str:
    with zipfile.ZipFile(path) as z:
        return z.read("word/document.xml").decode()


def test_word_export_strips_xml_invalid_characters_with_a_warning(tmp_path):
    df = pd.DataFrame({"s": ["yes\x0bno", "b", "b", "yes\x0bno"], "w": 1.0,
                       "y": [1.0, 2.0, 4.0, 3.0]})
    design = sk.SurveyDesign(df, weights="w")
    with pytest.warns(UserWarning, match=r"(?i)yes\\x0bno.*Word"):
        out = sk.summary_table(design, ["s"]).to_docx(tmp_path / "t.docx")
    assert "yesno" in _docx_text(out).lower()
    fit = sk.glm(design, "y ~ s")
    with pytest.warns(UserWarning, match="title"):
        regression_docx([fit], tmp_path / "m.docx", title="Table\x01 1")
    assert "Table 1" in _docx_text(tmp_path / "m.docx")
    with pytest.warns(UserWarning, match="Word"):
        fit.to_docx(tmp_path / "m2.docx")


# --- write_sav label limits -------------------------------------------------------------------


def test_write_sav_long_labels_warn_naming_variable_and_limit(tmp_path):
    df = pd.DataFrame({"q1": [1.0, 2.0], "q2": [1.0, 2.0]})
    long_var = "a" + "é" * 200  # 401 bytes: SPSS keeps 256
    long_val = "v" * 150  # SPSS keeps 120 bytes
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        write_sav(df, tmp_path / "x.sav", variable_labels={"q1": long_var},
                  value_labels={"q2": {1.0: long_val}}, file_label="F" * 70)
    text = [str(w.message) for w in caught]
    assert any("q1" in t and "256 bytes" in t for t in text), text
    assert any("q2" in t and "120 bytes" in t for t in text), text
    assert any("file label" in t and "64 bytes" in t for t in text), text
    _, meta = pyreadstat.read_sav(str(tmp_path / "x.sav"))
    label = meta.column_names_to_labels["q1"]
    assert label == long_var[:len(label)] and len(label.encode()) <= 256  # whole characters
    # labels within the limits: no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        write_sav(df, tmp_path / "y.sav", variable_labels={"q1": "é" * 128},
                  value_labels={"q2": {1.0: "v" * 120}})


# --- deterministic files ----------------------------------------------------------------------


def test_docx_and_sav_are_byte_identical_run_to_run(tmp_path, monkeypatch):
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    df = pd.DataFrame({"s": ["a", "b", "b", "a"], "w": 1.0, "y": [1.0, 2.0, 4.0, 3.0]})
    design = sk.SurveyDesign(df, weights="w")
    fit = sk.glm(design, "y ~ s")

    def write(tag: str) -> list[bytes]:
        a = sk.summary_table(design, ["s"]).to_docx(tmp_path / f"t{tag}.docx")
        b = regression_docx([fit], tmp_path / f"m{tag}.docx")
        c = write_sav(df, tmp_path / f"d{tag}.sav", variable_labels={"s": "S"})
        d = write_sav(df, tmp_path / f"d{tag}.zsav")
        return [Path(p).read_bytes() for p in (a, b, c, d)]

    first = write("1")
    time.sleep(2.1)  # zip entries and the SPSS header carry the clock to 2 s / 1 s
    assert write("2") == first


def test_source_date_epoch_is_honoured(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1262304000")  # 2010-01-01 00:00:00 UTC
    df = pd.DataFrame({"s": ["a", "b", "b", "a"], "w": 1.0})
    out = sk.summary_table(sk.SurveyDesign(df, weights="w"), ["s"]).to_docx(tmp_path / "t.docx")
    with zipfile.ZipFile(out) as z:
        core = z.read("docProps/core.xml").decode()
        assert {i.date_time for i in z.infolist()} == {(2010, 1, 1, 0, 0, 0)}
    assert "2010-01-01T00:00:00Z" in core
    sav = write_sav(df, tmp_path / "d.sav")
    head = Path(sav).read_bytes()[92:109]
    assert head == b"01 Jan 1000:00:00"


# --- real files: integer items with missing values --------------------------------------------


def test_stata_integer_items_with_missing_values_read_as_numbers(tmp_path):
    path = tmp_path / "ints.dta"
    df = pd.DataFrame({"q1": pd.Series([1, 2, None, 3, 2, 1], dtype=object),
                       "q2": pd.Series([1, 2, "a", 3, "b", 2], dtype=object),
                       "w": [1.0, 1.0, 2.0, 2.0, 1.0, 1.0]})
    pyreadstat.write_dta(df, str(path), missing_user_values={"q2": ["a", "b"]},
                         variable_value_labels={"q2": {1: "low", 3: "high", "a": "refused"}})
    _, meta = pyreadstat.read_dta(str(path), metadataonly=True)
    assert meta.readstat_variable_types["q1"] == "int32"  # an integer item, as Stata stores it
    raw = read(path)
    for col in ("q1", "q2"):
        assert pd.api.types.is_numeric_dtype(raw.data[col].dtype), raw.data.dtypes
    np.testing.assert_array_equal(raw.data["q1"].to_numpy(dtype=float, na_value=np.nan),
                                  [1, 2, np.nan, 3, 2, 1])
    assert raw.reasons("q1").tolist() == [None, None, "system missing", None, None, None]
    assert raw.reasons("q2").tolist() == [None, None, "refused", None, "user missing .b", None]
    view = describe_raw(raw)
    assert set(view.loc[view["variable"].isin(["q1", "q2"]), "type"]) == {"numeric"}
    design = sk.SurveyDesign(raw.data, weights="w")
    est = sk.mean(design, "q1")
    assert est["estimate"].iloc[0] == pytest.approx((1 + 2 + 6 + 2 + 1) / 6)


def test_spss_integer_items_with_user_missing_read_as_numbers(tmp_path):
    path = tmp_path / "ints.sav"
    df = pd.DataFrame({"q1": [1.0, 2.0, 9.0, np.nan, 2.0], "w": 1.0})
    pyreadstat.write_sav(df, str(path), variable_format={"q1": "F1.0"},
                         missing_ranges={"q1": [9.0]}, variable_value_labels={"q1": {9.0: "DK"}})
    raw = read(path)
    assert pd.api.types.is_numeric_dtype(raw.data["q1"].dtype)
    assert raw.reasons("q1").tolist() == [None, None, "DK", "system missing", None]


def test_survey_design_accepts_a_raw_file(tmp_path):
    path = tmp_path / "d.sav"
    pyreadstat.write_sav(pd.DataFrame({"x": [1.0, 2.0, 3.0], "w": [1.0, 2.0, 1.0]}), str(path),
                         column_labels={"x": "Trust"})
    raw = read(path)
    design = sk.SurveyDesign(raw, weights="w")
    assert design.source == str(path)
    assert sk.mean(design, "x")["estimate"].iloc[0] == pytest.approx(2.0)
    rep = sk.ReplicateDesign(raw, weights="w", repweights=np.ones((3, 2)), type="JK1")
    assert rep.source == str(path)


# --- quantile intervals at CDF 0 / 1 ----------------------------------------------------------


def test_quantile_interval_at_cdf_one_is_nan_as_r(apiclus1):
    ref = pd.read_csv(FIX / "quantile_cdf_edges.csv")
    df = apiclus1.assign(k=(apiclus1["stype"] == "E").astype(float) + 1)
    design = sk.SurveyDesign(df, weights="pw", psu="dnum", fpc="fpc")
    dom = design.subset(df["sch.wide"] == "No")
    for interval, block in ref.groupby("interval", sort=False):
        out = sk.quantile(dom, "k", q=[0.1, 0.5, 0.9], ci=interval)
        for col, rcol, tol in (("estimate", "estimate", 1e-6), ("ci_low", "ci_low", 1e-6),
                               ("ci_high", "ci_high", 1e-6), ("std_error", "se", 1e-4)):
            np.testing.assert_allclose(out[col].to_numpy(dtype=float),
                                       block[rcol].to_numpy(dtype=float), rtol=tol,
                                       err_msg=f"{interval} {col}")
