"""Replication variance: R's ``svrVar`` and the replicate design's degrees of freedom.

An estimator re-estimates its statistic with every replicate weight column at once
(vectorised: ``W.T @ y``, or a model refitted per column), and the covariance is
``scale * sum_r rscales_r (theta_r - centre)(theta_r - centre)'``, ``centre`` the mean of the
replicates that carry weight (R's default) or the full-sample estimate (``mse=True``).

The functions read a replicate design through its documented attributes (``base_weights``,
``repweights``, ``scale``, ``rscales``, ``mse``, ``degf``); this module imports nothing of
:mod:`surveykit.design`.
"""

from __future__ import annotations

import sys
import warnings
from itertools import pairwise
from typing import Any

import numpy as np

#: rows x replicates above which replicate products run in row blocks (memory, progress bar)
_BLOCK_CELLS = 20_000_000


def svr_var(design: Any, theta: np.ndarray, theta_reps: np.ndarray) -> np.ndarray:
    """Covariance from full-sample estimates ``theta`` (p,) and replicates (R, p), as R's
    ``svrVar``: replicates with a non-finite estimate are discarded with a RuntimeWarning."""
    th = np.atleast_1d(np.asarray(theta, dtype=float))
    reps = np.asarray(theta_reps, dtype=float).reshape(design.repweights.shape[1], -1)
    rscales = design.rscales
    finite = np.isfinite(reps).all(axis=1)
    if not finite.all():
        warnings.warn(f"{int((~finite).sum())} replicates gave non-finite estimates and "
                      "were discarded", RuntimeWarning, stacklevel=3)
        reps, rscales = reps[finite], rscales[finite]
    centre = th if design.mse else reps[rscales > 0].mean(axis=0)
    d = (reps - centre) * np.sqrt(rscales)[:, None]
    return design.scale * (d.T @ d)


def replicate_cov(design: Any, theta: np.ndarray, reps: np.ndarray) -> np.ndarray:
    """:func:`svr_var` for estimators' domains: replicates that gave NaN (a domain empty in the
    replicate) are discarded with a UserWarning, and NaN when every replicate did."""
    bad = ~np.isfinite(reps).all(axis=1)
    if not bad.any():
        return svr_var(design, theta, reps)
    if bad.all():
        return np.full((reps.shape[1], reps.shape[1]), np.nan)
    warnings.warn(f"{int(bad.sum())} replicate(s) gave undefined estimates (empty domain in the "
                  "replicate) and were discarded", UserWarning, stacklevel=3)
    ok = ~bad
    rs = design.rscales[ok]
    centre = theta if design.mse else reps[ok][rs > 0].mean(axis=0)
    d = (reps[ok] - centre) * np.sqrt(rs)[:, None]
    return design.scale * (d.T @ d)


def progress_bar(total: int, progress: bool | None, desc: str, long: bool = True) -> Any:
    """A tqdm bar when asked (True), or for long jobs when stderr is a terminal (None)."""
    show = (long and sys.stderr.isatty()) if progress is None else progress
    if not show:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, file=sys.stderr, leave=False)


def replicate_totals(design: Any, y: Any, progress: bool | None = None
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Full-sample and replicate totals of the columns of ``y`` (n x C, sparse or dense).

    Returns (C,) and (R, C). One product ``y' W`` over all replicates at once, in row blocks
    when n x R is large (to bound temporaries and show progress).
    """
    w = design.base_weights
    rep = design.repweights
    n, n_rep = rep.shape
    full = np.asarray(y.T @ w).ravel()
    step = max(1, _BLOCK_CELLS // max(n_rep, 1))
    bounds = [*range(0, n, step), n]
    bar = progress_bar(n, progress, "replicates", long=len(bounds) > 2)
    out = np.zeros((y.shape[1], n_rep))
    for a, b in pairwise(bounds):
        out += np.asarray(y[a:b].T @ rep[a:b])
        if bar is not None:
            bar.update(b - a)
    if bar is not None:
        bar.close()
    return full, out.T


def column_rank(mat: np.ndarray, tol: float = 1e-5) -> int:
    """Rank as R's ``qr(x, tol)$rank`` (LINPACK dqrdc2): a column is dependent when its norm
    after removing the earlier independent columns is below ``tol`` times its original norm.

    Modified Gram–Schmidt, applied twice, with elementwise numpy only: these matrices are small
    (about 2R x R) and multi-threaded LAPACK on small matrices thrashes on busy machines.
    """
    x = np.asarray(mat, dtype=float)
    basis = np.empty((x.shape[1], x.shape[0]))
    k = 0
    for j in range(x.shape[1]):
        v = x[:, j].copy()
        norm0 = np.sqrt((v * v).sum())
        if norm0 == 0:
            continue
        for _ in range(2):
            if k:
                q = basis[:k]
                v -= ((q * v).sum(axis=1)[:, None] * q).sum(axis=0)
        norm = np.sqrt((v * v).sum())
        if norm >= tol * norm0:
            basis[k] = v / norm
            k += 1
    return k


def replicate_df(design: Any, mask: np.ndarray) -> int:
    """R's ``degf`` of the replicate design restricted to the rows in ``mask``.

    R recomputes ``qr(weights, tol=1e-5)$rank - 1`` on the subset; the rank is at most R, so a
    subsample of rows that already has full rank gives the exact answer cheaply.
    """
    if design.degf is not None:
        return int(design.degf)
    rows = np.flatnonzero(mask)
    n_rep = design.repweights.shape[1]
    if rows.size == 0:
        return 0
    k = 2 * n_rep + 10
    if rows.size > k:
        sub = rows[np.linspace(0, rows.size - 1, k).astype(np.intp)]
        if column_rank(design.repweights[sub]) == n_rep:
            return n_rep - 1
        gram = design.repweights[rows].T @ design.repweights[rows]
        ev = np.linalg.eigvalsh(gram)
        return int((ev > 1e-10 * ev.max()).sum()) - 1
    return column_rank(design.repweights[rows]) - 1
