"""docs/tutorial.md runs: each ```python block is executed in order in one namespace (in a
temporary folder) and must print exactly the ```text block that follows it."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

TUTORIAL = Path(__file__).resolve().parents[1] / "docs" / "tutorial.md"
_PAIR = re.compile(r"```python\n(.*?)```\n+```text\n(.*?)```", re.S)


def test_tutorial_code_prints_what_the_page_shows(tmp_path, monkeypatch):
    text = TUTORIAL.read_text(encoding="utf-8")
    pairs = _PAIR.findall(text)
    assert len(pairs) == text.count("```python") >= 8
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    for i, (code, shown) in enumerate(pairs):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(code, f"tutorial block {i + 1}", "exec"), namespace)
        assert out.getvalue().rstrip("\n") == shown.rstrip("\n"), f"block {i + 1}"
    for name in ("figures/approval_by_residence.png", "figures/approval_model.pdf",
                 "table1.docx", "approval_model.docx"):
        assert (tmp_path / name).is_file(), name
    # the images the page shows exist in the repository
    for img in re.findall(r"\]\((img/[^)]+)\)", text):
        assert (TUTORIAL.parent / img).is_file(), img


@pytest.mark.parametrize("phrase", ["synthetic replica", "**not** public opinion in China"])
def test_tutorial_says_the_data_are_synthetic(phrase):
    assert phrase in TUTORIAL.read_text(encoding="utf-8")
