"""CLI `describe` and `harmonise` on real .sav files, via surveykit.cli.main."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

import surveykit.cli as cli
from surveykit.dictionary import combine, load_codebook
from surveykit.io import load_mapping, read

_spec = importlib.util.spec_from_file_location(
    "raw_builder", Path(__file__).parent / "fixtures" / "io" / "raw_builder.py")
rb = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(rb)


@pytest.fixture(autouse=True)
def only_foundation_commands(monkeypatch):
    """Register only this module's subcommands, so these tests do not depend on the others."""
    monkeypatch.setattr(cli, "COMMANDS", ("describe", "harmonise"))


@pytest.fixture(scope="module")
def raw_sav(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "raw.sav"
    rb.write_raw_sav(path, n=40)
    return path


def test_describe_raw_sav(raw_sav, capsys):
    assert cli.main(["describe", str(raw_sav), "--variables", "Q12", "S3"]) == 0
    out = capsys.readouterr().out
    raw = rb.raw_frame(40)
    assert "File label: example raw export" in out and "Rows: 40" in out
    assert "Q12 (numeric): Approval of social credit systems" in out
    n5 = int((raw["Q12"] == 5).sum())
    assert any(line.split()[:1] == ["5"] and line.split()[-1] == str(n5)
               for line in out.splitlines())
    dk = [line for line in out.splitlines() if "Don't know" in line]
    assert dk and dk[0].split()[0] == "NA" and dk[0].split()[-1] == "2"
    assert "Refused" in out and "S2" not in out


def test_harmonise_then_describe_with_codebook(raw_sav, tmp_path, capsys):
    out_path = tmp_path / "canonical.sav"
    rc = cli.main(["harmonise", str(raw_sav), "--mapping", str(rb.MAPPING), "--out",
                   str(out_path)])
    assert rc == 0
    text = capsys.readouterr().out
    assert "rows in: 40   rows out: 40" in text
    written = read(out_path)
    assert written.n == 40
    # the study column and one column per canonical variable of the mapping's codebooks
    assert f"wrote 40 rows x {written.data.shape[1]} columns to {out_path}" in text
    codebooks = load_mapping(rb.MAPPING).codebooks
    assert written.data.shape[1] == 1 + len(combine(load_codebook(c) for c in codebooks).variables)
    assert cli.main(["describe", str(out_path), "--codebook", "behaviour",
                     "-v", "approval", "bc_index"]) == 0
    out = capsys.readouterr().out
    assert "Codebook: behaviour" in out and "- valid" in out
    assert "approval (ordinal): Approval of social credit systems" in out
    outside = int((rb.raw_frame(40)["MOD"] == 0).sum())
    line = next(ln for ln in out.splitlines() if "not asked" in ln)
    assert line.split()[:2] == ["NA", "(-99)"] and line.split()[-1] == str(outside)


@pytest.mark.parametrize(
    ("argv", "text"),
    [
        (["describe", "{raw}", "--codebook", "approval"], "required canonical variables"),
        (["describe", "{tmp}/absent.sav"], "file not found"),
        (["harmonise", "{raw}", "--mapping", "{mapping}", "--out", "{tmp}/x.xlsx"],
         "unsupported output format"),
        (["harmonise", "{raw}", "--mapping", "{tmp}/none.yaml", "--out", "{tmp}/x.csv"],
         "mapping file not found"),
    ],
)
def test_cli_errors_one_line_exit_2(raw_sav, tmp_path, capsys, argv, text):
    argv = [a.format(raw=raw_sav, tmp=tmp_path, mapping=rb.MAPPING) for a in argv]
    assert cli.main(argv) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert len(err.splitlines()) == 1
    assert err.startswith(f"surveykit {argv[0]}: error: ") and text in err
    assert captured.out == ""


@pytest.mark.parametrize(
    ("command", "text"),
    [("describe", "codebook view of a data file"),
     ("harmonise", "recode its columns onto the canonical codebook")],
)
def test_help_texts(capsys, command, text):
    with pytest.raises(SystemExit) as info:
        cli.main([command, "--help"])
    assert info.value.code == 0
    assert text in " ".join(capsys.readouterr().out.split())
