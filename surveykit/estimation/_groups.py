"""The ``by`` groups of an estimator (R's ``svyby``): one integer code per row, the group keys,
rows missing a ``by`` value counted and reported, groups without respondents warned about.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from surveykit.estimation._input import Design, as_list, get_column, small_integer_codes


@dataclass
class Groups:
    """The ``by`` groups of a design: one integer code per row (-1: outside every group)."""

    codes: np.ndarray
    keys: pd.DataFrame  # one row per group, the by columns
    n_missing_by: int = 0
    # the same codes for the domain's rows of weight 0 too (-1 only outside the domain, for a
    # missing by value, or a combination without weighted rows): R's svyby subsets keep those
    # rows, so nrow(design) in svyciprop's and svyquantile's intervals counts them
    with_zero_weights: np.ndarray | None = None

    @property
    def n_groups(self) -> int:
        return len(self.keys)

    @property
    def codes_any_weight(self) -> np.ndarray:
        return self.codes if self.with_zero_weights is None else self.with_zero_weights

    def masks(self) -> list[np.ndarray]:
        return [self.codes == g for g in range(self.n_groups)]


def make_groups(design: Design, by: str | Sequence[str] | None) -> Groups:
    """Groups of the rows in the design's domain defined by the ``by`` columns.

    Groups are the combinations present among the domain rows with a non-zero weight (as R's
    ``svyby``), in sorted order of the ``by`` columns. Rows with a missing ``by`` value belong
    to no group: they are counted and reported with a warning, never dropped silently.
    """
    names = as_list(by, "by")
    inset = design.weights != 0
    if not names:
        return Groups(codes=np.where(design.domain, 0, -1).astype(np.intp),
                      keys=pd.DataFrame(index=[0]))
    cols = [get_column(design, b, "by column") for b in names]
    fast = [small_integer_codes(c) for c in cols]
    if all(f is not None for f in fast):
        return _groups_from_codes(design, names, cols, fast, inset)  # type: ignore[arg-type]
    frame = pd.DataFrame({f"_b{i}": c.to_numpy() for i, c in enumerate(cols)})
    missing = frame.isna().any(axis=1).to_numpy()
    n_missing_by = int((missing & design.domain).sum())
    if n_missing_by:
        bad = [b for b, c in zip(names, cols, strict=True) if (c.isna().to_numpy()
                                                               & design.domain).any()]
        warnings.warn(
            f"{n_missing_by} row(s) in the domain have a missing value of the by column(s) "
            f"{', '.join(bad)} and are not in any group",
            UserWarning, stacklevel=3,
        )
    use = inset & ~missing
    keys = frame.loc[use].drop_duplicates()
    keys = keys.sort_values(list(keys.columns), kind="mergesort").reset_index(drop=True)
    keys.columns = names
    if len(names) == 1:
        lookup = pd.Index(keys[names[0]])
        codes = lookup.get_indexer(frame["_b0"])
    else:
        lookup = pd.MultiIndex.from_frame(keys)
        codes = lookup.get_indexer(pd.MultiIndex.from_frame(frame))
    # only when the domain has rows of weight 0 do they differ from the codes (an n-row array)
    any_weight = (np.where(design.domain & ~missing, codes, -1).astype(np.intp)
                  if (design.domain & ~inset).any() else None)
    codes = np.where(use, codes, -1).astype(np.intp)
    for c, b in zip(cols, names, strict=True):  # restore original dtypes of the key columns
        try:
            keys[b] = keys[b].astype(c.dtype)
        except (TypeError, ValueError):
            pass
    return Groups(codes=codes, keys=keys, n_missing_by=n_missing_by,
                  with_zero_weights=any_weight)


def group_labels(groups: Groups, which: Sequence[int]) -> str:
    """The groups ``which`` as a warning names them: "g=1, h=a; g=2, h=b" (the first ten,
    then " ...")."""
    labels = [", ".join(f"{c}={groups.keys.iloc[g][c]}" for c in groups.keys.columns)
              for g in list(which)[:10]]
    return "; ".join(labels) + (" ..." if len(which) > 10 else "")


def warn_empty_groups(groups: Groups, name: str, miss: np.ndarray, stacklevel: int = 3) -> None:
    """Warn (once) about ``by`` groups whose respondents all miss ``name``: their rows are NaN."""
    has = np.bincount(groups.codes[(groups.codes >= 0) & ~miss], minlength=groups.n_groups)
    empty = np.flatnonzero(has == 0)
    if empty.size:
        warnings.warn(
            f"{empty.size} group(s) have no respondent with a value of {name}; their rows are "
            f"NaN (n_unweighted 0): {group_labels(groups, empty)}",
            UserWarning, stacklevel=stacklevel)


def _groups_from_codes(design: Design, names: list[str], cols: list[pd.Series],
                       coded: list[tuple[np.ndarray, list[Any]]], inset: np.ndarray) -> Groups:
    """:func:`make_groups` for by columns already coded in sorted order (O(n), no hashing):
    mixed-radix combination of the codes, groups kept where a domain row has weight."""
    if len(coded) == 1:
        combined = coded[0][0]
        missing = combined < 0
    else:
        combined = np.zeros(len(cols[0]), dtype=np.intp)
        missing = np.zeros(len(cols[0]), dtype=bool)
        for codes, levels in coded:
            missing |= codes < 0
            combined = combined * len(levels) + np.maximum(codes, 0)
    n_missing_by = int((missing & design.domain).sum())
    if n_missing_by:
        bad = [b for b, (codes, _) in zip(names, coded, strict=True)
               if ((codes < 0) & design.domain).any()]
        warnings.warn(
            f"{n_missing_by} row(s) in the domain have a missing value of the by column(s) "
            f"{', '.join(bad)} and are not in any group",
            UserWarning, stacklevel=4,
        )
    use = inset & ~missing
    size = int(np.prod([len(lv) for _, lv in coded]))
    all_use = bool(use.all())
    present = np.bincount(combined if all_use else np.where(use, combined, size),
                          minlength=size + 1)[:size] > 0
    codes = combined if present.all() else (np.cumsum(present) - 1)[np.maximum(combined, 0)]
    codes = codes.astype(np.intp, copy=True) if all_use else np.where(use, codes, -1).astype(
        np.intp, copy=False)
    any_weight = None  # differs from the codes only when the domain has rows of weight 0
    if (design.domain & ~inset).any():
        remap = np.full(size, -1, dtype=np.intp)
        remap[present] = np.arange(int(present.sum()))
        any_weight = np.where(design.domain & ~missing, remap[np.maximum(combined, 0)],
                              -1).astype(np.intp, copy=False)
    cells = np.flatnonzero(present)
    keys = {}
    for b, c, (_, levels) in zip(reversed(names), reversed(cols), reversed(coded), strict=True):
        keys[b] = pd.Series(np.asarray(levels)[cells % len(levels)]).astype(c.dtype)
        cells = cells // len(levels)
    frame = pd.DataFrame({b: keys[b] for b in names})
    return Groups(codes=codes, keys=frame, n_missing_by=n_missing_by,
                  with_zero_weights=any_weight)
