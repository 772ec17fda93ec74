"""The result object shared by ``glm``, ``ordinal`` and ``negbin``.

Inference follows R model by model: ``glm`` and ``negbin`` use the t distribution with the
model's residual degrees of freedom (R's ``summary.svyglm`` p-values and ``confint.svyglm``
intervals, both ``qt``/``pt`` on ``df.residual``); ``ordinal`` uses the normal distribution,
because R has no ``confint`` method for ``svyolr``, so ``confint`` falls back to
``confint.default`` (normal quantiles), and ``summary.svyolr`` prints no p-values (ours are the
matching normal ones). Term tests (``wald_test``) use the residual df for every model, as R's
``regTermTest``. Standard errors of exponentiated estimates (odds
ratios, incidence-rate ratios) are by the delta method, ``exp(b) * se(b)``, with confidence
limits ``exp(b -/+ t * se(b))``. Average marginal effects are design-weighted means over the
fitted rows of the change in the predicted response (a derivative for numeric variables, a
discrete change from the reference level for factors), with delta-method standard errors from
the design-based covariance of the coefficients.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from surveykit._dist import norm_pdf, norm_ppf, norm_sf, t_ppf, t_sf
from surveykit._text import terminal_safe
from surveykit.display import stars
from surveykit.errors import ModelError
from surveykit.inference import ReplicateEstimates, attach_covariance
from surveykit.labels import term_labels


def link_parts(link: str, u: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """cdf F(u), survival F(-u), density f(u) and f'(u) of a symmetric link, computed once."""
    if link == "logit":  # one exp: with e = exp(-|u|), F and S are 1/(1+e) and e/(1+e)
        e = np.exp(-np.abs(u))
        big = 1.0 / (1.0 + e)
        small = e * big
        pos = u >= 0
        F, S = np.where(pos, big, small), np.where(pos, small, big)
        f = big * small
        return F, S, f, f * (S - F)
    F, S = special.ndtr(u), special.ndtr(-u)
    f = norm_pdf(u)
    return F, S, f, -u * f


#: cumulative link distributions: name -> (cdf, pdf, derivative of the pdf)
CUMLINKS: dict[str, tuple[Any, Any, Any]] = {
    "logit": (
        special.expit,
        lambda u: special.expit(u) * special.expit(-u),
        lambda u: special.expit(u) * special.expit(-u) * (1 - 2 * special.expit(u)),
    ),
    "probit": (
        special.ndtr,
        norm_pdf,
        lambda u: -u * norm_pdf(u),
    ),
}


def series_or_frame(values: pd.Series, frame: bool | None) -> pd.Series | pd.DataFrame:
    """``predict``'s one-column answers: a DataFrame (column ``estimate``, the name the
    ``se=True`` frames use; ``attrs["type"]`` the prediction type) with ``frame=True``. The
    Series of earlier releases is kept with ``frame=False`` and, for one release, by default
    with a DeprecationWarning (predict always returns a DataFrame from the next release)."""
    if frame:
        out = values.to_frame("estimate")
        out.attrs["type"] = values.name
        return out
    if frame is None:
        warnings.warn("predict() returns a DataFrame (column 'estimate') from the next release; "
                      "pass frame=True to get it now, or frame=False to keep the Series",
                      DeprecationWarning, stacklevel=3)
    return values


def _t_inference(est: np.ndarray, se: np.ndarray, df: float, conf_level: float
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """statistic, two-sided p-value and interval: t on ``df``, normal when ``df`` is inf."""
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = est / se
    if np.isinf(df):
        pval = 2 * norm_sf(np.abs(stat))
        q = norm_ppf(0.5 + conf_level / 2)
    elif df > 0:
        pval = 2 * t_sf(np.abs(stat), df)
        q = t_ppf(0.5 + conf_level / 2, df)
    else:  # R: NaN p-values and intervals when the residual df are not positive
        pval = np.full_like(stat, np.nan)
        q = np.nan
    return stat, pval, est - q * se, est + q * se


@dataclass
class ModelResult:
    """A fitted survey model. ``params``/``vcov`` hold coefficients (and, for ordinal models,
    the thresholds named like R: ``"1|2"``).

    On a replicate design ``replicates`` holds the model refitted with every replicate's
    weights (R x len(params), R's ``svyglm(..., return.replicates=TRUE)``) with the design's
    replicate covariance; ``vcov`` is that covariance of them, and
    :func:`surveykit.inference.contrast` evaluates a nonlinear function of the coefficients
    on every replicate. None on a linearisation design."""

    model: str
    family: str
    link: str
    frame: Any
    design: Any
    params: pd.Series
    vcov: pd.DataFrame
    df_resid: int
    iterations: int = 0
    naive_vcov: np.ndarray | None = None
    levels: list[Any] = field(default_factory=list)  # ordinal outcome categories
    extra: dict[str, Any] = field(default_factory=dict)
    replicates: ReplicateEstimates | None = field(default=None, repr=False)

    # -- basic accessors ---------------------------------------------------------------------
    @property
    def nobs(self) -> int:
        """Respondents used in the fit (in the domain and complete)."""
        return len(self.frame.rows)

    @property
    def n_missing(self) -> int:
        """Respondents of the domain excluded because a model variable is missing."""
        return int(self.frame.n_missing)

    @property
    def std_errors(self) -> pd.Series:
        return pd.Series(np.sqrt(np.diag(self.vcov.to_numpy())), index=self.params.index,
                         name="std_error")

    @property
    def formula(self) -> str:
        return self.frame.formula

    @property
    def n_thresholds(self) -> int:
        return max(len(self.levels) - 1, 0)

    @property
    def n_coef(self) -> int:
        """Number of regression coefficients (excluding ordinal thresholds)."""
        return len(self.params) - self.n_thresholds

    def deviance(self) -> float:
        """Weighted deviance on R's weight scale (weights divided by their mean, ``svyglm``'s
        ``rescale=TRUE``), so it equals R's ``deviance(fit)``."""
        if "deviance" not in self.extra:
            raise ModelError(f"no deviance for a {self.model} model")
        return float(self.extra["deviance"])

    @property
    def inference_df(self) -> float:
        """Degrees of freedom of ``tidy()``'s intervals and p-values: inf (normal) for ordinal
        models, as R's ``confint.default`` on ``svyolr``; ``df_resid`` (t) otherwise."""
        return float("inf") if self.model == "ordinal" else float(self.df_resid)

    def default_exponentiate(self) -> bool:
        """Odds ratios for logit models, IRRs for log-link models; raw coefficients otherwise."""
        return self.link in ("logit", "log")

    def deff(self) -> pd.Series:
        """Design effects of the coefficients (R ``deff(svyglm(..., deff=TRUE))``): design
        variance over the variance of the same model fitted as an ordinary weighted GLM to an
        SRS -- the model-based covariance on R's weight scale times glm's dispersion (Pearson
        chi-square / residual df; 1 for the binomial and Poisson families)."""
        if self.model != "glm":
            raise ModelError(f"no design effects for a {self.model} model (R has them for "
                             "svyglm only)")
        from surveykit.models.glm import LINKS, variance

        ex = self.extra
        w = np.asarray(self.design.weights, dtype=float)[self.frame.rows] / ex["weight_scale"]
        eta = self.frame.X @ self.params.to_numpy() + (0 if ex["offset"] is None
                                                       else ex["offset"])
        mu = LINKS[self.link].inverse(eta)
        if self.family in ("binomial", "poisson"):
            disp = 1.0
        else:
            n_obs = int(np.count_nonzero(w))
            disp = float(np.sum(w * (ex["y"] - mu) ** 2 / variance(ex["kind"], mu))
                         / (n_obs - len(self.params)))
        vsrs = np.diag(self.naive_vcov) * ex["weight_scale"] * disp
        return pd.Series(np.diag(self.vcov.to_numpy()) / vsrs, index=self.params.index,
                         name="deff")

    def confint(self, level: float = 0.95, *, method: str = "Wald",
                parm: list[str] | None = None, ddf: float | None = None) -> pd.DataFrame:
        """Confidence limits of the coefficients (R ``confint``): ``method="Wald"`` (the
        intervals of :meth:`tidy`) or ``"likelihood"`` (glm: profile likelihood, R
        ``confint(svyglm, method="likelihood")``, on linearisation and replicate designs,
        see :mod:`surveykit.models.profile`).
        Returns ``term, estimate, ci_low, ci_high``."""
        if method == "likelihood":
            from surveykit.models.profile import profile_confint

            return profile_confint(self, parm, level=level, ddf=ddf)
        if method != "Wald":
            raise ModelError(f"unknown method {method!r}", hint="use 'Wald' or 'likelihood'")
        out = self.tidy(conf_level=level)[["term", "estimate", "ci_low", "ci_high"]]
        return out if parm is None else out[out["term"].isin(parm)].reset_index(drop=True)

    # -- tidy table ----------------------------------------------------------------------------
    def tidy(self, exponentiate: bool = False, conf_level: float = 0.95) -> pd.DataFrame:
        """term, label, estimate, std_error, statistic, p_value, ci_low, ci_high, kind. ``term`` is
        the formula's name (``C(age_group)[T.2]``), ``label`` its reading from the data's
        labels ("Age group: 31–50", :func:`surveykit.labels.term_labels`).

        glm/negbin: t with ``df_resid`` (R ``summary.svyglm``/``confint.svyglm``); ordinal:
        normal quantiles and p-values, as R (``svyolr`` has no ``confint`` method, so R uses
        ``confint.default``).

        ``kind`` is "coef" for regression coefficients and "cutpoint" for ordinal thresholds.
        With ``exponentiate=True`` the coefficients -- never the cut-points, which stay on the
        link scale -- are reported as exp(b), their SE as exp(b) * se(b) and the interval as
        exp of the limits.
        """
        if not 0 < conf_level < 1:
            raise ModelError(f"conf_level must be in (0, 1), got {conf_level}")
        est = self.params.to_numpy(dtype=float)
        se = self.std_errors.to_numpy()
        stat, pval, lo, hi = _t_inference(est, se, self.inference_df, conf_level)
        out = pd.DataFrame({"term": self.params.index, "estimate": est, "std_error": se,
                            "statistic": stat, "p_value": pval, "ci_low": lo, "ci_high": hi})
        out.insert(1, "label", term_labels(out["term"], self.design, self.frame.lhs))
        out["kind"] = ["coef"] * self.n_coef + ["cutpoint"] * self.n_thresholds
        if exponentiate:
            k = self.n_coef
            e = np.exp(est[:k])
            out.loc[: k - 1, "estimate"] = e
            out.loc[: k - 1, "std_error"] = e * se[:k]
            out.loc[: k - 1, "ci_low"] = np.exp(lo[:k])
            out.loc[: k - 1, "ci_high"] = np.exp(hi[:k])
        return out

    # -- predictions ---------------------------------------------------------------------------
    def _model_matrix(self, newdata: pd.DataFrame) -> np.ndarray:
        return self.frame.model_matrix(newdata)

    def _ordinal_probs(self, eta: np.ndarray, params: np.ndarray | None = None) -> np.ndarray:
        cdf = CUMLINKS[self.link][0]
        th = (self.params.to_numpy() if params is None else params)[self.n_coef:]
        cum = cdf(th[None, :] - eta[:, None])
        full = np.column_stack([np.zeros(len(eta)), cum, np.ones(len(eta))])
        return np.diff(full, axis=1)

    def _offset(self, newdata: pd.DataFrame | None, use: bool) -> np.ndarray | float:
        """The offset of the fitted rows, or evaluated on ``newdata`` (0 without one)."""
        exprs = self.extra.get("offset_exprs") or []
        if not exprs or not use:
            return 0.0
        if newdata is None:
            return self.extra["offset"]
        from surveykit.models.glm import eval_offset

        off = eval_offset(newdata, exprs)
        if not np.all(np.isfinite(off)):
            raise ModelError("the offset is missing or infinite in new data",
                             column=", ".join(exprs), hint="or predict with offset=False")
        return off

    def predict(self, newdata: pd.DataFrame | None = None, type: str = "response", *,
                se: bool = False, offset: bool = True, conf_level: float = 0.95,
                frame: bool | None = None) -> pd.Series | pd.DataFrame:
        """Predictions for ``newdata`` (default: the fitted rows).

        ``type``: "link" (linear predictor x'b), "response" (mean; for ordinal models the most
        probable category) or "prob" (ordinal: n x K category probabilities; binomial: P(y=1)).
        The model's offset is included (evaluated on ``newdata``); ``offset=False`` leaves it
        out, as R's ``predict.svyglm`` always does.

        ``se=True`` (R ``predict.svyglm(se.fit=TRUE)``): a frame with estimate, std_error,
        ci_low, ci_high (normal quantiles, as R's ``confint`` of the prediction), by the delta
        method from the design-based covariance of the coefficients; its ``attrs["vcov"]`` is
        the joint covariance of the predictions (R's ``vcov=TRUE``), so ``contrast`` works on
        it. On a replicate design it also carries the predictions made with every replicate's
        coefficients (R's ``predict.svrepglm`` of a fit with replicates), so a nonlinear
        contrast of predictions is evaluated replicate by replicate. Ordinal models with
        ``type="prob"``: one row per (row, level) with the category probability and its SE
        (no replicate predictions, as R's ``svyolr``).

        ``frame=True``: one-column answers (``type="link"``/``"response"``) are a DataFrame
        with column ``estimate``, as every other prediction; the default still returns the
        Series of earlier releases, with a DeprecationWarning (``frame=False``: no warning).
        """
        if newdata is None:
            X = self.frame.X
            index = self.frame.data.index
        else:
            X = self._model_matrix(newdata)
            index = newdata.index
        beta = self.params.to_numpy()[: self.n_coef]
        eta = X @ beta
        if self.model != "ordinal":
            eta = eta + self._offset(newdata, offset)
        if type not in ("link", "response", "prob"):
            raise ModelError(f"unknown prediction type {type!r}",
                             hint="use 'link', 'response' or 'prob'")
        if type == "prob" and self.model == "glm" and self.extra.get("kind") != "binomial":
            raise ModelError("type='prob' needs a binomial model or an ordinal model")
        if se:
            return self._predict_se(X, eta, index, type, conf_level)
        if type == "link":
            return series_or_frame(pd.Series(eta, index=index, name="link"), frame)
        if self.model == "ordinal":
            probs = pd.DataFrame(self._ordinal_probs(eta), index=index, columns=self.levels)
            if type == "prob":  # columns named by the outcome's value labels, codes in attrs
                codes, shown = self._level_names()
                probs.columns = shown
                probs.attrs["codes"] = codes
                return probs
            codes, _ = self._level_names()
            return series_or_frame(pd.Series(
                np.asarray(codes, dtype=object)[probs.to_numpy().argmax(1)], index=index,
                name="response"), frame)
        return series_or_frame(pd.Series(self._inverse_link(eta), index=index, name=type),
                               frame)

    def _predict_se(self, X: np.ndarray, eta: np.ndarray, index: pd.Index, type: str,
                    conf_level: float) -> pd.DataFrame:
        """Delta-method predictions with SEs and their joint covariance (see ``predict``)."""
        V = self.vcov.to_numpy()
        labels = [str(i) for i in index]
        reps = None  # ordinal: R's svyolr has no replicate predictions
        if self.model == "ordinal":
            if type != "prob":
                raise ModelError("ordinal predictions with se=True are category probabilities",
                                 hint="use type='prob'")
            est, G = self._ordinal_prob_grad(X, eta)  # (n*K,), (n*K, k)
            codes, shown = self._level_names()
            rows = np.repeat(np.asarray(index, dtype=object), len(codes))
            lev = np.tile(np.asarray(codes, dtype=object), len(index))
            names = [f"{r}:{v}" for r, v in zip(rows, np.tile(shown, len(index)), strict=True)]
            lead = {"row": rows, "level": lev}
            if shown != [str(c) for c in codes]:
                lead["level_label"] = np.tile(np.asarray(shown, dtype=object), len(index))
        else:
            G = X
            est = eta
            if type != "link":
                from surveykit.models.glm import LINKS

                lk = LINKS[self.link]
                est = lk.inverse(eta)
                G = X * lk.mu_eta(eta)[:, None]
            names = labels
            lead = {}
            G = np.column_stack([G, np.zeros((len(G), len(self.params) - G.shape[1]))])
            reps = self._replicate_predictions(X, eta, type)
        cov = G @ V @ G.T
        sd = np.sqrt(np.maximum(np.diag(cov), 0))
        q = norm_ppf(0.5 + conf_level / 2)
        out = pd.DataFrame({**lead, "estimate": est, "std_error": sd, "ci_low": est - q * sd,
                            "ci_high": est + q * sd},
                           index=None if lead else index)
        return attach_covariance(out, cov, names, None, coef=est, replicates=reps)

    def _replicate_predictions(self, X: np.ndarray, eta: np.ndarray, type: str
                               ) -> ReplicateEstimates | None:
        """The predictions made with every replicate's coefficients (R's ``predict.svrepglm``
        of a fit with replicates), so a nonlinear contrast of predictions uses the replicates;
        None without replicate estimates."""
        if self.replicates is None:
            return None
        k = X.shape[1]
        B = self.replicates.values[:, :k]
        with np.errstate(all="ignore"):
            eta_r = B @ X.T + (eta - X @ self.params.to_numpy()[:k])[None, :]  # + the offset
            if type != "link":
                from surveykit.models.glm import LINKS

                eta_r = LINKS[self.link].inverse(eta_r)
        return ReplicateEstimates(eta_r, self.replicates.vcov)

    def _level_names(self) -> tuple[list[Any], list[str]]:
        """The ordinal outcome's levels as codes (1.0 -> 1) and as shown: their value labels,
        or the codes as text when unlabelled or the labels repeat."""
        from surveykit.labels import as_code, value_labels

        codes = [as_code(v) for v in self.levels]
        vl = value_labels(self.design, self.frame.lhs)
        shown = [str(vl.get(c, c)) for c in codes]
        if len(set(shown)) != len(shown):
            shown = [str(c) for c in codes]
        return codes, shown

    def _ordinal_prob_grad(self, X: np.ndarray, eta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Category probabilities (row-major n x K, flattened) and their gradient in the
        parameters (coefficients, then thresholds)."""
        _, pdf, _ = CUMLINKS[self.link]
        pc = self.n_coef
        th = self.params.to_numpy()[pc:]
        n, K = len(eta), len(self.levels)
        probs = self._ordinal_probs(eta)
        f = np.column_stack([np.zeros(n), pdf(th[None, :] - eta[:, None]), np.zeros(n)])
        G = np.zeros((n, K, len(self.params)))
        G[:, :, :pc] = -(f[:, 1:] - f[:, :-1])[:, :, None] * X[:, None, :]
        for k in range(K):  # P_k = F(a_k - eta) - F(a_(k-1) - eta)
            if k < K - 1:
                G[:, k, pc + k] += f[:, k + 1]
            if k > 0:
                G[:, k, pc + k - 1] -= f[:, k]
        return probs.reshape(-1), G.reshape(n * K, -1)

    # -- information criteria (glm) ------------------------------------------------------------
    def aic(self, k: float = 2.0) -> pd.Series:
        """eff_p, AIC, deltabar: R's ``AIC.svyglm`` (Lumley-Scott design-based AIC); see
        :mod:`surveykit.models.infocrit`."""
        from surveykit.models.infocrit import aic

        return aic(self, k)

    def bic(self, maximal: ModelResult | None = None) -> pd.Series:
        """p, BIC, neff: R's ``BIC.svyglm(model, maximal=)`` (default maximal: this model)."""
        from surveykit.models.infocrit import bic

        return bic(self, maximal)

    def _inverse_link(self, eta: np.ndarray) -> np.ndarray:
        from surveykit.models.glm import LINKS

        return LINKS[self.link].inverse(eta)

    # -- average marginal effects ---------------------------------------------------------------
    def _mean_pred(self, X: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Weighted mean prediction(s) (m,) and their gradient wrt all params (m, k)."""
        params = self.params.to_numpy()
        pc = self.n_coef
        beta = params[:pc]
        eta = X @ beta
        sw = w / w.sum()
        if self.model == "ordinal":
            cdf, pdf, _ = CUMLINKS[self.link]
            th = params[pc:]
            u = th[None, :] - eta[:, None]
            F = np.column_stack([np.zeros(len(eta)), cdf(u), np.ones(len(eta))])
            f = np.column_stack([np.zeros(len(eta)), pdf(u), np.zeros(len(eta))])
            probs = np.diff(F, axis=1)  # n x K
            dprob_deta = -(f[:, 1:] - f[:, :-1])  # n x K
            K = probs.shape[1]
            grad = np.zeros((K, len(params)))
            grad[:, :pc] = dprob_deta.T @ (X * sw[:, None])
            fw = f[:, 1:-1].T @ sw  # mean pdf at each threshold, q
            for k in range(K):  # K categories (small): P_k rises with alpha_k, falls with alpha_k-1
                if k < K - 1:
                    grad[k, pc + k] += fw[k]
                if k > 0:
                    grad[k, pc + k - 1] -= fw[k - 1]
            return probs.T @ sw, grad
        from surveykit.models.glm import LINKS

        lk = LINKS[self.link]
        mean = np.array([lk.inverse(eta) @ sw])
        grad = np.zeros((1, len(params)))
        grad[0, :pc] = (lk.mu_eta(eta) * sw) @ X
        return mean, grad

    def _variables(self) -> list[tuple[str, str, list[Any], str]]:
        """(variable, kind, categories, factor code) for each data column used on the RHS."""
        return [(v.name, v.kind, list(v.categories), v.code) for v in self.frame.variables()]

    def marginal_effects(self, conf_level: float = 0.95) -> pd.DataFrame:
        """Average marginal effects on the response probability/mean (ordinal: on each category
        probability), with delta-method SEs from the design covariance (t with df_resid;
        normal for ordinal models, as ``tidy``).

        Numeric variables: weighted mean of d prediction / d x (central difference on the data,
        so transformed terms such as ``I(x**2)`` are handled). Factors: weighted mean change when
        every respondent is moved from the reference level to each other level.
        Columns: term, label (its reading from the data's labels, as :meth:`tidy`: "Income
        group: >4,000 RMB"), outcome (ordinal: the category code, followed by
        ``outcome_label``), estimate, std_error, statistic, p_value, ci_low, ci_high.
        """
        data = self.frame.data
        w = np.asarray(self.design.weights, dtype=float)[self.frame.rows]
        raw_names = self.frame.raw_columns
        V = self.vcov.to_numpy()
        outcomes = ([str(c) for c in self._level_names()[0]] if self.model == "ordinal"
                    else ["response"])
        rows: list[dict[str, Any]] = []
        for var, kind, cats, code in self._variables():
            effects: list[tuple[str, np.ndarray, np.ndarray]] = []
            if kind == "numeric":
                x = pd.to_numeric(data[var]).to_numpy(dtype=float)
                h = 1e-5 * max(float(np.std(x)), 1e-3)
                up, dn = data.copy(), data.copy()
                up[var] = x + h
                dn[var] = x - h
                m1, g1 = self._mean_pred(self._model_matrix(up), w)
                m0, g0 = self._mean_pred(self._model_matrix(dn), w)
                effects.append((var, (m1 - m0) / (2 * h), (g1 - g0) / (2 * h)))
            else:
                ref = next((c for c in cats if f"{code}[T.{c}]" not in raw_names), cats[0])
                base = data.copy()
                base[var] = pd.Series([ref] * len(data), index=data.index,
                                      dtype=data[var].dtype)
                m0, g0 = self._mean_pred(self._model_matrix(base), w)
                for c in cats:
                    if c == ref:
                        continue
                    alt = data.copy()
                    alt[var] = pd.Series([c] * len(data), index=data.index, dtype=data[var].dtype)
                    m1, g1 = self._mean_pred(self._model_matrix(alt), w)
                    effects.append((f"{var}[{c}]", m1 - m0, g1 - g0))
            for term, est, grad in effects:
                se = np.sqrt(np.einsum("ij,jk,ik->i", grad, V, grad))
                stat, pval, lo, hi = _t_inference(est, se, self.inference_df, conf_level)
                for k, name in enumerate(outcomes):
                    rows.append({"term": term, "outcome": name, "estimate": est[k],
                                 "std_error": se[k], "statistic": stat[k], "p_value": pval[k],
                                 "ci_low": lo[k], "ci_high": hi[k]})
        out = pd.DataFrame(rows, columns=["term", "outcome", "estimate", "std_error",
                                          "statistic", "p_value", "ci_low", "ci_high"])
        out.insert(1, "label", term_labels(out["term"], self.design, self.frame.lhs))
        if self.model == "ordinal":
            shown = self._level_names()[1]
            by_text = dict(zip(outcomes, shown, strict=True))
            out.insert(3, "outcome_label", [by_text[o] for o in out["outcome"]])
        return out

    # -- text output ---------------------------------------------------------------------------
    def describe_model(self) -> str:
        if self.model == "ordinal":
            return f"Survey ordinal regression (cumulative {self.link})"
        if self.model == "negbin":
            return "Survey negative binomial regression (NB2, log link)"
        return f"Survey GLM, family {self.family}, link {self.link}"

    def summary(self, conf_level: float = 0.95) -> str:
        """A printable summary: model, design, N, exclusions, coefficient table."""
        t = self.tidy(conf_level=conf_level)
        lines = [self.describe_model(), f"Formula: {self.formula}",
                 f"Design: {self.design.describe()}",
                 f"N used = {self.nobs}; excluded for missing model variables = {self.n_missing}; "
                 f"residual df = {self.df_resid}"]
        if self.model == "negbin":
            lines.append(f"alpha (NB2 dispersion) = {self.extra['alpha']:.6g} "
                         f"(SE {self.extra['alpha_se']:.4g}); log(alpha) estimated jointly")
        marks = [stars(p) if k != "cutpoint" else ""  # cut-points are not tests
                 for p, k in zip(t["p_value"], t["kind"], strict=True)]
        body = t.assign(stars=marks).to_string(index=False, float_format=lambda v: f"{v:.6g}")
        dist = ("normal, as R's confint.default for svyolr" if np.isinf(self.inference_df)
                else f"t with {self.df_resid} df")
        lines += ["", body, "", f"Signif.: * p<0.05, ** p<0.01, *** p<0.001 ({dist})"]
        return terminal_safe("\n".join(lines))

    def __repr__(self) -> str:
        return terminal_safe(f"<ModelResult {self.describe_model()}: {self.formula}, "
                             f"N={self.nobs}>", newlines=False)

    def _repr_html_(self) -> str:
        from surveykit.display import model_html

        return model_html(self)

    def to_markdown(self, exponentiate: bool | None = None, digits: int = 3, *,
                    ci: bool = False) -> str:
        """Publication table (Markdown): dependent variable, estimates with stars, SE in
        parentheses (``ci=True``: the 95 % CI in brackets), reference rows, cut-points
        section, N and excluded N; see :class:`surveykit.models.tables.RegressionTable`."""
        from surveykit.models.tables import RegressionTable

        return RegressionTable(self, exponentiate=exponentiate, digits=digits,
                               ci=ci).to_markdown()

    def to_docx(self, path: Any, exponentiate: bool | None = None, digits: int = 3, *,
                ci: bool = False, style: str = "apa", title: str | None = None) -> Any:
        """Publication table as a Word file (journal three-line layout with ``style="apa"``);
        see :meth:`surveykit.models.tables.RegressionTable.to_docx`."""
        from surveykit.models.tables import RegressionTable

        return RegressionTable(self, exponentiate=exponentiate, digits=digits, ci=ci,
                               title=title).to_docx(path, style=style)

    def to_latex(self, exponentiate: bool | None = None, digits: int = 3, *,
                 ci: bool = False) -> str:
        """Publication table (LaTeX tabular), the rows of :meth:`to_markdown`."""
        from surveykit.models.tables import RegressionTable

        return RegressionTable(self, exponentiate=exponentiate, digits=digits,
                               ci=ci).to_latex()
