"""analyses/mi_approval_model.py runs alone on the replica and writes its labelled outputs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def test_mi_approval_model_script(tmp_path: Path) -> None:
    run = subprocess.run([sys.executable, str(ROOT / "analyses" / "mi_approval_model.py"),
                          "--out", str(tmp_path), "--m", "3", "--iterations", "3"],
                         cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    assert run.returncode == 0, run.stderr
    assert "Synthetic replica" in run.stdout and "m = 3 multiple imputations (PMM)" in run.stdout
    out = tmp_path / "mi"
    table = pd.read_csv(out / "approval_cc_vs_mi.csv")
    assert (table["data_source"] == "synthetic replica").all()
    assert {"cc_estimate", "mi_estimate", "mi_fmi"} <= set(table.columns)
    # refused covariates imputed: the imputed fit uses more respondents than complete cases
    side = json.loads((out / "approval_cc_vs_mi.json").read_text())
    assert side["synthetic"] and side["m"] == 3
    assert set(side["imputed"]) == {"income_group", "education", "gender"}
    md = (out / "approval_cc_vs_mi.md").read_text()
    assert "not findings about China" in md and "excluded 539" in md
    assert (out / "imputation_report.png").stat().st_size > 10_000
