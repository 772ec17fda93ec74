"""Canonical codebooks: names/codes per docs/ARCHITECTURE.md, schema checks, validation,
derivations (checked against the published Figures 5.8 / 5.9 of the seed text)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from surveykit.dictionary import combine, load_codebook, load_table, reasons_of
from surveykit.errors import DesignError, InputFileError, SchemaError, ValidationError

POS = ["pos_shopping", "pos_content", "pos_volunteer", "pos_donate", "pos_mobile_pay", "pos_other"]
NEG = ["neg_shopping", "neg_content", "neg_traffic", "neg_gaming", "neg_unfriend", "neg_other"]
ITEMS = POS + NEG

# The canonical names of docs/ARCHITECTURE.md ("Canonical variables" table), in that order.
APPROVAL_NAMES = [
    "resp_id", "weight", "approval", "sesame", "tencent", "commercial", "gov_pilot",
    "pilot_locality", "scs_manager", "age", "age_group", "income_group", "education", "province",
    "region", "urban", "gender", "internet_hours", "online_shopping", "trust_central",
    "party_member", "fairness", "score_vs_peers", "peer_score_influence", "mutual_mistrust",
    "data_trust_central", "data_trust_provincial",
]
BEHAVIOUR_NAMES = ["behaviour_module", *ITEMS, "any_positive", "any_negative", "any_change",
                   "bc_index", "bc_direction"]


@pytest.fixture(scope="module")
def approval():
    return load_codebook("approval")


@pytest.fixture(scope="module")
def behaviour():
    return load_codebook("behaviour")


def test_canonical_names_match_architecture(approval, behaviour):
    assert list(approval.variables) == APPROVAL_NAMES
    assert list(behaviour.variables) == APPROVAL_NAMES + BEHAVIOUR_NAMES
    # the union of both is the behaviour codebook (it includes every approval variable)
    assert list(combine([approval, behaviour]).variables) == APPROVAL_NAMES + BEHAVIOUR_NAMES


def test_codes_match_architecture(approval, behaviour):
    assert approval.labels("approval") == {
        1: "strongly disapprove", 2: "somewhat disapprove", 3: "neither approve nor disapprove",
        4: "somewhat approve", 5: "strongly approve"}
    # ranges written with an en dash, as the publications print them (labels are never
    # rewritten on the way to results, so the codebook says it as it is shown)
    assert approval.labels("age_group") == {1: "14–30", 2: "31–50", 3: "51–65"}
    assert approval.labels("income_group") == {1: "<1,000 RMB", 2: "1,000–4,000 RMB",
                                               3: ">4,000 RMB"}
    assert list(approval.labels("education")) == [1, 2, 3, 4]
    assert approval.labels("region") == {1: "East", 2: "Central", 3: "West"}
    assert approval.labels("urban") == {0: "rural", 1: "urban"}
    assert approval.labels("gender") == {1: "female", 2: "male"}
    assert approval.labels("scs_manager")[3] == "private companies with government"
    assert approval["age"].range == (14, 65)
    assert behaviour["bc_index"].range == (0, 12)
    assert behaviour["bc_direction"].range == (-6, 6)
    for item in ITEMS:
        assert behaviour[item].type == "binary"
        assert behaviour[item].universe == ("behaviour_module", 1)
    # every variable has a label and a question (or says the wording is not published)
    for var in behaviour.variables.values():
        assert var.label and var.question


def test_provinces_table_nbs_regions(approval):
    table = load_table("provinces")
    assert len(table) == 31
    regions = pd.Series({k: v["region"] for k, v in table.items()}).value_counts()
    assert regions.to_dict() == {"west": 12, "east": 11, "central": 8}
    assert len({v["gb"] for v in table.values()}) == 31
    assert set(approval.labels("province")) == set(table)


def test_derive_region_and_age_group(approval):
    df = pd.DataFrame({"province": ["beijing", "henan", "xinjiang", None, "guangxi"],
                       "age": [14, 30, 31, 50, 51]})
    out, why = approval.derive_with_reasons(df)
    assert out["region"].tolist()[:3] == [1.0, 2.0, 3.0]
    assert np.isnan(out["region"].iloc[3]) and out["region"].iloc[4] == 3.0
    assert why["region"].iloc[3] == "missing (other)"
    assert out["age_group"].tolist() == [1.0, 1.0, 2.0, 2.0, 3.0]


def test_derive_behaviour_indices_by_hand(behaviour):
    # respondent 0: 3 positive + 1 negative; 1: none; 2: 0 positive + 2 negative;
    # 3: outside the module (items NA "not asked")
    rows = np.zeros((4, 12))
    rows[0, [0, 1, 4, 7]] = 1
    rows[2, [8, 10]] = 1
    rows[3, :] = np.nan
    df = pd.DataFrame(rows, columns=ITEMS)
    df["behaviour_module"] = [1, 1, 1, 0]
    df["age"] = 20
    df["province"] = "beijing"
    missing = {c: pd.Series([None, None, None, "not asked"], dtype=object) for c in ITEMS}
    out, why = behaviour.derive_with_reasons(df, missing)
    assert out["bc_index"].tolist()[:3] == [4.0, 0.0, 2.0]
    assert out["bc_direction"].tolist()[:3] == [2.0, 0.0, -2.0]
    assert out["any_positive"].tolist()[:3] == [1.0, 0.0, 0.0]
    assert out["any_negative"].tolist()[:3] == [1.0, 0.0, 1.0]
    assert out["any_change"].tolist()[:3] == [1.0, 0.0, 1.0]
    for name in ("bc_index", "bc_direction", "any_change"):
        assert np.isnan(out[name].iloc[3])
        assert why[name].iloc[3] == "not asked"
        assert why[name].iloc[:3].isna().all()
    behaviour.validate(out.assign(resp_id=range(4), weight=1.0))


# Figure 5.9 (seed text lines ~1065-1090): % of respondents per item, per column. Figure 5.8
# gives the mean behaviour-change index (0-12) and the directional index (-6..6) of the
# corresponding groups. Since both indices are sums of item indicators, their means are the
# sums of the item shares: that identity checks the codebook's derivations.
FIG_5_9 = {  # column: (6 positive item %, 6 negative item %)
    "total": ([50.8, 25.5, 26.4, 34.2, 60.9, 4.0], [36.0, 17.8, 50.8, 21.5, 17.4, 6.7]),
    "commercial_only": ([49.4, 23.2, 23.2, 31.9, 59.8, 3.9], [34.7, 15.6, 48.9, 20.5, 15.6, 6.9]),
    "government_and_commercial": ([63.3, 45.9, 55.2, 55.8, 70.8, 5.2],
                                  [47.7, 37.8, 67.7, 30.7, 33.7, 4.6]),
    "government_only": ([35.0, 24.0, 38.5, 37.2, 53.6, 5.3], [29.2, 21.4, 49.4, 23.7, 40.6, 10.6]),
}
FIG_5_8 = {  # Figure 5.8 rows: Total, Commercial credit only, Government, Government only
    "total": (3.5, 0.5),
    "commercial_only": (3.3, 0.5),
    "government_and_commercial": (5.2, 0.7),
    "government_only": (3.7, 0.2),
}


@pytest.mark.parametrize("column", list(FIG_5_9))
def test_indices_reproduce_figure_5_8_from_figure_5_9(behaviour, column):
    pos, neg = FIG_5_9[column]
    n = 1000  # shares have one decimal: exactly share*10 of 1000 respondents select an item
    rng = np.random.default_rng(20)
    data = {}
    for name, share in zip(ITEMS, pos + neg, strict=True):
        col = np.zeros(n)
        col[: round(share * 10)] = 1
        data[name] = rng.permutation(col)
    df = pd.DataFrame(data).assign(behaviour_module=1, age=30, province="beijing")
    out = behaviour.derive(df)
    bc_mean = out["bc_index"].mean()
    dir_mean = out["bc_direction"].mean()
    assert bc_mean == pytest.approx(sum(pos + neg) / 100, abs=1e-12)
    assert dir_mean == pytest.approx((sum(pos) - sum(neg)) / 100, abs=1e-12)
    published_bc, published_dir = FIG_5_8[column]
    assert abs(bc_mean - published_bc) <= 0.05 + 1e-9  # published values are rounded to 0.1
    assert abs(dir_mean - published_dir) <= 0.05 + 1e-9
    if column == "total":
        assert bc_mean == pytest.approx(3.52) and dir_mean == pytest.approx(0.516)


# -- validation ---------------------------------------------------------------------------------


def _valid_frame(n: int = 6) -> pd.DataFrame:
    return pd.DataFrame({
        "resp_id": np.arange(n), "weight": np.ones(n), "approval": [1, 2, 3, 4, 5, np.nan][:n],
        "age": np.linspace(14, 65, n), "province": ["beijing"] * n,
    })


def test_validate_accepts_valid_frame(approval):
    approval.validate(_valid_frame())


@pytest.mark.parametrize(
    ("column", "values", "error", "text"),
    [
        ("approval", [1, 2, 7, 4, 9, 7], ValidationError, "codes outside the codebook"),
        ("age", [14, 70, 20, 21, 22, 13], ValidationError, "outside the valid range"),
        ("resp_id", [1, 2, 2, 3, 4, 4], ValidationError, "duplicate respondent ids"),
        ("province", ["beijing", "atlantis"] * 3, ValidationError, "codes outside"),
        ("approval", ["1", "x", "2", "3", "4", "5"], ValidationError, "not numeric"),
        ("weight", [1, 1, -2, 1, 1, 1], DesignError, "non-negative"),
        ("weight", [1, np.nan, 1, 1, 1, 1], DesignError, "missing"),
    ],
)
def test_validate_errors_name_column_values_count(approval, column, values, error, text):
    df = _valid_frame()
    df[column] = values
    with pytest.raises(error) as info:
        approval.validate(df, source="study.sav")
    msg = str(info.value)
    assert text in msg
    assert "study.sav" in msg and repr(column) in msg
    if column == "approval" and text.startswith("codes"):
        assert info.value.values == [7, 9] and info.value.count == 3
    if column == "resp_id":
        assert info.value.values == [2, 4] and info.value.count == 4


def test_validate_required_and_universe(behaviour):
    df = _valid_frame(4).drop(columns="weight")
    with pytest.raises(ValidationError, match="required"):
        behaviour.validate(df)
    df = _valid_frame(4)
    df["behaviour_module"] = [1, 0, 1, 0]
    df["pos_shopping"] = [1, 1, 0, np.nan]  # the 2nd row answered outside the module
    with pytest.raises(ValidationError, match="outside the universe") as info:
        behaviour.validate(df)
    assert info.value.values == ["row 2"]  # counted from 1
    df["bc_index"] = [1.5, np.nan, 0, np.nan]
    df.loc[1, "pos_shopping"] = np.nan
    with pytest.raises(ValidationError, match="whole numbers"):
        behaviour.validate(df)


def test_describe_frame_counts_codes_and_reasons(approval):
    df = _valid_frame()
    df.loc[0, "approval"] = 5
    missing = {"approval": pd.Series([None] * 5 + ["don't know"], dtype=object)}
    view = approval.describe_frame(df, missing)
    ap = view[view["variable"] == "approval"]
    codes = ap[ap["kind"] == "code"].set_index("code")["n"].to_dict()
    assert codes == {1: 0, 2: 1, 3: 1, 4: 1, 5: 2}
    na = ap[ap["kind"] == "missing"]
    assert na["value_label"].tolist() == ["don't know"] and na["n"].tolist() == [1]
    assert na["code"].tolist() == [-91]
    absent = view[view["variable"] == "sesame"]
    assert absent["value_label"].tolist() == ["(column absent)"]


def test_reasons_of_defaults_to_unknown():
    df = pd.DataFrame({"x": [1.0, np.nan]})
    assert reasons_of(df, "x").tolist() == [None, "missing (other)"]


# -- schema errors ------------------------------------------------------------------------------


def _write(tmp_path: Path, doc: dict) -> Path:
    p = tmp_path / "cb.yaml"
    p.write_text(yaml.safe_dump(doc, sort_keys=False))
    return p


def _doc(**var) -> dict:
    base = {"label": "X", "type": "ordinal", "values": {1: "a", 2: "b"}}
    base.update(var)
    return {"codebook": "t", "variables": {"x": base}}


@pytest.mark.parametrize(
    ("doc", "key"),
    [
        (_doc(type="likert"), "variables.x.type"),
        (_doc(colour="red"), "variables.x.colour"),
        (_doc(values={True: "yes", False: "no"}), "variables.x.values"),
        (_doc(missing={1: "refused"}), "variables.x.missing"),
        (_doc(derive={"eval": "a+b"}), "variables.x.derive"),
        (_doc(derive={"count_of": ["nope"]}), "variables.x.derive"),
        (_doc(type="binary", values={1: "a", 2: "b"}), "variables.x.values"),
        ({"codebook": "t", "variabels": {}}, "variabels"),
    ],
)
def test_schema_errors_name_file_and_key(tmp_path, doc, key):
    p = _write(tmp_path, doc)
    with pytest.raises(SchemaError) as info:
        load_codebook(p)
    assert str(p) in str(info.value)
    assert repr(key) in str(info.value)


def test_unknown_codebook_name():
    with pytest.raises(InputFileError, match="unknown codebook"):
        load_codebook("no_such_codebook")
