"""Tests of surveykit.replication: compute_table against R, the comparison rule, the pipeline on
the bundled replica (strict pass, byte-identical outputs, banner), a user-style .sav re-coded by a
different mapping, and the `surveykit replicate` command."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import surveykit as sk
from surveykit.cli import main as cli_main
from surveykit.errors import MappingError, ReplicationError, WeightingError
from surveykit.published import load_registry
from surveykit.replication import (
    COMPARISON_COLUMNS,
    SYNTHETIC_BANNER,
    build_design,
    compare_cells,
    compute_table,
    load_data,
    run,
)
from surveykit.replication import tables as tables_module
from surveykit.replication.pipeline import MARGIN_COLUMNS, margin_shares

R_FIXTURES = Path(__file__).parent / "fixtures" / "r"
POS = ["pos_shopping", "pos_content", "pos_volunteer", "pos_donate", "pos_mobile_pay",
       "pos_other"]
NEG = ["neg_shopping", "neg_content", "neg_traffic", "neg_gaming", "neg_unfriend", "neg_other"]
ESTIMATES = ["computed", "std_error", "ci_low", "ci_high"]
#: the registry tables in the R cross-check (tests/fixtures/r/replication_cells.csv)
R_TABLES = ("fig_5_4", "fig_5_5", "fig_5_6", "fig_5_8", "prose")


def canonical_frame(n: int = 400, seed: int = 20180401) -> pd.DataFrame:
    """A small hand-made canonical frame (random codes, NOT the replica) for the R cross-check.

    Written to tests/fixtures/r/replication_canonical.csv, which tests/r/fixtures_replication.R
    reads; a test below checks that the committed file is still this frame.
    """
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"resp_id": np.arange(1, n + 1),
                       "weight": rng.uniform(0.5, 2.0, n).round(4)})
    approval = rng.choice([1, 2, 3, 4, 5], n, p=[0.04, 0.06, 0.2, 0.3, 0.4]).astype(float)
    approval[rng.uniform(size=n) < 0.03] = np.nan  # a few "don't know": excluded as a domain
    df["approval"] = approval
    for v in ["sesame", "tencent", "gov_pilot", "pilot_locality", "urban", "party_member"]:
        df[v] = rng.integers(0, 2, n).astype(float)
    df["commercial"] = np.maximum(df["sesame"], df["tencent"])
    df["scs_manager"] = rng.integers(1, 6, n).astype(float)
    df["age"] = rng.integers(14, 66, n).astype(float)
    df["age_group"] = np.select([df["age"] <= 30, df["age"] <= 50], [1, 2], 3).astype(float)
    df["income_group"] = rng.integers(1, 4, n).astype(float)
    df["education"] = rng.integers(1, 5, n).astype(float)
    df["region"] = rng.integers(1, 4, n).astype(float)
    df["gender"] = rng.integers(1, 3, n).astype(float)
    for v in ["online_shopping", "trust_central", "fairness", "score_vs_peers"]:
        df[v] = rng.integers(1, 6, n).astype(float)
    df["internet_hours"] = rng.uniform(0, 10, n).round(2)
    module = rng.uniform(size=n) < 0.7
    df["behaviour_module"] = module.astype(float)
    for v in POS + NEG:
        df[v] = np.where(module, (rng.uniform(size=n) < 0.12).astype(float), np.nan)
    pos, neg = df[POS].sum(axis=1, min_count=1), df[NEG].sum(axis=1, min_count=1)
    df["any_positive"] = (pos > 0).astype(float).where(pos.notna())
    df["any_negative"] = (neg > 0).astype(float).where(neg.notna())
    df["any_change"] = ((pos + neg) > 0).astype(float).where(pos.notna())
    df["bc_index"] = pos + neg
    df["bc_direction"] = pos - neg
    # issue 15 attitude items (drawn last, so the columns above keep their values)
    for v in ["peer_score_influence", "mutual_mistrust", "data_trust_central",
              "data_trust_provincial"]:
        df[v] = rng.integers(1, 6, n).astype(float)
    df.loc[df["score_vs_peers"] <= 1, "peer_score_influence"] = np.nan  # a few not asked
    return df


@pytest.fixture(scope="module")
def canonical() -> pd.DataFrame:
    return pd.read_csv(R_FIXTURES / "replication_canonical.csv")


@pytest.fixture(scope="module")
def replica_frame() -> pd.DataFrame:
    frame, provenance = load_data()
    assert provenance["is_replica"] is True
    return frame


@pytest.fixture(scope="module")
def replica_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[sk.Any, Path]:
    out = tmp_path_factory.mktemp("replica_run")
    return run(out=out, strict=True), out  # with the report, as `surveykit replicate` does


# -- compute_table against R ----------------------------------------------------------------------
def test_committed_canonical_fixture_is_the_generator_output(canonical: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(canonical, canonical_frame(), check_dtype=False)


def test_compute_table_matches_r(canonical: pd.DataFrame) -> None:
    """Every percent (single and multi-code, bound) and mean cell of Figures 5.4-5.6, 5.8 and
    the prose numbers agrees with R's svymean / svyciprop(method="logit") on domain subsets."""
    expected = pd.read_csv(R_FIXTURES / "replication_expected.csv")
    design = sk.SurveyDesign(canonical, weights="weight")
    got = pd.concat([compute_table(t, design) for t in R_TABLES])
    merged = expected.merge(got, on=["table_id", "row_id", "group_id"], suffixes=("_r", ""))
    assert len(merged) == len(expected) == len(got) == 89
    for col in ESTIMATES:
        np.testing.assert_allclose(merged[col], merged[f"{col}_r"],
                                   rtol=1e-4 if col == "std_error" else 1e-6, atol=1e-12)
    assert (merged["n_unweighted"] == merged["n_unweighted_r"]).all()
    assert (merged["group_n"] == merged["group_n_r"]).all()


# a leave-one-out replicate can empty the 1-respondent corner of a small domain; the estimator
# warns and discards it, as R's svymean does with NaN replicates
@pytest.mark.filterwarnings("ignore:.*replicate.*discarded:UserWarning")
def test_compute_table_on_a_replicate_design_matches_r(canonical: pd.DataFrame) -> None:
    """The same cells from the JK1 replicate design: same estimates, R's JK1 standard errors."""
    expected = pd.read_csv(R_FIXTURES / "replication_expected.csv")
    design = sk.SurveyDesign(canonical, weights="weight").replicate("jk1")
    got = pd.concat([compute_table(t, design) for t in R_TABLES])
    merged = expected.merge(got, on=["table_id", "row_id", "group_id"], suffixes=("_r", ""))
    assert len(merged) == 89
    np.testing.assert_allclose(merged["computed"], merged["computed_r"], rtol=1e-6)
    np.testing.assert_allclose(merged["std_error"], merged["std_error_jk1"], rtol=1e-4,
                               atol=1e-12)


def test_compute_table_columns_and_differences(canonical: pd.DataFrame) -> None:
    design = sk.SurveyDesign(canonical, weights="weight")
    table = compute_table("fig_5_4", design)
    assert list(table.columns[: len(COMPARISON_COLUMNS)]) == list(COMPARISON_COLUMNS)
    assert len(table) == 35  # 5 approval codes x 7 groups, as published
    np.testing.assert_allclose(table["difference"], table["computed"] - table["published"])
    # the five approval shares of each group add up to 100 %
    sums = table.groupby("group_id", sort=False)["computed"].sum()
    np.testing.assert_allclose(sums, 100.0, rtol=1e-12)


def test_each_domain_and_variable_estimated_once(canonical: pd.DataFrame,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = tables_module.proportion

    def counting(design: sk.Any, var: str, *args: sk.Any, **kwargs: sk.Any) -> pd.DataFrame:
        calls.append(var)
        return real(design, var, *args, **kwargs)

    monkeypatch.setattr(tables_module, "proportion", counting)
    design = sk.SurveyDesign(canonical, weights="weight")
    compute_table("fig_5_4", design)
    assert calls == ["approval"] * 7  # 35 cells, 7 domains, one proportion() call each


def test_missing_variable_makes_cells_not_replicable(canonical: pd.DataFrame) -> None:
    design = sk.SurveyDesign(canonical.drop(columns=["scs_manager"]), weights="weight")
    table = compute_table("fig_5_5", design)
    manager = table[table["var"] == "scs_manager"]
    assert len(manager) == 4
    assert manager["passed"].isna().all() and manager["computed"].isna().all()
    assert manager["reason"].str.contains("scs_manager").all()
    others = compute_table("prose", design)
    assert others.loc[others["var"] == "approval", "computed"].notna().all()


# -- the comparison rule --------------------------------------------------------------------------
def test_compare_cells_rounding_bounds_and_not_comparable() -> None:
    # 48.885 rounds to 48.89 (within half a unit of the second decimal); 48.896 does not
    diff, passed = compare_cells(
        published=[48.89, 48.89, 2.0, 2.0, 94.1, 60.0],
        computed=[48.885, 48.896, 1.7, 2.3, 94.14, 55.0],
        tolerance=[0.005, 0.005, 0.0, 0.0, 0.05, 0.5],
        bound=[None, None, "upper", "upper", None, None],
        comparable=[True, True, True, True, True, False])
    np.testing.assert_allclose(diff[:2], [-0.005, 0.006], atol=1e-12)
    assert passed.tolist()[:5] == [True, False, True, False, True]
    assert passed.isna().tolist() == [False] * 5 + [True]


# -- the pipeline on the bundled replica ----------------------------------------------------------
def test_replica_strict_run_passes_every_replicable_cell(replica_run: tuple) -> None:
    result, _ = replica_run
    registry = load_registry()
    assert result.is_replica
    assert set(result.tables) == set(registry.tables())
    assert len(result.cells) == len(registry.cells())
    replicable = registry.cells()
    n_expected = int((replicable["replicable"] & replicable["consistent"]).sum())
    assert result.n_replicable == n_expected
    assert result.n_failed == 0
    assert result.summary.startswith(f"{n_expected} of {n_expected} cells within rounding")
    assert set(result.models) == {"approval_ordinal", "bc_index_negbin", "any_change_logit"}
    model = result.models["bc_index_negbin"]
    assert model.nobs + model.n_missing == 1581  # the behaviour module, exclusions counted
    assert len(result.weights) == 2209


def test_replica_outputs_written(replica_run: tuple) -> None:
    result, out = replica_run
    for table_id in result.tables:
        for ext in ("csv", "md", "tex"):
            assert (out / "tables" / f"{table_id}.{ext}").is_file()
    for name in result.models:
        for ext in ("csv", "md", "tex"):
            assert (out / "models" / f"{name}.{ext}").is_file()
    data = json.loads((out / "replication.json").read_text(encoding="utf-8"))
    assert data["n_failed"] == 0 and data["summary"] == result.summary
    first = data["tables"]["fig_5_4"]["cells"][0]
    assert first["published"] == 0.6 and first["passed"] is True
    csv = pd.read_csv(out / "tables" / "fig_5_4.csv")
    np.testing.assert_allclose(csv["computed"], result.tables["fig_5_4"]["computed"], atol=1e-6)
    assert f"**{result.summary}.**" in (out / "replication.md").read_text(encoding="utf-8")


def test_banner_in_every_replica_output(replica_run: tuple) -> None:
    _, out = replica_run
    files = sorted([*out.glob("tables/*"), *out.glob("models/*"), *out.glob("replication.*")])
    # csv, md, tex and the csv's json sidecar per table and model
    assert len(files) == len(load_registry().tables()) * 4 + 3 * 4 + 2
    for path in files:
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".csv":  # plain CSV: the data_source column says synthetic
            assert set(pd.read_csv(path)["data_source"]) == {"synthetic replica"}, path
        elif path.suffix == ".tex":
            assert SYNTHETIC_BANNER.replace("—", "---") in text.split(r"\caption{")[1], path
        elif path.suffix == ".json":
            assert json.loads(text)["banner"] == SYNTHETIC_BANNER
        else:
            assert f"> **{SYNTHETIC_BANNER}" in text, path


def test_every_csv_reads_with_defaults(replica_run: tuple) -> None:
    """pandas.read_csv with its defaults reads every CSV (no comment lines); each has its
    sidecar .json with the provenance and the published source cited by author and page."""
    result, out = replica_run
    csvs = sorted(out.rglob("*.csv"))
    assert len(csvs) == len(result.tables) + len(result.models)
    for path in csvs:
        frame = pd.read_csv(path)
        assert not frame.columns[0].startswith("#"), path
        assert len(frame) > 0 and frame["data_source"].eq("synthetic replica").all(), path
        side = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
        assert side["file"] == path.name and side["synthetic"] is True
        assert side["provenance"]["input_sha256"] == result.provenance["input_sha256"]
        assert side["columns"] == list(frame.columns)
    fig = json.loads((out / "tables" / "fig_5_4.json").read_text(encoding="utf-8"))
    assert fig["published_source"].startswith("Kostka (2019)") and "p. 13" in fig[
        "published_source"]
    text = "\n".join(p.read_text(encoding="utf-8") for p in out.rglob("*")
                     if p.suffix in (".md", ".tex", ".json"))
    assert "seed text" not in text and "Figure 5.4 of" not in text


@pytest.mark.skipif(shutil.which("Rscript") is None, reason="R not installed")
def test_r_read_csv_reads_every_csv(replica_run: tuple) -> None:
    _, out = replica_run
    script = ("for (f in commandArgs(TRUE)) { d <- read.csv(f); "
              "cat(basename(f), nrow(d), ncol(d), unique(d$data_source), sep='\\t'); cat('\\n') }")
    csvs = sorted(out.rglob("*.csv"))
    proc = subprocess.run(["Rscript", "-e", script, *map(str, csvs)], capture_output=True,
                          text=True, check=True)
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == len(csvs)
    for path, line in zip(csvs, lines, strict=True):
        frame = pd.read_csv(path)
        assert line.split("\t") == [path.name, str(len(frame)), str(frame.shape[1]),
                                     "synthetic replica"]


def test_outputs_byte_identical_across_runs(tmp_path: Path, replica_run: tuple) -> None:
    _, first = replica_run
    second = tmp_path / "second"
    run(out=second)
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file())
    for rel in files:
        assert (first / rel).read_bytes() == (second / rel).read_bytes(), rel


def test_replica_run_reports_its_calibration_margins(replica_run: tuple,
                                                     replica_frame: pd.DataFrame) -> None:
    from surveykit.replica import calibration_margins

    result, out = replica_run
    margins = result.weighting["margins"]
    targets = calibration_margins()
    assert list(margins.columns) == list(MARGIN_COLUMNS)
    assert len(margins) == sum(len(v) for v in targets.values()) == 10
    np.testing.assert_allclose(margins["weighted_share"], margins["target_share"], rtol=0,
                               atol=1e-6)
    expected = [targets[v][int(c)] for v, c in zip(margins["variable"], margins["category"],
                                                   strict=True)]
    # (margin_table renormalises the targets, which the sidecar stores to 10 digits)
    np.testing.assert_allclose(margins["target_share"], expected, rtol=0, atol=1e-9)
    # the unweighted shares are the sample's own (not the targets): by hand from the frame
    frame = replica_frame
    urban = margins[margins["variable"] == "urban"].set_index("category")
    assert urban.loc[1, "unweighted_share"] == pytest.approx((frame["urban"] == 1).mean())
    assert urban.loc[1, "label"] == "urban"
    gender = margins[margins["variable"] == "gender"]
    assert (gender["n_missing"] == frame["gender"].isna().sum()).all()
    assert gender["n_unweighted"].sum() + gender["n_missing"].iloc[0] == 2209
    data = json.loads((out / "replication.json").read_text(encoding="utf-8"))
    assert len(data["weighting"]["margins"]) == 10
    report = (out / "report.md").read_text(encoding="utf-8")
    section = report.split("Margins: sample, weighted and target shares")[1]
    assert "No calibration margins" not in section.split("## Provenance")[0]


def test_user_targets_fill_the_margin_table(replica_frame: pd.DataFrame) -> None:
    design = build_design(replica_frame)
    assert margin_shares(design, {}).empty
    table = margin_shares(design, {"urban": {0: 30.0, 1: 70.0}})  # totals are normalised
    w, urban = replica_frame["weight"], replica_frame["urban"]
    assert table["target_share"].tolist() == pytest.approx([0.3, 0.7])
    assert table["weighted_share"].iloc[1] == pytest.approx(w[urban == 1].sum() / w.sum())
    assert table["difference"].iloc[1] == pytest.approx(w[urban == 1].sum() / w.sum() - 0.7)
    with pytest.raises(WeightingError, match="not found"):
        margin_shares(design, {"no_such_column": {1: 1.0}})


# -- a user-style file re-coded by a different mapping ---------------------------------------------
def _recoded_sav(frame: pd.DataFrame, folder: Path) -> tuple[Path, Path]:
    """Write the canonical frame as a 'user' .sav with other names, approval reversed and other
    missing codes, plus a mapping that undoes all of it. Derived variables whose inputs are in
    the frame are left out (the codebook derives them again)."""
    from surveykit.dictionary import combine, load_codebook
    from surveykit.io import write_sav

    cb = combine(load_codebook(n) for n in ("approval", "behaviour"))
    inputs = {"region": "province", "age_group": "age"}  # other derived: the 12 items
    keep = [c for c in frame.columns if c in cb.variables and (
        cb.variables[c].derive is None or inputs.get(c, "-") not in frame.columns)]
    raw = pd.DataFrame(index=frame.index)
    rules: dict[str, dict] = {}
    missing_ranges: dict[str, list] = {}
    for i, name in enumerate(keep):
        col = f"V{i:02d}_{name[:3].upper()}"
        values = frame[name]
        if name == "resp_id":
            raw["RESPNO"] = values
            continue
        if not pd.api.types.is_numeric_dtype(values):
            raw[col] = values.astype(object).where(values.notna(), "")
            rules[name] = {"from": col}
            continue
        if name == "approval":  # reversed scale, "don't know" = 99 declared user-missing
            raw[col] = (6 - values).fillna(99)
            missing_ranges[col] = [99]
            rules[name] = {"from": col, "recode": {1: 5, 2: 4, 3: 3, 4: 2, 5: 1}}
        elif name in POS + NEG:  # "not asked" = -7, undeclared: the mapping names it
            raw[col] = values.fillna(-7)
            rules[name] = {"from": col, "missing": {-7: "not asked"}}
        else:
            raw[col] = values
            rules[name] = {"from": col}
    sav = write_sav(raw, folder / "user_survey.sav", missing_ranges=missing_ranges)
    mapping = {"study": "user_recoded", "codebooks": ["approval", "behaviour"], "id": "RESPNO",
               "variables": rules}
    path = folder / "user_mapping.yaml"
    path.write_text(yaml.safe_dump(mapping, sort_keys=False), encoding="utf-8")
    return sav, path


def test_recoded_sav_gives_identical_tables(tmp_path: Path, replica_frame: pd.DataFrame,
                                            replica_run: tuple) -> None:
    result, _ = replica_run
    sav, mapping = _recoded_sav(replica_frame, tmp_path)
    raw = sk.read(sav)
    assert raw.data.columns[1] != "weight" and "approval" not in raw.data.columns
    frame, provenance = load_data(sav, mapping)
    assert provenance["mapping"] == "user_mapping.yaml"
    # renamed, recoded and unlabelled, the data are still the replica: its weights say so
    assert provenance["is_replica"] is True and "weights" in provenance["synthetic_evidence"]
    design = build_design(frame)
    for table_id, expected in result.tables.items():
        got = compute_table(table_id, design)
        pd.testing.assert_frame_equal(got.drop(columns=["reason"]),
                                      expected.drop(columns=["reason"]), rtol=1e-12)


def test_user_file_outputs_have_no_banner(tmp_path: Path, replica_frame: pd.DataFrame) -> None:
    user = replica_frame.copy()  # a user's own weights: not the replica's
    user.attrs.clear()
    user["weight"] = user["weight"] * (1.0 + 0.01 * (user["resp_id"] % 7))
    sav, mapping = _recoded_sav(user, tmp_path)
    out = tmp_path / "out"
    result = run(sav, mapping, out=out, report=False, models=False)
    assert not result.is_replica and result.banner is None
    assert result.weighting["margins"].empty  # no targets supplied: none invented
    for path in (p for p in out.rglob("*") if p.is_file()):
        text = path.read_text(encoding="utf-8")
        assert "Synthetic replica" not in text and "synthetic replica" not in text, path
    assert json.loads((out / "replication.json").read_text())["banner"] is None


# -- the command ----------------------------------------------------------------------------------
def test_cli_replica_prints_banner_first_and_summary(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture) -> None:
    code = cli_main(["replicate", "--out", str(tmp_path / "r"), "--strict", "--no-report"])
    lines = capsys.readouterr().out.splitlines()
    assert code == 0
    assert SYNTHETIC_BANNER in lines[0]
    assert any("cells within rounding" in line for line in lines)
    assert (tmp_path / "r" / "replication.md").is_file()


def test_cli_strict_fails_when_weights_are_perturbed(tmp_path: Path, replica_frame: pd.DataFrame,
                                                     capsys: pytest.CaptureFixture) -> None:
    perturbed = replica_frame.copy()
    perturbed["weight"] = perturbed["weight"] * np.where(perturbed["sesame"] == 1, 1.5, 1.0)
    data = tmp_path / "perturbed.csv"
    perturbed.to_csv(data, index=False)
    args = ["replicate", "--data", str(data), "--out", str(tmp_path / "p"), "--no-report"]
    assert cli_main(args) == 0  # without --strict a failing cell is reported, not fatal
    code = cli_main([*args, "--strict"])
    captured = capsys.readouterr()
    assert code == 2
    assert "outside rounding" in captured.err and "fig_5_4" in captured.err
    assert SYNTHETIC_BANNER not in captured.out
    with pytest.raises(ReplicationError):
        run(data, out=None, strict=True, models=False)


def test_data_without_mapping_must_be_canonical(tmp_path: Path, replica_frame: pd.DataFrame
                                                ) -> None:
    sav, _ = _recoded_sav(replica_frame, tmp_path)
    with pytest.raises(MappingError, match="canonical"):
        load_data(sav)
    assert cli_main(["replicate", "--data", str(sav), "--out", str(tmp_path / "x")]) == 2


def test_mapping_without_data_is_an_error() -> None:
    with pytest.raises(ReplicationError, match="--data"):
        load_data(None, "mapping.yaml")


def test_cli_margins_option_fills_the_margin_table_for_a_user_file(
        tmp_path: Path, replica_frame: pd.DataFrame) -> None:
    data = tmp_path / "user.csv"
    replica_frame.to_csv(data, index=False)
    targets = tmp_path / "targets.yaml"
    targets.write_text("margins:\n  urban: {0: 0.3, 1: 0.7}\n", encoding="utf-8")
    out = tmp_path / "m"
    code = cli_main(["replicate", "--data", str(data), "--margins", str(targets),
                     "--out", str(out), "--no-report"])
    assert code == 0
    margins = json.loads((out / "replication.json").read_text(encoding="utf-8"))
    rows = margins["weighting"]["margins"]
    assert [r["target_share"] for r in rows] == pytest.approx([0.3, 0.7])
    w, urban = replica_frame["weight"], replica_frame["urban"]
    assert rows[1]["weighted_share"] == pytest.approx(w[urban == 1].sum() / w.sum())
