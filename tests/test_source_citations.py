"""What users read about where the published numbers come from cites papers, pages and figures
they can look up, never our own transcription file ("seed line 1019", "002_….txt lines …")."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from surveykit.dictionary import load_codebook
from surveykit.published import load_registry

#: references only we can follow: our transcription file, its line numbers, "the seed text"
INTERNAL = re.compile(r"\bseed\b(?!\s*\d)|seeds/|002_ae|\blines? \d+", re.IGNORECASE)
ROOT = Path(__file__).resolve().parents[1]


def _texts(obj) -> list[str]:
    if isinstance(obj, dict):
        return [t for v in obj.values() for t in _texts(v)]
    if isinstance(obj, (list, tuple)):
        return [t for v in obj for t in _texts(v)]
    return [str(obj)] if isinstance(obj, str) else []


def test_registry_sources_and_notes_cite_what_a_reader_can_follow() -> None:
    reg = load_registry()
    for table in reg.tables():
        meta = reg.meta(table)
        texts = [*_texts(meta.get("source")), str(meta.get("notes") or "")]
        cells = reg.table(table)
        texts += [str(v) for col in ("source", "note", "reason") if col in cells.columns
                  for v in cells[col].dropna().unique()]
        leaks = [t for t in texts if INTERNAL.search(t)]
        assert not leaks, (table, leaks)
        # every table says which paper and page, and where the numbers were reproduced
        assert re.search(r"Kostka", meta["source"]["paper"])
        assert "Duke University" in meta["source"]["secondary"]


def test_ambiguity_note_keeps_its_content_with_a_followable_citation() -> None:
    notes = load_registry().meta("fig_5_6")["notes"]
    assert "AMBIGUOUS SOURCE SENTENCE (the secondary account's text on its Figure 5.6, citing " \
           "Kostka (2019), p. 22)" in " ".join(notes.split())
    for reading in ("(a) literal - local 77, provincial 48", "(b) CHOSEN - central 77",
                    "(c) central 77, local 48",
                    "Seventy-seven percent of citizens trust the local"):
        assert reading in " ".join(notes.split())


@pytest.mark.parametrize("name", ["approval", "behaviour"])
def test_codebook_sources_and_questions_name_no_internal_file(name: str) -> None:
    cb = load_codebook(name)
    texts = [str(cb.source)] + [str(v.question) for v in cb.variables.values() if v.question]
    leaks = [t for t in texts if INTERNAL.search(t)]
    assert not leaks, leaks


def test_user_documentation_names_no_internal_transcription_file() -> None:
    """The RNG ``seed``/``--seed`` of the replica stays; "the seed text" and our file do not."""
    files = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")),
             *sorted((ROOT / "data_dictionary").rglob("*.md")),
             *sorted((ROOT / "data_dictionary").rglob("*.yaml"))]
    pattern = re.compile(r"seed text|the seed\b|seed's|seed line|shared/seeds|002_ae",
                         re.IGNORECASE)
    leaks = [f"{p.relative_to(ROOT)}:{i}" for p in files
             for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
             if pattern.search(line)]
    assert not leaks, leaks
