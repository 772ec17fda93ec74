"""Harmonisation of a real labelled .sav (written by pyreadstat) onto the canonical codebooks:
every row accounted for, recode counts, NA reasons, typed errors, stacking, writing."""

from __future__ import annotations

import copy
import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from surveykit.errors import DesignError, MappingError, SchemaError, ValidationError
from surveykit.io import harmonise, load_mapping, read, stack, write_canonical

_spec = importlib.util.spec_from_file_location(
    "raw_builder", Path(__file__).parent / "fixtures" / "io" / "raw_builder.py")
rb = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(rb)

N = 60
ITEMS = ["pos_shopping", "pos_content", "pos_volunteer", "pos_donate", "pos_mobile_pay",
         "pos_other", "neg_shopping", "neg_content", "neg_traffic", "neg_gaming", "neg_unfriend",
         "neg_other"]


@pytest.fixture(scope="module")
def raw_path(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("raw") / "example.sav"
    rb.write_raw_sav(path, n=N)
    return path


@pytest.fixture(scope="module")
def raw_df() -> pd.DataFrame:
    return rb.raw_frame(N)


@pytest.fixture(scope="module")
def mapping_dict() -> dict:
    """The example mapping, plus the raw missing codes that a plain DataFrame cannot declare."""
    m = yaml.safe_load(rb.MAPPING.read_text())
    m["variables"]["approval"]["missing"] = {8: "don't know"}
    m["variables"]["income_group"]["missing"] = {9: "refused"}
    return m


@pytest.fixture(scope="module")
def h(raw_path):
    return harmonise(raw_path, rb.MAPPING)


def test_every_row_accounted_for(h, raw_df):
    rep = h.report
    assert rep.rows_in == rep.rows_out == N == len(h.frame)
    assert h.frame["resp_id"].tolist() == raw_df["RESPID"].astype(int).tolist()
    assert (h.frame["study"] == "example_raw").all()
    # per variable: values present + NA counted by reason == all rows
    na_by_var = rep.missing.groupby("variable")["n"].sum()
    for var in h.codebook.variables:
        present = int(h.frame[var].notna().sum())
        assert present + int(na_by_var.get(var, 0)) == N, var
    # per recoded variable: recoded + NA == all rows
    rec = rep.recodes.groupby("variable")["n"].sum()
    for var, n_rec in rec.items():
        assert n_rec + int(na_by_var.get(var, 0)) == N, var


def test_recode_counts_match_raw(h, raw_df):
    rec = h.report.recodes
    gender = rec[rec["variable"] == "gender"].set_index("raw")
    raw_counts = raw_df["S1"].value_counts()
    assert gender.loc[1.0, "canonical"] == 2.0 and gender.loc[2.0, "canonical"] == 1.0
    assert gender.loc[1.0, "n"] == raw_counts[1.0] and gender.loc[2.0, "n"] == raw_counts[2.0]
    assert (h.frame["gender"] == 2).sum() == raw_counts[1.0]
    prov = rec[rec["variable"] == "province"]
    assert prov["n"].sum() == N
    row = prov[prov["raw"] == raw_df["S5"].iloc[0]]
    assert row["canonical"].iloc[0] == h.frame["province"].iloc[0]


def test_missing_reasons_from_raw_and_universe(h, raw_df):
    miss = h.report.missing.set_index(["variable", "reason"])["n"]
    # SPSS user-missing 8 labelled "Don't know" -> canonical spelling "don't know"
    assert miss[("approval", "don't know")] == 2
    assert h.missing["approval"].iloc[2] == "don't know"
    assert miss[("income_group", "refused")] == 1
    assert miss[("age", "system missing")] == 1
    assert miss[("age_group", "system missing")] == 1  # derived: propagated from age
    assert miss[("scs_manager", "not collected")] == N
    outside = int((raw_df["MOD"] == 0).sum())
    for item in [*ITEMS, "bc_index", "bc_direction", "any_change"]:
        assert miss[(item, "not asked")] == outside
    assert (h.frame.loc[raw_df["MOD"] == 0, "behaviour_module"] == 0).all()
    assert h.frame.loc[raw_df["MOD"] == 0, ITEMS].isna().all().all()


def test_derived_variables_follow_codebook(h, raw_df):
    f = h.frame
    inside = f["behaviour_module"] == 1
    expected = (raw_df.loc[inside, rb.ITEMS_RAW] == 1).sum(axis=1)
    assert f.loc[inside, "bc_index"].tolist() == expected.astype(float).tolist()
    pos = (raw_df.loc[inside, rb.ITEMS_RAW[:6]] == 1).sum(axis=1)
    neg = (raw_df.loc[inside, rb.ITEMS_RAW[6:]] == 1).sum(axis=1)
    assert f.loc[inside, "bc_direction"].tolist() == (pos - neg).astype(float).tolist()
    age = raw_df["S2"]
    assert (f.loc[age <= 30, "age_group"] == 1).all() and (f.loc[age >= 51, "age_group"] == 3).all()
    assert f.loc[f["province"] == "xinjiang", "region"].eq(3).all()
    assert f.loc[f["province"].isin(["henan", "hubei"]), "region"].eq(2).all()


def test_ranges_rule_and_dataframe_input(raw_df, mapping_dict):
    m = copy.deepcopy(mapping_dict)
    m["variables"]["age_group"] = {"from": "S2", "ranges": [
        {"min": 14, "max": 30, "code": 1}, {"min": 31, "max": 50, "code": 2},
        {"min": 51, "max": 65, "code": 3}]}
    res = harmonise(raw_df, m)  # a plain DataFrame: code 8 is declared missing by the mapping
    derived = harmonise(raw_df, mapping_dict)
    pd.testing.assert_series_equal(res.frame["age_group"], derived.frame["age_group"])
    assert res.report.missing.query("variable == 'approval'")["n"].tolist() == [2]
    assert res.missing["approval"].iloc[5] == "don't know"


def test_unmapped_codes_error_and_missing(raw_df, mapping_dict):
    df = raw_df.assign(S4=raw_df["S4"].where(raw_df.index % 10 != 0, 7.0))  # 6 rows of code 7
    with pytest.raises(MappingError) as info:
        harmonise(df, mapping_dict)
    err = info.value
    assert err.column == "S4" and err.values == [7.0] and err.count == 6
    assert "education" in str(err) and "unmapped: missing" in str(err)
    m = copy.deepcopy(mapping_dict)
    m["variables"]["education"]["unmapped"] = "missing"
    res = harmonise(df, m)
    un = res.report.unmapped
    assert un[["variable", "raw_column", "raw", "n"]].values.tolist() == [
        ["education", "S4", 7.0, 6]]
    assert res.frame["education"].isna().sum() == 6
    assert set(res.missing["education"].dropna()) == {"unmapped"}
    assert "Unmapped raw codes" in res.report.render()


def test_missing_raw_column(raw_df, mapping_dict):
    with pytest.raises(MappingError, match="missing from the file") as info:
        harmonise(raw_df.drop(columns=["Q4", "S6"]), mapping_dict)
    assert info.value.values == ["Q4", "S6"]


def test_code_outside_codebook(raw_df, mapping_dict):
    m = copy.deepcopy(mapping_dict)
    m["variables"]["approval"]["recode"][5] = 6
    with pytest.raises(MappingError, match="outside the codebook") as info:
        harmonise(raw_df, m)
    assert info.value.column == "approval" and info.value.values == [6]
    df = raw_df.assign(S2=raw_df["S2"].where(raw_df.index != 7, 99.0))
    with pytest.raises(ValidationError, match="valid range") as info:
        harmonise(df, mapping_dict)
    # the raw column the user can fix, and the canonical name (issue 11 item 12)
    assert info.value.column == "S2" and info.value.values == [99.0]
    assert "canonical 'age'" in str(info.value)


def test_duplicate_ids(raw_df, mapping_dict):
    df = raw_df.copy()
    df.loc[[3, 9], "RESPID"] = 1001.0
    with pytest.raises(ValidationError, match="duplicate respondent ids") as info:
        harmonise(df, mapping_dict)
    assert info.value.column == "RESPID" and info.value.values == [1001.0]
    assert info.value.count == 3


@pytest.mark.parametrize(
    ("weights", "text"),
    [("nan", "missing values"), ("neg", "non-negative"), ("str", "numeric")],
)
def test_bad_weights(raw_df, mapping_dict, weights, text):
    df = raw_df.copy()
    if weights == "nan":
        df.loc[4, "WEIGHT"] = np.nan
    elif weights == "neg":
        df.loc[4, "WEIGHT"] = -1.0
    else:
        df["WEIGHT"] = df["WEIGHT"].astype(object)
        df.loc[4, "WEIGHT"] = "heavy"
    with pytest.raises(DesignError, match=text) as info:
        harmonise(df, mapping_dict)
    assert info.value.column == "WEIGHT"


def test_unknown_canonical_variable_and_schema(tmp_path, raw_df, mapping_dict):
    m = copy.deepcopy(mapping_dict)
    m["variables"]["happiness"] = {"from": "Q12"}
    with pytest.raises(MappingError, match="not in the codebooks") as info:
        harmonise(raw_df, m)
    assert info.value.values == ["happiness"]
    bad = copy.deepcopy(mapping_dict)
    bad["variables"]["approval"]["recodes"] = {1: 1}
    p = tmp_path / "bad.yaml"
    p.write_text(yaml.safe_dump(bad))
    with pytest.raises(SchemaError) as info:
        load_mapping(p)
    assert str(p) in str(info.value) and "variables.approval.recodes" in str(info.value)
    nothing = copy.deepcopy(mapping_dict)
    del nothing["variables"]["weight"]
    with pytest.raises(MappingError, match="required"):
        harmonise(raw_df, nothing)


def test_stack_two_studies(raw_df, mapping_dict, h):
    m2 = {"study": "approval_only", "codebooks": ["approval"], "id": "RESPID",
          "variables": {"weight": {"value": 1}, "approval": {"from": "Q12",
                        "recode": {i: i for i in range(1, 6)}, "unmapped": "missing"}}}
    h2 = harmonise(raw_df.iloc[:10], m2)
    both = stack([h, h2])
    assert len(both.frame) == N + 10 == both.report.rows_in == both.report.rows_out
    assert both.frame["study"].value_counts().to_dict() == {"example_raw": N, "approval_only": 10}
    assert list(both.frame.columns) == list(h.frame.columns)
    second = both.frame["study"] == "approval_only"
    assert both.frame.loc[second, ITEMS].isna().all().all()
    assert set(both.missing["bc_index"][second.to_numpy()]) == {"not collected"}
    miss = both.report.missing.set_index(["study", "variable", "reason"])["n"]
    assert miss[("approval_only", "bc_index", "not collected")] == 10
    assert miss[("example_raw", "approval", "don't know")] == 2
    assert miss[("approval_only", "approval", "unmapped")] == 2  # 8 not declared missing here
    assert set(both.report.recodes["study"]) == {"example_raw", "approval_only"}
    with pytest.raises(ValidationError, match="same study"):
        stack([h, h])


def test_write_sav_round_trip_keeps_reasons(h, tmp_path):
    out = h.write(tmp_path / "canonical.sav")
    back = read(out)
    assert back.n == N
    assert back.variable_labels["approval"] == "Approval of social credit systems"
    assert back.value_labels["approval"][5.0] == "strongly approve"
    assert back.missing_reasons["bc_index"].value_counts().to_dict() == {
        "not asked": int((h.frame["behaviour_module"] == 0).sum())}
    assert back.missing_reasons["approval"].dropna().tolist() == ["don't know"] * 2
    assert back.missing_reasons["age"].dropna().tolist() == ["system missing"]
    pd.testing.assert_series_equal(back.data["bc_index"], h.frame["bc_index"])
    assert back.data["province"].tolist() == h.frame["province"].tolist()
    # the written file is itself a valid canonical file
    h.codebook.validate(back.data, source=str(out))
    csv = write_canonical(h.frame, tmp_path / "c.csv", h.codebook)
    assert pd.read_csv(csv)["approval"].isna().sum() == 2


def test_report_outputs(h):
    d = h.report.to_dict()
    assert d["rows_in"] == N and d["studies"] == ["example_raw"]
    assert {"variable": "approval", "reason": "don't know", "n": 2, "study": "example_raw"} in \
        d["missing"]
    frame = h.report.to_frame()
    assert frame.loc[frame["section"] == "rows_out", "n"].tolist() == [N]
    assert set(frame["section"]) == {"rows_in", "rows_out", "recode", "missing"}
    text = h.report.render()
    assert f"rows in: {N}   rows out: {N}" in text
    assert "gender <- S1: 1->2:" in text
