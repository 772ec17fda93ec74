"""Imai's (2011) regressions for the standard list experiment (R ``list::ictreg``).

Notation: ``y`` the item count, ``t`` 1 for the list with the sensitive item, ``J`` the number
of control items, ``X`` the covariates (first column the intercept). Sensitive item:
``g(x) = logistic(x'delta)`` (``lm``: ``x'delta``); control items: ``h(x) = logistic(x'gamma)``
per item (``lm``: ``x'gamma`` for the count).

- ``lm``: ``y = x'gamma + t x'delta`` by weighted least squares (R ``method="lm"``);
- ``nls``: two-step non-linear least squares: ``y/J = h(x)`` in the control arm, then
  ``y - J h(x) = g(x)`` in the treated arm (R ``method="nls"``);
- ``ml``: the constrained binomial-mixture likelihood (R ``method="ml"``, ``constrained=TRUE``):
  control ``y ~ Bin(J, h)``, treated ``y = Z + Bin(J, h)`` with ``Z ~ Bernoulli(g)``, maximised
  by EM steps followed by Newton-Raphson with the analytic observed information (Louis).

Each fit returns its estimates with the weighted estimating-function contributions and their
Jacobian (for the design's variance) and R's model-based covariance. Parameters are ordered
sensitive (``delta``) then control (``gamma``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import special
from scipy.optimize import least_squares

from surveykit.errors import ConvergenceError, EstimationError
from surveykit.models.multinom import _newton as newton


@dataclass
class ListFit:
    """Estimates (delta then gamma), per-row estimating-function contributions ``psi`` (n x p,
    weighted, zero outside the rows), their summed Jacobian ``A`` (the influence is
    ``-psi A^{-T}``), R's model-based covariance, and the fit's iterations."""

    theta: np.ndarray
    psi: np.ndarray
    A: np.ndarray
    model_vcov: np.ndarray
    iterations: int = 0


def _logistic(e: np.ndarray) -> np.ndarray:
    return special.expit(e)


# ---- lm ---------------------------------------------------------------------------------------
def fit_lm(y: np.ndarray, t: np.ndarray, X: np.ndarray, w: np.ndarray) -> ListFit:
    """Weighted least squares of ``y`` on ``[t X, X]``; model covariance = sandwich's
    ``vcovHC`` (HC3) of the weighted ``lm``, as R ``ictreg(method="lm")``."""
    Z = np.column_stack([X * t[:, None], X])
    A = Z.T @ (Z * w[:, None])
    b = np.linalg.solve(A, Z.T @ (w * y))
    e = y - Z @ b
    psi = Z * (w * e)[:, None]
    Ainv = np.linalg.inv(A)
    h = w * np.einsum("ij,jk,ik->i", Z, Ainv, Z)
    om = (w * e) ** 2 / (1 - h) ** 2
    V = Ainv @ (Z.T @ (Z * om[:, None])) @ Ainv
    return ListFit(b, psi, -A, V)


# ---- nls --------------------------------------------------------------------------------------
def _nls(resid_jac: Any, start: np.ndarray) -> np.ndarray:
    sol = least_squares(resid_jac[0], start, jac=resid_jac[1], method="lm", xtol=1e-15,
                        ftol=1e-15, gtol=1e-15, max_nfev=10_000)
    if not sol.success:
        raise ConvergenceError(f"non-linear least squares did not converge ({sol.message})")
    return sol.x


def fit_nls(y: np.ndarray, t: np.ndarray, X: np.ndarray, w: np.ndarray, J: int) -> ListFit:
    """Two-step NLS (R ``ictreg(method="nls")``) with its estimating functions; model
    covariance = R's ``vcov.twostep.std`` (which ignores the weights)."""
    c, tr = t == 0, t == 1
    sw = np.sqrt(w)
    X0, X1 = X[c], X[tr]
    share = np.clip(np.average(y[c], weights=w[c]) / J, 0.01, 0.99)
    g0 = np.zeros(X.shape[1])
    g0[0] = special.logit(share)

    def r0(gam: np.ndarray) -> np.ndarray:
        return sw[c] * (y[c] / J - _logistic(X0 @ gam))

    def j0(gam: np.ndarray) -> np.ndarray:
        h = _logistic(X0 @ gam)
        return -(sw[c] * h * (1 - h))[:, None] * X0

    gamma = _nls((r0, j0), g0)
    ystar = y[tr] - J * _logistic(X1 @ gamma)
    d0 = np.zeros(X.shape[1])
    d0[0] = special.logit(np.clip(np.average(ystar, weights=w[tr]), 0.01, 0.99))

    def r1(dl: np.ndarray) -> np.ndarray:
        return sw[tr] * (ystar - _logistic(X1 @ dl))

    def j1(dl: np.ndarray) -> np.ndarray:
        g = _logistic(X1 @ dl)
        return -(sw[tr] * g * (1 - g))[:, None] * X1

    delta = _nls((r1, j1), d0)
    big = max(np.max(np.abs(delta)), np.max(np.abs(gamma)))
    if big > 30:
        raise ConvergenceError(f"the non-linear least squares fit diverges (largest |coefficient| "
                               f"{big:.3g}): the sensitive item's prevalence is near 0 or 1 in "
                               "some covariate pattern", hint="use fewer covariates or method='ml'")
    h, g = _logistic(X @ gamma), _logistic(X @ delta)
    dh, dg = h * (1 - h), g * (1 - g)
    r = y - J * h
    psi_d = (w * t * (r - g) * dg)[:, None] * X
    psi_g = (w * (1 - t) * (y / J - h) * dh)[:, None] * X
    Add = X.T @ (X * (w * t * (-dg ** 2 + (r - g) * dg * (1 - 2 * g)))[:, None])
    Adg = X.T @ (X * (w * t * (-J * dh * dg))[:, None])
    Agg = X.T @ (X * (w * (1 - t) * (-dh ** 2 + (y / J - h) * dh * (1 - 2 * h)))[:, None])
    p = X.shape[1]
    A = np.block([[Add, Adg], [np.zeros((p, p)), Agg]])
    return ListFit(np.concatenate([delta, gamma]), np.column_stack([psi_d, psi_g]), A,
                   _twostep_vcov(y, t, X, J, delta, gamma))


def _twostep_vcov(y: np.ndarray, t: np.ndarray, X: np.ndarray, J: int, delta: np.ndarray,
                  gamma: np.ndarray) -> np.ndarray:
    """R list's ``vcov.twostep.std`` (unweighted; Gauss-Newton derivatives)."""
    n = len(y)
    c, tr = t == 0, t == 1
    x1, x0 = X[tr], X[c]
    g1, h1, h0 = _logistic(x1 @ delta), _logistic(x1 @ gamma), _logistic(x0 @ gamma)
    m1 = ((y[tr] - J * h1 - g1) * g1 * (1 - g1))[:, None] * x1
    m0 = ((y[c] - J * h0) * J * h0 * (1 - h0))[:, None] * x0
    p = X.shape[1]
    F = np.zeros((2 * p, 2 * p))
    F[:p, :p], F[p:, p:] = m1.T @ m1 / n, m0.T @ m0 / n
    a = (g1 * (1 - g1))[:, None] * x1
    G1 = -a.T @ a / n
    b = np.sqrt(J * g1 * (1 - g1) * h1 * (1 - h1))[:, None] * x1
    G2 = -b.T @ b / n
    cc = (J * h0 * (1 - h0))[:, None] * x0
    G3 = -cc.T @ cc / n
    try:
        iG1, iG3 = np.linalg.inv(G1), np.linalg.inv(G3)
    except np.linalg.LinAlgError as exc:
        raise EstimationError("the two-step NLS covariance is singular (R's vcov.twostep.std "
                              "fails on these data too)", hint="use se='design'") from exc
    invG = np.block([[iG1, -iG1 @ G2 @ iG3], [np.zeros((p, p)), iG3]])
    return invG @ F @ invG.T / n


# ---- ml ---------------------------------------------------------------------------------------
class ListLikelihood:
    """The constrained binomial-mixture log-likelihood of the standard list experiment in
    ``theta = (delta, gamma)``, with analytic gradient and observed information (Louis)."""

    def __init__(self, y: np.ndarray, t: np.ndarray, X: np.ndarray, J: int) -> None:
        self.y, self.t, self.X, self.J = y, t.astype(bool), X, J
        self.p = X.shape[1]
        ks = np.arange(J + 1)
        self.lchoose = (special.gammaln(J + 1) - special.gammaln(ks + 1)
                        - special.gammaln(J - ks + 1))
        self.k1 = np.clip(y - 1, 0, J).astype(int)  # count of control items if Z = 1
        self.k0 = np.clip(y, 0, J).astype(int)      # ... if Z = 0
        self.top = self.t & (y == J + 1)
        self.bottom = self.t & (y == 0)
        self.mixed = self.t & ~self.top & ~self.bottom

    def _parts(self, theta: np.ndarray) -> tuple[np.ndarray, ...]:
        """Per-row log-likelihood, posterior P(Z = 1 | y) (0 for control rows), g and h."""
        p, J = self.p, self.J
        ed, eg = self.X @ theta[:p], self.X @ theta[p:]
        g, h = special.expit(ed), special.expit(eg)
        lh, l1h = -np.logaddexp(0, -eg), -np.logaddexp(0, eg)  # log h, log(1-h), stable
        ll = self.lchoose[self.k0] + self.k0 * lh + (J - self.k0) * l1h  # log Bin(y; J, h)
        q = np.zeros(len(ll))
        t = self.t
        if t.any():
            lg, l1g = -np.logaddexp(0, -ed[t]), -np.logaddexp(0, ed[t])
            k1 = self.k1[t]
            lb1 = self.lchoose[k1] + k1 * lh[t] + (J - k1) * l1h[t]
            a1, a0 = lg + lb1, l1g + ll[t]
            top, bottom = self.top[t], self.bottom[t]
            lt = np.logaddexp(a1, a0)
            lt[top], lt[bottom] = a1[top], a0[bottom]
            qt = np.exp(a1 - lt)
            qt[top], qt[bottom] = 1.0, 0.0
            ll[t], q[t] = lt, qt
        return ll, q, g, h

    def loglik(self, theta: np.ndarray, w: np.ndarray) -> float:
        return float(w @ self._parts(theta)[0])

    def scores(self, theta: np.ndarray, w: np.ndarray) -> np.ndarray:
        """n x 2p weighted score contributions."""
        _, q, g, h = self._parts(theta)
        tt = self.t.astype(float)
        sd = w * tt * (q - g)
        sg = w * (self.y - tt * q - self.J * h)
        return np.column_stack([sd[:, None] * self.X, sg[:, None] * self.X])

    def grad_hess(self, theta: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        _, q, g, h = self._parts(theta)
        X, tt = self.X, self.t.astype(float)
        grad = np.concatenate([X.T @ (w * tt * (q - g)),
                               X.T @ (w * (self.y - tt * q - self.J * h))])
        vq = tt * q * (1 - q)
        Hdd = X.T @ (X * (w * (tt * (-g * (1 - g)) + vq))[:, None])
        Hgg = X.T @ (X * (w * (-self.J * h * (1 - h) + vq))[:, None])
        Hdg = -(X.T @ (X * (w * vq)[:, None]))
        return grad, np.block([[Hdd, Hdg], [Hdg.T, Hgg]])

    def em_step(self, theta: np.ndarray, w: np.ndarray) -> np.ndarray:
        """One generalised-EM step: a Newton step on the expected complete-data likelihood
        (two weighted logistic regressions) at the current posterior."""
        _, q, g, h = self._parts(theta)
        X, tt, p = self.X, self.t.astype(float), self.p
        gd = X.T @ (w * tt * (q - g))
        Hd = X.T @ (X * (w * tt * g * (1 - g))[:, None])
        gg = X.T @ (w * (self.y - tt * q - self.J * h))
        Hg = X.T @ (X * (w * self.J * h * (1 - h))[:, None])
        return np.concatenate([theta[:p] + np.linalg.solve(Hd, gd),
                               theta[p:] + np.linalg.solve(Hg, gg)])


def ml_start(y: np.ndarray, t: np.ndarray, X: np.ndarray, w: np.ndarray, J: int) -> np.ndarray:
    """Intercept-only start: control-item share and the difference in means (clipped)."""
    c = t == 0
    th = np.zeros(2 * X.shape[1])
    m0 = np.average(y[c], weights=w[c])
    m1 = np.average(y[~c], weights=w[~c])
    th[0] = special.logit(np.clip(m1 - m0, 0.02, 0.98))
    th[X.shape[1]] = special.logit(np.clip(m0 / J, 0.02, 0.98))
    return th


def _em(model: ListLikelihood, w: np.ndarray, theta: np.ndarray, steps: int
        ) -> tuple[np.ndarray, int]:
    ll = model.loglik(theta, w)
    done = 0
    for _ in range(steps):
        new = model.em_step(theta, w)
        ll_new = model.loglik(new, w)
        if not np.isfinite(ll_new) or ll_new < ll - 1e-12 * abs(ll):
            break
        done += 1
        small = ll_new - ll < 1e-10 * (1 + abs(ll))
        theta, ll = new, ll_new
        if small:
            break
    return theta, done


def ml_newton(model: ListLikelihood, w: np.ndarray, theta: np.ndarray, em_steps: int = 5
              ) -> tuple[np.ndarray, np.ndarray, int, bool, float]:
    """A few EM steps (monotone, towards the basin of the maximum), then the package's
    Newton-Raphson driver (step halving, ~1e-10 relative step); if Newton fails from there,
    many more EM steps and Newton again. Returns (theta, Hessian, iterations, converged,
    |gradient|)."""
    theta, n_em = _em(model, w, theta, em_steps)
    th, H, it, ok, gnorm = newton(model, w, theta, maxit=200)
    if not ok:
        theta, more = _em(model, w, theta, 500)
        th, H, it2, ok, gnorm = newton(model, w, theta, maxit=200)
        n_em, it = n_em + more, it + it2
    return th, H, it + n_em, ok, gnorm


def fit_ml(y: np.ndarray, t: np.ndarray, X: np.ndarray, w: np.ndarray, J: int,
           column: str | None = None) -> tuple[ListFit, ListLikelihood]:
    """ML fit (R ``ictreg(method="ml")``, constrained); model covariance = the inverse
    observed information of the weighted log-likelihood (R's Hessian)."""
    model = ListLikelihood(y, t, X, J)
    theta, H, it, ok, gnorm = ml_newton(model, w, ml_start(y, t, X, w, J))
    big = np.max(np.abs(theta))
    if not ok or not np.all(np.isfinite(theta)) or big > 30:
        raise ConvergenceError(
            f"the ML fit of the list experiment did not converge (iterations {it}, gradient "
            f"norm {gnorm:.3g}, largest |coefficient| {big:.3g}); the sensitive item's "
            "prevalence may be near 0 or 1 in some covariate pattern", column=column,
            hint="use fewer covariates or method='nls' / 'lm'")
    try:
        V = np.linalg.inv(-H)
    except np.linalg.LinAlgError as exc:
        raise EstimationError("the ML information matrix is singular", column=column) from exc
    return ListFit(theta, model.scores(theta, w), H, V, it), model
