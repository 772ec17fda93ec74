"""Re-weighting the replicate columns of a :class:`~surveykit.design.ReplicateDesign`.

R's ``calibrate``, ``postStratify`` and ``rake`` methods for ``svyrep.design`` apply the weighting
to the full-sample weights and, separately, to every replicate weight column, all to the same
population targets; the replicate variance then reflects the weighting. The functions here do the
replicate part for all columns at once (an n x R matrix ``W``): cell sums are sparse indicator
products, IPF sweeps and Newton steps update every column together, so there is no Python loop
over replicates (only over raking sweeps, Newton steps and row blocks).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import sparse

from surveykit.design import ReplicateDesign
from surveykit.errors import ConvergenceError, WeightingError
from surveykit.weighting._common import safe_divide


def replicate_matrix(des: ReplicateDesign) -> np.ndarray:
    """n x R replicate weights of the current domain (zero outside it)."""
    return des.replicate_weights


def reweighted(des: ReplicateDesign, full: np.ndarray, reps: np.ndarray) -> ReplicateDesign:
    """The design with new full-sample and replicate weights inside its domain (outside: kept)."""
    dom = des.domain
    new_full = np.where(dom, full, des.base_weights)
    new_reps = np.where(dom[:, None], reps, des.repweights)
    return des.with_weights(new_full, replicate_weights=new_reps)


def indicator(codes: np.ndarray, k: int) -> sparse.csr_matrix:
    """k x n sparse 0/1 matrix: row c marks the units with code c."""
    n = codes.size
    return sparse.csr_matrix((np.ones(n), (codes, np.arange(n))), shape=(k, n))


def _replicates_named(cols: np.ndarray) -> list[str]:
    return [f"replicate {int(c) + 1}" for c in cols]


# -- post-stratification --------------------------------------------------------------------------
def poststratify_columns(codes: np.ndarray, labels: list[Any], target: np.ndarray,
                         w: np.ndarray, label: str, source: str | None) -> np.ndarray:
    """Scale every column of ``w`` (n x R) within each cell to the cell's population total."""
    k = len(labels)
    sums = np.asarray(indicator(codes, k) @ w)  # k x R
    empty = (sums <= 0) & (target[:, None] > 0)
    if empty.any():
        cells, cols = np.nonzero(empty)
        shown = [f"{labels[c] if len(labels[c]) > 1 else labels[c][0]} in "
                 f"{_replicates_named([r])[0]}" for c, r in zip(cells, cols, strict=True)]
        raise WeightingError(
            f"{len(np.unique(cols))} replicate(s) have no weight in a post-stratification cell, "
            "so they cannot be post-stratified to its total", file=source, column=label,
            values=shown,
            hint="collapse sparse cells (R would give these replicates missing weights)")
    factor = safe_divide(target[:, None], sums)
    return w * factor[codes]


# -- raking (IPF) ----------------------------------------------------------------------------------
MAX_CELLS_PER_ROW = 4


def ipf_columns(codes: list[np.ndarray], ks: list[int], targets: list[np.ndarray],
                w: np.ndarray, limit: float, max_iter: int, names: list[str],
                levels: list[list[Any]], source: str | None) -> np.ndarray:
    """Rake every column of ``w`` (n x R) to the margins; error naming non-converged replicates.

    Sweeps run on the table of cells of the margins' cross-classification when it is small
    (the raking factors depend on a row only through its cell), else on the rows.
    """
    for c, k, t, name, lev in zip(codes, ks, targets, names, levels, strict=True):
        empty = (np.asarray(indicator(c, k) @ w) <= 0) & (t[:, None] > 0)
        if empty.any():
            cats, cols = np.nonzero(empty)
            raise WeightingError(
                f"{len(np.unique(cols))} replicate(s) have no weight in a category of {name}, "
                "so they cannot be raked to its target", file=source, column=name,
                values=[f"{lev[a]} in {_replicates_named([r])[0]}"
                        for a, r in zip(cats, cols, strict=True)],
                hint="collapse sparse categories (R would leave these replicates unraked)")
    n = w.shape[0]
    n_cells = float(np.prod(ks, dtype=np.float64))
    if len(codes) > 1 and n_cells <= max(MAX_CELLS_PER_ROW * n, 1 << 20):
        cell = np.ravel_multi_index(tuple(codes), ks)
        unit_codes = [np.asarray(c, dtype=np.intp)
                      for c in np.unravel_index(np.arange(int(n_cells)), ks)]
        start = np.asarray(indicator(cell, int(n_cells)) @ w)
    else:
        cell = None
        unit_codes = codes
        start = w
    inds = [indicator(c, k) for c, k in zip(unit_codes, ks, strict=True)]
    u = start.copy()
    worst = np.full(w.shape[1], np.inf)
    for _ in range(max_iter):
        worst[:] = 0.0
        for ind, c, t in zip(inds, unit_codes, targets, strict=True):
            s = np.asarray(ind @ u)
            worst = np.maximum(worst, np.max(np.abs(s - t[:, None]), axis=0))
            u *= safe_divide(t[:, None], s)[c]
        if np.all(worst <= limit):
            break
    else:
        bad = np.flatnonzero(worst > limit)
        raise ConvergenceError(
            f"raking of {bad.size} replicate weight column(s) did not converge in {max_iter} "
            f"iterations (largest deviation {worst.max():.4g}, limit {limit:.3g})",
            file=source, values=_replicates_named(bad),
            hint="raise max_iter or collapse sparse categories of " + ", ".join(names))
    if cell is None:
        return u
    return w * safe_divide(u, start)[cell]


# -- calibration (batched Newton, R's grake per replicate) ----------------------------------------
ROW_BLOCK = 20_000


def _crossprod(x: np.ndarray, v: np.ndarray) -> np.ndarray:
    """R x p x p stack of ``x' diag(v[:, r]) x``, in row blocks (bounded memory)."""
    n, p = x.shape
    out = np.zeros((p * p, v.shape[1]))
    for a in range(0, n, ROW_BLOCK):
        b = min(n, a + ROW_BLOCK)
        xx = (x[a:b, :, None] * x[a:b, None, :]).reshape(b - a, p * p)
        out += xx.T @ v[a:b]
    return out.T.reshape(v.shape[1], p, p)


def _pinv_solve_stack(t: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Minimum-norm solutions of the PSD systems ``t[r] x = b[r]`` (as ``_pinv_solve``)."""
    diag = np.sqrt(np.clip(np.diagonal(t, axis1=1, axis2=2), 0.0, None))
    s = np.where(diag > 0, 1.0 / np.where(diag > 0, diag, 1.0), 0.0)
    ts = t * s[:, :, None] * s[:, None, :]
    vals, vecs = np.linalg.eigh(ts)
    top = np.max(np.abs(vals), axis=1, initial=0.0)
    keep = vals > 256 * np.finfo(float).eps * top[:, None]
    inv = np.where(keep, 1.0 / np.where(keep, vals, 1.0), 0.0)
    proj = np.einsum("rji,rj->ri", vecs, b * s) * inv
    return np.einsum("rij,rj->ri", vecs, proj) * s


def calibrate_columns(x: np.ndarray, w: np.ndarray, population: np.ndarray, fm1: Any, df: Any,
                      max_iter: int, tol: float, names: list[str], method: str,
                      source: str | None) -> np.ndarray:
    """g-weights (n x R) calibrating every column of ``w`` to ``population``.

    The same Newton iteration as :func:`surveykit.weighting.calibrate.solve_calibration` (R's
    ``grake``, started at ``eta = 0`` for each replicate as R does), run on all columns at once;
    a column stops when its relative misfits are all below ``tol``.
    """
    n, p = x.shape
    m = w.shape[1]
    sample_total = x.T @ w  # p x R
    with np.errstate(divide="ignore", invalid="ignore"):
        scales = population[:, None] / sample_total
    finite = np.isfinite(scales).all(axis=0)
    lowest = np.min(np.where(np.isfinite(scales), scales, np.inf), axis=0)
    pre = np.where(finite & (lowest > 20), np.where(finite, scales, 0).mean(axis=0), 1.0)
    ww = w * pre
    eta = np.zeros((p, m))
    g = np.ones((n, m)) + fm1(np.zeros((n, m)))
    deriv = df(np.zeros((n, m)))
    it = np.ones(m, dtype=int)
    active = np.ones(m, dtype=bool)
    while active.any():
        a = np.flatnonzero(active)
        t = _crossprod(x, ww[:, a] * deriv[:, a])
        misfit = population[:, None] - x.T @ (ww[:, a] * g[:, a])
        deta = _pinv_solve_stack(t, misfit.T).T
        eta[:, a] += deta
        xeta = x @ eta[:, a]
        g[:, a] = 1.0 + fm1(xeta)
        deriv[:, a] = df(xeta)
        bad = ~(np.isfinite(g[:, a]).all(axis=0) & np.isfinite(deriv[:, a]).all(axis=0))
        while (bad & (it[a] < max_iter)).any():
            h = bad & (it[a] < max_iter)
            cols = a[h]
            it[cols] += 1
            deta[:, h] /= 2
            eta[:, cols] -= deta[:, h]
            xe = x @ eta[:, cols]
            g[:, cols] = 1.0 + fm1(xe)
            deriv[:, cols] = df(xe)
            bad = ~(np.isfinite(g[:, a]).all(axis=0) & np.isfinite(deriv[:, a]).all(axis=0))
        misfit = population[:, None] - x.T @ (ww[:, a] * g[:, a])
        rel = np.abs(misfit) / (1.0 + np.abs(population))[:, None]
        done = np.all(rel < tol, axis=0)
        active[a[done]] = False
        it[a[~done]] += 1
        failed = ~done & ((it[a] > max_iter) | ~np.isfinite(rel).all(axis=0))
        if failed.any():
            cols = a[failed]
            worst = np.nan_to_num(rel[:, failed], nan=np.inf).max(axis=0)
            raise ConvergenceError(
                f"{method} calibration of {cols.size} replicate weight column(s) did not "
                f"converge in {max_iter} iterations (largest relative misfit "
                f"{worst.max():.3g}, tol {tol:g})", file=source,
                values=[f"{r}: {v:.3g}" for r, v in zip(_replicates_named(cols), worst,
                                                        strict=True)],
                hint="widen the bounds, collapse sparse categories of "
                     f"{', '.join(names[:6])} or raise max_iter")
    return g * pre


# -- trimming -------------------------------------------------------------------------------------
def trim_columns(w: np.ndarray, lo: float, hi: float, redistribute: bool, max_iter: int,
                 source: str | None) -> np.ndarray:
    """Trim every column of ``w`` (n x R) to ``[lo, hi]`` as :func:`trim_weights` does one.

    Only the rows a replicate keeps (positive weight) take part: a zero replicate weight means the
    row is out of that replicate, and it stays zero.
    """
    w = np.asarray(w, dtype=float).copy()
    part = w > 0
    if redistribute:
        count = part.sum(axis=0)
        mean = safe_divide(w.sum(axis=0), count.astype(float))
        infeasible = (count > 0) & ((mean < lo) | (mean > hi))
        if infeasible.any():
            cols = np.flatnonzero(infeasible)
            raise WeightingError(
                f"trimming bounds [{lo:g}, {hi:g}] cannot hold in {cols.size} replicate(s): "
                "their mean weight lies outside the bounds, and trimming keeps the total",
                file=source, values=[f"{r}: mean {mean[c]:.6g}" for r, c in
                                     zip(_replicates_named(cols), cols, strict=True)],
                hint="widen the bounds")
    outside = part & ((w < lo) | (w > hi))
    passes = 0
    while outside.any() and passes < max_iter:
        passes += 1
        new = np.where(part, np.clip(w, lo, hi), 0.0)
        if redistribute:
            inside = part & ~outside
            excess = (w - new).sum(axis=0)
            new += inside * safe_divide(excess, inside.sum(axis=0).astype(float))
        w = new
        outside = part & ((w < lo) | (w > hi))
    return w
