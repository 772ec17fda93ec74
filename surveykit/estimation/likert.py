"""Likert tables in the published layout (Kostka 2019, Figure 5.4: approval by SCS user group).

Shape of the result (a DataFrame):

- index (named after ``var``): one row per code of ``var`` in sorted code order, labelled from
  ``labels`` (code -> text), else the data's value labels, else the code itself, then the rows
  ``"N"`` and ``"N missing"`` (``attrs["codes"]`` keeps the codes in row order);
- columns: ``"Total"``, then one per group of ``by`` (the group's value label, else its value;
  several ``by`` columns are joined with " / "), then one per entry of ``domains`` (its key);
  with ``se=True`` each column is followed by ``"<column> (SE)"``;
- cells: weighted percentages (0–100) of the column's respondents with a non-missing ``var``;
  SE columns in percentage points; row ``"N"``: unweighted respondents of the column with a
  non-missing ``var``; row ``"N missing"``: those with a missing ``var``, left out of the
  percentages (both blank, NaN, in SE columns).

``result.attrs["n_missing"]`` maps each column to its respondents with a missing ``var``;
``result.attrs["n_missing_by"]`` counts the respondents in no ``by`` column (missing ``by``).
The published groups overlap (a Sesame user is also a commercial-SCS user), so they are given
as ``domains``: ``{"Users of Sesame Credit": data["sesame"] == 1, ...}``; each is a domain of
the full design, so SEs are right.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from surveykit.design import align_to
from surveykit.errors import EstimationError
from surveykit.estimation._core import (
    Design,
    as_list,
    check_design,
    estimate_domains,
    indicators,
    make_groups,
    require_nonempty,
)
from surveykit.estimation.battery import likert_battery
from surveykit.estimation.descriptive import check_na
from surveykit.expressions import evaluate
from surveykit.labels import as_code, label_of, value_labels, variable_label
from surveykit.mi.dispatch import mi_aware
from surveykit.provenance import mark

DEFAULT_MAX_LEVELS = 11
"""Likert scales run to 11 points (0-10); more distinct values suggest a continuous variable."""
MISSING_ROW = "N missing"


def _domain_mask(design: Design, label: str, mask: Any) -> np.ndarray:
    if isinstance(mask, str):
        mask = evaluate(mask, design.data, kind=EstimationError,
                        what=f"domain {label!r}: cannot evaluate", file=design.source)
    mask = align_to(design.data, mask, f"domain {label!r}", design.source)
    ser = pd.Series(np.asarray(mask) if not isinstance(mask, pd.Series) else mask.to_numpy())
    if len(ser) != design.n_total:
        raise EstimationError(f"domain {label!r} has {len(ser)} values, the data has "
                              f"{design.n_total} rows", file=design.source)
    if ser.isna().any():
        raise EstimationError(
            f"domain {label!r} has missing values; decide explicitly how to treat them",
            file=design.source, values=[f"row {i + 1}" for i in np.flatnonzero(ser.isna())],
        )
    if not (pd.api.types.is_bool_dtype(ser.dtype) or set(pd.unique(ser)) <= {0, 1}):
        raise EstimationError(f"domain {label!r} must be a boolean mask", file=design.source,
                              values=list(pd.unique(ser))[:5])
    return ser.to_numpy().astype(bool)


@mi_aware
def likert(
    design: Design,
    var: str | Sequence[str],
    by: str | Sequence[str] | None = None,
    *,
    labels: Mapping[Any, str] | None = None,
    se: bool = False,
    domains: Mapping[str, Any] | None = None,
    progress: bool | None = None,
    max_levels: int | None = DEFAULT_MAX_LEVELS,
    na: str = "listwise",
    sort: str | None = None,
) -> pd.DataFrame:
    """Weighted % distribution of ``var`` overall, by ``by`` groups and in named ``domains``.

    See the module docstring for the exact shape of one item's table. A list of items (a
    battery on one scale) gives one row per item (and ``by`` group) instead: columns ``item``,
    ``item_label``, the ``by`` columns, one column per response level named by the scale's
    labels (weighted %, in scale order; ``se=True`` adds ``"<level> (SE)"``), ``N``
    (unweighted respondents) and ``n missing``; ``sort="net"`` orders the items by net
    agreement (top half of the scale minus bottom half), ``na`` is the missing-value rule of
    every estimator (``"listwise"``: a respondent missing any item is left out of all;
    ``"per_variable"``: each item on its own respondents); items on different scales are a
    :class:`~surveykit.errors.ScaleMismatchError` (:mod:`surveykit.estimation.battery`).
    With one item ``na`` changes nothing and ``sort`` is not used.

    Percentages are R's ``svymean(~factor(var))`` x 100 within each column's domain (the full
    design is kept, as ``svyby``). A variable with
    more than ``max_levels`` distinct values (e.g. age in years) is refused unless asked for
    (``max_levels=None``). An empty design domain is an EstimationError; a ``by`` group or named
    domain without respondents gives a NaN column with a warning (docs/ARCHITECTURE.md).

    Parameters
    ----------
    design : SurveyDesign or ReplicateDesign
        The survey design (a domain: ``design.subset(...)``).
    var : str or sequence of str
        One Likert item, or a battery of items sharing one scale.
    by : str or sequence of str, optional
        Grouping column(s): one row per group (R's ``svyby``).
    labels : mapping, optional
        ``{code: label}`` of the response levels (default: the data's value labels).
    se : bool
        Add the standard error of each percentage.
    domains : mapping, optional
        Named domains ``{name: mask or expression}``, one column each.
    progress : bool, optional
        Show a progress bar for long replicate-weight runs (default: when stderr is a terminal).
    max_levels : int, optional
        Refuse a variable with more distinct values (``None``: no limit).
    na : {"listwise", "per_variable"}
        Missing-value rule shared by every estimator (see above).
    sort : {None, "net"}
        Order battery items by net agreement.

    Returns
    -------
    pandas.DataFrame

    Examples
    --------
    >>> df = sk.load_replica()
    >>> design = sk.SurveyDesign(df, weights="weight")
    >>> table = sk.likert(design, "approval")
    >>> round(float(table.loc["strongly approve", "Total"]), 1)
    48.9
    """
    design = check_design(design)
    check_na(na)
    if not isinstance(var, str):
        if domains:
            raise EstimationError("likert: domains= is for one item; use design.subset() for "
                                  "a battery in a domain", values=list(domains))
        return likert_battery(design, var, by, na=na, sort=sort, labels=labels, se=se,
                              progress=progress)
    if sort is not None:
        raise EstimationError("likert: sort= orders the items of a battery (a list of items)",
                              column=var, values=[sort])
    ind, levels, miss = indicators(design, var)
    if max_levels is not None and len(levels) > max_levels:
        raise EstimationError(
            f"variable has {len(levels)} distinct values: a Likert table is for ordinal or "
            f"categorical answers (at most max_levels={max_levels})", file=design.source,
            column=var, values=levels,
            hint=f"pass max_levels={len(levels)} (or None) to tabulate it anyway, or use "
                 "mean() / a grouped copy for a continuous variable")
    require_nonempty(design, var, np.ones(design.n_total, dtype=bool), miss)

    names: list[str] = ["Total"]
    masks: list[np.ndarray] = [design.domain.copy()]
    by_names = as_list(by, "by")
    n_missing_by = 0
    if by_names:
        groups = make_groups(design, by_names)
        n_missing_by = groups.n_missing_by
        for g in range(groups.n_groups):
            vals = [label_of(value_labels(design, b), groups.keys.iloc[g][b]) for b in by_names]
            names.append(" / ".join(vals))
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
    empty = [name for name, e in zip(names, ests, strict=True) if e.n == 0]
    if empty:
        warnings.warn(f"{len(empty)} likert column(s) have no respondent with a value of {var}; "
                      f"they are NaN (N 0): {', '.join(empty)}", UserWarning, stacklevel=2)

    labels = labels if labels else value_labels(design, var)  # given, else from the data
    row_labels = [labels.get(lv, labels.get(as_code(lv), as_code(lv))) for lv in levels]
    cols: dict[str, np.ndarray] = {}
    for name, e in zip(names, ests, strict=True):
        cols[name] = np.append(100.0 * e.theta, float(e.n))
        if se:
            cols[f"{name} (SE)"] = np.append(100.0 * e.se, np.nan)
    n_missing = {name: int((m & design.domain & (design.base_weights != 0) & miss).sum())
                 for name, m in zip(names, masks, strict=True)}
    for name in names:
        cols[name] = np.append(cols[name], float(n_missing[name]))
        if se:
            cols[f"{name} (SE)"] = np.append(cols[f"{name} (SE)"], np.nan)
    out = pd.DataFrame(cols, index=pd.Index([*row_labels, "N", MISSING_ROW], name=var,
                                            dtype=object))
    out.attrs["n_missing"] = n_missing
    out.attrs["n_missing_by"] = n_missing_by  # rows in no `by` column (missing by value)
    out.attrs["codes"] = [as_code(lv) for lv in levels]  # the codes behind the row labels
    out.attrs["variable"] = var
    out.attrs["variable_labels"] = {var: variable_label(design, var)}
    return mark(out, design.is_synthetic)
