"""Where data come from: the synthetic-replica label that every output made from it carries."""

from __future__ import annotations

from typing import Any

import pandas as pd

#: The one wording used by every output (tables, figures, reports) made from the replica.
SYNTHETIC_BANNER = "Synthetic replica — not the original survey data"


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
