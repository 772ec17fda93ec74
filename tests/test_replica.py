"""The bundled SYNTHETIC replica: published Ns, every registry cell, reproducibility, layout."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyreadstat
import pytest

import surveykit
from surveykit.cli import main
from surveykit.errors import ReplicationError
from surveykit.published import compute_cells, evaluate_domain, load_registry, within_tolerance
from surveykit.replica import (
    DEFAULT_SEED,
    build,
    built_with,
    calibration_margins,
    load_replica,
    mapping_path,
    path,
    sidecar_path,
    spec,
    write,
)
from surveykit.replica.generate import exact_counts, rank_assign, weighted_rank_codes
from surveykit.replica.weights import diagnostics, independent_columns


@pytest.fixture(scope="module")
def replica() -> pd.DataFrame:
    return load_replica()


@pytest.fixture(scope="module")
def cells() -> pd.DataFrame:
    return load_registry().cells()


@pytest.fixture(scope="module")
def rebuilt(tmp_path_factory):
    """The replica regenerated through the CLI (same seed as the bundled one)."""
    out = tmp_path_factory.mktemp("replica")
    code = main(["replica", "--out", str(out), "--seed", str(DEFAULT_SEED), "--check"])
    return out, code


def test_bundled_file_is_labelled_synthetic():
    p = path()
    assert p.exists() and p.stat().st_size < 300_000
    _, meta = pyreadstat.read_sav(str(p), metadataonly=True)
    assert "SYNTHETIC" in meta.file_label and "not the original" in meta.file_label
    assert "not findings about China" in " ".join(meta.notes)
    assert meta.number_rows == 2209
    side = json.loads(sidecar_path().read_text())
    assert side["synthetic"] is True and side["seed"] == DEFAULT_SEED
    assert "not the original survey data" in side["description"]


def test_load_replica_is_marked(replica):
    assert replica.attrs["synthetic"] is True
    assert len(replica) == 2209 and replica["resp_id"].is_unique
    assert surveykit.load_replica().attrs["synthetic"] is True
    assert mapping_path().name == "replica.yaml" and mapping_path().exists()


def test_published_ns(replica):
    def n(expr: str) -> int:
        return int(evaluate_domain(replica, expr).sum())

    assert n("sesame == 1") == 1309
    assert n("tencent == 1") == 680
    assert n("commercial == 1") == 1639
    assert n("commercial == 1 & gov_pilot == 0") == 1510
    assert n("gov_pilot == 1") == 160
    assert n("gov_pilot == 1 & commercial == 0") == 31
    assert n("behaviour_module == 1") == 1581
    assert n("behaviour_module == 1 & commercial == 1 & gov_pilot == 0") == 1421
    assert n("behaviour_module == 1 & gov_pilot == 1") == 160   # every pilot participant
    assert n("behaviour_module == 0 & commercial == 1") == 89   # assumed outside the module
    assert n("behaviour_module == 1 & commercial == 0 & gov_pilot == 0") == 0
    assert n("(sesame == 1 | tencent == 1) & commercial == 0") == 0


def test_every_replicable_cell_is_reproduced(replica, cells):
    est = compute_cells(replica, cells, replica["weight"].to_numpy())
    ok = within_tolerance(est, cells["value"], cells["tolerance"], cells["bound"])
    target = cells["replicable"] & cells["consistent"]
    failed = cells.loc[target & ~ok, ["table_id", "row_id", "group_id", "value"]]
    assert failed.empty, failed.assign(replica=est[(target & ~ok).to_numpy()]).to_string()
    assert int(target.sum()) == 216
    # the one published cell that contradicts its neighbours is NOT forced (reported instead)
    bad = cells.index[~cells["consistent"]]
    assert len(bad) == 1 and not ok[bad[0]]


def test_cells_with_surveykit_estimators(replica, cells):
    """Cross-check the plain-pandas cell values with surveykit.proportion / mean."""
    est_mod = pytest.importorskip("surveykit.estimation")
    from surveykit.design import SurveyDesign

    design = SurveyDesign(replica, weights="weight")
    sample = cells[cells["replicable"]].iloc[::7]  # every 7th cell keeps the test fast
    plain = compute_cells(replica, sample, replica["weight"].to_numpy())
    for (_, cell), ref in zip(sample.iterrows(), plain, strict=True):
        sub = design.subset(evaluate_domain(replica, cell["domain"]))
        if cell["stat"] == "percent":
            tab = est_mod.proportion(sub, cell["var"])
            value = 100 * tab.loc[tab["level"].astype(float).isin(cell["code"]), "estimate"].sum()
        else:
            value = float(est_mod.mean(sub, cell["var"])["estimate"].iloc[0])
        assert value == pytest.approx(ref, rel=1e-9, abs=1e-9), cell["row_id"]


def test_regeneration_is_byte_identical(rebuilt, replica):
    """Same seed -> same respondents everywhere; with the library versions the bundled file
    was built with, also the same weights and the same bytes (--check). With other versions
    the LP may pick other, equally valid weights: then every cell must still be reproduced."""
    out, code = rebuilt
    again = load_replica(out / "replica.sav")
    pd.testing.assert_frame_equal(again.drop(columns="weight"), replica.drop(columns="weight"))
    side = json.loads((out / "replica.json").read_text())
    bundled = json.loads(sidecar_path().read_text())
    if bundled["build"]["built_with"] != built_with():
        assert side["cells"]["consistent_reproduced"] == bundled["cells"]["consistent_reproduced"]
        return
    assert code == 0  # --check: the new .sav equals the bundled one byte for byte
    assert (out / "replica.sav").read_bytes() == path().read_bytes()
    np.testing.assert_allclose(again["weight"], replica["weight"], rtol=0, atol=1e-9)
    assert side == bundled


def test_two_builds_in_one_environment_are_byte_identical(rebuilt, tmp_path):
    out, _ = rebuilt
    write(tmp_path, seed=DEFAULT_SEED)
    assert (tmp_path / "replica.sav").read_bytes() == (out / "replica.sav").read_bytes()
    assert (tmp_path / "replica.json").read_bytes() == (out / "replica.json").read_bytes()


def test_header_timestamp_is_pinned():
    _, meta = pyreadstat.read_sav(str(path()), metadataonly=True)
    assert (meta.creation_time.year, meta.creation_time.month, meta.creation_time.day) == \
        (2018, 4, 1)


def test_build_matches_bundled_harmonised_frame(replica):
    b = build(DEFAULT_SEED)
    assert b.all_reproduced
    canon = b.canonical.set_index("resp_id")
    harm = replica.set_index("resp_id")
    for col in canon.columns:
        if col == "province":
            assert (canon[col].to_numpy() == harm[col].to_numpy()).all()
            continue
        np.testing.assert_allclose(harm[col].to_numpy(dtype=float),
                                   canon[col].to_numpy(dtype=float), rtol=0, atol=1e-9,
                                   err_msg=col)
    d = diagnostics(b.canonical["weight"].to_numpy(), np.ones(len(b.canonical)))
    side = json.loads(sidecar_path().read_text())["weights"]
    assert side["cv"] == pytest.approx(d["cv"], rel=1e-8)
    assert side["deff_kish"] == pytest.approx(1 + d["cv"] ** 2, rel=1e-8)  # Kish: 1 + CV^2
    assert 0.2 <= side["min"] and side["max"] <= 5.0 and side["sum"] == pytest.approx(2209)


def test_weights_look_like_survey_weights(replica):
    w = replica["weight"].to_numpy()
    assert w.sum() == pytest.approx(2209, abs=1e-6)
    assert w.min() >= 0.2 and w.max() <= 5.0
    assert np.std(w) / np.mean(w) < 0.6


def test_behaviour_items_missing_outside_module(replica):
    items = ["pos_shopping", "neg_traffic", "any_change", "bc_index", "bc_direction"]
    outside = replica["behaviour_module"] == 0
    assert replica.loc[outside, items].isna().all().all()
    assert replica.loc[~outside, items].notna().all().all()
    inside = replica[~outside]
    pos = inside.filter(like="pos_").sum(axis=1)
    neg = inside.filter(like="neg_").sum(axis=1)
    np.testing.assert_array_equal(inside["bc_index"], pos + neg)
    np.testing.assert_array_equal(inside["bc_direction"], pos - neg)


def _wmean(df: pd.DataFrame, by: str, var: str) -> np.ndarray:
    d = df.dropna(subset=[by, var])
    num = (d[var] * d["weight"]).groupby(d[by]).sum()
    return (num / d["weight"].groupby(d[by]).sum()).to_numpy()


def test_assumed_relationships_show(replica):
    # approval rises with perceived fairness and trust; behaviour change with score_vs_peers
    assert np.all(np.diff(_wmean(replica, "fairness", "approval")) > 0)
    assert np.all(np.diff(_wmean(replica, "trust_central", "approval")) > 0)
    assert np.all(np.diff(_wmean(replica, "score_vs_peers", "bc_index")) > 0)
    assert np.diff(_wmean(replica, "party_member", "bc_index"))[0] > 0
    covariates = ["age", "income_group", "education", "region", "urban", "gender",
                  "internet_hours", "online_shopping", "trust_central", "party_member",
                  "fairness", "score_vs_peers", "scs_manager", "pilot_locality"]
    assert set(covariates) <= set(replica.columns)
    users = (replica["commercial"] == 1) | (replica["gov_pilot"] == 1)
    assert replica.loc[users, "score_vs_peers"].notna().all()
    assert replica.loc[~users, "score_vs_peers"].isna().all()


def test_raw_layout():
    raw, meta = pyreadstat.read_sav(str(path()), user_missing=True)
    assert {"RESPID", "WEIGHT", "S1", "Q5", "B1_1", "B2_6", "MODULE"} <= set(raw.columns)
    assert meta.column_names_to_labels["Q5"].startswith("Q5 How much do you approve")
    assert meta.variable_value_labels["Q5"][5.0] == "strongly approve"
    assert meta.variable_value_labels["B1_1"][-9.0] == "not asked"
    assert (raw.loc[raw["MODULE"] == 0, "B1_1"] == -9).all()
    assert meta.missing_ranges["B1_1"][0]["lo"] == -9


def test_other_seed_differs_but_reproduces(cells):
    b = build(7)
    assert b.all_reproduced
    bundled = load_replica()
    assert not np.array_equal(b.canonical["approval"].to_numpy(),
                              bundled["approval"].to_numpy())


def test_exact_counts_and_rank_assign_by_hand():
    assert exact_counts(np.array([0.5, 0.3, 0.2]), 7).tolist() == [4, 2, 1]  # 3.5, 2.1, 1.4
    assert exact_counts(np.array([0.0, 1.0]), 5).tolist() == [0, 5]
    groups = np.array([0, 0, 0, 1, 1])
    score = np.array([0.3, 0.1, 0.2, 5.0, 4.0])
    counts = np.array([[1, 2], [1, 1]])
    # group 0: lowest score (row 1) gets code 0; group 1: row 4 gets code 0
    assert rank_assign(groups, score, counts).tolist() == [1, 0, 1, 1, 0]
    with pytest.raises(ReplicationError, match="do not add up"):
        rank_assign(groups, score, np.array([[1, 1], [1, 1]]))


def test_independent_columns():
    x = np.column_stack([np.ones(4), [1, 0, 1, 0], [0, 1, 0, 1], [1, 2, 3, 4]])
    # column 2 = column 0 - column 1: three independent columns
    assert len(independent_columns(x)) == 3


def _weighted_dispersion(y: np.ndarray, w: np.ndarray) -> float:
    mean = np.sum(w * y) / np.sum(w)
    return float(np.sum(w * (y - mean) ** 2) / np.sum(w) / mean)


def test_bc_index_is_overdispersed(replica):
    """The assumed latent responsiveness makes the index over-dispersed (target ratio ~1.5-2.5)
    while the published item shares stay exact (checked by the cell test above)."""
    inside = replica[replica["behaviour_module"] == 1]
    ratio = _weighted_dispersion(inside["bc_index"].to_numpy(), inside["weight"].to_numpy())
    assert 1.5 < ratio < 2.5
    side = json.loads(sidecar_path().read_text())
    assert side["bc_index"]["variance_mean_ratio"] == pytest.approx(ratio, rel=1e-8)
    assert side["build"]["behaviour_responsiveness_sd"] > 0
    # items co-occur: mean pairwise item correlation 0.18 (0.08 when the items were drawn
    # independently given the covariates, which gave a ratio of 1.13 and a Poisson-limit NB)
    items = inside[list(spec.ITEMS)].to_numpy(dtype=float)
    corr = np.corrcoef(items, rowvar=False)
    assert corr[np.triu_indices(12, 1)].mean() > 0.12


def test_bc_index_negbin_is_a_genuine_negative_binomial(replica):
    from surveykit.design import SurveyDesign
    from surveykit.replication.models import fit_model, model_meta

    design = SurveyDesign(replica, weights="weight")
    model = fit_model("bc_index_negbin", design)
    assert model.family == "negbin"  # not the Poisson fallback
    assert model_meta("bc_index_negbin", model)["family"] == "negbin"
    alpha, se = model.extra["alpha"], model.extra["alpha_se"]
    assert alpha > 0 and alpha - 2 * se > 0
    # Pearson dispersion of the survey Poisson fit of the same formula: > 1 = over-dispersion
    poisson = surveykit.glm(design.subset(evaluate_domain(replica, "behaviour_module == 1")),
                            model.formula, family="poisson")
    y = poisson.frame.y.to_numpy(dtype=float)
    mu = np.exp(poisson.frame.X @ poisson.params.to_numpy())
    w = np.asarray(design.weights, dtype=float)[poisson.frame.rows]
    n, p = poisson.frame.X.shape
    pearson = np.sum(w * (y - mu) ** 2 / mu) / (np.sum(w) * (n - p) / n)
    assert pearson > 1.2


def test_calibration_margins_are_met_exactly(replica):
    targets = calibration_margins()
    assert set(targets) == set(spec.MARGINS)
    w = replica["weight"].to_numpy()
    for var, shares in targets.items():
        assert sum(shares.values()) == pytest.approx(1.0, abs=1e-9)
        x = replica[var].to_numpy(dtype=float)
        has = ~np.isnan(x)
        for code, target in shares.items():
            reached = w[has & (x == code)].sum() / w[has].sum()
            assert reached == pytest.approx(target, abs=1e-8), (var, code)
            # the LP keeps each constrained share within 1 pp of its assumed margin; the last
            # category is implied, so it may move by the others' slack (here at most 2 pp)
            slack = 0.01 * (len(shares) - 1 if code == max(shares) else 1)
            assert abs(target - spec.MARGINS[var][code]) <= slack + 1e-9, (var, code)


def test_calibration_margins_missing_sidecar_is_an_error(tmp_path):
    from surveykit.errors import InputFileError

    bad = tmp_path / "replica.json"
    bad.write_text(json.dumps({"calibration": {}}))
    with pytest.raises(InputFileError, match="margin targets"):
        calibration_margins(bad)


def test_weighted_rank_codes_by_hand():
    # scores order the rows 2, 0, 3, 1 (weights 3, 2, 1, 4 of 10); shares 0.3 / 0.7: slice
    # middles 0.15, 0.40, 0.55, 0.80 -> code 1 for row 2 only
    codes = weighted_rank_codes(np.array([0.5, 3.0, 0.1, 1.0]), np.array([2.0, 4.0, 3.0, 1.0]),
                                np.array([0.3, 0.7]))
    assert codes.tolist() == [2.0, 2.0, 1.0, 2.0]
    codes = weighted_rank_codes(np.array([0.5, 3.0, 0.1, 1.0]), np.ones(4),
                                np.array([0.5, 0.25, 0.25]))
    assert codes.tolist() == [1.0, 3.0, 1.0, 2.0]


def test_attitude_items_hit_the_published_shares_and_keep_their_universe(replica):
    """Issue 15: the four prose numbers without a variable (Kostka 2019 pp. 20, 22)."""
    w = replica["weight"].to_numpy()
    published = {"peer_score_influence": 60, "mutual_mistrust": 76, "data_trust_central": 77,
                 "data_trust_provincial": 48}
    for var, value in published.items():
        x = replica[var].to_numpy()
        has = ~np.isnan(x)
        share = 100 * (w * has * np.isin(x, [4, 5])).sum() / (w * has).sum()
        assert abs(share - value) < 0.2, var  # within one respondent's weight of the centre
        assert set(np.unique(x[has])) == {1.0, 2.0, 3.0, 4.0, 5.0}
    users = replica["score_vs_peers"].notna()
    assert replica.loc[users, "peer_score_influence"].notna().all()
    assert replica.loc[~users, "peer_score_influence"].isna().all()
    assert replica[["mutual_mistrust", "data_trust_central"]].notna().all().all()
    # assumed relationships: data trust follows trust in the central government; the influence
    # of the relative score is larger when the score differs from the peers'
    assert np.all(np.diff(_wmean(replica, "trust_central", "data_trust_central")) > 0)
    far = (replica["score_vs_peers"] - 3).abs()
    assert (replica.loc[far == 2, "peer_score_influence"].mean()
            > replica.loc[far == 0, "peer_score_influence"].mean())
    raw, meta = pyreadstat.read_sav(str(path()), user_missing=True)
    assert (raw.loc[raw["Q12"] == -9, "Q13"] == -9).all()
    assert meta.column_names_to_labels["Q15_1"].endswith("the central government")
