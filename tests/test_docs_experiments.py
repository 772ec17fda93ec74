"""docs/experiments.md runs: each ```python block is executed in order in one namespace (in a
temporary folder) and must print exactly the ```text block that follows it; its figures exist."""

from __future__ import annotations

import contextlib
import io
import re
import warnings
from pathlib import Path

PAGE = Path(__file__).resolve().parents[1] / "docs" / "experiments.md"
_PAIR = re.compile(r"```python\n(.*?)```\n+```text\n(.*?)```", re.S)


def test_experiments_page_prints_what_it_shows(tmp_path, monkeypatch):
    text = PAGE.read_text(encoding="utf-8")
    pairs = _PAIR.findall(text)
    assert len(pairs) == text.count("```python") >= 10
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    for i, (code, shown) in enumerate(pairs):
        out = io.StringIO()
        with contextlib.redirect_stdout(out), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            exec(compile(code, f"experiments block {i + 1}", "exec"), namespace)
        assert out.getvalue().rstrip("\n") == shown.rstrip("\n"), f"block {i + 1}"
    for name in ("experiment_effects.png", "list_counts.png"):
        assert (tmp_path / name).is_file(), name
    for img in re.findall(r"\]\((img/[^)]+)\)", text):
        assert (PAGE.parent / img).is_file(), img


def test_experiments_page_says_the_data_are_synthetic():
    text = PAGE.read_text(encoding="utf-8")
    assert "**SYNTHETIC**" in text and "**not** public opinion in" in text
