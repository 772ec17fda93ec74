"""Calibration within first-stage clusters (Särndal's case C; R ``calibrate(..., stage=1)``).

Each first-stage cluster's units are calibrated, linearly, to that cluster's own population
totals: with ``c_i`` the within-cluster weight (the weight divided by the first-stage weight
``1 / pi_1``), ``g_i = 1 + x_i' T_k^{-1} (t_k - sum_k c x) / sigma2_i`` with
``T_k = sum_k c x x' / sigma2`` (R's ``regcalibrate`` at ``stage = 1``). The first-stage
variance is unchanged; the later stages use the scores' residuals from the within-cluster
regressions (R's ``multistage`` applies them before recursing into a cluster), so the
calibration only matters to the variance when the design has later-stage terms (an FPC).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import linalg

from surveykit.errors import WeightingError


@dataclass(eq=False)
class ClusterCalibration:
    """Calibration record of a within-cluster calibration (``stage = 1``); ``residualize``
    replaces scores by their residuals from each cluster's weighted regression (R's
    ``qr.resid(cali$qr[[j]], x / cali$w[[j]]) * cali$w[[j]]``)."""

    columns: list[str]
    g: np.ndarray
    stage: int
    _codes: np.ndarray = field(repr=False)  # row -> cluster code (stage-1 unit)
    _blocks: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = field(repr=False)

    def residualize(self, scores: np.ndarray) -> np.ndarray:
        x = np.asarray(scores, dtype=float)
        one = x.ndim == 1
        if one:
            x = x[:, None]
        out = x.copy()
        for rows, q, w in self._blocks:
            y = x[rows] / w[:, None]
            out[rows] = (y - q @ (q.T @ y)) * w[:, None]
        return out[:, 0] if one else out


def calibrate_within_clusters(des: Any, formula_or_columns: Any, totals: Any,
                              variance: Any) -> Any:
    """The ``stage=1`` branch of :func:`surveykit.weighting.calibrate` (see module docs)."""
    from surveykit.weighting.calibrate import _sigma2, calibration_matrix

    if des.is_replicate:
        raise WeightingError("stage=1 calibration is for linearisation designs (as R)")
    if len(des.stages) < 2:
        raise WeightingError("stage=1 calibration needs a design with two or more stages",
                             file=des.source, hint="SurveyDesign(psu=['cluster', 'unit'], ...)")
    first = des.stages[0]
    frac = np.asarray(first.ratio, dtype=float)[first.cluster_stratum[first.cluster]]
    if not (frac > 0).all():
        raise WeightingError("stage=1 calibration needs the first-stage sampling fractions: "
                             "give the first stage's fpc", file=des.source)
    if not isinstance(totals, Mapping):
        raise WeightingError("stage=1 calibration takes the totals of every first-stage "
                             "cluster: a dict {cluster: totals}", file=des.source)
    psu = des.spec.get("psu")
    psu_col = psu[0] if isinstance(psu, (list, tuple)) else psu
    if not isinstance(psu_col, str):
        raise WeightingError("stage=1 calibration needs the first-stage cluster column")
    first_tot = next(iter(totals.values()))
    names_probe = calibration_matrix(des, formula_or_columns, first_tot)[1]
    x, names, _ = calibration_matrix(des, formula_or_columns, np.zeros(len(names_probe)))
    sigma2 = _sigma2(des, variance, x)
    s2 = np.ones(x.shape[0]) if sigma2 is None else sigma2
    w = np.asarray(des.weights, dtype=float)
    stage_w = 1.0 / frac
    cw = w / stage_w  # within-cluster weights
    labels = des.data[psu_col].to_numpy()
    codes = np.asarray(first.cluster)
    g = np.ones(len(w))
    blocks = []
    given = {str(k): v for k, v in totals.items()}
    present = pd.unique(labels)
    missing = [str(k) for k in present if str(k) not in given]
    extra = sorted(set(given) - {str(k) for k in present})
    if missing or extra:
        raise WeightingError("stage=1 totals must be given for exactly the sampled clusters",
                             file=des.source, column=psu_col,
                             values=[f"missing {m}" for m in missing[:10]]
                             + [f"unknown {e}" for e in extra[:10]])
    for lab in present:
        rows = np.flatnonzero(labels == lab)
        from surveykit.weighting.calibrate import _totals_vector

        pop = _totals_vector(given[str(lab)], names, des.source)
        xi, ci, si = x[rows], cw[rows], s2[rows]
        sample = xi.T @ ci
        keep = ~((pop == 0) & np.all(xi == 0, axis=0))  # R drops all-zero columns
        xi, pop, sample = xi[:, keep], pop[keep], sample[keep]
        a = xi * (np.sqrt(ci) / np.sqrt(si))[:, None]
        try:
            tt = linalg.solve(a.T @ a, pop - sample, assume_a="sym")
        except linalg.LinAlgError as exc:
            raise WeightingError(f"cluster {lab}: the calibration variables are collinear "
                                 "within it", file=des.source, column=psu_col) from exc
        g[rows] = 1.0 + xi @ tt / si
        q = np.linalg.qr(a)[0]
        blocks.append((rows, q, g[rows] * stage_w[rows] * np.sqrt(si) * ci))
    new_w = np.where(des.domain, des.base_weights * g, des.base_weights)
    if (new_w < 0).any():
        raise WeightingError(f"calibration within clusters produced {int((new_w < 0).sum())} "
                             "negative weight(s)", file=des.source)
    cal = ClusterCalibration(columns=names, g=g, stage=1, _codes=codes, _blocks=blocks)
    return des.with_weights(new_w, calibration=cal)
