"""analyses/experiment_information.py and analyses/list_experiment_approval.py run alone, say
SYNTHETIC on every output, and write their tables, figures and methods text."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(script: str, out: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "analyses" / script), "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)


@pytest.mark.parametrize(("script", "folder", "tables", "figure"), [
    ("experiment_information.py", "experiment_information",
     ["balance", "effects_difference", "effects_lin", "effects_by_state_media",
      "published_comparison"], "effects_by_state_media"),
    ("list_experiment_approval.py", "list_experiment_approval",
     ["count_distribution", "design_effect_test", "prevalence", "direct_vs_list",
      "ml_coefficients", "ml_prevalence_by_age"], "count_distribution")])
def test_script_runs_and_labels_everything_synthetic(tmp_path, script, folder, tables, figure):
    proc = _run(script, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0].startswith("*** SYNTHETIC")
    out = tmp_path / folder
    for t in tables:
        frame = pd.read_csv(out / f"{t}.csv")
        assert (frame["data_source"].str.startswith("SYNTHETIC")).all(), t
    assert "SYNTHETIC" in (out / "methods.md").read_text(encoding="utf-8")
    assert (out / f"{figure}.png").stat().st_size > 10_000


def test_information_experiment_meets_the_registered_published_summary(tmp_path):
    assert _run("experiment_information.py", tmp_path).returncode == 0
    comp = pd.read_csv(tmp_path / "experiment_information" / "published_comparison.csv")
    assert comp["passed"].astype(bool).all()
    assert set(comp["published"]) == {7.5, -12.0}
