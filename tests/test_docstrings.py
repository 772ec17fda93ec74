"""Every public callable explains itself: a numpydoc docstring that documents every parameter of
its real signature and an ``Examples`` block that runs (issue 23).

The public callables are the functions and classes of ``surveykit.__all__`` and the public
functions of the modules it exports (``sk.plot``, ``sk.labels``, ``sk.replica`` ...). The examples
run as doctests on the bundled synthetic replica, in a temporary folder, so the documentation
cannot rot; the API reference of the site (``mkdocs.yml``) renders the same docstrings.
"""

from __future__ import annotations

import doctest
import inspect
import re
import types

import pytest

import surveykit as sk

_ITEM = re.compile(r"^(\*{0,2}[A-Za-z_]\w*(?:\s*,\s*\*{0,2}[A-Za-z_]\w*)*)\s*(?::.*)?$")


def _module_members(module: types.ModuleType) -> list[tuple[str, object]]:
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n, obj in vars(module).items()
                 if not n.startswith("_") and inspect.isfunction(obj)
                 and obj.__module__ == module.__name__]
    return [(f"{module.__name__.removeprefix('surveykit.')}.{n}", getattr(module, n))
            for n in names if callable(getattr(module, n))]


def public_callables() -> list[tuple[str, object]]:
    """(name, object) of every public function and class, sorted by name."""
    found: dict[str, object] = {}
    for name in sk.__all__:
        if name == "__version__":
            continue
        obj = getattr(sk, name)
        if isinstance(obj, types.ModuleType):
            found.update(_module_members(obj))
        elif inspect.isclass(obj) or inspect.isroutine(obj):
            found[name] = obj
    return sorted(found.items())


CALLABLES = public_callables()
IDS = [name for name, _ in CALLABLES]


def _section(doc: str, title: str) -> list[str] | None:
    """The lines of a numpydoc section (``title`` underlined by dashes), None when absent."""
    lines = doc.splitlines()
    for i in range(len(lines) - 1):
        if lines[i].strip() == title and set(lines[i + 1].strip()) == {"-"}:
            body = []
            for line in lines[i + 2:]:
                if (body and line.strip() and set(line.strip()) == {"-"}
                        and body[-1].strip() and not body[-1].startswith(" ")):
                    body.pop()  # the next section's title
                    break
                body.append(line)
            return body
    return None


def documented_parameters(doc: str) -> set[str]:
    """Names listed in the Parameters section (``a, b : int`` documents both)."""
    body = _section(doc, "Parameters") or []
    names: set[str] = set()
    for line in body:
        if line and not line.startswith(" "):
            m = _ITEM.match(line.strip())
            if m:
                names.update(n.strip().lstrip("*") for n in m.group(1).split(","))
    return names


def signature_parameters(obj: object) -> list[str]:
    target = obj.__init__ if inspect.isclass(obj) else obj
    params = inspect.signature(target).parameters
    return [p for p in params if p not in ("self", "cls")]


@pytest.mark.parametrize(("name", "obj"), CALLABLES, ids=IDS)
def test_every_parameter_is_documented(name, obj):
    doc = inspect.getdoc(obj) or ""
    assert doc, f"{name}: no docstring"
    params = signature_parameters(obj)
    missing = [p for p in params if p not in documented_parameters(doc)]
    assert not missing, f"{name}: parameters not in its numpydoc 'Parameters' section: {missing}"
    extra = documented_parameters(doc) - set(params) - {"args", "kwargs"}
    assert not extra, f"{name}: documents parameters it does not take: {sorted(extra)}"


@pytest.mark.parametrize(("name", "obj"), CALLABLES, ids=IDS)
def test_help_shows_the_real_signature(name, obj):
    params = inspect.signature(obj.__init__ if inspect.isclass(obj) else obj).parameters
    kinds = {p.kind for p in params.values()}
    assert kinds != {inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD}, name


@pytest.mark.parametrize(("name", "obj"), CALLABLES, ids=IDS)
def test_examples_run(name, obj, tmp_path, monkeypatch):
    assert _section(inspect.getdoc(obj) or "", "Examples"), f"{name}: no 'Examples' section"
    monkeypatch.chdir(tmp_path)
    tests = doctest.DocTestFinder(recurse=False).find(obj, name, globs={"sk": sk})
    examples = sum(len(t.examples) for t in tests)
    assert examples, f"{name}: the Examples section has no >>> lines"
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    report: list[str] = []
    for test in tests:
        runner.run(test, out=report.append)
    assert runner.summarize(verbose=False).failed == 0, "".join(report)[-3000:]


def test_the_checks_can_fail():
    """The parser finds a missing parameter and a missing example in a bad docstring."""

    def bad(design, var, *, level=0.95):
        """Do something.

        Parameters
        ----------
        design : SurveyDesign
            The design.
        var : str
            A column.
        """

    assert documented_parameters(inspect.getdoc(bad)) == {"design", "var"}
    assert [p for p in signature_parameters(bad)
            if p not in documented_parameters(inspect.getdoc(bad))] == ["level"]
    assert _section(inspect.getdoc(bad), "Examples") is None
