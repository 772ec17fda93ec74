"""Raking (iterative proportional fitting) to marginal totals, as R's ``rake``.

The hot loop works on integer category codes with ``np.bincount``: per margin, weighted counts
per category, one factor per category, one gather-multiply of the weights. Because the factors
depend on a row only through its cell of the margins' cross-classification, the sweeps run on
the table of cell totals whenever that table is small (one gather back to the rows at the end).
With ``bounds`` the
problem is solved instead as bounded raking calibration (Deville–Särndal, R's
``calibrate(..., calfun="raking", bounds=)``) on the margins' indicator variables, which hits
the margins exactly while keeping every ratio new/old weight inside the bounds.

Variance: like R, the calibrated scores are obtained by ten sweeps of post-stratification
residualisation over the margins, using the weights after each margin's step in the final sweep.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from surveykit.design import ReplicateDesign, SurveyDesign
from surveykit.errors import ConvergenceError, WeightingError
from surveykit.weighting._common import (
    as_design,
    as_number,
    margin_codes,
    match_targets,
    safe_divide,
)
from surveykit.weighting.calibrate import (
    GregCalibration,
    _calfun,
    _column_space,
    solve_calibration,
)
from surveykit.weighting.replicate import calibrate_columns, ipf_columns, reweighted

SHARE_TOL = 1e-6
"""Margins whose targets sum to 1 within this are read as shares."""


@dataclass(eq=False)
class Raking:
    """Record of an IPF raking; ``residualize`` is R's ten post-stratification sweeps."""

    margins: list[str]
    codes: list[np.ndarray] = field(repr=False)
    final_weights: np.ndarray = field(repr=False)
    last_factors: list[np.ndarray] = field(repr=False)
    sweeps: int = 10
    _psw: list[np.ndarray] | None = field(default=None, repr=False)

    def step_weights(self) -> list[np.ndarray]:
        """Weights right after each margin's adjustment in the final IPF sweep (R's ``psw``)."""
        if self._psw is None:
            out: list[np.ndarray] = []
            w = self.final_weights.copy()
            for j in range(len(self.codes) - 1, -1, -1):
                out.append(w.copy())
                w = safe_divide(w, self.last_factors[j][self.codes[j]])
            self._psw = out[::-1]
        return self._psw

    def residualize(self, scores: np.ndarray) -> np.ndarray:
        x = np.asarray(scores, dtype=float)
        one = x.ndim == 1
        x = x[:, None].copy() if one else x.copy()
        psw = self.step_weights()
        counts = [np.bincount(c) for c in self.codes]
        for _ in range(self.sweeps):
            for codes, w, cnt in zip(self.codes, psw, counts, strict=True):
                z = safe_divide(x, w[:, None])
                for j in range(x.shape[1]):
                    means = np.bincount(codes, weights=z[:, j], minlength=len(cnt)) / cnt
                    x[:, j] -= w * means[codes]
        return x[:, 0] if one else x


@dataclass(eq=False)
class RakeResult:
    """Result of :func:`rake`.

    weights: the raked weights (n,), zero outside the design's domain.
    design: the design with these weights and the calibration attached (for variances); for a
        :class:`ReplicateDesign`, every replicate column raked to the same margins as well.
    converged, iterations: whether and after how many sweeps (or Newton steps) it converged.
    history: one row per iteration and margin: ``iteration``, ``margin``, ``max_abs_deviation``
        (largest |weighted count - target| over the margin's categories, in weight units,
        measured before that margin's adjustment in the sweep; after each Newton step with bounds).
    targets: the population totals used, one Series per margin (shares already scaled).
    """

    weights: np.ndarray
    design: SurveyDesign | ReplicateDesign
    converged: bool
    iterations: int
    history: pd.DataFrame
    targets: dict[str, pd.Series]


def resolve_margins(
    design: SurveyDesign | ReplicateDesign, margins: Mapping[str, Mapping[Any, float]],
    population: float | None
) -> tuple[list[str], list[np.ndarray], list[list[Any]], list[np.ndarray]]:
    """Codes, levels and target totals of each margin, by one rule:

    - every margin sums to 1 -> shares, scaled to ``population`` or else to the design's
      weighted total;
    - every margin sums to the same total (and equals ``population`` if given) -> counts;
    - anything else -> :class:`WeightingError` naming each margin and its sum (including a
      margin of values all <= 1 that does not sum to 1: shares that do not add up).

    Sums are compared to a relative 1e-6.
    """
    if not isinstance(margins, Mapping) or not margins:
        raise WeightingError("margins must be a non-empty mapping {column: {category: target}}",
                             file=design.source)
    if population is not None:
        population = as_number(population, "population", source=design.source)
        if not (np.isfinite(population) and population > 0):
            raise WeightingError(f"population must be a positive number, got {population!r}",
                                 file=design.source)
    names, codes, levels, targets = [], [], [], []
    for col, spec in margins.items():
        c, lev = margin_codes(design, col)
        t = match_targets(lev, spec, col, design.source)
        names.append(col)
        codes.append(c)
        levels.append(lev)
        targets.append(t)
    sums = np.array([t.sum() for t in targets])
    shown = [f"{n}: {v:.10g}" for n, v in zip(names, sums, strict=True)]
    is_share = np.abs(sums - 1.0) < SHARE_TOL
    share_like = np.array([bool(np.all(t <= 1.0)) for t in targets]) & ~is_share
    if share_like.any():
        raise WeightingError(
            "targets look like shares (every value <= 1) but do not sum to 1",
            file=design.source, values=[v for v, b in zip(shown, share_like, strict=True) if b],
            hint="give shares that sum to 1 for every margin (scaled to population= or the "
                 "weighted sample total), or population counts")
    if is_share.all():
        total = float(population) if population is not None else float(design.weights.sum())
        return names, codes, levels, [t * total for t in targets]
    ref = float(population) if population is not None else float(sums[0])
    off = np.abs(sums - ref) > SHARE_TOL * max(ref, 1.0)
    if off.any():
        if population is not None:
            shown.append(f"population: {population:.10g}")
        what = ("margins mix shares (summing to 1) and counts" if is_share.any()
                else "margins give different population totals")
        raise WeightingError(
            what, file=design.source, values=shown,
            hint="give every margin as counts of the same population, or every margin as "
                 "shares summing to 1 (then scaled to population= or the weighted sample total)")
    return names, codes, levels, targets


def _check_carried(design: SurveyDesign, names: list[str], levels: list[list[Any]],
                   targets: list[np.ndarray], sums: list[np.ndarray]) -> None:
    """Every category with respondents needs a positive target and vice versa."""
    for name, lev, t, s in zip(names, levels, targets, sums, strict=True):
        zero_target = (t == 0) & (s > 0)
        if zero_target.any():
            raise WeightingError(
                "sample categories have a target of zero (their respondents would get weight 0)",
                file=design.source, column=name,
                values=[lev[i] for i in np.flatnonzero(zero_target)],
                hint="recode or drop these respondents explicitly")
        no_weight = (s == 0) & (t > 0)
        if no_weight.any():
            raise WeightingError(
                "target categories have no weighted respondent in the sample (or domain)",
                file=design.source, column=name,
                values=[lev[i] for i in np.flatnonzero(no_weight)])


def rake(
    design_or_frame: Any,
    margins: Mapping[str, Mapping[Any, float]],
    *,
    weights: Any = None,
    tol: float = 1e-8,
    max_iter: int = 100,
    bounds: tuple[float, float] | None = None,
    population: float | None = None,
) -> RakeResult:
    """Rake weights to marginal totals (R's ``rake``), by IPF or, with bounds, bounded raking.

    ``margins`` maps a column to ``{category: population total or share}``. Converged when every
    margin is within ``tol`` x population total of its targets (IPF), or every
    ``|misfit| / (1 + target) < tol`` (bounded). ``weights`` names the weight column when a
    DataFrame is given (default: all 1). Raises :class:`WeightingError` for targets that do not
    fit the sample and :class:`ConvergenceError` when ``max_iter`` is reached.

    Parameters
    ----------
    design_or_frame : SurveyDesign, ReplicateDesign or pandas.DataFrame
        The sample to weight; a DataFrame is weighted from ``weights`` (default: all 1).
    margins : mapping
        ``{column: {category: population total or share}}``; every category present in the data
        needs a target.
    weights : str, optional
        Weight column when ``design_or_frame`` is a DataFrame.
    tol : float
        Convergence tolerance, relative to the population total.
    max_iter : int
        Maximum number of sweeps (or Newton steps with bounds).
    bounds : tuple of float, optional
        ``(lower, upper)`` bounds of the ratio new / starting weight (bounded raking).
    population : float, optional
        Population size that share margins are scaled to (default: the sum of the weights).

    Returns
    -------
    RakeResult
        ``.weights``, ``.design`` (with the calibration attached, for variances), ``.converged``,
        ``.iterations``, ``.history``, ``.targets``.

    Raises
    ------
    WeightingError
        Targets that do not fit the sample (a category without target, margins that disagree).
    ConvergenceError
        ``max_iter`` reached.

    Examples
    --------
    >>> design = sk.SurveyDesign(sk.load_replica(), weights="weight")
    >>> raked = sk.rake(design, {"urban": {0: 0.3, 1: 0.7}})
    >>> sk.mean(raked.design, "urban")["estimate"].round(3).tolist()
    [0.7]
    """
    des = as_design(design_or_frame, weights, what="rake")
    names, codes, levels, targets = resolve_margins(des, margins, population)
    d = des.weights
    ks = [len(lev) for lev in levels]
    cells = _cell_table(codes, ks, d)
    if cells is None:
        sums = [np.bincount(c, weights=d, minlength=k) for c, k in zip(codes, ks, strict=True)]
    else:
        sums = [np.bincount(c, weights=cells[1], minlength=k)
                for c, k in zip(cells[2], ks, strict=True)]
    _check_carried(des, names, levels, targets, sums)
    total = float(targets[0].sum())
    tdict = {n: pd.Series(t, index=pd.Index(lev, name=n), name="target")
             for n, lev, t in zip(names, levels, targets, strict=True)}
    if bounds is not None:
        return _rake_bounded(des, names, codes, levels, targets, d, bounds, tol, max_iter, tdict)

    limit = tol * total
    if cells is None:
        w, last, rows, it, converged = _ipf_loop(codes, ks, targets, d, limit, max_iter, names)
    else:
        cell, start, cell_codes = cells
        u, last, rows, it, converged = _ipf_loop(cell_codes, ks, targets, start, limit,
                                                 max_iter, names)
        # one gather back to the rows: w = d * (raked cell total / starting cell total)
        w = d * safe_divide(u, start)[cell]
    history = pd.DataFrame(rows, columns=["iteration", "margin", "max_abs_deviation"])
    if not converged:
        last_dev = history[history["iteration"] == it]
        raise ConvergenceError(
            f"raking did not converge in {max_iter} iterations (tol {tol:g} x total "
            f"{total:.6g} = {limit:.3g})",
            file=des.source,
            values=[f"{m}: {v:.4g}" for m, v in zip(last_dev["margin"],
                                                     last_dev["max_abs_deviation"], strict=True)],
            hint="raise max_iter, loosen tol, or collapse sparse categories / check that the "
                 "margins are compatible with the sample")
    if isinstance(des, ReplicateDesign):  # R's rake on an svyrep.design: every replicate too
        reps = ipf_columns(codes, ks, targets, des.replicate_weights, limit, max_iter, names,
                           levels, des.source)
        return RakeResult(weights=w, design=reweighted(des, w, reps), converged=True,
                          iterations=it, history=history, targets=tdict)
    rec = Raking(margins=names, codes=codes, final_weights=w, last_factors=last)
    new_w = np.where(des.domain, w, des.base_weights)
    return RakeResult(weights=w, design=des.with_weights(new_w, calibration=rec),
                      converged=True, iterations=it, history=history, targets=tdict)


def _ipf_loop(codes: list[np.ndarray], ks: list[int], targets: list[np.ndarray],
              u: np.ndarray, limit: float, max_iter: int, names: list[str]
              ) -> tuple[np.ndarray, list[np.ndarray], list[tuple[int, str, float]], int, bool]:
    """IPF sweeps over units (rows or cells) with weights ``u`` and per-margin codes."""
    u = u.copy()
    last = [np.ones(k) for k in ks]
    rows: list[tuple[int, str, float]] = []
    it = 0
    while it < max_iter:
        it += 1
        worst = 0.0
        for j in range(len(codes)):
            s = np.bincount(codes[j], weights=u, minlength=ks[j])
            dev = float(np.max(np.abs(s - targets[j])))
            rows.append((it, names[j], dev))
            worst = max(worst, dev)
            f = safe_divide(targets[j], s)
            last[j] = f
            u *= f[codes[j]]
        if worst <= limit:
            return u, last, rows, it, True
    return u, last, rows, it, False


MAX_CELLS_PER_ROW = 4
"""Collapse rows into the cells of the margins' cross-classification when there are at most
this many possible cells per row (or 2**20 in all)."""


def _cell_table(codes: list[np.ndarray], ks: list[int], d: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]] | None:
    """Cells of the margins' cross-classification: (row cell codes, starting weighted cell
    totals, per-margin category of each cell), or None when there are too many cells.

    Raking factors depend on a row only through its cell, so IPF can sweep over the (small)
    table of cell totals instead of every row: the same algorithm and iterates, much faster.
    """
    n_cells = float(np.prod(ks, dtype=np.float64))
    if len(codes) == 1 or n_cells > max(MAX_CELLS_PER_ROW * d.size, 1 << 20):
        return None
    cell = np.ravel_multi_index(tuple(codes), ks)
    start = np.bincount(cell, weights=d, minlength=int(n_cells))
    cell_codes = [np.asarray(c, dtype=np.intp)
                  for c in np.unravel_index(np.arange(int(n_cells)), ks)]
    return cell, start, cell_codes


def _rake_bounded(des: SurveyDesign, names: list[str], codes: list[np.ndarray],
                  levels: list[list[Any]], targets: list[np.ndarray], d: np.ndarray,
                  bounds: tuple[float, float], tol: float, max_iter: int,
                  tdict: dict[str, pd.Series]) -> RakeResult:
    """Bounded raking: raking calibration on the indicator columns of every margin."""
    n = des.n_total
    blocks, labels, owner = [], [], []
    for name, c, lev in zip(names, codes, levels, strict=True):
        ind = np.zeros((n, len(lev)))
        ind[np.arange(n), c] = 1.0
        blocks.append(ind)
        labels += [f"{name}={v}" for v in lev]
        owner += [name] * len(lev)
    x = np.hstack(blocks)
    pop = np.concatenate(targets)
    hist: list[tuple[int, np.ndarray]] = []
    g, iters, misfit, rank = solve_calibration(x, d, pop, method="raking", bounds=bounds,
                                               max_iter=max_iter, tol=tol, names=labels,
                                               history=hist)
    own = np.array(owner)
    rows = [(it, name, float(np.max(np.abs(m[own == name])))) for it, m in hist for name in names]
    history = pd.DataFrame(rows, columns=["iteration", "margin", "max_abs_deviation"])
    w = d * g
    if isinstance(des, ReplicateDesign):
        fm1, dfun = _calfun("raking", float(bounds[0]), float(bounds[1]))
        reps = des.replicate_weights
        greps = calibrate_columns(x, reps, pop, fm1, dfun, max_iter, tol, labels,
                                  "bounded raking", des.source)
        return RakeResult(weights=w, design=reweighted(des, w, reps * greps), converged=True,
                          iterations=iters, history=history, targets=tdict)
    whalf = np.sqrt(d)
    q, _ = _column_space(x * whalf[:, None])
    cal = GregCalibration(columns=labels, population=pop, g=g, method="raking",
                          bounds=(float(bounds[0]), float(bounds[1])), iterations=iters,
                          misfit=misfit, rank=rank, _q=q, _w=g * whalf)
    new_w = np.where(des.domain, w, des.base_weights)
    return RakeResult(weights=w, design=des.with_weights(new_w, calibration=cal),
                      converged=True, iterations=iters, history=history, targets=tdict)
