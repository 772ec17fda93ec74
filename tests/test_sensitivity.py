"""Weighting sensitivity (issue 15 item 2): schemes, every published cell per scheme, the
conclusions that change, and `surveykit replicate --sensitivity`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import surveykit as sk
from surveykit._sensitivity import (
    REPLICA_NOTE,
    Scheme,
    _cell_scores,
    _changes,
    load_margins,
    section_html,
    section_markdown,
    sensitivity,
)
from surveykit.cli import main as cli_main
from surveykit.published import evaluate_domain, load_registry
from surveykit.replication import build_design, compute_table, load_data

CANONICAL = Path(__file__).parent / "fixtures" / "r" / "replication_canonical.csv"


@pytest.fixture(scope="module")
def replica_design():
    frame, provenance = load_data()
    return build_design(frame, source=provenance["input_file"])


@pytest.fixture(scope="module")
def result(replica_design):
    margins, source = load_margins("illustrative")
    return sensitivity(replica_design, margins=margins, margins_source=source)


def test_schemes_and_kish_effective_n(result, replica_design):
    s = result.schemes.set_index("scheme")
    assert list(s.index) == ["unweighted", "file", "trimmed", "raked"]
    w = replica_design.base_weights
    kish = len(w) * np.sum(w**2) / np.sum(w) ** 2
    assert s.loc["file", "deff_kish"] == pytest.approx(kish, rel=1e-12)
    assert s.loc["file", "n_effective"] == pytest.approx(len(w) / kish, rel=1e-12)
    assert s.loc["unweighted", "deff_kish"] == pytest.approx(1.0)
    assert s.loc["unweighted", "n_effective"] == pytest.approx(2209)
    # trimmed to 0.3-3 x the mean weight (1 here: the replica's weights sum to n)
    assert s.loc["trimmed", "min"] >= 0.3 - 1e-9 and s.loc["trimmed", "max"] <= 3 + 1e-9
    assert s.loc["raked", "deff_kish"] > s.loc["file", "deff_kish"]


def test_raked_scheme_meets_the_margins(replica_design):
    margins, _ = load_margins("illustrative")
    plan = sk.weighting_schemes(replica_design, margins=margins)
    raked = next(p for p in plan if p.name == "raked").design
    w = raked.base_weights
    for var, shares in margins.items():
        x = raked.data[var].to_numpy()
        for code, share in shares.items():
            assert (w * (x == code)).sum() / w.sum() == pytest.approx(share, abs=1e-7)


def test_cells_per_scheme_are_the_tables_under_those_weights(result, replica_design):
    cells = result.cells
    assert len(cells) == 4 * len(load_registry().cells())
    file = cells[cells["scheme"] == "file"]
    assert int(file["passed"].eq(True).sum()) == 216  # the replica's own weights
    # the unweighted Figure 5.4 total 'strongly approve' is the plain share
    un = cells[(cells["scheme"] == "unweighted") & (cells["table_id"] == "fig_5_4")
               & (cells["row_id"] == "approval_5") & (cells["group_id"] == "total")]
    approval = replica_design.data["approval"]
    assert un["computed"].iloc[0] == pytest.approx(100 * (approval == 5).mean(), rel=1e-12)
    wide = result.wide()
    assert list(wide.columns[-4:]) == ["unweighted", "file", "trimmed", "raked"]
    np.testing.assert_allclose(wide["file"], file["computed"].to_numpy())


@pytest.mark.parametrize("scheme", ["file", "raked"])
def test_cell_scores_reproduce_the_estimators_standard_errors(result, replica_design, scheme):
    """The influence scores behind the pairwise CIs give exactly the estimators' SEs (which
    are checked against R elsewhere), also on the raked design (calibration residuals)."""
    reg = load_registry()
    margins, _ = load_margins("illustrative")
    plan = {p.name: p for p in sk.weighting_schemes(replica_design,
                                                                margins=margins)}
    design = plan[scheme].design
    for table_id in ("fig_5_4", "fig_5_10", "fig_5_6"):
        table = compute_table(table_id, design, reg)
        cells = reg.table(table_id)
        for i in sorted({0, min(7, len(cells) - 1), len(cells) - 1}):
            est, scores = _cell_scores(design, design.data, cells.iloc[i])
            se = float(np.sqrt(design.vcov(scores[:, None])[0, 0]))
            assert est == pytest.approx(table["computed"].iloc[i], rel=1e-10)
            assert se == pytest.approx(table["std_error"].iloc[i], rel=1e-8)


def test_changes_rule_by_hand():
    comp = pd.DataFrame({
        "table_id": "t", "row_id": ["r"] * 6, "family": "f",
        "group_a": ["a", "a", "b", "a", "a", "b"], "group_b": ["b", "c", "c", "b", "c", "c"],
        "difference": [2.0, 1.0, -1.0, -0.5, 1.0, -3.0],
        "ci_low": [1.0, 0.5, -2.0, -1.5, -0.1, -4.0],
        "ci_high": [3.0, 1.5, 0.1, 0.5, 2.1, -2.0],
        "scheme": ["ref"] * 3 + ["alt"] * 3})
    comp["covers_zero"] = (comp["ci_low"] <= 0) & (comp["ci_high"] >= 0)
    ch = _changes(comp, "ref").set_index(["group_a", "group_b"])["kind"]
    # a-b flips sign (and its CI now covers 0); a-c now covers 0; b-c no longer covers 0
    assert sorted(ch.items()) == [(("a", "b"), "CI now covers zero"),
                                  (("a", "b"), "ordering flips"),
                                  (("a", "c"), "CI now covers zero"),
                                  (("b", "c"), "CI no longer covers zero")]


def test_a_forced_reversal_is_reported():
    """Weights chosen to reverse the unweighted East-West ordering of 'any change'."""
    frame = pd.read_csv(CANONICAL)
    yes = frame["any_change"] == 1
    mod = frame["behaviour_module"] == 1
    share = {r: yes[mod & (frame["region"] == r)].mean() for r in (1, 3)}
    high, low = (1, 3) if share[1] > share[3] else (3, 1)
    w = np.ones(len(frame))
    w[(frame["region"] == high) & ~yes] = 8.0   # the higher region gets many "no"
    w[(frame["region"] == low) & yes] = 8.0     # the lower one many "yes"
    frame["weight"] = w
    design = sk.SurveyDesign(frame, weights="weight")
    res = sensitivity(design, tables=["fig_5_10"], trim_bounds=None)
    flips = res.changes[(res.changes["kind"] == "ordering flips")
                        & (res.changes["row_id"] == "change_yes")
                        & (res.changes["family"] == "region")]
    pair = {frozenset((a, b)) for a, b in zip(flips["group_a"], flips["group_b"], strict=True)}
    assert frozenset(("region_east", "region_west")) in pair
    assert set(flips["scheme"]) == {"unweighted"}
    # families: categories of one variable; the total is compared with nobody
    fams = set(res.comparisons["family"])
    assert fams == {"region", "income_group", "age_group", "urban", "education", "gender"}
    assert "total" not in set(res.comparisons["group_a"]) | set(res.comparisons["group_b"])
    assert not res.is_synthetic and res.notes == []


def test_pairwise_ci_of_nested_groups_uses_their_covariance(replica_design):
    """Sesame users are a subset of commercial users: the difference's SE is far below the
    independent-samples SE sqrt(se_a^2 + se_b^2)."""
    res = sensitivity(replica_design, tables=["fig_5_4"], trim_bounds=None)
    c = res.comparisons
    row = c[(c["scheme"] == "file") & (c["row_id"] == "approval_5")
            & (c["group_a"] == "sesame") & (c["group_b"] == "commercial")].iloc[0]
    cells = res.cells[(res.cells["scheme"] == "file") & (res.cells["row_id"] == "approval_5")]
    se = cells.set_index("group_id")["std_error"]
    assert row["std_error"] < 0.8 * np.hypot(se["sesame"], se["commercial"])
    assert row["difference"] == pytest.approx(
        cells.set_index("group_id")["computed"]["sesame"]
        - cells.set_index("group_id")["computed"]["commercial"], rel=1e-10)


def test_replica_says_unweighted_is_an_assumption(result):
    assert result.is_synthetic and result.notes == [REPLICA_NOTE]
    assert "assumption of the replica" in REPLICA_NOTE
    assert REPLICA_NOTE in section_markdown(result)
    html = section_html(result)
    assert "assumption of the replica" in html and "data:image/png;base64," in html
    assert "Kish effective n" in result.summary


def test_user_schemes_and_bad_reference(replica_design):
    res = sensitivity(replica_design, {"file": replica_design,
                                       "half": replica_design.with_weights(
                                           replica_design.base_weights / 2)},
                      tables=["fig_5_5"])
    # halving every weight changes no estimate
    wide = res.wide()
    np.testing.assert_allclose(wide["half"], wide["file"], rtol=1e-12)
    assert res.changes.empty
    with pytest.raises(sk.SurveyKitError, match="reference"):
        sensitivity(replica_design, [Scheme("a", "A", replica_design, "x")], tables=["fig_5_5"])


def test_cli_sensitivity_writes_tables_figure_and_sidecars(tmp_path, capsys):
    out = tmp_path / "rep"
    rc = cli_main(["replicate", "--out", str(out), "--no-report", "--sensitivity",
                   "--sensitivity-margins", "illustrative"])
    assert rc == 0
    text = capsys.readouterr().out
    assert "Weighting sensitivity" in text and "assumption of the replica" in text
    folder = out / "sensitivity"
    for stem in ("schemes", "cells", "cells_wide", "changes"):
        frame = pd.read_csv(folder / f"{stem}.csv")  # plain CSV, pandas defaults
        side = json.loads((folder / f"{stem}.json").read_text("utf-8"))
        assert side["synthetic"] is True and side["notes"] == [REPLICA_NOTE]
        assert (frame["data_source"] == "synthetic replica").all()
    wide = pd.read_csv(folder / "cells_wide.csv")
    assert len(wide) == len(load_registry().cells())
    assert (folder / "cells_by_scheme.png").stat().st_size > 10_000
    assert "## Weighting sensitivity" in (folder / "sensitivity.md").read_text("utf-8")
    listed = {o["path"] for o in json.loads((out / "manifest.json").read_text())["outputs"]}
    assert {f"sensitivity/{p.name}" for p in folder.iterdir()} <= listed  # one run, one manifest


def test_cli_sensitivity_margins_need_sensitivity(tmp_path, capsys):
    rc = cli_main(["replicate", "--out", str(tmp_path), "--sensitivity-margins", "illustrative"])
    assert rc == 2
    assert "--sensitivity-margins needs --sensitivity" in capsys.readouterr().err


def test_domain_helper_is_the_registry_one(replica_design):
    cell = load_registry().table("fig_5_10").iloc[3]
    mask = evaluate_domain(replica_design.data, cell["domain"])
    _, scores = _cell_scores(replica_design, replica_design.data, cell)
    assert not np.any(scores[~mask])


def test_sk_sensitivity_is_a_function_with_its_signature(replica_design):
    import inspect

    params = inspect.signature(sk.sensitivity).parameters
    assert list(params)[:2] == ["design", "schemes"]
    assert "trim_bounds" in params and "margins" in params
    assert inspect.isfunction(sk.sensitivity) and inspect.isfunction(sk.weighting_schemes)
    res = sk.sensitivity(replica_design, tables=["fig_5_6"], trim_bounds=None)
    assert list(res.schemes["scheme"]) == ["unweighted", "file"]


def test_pairwise_differences_match_r():
    """Differences of (nested, disjoint, percent and mean) domain estimates and their SEs
    agree with R's svycontrast(svytotal(~ya + ma + yb + mb), ya/ma - yb/mb), under the file's
    weights and under equal weights raked to margins (tests/r/fixtures_sensitivity.R)."""
    expected = pd.read_csv(Path(__file__).parent / "fixtures" / "r" / "sensitivity_pairs.csv")
    frame = pd.read_csv(CANONICAL)
    design = sk.SurveyDesign(frame, weights="weight")
    margins = {"age_group": {1: 0.40, 2: 0.45, 3: 0.15}, "urban": {0: 0.27, 1: 0.73},
               "region": {1: 0.45, 2: 0.30, 3: 0.25}}
    res = sensitivity(design, margins=margins, trim_bounds=None,
                      tables=["fig_5_4", "fig_5_10"])
    comp = res.comparisons
    for r in expected.itertuples():
        sel = comp[(comp["scheme"] == r.scheme) & (comp["table_id"] == r.table_id)
                   & (comp["row_id"] == r.row_id)]
        fwd = sel[(sel["group_a"] == r.group_a) & (sel["group_b"] == r.group_b)]
        rev = sel[(sel["group_a"] == r.group_b) & (sel["group_b"] == r.group_a)]
        row, sign = (fwd.iloc[0], 1.0) if len(fwd) else (rev.iloc[0], -1.0)
        assert sign * row["difference"] == pytest.approx(r.difference, rel=1e-6)
        assert row["std_error"] == pytest.approx(r.std_error, rel=1e-4)


def test_replicate_design_is_a_typed_error():
    frame = pd.read_csv(CANONICAL)
    rep = sk.SurveyDesign(frame, weights="weight").replicate("jk1")
    with pytest.raises(sk.SurveyKitError, match="linearisation design"):
        sensitivity(rep, tables=["fig_5_5"])
