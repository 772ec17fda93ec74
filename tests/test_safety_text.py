"""Hostile text in, inert text out (issue 19, files part): strict YAML, bounded error
messages, CSV cells neutralised for spreadsheets, `weight` passes values through."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from surveykit import cli
from surveykit._cells import NEUTRALISED_NOTE, formula_cells, neutralise
from surveykit._yaml import read_yaml
from surveykit.errors import SchemaError, SurveyKitError

BILLION_LAUGHS = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
margins:
  region: *i
"""


# -- YAML ----------------------------------------------------------------------------------------
def test_duplicate_key_in_targets_is_a_schema_error_naming_key_and_lines(tmp_path, capsys):
    targets = tmp_path / "t.yaml"
    targets.write_text("margins:\n  region: {1: 0.5, 2: 0.5}\n  gender: {1: 0.5, 2: 0.5}\n"
                       "  region: {1: 0.2, 2: 0.8}\n")
    from surveykit.weighting import load_targets

    with pytest.raises(SchemaError, match=r"duplicate key 'region' \(lines 2 and 4\)"):
        load_targets(targets)
    data = tmp_path / "d.csv"
    pd.DataFrame({"region": [1, 2], "gender": [1, 2]}).to_csv(data, index=False)
    code = cli.main(["weight", str(data), "--targets", str(targets), "--unweighted",
                     "--out", str(tmp_path / "o.csv")])
    err = capsys.readouterr().err
    assert code == 2 and "duplicate key 'region'" in err and err.count("\n") == 1
    assert not (tmp_path / "o.csv").exists()


def test_duplicate_keys_in_every_yaml_loader(tmp_path):
    import surveykit as sk
    from surveykit.dictionary import load_codebook
    from surveykit.io import load_mapping

    mapping = Path(sk.replica.mapping_path()).read_text("utf-8")
    line, first = next((i, t) for i, t in enumerate(mapping.splitlines(), 1)
                       if t[:1].isalpha())
    bad = tmp_path / "m.yaml"
    bad.write_text(mapping + first + "\n")  # the first top-level key again, at the end
    key = first.split(":")[0]
    with pytest.raises(SchemaError, match=f"duplicate key '{key}' \\(lines {line} and "):
        load_mapping(bad)
    cb = tmp_path / "cb.yaml"
    cb.write_text("name: x\ntitle: t\nvariables:\n  a: {type: binary, label: A}\n"
                  "  a: {type: ordinal, label: A again}\n")
    with pytest.raises(SchemaError, match=r"duplicate key 'a' \(lines 4 and 5\)"):
        load_codebook(cb)
    reg = tmp_path / "r.yaml"
    reg.write_text("id: 1\nid: 2\n")
    with pytest.raises(SchemaError, match="registry file has a duplicate key 'id'"):
        read_yaml(reg, "registry file")


def test_nested_keys_may_repeat_across_mappings(tmp_path):
    ok = tmp_path / "ok.yaml"
    ok.write_text("a: {x: 1}\nb: {x: 2}\n")
    assert read_yaml(ok, "file") == {"a": {"x": 1}, "b": {"x": 2}}


@pytest.mark.parametrize("loader", ["targets", "mapping", "codebook", "registry"])
def test_billion_laughs_fails_fast_with_a_typed_error(tmp_path, loader):
    import surveykit as sk
    from surveykit.dictionary import load_codebook
    from surveykit.io import load_mapping
    from surveykit.weighting import load_targets

    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(BILLION_LAUGHS)
    assert len(BILLION_LAUGHS.encode()) < 1400
    load = {"targets": load_targets, "mapping": load_mapping, "codebook": load_codebook,
            "registry": lambda p: sk.published.load_registry(p.parent)}[loader]
    start = time.perf_counter()
    with pytest.raises(SurveyKitError, match="aliases") as info:
        load(bomb)
    assert time.perf_counter() - start < 2.0
    assert len(str(info.value)) < 600 and "\n" not in str(info.value)


def test_error_values_are_cut_before_any_repr():
    nested: list = ["lol"] * 9
    for _ in range(12):  # 9**12 leaves if expanded: must never be walked or printed
        nested = [nested] * 9
    start = time.perf_counter()
    err = SurveyKitError("bad value", values=[nested, "x" * 10_000, nested, 1.5, b"\x00" * 999])
    assert time.perf_counter() - start < 1.0
    text = str(err)
    assert len(text) < 5 * 90 + 200
    assert "x" * 80 not in text and "x" * 79 + "…" in text
    many = SurveyKitError("bad", values=[f"v{i}" for i in range(100)], column="c" * 500)
    assert "100 in all" in str(many) and "v5" not in str(many) and "c" * 81 not in str(many)


# -- CSV cells -----------------------------------------------------------------------------------
def test_neutralise_follows_the_owasp_rule_but_keeps_numbers():
    frame = pd.DataFrame({"label": ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "\tx", "\rx", "-0.5",
                                    "+3", "-1e-3", "plain", None],
                          "value": [-0.5, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]})
    out, n = neutralise(frame)
    assert n == 6
    assert out["label"].tolist()[:6] == ["'=1+1", "'+SUM(A1)", "'-2+3", "'@cmd", "'\tx", "'\rx"]
    assert out["label"].tolist()[6:10] == ["-0.5", "+3", "-1e-3", "plain"]
    assert out["value"].tolist() == frame["value"].tolist()
    assert frame["label"][0] == "=1+1"  # the caller's frame is not changed
    assert formula_cells(frame) == {"label": 6}


def test_replication_csvs_neutralise_labels_and_the_sidecar_says_so(tmp_path):
    from surveykit.replication.writers import write_table

    frame = pd.DataFrame({"table_id": ["t1", "t1"], "row_id": ["r", "s"],
                          "row_label": ["=HYPERLINK(\"http://x\")", "-0.25"],
                          "group_id": ["g", "g"], "group_label": ["@g", "g"],
                          "published": [1.0, 2.0], "computed": [-1.5, 2.0],
                          "difference": [0.1, 0.0], "tolerance": [0.5, 0.5],
                          "passed": [True, True], "std_error": [0.1, 0.1],
                          "ci_low": [0.0, 0.0], "ci_high": [1.0, 1.0], "n_unweighted": [5, 5],
                          "group_n": [5, 5], "unit": ["%", "%"], "decimals": [0, 0],
                          "bound": [None, None], "reason": [None, None]})
    paths = write_table(frame, {"title": "T"}, tmp_path)
    back = pd.read_csv(paths[0], dtype=str, keep_default_na=False)
    assert back["row_label"].tolist() == ["'=HYPERLINK(\"http://x\")", "-0.25"]
    assert back["group_label"].tolist() == ["'@g", "g"]
    assert back["computed"].tolist()[0] == "-1.500000"
    side = json.loads(paths[3].read_text())
    assert side["text_cells"] == NEUTRALISED_NOTE


# -- weight: values pass through, weight column semantics ----------------------------------------
def _csv(tmp_path: Path, text: str, name: str = "d.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.fixture()
def targets(tmp_path: Path) -> Path:
    path = tmp_path / "t.yaml"
    path.write_text("margins:\n  region: {1: 0.5, 2: 0.5}\n")
    return path


def test_weight_passes_csv_text_through_exactly(tmp_path, targets, capsys):
    """Issue 19: weight re-read a CSV with type guessing: 00042 became 42."""
    src = _csv(tmp_path, "id,zip,region,big,note,x\n"
                         "00042,01234,1,123456789012345678901,NA,1.50\n"
                         "00043,09999,2,123456789012345678902,=cmd(),-0.5\n"
                         "00044,00000,1,123456789012345678903,,2\n")
    out = tmp_path / "o.csv"
    assert cli.main(["weight", str(src), "--targets", str(targets), "--unweighted",
                     "--out", str(out)]) == 0
    captured = capsys.readouterr()
    back = pd.read_csv(out, dtype=str, keep_default_na=False)
    given = pd.read_csv(src, dtype=str, keep_default_na=False)
    pd.testing.assert_frame_equal(back[given.columns], given)
    w = back["weight_raked"].astype(float)
    assert w.sum() == pytest.approx(3.0)
    assert "=, +, -, @" in captured.err and "note" in captured.err  # warned, not changed
    for ext in (".parquet", ".sav"):
        typed = tmp_path / f"o{ext}"
        assert cli.main(["weight", str(src), "--targets", str(targets), "--unweighted",
                         "--out", str(typed)]) == 0
        import surveykit as sk

        data = sk.read(typed).data
        assert data["id"].tolist() == ["00042", "00043", "00044"]
        assert data["zip"].tolist() == ["01234", "09999", "00000"]
        assert data["big"].tolist()[0] == "123456789012345678901"
        assert data["region"].tolist() == [1, 2, 1]
    capsys.readouterr()


def test_duplicate_csv_column_names_are_an_error_naming_them(tmp_path, targets, capsys):
    """Issue 19: a CSV with two columns named w was accepted (the second became w.1)."""
    src = _csv(tmp_path, "id,w,region,w\n1,1,1,2\n2,1,2,3\n")
    code = cli.main(["weight", str(src), "--targets", str(targets), "--weights", "w",
                     "--out", str(tmp_path / "o.csv")])
    err = capsys.readouterr().err
    assert code == 2 and "more than once" in err and "'w'" in err and err.count("\n") == 1
    import surveykit as sk
    from surveykit.errors import InputFileError

    with pytest.raises(InputFileError, match="more than once"):
        sk.read(src)


def test_weight_starts_from_the_files_weight_column_and_says_so(tmp_path, targets, capsys):
    """Issue 19: without --weights, weight silently started from weights of 1."""
    src = _csv(tmp_path, "id,region,WEIGHT\n1,1,1\n2,2,3\n3,1,2\n4,2,2\n")
    out = tmp_path / "o.csv"
    assert cli.main(["weight", str(src), "--targets", str(targets), "--out", str(out)]) == 0
    said = capsys.readouterr().out
    assert "the file's weight column 'WEIGHT'" in said
    implicit = pd.read_csv(out)["weight_raked"]
    assert cli.main(["weight", str(src), "--targets", str(targets), "--weights", "WEIGHT",
                     "--out", str(out)]) == 0
    np.testing.assert_allclose(pd.read_csv(out)["weight_raked"], implicit, rtol=0, atol=0)
    # raking from the file weights is not raking from 1: within region 2 the 3:2 ratio stays
    assert implicit[1] / implicit[3] == pytest.approx(1.5)
    assert cli.main(["weight", str(src), "--targets", str(targets), "--unweighted",
                     "--out", str(out)]) == 0
    assert pd.read_csv(out)["weight_raked"][1] == pytest.approx(pd.read_csv(out)
                                                                ["weight_raked"][3])
    capsys.readouterr()


def test_weight_without_a_weight_column_needs_weights_or_unweighted(tmp_path, targets, capsys):
    src = _csv(tmp_path, "id,region,pw\n1,1,1\n2,2,3\n")
    out = tmp_path / "o.csv"
    code = cli.main(["weight", str(src), "--targets", str(targets), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and "--weights COLUMN" in err and "--unweighted" in err and "'pw'" in err
    assert not out.exists()
    with pytest.raises(SystemExit):  # both: argparse refuses
        cli.main(["weight", str(src), "--targets", str(targets), "--out", str(out),
                  "--weights", "pw", "--unweighted"])
    capsys.readouterr()


def test_weight_diagnostics_are_neutralised_and_a_manifest_lists_the_outputs(tmp_path, capsys):
    import hashlib

    import pyreadstat

    frame = pd.DataFrame({"region": [1.0, 2.0, 1.0, 2.0], "w": [1.0, 2.0, 1.0, 1.0]})
    sav = tmp_path / "d.sav"
    pyreadstat.write_sav(frame, str(sav), variable_value_labels={
        "region": {1.0: "=HYPERLINK(\"http://evil\")", 2.0: "-West"}},
        column_labels={"region": "@Region"})
    t = tmp_path / "t.yaml"
    t.write_text("margins:\n  region: {1: 0.4, 2: 0.6}\n")
    out = tmp_path / "o.csv"
    assert cli.main(["weight", str(sav), "--targets", str(t), "--weights", "w",
                     "--out", str(out)]) == 0
    capsys.readouterr()
    margins = pd.read_csv(tmp_path / "o_margins.csv", dtype=str, keep_default_na=False)
    assert margins["category_label"].tolist() == ["'=HYPERLINK(\"http://evil\")", "'-West"]
    assert margins["variable_label"].tolist() == ["'@Region", "'@Region"]
    assert float(margins["difference"].astype(float).abs().max()) < 1e-8
    manifest = json.loads((tmp_path / "o_manifest.json").read_text())
    assert manifest["completed"] is True and manifest["command"] == "weight"
    assert manifest["command_line"][:2] == ["surveykit", "weight"]
    assert {o["path"] for o in manifest["outputs"]} == {"o.csv", "o_weight_summary.csv",
                                                        "o_margins.csv"}
    for o in manifest["outputs"]:
        assert hashlib.sha256((tmp_path / o["path"]).read_bytes()).hexdigest() == o["sha256"]
    assert [i["name"] for i in manifest["inputs"]] == ["d.sav", "t.yaml"]
    assert manifest["text_cells"]["diagnostics"] == NEUTRALISED_NOTE


def test_harmonise_keeps_formula_like_values_and_warns(tmp_path, capsys):
    """Data files keep their values (other programs read them); the command warns."""
    import re

    import surveykit as sk

    mapping = Path(sk.replica.mapping_path()).read_text("utf-8")
    bad = tmp_path / "m.yaml"
    bad.write_text(re.sub(r"(?m)^study: .*$", 'study: "-x@evil"', mapping))
    out = tmp_path / "canonical.csv"
    code = cli.main(["harmonise", str(sk.replica.path()), "--mapping", str(bad),
                     "--out", str(out), "--quiet"])
    err = capsys.readouterr().err
    if code == 2:  # a study identifier may be refused outright: then nothing is written
        assert not out.exists()
        return
    assert code == 0 and "study" in err and "unchanged" in err
    assert set(pd.read_csv(out)["study"]) == {"-x@evil"}
