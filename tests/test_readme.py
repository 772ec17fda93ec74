"""The README's set-up lines and its API tour stay true."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


def test_readme_opens_with_exactly_two_setup_lines():
    text = README.read_text(encoding="utf-8")
    assert text.startswith("```bash\n")
    lines = _blocks("bash")[0].strip().splitlines()
    assert len(lines) == 2
    assert "surveykit replicate" in lines[0] and "pip install" in lines[0]
    assert "pytest" in lines[1] and ".[test]" in lines[1]


def test_ci_runs_the_readme_test_line():
    ci = (README.parent / ".ci" / "run").read_text(encoding="utf-8")
    assert "README.md" in ci and "c==2" in ci  # .ci/run executes the README's second line


def test_tour_runs_and_prints_a_model_table_labelled_synthetic():
    tour = next(b for b in _blocks("python") if "sk.SurveyDesign" in b)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(tour, "README tour", "exec"), {})
    printed = out.getvalue()
    assert "| Perceived fairness of SCS scoring |" in printed  # term labels from the data
    assert "Synthetic replica — not the original survey data" in printed
