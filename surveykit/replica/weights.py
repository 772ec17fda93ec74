"""Weights of the synthetic replica: every published cell becomes a calibration constraint.

Two steps:

1. **Feasible targets.** Each replicable registry cell gives an interval (published value ±
   half a unit of the last decimal) for a weighted mean ``sum_i w_i m_i y_i / sum_i w_i m_i``
   (``m`` = domain, ``y`` = indicator of the code or the variable). Multiplying out gives two
   *linear* inequalities in ``w``. A linear programme (HiGHS, via ``scipy.optimize.linprog``)
   finds weights within g-bounds that satisfy all intervals, shrunk towards their centres as far
   as possible, at least L1 distance from the base weights. Cells that constrain each other
   (a yes/no pair, the same number in two tables) are merged so their intervals intersect.
2. **Calibration.** The values those weights reach are then used as exact targets of a logit
   calibration with bounded g-weights (``surveykit.weighting.calibrate``), with constraint
   columns ``m_i (y_i - t)`` (total 0) plus the intercept (total 2,209). Redundant constraints
   are dropped (pivoted QR) so the system has full rank.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import linalg, sparse
from scipy.optimize import linprog

from surveykit.errors import ReplicationError, WeightingError
from surveykit.published import evaluate_domain
from surveykit.replica import spec

#: the calibrated replica weights meet every margin to within this (absolute, in weight units)
MISFIT_BOUND = 1e-9


@dataclass
class Constraint:
    """One interval constraint on a weighted mean (``lo <= mean <= hi``, y in its own units)."""

    name: str
    mask: np.ndarray
    y: np.ndarray
    lo: float
    hi: float
    cells: list[str] = field(default_factory=list)
    kind: str = "cell"  # cell | margin

    def mean(self, w: np.ndarray) -> float:
        """Weighted mean of y over the domain."""
        den = float((w * self.mask).sum())
        return float((w * self.mask * self.y).sum() / den) if den > 0 else float("nan")


def cell_constraints(frame: pd.DataFrame, cells: pd.DataFrame) -> list[Constraint]:
    """Interval constraints for the replicable, consistent registry cells (merged)."""
    out: list[Constraint] = []
    for row in cells.itertuples(index=False):  # loop over cells, not respondents
        if not row.replicable or not row.consistent:
            continue
        x = frame[row.var].to_numpy(dtype=float)
        mask = evaluate_domain(frame, row.domain) & ~np.isnan(x)
        if row.stat == "percent":
            y = np.isin(x, row.code).astype(float)
            scale = 100.0
        else:
            y = np.nan_to_num(x)
            scale = 1.0
        if row.bound == "upper":
            lo, hi = -np.inf, row.value / scale
        elif row.bound == "lower":
            lo, hi = row.value / scale, np.inf
        else:
            lo, hi = (row.value - row.tolerance) / scale, (row.value + row.tolerance) / scale
        lo = max(lo, 0.0) if row.stat == "percent" else lo
        hi = min(hi, 1.0) if row.stat == "percent" else hi
        name = f"{row.table_id}/{row.row_id}/{row.group_id}"
        out.append(Constraint(name, mask, y * mask, lo, hi, [name]))
    return merge(out)


def margin_constraints(frame: pd.DataFrame, margins: dict[str, dict[int, float]],
                       slack: float = 0.01) -> list[Constraint]:
    """Assumed population margins (shares among respondents with a value), ± ``slack``."""
    out = []
    for var, shares in margins.items():
        x = frame[var].to_numpy(dtype=float)
        mask = ~np.isnan(x)
        for code in sorted(shares)[:-1]:  # the last category is implied
            p = shares[code]
            out.append(Constraint(f"margin/{var}/{code}", mask, (x == code) * 1.0,
                                  p - slack, p + slack, [f"margin/{var}/{code}"], "margin"))
    return out


def merge(constraints: list[Constraint]) -> list[Constraint]:
    """Intersect intervals of identical constraints and of complements (``y`` vs ``1 - y``)."""
    kept: list[Constraint] = []
    index: dict[tuple[bytes, bytes], int] = {}
    for c in constraints:
        key = (np.packbits(c.mask).tobytes(), c.y.tobytes())
        comp = (np.packbits(c.mask).tobytes(), ((1.0 - c.y) * c.mask).tobytes())
        if key in index:
            k = kept[index[key]]
            k.lo, k.hi = max(k.lo, c.lo), min(k.hi, c.hi)
            k.cells += c.cells
        elif comp in index and set(np.unique(c.y[c.mask])) <= {0.0, 1.0}:
            k = kept[index[comp]]
            k.lo, k.hi = max(k.lo, 1.0 - c.hi), min(k.hi, 1.0 - c.lo)
            k.cells += c.cells
        else:
            index[key] = len(kept)
            kept.append(Constraint(c.name, c.mask, c.y, c.lo, c.hi, list(c.cells), c.kind))
    bad = [k.cells for k in kept if k.lo > k.hi + 1e-12]
    if bad:
        raise ReplicationError("published cells contradict each other after rounding",
                               values=bad)
    return kept


def feasible_weights(constraints: list[Constraint], d: np.ndarray,
                     bounds: tuple[float, float] = spec.LP_BOUNDS,
                     l1_penalty: float = 0.1, min_margin: float = 0.2,
                     ) -> tuple[np.ndarray, dict[str, float]]:
    """Weights ``w = d g`` with g in ``bounds`` meeting every interval, targets kept inside.

    One linear programme (HiGHS): each interval ``[lo, hi]`` with half-width ``h`` and ``n_j``
    respondents in its domain gets a margin variable ``s_j`` in ``[0, 0.5]`` with
    ``sum_i w_i m_i (y_i - lo) >= s_j h n_j`` and ``sum_i w_i m_i (hi - y_i) >= s_j h n_j``;
    the objective maximises ``sum_j s_j - l1_penalty * sum_i |w_i - d_i|``, so the reached
    values sit well inside their rounding intervals and the weights move little.
    """
    n = len(d)
    m = len(constraints)
    rows, cols, vals, rhs = [], [], [], []
    blocks = []
    r = 0
    for j, c in enumerate(constraints):
        half = (c.hi - c.lo) / 2 if np.isfinite(c.hi - c.lo) else 0.0
        nj = float(c.mask.sum())
        for end in ("lo", "hi"):
            bound = c.lo if end == "lo" else c.hi
            if not np.isfinite(bound):
                continue
            # -(sum w m (y - lo)) + s h n <= 0   /   -(sum w m (hi - y)) + s h n <= 0
            coef = -(c.mask * (c.y - bound)) if end == "lo" else -(c.mask * (bound - c.y))
            blocks.append(coef)
            rows.append(r)
            cols.append(j)
            vals.append(half * nj)
            rhs.append(0.0)
            r += 1
    a_w = sparse.csr_matrix(np.vstack(blocks))
    a_s = sparse.csr_matrix((vals, (rows, cols)), shape=(r, m))
    # variables: u (n), v (n) with w = d + u - v, then s (m)
    a_ub = sparse.hstack([a_w, -a_w, a_s]).tocsr()
    b_ub = np.asarray(rhs) - a_w @ d
    a_eq = sparse.csr_matrix(np.concatenate([np.ones(n), -np.ones(n), np.zeros(m)])[None, :])
    cost = np.concatenate([np.full(2 * n, l1_penalty), -np.ones(m)])
    ub = np.concatenate([d * (bounds[1] - 1), d * (1 - bounds[0]), np.full(m, 0.5)])
    # no margin is asked of zero-width intervals nor of cells whose value no weight can move
    # (e.g. a published 0.00 % where nobody in the domain has the code)
    movable = np.array([c.hi - c.lo > 1e-12 and np.ptp(c.y[c.mask]) > 0 for c in constraints])
    for floor in sorted({min_margin, min_margin / 2, 0.0}, reverse=True):
        lb = np.concatenate([np.zeros(2 * n), np.where(movable, floor, 0.0)])
        res = linprog(cost, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=np.array([0.0]),
                      bounds=np.column_stack([lb, ub]), method="highs")
        if res.status == 0:
            break
    if res.status != 0:
        raise WeightingError(
            f"no weights within the g-bounds reproduce every published cell ({res.message})",
            values=[c.name for c in constraints][:5],
            hint="see surveykit.replica.weights.violations() for the cells in conflict")
    w = d + res.x[:n] - res.x[n:2 * n]
    s = res.x[2 * n:]
    return w, {"margin_floor": float(floor), "margin_min": float(s.min()),
               "margin_median": float(np.median(s))}


def target_values(constraints: list[Constraint], w: np.ndarray) -> np.ndarray:
    """Weighted means reached by ``w`` (the calibration targets)."""
    return np.array([c.mean(w) for c in constraints])


def independent_columns(x: np.ndarray, tol: float = 1e-9) -> np.ndarray:
    """Indices of a maximal set of linearly independent columns (pivoted QR), sorted."""
    norms = np.linalg.norm(x, axis=0)
    xs = x / np.where(norms > 0, norms, 1.0)
    _, r, piv = linalg.qr(xs, mode="economic", pivoting=True)
    diag = np.abs(np.diag(r))
    rank = int((diag > tol * max(diag.max(initial=0.0), 1.0)).sum())
    return np.sort(piv[:rank])


def calibrate_to(frame: pd.DataFrame, constraints: list[Constraint], targets: np.ndarray,
                 d: np.ndarray, bounds: tuple[float, float] = spec.G_BOUNDS,
                 max_iter: int = 200) -> tuple[np.ndarray, dict[str, Any]]:
    """Logit calibration of ``d`` so each constraint's weighted mean equals its target."""
    from surveykit.design import SurveyDesign
    from surveykit.weighting.calibrate import calibrate

    n = len(d)
    cols = np.column_stack([np.ones(n)] + [c.mask * (c.y - t)
                                           for c, t in zip(constraints, targets, strict=True)])
    keep = independent_columns(cols * np.sqrt(d)[:, None])
    if 0 not in keep:
        keep = np.concatenate([[0], keep])
    names = ["intercept"] + [c.name for c in constraints]
    x = pd.DataFrame(cols[:, keep], columns=[names[k] for k in keep])
    totals = np.zeros(len(keep))
    totals[0] = d.sum()
    data = pd.DataFrame({"_d": d})
    design = SurveyDesign(data, weights="_d")
    out = calibrate(design, x, totals, method="logit", bounds=bounds, max_iter=max_iter)
    w = np.asarray(out.base_weights, dtype=float)
    cal = out.calibrations[-1] if getattr(out, "calibrations", None) else None
    report = {
        "method": "logit",
        "bounds": list(bounds),
        "constraints": len(constraints) + 1,
        "independent_constraints": len(keep),
        "iterations": int(getattr(cal, "iterations", -1)) if cal is not None else None,
        # the misfit itself (~1e-11) varies with the BLAS build and thread count, so the
        # sidecar states the bound it meets: the same bytes on every machine
        "max_abs_misfit_below": MISFIT_BOUND,
    }
    misfit = float(np.max(np.abs(x.to_numpy().T @ w - totals)))
    if not misfit < MISFIT_BOUND:
        raise ReplicationError(f"replica calibration missed its margins by {misfit:.3g}")
    return w, report


def diagnostics(w: np.ndarray, d: np.ndarray) -> dict[str, float]:
    """Weight diagnostics: range, CV, Kish design effect and effective sample size."""
    g = w / d
    cv = float(np.std(w) / np.mean(w))
    deff = float(len(w) * np.sum(w**2) / np.sum(w) ** 2)
    return {"n": len(w), "sum": float(w.sum()), "min": float(w.min()), "max": float(w.max()),
            "mean": float(w.mean()), "cv": cv, "deff_kish": deff,
            "n_effective": float(len(w) / deff), "g_min": float(g.min()), "g_max": float(g.max())}


def violations(constraints: list[Constraint], d: np.ndarray,
               bounds: tuple[float, float] = spec.LP_BOUNDS) -> pd.DataFrame:
    """Smallest interval violations any weights within the bounds must accept (diagnostics).

    Solves the LP with a slack on every interval end (in units of the interval's half-width)
    and returns the constraints that need a positive slack, largest first.
    """
    n = len(d)
    a_rows, names, scales = [], [], []
    for c in constraints:
        half = (c.hi - c.lo) / 2 if np.isfinite(c.hi - c.lo) else 0.01
        half = max(half, 1e-4)
        if np.isfinite(c.lo):
            a_rows.append(c.mask * (c.lo - c.y))
            names.append((c.name, "low"))
            scales.append(half)
        if np.isfinite(c.hi):
            a_rows.append(c.mask * (c.y - c.hi))
            names.append((c.name, "high"))
            scales.append(half)
    a = np.vstack(a_rows)
    m = len(a_rows)
    # sum_i w_i a_ji - s_j * half_j * (sum of domain weights ~ n) <= 0
    dom = np.array([max(float(np.abs(r).astype(bool).sum()), 1.0) for r in a_rows])
    a_ub = sparse.hstack([sparse.csr_matrix(a),
                          sparse.diags(-np.asarray(scales) * dom)]).tocsr()
    res = linprog(np.concatenate([np.zeros(n), np.ones(m)]), A_ub=a_ub, b_ub=np.zeros(m),
                  A_eq=np.concatenate([np.ones(n), np.zeros(m)])[None, :], b_eq=[d.sum()],
                  bounds=np.vstack([np.column_stack([d * bounds[0], d * bounds[1]]),
                                    np.column_stack([np.zeros(m), np.full(m, np.inf)])]),
                  method="highs")
    slack = res.x[n:]
    out = pd.DataFrame({"constraint": [x[0] for x in names], "end": [x[1] for x in names],
                        "slack_half_widths": slack})
    return out[out["slack_half_widths"] > 1e-9].sort_values("slack_half_widths",
                                                           ascending=False, kind="stable")
