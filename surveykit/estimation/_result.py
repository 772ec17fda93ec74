"""Building the tidy result frames of the estimators, in one place.

Every estimator hands its rows here: the frame gets its column order and integer counts, the
synthetic-replica mark, ``attrs["n_missing_by"]`` and, with ``vcov=True``, the joint
covariance as ``attrs["vcov"]`` (a :class:`surveykit.inference.Covariance`: an immutable square
matrix labelled by parameter names in row order, read like a DataFrame)
and the design degrees of freedom as ``attrs["df"]`` (the inference contract of
:mod:`surveykit.inference`). Later decorations of results (e.g. value labels) belong here too.

Parameter names (the labels of ``attrs["vcov"]``) are the row's parts joined by ``":"``: the
group label (the ``by`` values joined by ``"."``, as R's ``interaction``) when there is a
``by``; the variable when several variables are estimated, or when there is no ``by``; the
level for proportions and tables. So ``mean(d, "x", by="region")`` has "East", "West", ...;
``mean(d, ["x", "y"], by="region")`` "East:x", ...; ``proportion(d, "y", by="g")`` "1:y:2".
They are made once, after the frame is labelled (:func:`surveykit.labels.label_result`): the
group and level parts are the value labels where the data have them ("West",
"rural:approval:strongly approve"), the integer codes otherwise, and the codes when labels
would make two names equal.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from surveykit.errors import EstimationError
from surveykit.inference import ReplicateEstimates, attach_covariance
from surveykit.provenance import mark

INT_COLUMNS = ("n_unweighted", "n_missing")


def _texts(frame: pd.DataFrame, column: str, labelled: bool) -> list[str]:
    use = f"{column}_label" if labelled and f"{column}_label" in frame.columns else column
    return [str(v) for v in frame[use].tolist()]


def parameter_names(frame: pd.DataFrame, by_names: Sequence[str], *,
                    name_column: str = "variable", several: bool = False,
                    level: str | None = "level", suffix: Sequence[str] | None = None
                    ) -> list[str]:
    """Readable, unique parameter names for the rows of a tidy result (module docstring):
    value labels where the frame has ``<column>_label`` columns, else (or when labels repeat)
    the codes. ``suffix`` is a last part per row (e.g. the quantile)."""
    has_level = level is not None and level in frame.columns

    def build(labelled: bool) -> list[str]:
        cols: list[list[str]] = []
        if by_names:
            per_by = [_texts(frame, b, labelled) for b in by_names]
            cols.append([".".join(p) for p in zip(*per_by, strict=True)])
        if name_column in frame.columns and (several or not by_names or has_level):
            cols.append([str(v) for v in frame[name_column].tolist()])
        if has_level:
            cols.append(_texts(frame, level, labelled))
        if suffix is not None:
            cols.append([str(v) for v in suffix])
        return [":".join(p) for p in zip(*cols, strict=True)] if cols else [""] * len(frame)

    names = build(True)
    if len(set(names)) != len(names):
        names = build(False)
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise EstimationError("parameter names of the result are not unique", values=dup,
                              hint="group or level labels repeat after conversion to text")
    return names


def tidy_result(rows: list[dict[str, Any]], by_names: Sequence[str], columns: Sequence[str],
                *, synthetic: bool, n_missing_by: int = 0, vcov: np.ndarray | None = None,
                df: float | None = None, several: bool = False,
                name_column: str = "variable", names: list[str] | None = None,
                labels: Any = None, level: str | None = "level",
                suffix: Sequence[str] | None = None,
                replicates: ReplicateEstimates | None = None) -> pd.DataFrame:
    """The tidy result frame of an estimator (see the module docstring).

    ``labels``: the design (or frame) whose value labels label the result
    (:func:`surveykit.labels.label_result`: integer codes, ``level_label`` after ``level``
    and ``<by>_label`` after each labelled ``by`` column); ``level`` is the level column (None:
    none). ``names`` overrides the parameter names (e.g. "a:b" for a covariance matrix);
    ``suffix`` adds a last part to each generated name."""
    out = pd.DataFrame(rows, columns=[*by_names, *columns])
    for col in INT_COLUMNS:
        if col in out.columns:
            out[col] = out[col].astype("int64")
    out.attrs["n_missing_by"] = n_missing_by
    if labels is not None:
        from surveykit.labels import label_result

        label_result(out, labels, by=by_names, level=level)
    if vcov is not None:
        if names is None:
            names = parameter_names(out, list(by_names), name_column=name_column,
                                    several=several, level=level, suffix=suffix)
        if vcov.shape != (len(names), len(names)):
            raise EstimationError(f"internal: covariance {vcov.shape} for {len(names)} rows")
        attach_covariance(out, vcov, names, df, replicates=replicates)
    return mark(out, synthetic)


def replicate_estimates(design: Any, groups: Sequence[Any], p: int
                        ) -> ReplicateEstimates | None:
    """The replicate estimates of a replicate design's by-group result (R's
    ``return.replicates=TRUE``), columns group-major as the rows and the joint covariance;
    None for a linearisation design. ``groups``: the estimator's ``DomainEstimate``s, made
    with ``keep_reps=True`` (an empty group's columns are NaN)."""
    if not getattr(design, "is_replicate", False):
        return None
    R = design.n_replicates
    cols = [e.reps if e.reps is not None else np.full((R, p), np.nan) for e in groups]
    return ReplicateEstimates(np.column_stack(cols), design.replicate_vcov)
