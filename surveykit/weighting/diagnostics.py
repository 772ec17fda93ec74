"""Weight diagnostics: summary statistics, Kish design effect, before/after margin tables."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from surveykit.design import ReplicateDesign, SurveyDesign
from surveykit.errors import WeightingError
from surveykit.weighting._common import margin_codes, match_targets


def _weights_of(obj: Any) -> np.ndarray:
    if isinstance(obj, (SurveyDesign, ReplicateDesign)):
        return obj.base_weights[obj.domain]
    if hasattr(obj, "design") and isinstance(obj.design, SurveyDesign):  # a RakeResult
        return _weights_of(obj.design)
    w = np.asarray(obj, dtype=float).ravel()
    if w.size == 0 or not np.isfinite(w).all():
        raise WeightingError("weights must be a non-empty vector of finite numbers")
    return w


def weight_summary(weights_or_design: Any) -> pd.Series:
    """Summary of a weight vector (or a design's weights in its domain).

    n, sum, min, max, mean, cv (population standard deviation / mean), max_min_ratio,
    deff_kish = n sum(w^2) / sum(w)^2 (= 1 + cv^2) and n_effective = n / deff_kish.

    Parameters
    ----------
    weights_or_design : array-like, SurveyDesign or ReplicateDesign
        A weight vector, or a design (its weights in its domain).

    Returns
    -------
    pandas.Series
        ``n``, ``sum``, ``min``, ``max``, ``mean``, ``cv``, ``max_min_ratio``, ``deff_kish``,
        ``n_effective``.

    Examples
    --------
    >>> design = sk.SurveyDesign(sk.load_replica(), weights="weight")
    >>> sk.weight_summary(design)[["n", "deff_kish"]].round(3).tolist()
    [2209.0, 1.105]
    """
    w = _weights_of(weights_or_design)
    n = w.size
    wmin, wmax = float(w.min()), float(w.max())
    # cv, deff and ratios are scale-free: compute them on w / max|w| so that weights near the
    # float limit (1e300) give numbers, not OverflowError; only `sum` itself may be inf
    scale = float(np.max(np.abs(w))) or 1.0
    u = w / scale
    u_mean = float(u.mean())
    u_sd = float(np.sqrt(np.mean((u - u_mean) ** 2)))
    with np.errstate(over="ignore"):
        total = float(np.float64(scale) * u.sum())
        ratio = float(np.float64(wmax) / wmin) if wmin > 0 else np.inf
    deff = n * float(np.sum(u * u)) / float(u.sum()) ** 2 if u.sum() != 0 else np.nan
    return pd.Series({
        "n": float(n),
        "sum": total,
        "min": wmin,
        "max": wmax,
        "mean": total / n if np.isfinite(total) else u_mean * scale,
        "cv": u_sd / u_mean if u_mean != 0 else np.nan,
        "max_min_ratio": ratio,
        "deff_kish": deff,
        "n_effective": n / deff if deff else np.nan,
    }, name="weights")


def margin_table(
    design_before: SurveyDesign, design_after: SurveyDesign,
    margins: Mapping[str, Mapping[Any, float]],
) -> pd.DataFrame:
    """Category shares before and after weighting next to the targets.

    Columns: variable, category, n_unweighted, unweighted_share, sample_share (with the
    weights of ``design_before``), weighted_share (``design_after``), target_share and
    difference (weighted_share - target_share). Targets may be totals or shares.

    Parameters
    ----------
    design_before : SurveyDesign
        The design before weighting (its weights give ``sample_share``).
    design_after : SurveyDesign
        The weighted design.
    margins : mapping
        The targets, ``{column: {category: total or share}}``.

    Returns
    -------
    pandas.DataFrame

    Examples
    --------
    >>> design = sk.SurveyDesign(sk.load_replica(), weights="weight")
    >>> targets = {"urban": {0: 0.3, 1: 0.7}}
    >>> table = sk.margin_table(design, sk.rake(design, targets).design, targets)
    >>> table[["target_share", "weighted_share"]].round(3).values.tolist()
    [[0.3, 0.3], [0.7, 0.7]]
    """
    if design_before.n_total != design_after.n_total:
        raise WeightingError(f"designs differ in length ({design_before.n_total} vs "
                             f"{design_after.n_total} rows); compare the same sample")
    frames = []
    for col, spec in margins.items():
        codes, levels = margin_codes(design_before, col)
        t = match_targets(levels, spec, col, design_before.source)
        k = len(levels)
        dom = design_before.domain
        cnt = np.bincount(codes[dom], minlength=k).astype(float)
        wb = np.bincount(codes, weights=design_before.weights, minlength=k)
        wa = np.bincount(codes, weights=design_after.weights, minlength=k)
        frames.append(pd.DataFrame({
            "variable": col,
            "category": levels,
            "n_unweighted": cnt.astype(int),
            "unweighted_share": cnt / cnt.sum(),
            "sample_share": wb / wb.sum(),
            "weighted_share": wa / wa.sum(),
            "target_share": t / t.sum(),
        }))
    out = pd.concat(frames, ignore_index=True)
    out["difference"] = out["weighted_share"] - out["target_share"]
    return out
