"""The estimators' shared input layer: the design check, columns (numeric, categorical, their
codes and missing masks), the empty-domain and overflow rules, and the tidy column sets.

Every estimator parses its arguments here (as scikit-learn's ``check_array``), so a new
estimator validates its input exactly as the others do; the ``by`` groups are
:mod:`surveykit.estimation._groups`, result frames :mod:`surveykit.estimation._result`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from surveykit.design import ReplicateDesign, SurveyDesign
from surveykit.errors import EstimationError
from surveykit.expressions import evaluate

Design = SurveyDesign | ReplicateDesign

#: tidy result columns after the ``by`` columns (ARCHITECTURE.md)
RESULT_COLUMNS = ("variable", "estimate", "std_error", "ci_low", "ci_high", "deff",
                  "n_unweighted", "n_missing")
PROPORTION_COLUMNS = ("variable", "level", "estimate", "std_error", "ci_low", "ci_high", "deff",
                      "n_unweighted", "n_missing")


def check_design(design: Any) -> Design:
    """The design, or an EstimationError if it is not a surveykit design."""
    if not isinstance(design, (SurveyDesign, ReplicateDesign)):
        raise EstimationError(
            f"expected a SurveyDesign or ReplicateDesign, got {type(design).__name__}",
            hint="build one with surveykit.SurveyDesign(data, weights=...)",
        )
    return design


def as_list(spec: str | Sequence[str] | None, what: str) -> list[str]:
    """A column name or a list of names as a list (None -> [])."""
    if spec is None:
        return []
    if isinstance(spec, str):
        return [spec]
    names = list(spec)
    if not all(isinstance(s, str) for s in names):
        raise EstimationError(f"{what} must be a column name or a list of column names",
                              values=[s for s in names if not isinstance(s, str)])
    return names


#: an ``I(...)`` expression given where a variable is asked
_I_EXPR = re.compile(r"\s*I\((.*)\)\s*", re.S)


def get_column(design: Design, name: str, role: str = "variable") -> pd.Series:
    """A data column, with an EstimationError naming it when it is absent.

    ``I(<expression>)`` computes the variable from the data with the validated expression
    language (:mod:`surveykit.expressions`; no eval), as in a formula: ``I(api00 - api99)``,
    ``I(sch_wide == "Yes")``. The name of the result is the text given.
    """
    m = _I_EXPR.fullmatch(name) if name not in design.data.columns else None
    if m is not None:
        value = evaluate(m.group(1), design.data, kind=EstimationError, what=role,
                         file=design.source)
        if not isinstance(value, pd.Series):
            value = pd.Series(np.broadcast_to(value, len(design.data)), index=design.data.index)
        return value.rename(name)
    if name not in design.data.columns:
        raise EstimationError(
            f"{role} not found in the design's data", file=design.source, column=name,
            hint=f"available columns: {', '.join(map(str, design.data.columns[:20]))}",
        )
    return design.data[name]


def numeric_column(design: Design, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Values of a numeric (or boolean) column as float, and its missing-value mask.

    Non-numeric columns raise an EstimationError naming the column and offending values.
    """
    col = get_column(design, name)
    if isinstance(col.dtype, pd.CategoricalDtype):
        cats = col.cat.categories
        if not pd.api.types.is_numeric_dtype(cats.dtype):
            raise EstimationError(
                "cannot average a non-numeric categorical variable", file=design.source,
                column=name, values=list(cats[:5]),
                hint="use proportion() for categorical variables",
            )
        col = col.astype(cats.dtype if not col.isna().any() else "float64")
    if pd.api.types.is_bool_dtype(col.dtype) or pd.api.types.is_numeric_dtype(col.dtype):
        arr = col.to_numpy(dtype=float, na_value=np.nan)
        miss = np.isnan(arr)
        if np.isinf(arr).any():
            raise EstimationError("variable has infinite values", file=design.source,
                                  column=name, values=arr[np.isinf(arr)])
        return arr, miss
    sample = col.dropna()
    raise EstimationError(
        f"variable must be numeric (dtype {col.dtype})", file=design.source, column=name,
        values=list(sample.iloc[:20]), hint="use proportion() for categorical variables",
    )


#: widest value range coded by counting instead of hashing (see small_integer_codes)
_MAX_RANGE = 1_000_000


def small_integer_codes(col: pd.Series) -> tuple[np.ndarray, list[Any]] | None:
    """Codes 0..K-1 in sorted value order (-1: missing) and the K distinct values, in O(n)
    without hashing or sorting, for integer columns (or floats holding whole numbers) whose
    range is small, as survey codes are; None for any other column.

    Gives exactly what ``pd.factorize(col, sort=True)`` gives, just faster on large data.
    """
    dt = col.dtype
    if not isinstance(dt, np.dtype) or dt.kind not in "iuf":
        return None
    v = col.to_numpy()
    if v.size == 0:
        return None
    if dt.kind == "f":
        miss = np.isnan(v)
        ok = v[~miss] if miss.any() else v
        if ok.size == 0 or not np.isfinite(ok).all():
            return None
        lo, hi = ok.min(), ok.max()
        if hi - lo > _MAX_RANGE or not (ok == np.floor(ok)).all():
            return None
        off = np.where(miss, 0, v - lo).astype(np.intp) if miss.any() else (v - lo).astype(
            np.intp)
    else:
        miss = None
        lo, hi = v.min(), v.max()
        if int(hi) - int(lo) > _MAX_RANGE:
            return None
        off = (v - lo).astype(np.intp)
    counts = np.bincount(off, minlength=int(hi - lo) + 1)
    if miss is not None and miss.any():
        counts[0] -= int(miss.sum())  # missing rows were counted at offset 0
    present = counts > 0
    # usual case: every value in the range occurs, so the offsets are already the codes
    codes = off if present.all() else (np.cumsum(present) - 1)[off]
    if miss is not None and miss.any():
        codes[miss] = -1
    vals = (np.flatnonzero(present) + lo).astype(dt)
    return codes.astype(np.intp, copy=False), [x.item() for x in vals]


def categorical_column(design: Design, name: str) -> tuple[np.ndarray, list[Any], np.ndarray]:
    """Integer codes 0..K-1 (-1 for missing), the K levels, and the missing mask.

    Levels are the categories of a pandas Categorical (in their order), otherwise the sorted
    distinct values of the column (sorted code order).
    """
    col = get_column(design, name)
    fast = small_integer_codes(col)
    if fast is not None:
        codes, levels = fast
    elif isinstance(col.dtype, pd.CategoricalDtype):
        codes = col.cat.codes.to_numpy().astype(np.intp)
        levels = list(col.cat.categories)
    else:
        try:
            codes, uniq = pd.factorize(col, sort=True)
        except TypeError as exc:  # e.g. numbers mixed with text
            kinds = sorted({type(v).__name__ for v in col.dropna()})
            raise EstimationError(
                f"variable mixes value types ({', '.join(kinds)}) that cannot be ordered",
                file=design.source, column=name, values=list(col.dropna().iloc[:20]),
            ) from exc
        codes = codes.astype(np.intp)
        levels = list(uniq)
    levels = [lv.item() if isinstance(lv, np.generic) else lv for lv in levels]
    return codes, levels, codes < 0


def indicators(design: Design, var: str) -> tuple[np.ndarray, list[Any], np.ndarray]:
    """0/1 indicator matrix (n x k) of the k observed categories of ``var``, the categories,
    and the missing mask; an EstimationError when ``var`` has no observed value."""
    codes, levels, miss = categorical_column(design, var)
    if not levels:
        raise EstimationError("variable has no non-missing values", file=design.source,
                              column=var)
    ind = np.zeros((len(codes), len(levels)))
    ok = codes >= 0
    ind[np.flatnonzero(ok), codes[ok]] = 1.0
    return ind, levels, miss


def require_nonempty(design: Design, name: str, in_domain: np.ndarray, miss: np.ndarray) -> None:
    """The empty-domain rule (docs/ARCHITECTURE.md, Tidy results): an EstimationError when no
    respondent of the domain (``in_domain``: non-zero weight, in some group) has a value of
    ``name``."""
    in_domain = in_domain & design.domain & (design.base_weights != 0)
    if not (in_domain & ~miss).any():
        raise EstimationError(
            "the domain is empty: no respondent in it has a value of the variable",
            file=design.source, column=name,
            values=[f"{int(in_domain.sum())} respondent(s) with a non-zero weight in the domain",
                    f"{int((in_domain & miss).sum())} of them missing"],
            hint="check the subset / by definition, or the variable's missing codes")


def require_finite(design: Design, name: str, values: np.ndarray, what: str) -> None:
    """An EstimationError when a non-empty domain's estimate or SE overflowed (inf/NaN):
    float64 ends near 1.8e308, so e.g. totals with weights near 1e300 cannot be represented."""
    vals = np.asarray(values, dtype=float)
    if not np.isfinite(vals).all():
        w = design.weights
        raise EstimationError(
            f"the {what} of the variable overflows floating point (inf or undefined)",
            file=design.source, column=name,
            values=[f"largest weight {float(np.max(w, initial=0.0)):.6g}",
                    f"sum of weights {float(np.sum(w)):.6g}"],
            hint="rescale the weights (e.g. to mean 1) or the variable; estimates of means and "
                 "shares do not depend on the scale of the weights")
