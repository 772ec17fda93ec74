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
    """
    w = _weights_of(weights_or_design)
    n = w.size
    total = float(w.sum())
    mean = total / n
    sd = float(np.sqrt(np.mean((w - mean) ** 2)))
    wmin, wmax = float(w.min()), float(w.max())
    deff = n * float(np.sum(w * w)) / total**2 if total != 0 else np.nan
    return pd.Series({
        "n": float(n),
        "sum": total,
        "min": wmin,
        "max": wmax,
        "mean": mean,
        "cv": sd / mean if mean != 0 else np.nan,
        "max_min_ratio": wmax / wmin if wmin > 0 else np.inf,
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
