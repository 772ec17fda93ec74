"""Text cells that spreadsheet programs would run as formulas ("CSV injection").

A cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is evaluated as
a formula by Excel, LibreOffice and Google Sheets when a CSV is opened. Labels come from the
user's data (value labels, group names), so surveykit treats them as hostile text:

- CSVs written for people (tables, margins, diagnostics, sensitivity, replication tables) go
  through :func:`neutralise` (the OWASP rule: prefix such a text cell with a single quote
  ``'``). Genuine numbers written as text ("-0.5", "+3", "-1e-3") are left alone, and numeric
  columns are never touched. Their JSON sidecar states the rule (:data:`NEUTRALISED_NOTE`).
- Data files that users feed to other programs (``weight --out``, ``harmonise --out``) keep
  every value unchanged; :func:`formula_cells` finds such cells so the command can warn.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

#: First characters that make a spreadsheet evaluate a cell.
FORMULA_START: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")

#: What the JSON sidecar of a human-facing CSV says about it.
NEUTRALISED_NOTE = ("Text cells (and column names) that begin with =, +, -, @, a tab or a "
                    "carriage return are written with a leading single quote (') so that "
                    "spreadsheet programs do not run them as formulas (OWASP CSV injection "
                    "rule); numbers, including negative ones, are unchanged.")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _risky(values: pd.Series) -> np.ndarray:
    """Boolean mask of the text cells of ``values`` that a spreadsheet would run."""
    arr = values.to_numpy(dtype=object)
    is_text = np.fromiter((isinstance(v, str) for v in arr), dtype=bool, count=len(arr))
    out = np.zeros(len(arr), dtype=bool)
    if not is_text.any():
        return out
    first = pd.Series(arr[is_text], dtype=object).str[:1].to_numpy(dtype=object)
    candidates = np.flatnonzero(is_text)[np.isin(first, FORMULA_START)]
    for i in candidates:  # few: only cells that start with a formula character
        out[i] = not _is_number(arr[i])
    return out


def _text_columns(frame: pd.DataFrame) -> list[Any]:
    return [c for c, dt in zip(frame.columns, frame.dtypes, strict=True)
            if dt.kind == "O" or pd.api.types.is_string_dtype(dt)]


def _quote(name: Any) -> Any:
    if isinstance(name, str) and name[:1] in FORMULA_START and not _is_number(name):
        return "'" + name
    return name


def neutralise(frame: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """A copy of ``frame`` whose risky text cells, index labels and column names start with
    ``'``; returns it and how many cells/names were changed (0: the frame itself, unchanged).
    """
    changed = 0
    out = frame
    for col in _text_columns(frame):
        mask = _risky(frame[col])
        if mask.any():
            if out is frame:
                out = frame.copy()
            values = out[col].to_numpy(dtype=object).copy()
            values[mask] = ["'" + v for v in values[mask]]
            out[col] = values
            changed += int(mask.sum())
    names = [_quote(c) for c in frame.columns]
    renamed = sum(a != b for a, b in zip(names, frame.columns, strict=True))
    if renamed:
        out = out.copy() if out is frame else out
        out.columns = names
        changed += renamed
    if out.index.dtype.kind == "O" or pd.api.types.is_string_dtype(out.index.dtype):
        idx = [_quote(v) for v in out.index]
        moved = sum(a != b for a, b in zip(idx, out.index, strict=True))
        if moved:
            out = out.copy() if out is frame else out
            out.index = pd.Index(idx, name=_quote(out.index.name))
            changed += moved
    return out, changed


def formula_cells(frame: pd.DataFrame) -> dict[str, int]:
    """Per text column, how many cells a spreadsheet would run as a formula (for a warning
    when a data file is written unchanged)."""
    found: dict[str, int] = {}
    for col in _text_columns(frame):
        n = int(_risky(frame[col]).sum())
        if n:
            found[str(col)] = n
    return found


def warn_formula_cells(frame: pd.DataFrame, path: Any) -> str | None:
    """The one-line warning for a data file whose text cells look like formulas, or None."""
    found = formula_cells(frame)
    if not found:
        return None
    total = sum(found.values())
    cols = ", ".join(list(found)[:5]) + (", ..." if len(found) > 5 else "")
    return (f"warning: {total} text cell(s) in {path} begin with =, +, -, @, a tab or a "
            f"carriage return (columns: {cols}); written unchanged, but a spreadsheet program "
            "may run them as formulas when it opens the file")


def write_human_csv(frame: pd.DataFrame, path: Any, **to_csv: Any) -> tuple[Any, int]:
    """Write a CSV meant for people, atomically, with risky text cells neutralised
    (:func:`neutralise`); returns the path and the number of cells changed."""
    from surveykit._atomic import write_text

    safe, changed = neutralise(frame)
    to_csv.setdefault("lineterminator", "\n")
    return write_text(path, safe.to_csv(**to_csv)), changed
