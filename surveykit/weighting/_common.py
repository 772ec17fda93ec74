"""Helpers shared by the weighting functions: design coercion, category codes, target matching."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from surveykit.design import ReplicateDesign, SurveyDesign
from surveykit.errors import WeightingError


def as_design(design_or_frame: Any, weights: Any = None,
              what: str = "weighting") -> SurveyDesign | ReplicateDesign:
    """The design itself (linearisation or replicate) or one built from a DataFrame (with an
    optional weights column). Replicate designs are re-weighted column by column (R's
    ``svyrep.design`` methods), see :mod:`surveykit.weighting.replicate`."""
    if isinstance(design_or_frame, (SurveyDesign, ReplicateDesign)):
        if weights is not None:
            raise WeightingError("weights= is only used when a DataFrame is given; the design "
                                 "already has weights", column=str(weights))
        return design_or_frame
    if isinstance(design_or_frame, pd.DataFrame):
        return SurveyDesign(design_or_frame, weights=weights)
    raise WeightingError(
        f"{what} needs a SurveyDesign or a pandas DataFrame, got {type(design_or_frame).__name__}"
    )


def norm_key(value: Any) -> Any:
    """Normalise a category label so 1, 1.0, np.int64(1) and True/1 compare alike."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def margin_codes(design: SurveyDesign, column: str) -> tuple[np.ndarray, list[Any]]:
    """Integer codes (0..k-1, levels in sorted order) of a margin column; error on missing."""
    if column not in design.data.columns:
        shown = ", ".join(map(str, design.data.columns[:20]))
        raise WeightingError("margin variable not found in the data", file=design.source,
                             column=column, hint=f"available columns: {shown}")
    col = design.data[column]
    miss = col.isna().to_numpy()
    if miss.any():
        rows = np.flatnonzero(miss)
        raise WeightingError(
            f"margin variable has {miss.sum()} missing value(s) in {miss.sum()} row(s); every "
            "respondent needs a category to be weighted",
            file=design.source, column=column, values=[f"row {i + 1}" for i in rows],
            hint="impute or recode the missing values (e.g. to an explicit category) first",
        )
    return factor_codes(col)


def factor_codes(col: pd.Series) -> tuple[np.ndarray, list[Any]]:
    """Codes 0..k-1 of a column without missing values, levels in sorted order.

    Plain integer columns with a modest range take a bincount fast path (no hashing), which
    matters for million-row raking.
    """
    # only numpy integer/bool columns are converted: to_numpy() of a pyarrow string column
    # would build n Python strings (half a second per million rows); factorize hashes in arrow
    numpy_int = isinstance(col.dtype, np.dtype) and col.dtype.kind in "iub"
    values = col.to_numpy() if numpy_int else np.empty(0)
    if numpy_int and values.size:
        v = values.astype(np.int64, copy=False)
        vmin, vmax = int(v.min()), int(v.max())
        if vmax - vmin < 1_000_000:
            shifted = (v - vmin).astype(np.intp, copy=False)
            present = np.bincount(shifted, minlength=vmax - vmin + 1) > 0
            if present.all() and values.dtype.kind != "b":
                return shifted, list(range(vmin, vmax + 1))
            remap = np.cumsum(present, dtype=np.intp) - 1
            levels = (np.flatnonzero(present) + vmin).tolist()
            if values.dtype.kind == "b":
                levels = [bool(x) for x in levels]
            return remap[shifted], levels
    codes, levels = pd.factorize(col, sort=True)
    return codes.astype(np.intp), [norm_key(v) for v in levels]


def match_targets(levels: list[Any], targets: Mapping[Any, Any], column: str,
                  source: str | None = None) -> np.ndarray:
    """Target values in the order of ``levels``; errors name categories missing on either side.

    Keys are matched by value (``1 == 1.0``) and, failing that, by their string form, so YAML
    keys ``"1"`` match integer codes ``1``.
    """
    if not isinstance(targets, Mapping):
        if isinstance(targets, pd.Series):
            targets = targets.to_dict()
        else:
            raise WeightingError("targets of a margin must be a mapping {category: total}",
                                 file=source, column=column)
    tkeys = [norm_key(k) for k in targets]
    tvals = list(targets.values())
    lookup: dict[Any, int] = {}
    for i, k in enumerate(tkeys):
        if k in lookup:
            raise WeightingError("duplicate target category", file=source, column=column,
                                 values=[k])
        lookup[k] = i
    by_str = {str(k): i for i, k in enumerate(tkeys)}
    used: set[int] = set()
    out = np.empty(len(levels))
    absent_in_targets = []
    for j, lev in enumerate(levels):
        i = lookup.get(lev)
        if i is None:
            i = by_str.get(str(lev))
        if i is None:
            absent_in_targets.append(lev)
            continue
        used.add(i)
        out[j] = _number(tvals[i], column, tkeys[i], source)
    if absent_in_targets:
        raise WeightingError(
            "sample categories are absent from the targets",
            file=source, column=column, values=absent_in_targets,
            hint=f"targets give {sorted(map(str, tkeys))}; add the categories or recode the data",
        )
    absent_in_sample = [tkeys[i] for i in range(len(tkeys)) if i not in used]
    if absent_in_sample:
        nonzero = [k for k in absent_in_sample
                   if _number(tvals[tkeys.index(k)], column, k, source) != 0]
        if nonzero:
            raise WeightingError(
                "target categories are absent from the sample (no respondent to carry them)",
                file=source, column=column, values=nonzero,
                hint=f"sample has {sorted(map(str, levels))}; collapse categories or drop the "
                     "targets",
            )
    return out


def _number(v: Any, column: str, key: Any, source: str | None) -> float:
    try:
        x = float(v)
    except (TypeError, ValueError):
        raise WeightingError("target value is not a number", file=source, column=column,
                             values=[f"{key}: {v!r}"]) from None
    if not np.isfinite(x) or x < 0:
        raise WeightingError("target values must be finite and non-negative", file=source,
                             column=column, values=[f"{key}: {v!r}"])
    return x


def as_number(value: Any, what: str, column: str | None = None,
              source: str | None = None) -> float:
    """``float(value)``, or a WeightingError naming ``what`` and the value (no bare ValueError)."""
    if isinstance(value, (bool, np.bool_)):
        raise WeightingError(f"{what} must be a number", file=source, column=column,
                             values=[value])
    try:
        return float(value)
    except (TypeError, ValueError):
        raise WeightingError(f"{what} must be a number", file=source, column=column,
                             values=[value]) from None


def patsy_message(exc: BaseException) -> tuple[str, str | None]:
    """A patsy error's first line (without its caret diagram: the CLI prints one line) and
    the unknown variable it names, if any."""
    text = str(exc).strip()
    first = text.splitlines()[0] if text else type(exc).__name__
    unknown = re.search(r"name '([^']+)' is not defined", first)
    return first, unknown.group(1) if unknown else None


def safe_divide(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den with 0 where den == 0 (zero-weight rows carry no score)."""
    out = np.zeros(np.broadcast_shapes(num.shape, den.shape))
    np.divide(num, den, out=out, where=den != 0)
    return out
