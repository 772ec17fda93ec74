"""Profile-likelihood confidence intervals of survey GLM coefficients, as R's
``confint(svyglm, method = "likelihood")``.

R profiles the working (rescaled-weight) deviance of each coefficient with MASS's
``profile.glm``: the coefficient is fixed at steps of ``zmax / 5`` design standard errors
each side of its estimate (at most nine steps, stopping once ``|z| >= zmax``), the other
coefficients refitted with it as an offset; ``z = +-sqrt(delta deviance / dispersion)``, the
dispersion being ``svyvar`` of the Pearson residuals (any family). The signed roots are
interpolated by an FMM cubic spline over ``3 x`` the grid points (R's ``spline``) and inverted
linearly at ``+-qnorm(2 alpha)``, where the level is rescaled for the design effect of the
coefficient: ``alpha = pnorm(qt((1 - level) / 2, ddf) sqrt(lambda)) / 2`` with ``lambda`` =
design variance / model-based variance. ``zmax`` is ``sqrt(qchisq(alpha, 1))`` for the
binomial and Poisson families and ``sqrt(qf(alpha, 1, n - p))`` for the others. This module
repeats those steps (grid and spline included, as :mod:`surveykit.estimation.profile_ci`
does for ``svyciprop``), so the limits are R's.

On a replicate design (R >= 4.2's ``confint`` of an ``svrepglm``; survey 4.1.1 returns NA
limits there) the same profile is taken: the design variance in ``lambda`` and the step's
standard error are the replicate ones, and the dispersion is ``summary.svrepglm``'s
``sum(w r^2) / sum(w)`` of the Pearson residuals.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from surveykit._dist import norm_cdf, norm_ppf, t_ppf
from surveykit.errors import ConvergenceError, ModelError
from surveykit.estimation.profile_ci import _approx, fmm_spline

__all__ = ["profile_confint"]


def _dispersion(model: Any, mu: np.ndarray, w: np.ndarray) -> float:
    """R's ``summary(fit)$dispersion``: ``svyvar(resid(fit, "pearson"), design)`` (Pearson
    residuals on R's weight scale -- a constant factor when rows were excluded for missing
    values -- with Kish's n / (n - 1)), or on a replicate design ``summary.svrepglm``'s
    weighted mean of the squared Pearson residuals (not centred, no n / (n - 1))."""
    from surveykit.models.glm import variance

    ex = model.extra
    n_rows = model.design.n_total if getattr(model.design, "calibrations", ()) else len(w)
    factor = (w.sum() / n_rows) / ex["weight_scale"]
    r = (ex["y"] - mu) * np.sqrt(factor) / np.sqrt(variance(ex["kind"], mu))
    if model.design.is_replicate:  # R's summary.svrepglm: sum(w r^2) / sum(w), no centring
        return float(np.sum(w * r**2) / np.sum(w))
    n = int(np.count_nonzero(w))
    rbar = float(np.sum(w * r) / np.sum(w))
    return float(np.sum(w * (r - rbar) ** 2) / np.sum(w)) * n / (n - 1)


def profile_confint(model: Any, parm: Sequence[str] | None = None, *, level: float = 0.95,
                    ddf: float | None = None) -> pd.DataFrame:
    """Profile-likelihood limits of glm coefficients (R ``confint(fit, method="likelihood")``).

    ``parm``: coefficient names (default all); ``ddf``: denominator df of the level's
    rescaling (default the model's residual df, as R; ``float("inf")`` for normal).
    Returns ``term, estimate, ci_low, ci_high``.
    """
    from scipy import stats  # only here: scipy.stats is slow to import

    from surveykit.models.glm import LINKS, deviance, irls

    if getattr(model, "model", None) != "glm":
        raise ModelError("profile-likelihood intervals are for glm models (R confint.svyglm)",
                         hint="use the Wald intervals of tidy()")
    if not 0 < level < 1:
        raise ModelError(f"level must be between 0 and 1, got {level}")
    names = list(model.params.index)
    which = names if parm is None else [str(p) for p in parm]
    unknown = [p for p in which if p not in names]
    if unknown:
        raise ModelError("unknown coefficient name(s)", values=unknown,
                         hint=f"coefficients are: {', '.join(names)}")
    ex = model.extra
    lk = LINKS[model.link]
    X = model.frame.X
    w = np.asarray(model.design.weights, dtype=float)[model.frame.rows]
    off = np.zeros(len(w)) if ex["offset"] is None else ex["offset"]
    beta = model.params.to_numpy()
    se = model.std_errors.to_numpy()
    eta = X @ beta + off
    mu = lk.inverse(eta)
    scale = ex["weight_scale"]
    d0 = deviance(ex["kind"], ex["y"], mu, w) / scale
    disp = _dispersion(model, mu, w)
    ddf = float(model.df_resid) if ddf is None else float(ddf)
    if ddf <= 0:
        raise ModelError("zero or negative denominator df", values=[ddf])
    n, p = len(w), len(beta)
    V = model.vcov.to_numpy()
    V0 = model.naive_vcov * scale
    rows = []
    for name in which:
        i = names.index(name)
        lam = V[i, i] / V0[i, i]
        q = norm_ppf((1 - level) / 2) if np.isinf(ddf) else t_ppf((1 - level) / 2, ddf)
        alpha = float(norm_cdf(q * np.sqrt(lam)) / 2)
        if model.family in ("binomial", "poisson"):
            zmax = float(np.sqrt(stats.chi2.isf(alpha, 1)))
        else:
            zmax = float(np.sqrt(stats.f.isf(alpha, 1, n - p)))
        if not np.isfinite(zmax):  # R fails inside the profile ("NA/NaN/Inf in 'y'")
            raise ModelError(f"no profile interval for {name}: its design variance is "
                             f"{lam:.4g} times the naive (dispersion-free) variance, so the "
                             "level rescaled for it leaves nothing to profile",
                             column=name, hint="use the Wald intervals (method='Wald')")
        keep = np.array([j for j in range(p) if j != i], dtype=int)
        zs, bs = [0.0], [float(beta[i])]
        for sgn in (-1, 1):
            step, z, start = 0, 0.0, beta[keep]
            while (step := step + 1) < 10 and abs(z) < zmax:
                b = float(beta[i] + sgn * step * zmax / 5 * se[i])
                o = off + X[:, i] * b
                if len(keep):
                    bk, it, ok, _ = irls(X[:, keep], ex["y"], w, ex["kind"], lk, start,
                                          offset=o, tol=ex["tol"], maxit=ex["maxiter"])
                    if not ok:
                        raise ConvergenceError(f"profiling {name} at {b:.6g}: the refit did not "
                                               f"converge in {it} iterations", column=name)
                    start = bk
                    e = X[:, keep] @ bk + o
                else:
                    e = o
                dev = deviance(ex["kind"], ex["y"], lk.inverse(e), w) / scale
                zz = (dev - d0) / disp
                if zz < -1e-3:
                    raise ConvergenceError(f"profiling {name} found a better fit than the "
                                           "model's: the fit had not converged", column=name)
                z = sgn * float(np.sqrt(max(zz, 0.0)))
                zs.append(z)
                bs.append(b)
        order = np.argsort(zs, kind="stable")
        bx, zy = np.asarray(bs)[order], np.asarray(zs)[order]
        xout = np.linspace(bx.min(), bx.max(), 3 * bx.size)
        yout = fmm_spline(bx, zy, xout)
        cut = float(norm_ppf(2 * alpha))
        lo, hi = _approx(yout, xout, np.array([cut, -cut]))
        rows.append({"term": name, "estimate": float(beta[i]), "ci_low": float(lo),
                     "ci_high": float(hi)})
    return pd.DataFrame(rows, columns=["term", "estimate", "ci_low", "ci_high"])
