"""Every subpackage of surveykit is installed: pyproject.toml lists packages explicitly (the
data dictionary is mapped from the repository root), so a new folder must be listed there or a
non-editable install (the README's first line, CI) lacks it."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_subpackage_is_listed_in_pyproject():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
                 ["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts)
             for p in (ROOT / "surveykit").rglob("__init__.py")}
    assert found - listed == set(), f"not installed: {sorted(found - listed)}"
