"""Design covariance of model estimates: linearisation of the influence functions, or refits
on the replicate weights (warm-started), for every model family."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import numpy as np

from surveykit.errors import ConvergenceError
from surveykit.inference import ReplicateEstimates
from surveykit.variance import Statistic, estimate

#: fit(weights) -> (estimates, converged, last gradient norm)
Refit = Callable[[np.ndarray], tuple[np.ndarray, bool, float]]


def refit_replicates(reps: np.ndarray, n_params: int, fit: Refit, outcome: str) -> np.ndarray:
    """Estimates refitted with each column of ``reps`` (R x p); a replicate with no positive
    weight gives NaN (dropped by the variance, as R does). The loop is over replicates, not
    respondents; a tqdm bar shows on a terminal from 50 replicates on."""
    n_rep = reps.shape[1]
    out = np.full((n_rep, n_params), np.nan)
    iterator: Any = range(n_rep)
    if n_rep >= 50 and sys.stderr.isatty():
        from tqdm import tqdm

        iterator = tqdm(iterator, desc="replicates", leave=False)
    for r in iterator:
        wr = reps[:, r]
        if not np.any(wr > 0):
            continue
        est, ok, gnorm = fit(wr)
        if not ok:
            raise ConvergenceError(f"replicate {r + 1} fit did not converge (last gradient "
                                   f"norm {gnorm:.3g})", column=outcome)
        out[r] = est
    return out


def model_vcov(design: Any, frame: Any, theta: np.ndarray, influence: Callable[[], np.ndarray],
               fit: Refit) -> tuple[np.ndarray, ReplicateEstimates | None]:
    """The design covariance of a model's estimates ``theta``, from the variance engine, and
    on a replicate design the refitted estimates behind it (else None).

    The model's statistic: ``influence()`` gives the n_used x p influence functions (scores
    times the inverse information), embedded in the full sample for linearisation (R's
    ``svyrecvar``); ``fit`` refits the model on each replicate's weights (rows of the model
    frame) for replicate designs (R's ``svrVar``). The replicate estimates (R x p, R's
    ``svyglm(..., return.replicates=TRUE)``) come with the design's replicate covariance, so
    :func:`surveykit.inference.contrast` evaluates a nonlinear function on every replicate.
    """
    stat = Statistic(
        estimate=theta,
        scores=lambda: frame.embed(influence(), design.n_total),
        reestimate=lambda weights: refit_replicates(weights[frame.rows], len(theta), fit,
                                                    frame.lhs))
    res = estimate(design, stat, keep_reps=True)
    reps = None if res.replicates is None else ReplicateEstimates(res.replicates,
                                                                  design.replicate_vcov)
    return res.vcov, reps
