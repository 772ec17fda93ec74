"""The README's API table says exactly what each function accepts: every keyword argument it
documents (``name=``) is a parameter of the real function (inspect.signature), and it takes
as many positional arguments as written, for every call written in the table; and the missing-value
rule ``na=`` is taken by every estimator the README says takes it (issue 20 item 9)."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

import surveykit as sk

README = Path(__file__).resolve().parents[1] / "README.md"


def _api_table() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("| area | functions | R equivalent |")
    return text[start:text.index("\n\n", start)]


def _calls() -> list[tuple[str, list[str], list[str]]]:
    """(function, positional names, keyword names) of every `name(...)` in the table's
    functions column."""
    out = []
    for line in _api_table().splitlines()[2:]:
        functions = line.split(" | ")[1]
        owner = ""
        for m in re.finditer(r"`([A-Za-z_][\w.]*)\(([^`]*)\)`", functions):
            name = m.group(1)
            if name.startswith("surveykit."):
                owner = name.rpartition(".")[0]
            elif "." not in name and owner and not hasattr(sk, name):
                name = f"{owner}.{name}"  # `a.b.f()`, `g()`: g from the same module
            args = m.group(2)
            kws = re.findall(r"(?<![\w\"'])([A-Za-z_]\w*)=", args)
            parts = [a.strip() for a in re.split(r",(?![^\[\(]*[\]\)])", args) if a.strip()]
            pos = [a for a in parts if re.fullmatch(r"[A-Za-z_]\w*", a)]
            out.append((name, pos, kws))
    return out


def _resolve(name: str):
    from surveykit.models.results import ModelResult

    owner, _, attr = name.rpartition(".")
    if owner == "design":
        return getattr(sk.SurveyDesign, attr)
    if owner == "model":
        return getattr(ModelResult, attr)
    if name in ("se", "confint"):
        return getattr(sk.Estimates, name)
    if name in ("tidy", "predict", "to_markdown"):  # the multinom row's methods
        return getattr(sk.MultinomResult, name)
    if name in ("offset", "fn"):  # a formula term; a user's function
        return None
    if owner.startswith("surveykit"):
        import importlib

        return getattr(importlib.import_module(owner), attr)
    obj = sk
    for part in name.split("."):  # plot.likert, labels.value_labels, ...
        obj = getattr(obj, part)
    return obj


CALLS = _calls()


def test_the_table_documents_calls():
    names = {c[0] for c in CALLS}
    assert {"quantile", "crosstab", "likert", "proportion", "summary_table",
            "sensitivity", "mean", "ratio", "table", "var"} <= names


@pytest.mark.parametrize("name, positional, keywords", CALLS,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CALLS)])
def test_documented_arguments_exist(name, positional, keywords):
    fn = _resolve(name)
    if fn is None:
        return
    params = inspect.signature(fn).parameters
    takes_kwargs = any(p.kind is p.VAR_KEYWORD for p in params.values())
    for kw in keywords:
        assert kw in params or takes_kwargs, f"README documents {name}({kw}=) but it has no {kw}"
    # positional arguments are written as placeholders ("design", "var"): only their number
    positional_params = [p for p in params.values() if p.name != "self" and p.kind in (
        p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    assert len(positional) <= len(positional_params) or any(
        p.kind is p.VAR_POSITIONAL for p in params.values()), (name, positional)


@pytest.mark.parametrize("name", ["mean", "total", "proportion", "likert", "crosstab",
                                  "quantile", "ratio", "var", "table", "summary_table"])
def test_every_estimator_takes_na(name):
    params = inspect.signature(getattr(sk, name)).parameters
    assert "na" in params
    assert params["na"].default in ("listwise", "per_variable")
