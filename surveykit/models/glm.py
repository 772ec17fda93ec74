"""Survey-weighted generalised linear models, with R ``svyglm`` semantics.

Point estimates are the pseudo-maximum-likelihood solution of the design-weighted score
equations, found by IRLS (our own, converged to ~1e-12 so results match R to 1e-8).
Linearisation designs: the covariance is the sandwich ``design.vcov(U A^{-1})`` where
``U_i = w_i x_i (y_i - mu_i) mu'(eta_i) / V(mu_i)`` and ``A = X' W X`` is the weighted Fisher
information (R's ``svy.varcoef``); no dispersion factor, so quasi-families give the same
estimates and SEs as their base families, as in R. Replicate designs: the model is refitted
with every replicate's weights (starting from the full-sample fit) and ``replicate_vcov`` is
used (R's ``svyglm.svyrep.design``). Residual df = design df + 1 - p, as R's ``df.residual``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from surveykit._dist import cauchy_cdf, cauchy_pdf, cauchy_ppf, norm_pdf
from surveykit.design import align_to
from surveykit.errors import ConvergenceError, ModelError
from surveykit.expressions import evaluate
from surveykit.mi.dispatch import mi_aware
from surveykit.models._design_matrix import ModelFrame, build_frame, check_rank
from surveykit.models._replicates import model_vcov
from surveykit.models.results import ModelResult

EPS10 = 10 * np.finfo(float).eps
_TINY = np.finfo(float).eps


@dataclass(frozen=True)
class Link:
    """A link function: eta = g(mu), mu = g^{-1}(eta), d mu / d eta and which eta are valid."""

    name: str
    inverse: Callable[[np.ndarray], np.ndarray]
    mu_eta: Callable[[np.ndarray], np.ndarray]
    link: Callable[[np.ndarray], np.ndarray]
    valid_eta: Callable[[np.ndarray], bool] = lambda e: True


def _logit_mu_eta(eta: np.ndarray) -> np.ndarray:
    p = special.expit(eta)
    return np.maximum(p * (1 - p), _TINY)


def _exp(e: np.ndarray) -> np.ndarray:
    return np.exp(np.minimum(e, 700))


def _cloglog_inv(e: np.ndarray) -> np.ndarray:
    # R clamps 1 - exp(-exp(eta)) to [eps, 1 - eps]
    return np.clip(-np.expm1(-np.exp(np.minimum(e, 700))), _TINY, 1 - _TINY)


LINKS: dict[str, Link] = {
    "identity": Link("identity", lambda e: e, np.ones_like, lambda m: m),
    "log": Link("log", lambda e: np.maximum(_exp(e), _TINY), lambda e: np.maximum(_exp(e), _TINY),
                np.log),
    "logit": Link("logit", special.expit, _logit_mu_eta, special.logit),
    "probit": Link("probit", lambda e: np.clip(special.ndtr(e), _TINY, 1 - _TINY),
                   lambda e: np.maximum(norm_pdf(e), _TINY), special.ndtri),
    "cloglog": Link("cloglog", _cloglog_inv,
                    lambda e: np.maximum(np.exp(np.minimum(e, 700) - _exp(e)), _TINY),
                    lambda m: np.log(-np.log1p(-m))),
    "cauchit": Link("cauchit", lambda e: np.clip(cauchy_cdf(e), _TINY, 1 - _TINY),
                    lambda e: np.maximum(cauchy_pdf(e), _TINY), cauchy_ppf),
    "inverse": Link("inverse", lambda e: 1 / e, lambda e: -1 / e**2, lambda m: 1 / m,
                    lambda e: bool(np.all(np.isfinite(e)) and np.all(e != 0))),
    "sqrt": Link("sqrt", lambda e: e**2, lambda e: 2 * e, np.sqrt,
                 lambda e: bool(np.all(np.isfinite(e)) and np.all(e > 0))),
    "1/mu^2": Link("1/mu^2", lambda e: 1 / np.sqrt(e), lambda e: -1 / (2 * e**1.5),
                   lambda m: 1 / m**2, lambda e: bool(np.all(np.isfinite(e)) and np.all(e > 0))),
}


@dataclass(frozen=True)
class Family:
    """An exponential family as R's ``family`` objects: variance, deviance, valid means."""

    name: str
    kind: str  # "gaussian", "binomial", "poisson", "gamma", "inverse_gaussian"
    default_link: str
    links: tuple[str, ...]


FAMILIES: dict[str, Family] = {
    "gaussian": Family("gaussian", "gaussian", "identity", ("identity", "log", "inverse")),
    "binomial": Family("binomial", "binomial", "logit",
                       ("logit", "probit", "cloglog", "cauchit", "log")),
    "quasibinomial": Family("quasibinomial", "binomial", "logit",
                            ("logit", "probit", "cloglog", "cauchit", "log")),
    "poisson": Family("poisson", "poisson", "log", ("log", "identity", "sqrt")),
    "quasipoisson": Family("quasipoisson", "poisson", "log", ("log", "identity", "sqrt")),
    "Gamma": Family("Gamma", "gamma", "inverse", ("inverse", "identity", "log")),
    "inverse.gaussian": Family("inverse.gaussian", "inverse_gaussian", "1/mu^2",
                               ("1/mu^2", "inverse", "identity", "log")),
}
_FAMILY_ALIASES = {"gamma": "Gamma", "inverse_gaussian": "inverse.gaussian"}


def variance(kind: str, mu: np.ndarray) -> np.ndarray:
    """The variance function V(mu) of the family (R's ``family$variance``)."""
    if kind == "binomial":
        return np.maximum(mu * (1 - mu), _TINY)
    if kind == "poisson":
        return np.maximum(mu, _TINY)
    if kind == "gamma":
        return mu**2
    if kind == "inverse_gaussian":
        return mu**3
    return np.ones_like(mu)


def valid_mu(kind: str, mu: np.ndarray) -> bool:
    """R's ``family$validmu``."""
    if not np.all(np.isfinite(mu)):
        return False
    if kind == "binomial":
        return bool(np.all((mu > 0) & (mu < 1)))
    if kind in ("poisson", "gamma", "inverse_gaussian"):
        return bool(np.all(mu > 0))
    return True


def unit_deviance(kind: str, y: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """Per-row deviance contributions (R's ``family$dev.resids`` with unit weights)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        if kind == "binomial":
            return 2 * (special.xlogy(y, y / mu) + special.xlogy(1 - y, (1 - y) / (1 - mu)))
        if kind == "poisson":
            return 2 * (special.xlogy(y, y / mu) - (y - mu))
        if kind == "gamma":
            return -2 * (np.log(np.where(y == 0, 1.0, y / mu)) - (y - mu) / mu)
        if kind == "inverse_gaussian":
            return (y - mu) ** 2 / (y * mu**2)
    return (y - mu) ** 2


def deviance(kind: str, y: np.ndarray, mu: np.ndarray, w: np.ndarray) -> float:
    return float(np.sum(w * unit_deviance(kind, y, mu)))


def _outcome(frame: ModelFrame, kind: str) -> np.ndarray:
    """Numeric outcome; for binomial a two-level factor/bool becomes 0/1 (first level = 0, as R)."""
    y = frame.y
    if y.dtype == bool:
        return y.to_numpy(dtype=float)
    if not pd.api.types.is_numeric_dtype(y.dtype):
        levels = (list(y.cat.categories) if isinstance(y.dtype, pd.CategoricalDtype)
                  else sorted(pd.unique(y)))
        if len(levels) != 2 or kind != "binomial":
            raise ModelError("outcome must be numeric, or a two-level factor for a binomial model",
                             column=frame.lhs, values=levels)
        return (y.to_numpy() == levels[1]).astype(float)
    out = pd.to_numeric(y, errors="coerce").to_numpy(dtype=float)
    checks = {"binomial": ((out < 0) | (out > 1), "binomial outcome must lie in [0, 1]"),
              "poisson": (out < 0, "Poisson outcome must be non-negative"),
              "gamma": (out <= 0, "Gamma outcome must be positive"),
              "inverse_gaussian": (out <= 0, "inverse Gaussian outcome must be positive")}
    if kind in checks:
        bad, msg = checks[kind]
        if bad.any():
            raise ModelError(msg, column=frame.lhs, values=out[bad])
    return out


def _start_eta(y: np.ndarray, w: np.ndarray, kind: str, link: Link) -> np.ndarray:
    """Starting linear predictor from R's ``family$initialize`` (falling back to the weighted
    mean when the link cannot take the data, e.g. a log link with zero outcomes)."""
    if kind == "binomial":
        mu = (y + 0.5) / 2
    elif kind == "poisson":
        mu = y + 0.1
    else:
        mu = y.copy()
    with np.errstate(divide="ignore", invalid="ignore"):
        eta = link.link(mu)
    if not (np.all(np.isfinite(eta)) and link.valid_eta(eta)):
        ybar = float(np.sum(w * y) / np.sum(w))
        if kind == "binomial":
            ybar = min(max(ybar, 0.05), 0.95)
        eta = np.full_like(y, float(link.link(np.array([ybar]))[0]))
    return eta


def irls(X: np.ndarray, y: np.ndarray, w: np.ndarray, kind: str, link: Link,
         beta0: np.ndarray | None = None, *, offset: np.ndarray | None = None,
         tol: float = 1e-10, maxit: int = 100) -> tuple[np.ndarray, int, bool, float]:
    """Weighted IRLS (Fisher scoring) converged on the score, not the deviance.

    Convergence: the scoring step implied by the weighted score ``U = X' w (y - mu) mu'/V``,
    ``A^{-1} U`` with ``A`` the weighted Fisher information (the score in the metric of its
    covariance), is for every coefficient at most ``tol`` times the coefficient's size (floored
    at its naive standard error, for coefficients near zero). R's ``glm`` stops when the deviance
    changes by less than ``epsilon``, which can leave 1e-6 relative error where the deviance is
    flat; this rule cannot. Step halving keeps the deviance finite and non-increasing and the
    mean valid. Returns (beta, iterations, converged, norm of the score at beta).
    """
    off = np.zeros(len(y)) if offset is None else offset
    if beta0 is None:
        eta = _start_eta(y, w, kind, link)
        beta = None
        dev_old = np.inf
    else:
        beta = beta0
        eta = X @ beta + off
        dev_old = deviance(kind, y, link.inverse(eta), w)
    grad_norm = np.inf
    last_step = np.inf
    for it in range(1, maxit + 1):
        mu = link.inverse(eta)
        me = link.mu_eta(eta)
        var = variance(kind, mu)
        ww = w * me**2 / var
        score = X.T @ (w * (y - mu) * me / var)
        grad_norm = float(np.linalg.norm(score))
        # scoring step A^-1 U (from beta) or, at the start, the weighted LS fit of the working
        # response z = eta - off + (y - mu)/me, whose normal equations read A b = X'W(eta-off) + U
        rhs = score if beta is not None else X.T @ (ww * (eta - off)) + score
        solved = _solve_information(X, ww, rhs)
        if solved is None:  # ill-conditioned information: least squares on the weighted X
            sw = np.sqrt(ww)
            Xs = X * sw[:, None]
            z = eta - off + (y - mu) / me
            new, *_ = np.linalg.lstsq(Xs, z * sw, rcond=None)
            a_inv_diag = np.diag(np.linalg.pinv(Xs.T @ Xs))
        else:
            sol, a_inv_diag = solved
            new = sol if beta is None else beta + sol
        if beta is not None:
            # each coefficient's scoring step against its size, floored at its naive SE
            se = np.sqrt(np.maximum(a_inv_diag, 0))
            ratio = float(np.max(np.abs(new - beta) / (np.abs(beta) + se + 1e-300)))
            # converged: the scoring step is negligible; or stalled at rounding level
            if ratio <= tol or (ratio <= 100 * tol and ratio >= last_step):
                return beta, it, True, grad_norm
            last_step = ratio
        # step halving if the deviance is not finite, increases, or the mean is invalid
        for _ in range(60):
            eta_new = X @ new + off
            mu_new = link.inverse(eta_new)
            dev = deviance(kind, y, mu_new, w)
            ok = np.isfinite(dev) and link.valid_eta(eta_new) and valid_mu(kind, mu_new)
            if ok and (beta is None or dev <= dev_old + 1e-10 * (abs(dev_old) + 0.1)):
                break
            if beta is None:
                raise ConvergenceError("no valid starting values for IRLS",
                                       hint="give start values or check the outcome's range")
            new = (new + beta) / 2
        beta, eta, dev_old = new, eta_new, dev
    return beta, maxit, False, grad_norm



def _solve_information(X: np.ndarray, ww: np.ndarray, rhs: np.ndarray
                       ) -> tuple[np.ndarray, np.ndarray] | None:
    """``A^-1 rhs`` and ``diag(A^-1)`` for the weighted information ``A = X' diag(ww) X``, by a
    Cholesky factorisation of ``A`` scaled to unit diagonal (n p^2 / 2 work, ~5x less than a
    least-squares SVD of the weighted X). None when A is not numerically positive definite or
    its scaled condition exceeds 1e12: the caller then solves by least squares. The error of the
    step does not accumulate: each iteration recomputes the score at the current estimates."""
    from scipy import linalg

    A = X.T @ (X * ww[:, None])
    d = np.sqrt(np.diag(A))
    if not np.all(np.isfinite(d)) or np.any(d <= 0):
        return None
    As = A / np.outer(d, d)
    try:
        c, lower = linalg.cho_factor(As, check_finite=False)
    except linalg.LinAlgError:
        return None
    diag = np.abs(np.diag(c))
    if diag.min() ** 2 < 1e-12 * diag.max() ** 2:
        return None
    sol = linalg.cho_solve((c, lower), rhs / d, check_finite=False) / d
    inv = linalg.cho_solve((c, lower), np.eye(len(d)), check_finite=False)
    return sol, np.diag(inv) / d**2

def _check_separation(mu: np.ndarray, w: np.ndarray, beta: np.ndarray, columns: list[str],
                      lhs: str, *, force: bool = False) -> None:
    bad = ((mu < EPS10) | (mu > 1 - EPS10)) & (w > 0)
    if bad.any() or force:
        order = np.argsort(-np.abs(beta))
        raise ModelError(
            f"complete or quasi-complete separation: {int(bad.sum())} fitted probabilities are "
            "numerically 0 or 1, so some coefficients diverge", column=lhs,
            values=[f"{columns[j]}={beta[j]:.3g}" for j in order[:3]],
            hint="merge sparse categories or drop the perfectly predicting variable")


def r_weight_scale(design: Any) -> float:
    """The mean weight R's ``svyglm`` divides the weights by (``rescale=TRUE``): over the rows R's
    design holds -- the domain's rows (R's ``subset`` drops the others), or every row of a
    calibrated design (whose subsets keep all rows with zero weight). Deviances, log-likelihoods
    and the naive covariance are reported on this scale, as in R."""
    w = np.asarray(design.weights, dtype=float)
    rows = design.n_total if getattr(design, "calibrations", ()) else max(design.n, 1)
    return float(w.sum() / rows)


_OFFSET = re.compile(r"\boffset\(")


def _split_offsets(formula: str) -> tuple[str, list[str]]:
    """Remove ``offset(expr)`` terms from a formula; return the formula and the expressions."""
    exprs: list[str] = []
    while (m := _OFFSET.search(formula)) is not None:
        depth, j = 1, m.end()
        while j < len(formula) and depth:
            depth += {"(": 1, ")": -1}.get(formula[j], 0)
            j += 1
        if depth:
            raise ModelError(f"unbalanced parentheses in offset(): {formula!r}")
        exprs.append(formula[m.end(): j - 1].strip())
        before, after = formula[: m.start()].rstrip(), formula[j:].lstrip()
        if before.endswith("+"):
            before = before[:-1].rstrip()
        elif after.startswith("+"):
            after = after[1:].lstrip()
        formula = f"{before} {after}".strip()
    if formula.endswith("~"):
        formula += " 1"
    return formula, exprs


def _numeric(col: pd.Series) -> np.ndarray:
    return pd.to_numeric(col, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def eval_offset(data: pd.DataFrame, exprs: list[str], source: str | None = None) -> np.ndarray:
    """Sum of offset expressions evaluated on ``data`` by the expression language (column
    names, arithmetic and log/exp/sqrt/...; see surveykit.expressions): never bare eval."""
    total = np.zeros(len(data))
    for expr in exprs:
        val = evaluate(expr, data, kind=ModelError, what="offset", file=source,
                       convert=_numeric)
        try:
            arr = np.asarray(val, dtype=float)
        except (TypeError, ValueError) as exc:
            raise ModelError(f"offset({expr}) is not numeric", file=source,
                             column=expr) from exc
        total = total + np.broadcast_to(arr, (len(data),))
    return total


@mi_aware
def glm(design: Any, formula: str, family: str = "gaussian", link: str | None = None, *,
        offset: str | np.ndarray | pd.Series | None = None, tol: float = 1e-10,
        maxiter: int = 100) -> ModelResult:
    """Fit a survey-weighted GLM (R ``svyglm``): pseudo-ML estimates, design-based covariance.

    ``family``: "gaussian", "binomial", "quasibinomial", "poisson", "quasipoisson", "Gamma" or
    "inverse.gaussian"; ``link`` defaults to R's (identity, logit, log, inverse, 1/mu^2) and
    takes R's other links (gaussian: log, inverse; binomial: probit, cloglog, cauchit, log;
    poisson: identity, sqrt; Gamma: identity, log). Offsets as R: ``offset(log(x))`` terms in
    the formula and/or ``offset=`` (a column name or one value per data row; added). The fit
    converges on the score (``tol``: relative size of the scoring step; ``maxiter``), so it is
    the exact solution of the weighted score equations to ~1e-10 whatever the family and
    link. Rows with missing
    model variables are excluded as a domain and counted in ``result.n_missing``; a missing
    offset is an error.

    Parameters
    ----------
    design : SurveyDesign, ReplicateDesign or MIDesign
        The survey design (a domain: ``design.subset(...)``).
    formula : str
        Model formula ``"outcome ~ terms"`` (``C(x)`` for a factor).
    family : str
        Error distribution, as R's ``family=`` (see above).
    link : str, optional
        Link function (default: the family's canonical link).
    offset : str, numpy.ndarray or pandas.Series, optional
        A column name, or one offset per data row (added to formula offsets).
    tol : float
        Convergence tolerance: relative size of the scoring step.
    maxiter : int
        Maximum number of scoring iterations.

    Returns
    -------
    ModelResult
        ``.params``, ``.vcov``, ``.tidy()``, ``.summary()``, ``.predict()`` ...

    Examples
    --------
    >>> df = sk.load_replica()
    >>> design = sk.SurveyDesign(df, weights="weight")
    >>> model = sk.glm(design, "approval ~ age + urban")
    >>> model.params.round(3).tolist()
    [3.979, 0.0, 0.345]
    """
    family = _FAMILY_ALIASES.get(family, family)
    if family not in FAMILIES:
        raise ModelError(f"unknown family {family!r}", hint=f"use one of {', '.join(FAMILIES)}")
    fam = FAMILIES[family]
    kind = fam.kind
    link_name = link or fam.default_link
    if link_name not in fam.links:
        raise ModelError(f"link {link_name!r} is not available for family {family!r}",
                         hint=f"use one of {', '.join(fam.links)}")
    if not (tol > 0 and maxiter >= 1):
        raise ModelError(f"tol must be positive and maxiter at least 1 (got {tol}, {maxiter})")
    lk = LINKS[link_name]
    clean, exprs = _split_offsets(formula) if isinstance(formula, str) else (formula, [])
    if isinstance(offset, str):
        if offset not in design.data.columns:
            raise ModelError("offset= must name a column of the design's data",
                             file=design.source, column=offset)
        exprs.append(f"`{offset}`" if not re.fullmatch(r"[A-Za-z_]\w*", offset) else offset)
    elif offset is not None:  # one value per row of the design's data
        arr = np.asarray(align_to(design.data, offset, "offset", design.source), dtype=float)
        if arr.shape != (design.n_total,):
            raise ModelError(f"offset= must be a column name or {design.n_total} values (one "
                             f"per row of the data), got shape {arr.shape}",
                             file=design.source)
        design = design.with_columns(_sk_offset=arr)
        exprs.append("_sk_offset")
    frame = build_frame(design, clean)
    off: np.ndarray | None = None
    if exprs:
        full_off = eval_offset(design.data, exprs, design.source)
        bad = ~np.isfinite(full_off[frame.rows])
        if bad.any():
            raise ModelError(f"offset has missing or infinite values in {int(bad.sum())} rows "
                             "of the fitted rows", file=design.source, column=", ".join(exprs),
                             values=full_off[frame.rows][bad].tolist(),
                             hint="subset them out of the design first")
        off = full_off[frame.rows]
    y = _outcome(frame, kind)
    w = np.asarray(design.weights, dtype=float)[frame.rows]
    X = frame.X
    check_rank(X, w, frame.columns, source=design.source)
    beta, it, converged, gnorm = irls(X, y, w, kind, lk, offset=off, tol=tol, maxit=maxiter)
    eta = X @ beta + (0 if off is None else off)
    if kind == "binomial" and link_name != "log":
        mu = lk.inverse(eta)
        if not converged and np.max(np.abs(eta)) > 15:
            _check_separation(mu, w, beta, frame.columns, frame.lhs, force=True)
        _check_separation(mu, w, beta, frame.columns, frame.lhs)
    if not converged:
        raise ConvergenceError(
            f"IRLS did not converge in {it} iterations (last score norm {gnorm:.3g})",
            column=frame.lhs, hint="check for separation or extreme weights, or raise maxiter")
    mu = lk.inverse(eta)
    me = lk.mu_eta(eta)
    var = variance(kind, mu)
    A = X.T @ (X * (w * me**2 / var)[:, None])
    Ainv = np.linalg.inv(A)

    def fit(wr: np.ndarray) -> tuple[np.ndarray, bool, float]:
        br, _, ok, gn = irls(X, y, wr, kind, lk, beta0=beta, offset=off, tol=tol, maxit=maxiter)
        return br, ok, gn

    V, reps = model_vcov(design, frame, beta,
                   lambda: (X * (w * (y - mu) * me / var)[:, None]) @ Ainv, fit)
    p = len(beta)
    df_resid = design.subset(frame.used).df + 1 - p
    scale = r_weight_scale(design)
    return ModelResult(
        model="glm", family=family, link=link_name, frame=frame, design=design,
        params=pd.Series(beta, index=frame.columns, name="estimate"),
        vcov=pd.DataFrame(V, index=frame.columns, columns=frame.columns),
        df_resid=df_resid, iterations=it, naive_vcov=Ainv, replicates=reps,
        extra={"kind": kind, "y": y, "offset": off, "offset_exprs": exprs, "tol": tol,
               "maxiter": maxiter, "weight_scale": scale,
               "deviance": deviance(kind, y, mu, w) / scale},
    )


def refit_deviance(model: ModelResult, keep: np.ndarray) -> float:
    """Deviance (R's weight scale) of ``model`` refitted on the same rows, weights and offset
    with only the columns ``keep`` of its model matrix: R's ``update(model, . ~ . - terms)``
    inside ``regTermTest(method="LRT")``."""
    ex = model.extra
    lk = LINKS[model.link]
    X = model.frame.X[:, keep]
    w = np.asarray(model.design.weights, dtype=float)[model.frame.rows]
    beta0 = model.params.to_numpy()[keep] if X.shape[1] else None
    if X.shape[1] == 0:  # no columns left: the fitted mean is the offset alone
        eta = np.zeros(len(w)) if ex["offset"] is None else ex["offset"]
        return deviance(ex["kind"], ex["y"], lk.inverse(eta), w) / ex["weight_scale"]
    beta, it, ok, gnorm = irls(X, ex["y"], w, ex["kind"], lk, beta0, offset=ex["offset"],
                               tol=ex["tol"], maxit=ex["maxiter"])
    if not ok:
        raise ConvergenceError(f"the smaller model did not converge in {it} iterations (last "
                               f"score norm {gnorm:.3g})", column=model.frame.lhs)
    eta = X @ beta + (0 if ex["offset"] is None else ex["offset"])
    return deviance(ex["kind"], ex["y"], lk.inverse(eta), w) / ex["weight_scale"]
