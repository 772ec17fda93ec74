"""Writing multiply imputed data: one stacked CSV (imputation number, row id, data, an
``<var>_imputed`` flag per imputed value) plus a JSON sidecar, both written atomically through
the package's one helper (:mod:`surveykit._atomic`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from surveykit._atomic import atomic_path, same_file, write_text
from surveykit.errors import ImputationError


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` atomically (temp file beside it + ``os.replace``)."""
    return write_text(path, text)


def atomic_write_figure(fig: Any, path: str | Path, dpi: int = 150) -> Path:
    """Save a matplotlib figure atomically (format from the suffix; PNG metadata without the
    software stamp so reruns give the same bytes)."""
    path = Path(path)
    fmt = path.suffix.lstrip(".").lower() or "png"
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=fmt, dpi=dpi,
                    metadata={"Software": None} if fmt == "png" else None)
    return path


def write_stacked(mi: Any, path: str | Path) -> Path:
    """``mi.stacked()`` to ``path`` (.csv) and ``<path>.json`` (what the file is)."""
    path = Path(path)
    if path.suffix.lower() != ".csv":
        raise ImputationError("imputed data are written as .csv (stacked, long format)",
                              file=str(path), hint="give a path ending in .csv")
    if not path.parent.is_dir():
        raise ImputationError("output folder does not exist", file=str(path.parent))
    for d in mi.designs:
        if d.source and Path(d.source).exists() and same_file(path, d.source):
            raise ImputationError("refusing to write over the input file", file=str(path))
    frame = mi.stacked()
    write_text(path, frame.to_csv(index=False, lineterminator="\n"))
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
    write_text(path.with_suffix(path.suffix + ".json"),
               json.dumps(side, indent=2, sort_keys=True) + "\n")
    return path
