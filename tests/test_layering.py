"""Layers point down only (docs/ARCHITECTURE.md, "Floors"): an AST check of every import in
every module of surveykit — at top level AND inside functions — against the floor map.

A module may import modules of its own floor or of floors below it. Imports written inside
functions are allowed only to defer heavy third-party libraries (scipy, matplotlib, docx,
statsmodels, ...) or to defer a module of a floor below (never above). The check is shown to
fail on deliberate bad imports below (synthetic sources), so it cannot pass vacuously.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "surveykit"

#: floors, bottom to top; a module's floor is that of its longest matching prefix
FLOORS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("foundation", (
        "surveykit.errors", "surveykit._atomic", "surveykit._reproducible",
        "surveykit._text", "surveykit.word", "surveykit._cells", "surveykit._yaml",
        "surveykit._runfolder", "surveykit._version", "surveykit.word",
        "surveykit.mi.dispatch", "surveykit.mi.rubin", "surveykit.mi.io",
        "surveykit._resources", "surveykit._dist",
        "surveykit.labels", "surveykit.provenance", "surveykit.expressions",
        "surveykit.hadamard", "surveykit.published", "surveykit.data_dictionary",
        "surveykit.estimation.quadform", "surveykit.distributions",
        # the result protocol every estimator writes (attrs["vcov"], Estimates, contrast) and
        # the one test shape; the duck-typed text views every object shows itself with
        # (repr, notebook HTML, Markdown/LaTeX model tables): below the objects, as
        # statsmodels' iolib is below its results
        "surveykit.inference", "surveykit.testresult", "surveykit.display",
        "surveykit.mi.dispatch",  # the multiple-imputation hook every estimator wears
        "surveykit.models.tables",
    )),
    ("variance", ("surveykit.variance",)),
    ("design", (
        "surveykit.design", "surveykit.multistage", "surveykit.replicates",
        "surveykit.dictionary", "surveykit.io", "surveykit.mi.design",
    )),
    ("estimators and models", (
        "surveykit.estimation", "surveykit.weighting", "surveykit.models",
        "surveykit.experiments",
    )),
    ("inference and tests", (
        "surveykit.models.wald", "surveykit.models.ttest",
        "surveykit.experiments.balance",  # its omnibus test is regTermTest (wald_test)
    )),
    ("presentation", (
        "surveykit.summary_table", "surveykit._summary_table", "surveykit.plot",
        "surveykit.mi.combine",  # combiners of every result type, summary tables included
        "surveykit.replication.writers", "surveykit.replication.result",
        "surveykit.report.figures",
        "surveykit.models=",  # the models package re-exports tables and tests (its API)
        "surveykit.experiments=",  # re-exports balance (a test) with the estimators
    )),
    ("applications and commands", (
        "surveykit=", "surveykit.mi", "surveykit.experiments", "surveykit.replica",
        "surveykit.replication",
        "surveykit.sensitivity", "surveykit._sensitivity",
        "surveykit.report", "surveykit.commands", "surveykit.cli", "surveykit.__main__",
    )),
)

#: third-party libraries a function may import late (heavy to import at start-up); the
#: standard library may be imported anywhere
DEFERRABLE = frozenset({"scipy", "matplotlib", "docx", "statsmodels", "pyreadstat", "tqdm",
                        "formulaic", "patsy", "yaml", "pyarrow", "PIL", "pandas", "fontTools",
                        "lxml", "hypothesis"}) | frozenset(sys.stdlib_module_names)


#: upward imports still to remove (module, imported module): each one is named here, so any
#: other upward import fails the test. None are left: ModelResult.to_docx now writes through
#: the journal table of models.tables (issue 20), on the views floor.
PENDING: frozenset[tuple[str, str]] = frozenset()


def floor_of(module: str) -> int:
    """The floor index of a surveykit module (longest matching prefix)."""
    best, best_len = -1, -1
    for i, (_, prefixes) in enumerate(FLOORS):
        for p in prefixes:
            if p.endswith("="):  # this module only (a package's __init__), not its children
                if module == p[:-1]:
                    return i
                continue
            if (module == p or module.startswith(p + ".")) and len(p) > best_len:
                best, best_len = i, len(p)
    if best < 0:
        raise AssertionError(f"module {module} has no floor in tests/test_layering.py FLOORS")
    return best


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _exists(module: str) -> bool:
    rel = Path(*module.split("."))
    listed = any(module in prefixes for _, prefixes in FLOORS)
    return (listed or (ROOT / rel.with_suffix(".py")).exists()
            or (ROOT / rel / "__init__.py").exists())


def imports(source: str, module: str, is_package: bool = False
            ) -> list[tuple[str, int, bool]]:
    """(imported module, line, inside a function) for every import in ``source``."""
    out: list[tuple[str, int, bool]] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inner = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                      ast.Lambda))
            if isinstance(child, ast.Import):
                out.extend((a.name, child.lineno, in_function) for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = module.split(".")
                    base = base if is_package else base[:-1]
                    base = base[:len(base) - (child.level - 1)]
                    target = ".".join(base + ([child.module] if child.module else []))
                else:
                    target = child.module or ""
                if target.startswith("surveykit"):  # `from pkg import submodule` names it
                    for a in child.names:
                        sub = f"{target}.{a.name}"
                        out.append((sub if _exists(sub) else target, child.lineno,
                                    in_function))
                else:
                    out.append((target, child.lineno, in_function))
            visit(child, inner)

    visit(ast.parse(source), False)
    return out


def violations(source: str, module: str, is_package: bool = False) -> list[str]:
    """Imports of ``source`` (as module ``module``) that break the floor rules."""
    mine = floor_of(module)
    bad = []
    for target, line, in_function in imports(source, module, is_package):
        if target.startswith("surveykit"):
            theirs = floor_of(target)
            if theirs > mine and (module, target) not in PENDING:
                bad.append(f"{module}:{line} imports {target} ({FLOORS[theirs][0]}) from the "
                           f"{FLOORS[mine][0]} floor")
        elif in_function and target.split(".")[0] not in DEFERRABLE and target != "__future__":
            bad.append(f"{module}:{line} imports {target} inside a function (only heavy "
                       "third-party libraries are deferred)")
    return bad


def test_every_module_imports_only_its_floor_or_below():
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        found += violations(path.read_text(encoding="utf-8"), module_name(path),
                            path.name == "__init__.py")
    assert not found, "\n".join(found)


def test_pending_upward_imports_still_exist():
    """PENDING lists only edges that exist (remove an entry when its import goes)."""
    edges = set()
    for path in sorted(PACKAGE.rglob("*.py")):
        module = module_name(path)
        edges |= {(module, t) for t, _, _ in imports(path.read_text(encoding="utf-8"), module,
                                                     path.name == "__init__.py")}
    assert PENDING <= edges, sorted(PENDING - edges)


def test_the_check_fails_on_deliberate_bad_imports():
    """A lower module importing an upper one fails, at top level and inside a function."""
    top = "from surveykit.models.glm import glm\n"
    inside = "def f():\n    from surveykit.report import ReportRun\n    return ReportRun\n"
    assert violations(top, "surveykit.design")[0].startswith("surveykit.design:1 imports "
                                                             "surveykit.models.glm")
    assert "surveykit.report" in violations(inside, "surveykit.variance.engine")[0]
    rel = "def f():\n    from ..models import glm\n"
    assert violations(rel, "surveykit.estimation.ratio") == []  # same floor: allowed
    assert violations(rel, "surveykit.variance.totals")  # variance -> models: refused
    assert violations("def f():\n    import requests\n", "surveykit.labels")  # not deferrable
    assert violations("def f():\n    import scipy.stats\n", "surveykit.labels") == []
    assert violations("from surveykit import plot\n", "surveykit.estimation.ratio")
    with pytest.raises(AssertionError, match="no floor"):
        floor_of("othermodule")


def test_import_surveykit_stays_light():
    """`import surveykit` loads no submodule and none of the heavy libraries."""
    code = ("import sys, surveykit; heavy = [m for m in ('pandas', 'scipy', 'matplotlib', "
            "'surveykit.design', 'surveykit.variance') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]"
