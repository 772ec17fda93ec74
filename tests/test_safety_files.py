"""The user's files are safe (issue 19, files): atomic writes, no command writes over its own
inputs, failed writes leave existing files untouched."""

from __future__ import annotations

import ast
import hashlib
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
import pytest

from surveykit import cli
from surveykit._atomic import atomic_path, refuse_overwrite, same_file, write_text
from surveykit.errors import InputFileError

ROOT = Path(__file__).resolve().parent.parent


def sha(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def small_frame(n: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    return pd.DataFrame({"id": np.arange(1, n + 1), "region": rng.integers(1, 4, n),
                         "gender": rng.integers(1, 3, n), "w": rng.uniform(0.5, 2, n)})


@pytest.fixture()
def sav(tmp_path: Path) -> Path:
    path = tmp_path / "x.sav"
    pyreadstat.write_sav(small_frame(), str(path),
                         variable_value_labels={"region": {1: "East", 2: "Central", 3: "West"}})
    return path


@pytest.fixture()
def targets(tmp_path: Path) -> Path:
    path = tmp_path / "targets.yaml"
    path.write_text("margins:\n  region: {1: 0.4, 2: 0.3, 3: 0.3}\n  gender: {1: 0.5, 2: 0.5}\n")
    return path


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = cli.main(argv)
    return code, capsys.readouterr().err


# -- the atomic helper -------------------------------------------------------------------------
def test_atomic_path_failure_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "a.csv"
    target.write_text("old\n")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("writer failed")
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv"]
    write_text(target, "new\n")
    assert target.read_text() == "new\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv"]


def test_atomic_write_keeps_the_permissions_of_the_replaced_file(tmp_path):
    target = tmp_path / "a.txt"
    target.write_text("x")
    os.chmod(target, 0o640)
    write_text(target, "y")
    assert (target.stat().st_mode & 0o777) == 0o640
    fresh = write_text(tmp_path / "b.txt", "z")
    mask = os.umask(0)
    os.umask(mask)
    assert (fresh.stat().st_mode & 0o777) == 0o666 & ~mask


def test_same_file_sees_symlinks_hard_links_and_dotdot(tmp_path):
    a = tmp_path / "a.sav"
    a.write_bytes(b"x")
    (tmp_path / "link.sav").symlink_to(a)
    os.link(a, tmp_path / "hard.sav")
    (tmp_path / "sub").mkdir()
    assert same_file(tmp_path / "link.sav", a)
    assert same_file(tmp_path / "hard.sav", a)
    assert same_file(tmp_path / "sub" / ".." / "a.sav", a)
    assert not same_file(tmp_path / "b.sav", a)
    with pytest.raises(InputFileError, match="overwrite an input"):
        refuse_overwrite([tmp_path / "hard.sav"], [a])
    with pytest.raises(InputFileError, match="folder contains an input"):
        refuse_overwrite([], [a], folders=[tmp_path])


# -- reproductions of the issue ----------------------------------------------------------------
def test_failed_sav_write_leaves_the_existing_file_untouched(tmp_path, sav, targets, capsys):
    """Issue 19: `weight x.sav --column <70 characters> --out y.sav` left y.sav 0 bytes."""
    out = tmp_path / "y.sav"
    out.write_bytes(sav.read_bytes())
    before = sha(out)
    code, err = run(["weight", str(sav), "--targets", str(targets), "--out", str(out),
                     "--weights", "w", "--column", "c" * 70], capsys)
    assert code == 2 and err.count("\n") == 1
    assert sha(out) == before
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_weight_out_onto_its_input_is_refused(tmp_path, sav, targets, capsys):
    """Issue 19: `weight x.sav --column <70 chars> --out x.sav` left x.sav 0 bytes."""
    before = sha(sav)
    code, err = run(["weight", str(sav), "--targets", str(targets), "--out", str(sav),
                     "--weights", "w", "--column", "c" * 70], capsys)
    assert code == 2 and "overwrite an input" in err and err.count("\n") == 1
    assert sha(sav) == before
    code, err = run(["weight", str(sav), "--targets", str(targets), "--out", str(sav),
                     "--weights", "w"], capsys)
    assert code == 2 and "overwrite an input" in err
    assert sha(sav) == before


@pytest.mark.parametrize("how", ["same", "symlink", "hardlink", "dotdot"])
def test_harmonise_out_onto_its_input_is_refused(tmp_path, capsys, how):
    """Issue 19: `harmonise raw.sav --mapping m.yaml --out raw.sav` replaced the raw file."""
    import shutil

    import surveykit as sk

    raw = tmp_path / "raw.sav"
    shutil.copy(sk.replica.path(), raw)
    mapping = Path(sk.replica.mapping_path())
    out = {"same": raw, "symlink": tmp_path / "l.sav", "hardlink": tmp_path / "h.sav",
           "dotdot": tmp_path / "d" / ".." / "raw.sav"}[how]
    if how == "symlink":
        out.symlink_to(raw)
    if how == "hardlink":
        os.link(raw, out)
    (tmp_path / "d").mkdir()
    before = sha(raw)
    code, err = run(["harmonise", str(raw), "--mapping", str(mapping), "--out", str(out)], capsys)
    assert code == 2 and "overwrite an input" in err and err.count("\n") == 1
    assert sha(raw) == before


def test_harmonise_out_onto_its_mapping_is_refused(tmp_path, capsys):
    import shutil

    import surveykit as sk

    mapping = tmp_path / "m.csv"  # a mapping with a data extension: still an input
    shutil.copy(sk.replica.mapping_path(), mapping)
    before = sha(mapping)
    code, err = run(["harmonise", str(sk.replica.path()), "--mapping", str(mapping),
                     "--out", str(mapping)], capsys)
    assert code == 2 and "overwrite an input" in err
    assert sha(mapping) == before


def test_replicate_out_folder_holding_an_input_is_refused(tmp_path, capsys):
    import shutil

    import surveykit as sk

    data = tmp_path / "survey.sav"
    shutil.copy(sk.replica.path(), data)
    before = sha(data)
    code, err = run(["replicate", "--data", str(data), "--mapping",
                     str(sk.replica.mapping_path()), "--out", str(tmp_path), "--no-report"],
                    capsys)
    assert code == 2 and "contains an input" in err and err.count("\n") == 1
    assert sha(data) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["survey.sav"]


def test_replica_check_cannot_overwrite_the_bundled_replica(capsys):
    import surveykit as sk

    folder = Path(sk.replica.path()).parent
    before = sha(sk.replica.path())
    code, err = run(["replica", "--out", str(folder), "--check"], capsys)
    assert code == 2 and "overwrite an input" in err
    assert sha(sk.replica.path()) == before


# -- every writer of the package goes through the atomic helper --------------------------------
WRITER_METHODS = {"to_csv", "to_parquet", "to_stata", "to_excel", "to_json", "to_pickle",
                  "write_text", "write_bytes", "savefig", "save", "write_sav", "write_dta",
                  "write_xport", "write_por", "dump"}
#: calls that write into a buffer or return text, or write the temporary file of atomic_path
ALLOWED = {("surveykit/replica/sav.py", "open"): "pin_timestamp patches the temporary file "
                                                    "inside atomic_path (write_sav)",
           ("surveykit/_reproducible.py", "open"): "pin_sav_header patches the temporary file "
                                                   "inside atomic_path (io.readers.write_sav)"}


def _writes(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, call) of calls that write a file outside an ``atomic_path`` block."""
    guarded: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.With) and any(
                isinstance(item.context_expr, ast.Call)
                and getattr(item.context_expr.func, "id", getattr(item.context_expr.func,
                                                                  "attr", "")) == "atomic_path"
                for item in node.items):
            guarded |= {id(n) for n in ast.walk(node)}
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or id(node) in guarded:
            continue
        name = getattr(node.func, "attr", getattr(node.func, "id", ""))
        if name == "open":
            mode = node.args[1] if len(node.args) > 1 else next(
                (k.value for k in node.keywords if k.arg == "mode"), None)
            if isinstance(mode, ast.Constant) and set(str(mode.value)) & set("wa+x"):
                found.append((node.lineno, "open"))
            continue
        if name not in WRITER_METHODS or not isinstance(node.func, ast.Attribute):
            continue
        target = node.args[0] if node.args else next(
            (k.value for k in node.keywords if k.arg in ("path", "path_or_buf", "fname")), None)
        if name == "to_csv" and (target is None or (isinstance(target, ast.Constant)
                                                   and target.value is None)):
            continue  # returns the text
        if isinstance(target, ast.Name) and target.id in ("buf", "buffer", "fh", "stream"):
            continue  # an in-memory buffer
        if name == "dump" and getattr(node.func.value, "id", "") != "json":
            continue
        if name in ("write_text", "write_bytes", "write_sav", "save") and isinstance(
                node.func.value, ast.Name) and node.func.value.id in ("_atomic", "sk", "plot"):
            continue
        if name == "save" and getattr(node.func.value, "attr", "") == "plot":
            continue  # sk.plot.save: save_figure, atomic
        found.append((node.lineno, name))
    return found


def test_every_writer_of_the_package_is_atomic():
    offenders = []
    files = sorted((ROOT / "surveykit").rglob("*.py")) + sorted((ROOT / "analyses").glob("*.py"))
    for path in files:
        rel = path.relative_to(ROOT).as_posix()
        if rel == "surveykit/_atomic.py":
            continue
        for line, name in _writes(ast.parse(path.read_text(encoding="utf-8"))):
            if (rel, name) not in ALLOWED:
                offenders.append(f"{rel}:{line} {name}")
    assert offenders == [], ("write through surveykit._atomic (atomic_path / write_text / "
                             "write_bytes): " + "; ".join(offenders))


def test_the_writer_scan_finds_direct_writes():
    code = ("df.to_csv(path)\nPath(p).write_text('x')\nfig.savefig(p)\nopen(p, 'w')\n"
            "pyreadstat.write_sav(df, p)\nwith atomic_path(p) as t:\n    df.to_csv(t)\n"
            "text = df.to_csv(index=False)\nfig.savefig(buf, format='png')\n")
    assert [n for _, n in _writes(ast.parse(code))] == [
        "to_csv", "write_text", "savefig", "open", "write_sav"]
