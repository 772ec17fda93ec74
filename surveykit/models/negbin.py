"""Survey-weighted negative binomial (NB2) regression.

Model: ``y ~ NB(mu, alpha)`` with ``log mu = x'beta`` and ``Var(y) = mu + alpha mu^2``.

Method (R's ``survey`` has no negative binomial; this follows the same pseudo-ML recipe as
``svyglm``): beta and ``log(alpha)`` are estimated **jointly** by maximising the
design-weighted NB2 log-likelihood with Newton-Raphson (analytic gradient and Hessian, step
halving), starting from the weighted Poisson fit. The point estimates equal
``MASS::glm.nb(..., weights = w)`` (scale of the weights is irrelevant). The covariance is the
linearisation sandwich of the joint estimating equations, ``design.vcov(S H^{-1})`` with ``S``
the n x (p+1) weighted scores and ``H`` the observed information; ``result.vcov`` is its beta
block, ``result.extra`` holds ``log_alpha``, ``alpha`` and their SEs and the full covariance.
Replicate designs refit the joint model with every replicate's weights.
Residual df = design df + 1 - p, as ``svyglm``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from surveykit.errors import ConvergenceError, ModelError
from surveykit.mi.dispatch import mi_aware
from surveykit.models._design_matrix import build_frame, check_rank
from surveykit.models._newton import newton
from surveykit.models._replicates import model_vcov
from surveykit.models.glm import LINKS, irls
from surveykit.models.results import ModelResult


def _parts(theta: np.ndarray, X: np.ndarray, y: np.ndarray, w: np.ndarray
           ) -> tuple[float, np.ndarray, np.ndarray]:
    """Weighted log-likelihood, n x (p+1) weighted scores and the Hessian in (beta, log alpha)."""
    p = X.shape[1]
    eta = X @ theta[:p]
    mu = np.exp(np.minimum(eta, 700))
    th = np.exp(-theta[p])  # theta = 1 / alpha
    tm = th + mu
    ll = float(w @ (special.gammaln(y + th) - special.gammaln(th) - special.gammaln(y + 1)
                    + th * np.log(th / tm) + special.xlogy(y, mu / tm)))
    d_eta = (y - mu) * th / tm
    A = special.digamma(y + th) - special.digamma(th) + np.log(th / tm) + 1 - (y + th) / tm
    s_logth = th * A
    scores = np.column_stack([X * d_eta[:, None], -s_logth]) * w[:, None]
    h_ee = -th * mu * (th + y) / tm**2
    h_ea = -th * (y - mu) * mu / tm**2
    dA = (special.polygamma(1, y + th) - special.polygamma(1, th) + 1 / th - 1 / tm
          - (mu - y) / tm**2)
    h_aa = s_logth + th**2 * dA
    H = np.empty((p + 1, p + 1))
    H[:p, :p] = X.T @ (X * (w * h_ee)[:, None])
    H[:p, p] = H[p, :p] = X.T @ (w * h_ea)
    H[p, p] = float(w @ h_aa)
    return ll, scores, H


def _newton(X: np.ndarray, y: np.ndarray, w: np.ndarray, theta: np.ndarray, *,
            tol: float = 1e-10, maxit: int = 200
            ) -> tuple[np.ndarray, np.ndarray, int, bool, float]:
    """Newton-Raphson with step halving (the shared driver
    :func:`surveykit.models._newton.newton`): a non-ascending Newton direction falls back to
    the gradient; alpha -> 0 (log alpha < -25) is the boundary (no overdispersion)."""
    res = newton(lambda th: _parts(th, X, y, w), lambda th, st: (st[1].sum(axis=0), st[2]),
                 theta, loglik=lambda st: st[0], tol=tol, maxit=maxit, halvings=50,
                 ascent_fallback=True, boundary=lambda th: bool(th[-1] < -25))
    return res.theta, res.hessian, res.iterations, res.converged, res.gnorm


@mi_aware
def negbin(design: Any, formula: str) -> ModelResult:
    """Fit a survey-weighted NB2 regression (log link); see the module docstring for the method.

    ``result.params`` are the log-rate coefficients (IRRs with ``tidy(exponentiate=True)``);
    ``result.extra["alpha"]`` is the dispersion (Var = mu + alpha mu^2).

    Parameters
    ----------
    design : SurveyDesign, ReplicateDesign or MIDesign
        The survey design (a domain: ``design.subset(...)``).
    formula : str
        Model formula ``"outcome ~ terms"`` (``C(x)`` for a factor).

    Returns
    -------
    ModelResult
        Log-rate coefficients; ``extra["alpha"]`` the dispersion.

    Examples
    --------
    >>> df = sk.load_replica()
    >>> design = sk.SurveyDesign(df, weights="weight")
    >>> model = sk.negbin(design, "bc_index ~ age")
    >>> model.params.round(3).tolist()
    [1.315, -0.002]
    """
    frame = build_frame(design, formula)
    y = pd.to_numeric(frame.y, errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(y) | (y < 0) | (y != np.round(y))
    if bad.any():
        raise ModelError("negative binomial outcome must be non-negative integer counts",
                         column=frame.lhs, values=frame.y[bad])
    w = np.asarray(design.weights, dtype=float)[frame.rows]
    X = frame.X
    check_rank(X, w, frame.columns, source=design.source)
    beta0, *_ = irls(X, y, w, "poisson", LINKS["log"])
    mu0 = np.exp(X @ beta0)
    alpha0 = max(float(w @ ((y - mu0) ** 2 - mu0) / (w @ mu0**2)), 0.05)
    theta, H, it, ok, gnorm = _newton(X, y, w, np.concatenate([beta0, [np.log(alpha0)]]))
    if not ok or theta[-1] < -13:  # alpha < 2e-6: the maximum is on the boundary alpha = 0
        hint = ("alpha is heading to 0 (no overdispersion): use glm(family='poisson')"
                if theta[-1] < -13 else "check for extreme weights or separation")
        raise ConvergenceError(f"negative binomial fit did not converge to an interior maximum in "
                               f"{it} iterations (last gradient norm {gnorm:.3g}, "
                               f"log(alpha) = {theta[-1]:.3g})", column=frame.lhs, hint=hint)
    p = X.shape[1]
    info_inv = np.linalg.inv(-H)
    names = [*frame.columns, "log(alpha)"]

    def fit(wr: np.ndarray) -> tuple[np.ndarray, bool, float]:
        th_r, _, _, ok_r, g_r = _newton(X, y, wr, theta.copy())
        return th_r, ok_r, g_r

    V, reps = model_vcov(design, frame, theta, lambda: _parts(theta, X, y, w)[1] @ info_inv,
                         fit)
    full = pd.DataFrame(V, index=names, columns=names)
    la, la_se = float(theta[p]), float(np.sqrt(V[p, p]))
    return ModelResult(
        model="negbin", family="negbin", link="log", frame=frame, design=design,
        params=pd.Series(theta[:p], index=frame.columns, name="estimate"),
        vcov=full.iloc[:p, :p].copy(), df_resid=design.subset(frame.used).df + 1 - p,
        iterations=it,
        naive_vcov=info_inv,
        replicates=None if reps is None else reps.columns(range(p)),  # params: without alpha
        extra={"log_alpha": la, "log_alpha_se": la_se, "alpha": float(np.exp(la)),
               "alpha_se": float(np.exp(la) * la_se), "full_vcov": full,
               "full_replicates": reps},
    )
