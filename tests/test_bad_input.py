"""Bad input across the public entry points: typed errors naming file/column/values, one-line
CLI errors (exit 2, no traceback), and exclusions that are counted rather than dropped."""

from __future__ import annotations

import copy
import importlib.util
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import surveykit as sk
import surveykit.cli as cli
from surveykit.errors import (
    EstimationError,
    InputFileError,
    MappingError,
    ModelError,
    SchemaError,
    ValidationError,
    WeightingError,
)
from surveykit.io import harmonise, load_mapping, read
from surveykit.io.harmonise import write_canonical
from surveykit.weighting import load_targets

_spec = importlib.util.spec_from_file_location(
    "raw_builder", Path(__file__).parent / "fixtures" / "io" / "raw_builder.py")
rb = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(rb)

BINARY = b"\xff\xfe\x00not text"


@pytest.fixture(scope="module")
def raw_df() -> pd.DataFrame:
    return rb.raw_frame(30)


@pytest.fixture(scope="module")
def mapping() -> dict:
    m = yaml.safe_load(rb.MAPPING.read_text())
    m["variables"]["approval"]["missing"] = {8: "don't know"}
    m["variables"]["income_group"]["missing"] = {9: "refused"}
    return m


@pytest.fixture
def design() -> sk.SurveyDesign:
    rng = np.random.default_rng(7)
    n = 90
    df = pd.DataFrame({"w": rng.uniform(1, 3, n), "g": np.tile([1.0, 2.0, 3.0], 30),
                       "k": np.tile([0, 1], 45), "x": rng.normal(size=n),
                       "y": rng.integers(1, 6, n), "c": 1.0})
    df.loc[[4, 5], "g"] = np.nan
    return sk.SurveyDesign(df, weights="w", source="survey.csv")


# --- reading and loading files ---------------------------------------------------------------


def test_binary_yaml_files_are_schema_errors(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(BINARY)
    for load, what in ((load_mapping, "mapping"), (sk.load_codebook, "codebook"),
                       (load_targets, "targets file")):
        with pytest.raises(SchemaError, match=f"{what} is not UTF-8") as info:
            load(bad)
        assert info.value.file == str(bad.resolve()) or info.value.file == str(bad)


def test_reader_and_yaml_errors_are_one_line(tmp_path):
    csv = tmp_path / "ragged.csv"
    csv.write_bytes(b"a\n1\n1,2\n")
    with pytest.raises(InputFileError, match="ParserError") as info:
        read(csv)
    assert "\n" not in str(info.value) and info.value.file == str(csv)
    yml = tmp_path / "broken.yaml"
    yml.write_text("variables: [\n")
    with pytest.raises(SchemaError, match="not valid YAML") as info:
        load_mapping(yml)
    assert "\n" not in str(info.value) and str(yml) in str(info.value)


def test_mapping_and_data_of_wrong_type(raw_df):
    with pytest.raises(SchemaError, match="got NoneType"):
        load_mapping(None)
    with pytest.raises(InputFileError, match="got int"):
        harmonise(3, rb.MAPPING)


# --- harmonise -------------------------------------------------------------------------------


def test_harmonise_zero_rows_names_the_file(tmp_path, raw_df, mapping):
    path = tmp_path / "header_only.csv"
    raw_df.iloc[:0].to_csv(path, index=False)
    with pytest.raises(ValidationError, match="no rows") as info:
        harmonise(path, mapping)
    assert info.value.file == str(path)


def test_harmonise_constant_value_must_be_numeric(raw_df, mapping):
    m = copy.deepcopy(mapping)
    m["variables"]["age"] = {"value": "unknown"}
    with pytest.raises(MappingError, match="must be a number") as info:
        harmonise(raw_df, m)
    assert info.value.column == "age" and info.value.values == ["unknown"]


def test_harmonise_mixed_column_reports_only_the_bad_code(raw_df, mapping):
    df = raw_df.copy()
    df["Q12"] = df["Q12"].astype(object)
    df.loc[3, "Q12"] = "five"
    with pytest.raises(MappingError, match="not covered") as info:
        harmonise(df, mapping)
    # the float codes 1.0..5.0 and 8.0 still match the integer keys of the mapping
    assert info.value.column == "Q12" and info.value.values == ["five"] and info.value.count == 1


def test_write_canonical_unwritable_path(tmp_path, raw_df, mapping):
    h = harmonise(raw_df, mapping)
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(InputFileError, match="cannot write") as info:
        write_canonical(h.frame, blocker / "out.csv", h.codebook, h.missing)
    assert info.value.file == str(blocker)


# --- weighting -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "text"),
    [
        (lambda d: sk.rake(d, {"k": {0: 0.5, 1: 0.5}}, population="many"), "population"),
        (lambda d: sk.rake(d, {"k": {0: 0.5, 1: 0.5}}, bounds="x"), "pair"),
        (lambda d: sk.trim(d, upper="big"), "upper trimming bound"),
        (lambda d: sk.poststratify(d, "k", {0: "lots", 1: 50}), "population total of cell"),
        (lambda d: sk.calibrate(d, "~x", {"Intercept": "n", "x": 0}), "calibration total"),
    ],
)
def test_weighting_arguments_that_are_not_numbers(design, call, text):
    with pytest.raises(WeightingError, match=text) as info:
        call(design)
    assert info.value.count == 1  # the offending value is shown


def test_calibration_formula_names_unknown_variable(design):
    with pytest.raises(WeightingError, match="not defined") as info:
        sk.calibrate(design, "~x + income", {"Intercept": 200, "x": 0, "income": 1})
    assert info.value.column == "income" and info.value.file == "survey.csv"
    assert "\n" not in str(info.value)


def test_trim_without_spurious_warning(design):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # converged to rounding: no "still outside" warning
        out = sk.trim(design, upper=2.5)
    assert out.base_weights.max() <= 2.5 + 1e-9
    assert out.base_weights.sum() == pytest.approx(design.base_weights.sum(), rel=1e-12)


# --- estimation ------------------------------------------------------------------------------


def test_likert_counts_rows_with_missing_by(design):
    with pytest.warns(UserWarning, match="2 row"):
        out = sk.likert(design, "y", by="g")
    assert out.attrs["n_missing_by"] == 2
    assert out.loc["N"].drop("Total").sum() == out.loc["N", "Total"] - 2


def test_likert_domain_expression_errors(design):
    with pytest.raises(EstimationError, match="cannot evaluate") as info:
        sk.likert(design, "y", domains={"users": "sesame == 1"})
    assert "users" in str(info.value) and "sesame" in str(info.value)
    assert info.value.file == "survey.csv"


# --- models ----------------------------------------------------------------------------------


def test_model_unknown_variable_names_the_column(design):
    for fit in (lambda: sk.glm(design, "k ~ x + income", family="binomial"),
                lambda: sk.ordinal(design, "y ~ income"),
                lambda: sk.negbin(design, "y ~ income")):
        with pytest.raises(ModelError, match="not defined") as info:
            fit()
        assert info.value.column == "income" and "\n" not in str(info.value)


def test_model_single_level_factor_is_an_error(design):
    dom = design.subset(design.data["g"] == 1)
    with pytest.raises(ModelError, match="single level") as info:
        sk.glm(dom, "k ~ x + C(g)", family="binomial")
    assert info.value.column == "C(g)" and info.value.values == [1.0]


def test_model_infinite_predictor_and_wrong_design(design):
    inf = sk.SurveyDesign(design.data.assign(x=np.inf), weights="w", source="survey.csv")
    with pytest.raises(ModelError, match="infinite") as info:
        sk.glm(inf, "k ~ x", family="binomial")
    assert info.value.column == "x" and info.value.values == [np.inf]
    with pytest.raises(ModelError, match="got DataFrame"):
        sk.glm(design.data, "k ~ x")


def test_model_missing_covariates_are_counted(design):
    data = design.data.copy()
    data.loc[[0, 1, 2], "x"] = np.nan
    res = sk.glm(sk.SurveyDesign(data, weights="w"), "k ~ x", family="binomial")
    assert res.n_missing == 3 and res.nobs == len(data) - 3


# --- command line ----------------------------------------------------------------------------


def _cli(argv: list[str], capsys) -> tuple[int, str]:
    code = cli.main(argv)
    return code, capsys.readouterr().err


def test_cli_bad_files_one_line_exit_2(tmp_path, capsys):
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(BINARY)
    data = tmp_path / "ab.csv"
    data.write_text("a,b\n1,2\n2,1\n")
    ragged = tmp_path / "ragged.csv"
    ragged.write_bytes(b"a\n1\n1,2\n")
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    targets = tmp_path / "t.yaml"
    targets.write_text("margins:\n  a: {1: 0.5, 2: 0.5}\n")
    cases = [
        (["describe", str(data), "--codebook", str(binary)], str(binary)),
        (["describe", str(ragged)], str(ragged)),
        (["harmonise", str(data), "--mapping", str(binary), "--out", str(tmp_path / "o.csv")],
         str(binary)),
        (["weight", str(data), "--targets", str(binary), "--out", str(tmp_path / "w.csv")],
         str(binary)),
        (["weight", str(data), "--targets", str(targets), "--out", str(blocker / "w.csv"),
          "--unweighted"], str(blocker)),
        (["replica", "--out", str(blocker / "replica")], str(blocker)),
        (["replicate", "--out", str(tmp_path / "r"), "--figure-formats", "png,tiff"],
         "unsupported figure format(s); offending values (1 in all): 'tiff'"),
    ]
    for argv, named in cases:
        code, err = _cli(argv, capsys)
        assert code == 2, argv
        assert err.count("\n") == 1 and "Traceback" not in err, err
        assert named in err, (argv, err)
    assert not (tmp_path / "r").exists()  # the format is checked before any work


def test_likert_empty_domain_is_an_error(design):
    with pytest.raises(EstimationError, match="the domain is empty") as info:
        sk.likert(design.subset(design.data["k"] == 9), "y")
    assert info.value.column == "y" and "'0 respondent(s)" in str(info.value)


def test_design_errors_for_bad_shapes_expressions_and_fpc(apistrat):
    from surveykit.design import SurveyDesign
    from surveykit.errors import DesignError

    with pytest.raises(DesignError, match=r"weights has shape \(3,\)"):
        SurveyDesign(apistrat, weights=np.ones(3))
    d = SurveyDesign(apistrat, weights="pw", strata="stype")
    with pytest.raises(DesignError, match="cannot evaluate the subset expression 'nosuch == 1'"):
        d.subset("nosuch == 1")
    # an infinite population is R's "no FPC at this stage" (tests/test_sweep_agreement.py)
    inf = SurveyDesign(apistrat.assign(f=np.inf), weights="pw", strata="stype", fpc="f")
    np.testing.assert_array_equal(inf.fpc_f, 1.0)
    with pytest.raises(DesignError, match="fpc must not be negative"):
        SurveyDesign(apistrat.assign(f=-np.inf), weights="pw", strata="stype", fpc="f")


def test_mean_of_an_all_missing_variable_is_an_error_not_a_nan_row(apistrat):
    from surveykit.design import SurveyDesign
    from surveykit.errors import EstimationError
    from surveykit.estimation import mean

    d = SurveyDesign(apistrat.assign(allna=np.nan), weights="pw", strata="stype")
    with pytest.raises(EstimationError, match="the domain is empty") as err:
        mean(d, "allna")
    assert err.value.column == "allna" and "200 of them missing" in str(err.value)
    # one empty group among others is fine: a NaN row, reported with a warning
    part = apistrat.assign(v=np.where(apistrat["stype"] == "E", np.nan, apistrat["api00"]))
    with pytest.warns(UserWarning, match="1 group.*stype=E"):
        res = mean(SurveyDesign(part, weights="pw", strata="stype"), "v", by="stype")
    assert res.loc[res["stype"] == "E", "n_missing"].item() == (apistrat["stype"] == "E").sum()


def test_error_values_are_plain_python_and_messages_one_line():
    from surveykit.errors import SurveyKitError

    err = SurveyKitError("bad\nthing", column="c", values=[np.float64(-1.0), np.int64(2)])
    assert "\n" not in str(err)
    assert "-1.0, 2" in str(err) and "np." not in str(err)
