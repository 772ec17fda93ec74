"""Issue 11 items 4, 8-15: what a new user ran into (one regression test each, or more)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import surveykit as sk
from surveykit import cli
from surveykit.errors import InputFileError, MappingError, ModelError, ValidationError
from surveykit.io.readers import write_sav

TARGETS = "margins:\n  urban: {0: 0.4, 1: 0.6}\n"


def _small(tmp_path: Path, weights: float = 1.0) -> Path:
    df = pd.DataFrame({"ID": range(1, 9), "W": np.linspace(1, 2, 8) * weights,
                       "urban": [0, 1, 1, 0, 1, 1, 0, 1], "A": [1, 2, 9, 4, 5, 9, 3, 3]})
    path = tmp_path / "small.sav"
    write_sav(df, path, missing_ranges={"A": [9]}, value_labels={"A": {9: "don't know"}},
              variable_labels={"A": "Approval"}, file_label="my survey")
    return path


def _mapping(**approval: object) -> dict:
    return {"study": "s", "codebooks": ["approval"], "id": "ID",
            "variables": {"weight": {"from": "W"}, "approval": {"from": "A", **approval}}}


# item 4 ---------------------------------------------------------------------------------------
def test_recoding_a_declared_user_missing_code_is_an_error(tmp_path: Path) -> None:
    raw = sk.read(_small(tmp_path))
    with pytest.raises(MappingError, match="declared user-missing in the file") as info:
        sk.harmonise(raw, _mapping(recode={1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 9: 3}))
    assert info.value.column == "A" and info.value.values == [9]
    with pytest.raises(MappingError, match="both recoded and declared missing"):
        sk.harmonise(raw.data.fillna({"A": 9}),
                     _mapping(recode={1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 9: 3}, missing={9: "dk"}))
    ok = sk.harmonise(raw, _mapping(recode={1: 1, 2: 2, 3: 3, 4: 4, 5: 5}))
    assert ok.frame["approval"].isna().sum() == 2  # still NA, with their reason
    assert (ok.missing["approval"].dropna() == "don't know").all()


# item 9 and 15: weight --out ---------------------------------------------------------------------
def test_weight_writes_sav_keeping_labels_and_missing_codes(tmp_path: Path, capsys) -> None:
    src = _small(tmp_path)
    (tmp_path / "t.yaml").write_text(TARGETS)
    out = tmp_path / "w.sav"
    assert cli.main(["weight", str(src), "--targets", str(tmp_path / "t.yaml"),
                     "--weights", "W", "--out", str(out)]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert str(out) in last
    back, before = sk.read(out), sk.read(src)
    assert back.file_label == "my survey" and back.variable_labels["A"] == "Approval"
    pd.testing.assert_series_equal(back.missing_reasons["A"], before.missing_reasons["A"])
    w = back.data["weight_raked"]
    share = w[back.data["urban"] == 1].sum() / w.sum()
    assert share == pytest.approx(0.6, abs=1e-9)


def test_parquet_without_pyarrow_names_the_extra_before_any_work(tmp_path, monkeypatch,
                                                                 capsys) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name in ("pyarrow", "fastparquet")
                        else real(name, *a))
    (tmp_path / "t.yaml").write_text(TARGETS)
    code = cli.main(["weight", str(_small(tmp_path)), "--targets", str(tmp_path / "t.yaml"),
                     "--out", str(tmp_path / "x.parquet")])
    captured = capsys.readouterr()
    assert code == 2 and captured.out == ""  # no summary printed before the failure
    assert "surveykit[parquet]" in captured.err and captured.err.count("\n") == 1
    assert not list(tmp_path.glob("x*"))
    (tmp_path / "in.parquet").write_bytes(b"PAR1")
    with pytest.raises(InputFileError, match=r"surveykit\[parquet\]"):
        sk.read(tmp_path / "in.parquet")


def test_readme_names_the_parquet_extra() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text("utf-8")
    assert "surveykit[parquet]" in readme


# item 10 --------------------------------------------------------------------------------------
def test_huge_weights_give_a_summary_not_overflow(tmp_path: Path, capsys) -> None:
    w = np.array([1e300, 2e300, 3e300, 1e300])
    with np.errstate(all="raise"):
        s = sk.weight_summary(w)
    assert s["cv"] == pytest.approx(sk.weight_summary(w / 1e300)["cv"], rel=1e-12)
    assert s["deff_kish"] == pytest.approx(sk.weight_summary(w / 1e300)["deff_kish"], rel=1e-12)
    assert s["sum"] == pytest.approx(7e300) and s["max_min_ratio"] == 3.0
    assert np.isinf(sk.weight_summary(np.full(3, 1e308))["sum"])
    (tmp_path / "t.yaml").write_text(TARGETS)
    assert cli.main(["weight", str(_small(tmp_path, 1e300)), "--targets",
                     str(tmp_path / "t.yaml"), "--weights", "W",
                     "--out", str(tmp_path / "o.csv")]) == 0


# item 12: messages -------------------------------------------------------------------------------
def test_a_directory_is_not_reported_as_missing(tmp_path: Path, capsys) -> None:
    folder = tmp_path / "data.sav"
    folder.mkdir()
    for argv in (["describe", str(folder)], ["replicate", "--data", str(folder), "--out",
                                              str(tmp_path / "o")]):
        assert cli.main(argv) == 2
        err = capsys.readouterr().err
        assert "is a directory" in err and "not found" not in err
    with pytest.raises(InputFileError, match="is a directory"):
        sk.load_mapping(tmp_path)


def test_repeated_single_value_has_no_ellipsis() -> None:
    text = str(ValidationError("bad", values=[7.0, 7.0, 7.0], hint="fix it"))
    assert "(3 in all, 1 distinct): 7.0. fix it" in text and "..." not in text
    text = str(ValidationError("bad", values=range(9)))
    assert "(9 in all): 0, 1, 2, 3, 4, and other values" in text


def test_validation_of_a_copied_variable_names_the_raw_column() -> None:
    df = pd.DataFrame({"ID": range(1, 7), "W": 1.0, "A": [1, 2, 3, 4, 5, 5],
                       "AGE": [20, 30, 200, 200, 300, 40]})
    m = _mapping()
    m["variables"]["age"] = {"from": "AGE"}
    with pytest.raises(ValidationError) as info:
        sk.harmonise(df, m)
    assert info.value.column == "AGE" and "canonical 'age'" in str(info.value)
    assert info.value.count == 3 and info.value.values == [200, 300]


def test_huge_covariate_is_not_called_collinear() -> None:
    rng = np.random.default_rng(3)
    df = pd.DataFrame({"y": rng.integers(0, 2, 200), "x": rng.normal(size=200) * 1e200,
                       "w": 1.0})
    design = sk.SurveyDesign(df, weights="w")
    with pytest.raises(ModelError, match="too large") as info:
        sk.glm(design, "y ~ x", family="binomial")
    assert "collinear" not in str(info.value).replace("not collinear", "")
    df["x"] /= 1e200  # rescaled as the hint says: fits
    assert np.isfinite(sk.glm(sk.SurveyDesign(df, weights="w"), "y ~ x",
                              family="binomial").params).all()


# item 13: the harmonisation report ----------------------------------------------------------------
def _ranges_mapping() -> dict:
    m = _mapping(recode={1: 1, 2: 2, 3: 3, 4: 4, 5: 5})
    m["codebooks"] = ["approval"]
    m["variables"]["age"] = {"from": "AGE"}
    m["variables"]["income_group"] = {"from": "INC", "ranges": [
        {"min": 0, "max": 999, "code": 1}, {"min": 1000, "max": 4000, "code": 2},
        {"min": 4001, "max": 1e9, "code": 3}]}
    return m


def test_report_summarises_ranges_and_accounts_for_every_variable() -> None:
    rng = np.random.default_rng(2)
    n = 3000
    df = pd.DataFrame({"ID": range(n), "W": 1.0, "A": rng.integers(1, 6, n),
                       "AGE": rng.integers(14, 66, n),
                       "INC": np.round(rng.lognormal(7.5, 1.0, n))})
    h = sk.harmonise(df, _ranges_mapping())
    text = h.report.render()
    assert max(len(line) for line in text.splitlines()) < 200  # was one 21,452-char line
    inc = next(line for line in text.splitlines() if line.startswith("  income_group <- INC:"))
    assert inc.count("->") == 3 and "raw values)" in inc
    ranges = h.report.recodes.query("variable == 'income_group'")
    assert ranges["n"].sum() == n
    table = h.report.variables.set_index("variable")
    assert set(table.index) == set(h.frame.columns) - {"study"}
    assert (table["n_valid"] + table["n_missing"] == n).all()
    assert table.loc["age", "rule"] == "copied" and table.loc["age", "raw_column"] == "AGE"
    assert table.loc["age_group", "rule"] == "derived"
    assert table.loc["income_group", "rule"] == "ranges"
    assert "age <- AGE: copied" in text and "age_group: derived" in text


def test_replicate_data_includes_the_harmonisation_report(tmp_path: Path) -> None:
    from surveykit.replication import run

    res = run(sk.replica.path(), sk.replica.mapping_path(), out=tmp_path, models=False)
    assert res.harmonisation is not None
    md = (tmp_path / "replication.md").read_text("utf-8")
    assert "## Harmonisation" in md and "Every variable (valid + missing = rows out)" in md
    assert "Every variable (valid + missing = rows out)" in (tmp_path / "report.html").read_text(
        "utf-8")
    assert str(Path(sk.replica.path()).parent) not in md  # file names, not machine paths
    # item 15: the last line names everything written
    from surveykit.commands.replicate import wrote_line

    line = wrote_line(res.files, str(tmp_path))
    assert all(f in line for f in ("tables/", "figures/", "replication.md",
                                   "replication.json", "report.html", "report.md"))
    assert line.startswith(f"Wrote {len(list(p for p in tmp_path.rglob('*') if p.is_file()))} ")


# item 14: describe summarises numerics -----------------------------------------------------------
def test_describe_summarises_a_numeric_with_a_labelled_missing_code(tmp_path, capsys) -> None:
    rng = np.random.default_rng(1)
    inc = np.round(rng.lognormal(8, 1, 3000))
    inc[:50] = -2
    path = tmp_path / "inc.sav"
    write_sav(pd.DataFrame({"ID": range(3000), "INC": inc}), path,
              missing_ranges={"INC": [-2]}, value_labels={"INC": {-2: "refused"}})
    assert cli.main(["describe", str(path), "-v", "INC"]) == 0
    lines = capsys.readouterr().out.splitlines()
    body = lines[lines.index("INC (numeric)") + 1:]
    assert len(body) == 2 and "unlabelled values: min" in body[0] and body[0].endswith("2950")
    assert "refused" in body[1] and body[1].endswith("50")


def test_weight_output_of_synthetic_data_stays_marked(tmp_path: Path, capsys) -> None:
    """issue 11 item 1 on the weight path: the replica, raked, is still the replica."""
    (tmp_path / "t.yaml").write_text("margins:\n  S4: {1: 0.6, 2: 0.4}\n")
    for out in (tmp_path / "w.csv", tmp_path / "w.sav"):
        assert cli.main(["weight", str(sk.replica.path()), "--targets",
                         str(tmp_path / "t.yaml"), "--weights", "WEIGHT",
                         "--out", str(out)]) == 0
        assert "Synthetic replica" in capsys.readouterr().out.splitlines()[0]
        back = sk.read(out)
        assert back.data["data_source"].str.contains("SYNTHETIC").all()
        if out.suffix == ".sav":
            assert "SYNTHETIC" in back.file_label
