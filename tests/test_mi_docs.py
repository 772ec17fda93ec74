"""docs/multiple_imputation.md runs: each ```python block is executed in order in one namespace
(in a temporary folder) and must print exactly the ```text block that follows it."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

PAGE = Path(__file__).resolve().parents[1] / "docs" / "multiple_imputation.md"
_PAIR = re.compile(r"```python\n(.*?)```\n+```text\n(.*?)```", re.S)


def test_page_code_prints_what_the_page_shows(tmp_path, monkeypatch):
    text = PAGE.read_text(encoding="utf-8")
    pairs = _PAIR.findall(text)
    assert len(pairs) == text.count("```python") >= 6
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    for i, (code, shown) in enumerate(pairs):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(code, f"docs block {i + 1}", "exec"), namespace)
        assert out.getvalue().rstrip("\n") == shown.rstrip("\n"), f"block {i + 1}"
    assert (tmp_path / "imputation_report.png").is_file()
    assert (tmp_path / "imputed.csv").is_file() and (tmp_path / "imputed.csv.json").is_file()
    for img in re.findall(r"\]\((img/[^)]+)\)", text):
        assert (PAGE.parent / img).is_file(), img


def test_page_says_the_data_are_synthetic():
    text = PAGE.read_text(encoding="utf-8")
    assert "synthetic replica" in text and "**not** public opinion in China" in text
