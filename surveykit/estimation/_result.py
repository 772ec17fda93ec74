"""Building the tidy result frames of the estimators, in one place.

Every estimator hands its rows here: the frame gets its column order and integer counts, the
synthetic-replica mark, ``attrs["n_missing_by"]`` and, with ``vcov=True``, the joint
covariance as ``attrs["vcov"]`` (a square DataFrame labelled by parameter names in row order)
and the design degrees of freedom as ``attrs["df"]`` (the inference contract of
:mod:`surveykit.inference`). Later decorations of results (e.g. value labels) belong here too.

Parameter names (the labels of ``attrs["vcov"]``) are the row's parts joined by ``":"``: the
group label (the ``by`` values joined by ``"."``, as R's ``interaction``) when there is a
``by``; the variable when several variables are estimated, or when there is no ``by``; the
level for proportions and tables. So ``mean(d, "x", by="region")`` has "East", "West", ...;
``mean(d, ["x", "y"], by="region")`` "East:x", ...; ``proportion(d, "y", by="g")`` "1:y:2".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from surveykit.errors import EstimationError
from surveykit.provenance import mark

INT_COLUMNS = ("n_unweighted", "n_missing")


def parameter_names(frame: pd.DataFrame, by_names: Sequence[str], *,
                    name_column: str = "variable", several: bool = False) -> list[str]:
    """Readable, unique parameter names for the rows of a tidy result (module docstring)."""
    parts: list[list[str]] = [[] for _ in range(len(frame))]
    if by_names:
        keys = frame[list(by_names)].astype(str).agg(".".join, axis=1) if len(by_names) > 1 \
            else frame[by_names[0]].astype(str)
        for p, k in zip(parts, keys, strict=True):
            p.append(k)
    if name_column in frame.columns and (several or not by_names or "level" in frame.columns):
        for p, v in zip(parts, frame[name_column].astype(str), strict=True):
            p.append(v)
    if "level" in frame.columns:
        for p, v in zip(parts, frame["level"].astype(str), strict=True):
            p.append(v)
    names = [":".join(p) for p in parts]
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise EstimationError("parameter names of the result are not unique", values=dup,
                              hint="group or level labels repeat after conversion to text")
    return names


def tidy_result(rows: list[dict[str, Any]], by_names: Sequence[str], columns: Sequence[str],
                *, synthetic: bool, n_missing_by: int = 0, vcov: np.ndarray | None = None,
                df: float | None = None, several: bool = False,
                name_column: str = "variable", names: list[str] | None = None) -> pd.DataFrame:
    """The tidy result frame of an estimator (see the module docstring); ``names`` overrides
    the parameter names (e.g. "a:b" for a covariance matrix)."""
    out = pd.DataFrame(rows, columns=[*by_names, *columns])
    for col in INT_COLUMNS:
        if col in out.columns:
            out[col] = out[col].astype("int64")
    out.attrs["n_missing_by"] = n_missing_by
    if vcov is not None:
        if names is None:
            names = parameter_names(out, list(by_names), name_column=name_column,
                                    several=several)
        if vcov.shape != (len(names), len(names)):
            raise EstimationError(f"internal: covariance {vcov.shape} for {len(names)} rows")
        out.attrs["vcov"] = pd.DataFrame(vcov, index=names, columns=names)
        out.attrs["df"] = float("inf") if df is None else float(df)
    return mark(out, synthetic)
