"""Survey-weighted cumulative-link (ordered logit / probit) models, with R ``svyolr`` semantics.

Model: ``P(Y <= k | x) = F(alpha_k - x'beta)``, k = 1..K-1, F logistic or standard normal, no
intercept in ``x`` (the thresholds play its role). Thresholds are named like R: ``"1|2"``.

Estimation: pseudo-ML, maximising the design-weighted log-likelihood by Newton-Raphson in
(beta, alpha) with the analytic gradient and Hessian (the log-likelihood is concave there for
log-concave F), step halving to keep the thresholds ordered and the likelihood increasing,
stopped after a full Newton step below 1e-6 relative, which (quadratic convergence) leaves an
error of order 1e-12 (R's ``optim``/BFGS stops much earlier; the fixtures are made with a
tightened ``reltol``).

Covariance: linearisation sandwich ``design.vcov(S H^{-1})`` with ``S`` the n x (p+q) weighted
score contributions and ``H`` the observed information, as R's ``svyolr`` (which uses the BFGS
numerical Hessian; we use the analytic one); replicate designs refit the model with every
replicate's weights. Residual df = design df - p (R: ``degf(design) - length(beta)``).

Inference: ``tidy()`` intervals and p-values use normal quantiles, as R does for ``svyolr``
(there is no ``confint.svyolr``, so ``confint`` is ``confint.default``); term tests
(``wald_test``) use the residual df as R's ``regTermTest``.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from surveykit.errors import ConvergenceError, ModelError
from surveykit.mi.dispatch import mi_aware
from surveykit.models._design_matrix import build_frame, check_rank
from surveykit.models._newton import newton as run_newton
from surveykit.models._replicates import model_vcov
from surveykit.models.results import ModelResult, link_parts

LINK_ALIASES = {"logit": "logit", "logistic": "logit", "probit": "probit"}


def _label(v: Any) -> str:
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    return str(v)


def _outcome_codes(y: pd.Series, w: np.ndarray, column: str, full: pd.Series | None
                   ) -> tuple[np.ndarray, list[Any]]:
    """0-based category codes of the used rows and the ordered levels; checks empty levels."""
    if isinstance(y.dtype, pd.CategoricalDtype):
        if not y.cat.ordered:
            raise ModelError("ordinal outcome must be ordered: use an ordered Categorical or "
                             "numeric codes", column=column, values=list(y.cat.categories))
        levels = list(y.cat.categories)
        codes = y.cat.codes.to_numpy().astype(np.intp)
    elif pd.api.types.is_numeric_dtype(y.dtype) and y.dtype != bool:
        src = full if full is not None else y
        levels = sorted(pd.unique(src.dropna()))
        codes = np.searchsorted(np.asarray(levels, dtype=float), y.to_numpy(dtype=float))
    else:
        raise ModelError("ordinal outcome must be numeric codes or an ordered Categorical",
                         column=column, values=pd.unique(y)[:5])
    if len(levels) < 3:
        raise ModelError("ordinal outcome needs at least 3 categories", column=column,
                         values=levels, hint="use glm(family='binomial') for two categories")
    wk = np.bincount(codes, weights=w, minlength=len(levels))
    empty = [levels[k] for k in np.flatnonzero(wk <= 0)]
    if empty:
        raise ModelError(f"{len(empty)} outcome categor{'y is' if len(empty) == 1 else 'ies are'} "
                         "empty in the fitted rows", column=column, values=empty,
                         hint="merge the empty categories with a neighbour or drop them")
    return codes, levels


class _CumLink:
    """Weighted log-likelihood of a cumulative link model with analytic derivatives.

    Rows are held sorted by outcome category (``order``), so that each category is one
    contiguous block: the threshold parts of the gradient, Hessian and scores are block sums and
    block matrix products instead of n x K indicator products, and the link is evaluated only
    at finite cut points (not at -inf for the lowest category or +inf for the highest).
    Weights are passed in the caller's row order; scores are returned in it.
    """

    def __init__(self, X: np.ndarray, codes: np.ndarray, K: int, link: str) -> None:
        self.order = np.argsort(codes, kind="stable")
        self.codes = codes[self.order]
        self.X = np.ascontiguousarray(X[self.order])
        self.K, self.link = K, link
        self.starts = np.searchsorted(self.codes, np.arange(K + 1))  # block k: starts[k:k+2]
        self.n0, self.n1 = int(self.starts[1]), int(self.starts[K - 1])  # ends of 1st / last

    def _sorted(self, w: np.ndarray) -> np.ndarray:
        return w[self.order]

    def _parts(self, theta: np.ndarray, w: np.ndarray) -> dict[str, Any]:
        """Probabilities and densities at both cut points of each row's category (sorted rows,
        ``w`` already sorted); beyond the outer thresholds F = 0/1 and the densities are 0."""
        pc, n, n0, n1 = self.X.shape[1], len(self.codes), self.n0, self.n1
        alpha = theta[pc:]
        eta = self.X @ theta[:pc]
        F1, S1, g1, h1 = (np.ones(n), np.zeros(n), np.zeros(n), np.zeros(n))
        F0, S0, g0, h0 = (np.zeros(n), np.ones(n), np.zeros(n), np.zeros(n))
        u1 = alpha[self.codes[:n1]] - eta[:n1]  # upper cut: all but the highest category
        F1[:n1], S1[:n1], g1[:n1], h1[:n1] = link_parts(self.link, u1)
        u0 = alpha[self.codes[n0:] - 1] - eta[n0:]  # lower cut: all but the lowest category
        F0[n0:], S0[n0:], g0[n0:], h0[n0:] = link_parts(self.link, u0)
        # upper tail by survival functions (F symmetric) to avoid cancellation near 1
        pr = F1 - F0
        upper = np.zeros(n, dtype=bool)
        upper[n0:] = u0 > 0
        pr[upper] = S0[upper] - S1[upper]
        pos = w > 0
        if np.any(pr[pos] <= 0):
            ll = -np.inf
        else:
            ll = float(w[pos] @ np.log(pr[pos]))
        return {"pr": np.where(pos, pr, 1.0), "g1": g1, "g0": g0, "h1": h1, "h0": h0, "ll": ll}

    def _block_sums(self, v: np.ndarray) -> np.ndarray:
        """Sum of ``v`` (sorted rows) within each outcome category."""
        return np.add.reduceat(v, self.starts[:-1])

    def loglik(self, theta: np.ndarray, w: np.ndarray) -> float:
        return self._parts(theta, self._sorted(w))["ll"]

    def scores(self, theta: np.ndarray, w: np.ndarray, P: dict[str, Any] | None = None,
               right: np.ndarray | None = None) -> np.ndarray:
        """n x (p+q) weighted score contributions of the log-likelihood in the caller's row order
        (``P``, if given: the pieces at ``theta`` for these weights). With ``right`` (a
        (p+q) x m matrix), the n x m product ``scores @ right`` (e.g. influence functions with
        the inverse information), formed before the rows are put back in order."""
        ws = self._sorted(w)
        P = P if P is not None else self._parts(theta, ws)
        pr = P["pr"]
        pc, q, st = self.X.shape[1], self.K - 1, self.starts
        out = np.zeros((len(ws), pc + q))
        np.multiply(self.X, ((P["g0"] - P["g1"]) / pr * ws)[:, None], out=out[:, :pc])
        r1, r0 = P["g1"] / pr * ws, P["g0"] / pr * ws
        for k in range(q):  # d l / d alpha_k: +g1/pr in category k, -g0/pr in category k+1
            out[st[k]:st[k + 1], pc + k] = r1[st[k]:st[k + 1]]
            out[st[k + 1]:st[k + 2], pc + k] = -r0[st[k + 1]:st[k + 2]]
        if right is not None:
            out = out @ right
        unsorted = np.empty_like(out)
        unsorted[self.order] = out
        return unsorted

    def grad_hess(self, theta: np.ndarray, w: np.ndarray, P: dict[str, Any]
                  ) -> tuple[np.ndarray, np.ndarray]:
        """Gradient and Hessian of the weighted log-likelihood in (beta, alpha) (sorted ``w``,
        ``P`` from :meth:`_parts` at ``theta``)."""
        X, K, q, pc, st = self.X, self.K, self.K - 1, self.X.shape[1], self.starts
        ipr = 1.0 / P["pr"]
        r1, r0 = P["g1"] * ipr, P["g0"] * ipr  # f(upper cut)/p, f(lower cut)/p
        a1, a0 = P["h1"] * ipr, P["h0"] * ipr  # f'(upper cut)/p, f'(lower cut)/p
        dr = r1 - r0
        wr1, wr0 = w * r1, w * r0
        grad = np.empty(pc + q)
        grad[:pc] = X.T @ (wr0 - wr1)
        b1, b0 = self._block_sums(wr1), self._block_sums(wr0)
        grad[pc:] = b1[:q] - b0[1:]
        H = np.empty((pc + q, pc + q))
        hee = w * (a1 - a0 - dr * dr)  # d2 l / d eta2
        H[:pc, :pc] = X.T @ (X * hee[:, None])
        c1 = wr1 * dr - w * a1  # d2 l / d eta d alpha_y
        c0 = w * a0 - wr0 * dr  # d2 l / d eta d alpha_(y-1)
        cross = np.zeros((pc, q))  # d2 l / d beta d alpha = x * d2 l / d eta d alpha
        for k in range(K):
            rows = slice(st[k], st[k + 1])
            if k < q:
                cross[:, k] += X[rows].T @ c1[rows]
            if k > 0:
                cross[:, k - 1] += X[rows].T @ c0[rows]
        H[:pc, pc:] = cross
        H[pc:, :pc] = cross.T
        daa = self._block_sums(w * a1 - wr1 * r1)[:q] - self._block_sums(w * a0 + wr0 * r0)[1:]
        off = self._block_sums(wr1 * r0)[1:q]
        Haa = np.diag(daa)
        idx = np.arange(1, q)
        Haa[idx, idx - 1] = off
        Haa[idx - 1, idx] = off
        H[pc:, pc:] = Haa
        return grad, H


def _start(codes: np.ndarray, w: np.ndarray, K: int, pc: int, link: str) -> np.ndarray:
    from scipy import special

    share = np.bincount(codes, weights=w, minlength=K) / w.sum()
    cum = np.clip(np.cumsum(share)[:-1], 1e-6, 1 - 1e-6)
    alpha = special.logit(cum) if link == "logit" else special.ndtri(cum)
    return np.concatenate([np.zeros(pc), alpha])


class _Fit(NamedTuple):
    """What :func:`newton` returns: estimates, Hessian and likelihood pieces at them (sorted
    rows), iterations, convergence and the last gradient norm."""

    theta: np.ndarray
    hessian: np.ndarray
    parts: dict[str, Any]
    iterations: int
    converged: bool
    gnorm: float


def newton(model: _CumLink, w: np.ndarray, theta: np.ndarray, *, tol: float = 1e-6,
           maxit: int = 100) -> _Fit:
    """Newton-Raphson with step halving, from ``theta`` (the shared driver
    :func:`surveykit.models._newton.newton`, thresholds kept increasing).

    Stops after a full (unhalved) Newton step no larger than ``tol`` relative to the estimates:
    with the exact Hessian of this concave likelihood convergence is quadratic, so the error
    left after such a step is of order ``tol**2`` (~1e-12). The Hessian returned is evaluated
    at the final estimates. One evaluation of the likelihood pieces per accepted step serves
    both the line search and the next gradient/Hessian.
    """
    pc = model.X.shape[1]
    w = model._sorted(w)
    res = run_newton(lambda th: model._parts(th, w),
                     lambda th, P: model.grad_hess(th, w, P), theta,
                     loglik=lambda P: P["ll"], tol=tol, maxit=maxit, full_step_only=True,
                     feasible=lambda th: bool(np.all(np.diff(th[pc:]) > 0)),
                     singular="gradient")
    return _Fit(res.theta, res.hessian, res.state, res.iterations, res.converged, res.gnorm)


@mi_aware
def ordinal(design: Any, formula: str, link: str = "logit") -> ModelResult:
    """Fit a survey-weighted ordered logit/probit model (R ``svyolr``).

    The outcome must be ordered: numeric codes (levels = sorted distinct values of the column)
    or an ordered pandas Categorical. Empty outcome categories raise ModelError naming them.
    ``result.params`` holds the coefficients followed by the thresholds ``"a|b"``;
    ``result.tidy()`` gives normal-quantile intervals as R's ``confint`` on ``svyolr``.

    Parameters
    ----------
    design : SurveyDesign, ReplicateDesign or MIDesign
        The survey design (a domain: ``design.subset(...)``).
    formula : str
        Model formula ``"outcome ~ terms"`` (``C(x)`` for a factor).
    link : {"logit", "probit"}
        Link of the cumulative model.

    Returns
    -------
    ModelResult
        Coefficients followed by the thresholds.

    Examples
    --------
    >>> df = sk.load_replica()
    >>> design = sk.SurveyDesign(df, weights="weight")
    >>> model = sk.ordinal(design, "approval ~ age + urban")
    >>> model.params.round(3).index.tolist()
    ['age', 'urban', '1|2', '2|3', '3|4', '4|5']
    """
    if link not in LINK_ALIASES:
        raise ModelError(f"unknown ordinal link {link!r}", hint="use 'logit' or 'probit'")
    link = LINK_ALIASES[link]
    frame = build_frame(design, formula, intercept=False)
    w = np.asarray(design.weights, dtype=float)[frame.rows]
    full = design.data[frame.lhs] if frame.lhs in design.data.columns else None
    codes, levels = _outcome_codes(frame.y, w, frame.lhs, full)
    K = len(levels)
    check_rank(frame.X, w, frame.columns, extra=np.ones((len(w), 1)), source=design.source)
    model = _CumLink(frame.X, codes, K, link)
    pc = frame.X.shape[1]
    res = newton(model, w, _start(codes, w, K, pc, link))
    theta, H, it, ok, gnorm = res.theta, res.hessian, res.iterations, res.converged, res.gnorm
    if not ok or np.max(np.abs(theta[:pc]), initial=0) > 50:
        if np.max(np.abs(theta[:pc]), initial=0) > 20:
            order = np.argsort(-np.abs(theta[:pc]))
            raise ModelError("coefficients diverge (complete or quasi-complete separation of "
                             "the outcome categories)", column=frame.lhs,
                             values=[f"{frame.columns[j]}={theta[j]:.3g}" for j in order[:3]])
        raise ConvergenceError(f"Newton-Raphson did not converge in {it} iterations (last "
                               f"gradient norm {gnorm:.3g})", column=frame.lhs)
    info_inv = np.linalg.inv(-H)
    names = list(frame.columns) + [f"{_label(levels[k])}|{_label(levels[k + 1])}"
                                   for k in range(K - 1)]

    def fit(wr: np.ndarray) -> tuple[np.ndarray, bool, float]:
        refit = newton(model, wr, theta.copy())
        return refit.theta, refit.converged, refit.gnorm

    V, reps = model_vcov(design, frame, theta,
                         lambda: model.scores(theta, w, res.parts, info_inv), fit)
    return ModelResult(
        model="ordinal", family="ordinal", link=link, frame=frame, design=design,
        params=pd.Series(theta, index=names, name="estimate"),
        vcov=pd.DataFrame(V, index=names, columns=names),
        df_resid=design.subset(frame.used).df - pc,
        iterations=it, naive_vcov=info_inv, levels=list(levels), replicates=reps,
    )
