"""`surveykit replica --check` on a fresh install, and the replica command's bad arguments."""

from __future__ import annotations

import json
from pathlib import Path

import pyreadstat
import pytest

from surveykit import cli
from surveykit.errors import ValidationError
from surveykit.replica import build, built_with, path, sidecar_path
from surveykit.replica.check import compare
from surveykit.replica.sav import WEIGHT_COLUMN

RECORDED = json.loads(sidecar_path().read_text())["build"]["built_with"]


def _copy_with_weights_shifted(tmp_path: Path, shift: float) -> Path:
    data, _ = pyreadstat.read_sav(str(path()), user_missing=True)
    data[WEIGHT_COLUMN] = data[WEIGHT_COLUMN] + shift
    out = tmp_path / f"shifted_{shift:g}.sav"
    pyreadstat.write_sav(data, str(out))
    return out


def test_same_versions_compare_bytes() -> None:
    res = compare(path(), path(), sidecar_path(), dict(RECORDED))
    assert res.identical and res.method == "bytes" and "byte for byte" in res.line()


def test_other_versions_compare_respondents_and_weights(tmp_path: Path) -> None:
    """pyreadstat 1.3.8 writes the weights 1e-10 differently: still the same replica."""
    fresh = {**RECORDED, "pyreadstat": "9.9.9"}
    near = _copy_with_weights_shifted(tmp_path, 1e-10)
    assert near.read_bytes() != path().read_bytes()
    res = compare(near, path(), sidecar_path(), fresh)
    assert res.identical and res.method == "content"
    assert "pyreadstat 9.9.9 here vs" in res.detail and "respondents identical" in res.detail
    far = _copy_with_weights_shifted(tmp_path, 1e-6)
    res = compare(far, path(), sidecar_path(), fresh)
    assert not res.identical and "NOT within 1e-09" in res.detail
    # under the recorded versions the bytes decide, and the reason is named
    res = compare(near, path(), sidecar_path(), dict(RECORDED))
    assert not res.identical and res.method == "bytes" and "bytes differ" in res.detail


def test_changed_answers_are_named(tmp_path: Path) -> None:
    data, _ = pyreadstat.read_sav(str(path()), user_missing=True)
    data.loc[0, "Q5"] = 6 - data.loc[0, "Q5"] if data.loc[0, "Q5"] != 3 else 1
    out = tmp_path / "edited.sav"
    pyreadstat.write_sav(data, str(out))
    res = compare(out, path(), sidecar_path(), {"pyreadstat": "0"})
    assert not res.identical and "Q5" in res.detail


@pytest.mark.parametrize("seed", ["-5", "-1"])
def test_negative_seed_is_one_line_exit_2(seed: str, tmp_path: Path, capsys) -> None:
    assert cli.main(["replica", "--out", str(tmp_path), "--seed", seed]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "non-negative" in err and seed in err
    assert not any(tmp_path.iterdir())  # refused before any work
    with pytest.raises(ValidationError):
        build(int(seed))


def test_versions_recorded_are_the_keys_built_with_reports() -> None:
    assert set(RECORDED) == set(built_with())
