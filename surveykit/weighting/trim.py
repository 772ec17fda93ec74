"""Weight trimming with redistribution (R's ``trimWeights``)."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from surveykit.design import ReplicateDesign, SurveyDesign
from surveykit.errors import WeightingError
from surveykit.weighting._common import as_design, as_number
from surveykit.weighting.replicate import reweighted, trim_columns


def trim_weights(
    w: np.ndarray,
    lower: float | None = None,
    upper: float | None = None,
    redistribute: bool = True,
    max_iter: int = 10,
) -> tuple[np.ndarray, int]:
    """Trim a weight vector to ``[lower, upper]``; returns ``(weights, passes)``.

    Each pass clips the weights outside the bounds and, with ``redistribute``, spreads the
    trimmed amount *equally* over the weights inside the bounds (R's ``trimWeights``), which
    keeps the sum of weights. Passes repeat while redistribution pushes weights out of bounds,
    as R's ``strict=TRUE`` (survey 4.1: every weight inside the bounds, including ones trimmed
    before, shares the excess); ``max_iter=1`` is R's default ``strict=FALSE``. Weights still
    outside after ``max_iter`` passes are left there with a warning; bounds that cannot hold
    (the mean weight outside them, since redistribution keeps the sum) are a WeightingError.
    """
    lo = -np.inf if lower is None else as_number(lower, "lower trimming bound")
    hi = np.inf if upper is None else as_number(upper, "upper trimming bound")
    if not lo < hi:
        raise WeightingError(f"trimming bounds must satisfy lower < upper, got ({lo}, {hi})")
    if max_iter < 1:
        raise WeightingError(f"max_iter must be at least 1, got {max_iter}")
    pw = np.asarray(w, dtype=float).copy()
    if redistribute and pw.size:
        avg = float(pw.mean())
        if not lo <= avg <= hi:
            raise WeightingError(
                f"trimming bounds [{lo:g}, {hi:g}] cannot hold: the mean weight is {avg:.6g}, "
                "and trimming with redistribution keeps the sum of the weights",
                values=[f"sum {pw.sum():.6g} over {pw.size} weights"],
                hint="bounds are absolute weights: choose them around the mean weight, or pass "
                     "redistribute=False to clip without keeping the sum")
    passes = 0
    outside = (pw < lo) | (pw > hi)
    while outside.any() and passes < max_iter:
        passes += 1
        new = np.clip(pw, lo, hi)
        if redistribute:
            inside = ~outside
            if not inside.any():
                raise WeightingError(
                    f"trimming failed: every weight is outside [{lo:g}, {hi:g}], so none can "
                    "take the trimmed amount", values=pw,
                    hint="widen the bounds (the mean weight must lie inside them)")
            new[inside] += float((pw - new).sum()) / inside.sum()
        pw = new
        outside = (pw < lo) | (pw > hi)
    # redistribution converges geometrically: excesses of rounding size are not worth a warning
    slack = 1e-9 * max(1.0, float(np.abs(pw).max(initial=0.0)))
    outside = (pw < lo - slack) | (pw > hi + slack)
    if outside.any():
        warnings.warn(
            f"{int(outside.sum())} weight(s) still outside [{lo:g}, {hi:g}] after {passes} "
            f"trimming pass(es) (largest {pw[outside].max():.6g}); raise max_iter to iterate",
            UserWarning, stacklevel=3)
    return pw, passes


def trim(
    design: Any,
    lower: float | None = None,
    upper: float | None = None,
    redistribute: bool = True,
    max_iter: int = 10,
) -> SurveyDesign | ReplicateDesign:
    """Trim a design's weights to ``[lower, upper]`` (absolute weights), like R's ``trimWeights``.

    The trimmed excess is redistributed equally over the weights inside the bounds (keeping the
    total), iterating up to ``max_iter`` passes (``max_iter=1`` matches R's ``strict=FALSE``,
    larger values ``strict=TRUE``; a warning says if weights remain outside). Earlier calibrations
    stay attached, as in R. Weights outside the domain are left untouched.

    On a :class:`ReplicateDesign` each replicate column is trimmed to the same bounds in the same
    way, among the rows it keeps (zero replicate weights stay zero). This is deliberately not
    R's ``trimWeights.svyrep.design`` (survey 4.1.1-4.5), which leaves the full-sample weights
    untrimmed and lifts zero replicate weights up to ``lower``.

    Parameters
    ----------
    design : SurveyDesign or ReplicateDesign
        The design whose weights are trimmed.
    lower : float, optional
        Smallest weight allowed.
    upper : float, optional
        Largest weight allowed.
    redistribute : bool
        Spread the trimmed excess over the weights inside the bounds (keeps the total).
    max_iter : int
        Passes of trimming and redistribution.

    Returns
    -------
    SurveyDesign or ReplicateDesign

    Raises
    ------
    WeightingError
        Bounds that cannot hold (the mean weight lies outside them).

    Examples
    --------
    >>> design = sk.SurveyDesign(sk.load_replica(), weights="weight")
    >>> trimmed = sk.trim(design, lower=0.3, upper=3)
    >>> round(float(trimmed.weights.max()), 3), round(float(trimmed.weights.sum()), 3)
    (3.0, 2209.0)
    """
    des = as_design(design, what="trim")
    dom = des.domain
    w = des.base_weights
    new_dom, _ = trim_weights(w[dom], lower, upper, redistribute, max_iter)
    new = w.copy()
    new[dom] = new_dom
    if isinstance(des, ReplicateDesign):
        lo = -np.inf if lower is None else float(lower)
        hi = np.inf if upper is None else float(upper)
        reps = trim_columns(des.replicate_weights, lo, hi, redistribute, max_iter, des.source)
        return reweighted(des, new, reps)
    return des.with_weights(new)
