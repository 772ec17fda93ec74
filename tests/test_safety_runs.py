"""Multi-file runs are never a silent mix (issue 19, files part): staged run folders with a
manifest, foreign folders refused, interrupted runs leave the old complete run or the new one,
and a Hypothesis test of random --out choices over the commands."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import surveykit as sk
from surveykit import cli
from surveykit._runfolder import MANIFEST, RunFolder

ROOT = Path(__file__).resolve().parent.parent


def sha(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def files_of(folder: Path) -> dict[str, str]:
    """{relative path: sha256} of every file under ``folder``."""
    return {p.relative_to(folder).as_posix(): sha(p)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def complete_run(folder: Path) -> dict:
    """The manifest of ``folder`` after checking that it describes exactly the files there."""
    manifest = json.loads((folder / MANIFEST).read_text())
    assert manifest["completed"] is True and manifest["tool"] == "surveykit"
    listed = {o["path"]: o["sha256"] for o in manifest["outputs"]}
    found = files_of(folder)
    found.pop(MANIFEST)
    assert found == listed
    return manifest


def replicate(out: Path, *extra: str) -> int:
    return cli.main(["replicate", "--out", str(out), "--no-report", *extra])


# -- RunFolder -----------------------------------------------------------------------------------
def _run(out: Path, files: dict[str, str], **kw) -> list[Path]:
    folder = RunFolder(out, command="test", argv=["test"], inputs=[], known=("a", "b", "sub"),
                       **kw)
    with folder as stage:
        for rel, text in files.items():
            (stage / rel).parent.mkdir(parents=True, exist_ok=True)
            (stage / rel).write_text(text)
        return folder.commit()


def test_run_folder_replaces_the_previous_run_whole(tmp_path):
    out = tmp_path / "run"
    _run(out, {"a": "1", "sub/x": "old"})
    assert complete_run(out)["command_line"] == ["surveykit", "test"]
    made = _run(out, {"a": "2", "b": "3"})
    assert files_of(out).keys() == {"a", "b", MANIFEST}  # sub/x of the old run is gone
    assert sorted(p.name for p in made) == ["a", "b", MANIFEST]
    complete_run(out)
    assert [p.name for p in tmp_path.iterdir()] == ["run"]  # no staging left behind


def test_run_folder_refuses_foreign_files_and_force_leaves_them_alone(tmp_path):
    from surveykit.errors import InputFileError

    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.docx").write_text("months of work")
    with pytest.raises(InputFileError, match="not a surveykit run") as info:
        _run(out, {"a": "1"})
    assert "thesis.docx" in str(info.value) and "--force" in str(info.value)
    assert files_of(out) == {"thesis.docx": sha(out / "thesis.docx")}
    _run(out, {"a": "1", "sub/x": "x"}, force=True)
    _run(out, {"a": "2"}, force=True)  # sub/x of our earlier run removed, the thesis kept
    assert files_of(out).keys() == {"a", "thesis.docx", MANIFEST}
    assert (out / "thesis.docx").read_text() == "months of work"
    listed = {o["path"] for o in json.loads((out / MANIFEST).read_text())["outputs"]}
    assert listed == {"a"}


def test_an_interrupted_run_leaves_the_old_run(tmp_path):
    out = tmp_path / "run"
    _run(out, {"a": "1"})
    before = files_of(out)
    folder = RunFolder(out, command="test", argv=None, inputs=[], known=("a",))
    with pytest.raises(KeyboardInterrupt), folder as stage:
        (stage / "a").write_text("half")
        raise KeyboardInterrupt
    assert files_of(out) == before
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_leftovers_of_a_killed_run_are_tidied(tmp_path):
    out = tmp_path / "run"
    _run(out, {"a": "1"})
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    (tmp_path / f".run.sktmp-stage-{dead}-abcd").mkdir()
    # killed between the two renames of the fallback swap: the old run is moved back
    os.rename(out, tmp_path / f".run.sktmp-old-{dead}-abcd")
    RunFolder(out, command="test", argv=None, inputs=[], known=("a",))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
    complete_run(out)


# -- replicate -----------------------------------------------------------------------------------
def test_replicate_writes_a_manifest_and_removes_files_of_the_earlier_run(tmp_path, capsys):
    out = tmp_path / "replication"
    assert replicate(out) == 0
    first = complete_run(out)
    # as if the earlier run had had --sensitivity: a file it listed that this run does not make
    (out / "sensitivity").mkdir()
    (out / "sensitivity" / "cells.csv").write_text("old numbers\n")
    first["outputs"].append({"path": "sensitivity/cells.csv",
                             "sha256": sha(out / "sensitivity" / "cells.csv")})
    (out / MANIFEST).write_text(json.dumps(first))
    complete_run(out)
    assert first["command_line"][:2] == ["surveykit", "replicate"]
    assert first["surveykit_version"] == sk.__version__
    assert {"numpy", "pandas", "pyreadstat", "python"} <= set(first["libraries"])
    names = [i["name"] for i in first["inputs"]]
    assert names == ["replica.sav", "replica.yaml"]
    assert first["inputs"][0]["sha256"] == sha(sk.replica.path())
    assert replicate(out) == 0  # no --sensitivity: sensitivity/ must not look current
    second = complete_run(out)
    assert not (out / "sensitivity").exists()
    assert "Wrote" in capsys.readouterr().out
    assert {o["path"] for o in second["outputs"]} < {o["path"] for o in first["outputs"]}


def test_replicate_refuses_a_folder_of_foreign_files(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("keep me")
    (tmp_path / "data").mkdir()
    before = files_of(tmp_path)
    assert replicate(tmp_path) == 2
    err = capsys.readouterr().err
    assert "not a surveykit run" in err and "notes.txt" in err and "--force" in err
    assert err.count("\n") == 1
    assert files_of(tmp_path) == before


def test_replicate_force_writes_beside_foreign_files(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("keep me")
    assert replicate(tmp_path, "--force") == 0
    assert (tmp_path / "notes.txt").read_text() == "keep me"
    manifest = json.loads((tmp_path / MANIFEST).read_text())
    assert "notes.txt" not in {o["path"] for o in manifest["outputs"]}
    for o in manifest["outputs"]:
        assert sha(tmp_path / o["path"]) == o["sha256"]
    capsys.readouterr()


def test_replicate_over_a_run_of_an_earlier_version_without_manifest(tmp_path, capsys):
    out = tmp_path / "replication"
    assert replicate(out) == 0
    (out / MANIFEST).unlink()  # what surveykit wrote before manifests
    (out / "tables" / "old_table.csv").write_text("stale")
    assert replicate(out) == 0
    complete_run(out)
    assert not (out / "tables" / "old_table.csv").exists()
    capsys.readouterr()


def test_sensitivity_api_writes_a_staged_folder(tmp_path, monkeypatch):
    """write_sensitivity from Python stages sensitivity/ as a run of its own (the files
    themselves are tested in test_sensitivity.py)."""
    from surveykit import _sensitivity as module

    def fake(result, folder, provenance):
        folder.mkdir(parents=True, exist_ok=True)
        return {"cells": (folder / "cells.csv"), "markdown": folder / "sensitivity.md"} | {
            k: p.write_text(k) and p for k, p in (("cells", folder / "cells.csv"),
                                                  ("markdown", folder / "sensitivity.md"))}

    monkeypatch.setattr(module, "_write_sensitivity_files", fake)
    (tmp_path / "sensitivity").mkdir()
    (tmp_path / "sensitivity" / "changes.csv").write_text("stale, of an earlier version")
    made = module.write_sensitivity(object(), tmp_path, {})
    assert made == {"cells": tmp_path / "sensitivity" / "cells.csv",
                    "markdown": tmp_path / "sensitivity" / "sensitivity.md"}
    complete_run(tmp_path / "sensitivity")
    assert not (tmp_path / "sensitivity" / "changes.csv").exists()


# -- interrupting replicate ----------------------------------------------------------------------
def _kill_when(out: Path, ready, sig: int) -> subprocess.Popen:
    """Start `replicate --out out` in a new process; send ``sig`` when ``ready(staging)``."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"}
    proc = subprocess.Popen([sys.executable, "-m", "surveykit", "replicate", "--out", str(out)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        stages = list(out.parent.glob(f".{out.name}.sktmp-stage-{proc.pid}-*"))
        if stages and ready(stages[0]):
            proc.send_signal(sig)
            break
        time.sleep(0.005)
    proc.wait(timeout=300)
    _no_orphans(out)
    return proc


def _processes_writing(out: Path) -> list[int]:
    """Processes whose command line names ``out`` (the run and its figure workers)."""
    found = []
    for cmd in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if str(out).encode() in cmd.read_bytes():
                found.append(int(cmd.parent.name))
        except OSError:
            continue
    return found


def _no_orphans(out: Path) -> None:
    """The figure workers of a killed run end with it (within seconds), not sleep forever."""
    if not Path("/proc/self/cmdline").exists():
        return
    deadline = time.monotonic() + 10
    while (left := _processes_writing(out)) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid in left:  # never leave them behind, even when the check fails
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    assert not left, f"worker processes outlived the killed run: {left}"


def test_killing_replicate_leaves_the_old_complete_run_or_the_new_one(tmp_path, capsys):
    out = tmp_path / "replication"
    assert replicate(out) == 0  # an earlier complete run (no report)
    capsys.readouterr()
    old = files_of(out)
    complete_run(out)
    first_file = lambda s: any(p.is_file() for p in s.rglob("*"))  # noqa: E731
    mid_figures = lambda s: len(list((s / "figures").glob("*.png"))) >= 2  # noqa: E731
    killed = 0
    for what, ready, sig in (("after the first file", first_file, signal.SIGKILL),
                             ("mid-figures", mid_figures, signal.SIGKILL),
                             ("mid-figures", mid_figures, signal.SIGINT)):
        proc = _kill_when(out, ready, sig)
        now = files_of(out)
        complete_run(out)  # the old complete run, or (it finished first) the new one
        if now == old:
            killed += proc.returncode != 0
        else:  # the run finished before the signal: then it is the new complete run
            assert proc.returncode == 0 and (out / "report.html").exists(), what
            old = now
    assert killed >= 2  # the signals did arrive mid-run
    # the next run tidies what the killed ones left (staging folders) and completes
    assert replicate(out) == 0
    capsys.readouterr()
    complete_run(out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["replication"]


# -- random --out choices over every command -----------------------------------------------------
@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("inputs")
    shutil.copy(sk.replica.path(), root / "survey.sav")
    shutil.copy(sk.replica.mapping_path(), root / "mapping.yaml")
    rng = np.random.default_rng(1)
    n = 80
    pd.DataFrame({"id": [f"{i:05d}" for i in range(n)], "region": rng.integers(1, 4, n),
                  "weight": rng.uniform(0.5, 2, n)}).to_csv(root / "small.csv", index=False)
    (root / "targets.yaml").write_text("margins:\n  region: {1: 0.3, 2: 0.3, 3: 0.4}\n")
    (root / "foreign").mkdir()
    (root / "foreign" / "notes.txt").write_text("keep me")
    (root / "existing.csv").write_text("a,b\n1,2\n")
    return root


def _state(root: Path) -> dict[str, str]:
    return files_of(root)


OUT_CHOICES = ("input", "input_symlink", "input_hardlink", "inside_input_folder",
               "existing_file", "foreign_folder", "fresh")


def _out_for(choice: str, root: Path, scratch: Path, input_name: str, ext: str) -> Path:
    if choice == "input":
        return root / input_name
    if choice == "input_symlink":
        link = scratch / f"link{ext}"
        link.symlink_to(root / input_name)
        return link
    if choice == "input_hardlink":
        link = scratch / f"hard{ext}"
        os.link(root / input_name, link)
        return link
    if choice == "inside_input_folder":
        return root if ext == "" else root / "sub" / f"out{ext}"
    if choice == "existing_file":
        target = scratch / f"existing{ext or '.csv'}"
        shutil.copy(root / "existing.csv", target)
        return target
    if choice == "foreign_folder":
        return root / "foreign" if ext == "" else root / "foreign" / f"out{ext}"
    return scratch / f"fresh{ext}"


COMMANDS = {
    "weight": ("small.csv", ".csv", lambda r, o: ["weight", str(r / "small.csv"), "--targets",
                                                    str(r / "targets.yaml"), "--out", str(o)]),
    "weight_sav": ("survey.sav", ".sav",
                   lambda r, o: ["weight", str(r / "survey.sav"), "--targets",
                                 str(r / "targets_sav.yaml"), "--out", str(o)]),
    "harmonise": ("survey.sav", ".sav", lambda r, o: ["harmonise", str(r / "survey.sav"),
                                                      "--mapping", str(r / "mapping.yaml"),
                                                      "--out", str(o), "--quiet"]),
    "replicate": ("survey.sav", "", lambda r, o: ["replicate", "--data", str(r / "survey.sav"),
                                                  "--mapping", str(r / "mapping.yaml"),
                                                  "--out", str(o), "--no-report"]),
}


@settings(max_examples=18, deadline=None, suppress_health_check=list(HealthCheck))
@given(command=st.sampled_from(sorted(COMMANDS)), choice=st.sampled_from(OUT_CHOICES))
def test_random_out_choices_never_change_an_input(workspace, tmp_path_factory, command, choice):
    root = workspace
    (root / "targets_sav.yaml").write_text("margins:\n  S4: {1: 0.6, 2: 0.4}\n")
    scratch = tmp_path_factory.mktemp("scratch")
    input_name, ext, argv = COMMANDS[command]
    out = _out_for(choice, root, scratch, input_name, ext)
    before = _state(root)
    before_out = files_of(out) if out.is_dir() else (sha(out) if out.exists() else None)
    code = cli.main(argv(root, out))
    after = _state(root)
    produced = {k for k in after if k not in before}
    for name, digest in before.items():  # no input byte changed, nothing removed
        assert after.get(name) == digest, (command, choice, name)
    if choice.startswith("input"):
        assert code == 2, (command, choice)
    if code != 0:  # refused: nothing written anywhere
        assert produced == set(), (command, choice)
        if out.is_dir():
            assert files_of(out) == before_out
    elif ext == "":  # a run folder: complete and consistent
        complete_run(out) if choice != "foreign_folder" else None
    for p in produced:  # tidy for the next example
        (root / p).unlink()
    if (root / "sub").exists():
        shutil.rmtree(root / "sub")


def test_cli_subprocess_refuses_to_overwrite_its_input(workspace, tmp_path):
    before = sha(workspace / "survey.sav")
    proc = subprocess.run([sys.executable, "-m", "surveykit", "harmonise",
                           str(workspace / "survey.sav"), "--mapping",
                           str(workspace / "mapping.yaml"), "--out",
                           str(workspace / "survey.sav")],
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1 and "overwrite an input" in proc.stderr
    assert sha(workspace / "survey.sav") == before
