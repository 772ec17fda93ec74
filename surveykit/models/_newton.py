"""The one Newton-Raphson driver of the maximum-likelihood models (ordinal, multinom, negbin,
and the list-experiment ML fits to come).

Each model passes in its specifics: how to evaluate the likelihood pieces at a point
(``evaluate``: any state object, from which ``loglik`` reads the log-likelihood), the gradient
and Hessian from those pieces (``grad_hess``), and optionally a feasibility check of a trial
point (ordinal: increasing thresholds), the fallback when the Hessian is singular or the Newton
direction is not an ascent direction, and a boundary at which to stop (negbin: alpha -> 0).

The rule, shared by all: a Newton step, halved until the log-likelihood does not decrease (to
``1e-12`` relative) at a feasible point; stop when a step (a full, unhalved one with
``full_step_only``) moves no estimate by more than ``tol * (1 + max |theta|)``; the gradient and
Hessian returned are those at the final estimates.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass
class NewtonResult:
    """Estimates, Hessian and likelihood state at them, iterations, convergence, |gradient|."""

    theta: np.ndarray
    hessian: np.ndarray
    state: Any
    iterations: int
    converged: bool
    gnorm: float


def newton(evaluate: Callable[[np.ndarray], Any],
           grad_hess: Callable[[np.ndarray, Any], tuple[np.ndarray, np.ndarray]],
           theta: np.ndarray, *, loglik: Callable[[Any], float] = float,
           tol: float = 1e-10, maxit: int = 100, halvings: int = 40,
           full_step_only: bool = False,
           feasible: Callable[[np.ndarray], bool] | None = None,
           singular: str = "stop", ascent_fallback: bool = False,
           boundary: Callable[[np.ndarray], bool] | None = None) -> NewtonResult:
    """Maximise a log-likelihood by Newton-Raphson with step halving, from ``theta``.

    Parameters
    ----------
    evaluate: the likelihood pieces at a point (one evaluation per trial point serves the line
        search and, when accepted, the next gradient and Hessian).
    grad_hess: gradient and Hessian at a point from its pieces.
    loglik: the log-likelihood from the pieces (default: the pieces are the number).
    tol, maxit, halvings: convergence tolerance (relative step size), iteration and
        step-halving limits.
    full_step_only: converge only on a full (unhalved) Newton step (quadratic convergence makes
        the error after it of order tol**2).
    feasible: trial points failing it are halved without evaluation.
    singular: on a singular Hessian, "stop" (not converged) or "gradient" (a scaled gradient
        step).
    ascent_fallback: replace a Newton direction that does not ascend (Hessian not negative
        definite) by the scaled gradient.
    boundary: after an accepted step, stop (not converged) when it holds (an MLE on the
        boundary of the parameter space).
    """
    state = evaluate(theta)
    ll = loglik(state)
    gnorm = np.inf
    H = np.full((len(theta), len(theta)), np.nan)
    for it in range(1, maxit + 1):
        grad, H = grad_hess(theta, state)
        gnorm = float(np.linalg.norm(grad))
        try:
            step = -np.linalg.solve(H, grad)
        except np.linalg.LinAlgError:
            if singular != "gradient":
                return NewtonResult(theta, H, state, it, False, gnorm)
            step = grad / max(np.abs(np.diag(H)).max(), 1.0)
        if ascent_fallback and grad @ step <= 0:
            step = grad / max(np.abs(np.diag(H)).max(), 1.0)
        t = 1.0
        for _ in range(halvings):
            new = theta + t * step
            if feasible is None or feasible(new):
                state_new = evaluate(new)
                ll_new = loglik(state_new)
                if np.isfinite(ll_new) and ll_new >= ll - 1e-12 * abs(ll):
                    break
            t /= 2
        else:
            return NewtonResult(theta, H, state, it, False, gnorm)
        size = np.max(np.abs(new - theta))
        theta, state, ll = new, state_new, ll_new
        if (t == 1.0 or not full_step_only) and size <= tol * (1 + np.max(np.abs(theta))):
            grad, H = grad_hess(theta, state)
            return NewtonResult(theta, H, state, it, True, float(np.linalg.norm(grad)))
        if boundary is not None and boundary(theta):
            grad, H = grad_hess(theta, state)
            return NewtonResult(theta, H, state, it, False, float(np.linalg.norm(grad)))
    return NewtonResult(theta, H, state, maxit, False, gnorm)
