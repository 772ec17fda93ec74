"""Writing multiply imputed data: one stacked CSV (imputation number, row id, data, an
``<var>_imputed`` flag per imputed value) plus a JSON sidecar, both written atomically."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from surveykit.errors import ImputationError


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to a temp file in the target folder, then ``os.replace`` it."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_figure(fig: Any, path: str | Path, dpi: int = 150) -> Path:
    """Save a matplotlib figure through a temp file + ``os.replace`` (format from the suffix;
    PNG metadata without a timestamp so reruns give the same bytes)."""
    path = Path(path)
    fmt = path.suffix.lstrip(".").lower() or "png"
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        meta = {"Software": None} if fmt == "png" else None
        fig.savefig(tmp, format=fmt, dpi=dpi, metadata=meta)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_stacked(mi: Any, path: str | Path) -> Path:
    """``mi.stacked()`` to ``path`` (.csv) and ``<path>.json`` (what the file is)."""
    path = Path(path)
    if path.suffix.lower() != ".csv":
        raise ImputationError("imputed data are written as .csv (stacked, long format)",
                              file=str(path), hint="give a path ending in .csv")
    if not path.parent.is_dir():
        raise ImputationError("output folder does not exist", file=str(path.parent))
    sources = {str(Path(d.source).resolve()) for d in mi.designs if d.source}
    if str(path.resolve()) in sources:
        raise ImputationError("refusing to write over the input file", file=str(path))
    frame = mi.stacked()
    atomic_write_text(path, frame.to_csv(index=False, lineterminator="\n"))
    flags = [c for c in frame.columns if str(c).endswith("_imputed")]
    side: dict[str, Any] = {
        "what": mi.label, "m": mi.m, "method": mi.method, "rows_per_imputation": mi.n_total,
        "columns": {"imputation": "imputation number 1..m", "row_id": "row of the data "
                    "(0-based, the same respondent in every imputation)",
                    **{c: "True where this value was imputed" for c in flags}},
        "synthetic": bool(mi.is_synthetic),
    }
    if mi.is_synthetic:
        side["note"] = "SYNTHETIC data: not findings about China"
    atomic_write_text(path.with_suffix(path.suffix + ".json"),
                       json.dumps(side, indent=2, sort_keys=True) + "\n")
    return path
