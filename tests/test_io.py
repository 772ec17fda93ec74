"""Readers: real files written by pyreadstat/pandas in a tmp dir; labels, user-missing reasons,
round trips and typed errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyreadstat
import pytest

from surveykit.errors import InputFileError
from surveykit.io import describe_raw, file_format, read, write_sav


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame({
        "id": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
        "q1": [1.0, 2.0, 8.0, 9.0, np.nan, 1.0],      # 8, 9 user-missing (discrete)
        "inc": [500.0, -1.0, -3.0, 2500.0, 800.0, -2.0],  # -3..-1 user-missing range
        "city": ["a", "b", "c", "a", "b", "c"],
    })


@pytest.fixture
def sav(tmp_path, frame):
    path = tmp_path / "study.sav"
    write_sav(
        frame, path,
        variable_labels={"q1": "Do you approve?", "inc": "Income"},
        value_labels={"q1": {1.0: "yes", 2.0: "no", 8.0: "Don't know"}, "inc": {-1.0: "Refused"}},
        missing_ranges={"q1": [8.0, 9.0], "inc": [{"lo": -3.0, "hi": -1.0}]},
        file_label="test study",
    )
    return path


def test_sav_labels_and_user_missing_reasons(sav):
    raw = read(sav)
    assert raw.format == "sav" and raw.n == 6
    assert raw.file_label == "test study"
    assert raw.variable_labels == {"q1": "Do you approve?", "inc": "Income"}
    assert raw.value_labels["q1"] == {1.0: "yes", 2.0: "no", 8.0: "Don't know"}
    # user-missing values are NA, with the value label (or the code) as reason
    assert raw.data["q1"].tolist()[:2] == [1.0, 2.0]
    assert raw.data["q1"].isna().tolist() == [False, False, True, True, True, False]
    assert raw.missing_reasons["q1"].tolist() == [
        None, None, "Don't know", "user missing 9", "system missing", None]
    assert raw.missing_reasons["inc"].tolist() == [
        None, "Refused", "user missing -3", None, None, "user missing -2"]
    assert raw.data["inc"].tolist()[0] == 500.0
    assert raw.missing_ranges["inc"] == [{"lo": -3.0, "hi": -1.0}]
    assert "city" not in raw.missing_reasons


def test_sav_round_trip_keeps_labels(sav, tmp_path):
    raw = read(sav)
    out = tmp_path / "copy.zsav"
    write_sav(raw.data, out, variable_labels=raw.variable_labels, value_labels=raw.value_labels,
              file_label=raw.file_label)
    again = read(out)
    assert again.variable_labels == raw.variable_labels
    assert again.value_labels == raw.value_labels
    assert again.file_label == "test study"
    pd.testing.assert_frame_equal(again.data, raw.data, check_dtype=False)
    with open(out, "rb") as fh:  # .zsav is written compressed (SPSS magic "$FL3")
        assert fh.read(4) == b"$FL3"


def test_dta_tagged_missing_reasons(tmp_path):
    df = pd.DataFrame({"id": [1, 2, 3, 4], "q": [1.0, "a", "b", np.nan]}, dtype=object)
    path = tmp_path / "study.dta"
    pyreadstat.write_dta(df, str(path), missing_user_values={"q": ["a", "b"]},
                         variable_value_labels={"q": {1: "yes", "a": "Don't know"}},
                         column_labels={"q": "Question"})
    raw = read(path)
    assert raw.format == "dta"
    assert raw.variable_labels == {"q": "Question"}
    assert raw.data["q"].dtype.kind == "f"
    assert raw.data["q"].tolist()[0] == 1.0 and raw.data["q"].isna().sum() == 3
    assert raw.missing_reasons["q"].tolist() == [None, "Don't know", "user missing .b",
                                                 "system missing"]


@pytest.mark.parametrize("ext", [".por", ".xpt", ".csv", ".parquet"])
def test_other_formats_read_back(tmp_path, ext):
    df = pd.DataFrame({"ID": [1.0, 2.0, 3.0], "Q1": [1.0, np.nan, 3.0]})
    path = tmp_path / f"f{ext}"
    if ext == ".por":
        pyreadstat.write_por(df, str(path))
    elif ext == ".xpt":
        pyreadstat.write_xport(df, str(path))
    elif ext == ".csv":
        df.to_csv(path, index=False)
    else:
        df.to_parquet(path)
    raw = read(path)
    assert raw.format == ext[1:]
    assert raw.data["Q1"].tolist()[0] == 1.0 and raw.data["Q1"].tolist()[2] == 3.0
    assert raw.missing_reasons["Q1"].tolist() == [None, "system missing", None]


def test_truncated_sav_raises_input_file_error(sav, tmp_path):
    data = sav.read_bytes()
    cut = tmp_path / "cut.sav"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputFileError) as info:
        read(cut)
    msg = str(info.value)
    assert "cut.sav" in msg and "cannot read sav file" in msg
    assert info.value.__cause__ is not None  # pyreadstat's own error is chained and quoted
    assert str(info.value.__cause__) in msg


def test_garbage_files_raise_input_file_error(tmp_path):
    for name in ("bad.dta", "bad.parquet", "bad.sas7bdat"):
        p = tmp_path / name
        p.write_bytes(b"this is not a data file" * 3)
        with pytest.raises(InputFileError, match=name):
            read(p)


def test_unknown_extension_and_missing_file(tmp_path):
    p = tmp_path / "data.xlsx"
    p.write_text("x")
    with pytest.raises(InputFileError, match="unknown file extension") as info:
        read(p)
    assert info.value.values == [".xlsx"]
    with pytest.raises(InputFileError, match="file not found"):
        read(tmp_path / "absent.sav")
    assert file_format("X.ZSAV") == "sav"


def test_describe_raw_counts(sav):
    view = describe_raw(read(sav))
    q1 = view[view["variable"] == "q1"]
    codes = q1[q1["kind"] == "code"]
    # user-missing code 8 is listed as an NA reason, not as a code
    assert codes[["code", "value_label", "n"]].values.tolist() == [[1.0, "yes", 2], [2.0, "no", 1]]
    na = q1[q1["kind"] == "missing"].set_index("value_label")["n"].to_dict()
    assert na == {"Don't know": 1, "system missing": 1, "user missing 9": 1}
    assert q1["label"].iloc[0] == "Do you approve?"
    city = view[view["variable"] == "city"]
    assert city.set_index("code")["n"].to_dict() == {"a": 2, "b": 2, "c": 2}
    # every row of the file is accounted for in each variable's block
    for _, block in view.groupby("variable"):
        assert block["n"].sum() == 6 or block["kind"].eq("value").any()


def test_write_sav_error_is_typed(tmp_path):
    df = pd.DataFrame({"x": [1.0, 2.0]})
    with pytest.raises(InputFileError, match="cannot write sav"):
        write_sav(df, tmp_path / "x.sav", value_labels={"x": {"a": "string on numeric"}})


def test_sav_string_user_missing(tmp_path):
    df = pd.DataFrame({"s": ["a", "x", "b", "y"], "n": [1.0, 2.0, 3.0, 4.0]})
    path = tmp_path / "s.sav"
    write_sav(df, path, missing_ranges={"s": ["x", "y"]})
    raw = read(path)
    assert raw.data["s"].isna().tolist() == [False, True, False, True]
    assert raw.missing_reasons["s"].tolist() == [None, "user missing x", None, "user missing y"]
