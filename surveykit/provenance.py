"""Where data come from: the synthetic-replica label that every output made from it carries.

The flag is derived from the DATA, never from how a command was called: a mapping that says
``synthetic: true``, a file label saying SYNTHETIC, a frame already marked
(``attrs["synthetic"]``), a ``data_source`` column saying SYNTHETIC (written into every CSV,
Parquet or .sav export of synthetic data, so a renamed copy keeps it), or weights that are the
bundled replica's own (a CSV export of the replica made with plain pandas loses every label,
but not its weights). :func:`synthetic_evidence` says which of these holds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from surveykit.errors import SurveyKitError

#: the bundled replica's file and its raw weight column (surveykit.replica writes them; they
#: are defined here, on the foundation floor, so the fingerprint needs nothing above it)
REPLICA_SAV_NAME = "replica.sav"
REPLICA_SAV = Path(__file__).parent / "replica" / "data" / REPLICA_SAV_NAME
REPLICA_WEIGHT_COLUMN = "WEIGHT"

#: The one wording used by every output (tables, figures, reports) made from the replica.
SYNTHETIC_BANNER = "Synthetic replica — not the original survey data"
#: Column written into exports of synthetic data (one value for every row), read back as a flag.
DATA_SOURCE_COLUMN = "data_source"
SYNTHETIC_SOURCE = "SYNTHETIC replica - not the original survey data"
#: A frame whose weights (as given, or rescaled to mean 1 as the replica's are) include at
#: least this many distinct bundled-replica weight values (compared to 9 significant digits),
#: making up at least half of its distinct weights, is the replica or a piece of it. Calibrated
#: weights of a real survey never coincide that often. (A piece of the replica rescaled by an
#: arbitrary factor is not recognised by its weights; its labels or data_source column remain.)
FINGERPRINT_MIN_MATCHES = 50
_REPLICA_WEIGHTS: dict[str, np.ndarray] = {}


def is_synthetic(obj: Any) -> bool:
    """True for a frame marked ``attrs["synthetic"]`` or a design / result built on one."""
    if isinstance(obj, pd.DataFrame):
        return bool(obj.attrs.get("synthetic", False))
    data = getattr(obj, "data", None)
    if isinstance(data, pd.DataFrame):
        return bool(data.attrs.get("synthetic", False))
    design = getattr(obj, "design", None)
    return design is not None and design is not obj and is_synthetic(design)


def mark(frame: pd.DataFrame, synthetic: bool) -> pd.DataFrame:
    """Set (never clear) the synthetic flag on a result frame, in place; returns it."""
    if synthetic:
        frame.attrs["synthetic"] = True
        frame.attrs["note"] = SYNTHETIC_BANNER
    return frame


def flag(frame: pd.DataFrame, evidence: str | None) -> pd.DataFrame:
    """Mark a data frame synthetic (in place) when there is ``evidence``; returns it."""
    if evidence:
        frame.attrs["synthetic"] = True
        frame.attrs.setdefault("synthetic_evidence", evidence)
    return frame


def _sig(values: np.ndarray) -> np.ndarray:
    """Values rounded to 9 significant digits (survives CSV round trips and 1e-10 noise)."""
    v = values[np.isfinite(values) & (values != 0)]
    scale = 10.0 ** (8 - np.floor(np.log10(np.abs(v))))
    return np.unique(np.round(v * scale) / scale)


def replica_weights() -> np.ndarray:
    """Distinct weights of the bundled replica (9 significant digits), read once."""
    if "w" not in _REPLICA_WEIGHTS:
        import pyreadstat

        try:
            data, _ = pyreadstat.read_sav(str(REPLICA_SAV), usecols=[REPLICA_WEIGHT_COLUMN])
            _REPLICA_WEIGHTS["w"] = _sig(data[REPLICA_WEIGHT_COLUMN].to_numpy(dtype=float))
        except (OSError, KeyError, ValueError, SurveyKitError, pyreadstat.ReadstatError):
            _REPLICA_WEIGHTS["w"] = np.empty(0)  # no bundled replica: nothing to recognise
    return _REPLICA_WEIGHTS["w"]


def has_replica_weights(weights: Any) -> bool:
    """True when ``weights`` are (mostly) the bundled synthetic replica's own weights."""
    try:
        raw = np.asarray(pd.to_numeric(pd.Series(weights), errors="coerce"), dtype=float)
    except (TypeError, ValueError):
        return False
    raw = raw[np.isfinite(raw)]
    if len(raw) < FINGERPRINT_MIN_MATCHES:
        return False
    # as given, and rescaled to mean 1 as the replica's are (a copy scaled to population totals)
    with np.errstate(all="ignore"):
        candidates = (raw, raw / (raw / raw.max()).mean() / raw.max())
    for w in map(_sig, candidates):
        hits = int(np.isin(w, replica_weights(), assume_unique=True).sum())
        if hits >= FINGERPRINT_MIN_MATCHES and 2 * hits >= len(w):
            return True
    return False


def synthetic_evidence(frame: pd.DataFrame, *, file_label: str | None = None,
                       mapping_synthetic: bool = False,
                       weight_columns: tuple[str, ...] = ("weight",)) -> str | None:
    """Why ``frame`` is synthetic (one phrase), or None when nothing says so."""
    if mapping_synthetic:
        return "its mapping says synthetic: true"
    if file_label and "synthetic" in file_label.lower():
        return f"its file label says {file_label!r}"
    if frame.attrs.get("synthetic"):
        return str(frame.attrs.get("synthetic_evidence") or "the data frame is marked synthetic")
    if DATA_SOURCE_COLUMN in frame.columns:
        values = pd.unique(frame[DATA_SOURCE_COLUMN].dropna().astype(str))
        if any("synthetic" in v.lower() for v in values):
            return f"its {DATA_SOURCE_COLUMN} column says SYNTHETIC"
    for col in weight_columns:
        if col in frame.columns and has_replica_weights(frame[col]):
            return f"its {col} column holds the bundled synthetic replica's weights"
    return None


def with_source_column(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with a ``data_source`` column saying SYNTHETIC when it is synthetic (copy)."""
    if not is_synthetic(frame) or DATA_SOURCE_COLUMN in frame.columns:
        return frame
    out = frame.copy()
    out[DATA_SOURCE_COLUMN] = SYNTHETIC_SOURCE
    out.attrs = dict(frame.attrs)
    return out
