"""Likert tables in the published layout (Kostka 2019, Figure 5.4: approval by SCS user group).

Shape of the result (a DataFrame):

- index (named after ``var``): one row per code of ``var`` in sorted code order, labelled from
  ``labels`` (code -> text) or the code itself, then a final row ``"N"``;
- columns: ``"Total"``, then one per group of ``by`` (the group value; several ``by`` columns
  are joined with " / "), then one per entry of ``domains`` (its key); with ``se=True`` each
  column is followed by ``"<column> (SE)"``;
- cells: weighted percentages (0–100) of the column's respondents with a non-missing ``var``;
  SE columns in percentage points; row ``"N"``: unweighted respondents of the column with a
  non-missing ``var`` (blank, NaN, in SE columns).

``result.attrs["n_missing"]`` maps each column to its respondents with a missing ``var``;
``result.attrs["n_missing_by"]`` counts the respondents in no ``by`` column (missing ``by``).
The published groups overlap (a Sesame user is also a commercial-SCS user), so they are given
as ``domains``: ``{"Users of Sesame Credit": data["sesame"] == 1, ...}``; each is a domain of
the full design, so SEs are right.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from surveykit.errors import EstimationError
from surveykit.estimation._core import (
    Design,
    as_list,
    check_design,
    estimate_domains,
    indicators,
    make_groups,
)
from surveykit.provenance import mark


def _domain_mask(design: Design, label: str, mask: Any) -> np.ndarray:
    if isinstance(mask, str):
        try:
            mask = design.data.eval(mask)
        except Exception as exc:  # pandas raises NameError subclasses, SyntaxError, ...
            text = " ".join(str(exc).split()) or type(exc).__name__
            raise EstimationError(f"domain {label!r}: cannot evaluate {mask!r} ({text})",
                                  file=design.source) from exc
    ser = pd.Series(np.asarray(mask) if not isinstance(mask, pd.Series) else mask.to_numpy())
    if len(ser) != design.n_total:
        raise EstimationError(f"domain {label!r} has {len(ser)} values, the data has "
                              f"{design.n_total} rows", file=design.source)
    if ser.isna().any():
        raise EstimationError(
            f"domain {label!r} has missing values; decide explicitly how to treat them",
            file=design.source, values=[f"row {i}" for i in np.flatnonzero(ser.isna())],
        )
    if not (pd.api.types.is_bool_dtype(ser.dtype) or set(pd.unique(ser)) <= {0, 1}):
        raise EstimationError(f"domain {label!r} must be a boolean mask", file=design.source,
                              values=list(pd.unique(ser))[:5])
    return ser.to_numpy().astype(bool)


def likert(
    design: Design,
    var: str,
    by: str | Sequence[str] | None = None,
    *,
    labels: Mapping[Any, str] | None = None,
    se: bool = False,
    domains: Mapping[str, Any] | None = None,
    progress: bool | None = None,
) -> pd.DataFrame:
    """Weighted % distribution of ``var`` overall, by ``by`` groups and in named ``domains``.

    See the module docstring for the exact shape. Percentages are R's ``svymean(~factor(var))``
    x 100 within each column's domain (the full design is kept, as ``svyby``).
    """
    design = check_design(design)
    ind, levels, miss = indicators(design, var)
    if not (design.domain & ~miss).any():
        raise EstimationError(
            "variable has no non-missing value in the design's domain", file=design.source,
            column=var, values=[f"{int((design.domain & miss).sum())} missing",
                                f"{design.n} in the domain"],
            hint="check the subset: an empty domain has no distribution")

    names: list[str] = ["Total"]
    masks: list[np.ndarray] = [design.domain.copy()]
    by_names = as_list(by, "by")
    n_missing_by = 0
    if by_names:
        groups = make_groups(design, by_names)
        n_missing_by = groups.n_missing_by
        for g in range(groups.n_groups):
            vals = [groups.keys.iloc[g][b] for b in by_names]
            names.append(" / ".join(str(v) for v in vals))
            masks.append(groups.codes == g)
    for label, mask in (domains or {}).items():
        masks.append(_domain_mask(design, str(label), mask))
        names.append(str(label))
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise EstimationError("likert column names must be unique", values=dup,
                              hint="rename the domains")
    ests = estimate_domains(design, ind, [m & ~miss for m in masks], "mean", progress=progress,
                            one_hot=True)

    row_labels = [labels.get(lv, lv) if labels else lv for lv in levels]
    cols: dict[str, np.ndarray] = {}
    for name, e in zip(names, ests, strict=True):
        cols[name] = np.append(100.0 * e.theta, float(e.n))
        if se:
            cols[f"{name} (SE)"] = np.append(100.0 * e.se, np.nan)
    out = pd.DataFrame(cols, index=pd.Index([*row_labels, "N"], name=var, dtype=object))
    out.attrs["n_missing"] = {
        name: int((m & design.domain & miss).sum()) for name, m in zip(names, masks, strict=True)
    }
    out.attrs["n_missing_by"] = n_missing_by  # rows in no `by` column (missing by value)
    return mark(out, design.is_synthetic)
