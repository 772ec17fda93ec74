"""Survey-weighted cumulative-link (ordered logit / probit) models, with R ``svyolr`` semantics.

Model: ``P(Y <= k | x) = F(alpha_k - x'beta)``, k = 1..K-1, F logistic or standard normal, no
intercept in ``x`` (the thresholds play its role). Thresholds are named like R: ``"1|2"``.

Estimation: pseudo-ML, maximising the design-weighted log-likelihood by Newton-Raphson in
(beta, alpha) with the analytic gradient and Hessian (the log-likelihood is concave there for
log-concave F), step halving to keep the thresholds ordered and the likelihood increasing,
converged to ~1e-10 relative step size (R's ``optim``/BFGS stops earlier; the fixtures are made
with a tightened ``reltol``).

Covariance: linearisation sandwich ``design.vcov(S H^{-1})`` with ``S`` the n x (p+q) weighted
score contributions and ``H`` the observed information, as R's ``svyolr`` (which uses the BFGS
numerical Hessian; we use the analytic one); replicate designs refit the model with every
replicate's weights. Residual df = design df - p (R: ``degf(design) - length(beta)``).

Inference: ``tidy()`` intervals and p-values use normal quantiles, as R does for ``svyolr``
(there is no ``confint.svyolr``, so ``confint`` is ``confint.default``); term tests
(``wald_test``) use the residual df as R's ``regTermTest``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from surveykit.errors import ConvergenceError, ModelError
from surveykit.models._design_matrix import build_frame, check_rank
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
    """Weighted log-likelihood of a cumulative link model with analytic derivatives."""

    def __init__(self, X: np.ndarray, codes: np.ndarray, K: int, link: str) -> None:
        self.X, self.codes, self.K = X, codes, K
        self.link = link
        self.onehot = np.zeros((len(codes), K))
        self.onehot[np.arange(len(codes)), codes] = 1.0

    def _parts(self, theta: np.ndarray, w: np.ndarray) -> dict[str, Any]:
        """Probabilities and densities at both cut points of each row's category."""
        pc = self.X.shape[1]
        eta = self.X @ theta[:pc]
        ext = np.concatenate([[-np.inf], theta[pc:], [np.inf]])
        u1 = ext[self.codes + 1] - eta
        u0 = ext[self.codes] - eta
        f1, f0 = np.isfinite(u1), np.isfinite(u0)
        F1, S1, g1, h1 = link_parts(self.link, np.where(f1, u1, 0.0))
        F0, S0, g0, h0 = link_parts(self.link, np.where(f0, u0, 0.0))
        F1, S1, g1, h1 = (np.where(f1, F1, 1.0), np.where(f1, S1, 0.0), g1 * f1, h1 * f1)
        F0, S0, g0, h0 = (np.where(f0, F0, 0.0), np.where(f0, S0, 1.0), g0 * f0, h0 * f0)
        # upper tail by survival functions (F symmetric) to avoid cancellation near 1
        pr = np.where(u0 > 0, S0 - S1, F1 - F0)
        pos = w > 0
        if np.any(pr[pos] <= 0):
            ll = -np.inf
        else:
            ll = float(w[pos] @ np.log(pr[pos]))
        return {"pr": np.where(pos, pr, 1.0), "g1": g1, "g0": g0, "h1": h1, "h0": h0, "ll": ll}

    def loglik(self, theta: np.ndarray, w: np.ndarray) -> float:
        return self._parts(theta, w)["ll"]

    def scores(self, theta: np.ndarray, w: np.ndarray, P: dict[str, Any] | None = None
               ) -> np.ndarray:
        """n x (p+q) weighted score contributions of the log-likelihood."""
        P = P or self._parts(theta, w)
        pr = P["pr"]
        deta = -(P["g1"] - P["g0"]) / pr
        q = self.K - 1
        sa = (self.onehot[:, :q] * (P["g1"] / pr)[:, None]
              - self.onehot[:, 1:] * (P["g0"] / pr)[:, None])
        return np.column_stack([self.X * deta[:, None], sa]) * w[:, None]

    def grad_hess(self, theta: np.ndarray, w: np.ndarray, P: dict[str, Any] | None = None
                  ) -> tuple[np.ndarray, np.ndarray]:
        """Gradient and Hessian of the weighted log-likelihood in (beta, alpha)."""
        P = P or self._parts(theta, w)
        pr = P["pr"]
        g1, g0, h1, h0 = P["g1"], P["g0"], P["h1"], P["h0"]
        X, K, q, pc = self.X, self.K, self.K - 1, self.X.shape[1]
        d = g1 - g0
        r1, r0 = g1 / pr, g0 / pr
        wdeta = -w * d / pr
        grad = np.concatenate([X.T @ wdeta,
                               np.bincount(self.codes, weights=w * r1, minlength=K)[:q]
                               - np.bincount(self.codes, weights=w * r0, minlength=K)[1:]])
        hee = w * ((h1 - h0) / pr - (d / pr) ** 2)
        c1 = w * (-h1 / pr + r1 * d / pr)  # d2 l / d eta d alpha_y
        c0 = w * (h0 / pr - r0 * d / pr)  # d2 l / d eta d alpha_(y-1)
        H = np.empty((pc + q, pc + q))
        H[:pc, :pc] = X.T @ (X * hee[:, None])
        cross = X.T @ (self.onehot * c1[:, None])[:, :q] + X.T @ (self.onehot * c0[:, None])[:, 1:]
        H[:pc, pc:] = cross  # d2 l / d beta d alpha = x * d2 l / d eta d alpha
        H[pc:, :pc] = cross.T
        daa = np.bincount(self.codes, weights=w * (h1 / pr - r1**2), minlength=K)[:q] \
            + np.bincount(self.codes, weights=w * (-h0 / pr - r0**2), minlength=K)[1:]
        off = np.bincount(self.codes, weights=w * r1 * r0, minlength=K)[1:q]
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


def newton(model: _CumLink, w: np.ndarray, theta: np.ndarray, *, tol: float = 1e-10,
           maxit: int = 100) -> tuple[np.ndarray, np.ndarray, int, bool, float]:
    """Newton-Raphson with step halving; returns (theta, Hessian, iterations, converged, |grad|).

    One evaluation of the likelihood pieces per accepted step: they serve both the line search
    and the next gradient/Hessian.
    """
    pc = model.X.shape[1]
    P = model._parts(theta, w)
    gnorm = np.inf
    for it in range(1, maxit + 1):
        grad, H = model.grad_hess(theta, w, P)
        gnorm = float(np.linalg.norm(grad))
        try:
            step = -np.linalg.solve(H, grad)
        except np.linalg.LinAlgError:
            step = grad / max(np.abs(np.diag(H)).max(), 1.0)
        t = 1.0
        for _ in range(40):
            new = theta + t * step
            if np.all(np.diff(new[pc:]) > 0):
                P_new = model._parts(new, w)
                if np.isfinite(P_new["ll"]) and P_new["ll"] >= P["ll"] - 1e-12 * abs(P["ll"]):
                    break
            t /= 2
        else:
            return theta, H, it, False, gnorm
        size = np.max(np.abs(new - theta))
        theta, P = new, P_new
        if size <= tol * (1 + np.max(np.abs(theta))):
            grad, H = model.grad_hess(theta, w, P)
            return theta, H, it, True, float(np.linalg.norm(grad))
    return theta, H, maxit, False, gnorm


def ordinal(design: Any, formula: str, link: str = "logit") -> ModelResult:
    """Fit a survey-weighted ordered logit/probit model (R ``svyolr``).

    The outcome must be ordered: numeric codes (levels = sorted distinct values of the column)
    or an ordered pandas Categorical. Empty outcome categories raise ModelError naming them.
    ``result.params`` holds the coefficients followed by the thresholds ``"a|b"``;
    ``result.tidy()`` gives normal-quantile intervals as R's ``confint`` on ``svyolr``.
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
    theta, H, it, ok, gnorm = newton(model, w, _start(codes, w, K, pc, link))
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
        th_r, _, _, ok_r, g_r = newton(model, wr, theta.copy())
        return th_r, ok_r, g_r

    V = model_vcov(design, frame, theta, lambda: model.scores(theta, w) @ info_inv, fit)
    return ModelResult(
        model="ordinal", family="ordinal", link=link, frame=frame, design=design,
        params=pd.Series(theta, index=names, name="estimate"),
        vcov=pd.DataFrame(V, index=names, columns=names),
        df_resid=design.subset(frame.used).df - pc,
        iterations=it, naive_vcov=info_inv, levels=list(levels),
    )
