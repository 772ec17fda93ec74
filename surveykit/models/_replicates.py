"""Design covariance of model estimates: linearisation of the influence functions, or refits
on the replicate weights (warm-started), for every model family."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import numpy as np

from surveykit.errors import ConvergenceError
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
               fit: Refit) -> np.ndarray:
    """The design covariance of a model's estimates ``theta``, from the variance engine.

    The model's statistic: ``influence()`` gives the n_used x p influence functions (scores
    times the inverse information), embedded in the full sample for linearisation (R's
    ``svyrecvar``); ``fit`` refits the model on each replicate's weights (rows of the model
    frame) for replicate designs (R's ``svrVar``).
    """
    stat = Statistic(
        estimate=theta,
        scores=lambda: frame.embed(influence(), design.n_total),
        reestimate=lambda weights: refit_replicates(weights[frame.rows], len(theta), fit,
                                                    frame.lhs))
    return estimate(design, stat).vcov
