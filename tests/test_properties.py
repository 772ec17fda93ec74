"""Invariants a survey engine must keep, checked on generated data (Hypothesis).

- row order changes no estimate or SE (mean, proportion, crosstab, glm);
- a domain estimate equals the estimate with zero weights outside the domain (estimates always;
  SEs too, because the zero-weight rows keep their PSUs — as in R);
- scaling all weights leaves means, proportions and their SEs unchanged;
- raking to margins the design already has changes no weight;
- every raw row is accounted for in the harmonisation report;
- every CLI command answers generated bad files and bad YAML with one line and exit 2.

Data are generated from a drawn seed (numpy) so each example is cheap; ``max_examples`` keeps
the run to seconds.
"""

from __future__ import annotations

import contextlib
import io
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import surveykit as sk
from surveykit import cli
from surveykit.errors import MappingError

SETTINGS = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def _frame(seed: int, n: int) -> pd.DataFrame:
    """A stratified, clustered sample: 3 strata x 4 PSUs, a numeric y, factors a/b, weights."""
    rng = np.random.default_rng(seed)
    strata = np.repeat(np.arange(3), int(np.ceil(n / 3)))[:n]
    psu = strata * 10 + rng.integers(0, 4, n)
    df = pd.DataFrame({
        "h": strata, "psu": psu,
        "w": rng.uniform(0.5, 4.0, n),
        "y": rng.normal(10, 3, n),
        "a": rng.integers(1, 4, n), "b": rng.integers(0, 2, n),
        "x": rng.normal(size=n),
    })
    df.loc[rng.random(n) < 0.1, "y"] = np.nan  # missing values are a domain, not dropped
    # every stratum needs at least two PSUs
    for h in range(3):
        rows = np.flatnonzero(strata == h)
        df.loc[rows[:2], "psu"] = [h * 10, h * 10 + 1]
    return df


def _design(df: pd.DataFrame, weights: str = "w") -> sk.SurveyDesign:
    return sk.SurveyDesign(df, weights=weights, strata="h", psu="psu", nest=True)


def _numbers(design: sk.SurveyDesign) -> dict[str, np.ndarray]:
    """Estimates and SEs of every estimator of the invariant, in a fixed order."""
    m = sk.mean(design, "y")
    p = sk.proportion(design, "a").sort_values("level")
    c = sk.crosstab(design, "a", "b").table.sort_values(["row", "col"])
    g = sk.glm(design, "b ~ x + C(a)", family="binomial")
    return {"mean": m[["estimate", "std_error"]].to_numpy(),
            "proportion": p[["estimate", "std_error"]].to_numpy(),
            "crosstab": c[["estimate", "std_error"]].to_numpy(),
            "glm": np.column_stack([g.params.to_numpy(), g.std_errors.to_numpy()])}


def _assert_same(a: dict[str, np.ndarray], b: dict[str, np.ndarray], rtol: float) -> None:
    for key in a:
        np.testing.assert_allclose(b[key], a[key], rtol=rtol, atol=1e-12, err_msg=key)


@SETTINGS
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(40, 120), order=st.integers(0, 2**31 - 1))
def test_row_order_changes_nothing(seed: int, n: int, order: int) -> None:
    df = _frame(seed, n)
    shuffled = df.sample(frac=1.0, random_state=order % 2**32).reset_index(drop=True)
    _assert_same(_numbers(_design(df)), _numbers(_design(shuffled)), rtol=1e-9)


@SETTINGS
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(40, 120), share=st.floats(0.3, 0.9))
def test_domain_equals_zero_weights_outside(seed: int, n: int, share: float) -> None:
    df = _frame(seed, n)
    inside = np.random.default_rng(seed + 1).random(n) < share
    inside[:6] = True  # enough respondents in the domain for every estimator
    sub = _design(df).subset(inside)
    zero = _design(df.assign(w0=np.where(inside, df["w"], 0.0)), weights="w0")
    for est in (lambda d: sk.mean(d, "y"), lambda d: sk.proportion(d, "a").sort_values("level"),
                lambda d: sk.mean(d, "y", by="b")):
        a, b = est(sub), est(zero)
        np.testing.assert_allclose(b["estimate"], a["estimate"], rtol=1e-10)
        # the zero-weight rows keep their PSUs, so the linearisation SEs agree too (as R's)
        np.testing.assert_allclose(b["std_error"], a["std_error"], rtol=1e-9)


@SETTINGS
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(40, 120), replicate=st.booleans())
def test_missing_values_excluded_equal_the_complete_row_subset(seed: int, n: int,
                                                              replicate: bool) -> None:
    """Excluding missing values is the subset to complete rows for every estimator -- also
    var's n/(n-1) (survey 4.5's tests/mtcars-var.R), by group, and on replicate designs."""
    df = _frame(seed, n)
    d = _design(df)
    if replicate:
        d = d.replicate("jkn")
    complete = d.subset(df["y"].notna().to_numpy())
    for est in (lambda x: sk.mean(x, "y"), lambda x: sk.var(x, "y"),
                lambda x: sk.var(x, "y", by="b"), lambda x: sk.total(x, "y", by="a"),
                lambda x: sk.quantile(x, "y", [0.25, 0.5])):
        a, b = est(d), est(complete)
        np.testing.assert_allclose(a["estimate"], b["estimate"], rtol=1e-10)
        np.testing.assert_allclose(a["std_error"], b["std_error"], rtol=1e-9)


@SETTINGS
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(5, 60),
       p=st.floats(0.0, 1.0, allow_nan=False))
def test_quantile_rules_stay_within_the_data_and_are_monotone(seed: int, n: int,
                                                              p: float) -> None:
    """Every quantile rule gives a value between the smallest and largest value with weight
    (the smallest when p is below its share, survey 4.5), non-decreasing in p."""
    from surveykit.estimation.quantile import QRULES, qrule

    rng = np.random.default_rng(seed)
    x = np.round(rng.lognormal(size=n), 1)  # ties, as R's tests/quantile.R
    w = rng.uniform(0.2, 3.0, n)
    w[rng.random(n) < 0.2] = 0.0
    w[0] = 1.0
    lo, hi = x[w > 0].min(), x[w > 0].max()
    first_share = w[x == lo].sum() / w.sum()
    for rule in QRULES:
        q, q2 = qrule(x, w, p, rule), qrule(x, w, min(1.0, p + 0.1), rule)
        assert lo - 1e-12 <= q <= hi + 1e-12, rule
        assert q <= q2 + 1e-12, rule
        if rule == "math" and p < first_share:
            assert q == lo


@SETTINGS
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(40, 120),
       factor=st.floats(1e-3, 1e3, allow_nan=False))
def test_scaling_weights_changes_no_mean_proportion_or_se(seed: int, n: int,
                                                          factor: float) -> None:
    df = _frame(seed, n)
    scaled = df.assign(w=df["w"] * factor)
    for est in (lambda d: sk.mean(d, "y"), lambda d: sk.proportion(d, "a").sort_values("level"),
                lambda d: sk.mean(d, "y", by="a")):
        a, b = est(_design(df)), est(_design(scaled))
        np.testing.assert_allclose(b["estimate"], a["estimate"], rtol=1e-10)
        np.testing.assert_allclose(b["std_error"], a["std_error"], rtol=1e-9)


@SETTINGS
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(40, 120))
def test_raking_to_margins_the_design_already_has_changes_nothing(seed: int, n: int) -> None:
    df = _frame(seed, n)
    design = _design(df)
    margins = {}
    for var in ("a", "b"):
        totals = df.groupby(var)["w"].sum()
        margins[var] = {k: float(v) for k, v in totals.items()}  # the design's own totals
    raked = sk.rake(design, margins).design
    np.testing.assert_allclose(raked.weights, design.weights, rtol=1e-8)


# -- harmonisation: every raw row accounted for ---------------------------------------------------
@SETTINGS
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(1, 60),
       unmapped=st.sampled_from(["missing", "error"]))
def test_every_raw_row_is_accounted_for(seed: int, n: int, unmapped: str) -> None:
    rng = np.random.default_rng(seed)
    raw = pd.DataFrame({
        "ID": np.arange(n), "W": rng.uniform(0.5, 2, n),
        "Q": rng.choice([1, 2, 3, 4, 5, 8, 9, 77, np.nan], n),   # 8/9 missing, 77 unmapped
        "AGE": rng.choice([15.0, 22.0, 40.0, 64.0, 99.0, np.nan], n),
        "S": rng.choice([1, 2, -2], n),
    })
    mapping = {"study": "gen", "codebooks": ["approval"], "id": "ID", "variables": {
        "weight": {"from": "W"},
        "approval": {"from": "Q", "recode": {1: 1, 2: 2, 3: 3, 4: 4, 5: 5},
                     "missing": {8: "don't know", 9: "refused"}, "unmapped": unmapped},
        "age": {"from": "AGE", "missing": {99: "refused"}},
        "gender": {"from": "S", "recode": {1: 1, 2: 2}, "missing": {-2: "refused"}},
    }}
    if unmapped == "error" and (raw["Q"] == 77).any():
        with pytest.raises(MappingError):
            sk.harmonise(raw, mapping)
        return
    h = sk.harmonise(raw, mapping)
    rep = h.report
    assert rep.rows_in == rep.rows_out == n
    table = rep.variables.set_index("variable")
    assert (table["n_valid"] + table["n_missing"] == n).all()
    for var in ("approval", "gender"):  # recoded: recode counts + NA by reason = rows
        missing = rep.missing.query("variable == @var")
        total = rep.recodes.query("variable == @var")["n"].sum() + missing["n"].sum()
        assert total == n, var
        # unmapped codes are listed, and counted once among the NA (reason "unmapped")
        assert (rep.unmapped.query("variable == @var")["n"].sum()
                == missing.loc[missing["reason"] == "unmapped", "n"].sum())
    missing_age = rep.missing.query("variable == 'age'")["n"].sum()
    assert table.loc["age", "n_missing"] == missing_age == int(raw["AGE"].isna().sum()
                                                               + (raw["AGE"] == 99).sum())


# -- the CLI: bad files and bad YAML ---------------------------------------------------------
def _cli(argv: list[str]) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = cli.main(argv)
    return code, err.getvalue()


def _good_yaml(folder: Path) -> tuple[Path, Path]:
    mapping = folder / "m.yaml"
    mapping.write_text("study: s\ncodebooks: [approval]\nid: ID\nvariables:\n"
                       "  weight: {from: W}\n  approval: {from: A}\n")
    targets = folder / "t.yaml"
    targets.write_text("margins:\n  A: {1: 0.5, 2: 0.5}\n")
    return mapping, targets


BAD_BYTES = st.one_of(
    st.just(b""),
    st.binary(min_size=1, max_size=400),
    st.text(max_size=300).map(lambda t: t.encode("utf-8")),
    st.sampled_from([b"ID,W,A\n", b"ID,W,A\n1,abc,1\n", b"ID,W,A\n1,-1,1\n2,,x\n",
                     b"\x00\x01\x02", b"$FL2@(#) truncated", b"PAR1\x00\x00PAR1"]),
)
BAD_YAML = st.one_of(
    st.just(""),
    st.text(max_size=200),
    st.binary(min_size=1, max_size=200).map(lambda b: b.decode("latin-1")),
    st.sampled_from(["[1, 2", "margins: 3", "study: [", "variables: {a: {from: }}",
                     "codebooks: [nope]\nid: x\nvariables: {}", "margins:\n  A: {1: -1}\n",
                     "- just\n- a list\n", "!!python/object:os.system ls", "a: &x [*x]"]),
)


def _commands(data: Path, mapping: Path, targets: Path, out: Path) -> list[list[str]]:
    return [
        ["describe", str(data)],
        ["harmonise", str(data), "--mapping", str(mapping), "--out", str(out / "c.csv")],
        ["weight", str(data), "--targets", str(targets), "--out", str(out / "w.csv")],
        ["replicate", "--data", str(data), "--mapping", str(mapping), "--out", str(out / "r"),
         "--no-report"],
        ["replicate", "--data", str(data), "--out", str(out / "r2"), "--no-report"],
    ]


def _one_line_exit_2(argv: list[str], may_succeed: bool = False) -> None:
    code, err = _cli(argv)
    lines = [ln for ln in err.splitlines() if ln.strip()]
    if may_succeed and code == 0:
        return
    assert code == 2, (argv, code, err)
    assert len(lines) == 1 and "Traceback" not in err, (argv, err)
    assert lines[0].startswith(f"surveykit {argv[0]}: error: "), lines[0]


@settings(max_examples=30, deadline=None)
@given(content=BAD_BYTES, ext=st.sampled_from([".csv", ".sav", ".dta", ".por", ".xpt",
                                               ".sas7bdat", ".parquet", ".txt", ""]))
def test_cli_bad_data_files_one_line_exit_2(content: bytes, ext: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        data = folder / f"data{ext}"
        data.write_bytes(content)
        mapping, targets = _good_yaml(folder)
        # text that parses as a CSV (a header, perhaps no rows) is a file describe can show
        parses = ext == ".csv" and b"\x00" not in content
        for argv in _commands(data, mapping, targets, folder):
            _one_line_exit_2(argv, may_succeed=parses and argv[0] == "describe")


@settings(max_examples=30, deadline=None)
@given(text=BAD_YAML, which=st.sampled_from(["mapping", "targets", "margins"]))
def test_cli_bad_yaml_one_line_exit_2(text: str, which: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        data = folder / "d.csv"
        pd.DataFrame({"ID": range(6), "W": 1.0, "A": [1, 2, 1, 2, 1, 2]}).to_csv(data,
                                                                                 index=False)
        bad = folder / "bad.yaml"
        bad.write_text(text, encoding="utf-8", errors="surrogateescape")
        if which == "mapping":
            argvs = [["harmonise", str(data), "--mapping", str(bad), "--out",
                      str(folder / "c.csv")],
                     ["replicate", "--data", str(data), "--mapping", str(bad), "--out",
                      str(folder / "r"), "--no-report"]]
        elif which == "targets":
            argvs = [["weight", str(data), "--targets", str(bad), "--out",
                      str(folder / "w.csv")]]
        else:
            argvs = [["replicate", "--margins", str(bad), "--out", str(folder / "r"),
                      "--no-report"]]
        for argv in argvs:
            _one_line_exit_2(argv)


def test_cli_replica_bad_output_folder_one_line_exit_2(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    _one_line_exit_2(["replica", "--out", str(blocker / "sub")])
