"""Each analysis script in analyses/ runs alone (subprocess) and writes its table or models."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from surveykit.published import load_registry
from surveykit.replication import SYNTHETIC_BANNER

ROOT = Path(__file__).resolve().parents[1]
ANALYSES = ROOT / "analyses"
CANONICAL = ROOT / "tests" / "fixtures" / "r" / "replication_canonical.csv"

TABLE_SCRIPTS = {
    "fig_5_4_approval_by_group.py": "fig_5_4",
    "fig_5_5_scs_manager.py": "fig_5_5",
    "fig_5_6_data_trust.py": "fig_5_6",
    "fig_5_8_behaviour_by_type.py": "fig_5_8",
    "fig_5_9_behaviour_items.py": "fig_5_9",
    "fig_5_10_behaviour_by_demographics.py": "fig_5_10",
    "prose_figures.py": "prose",
}
MODEL_SCRIPTS = {
    "models_approval.py": ("approval_ordinal",),
    "models_behaviour.py": ("bc_index_negbin", "any_change_logit"),
}


def _run(script: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ANALYSES / script), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=300, check=False)


def test_every_published_table_has_a_script() -> None:
    assert sorted(TABLE_SCRIPTS.values()) == load_registry().tables()
    scripts = {p.name for p in ANALYSES.glob("*.py")}
    # two_studies.py (several studies at once) is tested in tests/test_studies.py
    # mi_approval_model.py (multiple imputation) is tested in tests/test_mi_analysis.py;
    # experiment_information.py / list_experiment_approval.py: tests/test_experiment_analyses.py
    assert scripts == set(TABLE_SCRIPTS) | set(MODEL_SCRIPTS) | {
        "two_studies.py", "beyond_published_tables.py", "mi_approval_model.py",
        "experiment_information.py", "list_experiment_approval.py"}


@pytest.mark.parametrize("script", sorted(TABLE_SCRIPTS))
def test_table_script_on_replica(script: str, tmp_path: Path) -> None:
    table_id = TABLE_SCRIPTS[script]
    proc = _run(script, "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0] == f"*** {SYNTHETIC_BANNER} ***"
    n = len(load_registry().table(table_id))
    csv = pd.read_csv(tmp_path / "tables" / f"{table_id}.csv", comment="#")
    assert len(csv) == n
    replicable = csv["passed"].notna()
    assert replicable.any() and csv.loc[replicable, "passed"].astype(bool).all()
    assert f"{table_id}: {n - (~replicable).sum()} of {replicable.sum()} cells" in proc.stdout
    for ext in ("md", "tex"):
        assert SYNTHETIC_BANNER.split(" —")[0] in (tmp_path / "tables" /
                                                  f"{table_id}.{ext}").read_text("utf-8")


@pytest.mark.parametrize("script", sorted(MODEL_SCRIPTS))
def test_model_script_on_replica(script: str, tmp_path: Path) -> None:
    proc = _run(script, "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    for name in MODEL_SCRIPTS[script]:
        tidy = pd.read_csv(tmp_path / "models" / f"{name}.csv", comment="#")
        assert len(tidy) > 5 and tidy["estimate"].notna().all()
        assert f"{name}: N = " in proc.stdout


def test_table_script_on_a_user_file_has_no_banner(tmp_path: Path) -> None:
    proc = _run("fig_5_4_approval_by_group.py", "--data", str(CANONICAL), "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert "Synthetic" not in proc.stdout
    text = (tmp_path / "tables" / "fig_5_4.csv").read_text("utf-8")
    assert not text.startswith("#") and "Synthetic" not in text
    assert len(pd.read_csv(tmp_path / "tables" / "fig_5_4.csv")) == 35


def test_beyond_published_tables_on_replica(tmp_path: Path) -> None:
    """The worked methods-section analysis (issue 12): contrast, quantile, wald_test,
    predictions with SEs, margins and multinom on the replica, every output labelled."""
    proc = _run("beyond_published_tables.py", "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0] == f"*** {SYNTHETIC_BANNER} ***"
    out = tmp_path / "beyond_published_tables"
    assert "not findings about China" in (out / "methods.md").read_text("utf-8")

    def read(stem: str) -> pd.DataFrame:
        t = pd.read_csv(out / f"{stem}.csv")
        assert (t["data_source"] == "synthetic replica").all()
        return t

    means = read("approval_by_region").set_index("region_name")
    diff = read("approval_west_minus_east").iloc[0]
    assert diff["estimate"] == pytest.approx(means.loc["West", "estimate"]
                                             - means.loc["East", "estimate"], abs=2e-6)
    # independent regions (no clusters): Var(West - East) = Var(West) + Var(East)
    assert diff["std_error"] ** 2 == pytest.approx(
        (means.loc[["West", "East"], "std_error"] ** 2).sum(), rel=1e-4)
    med = read("internet_hours_median").iloc[0]
    assert med["ci_low"] <= med["estimate"] <= med["ci_high"]
    wald = read("approval_ordinal_education_wald").iloc[0]
    assert wald["df"] == 3 and 0 < wald["p_value"] < 1
    probs = read("urban_graduate_category_probabilities")
    assert probs["estimate"].sum() == pytest.approx(1.0, abs=1e-9) and len(probs) == 5
    rrr = read("manager_multinom_rrr")
    assert sorted(rrr["outcome"].unique()) == ["local government", "other / don't know",
                                               "private companies"]
    assert (rrr["estimate"] > 0).all() and len(rrr) == 3 * 14
    profiles = read("manager_profiles")
    shares = profiles[["central government", "local government", "private companies",
                       "other / don't know"]].sum(axis=1)
    assert np.allclose(shares, 1.0)
    central = read("manager_profiles_central_se")
    np.testing.assert_allclose(central["estimate"], profiles["central government"], atol=1e-6)
    gap = read("manager_trust_gap").iloc[0]
    assert gap["estimate"] == pytest.approx(central["estimate"][0] - central["estimate"][1],
                                            abs=2e-6)
