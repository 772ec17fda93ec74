"""Labels flow from the data (a .sav file's value labels, the canonical codebook) into tidy
results, cross-tabulations, Likert tables and model terms."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import surveykit as sk
from surveykit.labels import as_code, codes, term_label, value_labels, variable_label


@pytest.fixture(scope="module")
def labelled(tmp_path_factory) -> sk.SurveyDesign:
    """A .sav with value labels read back: the design knows the labels of its variables."""
    rng = np.random.default_rng(3)
    n = 400
    df = pd.DataFrame({
        "q1": rng.integers(1, 4, n).astype(float),
        "sex": rng.integers(1, 3, n).astype(float),
        "w": rng.uniform(0.5, 2.0, n),
        "score": rng.normal(50, 10, n),
    })
    path = tmp_path_factory.mktemp("sav") / "labelled.sav"
    sk.write_sav(df, path, variable_labels={"q1": "Trust in courts", "sex": "Sex"},
                 value_labels={"q1": {1.0: "none", 2.0: "some", 3.0: "a lot"},
                               "sex": {1.0: "female", 2.0: "male"}})
    raw = sk.read(path)
    return sk.SurveyDesign(raw.data, weights="w")


def test_proportion_levels_are_integer_codes_with_file_labels(labelled):
    res = sk.proportion(labelled, "q1", by="sex")
    assert res["level"].dtype == np.int64 and res["sex"].dtype == np.int64
    assert list(res.columns[:5]) == ["sex", "sex_label", "variable", "level", "level_label"]
    got = dict(zip(res["level"], res["level_label"], strict=False))
    assert got == {1: "none", 2: "some", 3: "a lot"}
    assert set(zip(res["sex"], res["sex_label"], strict=True)) == {(1, "female"), (2, "male")}
    # the numbers are those of the unlabelled computation
    bare = labelled.data.copy()
    bare.attrs = {}
    plain = sk.SurveyDesign(bare, weights="w")
    ref = sk.proportion(plain, "q1", by="sex")
    np.testing.assert_allclose(res["estimate"], ref["estimate"], rtol=1e-12)
    assert "level_label" in ref.columns and ref["level_label"].tolist() == [
        str(c) for c in ref["level"]]  # no labels: the code as text


def test_mean_by_labelled_group(labelled):
    res = sk.mean(labelled, "score", by="sex")
    assert res["sex_label"].tolist() == ["female", "male"]
    assert "level" not in res.columns


def test_crosstab_and_likert_use_labels(labelled):
    ct = sk.crosstab(labelled, "q1", "sex")
    assert ct.table["row"].dtype == np.int64
    assert ct.table.groupby("row")["row_label"].first().to_dict() == {
        1: "none", 2: "some", 3: "a lot"}
    assert set(ct.table["col_label"]) == {"female", "male"}
    lik = sk.likert(labelled, "q1", by="sex")
    assert list(lik.index) == ["none", "some", "a lot", "N", "N missing"]
    assert list(lik.columns) == ["Total", "female", "male"]
    assert lik.attrs["codes"] == [1, 2, 3]
    # explicit labels still win
    own = sk.likert(labelled, "q1", labels={1.0: "x", 2.0: "y", 3.0: "z"})
    assert list(own.index)[:3] == ["x", "y", "z"]


def test_labels_survive_with_columns_and_subset(labelled):
    d = labelled.with_columns(extra=np.ones(labelled.n_total)).subset(
        labelled.data["sex"] == 1)
    assert value_labels(d, "q1") == {1: "none", 2: "some", 3: "a lot"}
    assert variable_label(d, "q1") == "Trust in courts"


def test_model_terms_keep_formula_name_and_gain_label(labelled):
    fit = sk.glm(labelled, "score ~ C(q1) + C(sex)")
    t = fit.tidy()
    assert t["term"].tolist()[1] == "C(q1)[T.2]"
    assert t["label"].tolist() == ["Intercept", "Trust in courts: some",
                                   "Trust in courts: a lot", "Sex: male"]


def test_term_label_forms():
    """Labels as the file writes them: "14-30" stays "14-30" (no en-dash rewrite)."""
    df = pd.DataFrame({"age_group": [1.0], "urban": [0.0], "x": [1.0]})
    sk_labels = {"age_group": {1: "14-30", 2: "31-50"}, "urban": {0: "rural", 1: "urban"}}
    df.attrs.update(value_labels=sk_labels,
                    variable_labels={"age_group": "Age group", "urban": "Urban residence"})
    assert term_label("C(age_group)[T.2]", df) == "Age group: 31-50"
    assert term_label("C(age_group, Treatment(2))[T.1]", df) == "Age group: 14-30"
    assert term_label("age_group[T.2]", df) == "Age group: 31-50"
    assert term_label("C(age_group)[T.2.0]", df) == "Age group: 31-50"  # older float names
    assert term_label("urban", df) == "Urban residence (urban vs rural)"
    assert term_label("C(age_group)[T.2]:urban", df) == (
        "Age group: 31-50 × Urban residence (urban vs rural)")
    assert term_label("1|2", df, outcome="age_group") == "14-30 | 31-50"
    assert sk.labels.value_labels(df, "age_group") == {1: "14-30", 2: "31-50"}
    assert sk.labels.pretty("14-30") == "14–30"  # the opt-in display style
    assert term_label("np.log(x)", df) == "np.log(x)"
    assert term_label("Intercept", df) == "Intercept"


def test_replica_results_carry_codebook_labels():
    design = sk.SurveyDesign(sk.load_replica(), weights="weight")
    res = sk.proportion(design, "approval")
    assert res["level"].tolist() == [1, 2, 3, 4, 5]
    assert res["level_label"].iloc[0] == "strongly disapprove"
    fit = sk.ordinal(design, "approval ~ C(age_group) + urban")
    t = fit.tidy()
    assert t.loc[t["term"] == "C(age_group)[T.2]", "label"].item() == "Age group: 31–50"
    assert t.loc[t["term"] == "1|2", "label"].item() == (
        "strongly disapprove | somewhat disapprove")


def test_codes_helpers():
    assert as_code(2.0) == 2 and isinstance(as_code(2.0), int)
    assert as_code(2.5) == 2.5 and as_code("a") == "a"
    assert codes(pd.Series([1.0, 2.0])).dtype == np.int64
    assert codes(pd.Series([1.0, np.nan])).dtype == float  # NA keeps the float type
    assert codes(pd.Series([1.5, 2.0])).tolist() == [1.5, 2.0]


def test_vcov_parameter_names_use_value_labels_so_contrasts_read_as_the_question():
    """`contrast(mean(..., by="region", vcov=True), {"West": 1, "East": -1})` (issue 12)."""
    df = sk.load_replica()
    design = sk.SurveyDesign(df, weights="weight")
    res = sk.mean(design, "approval", by="region", vcov=True)
    assert list(res.attrs["vcov"].index) == list(res["region_label"])
    diff = sk.contrast(res, {"West": 1, "East": -1})
    est = res.set_index("region_label")
    v = res.attrs["vcov"]
    assert diff["estimate"].iloc[0] == pytest.approx(
        est.loc["West", "estimate"] - est.loc["East", "estimate"], rel=1e-12)
    se = np.sqrt(v.loc["West", "West"] + v.loc["East", "East"] - 2 * v.loc["West", "East"])
    assert diff["std_error"].iloc[0] == pytest.approx(se, rel=1e-12)
    # proportions: group label, variable, level label
    prop = sk.proportion(design, "urban", by="region", vcov=True)
    assert "West:urban:urban" in prop.attrs["vcov"].index


def test_parameter_names_are_made_once_from_the_labelled_result():
    """tidy_result names parameters after labelling: labels where the data have them, integer
    codes otherwise (1, not 1.0), the codes when labels would repeat; the quantile last."""
    df = sk.load_replica()
    design = sk.SurveyDesign(df, weights="weight")
    prop = sk.proportion(design, "approval", by=["urban", "region"], vcov=True)
    names = list(prop.attrs["vcov"].index)
    assert names[0] == "rural.East:approval:strongly disapprove"
    assert names == [f"{u}.{r}:approval:{lv}" for u, r, lv in
                     zip(prop["urban_label"], prop["region_label"], prop["level_label"],
                         strict=True)]
    q = sk.quantile(design, "age", [0.5], by="region", vcov=True)
    assert list(q.attrs["vcov"].index) == ["East:0.5", "Central:0.5", "West:0.5"]
    # unlabelled float codes: integer text
    plain = df.assign(g=df["region"].astype(float) + 10)
    res = sk.mean(sk.SurveyDesign(plain, weights="weight"), "age", by="g", vcov=True)
    assert list(res.attrs["vcov"].index) == ["11", "12", "13"]
    # labels that repeat: the codes keep the names apart
    amb = df.copy()
    amb.attrs["value_labels"] = {**df.attrs["value_labels"],
                                 "region": {1: "coast", 2: "inland", 3: "inland"}}
    res = sk.mean(sk.SurveyDesign(amb, weights="weight"), "age", by="region", vcov=True)
    assert list(res["region_label"]) == ["coast", "inland", "inland"]
    assert list(res.attrs["vcov"].index) == ["1", "2", "3"]
    d = sk.contrast(res, {"3": 1, "2": -1})
    assert d["estimate"].iloc[0] == pytest.approx(res["estimate"][2] - res["estimate"][1])


def test_table_results_carry_label_columns():
    """sk.table: integer codes, <row>_label / <col>_label from the value labels, names by label."""
    df = sk.load_replica()
    design = sk.SurveyDesign(df, weights="weight")
    t = sk.table(design, "urban", "region", vcov=True)
    assert list(t.columns[:4]) == ["urban", "urban_label", "region", "region_label"]
    assert t["urban"].tolist() == [0, 0, 0, 1, 1, 1] and t["urban"].dtype == np.int64
    vl = df.attrs["value_labels"]
    assert t["urban_label"].tolist() == [vl["urban"][c] for c in t["urban"]]
    assert t["region_label"].tolist() == [vl["region"][c] for c in t["region"]]
    assert list(t.attrs["vcov"].index)[:2] == [f"{vl['urban'][0]}.{vl['region'][1]}",
                                               f"{vl['urban'][0]}.{vl['region'][2]}"]
    # the counts themselves: weighted sums of the cells
    w = df["weight"].to_numpy()
    cell = (df["urban"] == 1) & (df["region"] == 3)
    got = t[(t["urban"] == 1) & (t["region"] == 3)]["estimate"].item()
    assert got == pytest.approx(w[cell.to_numpy()].sum(), rel=1e-12)
    west_vs_east = sk.contrast(t, {f"{vl['urban'][1]}.{vl['region'][3]}": 1,
                                   f"{vl['urban'][1]}.{vl['region'][1]}": -1})
    assert np.isfinite(west_vs_east["std_error"].iloc[0])
    one = sk.table(design, "approval")
    assert list(one.columns[:2]) == ["approval", "approval_label"]
    assert one["approval_label"].iloc[-1] == vl["approval"][5]


def test_margins_use_value_and_variable_labels():
    """sk.margins: integer by codes, <by>_label, parameters named by label, variable label."""
    df = sk.load_replica()
    design = sk.SurveyDesign(df, weights="weight")
    fit = sk.glm(design, "sesame ~ C(age_group) + urban", family="binomial")
    m = sk.margins(fit, by="C(age_group)")
    vl = sk.labels.value_labels(df, "age_group")  # as printed: "14–30"
    assert list(m.columns[:2]) == ["age_group", "age_group_label"]
    assert m["age_group"].tolist() == [1, 2, 3]
    assert m["age_group_label"].tolist() == [vl[1], vl[2], vl[3]]
    assert list(m.attrs["vcov"].index) == [vl[1], vl[2], vl[3]]
    assert m.attrs["variable_labels"] == {"age_group": df.attrs["variable_labels"]["age_group"]}
    diff = sk.contrast(m, {vl[3]: 1, vl[1]: -1})
    assert diff["estimate"].iloc[0] == pytest.approx(m["estimate"][2] - m["estimate"][0],
                                                     rel=1e-12)
    # the margin of a group is the weighted mean prediction with that group set for everyone
    everyone = df.assign(age_group=3.0)
    p = fit.predict(everyone, type="response").to_numpy()
    w = df["weight"].to_numpy()
    assert m["estimate"][2] == pytest.approx((w * p).sum() / w.sum(), rel=1e-10)


def test_label_dicts_are_shared_not_copied_by_pandas_and_attach_never_mutates() -> None:
    import pandas as pd

    from surveykit.labels import VALUE_LABELS, attach, value_labels

    frame = attach(pd.DataFrame({"a": [1, 2], "b": [3, 4]}), {"a": {1: "one", 2: "two"}})
    derived = frame[frame["a"] > 1].assign(c=1).reset_index(drop=True)
    assert derived.attrs[VALUE_LABELS] is frame.attrs[VALUE_LABELS]  # shared, not deep-copied
    assert value_labels(derived, "a") == {1: "one", 2: "two"}
    before = frame.attrs[VALUE_LABELS]
    attach(derived, {"b": {3: "three"}})  # a new dict for the derived frame
    assert "b" not in before and value_labels(frame, "b") == {}
    assert value_labels(derived, "b") == {3: "three"}
