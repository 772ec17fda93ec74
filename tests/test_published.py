"""Registry of published results: loading, validation and internal consistency of the
transcription (all expected numbers below are the published ones or sums of them)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from surveykit.errors import SchemaError
from surveykit.published import (
    CELL_COLUMNS,
    compute_cells,
    default_dir,
    domain_names,
    evaluate_domain,
    load_registry,
    tolerance_for,
    within_tolerance,
)


@pytest.fixture(scope="module")
def reg():
    return load_registry()


def _grid(reg, table: str) -> pd.DataFrame:
    t = reg.table(table)
    return t.pivot(index="row_id", columns="group_id", values="value")


def test_tables_and_cell_counts(reg):
    assert reg.tables() == ["fig_5_10", "fig_5_4", "fig_5_5", "fig_5_6", "fig_5_8", "fig_5_9",
                            "prose"]
    sizes = reg.cells().groupby("table_id").size().to_dict()
    # 5 codes x 7 groups; 4 rows x 7 groups; 14 rows x 4 groups; 4 rows x 18 groups; 20 prose;
    # Figure 5.5: 4 manager shares and Figure 5.6: 2 data-trust shares stated in the prose
    assert sizes == {"fig_5_4": 35, "fig_5_5": 4, "fig_5_6": 2, "fig_5_8": 28, "fig_5_9": 56,
                     "fig_5_10": 72, "prose": 20}
    assert tuple(reg.cells().columns) == CELL_COLUMNS


def test_tidy_cell_fields(reg):
    t = reg.table("fig_5_4")
    first = t.iloc[0]
    assert (first["row_id"], first["group_id"], first["value"]) == ("approval_1", "total", 0.60)
    assert first["code"] == (1,)
    assert not isinstance(first["domain"], str)  # the total column: everyone
    tencent5 = t[(t.row_id == "approval_5") & (t.group_id == "tencent")].iloc[0]
    assert tencent5["value"] == 58.61 and tencent5["group_n"] == 680
    assert tencent5["domain"] == "tencent == 1"
    assert tencent5["tolerance"] == pytest.approx(0.005)
    assert tencent5["source"] == "Kostka (2019), p. 13"
    f59 = reg.table("fig_5_9")
    cell = f59[(f59.row_id == "neg_traffic") & (f59.group_id == "government")].iloc[0]
    assert cell["value"] == 67.7 and cell["tolerance"] == pytest.approx(0.05)
    assert cell["domain"] == "behaviour_module == 1 & gov_pilot == 1"
    prose = reg.table("prose").set_index("row_id")
    assert prose.loc["pilot_aware", "domain"] == "pilot_locality == 1"
    assert prose.loc["approve", "code"] == (4, 5)
    f55 = reg.table("fig_5_5").set_index("row_id")
    assert f55.loc["manager_companies_alone", "bound"] == "upper"
    assert f55.loc["manager_companies_alone", "tolerance"] == 0.0
    assert prose.loc["changed_once", "tolerance"] == pytest.approx(0.05)
    assert prose.loc["strongly_approve", "tolerance"] == pytest.approx(0.5)


def test_fig_5_4_columns_sum_to_100(reg):
    sums = _grid(reg, "fig_5_4").sum(axis=0)
    # published sums: 100.00 or 100.01; 5 cells each rounded by at most 0.005
    assert (np.abs(sums - 100) <= 5 * 0.005 + 1e-9).all()
    assert sums["commercial"] == pytest.approx(100.01)


@pytest.mark.parametrize("table", ["fig_5_8", "fig_5_10"])
def test_yes_plus_no_is_100(reg, table):
    g = _grid(reg, table)
    total = g.loc["change_yes"] + g.loc["change_no"]
    assert (np.abs(total - 100) <= 2 * 0.05 + 1e-9).all()
    # Figure 5.10 sums to exactly 100.0 everywhere; Figure 5.8 commercial only: 93.6 + 6.5
    assert total.max() == pytest.approx(100.1 if table == "fig_5_8" else 100.0)


def test_fig_5_9_item_sums_give_fig_5_8_indices(reg):
    g9, g8 = _grid(reg, "fig_5_9"), _grid(reg, "fig_5_8")
    pos = [r for r in g9.index if r.startswith("pos_")]
    neg = [r for r in g9.index if r.startswith("neg_")]
    tol = 0.05 + 12 * 0.0005  # index rounding + 12 item roundings (0.05 pp / 100)
    expected = {"total": (3.52, 0.516), "commercial_only": (3.336, 0.492),
                "government": (5.184, 0.740), "government_only": (3.685, 0.187)}
    for group, (bc, direction) in expected.items():
        s_pos, s_neg = g9.loc[pos, group].sum() / 100, g9.loc[neg, group].sum() / 100
        assert s_pos + s_neg == pytest.approx(bc)
        assert s_pos - s_neg == pytest.approx(direction)
        assert abs(s_pos + s_neg - g8.loc["bc_index", group]) <= tol
        assert abs(s_pos - s_neg - g8.loc["bc_direction", group]) <= tol


def test_at_least_one_rows(reg):
    g9, g8 = _grid(reg, "fig_5_9"), _grid(reg, "fig_5_8")
    pos = [r for r in g9.index if r.startswith("pos_")]
    neg = [r for r in g9.index if r.startswith("neg_")]
    assert (g9.loc["any_positive"] >= g9.loc[pos].max()).all()
    assert (g9.loc["any_negative"] >= g9.loc[neg].max()).all()
    yes = g8.loc["change_yes", g9.columns]
    assert (yes + 0.1 >= g9.loc[["any_positive", "any_negative"]].max()).all()
    assert (yes <= g9.loc["any_positive"] + g9.loc["any_negative"] + 0.1).all()


def test_group_ns_reconcile(reg):
    n4 = reg.table("fig_5_4").drop_duplicates("group_id").set_index("group_id")["group_n"]
    both = n4["commercial"] - n4["commercial_no_gov"]
    assert both == 129
    assert n4["government"] == both + n4["government_only"] == 160
    n9 = reg.table("fig_5_9").drop_duplicates("group_id").set_index("group_id")["group_n"]
    assert n9["total"] == n9["commercial_only"] + n9["government"] == 1581
    assert n9["government"] == n4["government"]
    n8 = reg.table("fig_5_8").drop_duplicates("group_id").set_index("group_id")
    assert n8.loc["commercial", "group_n"] == n9["commercial_only"] + both == 1550
    assert not n8.loc["commercial", "n_published"]


def test_fig_5_10_total_repeats_fig_5_8_total(reg):
    g10, g8 = _grid(reg, "fig_5_10"), _grid(reg, "fig_5_8")
    pd.testing.assert_series_equal(g10["total"], g8["total"], check_names=False)


def test_prose_agrees_with_tables(reg):
    prose = reg.table("prose").set_index("row_id")
    g4, g8, g9 = _grid(reg, "fig_5_4"), _grid(reg, "fig_5_8"), _grid(reg, "fig_5_9")
    pairs = {
        "strongly_approve": g4.loc["approval_5", "total"],
        "somewhat_approve": g4.loc["approval_4", "total"],
        "approve": g4.loc[["approval_4", "approval_5"], "total"].sum(),
        "disapprove": g4.loc[["approval_1", "approval_2"], "total"].sum(),
        "government_strongly": g4.loc["approval_5", "government"],
        "commercial_strongly": g4.loc["approval_5", "commercial"],
        "avoid_punishment": g9.loc["any_negative", "total"],
        "changed_once": g8.loc["change_yes", "total"],
        "change_commercial_only": g8.loc["change_yes", "commercial_only"],
        "change_government_only": g8.loc["change_yes", "government_only"],
        "change_commercial": g8.loc["change_yes", "commercial"],
        "change_government": g8.loc["change_yes", "government"],
    }
    for row, table_value in pairs.items():
        p = prose.loc[row]
        assert abs(p["value"] - table_value) <= p["tolerance"] + 0.01, row


def test_manager_shares_leave_room_for_other(reg):
    p = reg.table("fig_5_5").set_index("row_id")["value"]
    named = p[["manager_central", "manager_local", "manager_companies_gov"]].sum()
    assert named == 85  # 59 + 9 + 17; companies alone < 2, so 'other' is 13-16.5 %
    assert 100 - named - 2 >= 0


def test_inconsistent_cell_is_really_inconsistent(reg):
    """5.8 'Commercial credit' directional 0.6: share s of the 129 both-users it needs vs the
    share its yes % and index need (intervals from the Figure 5.9 columns)."""
    g9 = _grid(reg, "fig_5_9")
    pos = [r for r in g9.index if r.startswith("pos_")]
    neg = [r for r in g9.index if r.startswith("neg_")]

    def direction(group):
        return (g9.loc[pos, group].sum() - g9.loc[neg, group].sum()) / 100

    # the 129 = (160 * government - 31 * government only) / 129 (unweighted mix, 5.9 columns)
    d_both = (160 * direction("government") - 31 * direction("government_only")) / 129
    d_co_max = direction("commercial_only") + 12 * 0.0005
    need = (0.55 - d_co_max) / (d_both - d_co_max)   # smallest share reaching 0.55
    yes_co, yes_both = 93.55, (160 * 99.45 - 31 * 100.0) / 129
    s_yes_max = (94.05 - yes_co) / (yes_both - yes_co)
    assert need > 0.13 and s_yes_max < 0.10 and need > s_yes_max
    cell = reg.table("fig_5_8")
    cell = cell[(cell.row_id == "bc_direction") & (cell.group_id == "commercial")].iloc[0]
    assert not cell["consistent"] and cell["replicable"]
    assert cell["reason"].startswith("inconsistent:")


def test_every_published_cell_is_computable(reg):
    """Issue 15: the four prose numbers that had no variable now have one; only the one
    provably inconsistent cell is left out of the comparison, with its arithmetic."""
    cells = reg.cells()
    assert cells["replicable"].all()
    left_out = cells[~cells["consistent"]]
    assert [f"{r.table_id}/{r.row_id}/{r.group_id}" for r in left_out.itertuples()] == [
        "fig_5_8/bc_direction/commercial"]
    assert left_out["reason"].str.startswith("inconsistent:").all()
    new = cells.set_index("row_id").loc[["score_vs_peers_influence", "mutual_mistrust",
                                         "data_trust_central", "data_trust_provincial"]]
    assert new["value"].tolist() == [60, 76, 77, 48]
    assert all(code == (4, 5) for code in new["code"])


def test_figure_5_6_records_the_garbled_sentence_and_the_reading(reg):
    notes = reg.meta("fig_5_6")["notes"]
    assert "AMBIGUOUS" in notes and "CHOSEN - central 77, provincial 48" in notes
    t = reg.table("fig_5_6").set_index("row_id")
    assert "printed as 'the local government'" in t.loc["data_trust_central", "note"]
    # the chosen reading agrees with 'trust decreases as the authorities become more local'
    assert t.loc["data_trust_central", "value"] > t.loc["data_trust_provincial", "value"]


def test_domains_use_canonical_variables(reg):
    root = Path(str(default_dir())).parent / "codebooks"
    names: set[str] = set()
    for f in root.glob("*.yaml"):
        names |= set((yaml.safe_load(f.read_text()) or {}).get("variables", {}))
    cells = reg.cells()
    used = {n for d in cells["domain"] for n in domain_names(d)}
    assert used and used <= names
    replicable_vars = set(cells.loc[cells["replicable"], "var"])
    assert replicable_vars <= names


def test_tolerance_rule():
    assert tolerance_for(2) == pytest.approx(0.005)
    assert tolerance_for(1) == pytest.approx(0.05)
    assert tolerance_for(0) == pytest.approx(0.5)
    assert tolerance_for(1, "upper") == 0.0
    ok = within_tolerance([93.55, 93.5499, 1.99, 2.01, np.nan], [93.6, 93.6, 2, 2, 5],
                          [0.05, 0.05, 0, 0, 0.5], [None, None, "upper", "upper", None])
    assert ok.tolist() == [True, False, True, False, False]


def test_compute_cells_by_hand():
    frame = pd.DataFrame({"approval": [5, 4, 5, np.nan, 1], "gov_pilot": [1, 1, 0, 1, 0],
                          "bc_index": [2, 4, np.nan, 6, 0]})
    w = np.array([1.0, 3.0, 2.0, 5.0, 4.0])
    cells = pd.DataFrame({
        "var": ["approval", "approval", "bc_index"], "stat": ["percent", "percent", "mean"],
        "code": [(5,), (4, 5), None], "domain": ["gov_pilot == 1", None, "gov_pilot == 1"]})
    out = compute_cells(frame, cells, w)
    # gov 1 with approval: rows 0 (w1, code 5), 1 (w3, code 4) -> 25 %; all: (1+3+2)/(1+3+2+4)
    # bc_index among gov 1 non-missing: (1*2 + 3*4 + 5*6) / 9
    assert out == pytest.approx([25.0, 60.0, 44 / 9])


def test_evaluate_domain_missing_is_outside():
    frame = pd.DataFrame({"gender": [1, 2, np.nan], "urban": [1, 1, 1]})
    assert evaluate_domain(frame, "gender == 1 | urban == 1").tolist() == [True, True, False]
    assert evaluate_domain(frame, None).tolist() == [True, True, True]
    with pytest.raises(SchemaError, match="do not have"):
        evaluate_domain(frame, "region == 1")


@pytest.mark.parametrize("domain", ["age > 30", "gender == 'f'", "(urban == 1", "a == b",
                                    "__import__('os')"])
def test_bad_domain_expressions_rejected(tmp_path, domain):
    _write_table(tmp_path, groups=[{"id": "g", "label": "G", "n": 1, "domain": domain}])
    with pytest.raises(SchemaError):
        load_registry(tmp_path)


def _write_table(folder: Path, **over):
    doc = {"id": "t", "title": "T", "source": {"paper": "P", "page": "P, p. 1"},
           "population": "all", "unit": "percent", "decimals": 1, "weighted": True,
           "groups": [{"id": "g", "label": "G", "n": 1, "domain": None}],
           "rows": [{"id": "r", "label": "R", "stat": "percent", "var": "approval", "code": 5,
                     "values": {"g": 50.0}}]}
    doc.update(over)
    (folder / "t.yaml").write_text(yaml.safe_dump(doc))


def test_schema_errors(tmp_path):
    _write_table(tmp_path)
    assert load_registry(tmp_path).table("t")["value"].tolist() == [50.0]
    bad_rows = [
        ({"rows": [{"id": "r", "label": "R", "stat": "median", "var": "x", "values": {"g": 1}}]},
         "must be one of"),
        ({"rows": [{"id": "r", "label": "R", "stat": "percent", "var": "x", "values": {"g": 1}}]},
         "needs `code`"),
        ({"rows": [{"id": "r", "label": "R", "stat": "mean", "var": "x", "values": {"h": 1}}]},
         "unknown groups"),
        ({"rows": [{"id": "r", "label": "R", "stat": "mean", "var": "x", "replicable": False,
                    "values": {"g": 1}}]}, "needs a `reason`"),
        ({"colour": "red"}, "unknown table key"),
        ({"id": "other"}, "equal the file name"),
    ]
    for over, message in bad_rows:
        _write_table(tmp_path, **over)
        with pytest.raises(SchemaError, match=message) as exc:
            load_registry(tmp_path)
        assert "t.yaml" in str(exc.value)
    with pytest.raises(SchemaError, match="unknown published table"):
        load_registry().table("fig_9_9")
    with pytest.raises(SchemaError, match="no registry tables"):
        load_registry(tmp_path / "empty")
