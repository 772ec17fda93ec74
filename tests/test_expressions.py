"""The expression language: formulas, offsets, subset and domain strings are data, never code.

Hostile strings raise a one-line ExpressionError (also the caller's own error type) naming the
offending part and run nothing; every legitimate formula form still fits."""

from __future__ import annotations

import re
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import surveykit as sk
from surveykit.errors import (
    DesignError,
    EstimationError,
    ExpressionError,
    ModelError,
    SurveyKitError,
    WeightingError,
)
from surveykit.expressions import (
    FORMULA_CONTEXT,
    check_expression,
    evaluate,
    validate_formula,
)


@pytest.fixture
def design() -> sk.SurveyDesign:
    rng = np.random.default_rng(3)
    n = 120
    df = pd.DataFrame({"w": rng.uniform(1, 3, n), "g": np.tile([1, 2, 3], 40),
                       "k": np.tile([0, 1, 1, 0], 30), "x": rng.normal(size=n),
                       "expo": rng.uniform(1, 5, n), "cnt": rng.negative_binomial(2, 0.3, n),
                       "y": rng.integers(1, 5, n), "s": np.tile(["a", "b", "c"], 40)})
    df["avg.ed"] = rng.normal(size=n)
    df["odd name"] = rng.normal(size=n)
    return sk.SurveyDesign(df, weights="w", source="survey.csv")


def _hostile(marker: Path) -> list[str]:
    return [
        f"I(__import__('os').system('touch {marker}'))",
        "np.load.__globals__",
        "().__class__.__bases__",
        "(lambda: 1)()",
        "[v for v in x]",
        f"open('{marker}', 'w')",
        "x.__class__",
        "f'{x}'",
        "x[0]",
        "(z := x)",
        "np.save('f', x)",
        "exec('1')",
        "getattr(x, 'T')",
        "x.T",
        "log(*x)",
    ]


def _call_sites(design: sk.SurveyDesign, text: str) -> list:
    return [
        (ModelError, lambda: sk.glm(design, f"k ~ x + {text}", family="binomial")),
        (ModelError, lambda: sk.glm(design, f"{text} ~ x")),
        (ModelError, lambda: sk.glm(design, f"cnt ~ x + offset({text})", family="poisson")),
        (ModelError, lambda: sk.ordinal(design, f"y ~ x + {text}")),
        (ModelError, lambda: sk.multinom(design, f"y ~ {text}")),
        (ModelError, lambda: sk.negbin(design, f"cnt ~ {text}")),
        (WeightingError, lambda: sk.calibrate(design, f"~x + {text}", {"Intercept": 240})),
        (DesignError, lambda: design.subset(text)),
        (DesignError, lambda: design.subset(f"x > 0 and {text}")),
        (EstimationError, lambda: sk.likert(design, "y", domains={"d": text})),
    ]


def test_hostile_strings_raise_typed_errors_and_run_nothing(design, tmp_path):
    marker = tmp_path / "pwn"
    for text in _hostile(marker):
        for kind, call in _call_sites(design, text):
            with pytest.raises(ExpressionError) as info:
                call()
            err = info.value
            assert isinstance(err, kind) and isinstance(err, SurveyKitError), (text, type(err))
            msg = str(err)
            assert "\n" not in msg and len(msg) < 400
    assert not marker.exists()
    assert list(tmp_path.iterdir()) == []


def test_error_names_the_offending_part(design):
    cases = {
        "I(__import__('os').system('x'))": "dunder name '__import__'",
        "np.load.__globals__": "dunder name '__globals__'",
        "().__class__.__bases__": "dunder name '__",
        "(lambda: 1)()": "lambda",
        "[v for v in x]": "comprehension",
        "hashed(x)": "function hashed() is not allowed",
        "x.T": "attribute access 'x.T'",
        "x[0]": "subscript",
        "(z := x)": ":=",
        "x is None": "'is' is not allowed",
    }
    for text, part in cases.items():
        with pytest.raises(ExpressionError, match=re.escape(part)):
            check_expression(text, design.data.columns)
        with pytest.raises(ExpressionError):  # formulaic tokens: the same checks
            validate_formula(f"y ~ {text}", design.data.columns)
    for text in ["I(__import__('os').system('x'))", "np.load.__globals__", "hashed(x)"]:
        part = cases[text]
        with pytest.raises(ExpressionError, match=re.escape(part)):
            validate_formula(f"y ~ {text}", design.data.columns)


def test_no_module_in_the_formula_context():
    seen = []
    for name, value in FORMULA_CONTEXT.items():
        assert not isinstance(value, types.ModuleType), name
        seen.append(name)
    assert "np" in seen  # shadowed by a namespace of plain callables
    with pytest.raises(AttributeError):
        FORMULA_CONTEXT["np"].load  # noqa: B018
    assert FORMULA_CONTEXT["np"].log(np.e) == pytest.approx(1.0)


def test_legitimate_formulas_still_fit(design):
    ok = [
        ("glm", "k ~ x + C(g)", {"family": "binomial"}),
        ("glm", "k ~ x + C(g, Treatment(3))", {"family": "binomial"}),
        ("glm", "k ~ x + C(g, Treatment(reference=2))", {"family": "binomial"}),
        ("glm", "k ~ x + C(s, contr.treatment('b'))", {"family": "binomial"}),
        ("glm", "k ~ x + C(g, levels=[3, 2, 1])", {"family": "binomial"}),
        ("glm", "k ~ x + I(x ** 2) + np.log(expo) + sqrt(expo)", {"family": "binomial"}),
        ("glm", "k ~ center(x) + scale(cnt) + poly(expo, 2)", {"family": "binomial"}),
        ("glm", "k ~ x * C(s) - 1", {"family": "binomial"}),
        ("glm", "k ~ x + x:expo + {expo ** 2 + 1}", {"family": "binomial"}),
        ("glm", "k ~ avg.ed + `odd name` + Q('avg.ed')", {"family": "binomial"}),
        ("glm", "I((x > 0) * 1.0) ~ avg.ed", {"family": "binomial"}),
        ("glm", "I(s == 'a') ~ x", {"family": "binomial"}),
        ("glm", "cnt ~ x + offset(np.log(expo))", {"family": "poisson"}),
        ("glm", "cnt ~ x + offset(log(expo))", {"family": "poisson"}),
        ("ordinal", "y ~ x + C(s)", {}),
        ("multinom", "y ~ x + factor(g)", {}),
        ("negbin", "cnt ~ x + s", {}),
    ]
    for fn, formula, kw in ok:
        fit = getattr(sk, fn)(design, formula, **kw)
        assert np.all(np.isfinite(np.asarray(fit.params, dtype=float))), formula
    # offset(np.log(expo)) is the same model as offset(log(expo))
    a = sk.glm(design, "cnt ~ x + offset(np.log(expo))", family="poisson")
    b = sk.glm(design, "cnt ~ x + offset(log(expo))", family="poisson")
    np.testing.assert_allclose(a.params, b.params, rtol=1e-12)
    cal = sk.calibrate(design, "~x + C(g)", {"Intercept": 240, "x": 0.0, "C(g)[T.2]": 80,
                                              "C(g)[T.3]": 80})
    assert cal.weights.sum() == pytest.approx(240)


def test_unknown_name_in_a_formula_names_the_column(design):
    with pytest.raises(ModelError, match="name 'income' is not defined") as info:
        sk.glm(design, "k ~ x + log(income)", family="binomial")
    assert info.value.column == "income"


def test_subset_and_domain_expressions_agree_with_pandas(design):
    df = design.data
    for text in ["x > 0", "x > 0 & g == 2", "x > 0 and g == 2 or s == 'c'", "not x > 0",
                 "~(x > 0)", "g in [1, 3]", "g not in (1, 3)", "0 < x <= 1", "s != 'a'",
                 "abs(x) > 1", "`odd name` > 0", "x > 0 | g == 1 & s == 'b'", "-x > 0.5"]:
        ours = np.asarray(evaluate(text, df), dtype=bool)
        theirs = np.asarray(df.eval(text), dtype=bool)
        np.testing.assert_array_equal(ours, theirs, err_msg=text)
    # R-style dotted names work where pandas cannot read them
    np.testing.assert_array_equal(evaluate("avg.ed > 0", df), df["avg.ed"] > 0)
    dom = design.subset("g == 2 and x > 0")
    assert dom.domain.sum() == int(((df.g == 2) & (df.x > 0)).sum())
    lik = sk.likert(design, "y", domains={"pos": "x > 0"})
    assert lik is not None


def test_evaluation_errors_are_one_line(design):
    with pytest.raises(DesignError, match="cannot evaluate the subset expression") as info:
        design.subset("s > 'a' + 1")
    assert "\n" not in str(info.value)
    with pytest.raises(DesignError, match="one line"):
        design.subset("x > 0\nor g == 1")
