"""Issue 11 item 1: the synthetic flag comes from the data, on every path into an analysis.

Each test feeds a copy of the bundled replica through one route (the raw .sav with its own or a
user's mapping, a harmonised .sav, CSV exports with and without labels, renamed files, a data
frame) and checks that what comes out says "synthetic" — and that real-looking data do not.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import surveykit as sk
from surveykit.provenance import (
    DATA_SOURCE_COLUMN,
    SYNTHETIC_BANNER,
    has_replica_weights,
    synthetic_evidence,
)
from surveykit.replication import build_design, load_data

ROOT = Path(__file__).resolve().parents[1]
CANONICAL = ROOT / "tests" / "fixtures" / "r" / "replication_canonical.csv"


def _user_mapping(tmp_path: Path) -> Path:
    """The replica's mapping without its `synthetic` key, saved under a user's name."""
    spec = yaml.safe_load(Path(sk.replica.mapping_path()).read_text("utf-8"))
    spec.pop("synthetic")
    spec["study"] = "my_survey"
    out = tmp_path / "my_mapping.yaml"
    out.write_text(yaml.safe_dump(spec, sort_keys=False), "utf-8")
    return out


@pytest.fixture(scope="module")
def harmonised():
    return sk.harmonise(sk.read(sk.replica.path()), sk.replica.mapping_path())


def test_replicate_with_the_replica_as_data_says_synthetic_everywhere(tmp_path: Path) -> None:
    """The reported bug: --data <replica.sav> --mapping <its mapping> had no notice at all."""
    out = tmp_path / "out"
    data = tmp_path / "survey2018.sav"  # a renamed copy
    shutil.copy(sk.replica.path(), data)
    proc = subprocess.run([sys.executable, "-m", "surveykit", "replicate", "--data", str(data),
                           "--mapping", str(sk.replica.mapping_path()), "--out", str(out),
                           "--figure-formats", "png,svg,pdf"],
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"*** {SYNTHETIC_BANNER}")
    md = (out / "replication.md").read_text("utf-8")
    assert SYNTHETIC_BANNER in md and "| is_replica | True |" in md
    assert "| Synthetic replica | yes |" in (out / "report.md").read_text("utf-8")
    assert SYNTHETIC_BANNER in (out / "report.html").read_text("utf-8")
    for table in (out / "tables").glob("*.md"):
        assert "Synthetic replica" in table.read_text("utf-8"), table.name
    for model in (out / "models").glob("*.md"):
        assert "Synthetic replica" in model.read_text("utf-8"), model.name
    svgs = sorted((out / "figures").glob("*.svg"))
    assert svgs and all("synthetic-banner" in p.read_text("utf-8") for p in svgs)
    assert len(svgs) == len(list((out / "figures").glob("*.pdf"))) == len(
        list((out / "figures").glob("*.png")))
    assert '"is_replica": true' in (out / "replication.json").read_text("utf-8")


def test_harmonised_sav_copy_is_recognised_by_its_file_label(harmonised, tmp_path) -> None:
    path = harmonised.write(tmp_path / "canonical.sav")
    renamed = path.rename(tmp_path / "clean_2018.sav")
    frame, prov = load_data(renamed)
    assert prov["is_replica"] and "file label" in prov["synthetic_evidence"]
    assert build_design(frame).is_synthetic


@pytest.mark.parametrize("suffix", [".csv", ".sav"])
def test_exports_carry_a_data_source_column(harmonised, tmp_path, suffix) -> None:
    path = harmonised.write(tmp_path / f"canonical{suffix}")
    raw = sk.read(path)
    assert (raw.data[DATA_SOURCE_COLUMN].str.contains("SYNTHETIC")).all()
    copy = path.rename(tmp_path / f"mine{suffix}")
    frame, prov = load_data(copy)
    assert prov["is_replica"]
    assert build_design(frame).is_synthetic


def test_csv_export_without_labels_is_recognised_by_its_weights(tmp_path) -> None:
    """pandas to_csv of the replica keeps neither label nor data_source column."""
    plain = sk.replica.load_replica()
    plain.attrs.clear()
    path = tmp_path / "export.csv"
    plain.to_csv(path, index=False)
    _frame, prov = load_data(path)
    assert prov["is_replica"] and "weights" in prov["synthetic_evidence"]
    # shuffled and subset: still the replica's respondents
    part = plain.sample(frac=0.3, random_state=1)
    part.to_csv(path, index=False)
    assert load_data(path)[1]["is_replica"]


def test_raw_replica_with_a_users_mapping_is_recognised(tmp_path) -> None:
    """A renamed mapping without `synthetic: true`: the raw file's label still says so; after a
    CSV round trip of the raw file (no label) its weights do."""
    mapping = _user_mapping(tmp_path)
    frame, prov = load_data(sk.replica.path(), mapping)
    assert prov["is_replica"] and "file label" in prov["synthetic_evidence"]
    raw_csv = tmp_path / "raw.csv"
    sk.read(sk.replica.path()).data.to_csv(raw_csv, index=False)
    frame, prov = load_data(raw_csv, mapping)
    assert prov["is_replica"] and "weights" in prov["synthetic_evidence"]
    assert build_design(frame).is_synthetic


def test_data_frame_and_analysis_script_paths(tmp_path) -> None:
    _frame, prov = load_data(sk.replica.load_replica())
    assert prov["is_replica"]
    data = tmp_path / "copy.sav"
    shutil.copy(sk.replica.path(), data)
    proc = subprocess.run([sys.executable, str(ROOT / "analyses" / "prose_figures.py"),
                           "--data", str(data), "--mapping", str(_user_mapping(tmp_path)),
                           "--out", str(tmp_path / "o")],
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0] == f"*** {SYNTHETIC_BANNER} ***"
    assert "Synthetic replica" in (tmp_path / "o" / "tables" / "prose.md").read_text("utf-8")


def test_real_looking_data_are_not_flagged() -> None:
    frame, prov = load_data(CANONICAL)
    assert not prov["is_replica"] and prov["synthetic_evidence"] is None
    assert not build_design(frame).is_synthetic
    # the replica's respondents with other weights are not the replica's weights
    other = sk.replica.load_replica()
    other.attrs.clear()
    rng = np.random.default_rng(5)
    other["weight"] = np.round(rng.uniform(0.3, 3.0, len(other)), 6)
    assert synthetic_evidence(other) is None
    assert not has_replica_weights(np.ones(5000))
    assert not has_replica_weights(pd.Series(["a", "b"]))
