"""Design-based information criteria for survey GLMs (R ``AIC.svyglm``, ``BIC.svyglm``).

AIC (Lumley & Scott 2015): ``deviance + 2 * eff.p`` where the effective number of parameters
``eff.p`` is the sum of the design effects ``lambda`` (eigenvalues of ``V0^{-1} V`` over the
non-intercept coefficients, as in the Rao-Scott LRT) and ``deltabar`` their mean. For a
Gaussian identity-link model R uses the working Gaussian log-likelihood instead,
``N log(s2) + N + N log(2 pi)`` with ``s2`` the design-based residual variance, ``eff.p`` adds
the design effect of ``s2``, and all three numbers are divided by ``s2`` (R's
``extractAIC_svylm``). BIC (Lumley & Scott 2015): ``wald + p log(n) + log det(Delta) +
deviance(maximal)``, the Wald statistic for the coefficients of the maximal model absent from
this one. Deviances and the naive covariance are on R's weight scale (weights / mean weight).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from surveykit.errors import ModelError
from surveykit.mi.dispatch import mi_aware

_INSTEAD = {
    "ordinal": ("R survey has no logLik, AIC or BIC for svyolr",
                "compare nested ordinal models with wald_test(model, terms, method='LRT') "
                "(R regTermTest on svyolr) or method='Wald'"),
    "negbin": ("R survey has no negative binomial model, hence no design-based AIC/BIC for it",
               "compare nested models with wald_test(model, terms) (Wald)"),
    "multinom": ("R survey has no multinomial model (svyVGAM has no AIC/BIC either)",
                 "compare nested models with wald_test(model, terms) (Wald)"),
}


def _require_glm(model: Any, what: str) -> None:
    """AIC/BIC exist for glm only (R ``AIC.svyglm``/``BIC.svyglm``); otherwise a typed error
    that says why and what to use instead."""
    if model.model != "glm":
        why, instead = _INSTEAD.get(model.model, (f"R has no {what} for {model.model} models",
                                                  "use wald_test(model, terms)"))
        raise ModelError(f"no {what} for a {model.model} model: {why}", hint=instead)


def _non_intercept(model: Any) -> np.ndarray:
    return np.array([j for j, c in enumerate(model.params.index) if c != "Intercept"], int)


def _svylm_aic(model: Any, k: float) -> pd.Series:
    ex = model.extra
    w = np.asarray(model.design.weights, dtype=float)[model.frame.rows]
    c = w / ex["weight_scale"]  # R's prior weights
    y = ex["y"]
    mu = model.frame.X @ model.params.to_numpy() + (0 if ex["offset"] is None else ex["offset"])
    r = y - mu  # R's residuals.svyglm(type="pearson"): the prior weights cancel
    n = int(np.sum(w != 0))
    rbar = np.sum(w * r) / np.sum(w)
    s2 = float(np.sum(w * (r - rbar) ** 2) / np.sum(w) * n / (n - 1))  # R svyvar
    nhat = float(c.sum())
    m2ll = nhat * np.log(s2) + nhat + nhat * np.log(2 * np.pi)
    idx = _non_intercept(model) if "Intercept" in model.params.index else \
        np.arange(1, len(model.params))
    V = model.vcov.to_numpy()[np.ix_(idx, idx)]
    V0 = model.naive_vcov[np.ix_(idx, idx)] * ex["weight_scale"]
    dmu = np.diag(np.linalg.solve(V0, V))
    u = -1 / (2 * s2) + (y - mu) ** 2 / (2 * s2**2)
    delta_s2 = float(np.sum(c * u**2) / (nhat / (2 * s2**2)))
    effp = float(dmu.sum() + delta_s2)
    deltabar = float(np.mean(np.r_[dmu, delta_s2]))
    return pd.Series({"eff_p": effp, "AIC": m2ll + k * effp, "deltabar": deltabar}) / s2


def _lambdas(model: Any, index: list[int], scale: float) -> np.ndarray:
    """Eigenvalues of V0^{-1} V over ``index`` (V0: naive covariance, weights / ``scale``)."""
    V = model.vcov.to_numpy()[np.ix_(index, index)]
    V0 = model.naive_vcov[np.ix_(index, index)] * scale
    return np.sort(np.real(np.linalg.eigvals(np.linalg.solve(V0, V))))[::-1]


@mi_aware
def aic(model: Any, k: float = 2.0) -> pd.Series:
    """eff_p, AIC and deltabar of a survey GLM, as R's ``AIC.svyglm`` (see module docs)."""
    _require_glm(model, "AIC")
    if model.family == "gaussian" and model.link == "identity":
        return _svylm_aic(model, k)
    idx = _non_intercept(model)
    if len(idx):
        lam = _lambdas(model, list(idx), model.extra["weight_scale"])  # R's AIC scale
        effp, deltabar = float(lam.sum()), float(lam.mean())
    else:
        effp, deltabar = 0.0, float("nan")
    return pd.Series({"eff_p": effp, "AIC": model.deviance() + k * effp, "deltabar": deltabar})


@mi_aware
def bic(model: Any, maximal: Any | None = None) -> pd.Series:
    """p, BIC and effective sample size neff, as R's ``BIC.svyglm(model, maximal=)``.

    ``maximal`` (default: the model itself) is the largest model of the comparison; every
    coefficient of ``model`` must be in it, and both must be fitted to the same rows."""
    _require_glm(model, "BIC")
    big = model if maximal is None else maximal
    _require_glm(big, "BIC")
    names, big_names = list(model.params.index), list(big.params.index)
    missing = [c for c in names if c not in big_names]
    if missing:
        raise ModelError("coefficients in the model but not in the maximal model",
                         values=missing)
    if model.nobs != big.nobs:
        raise ModelError("model and maximal model are fitted to different rows",
                         values=[model.nobs, big.nobs])
    pm, pM = len(names), len(big_names)
    n = model.nobs + (0 if "Intercept" in names else 1)  # 1 + R's df.null
    idx = [j for j, c in enumerate(big_names) if c not in names]
    if idx:
        b = big.params.to_numpy()[idx]
        V = big.vcov.to_numpy()[np.ix_(idx, idx)]
        V0 = big.naive_vcov[np.ix_(idx, idx)] * big.extra["weight_scale"]
        wald = float(b @ np.linalg.solve(V, b))
        det = float(np.linalg.det(np.linalg.solve(V0, V)))
        neff = n / det ** (1 / (pM - pm))
    else:
        wald, det, neff = 0.0, 1.0, float("nan")
    return pd.Series({"p": float(pm), "BIC": wald + pm * np.log(n) + np.log(det)
                      + big.deviance(), "neff": neff})
