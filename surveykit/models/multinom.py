"""Survey-weighted baseline-category multinomial logit for a nominal outcome (R
``svyVGAM::svy_vglm(family = multinomial)``; point estimates as ``nnet::multinom`` with weights).

Model: for outcome levels ``0..K-1`` with baseline ``b``,
``log P(Y = k | x) / P(Y = b | x) = x'beta_k`` (k != b). Parameters are stacked outcome level by
outcome level and named ``"<term>[<level>]"`` (e.g. ``"C(edu)[T.4][2]"``), so that
``wald_test(model, "C(edu)")`` tests a term in every equation at once; ``tidy()`` splits them
into ``outcome`` and ``term`` columns.

Estimation: pseudo-ML, Newton-Raphson on the design-weighted log-likelihood with the analytic
gradient and Hessian (vectorised over respondents; the loop is over outcome-level pairs), step
halving, converged to ~1e-10 relative step size.

Covariance: linearisation sandwich ``design.vcov(U H^{-1})`` with ``U`` the weighted score
contributions and ``H`` the observed information (what ``svy_vglm`` computes as
``vcov(svytotal(inffuns, design))``); replicate designs refit with every replicate's weights,
warm-started. Residual df = design df + 1 - p, with p the number of coefficients per equation
(``svyglm``'s rule applied to each logit; ``svy_vglm`` itself prints normal z tests).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from surveykit._dist import norm_ppf
from surveykit._text import terminal_safe
from surveykit.errors import ConvergenceError, ModelError
from surveykit.inference import attach_covariance
from surveykit.labels import label_of, term_labels, value_labels
from surveykit.mi.dispatch import mi_aware
from surveykit.models._design_matrix import build_frame, check_rank
from surveykit.models._newton import newton
from surveykit.models._replicates import model_vcov
from surveykit.models.results import ModelResult, _t_inference, series_or_frame


def _label(v: Any) -> str:
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    return str(v)


def outcome_codes(y: pd.Series, w: np.ndarray, column: str, base: Any = None
                  ) -> tuple[np.ndarray, list[Any]]:
    """0-based codes of the used rows with the baseline level first, and the levels in that
    order. Levels: Categorical categories, else sorted distinct values. Empty levels raise."""
    if isinstance(y.dtype, pd.CategoricalDtype):
        levels = list(y.cat.categories)
        codes = y.cat.codes.to_numpy().astype(np.intp)
    else:
        levels = sorted(pd.unique(y.dropna()).tolist(), key=lambda v: (str(type(v)), v))
        codes = pd.Categorical(y, categories=levels).codes.astype(np.intp)
    if len(levels) < 2:
        raise ModelError("multinomial outcome needs at least 2 categories among the rows used",
                         column=column, values=levels)
    wk = np.bincount(codes, weights=w, minlength=len(levels))
    empty = [levels[k] for k in np.flatnonzero(wk <= 0)]
    if empty:
        raise ModelError(f"{len(empty)} outcome categor{'y is' if len(empty) == 1 else 'ies are'} "
                         "empty in the fitted rows", column=column, values=empty,
                         hint="merge or drop the empty categories (a Categorical keeps unused "
                              "levels: remove_unused_categories())")
    if base is not None:
        matches = [k for k, lv in enumerate(levels) if lv == base or _label(lv) == str(base)]
        if not matches:
            raise ModelError("base is not a level of the outcome", column=column,
                             values=[base], hint=f"levels are {[_label(v) for v in levels]}")
        b = matches[0]
        order = [b] + [k for k in range(len(levels)) if k != b]
        remap = np.empty(len(levels), dtype=np.intp)
        remap[order] = np.arange(len(levels))
        codes, levels = remap[codes], [levels[k] for k in order]
    return codes, levels


class _MLogit:
    """Weighted multinomial log-likelihood in theta = (beta_1, ..., beta_M), M = K - 1."""

    def __init__(self, X: np.ndarray, codes: np.ndarray, K: int) -> None:
        self.X, self.codes, self.K = X, codes, K
        self.Y = np.zeros((len(codes), K))
        self.Y[np.arange(len(codes)), codes] = 1.0

    def probs(self, theta: np.ndarray) -> np.ndarray:
        """n x K probabilities (baseline first)."""
        p = self.X.shape[1]
        eta = np.column_stack([np.zeros(len(self.X)), self.X @ theta.reshape(-1, p).T])
        return special.softmax(eta, axis=1)

    def loglik(self, theta: np.ndarray, w: np.ndarray) -> float:
        p = self.X.shape[1]
        eta = np.column_stack([np.zeros(len(self.X)), self.X @ theta.reshape(-1, p).T])
        lse = special.logsumexp(eta, axis=1)
        return float(w @ (eta[np.arange(len(eta)), self.codes] - lse))

    def scores(self, theta: np.ndarray, w: np.ndarray, P: np.ndarray | None = None) -> np.ndarray:
        """n x Mp weighted score contributions."""
        P = self.probs(theta) if P is None else P
        R = (self.Y - P)[:, 1:] * w[:, None]
        return (R[:, :, None] * self.X[:, None, :]).reshape(len(self.X), -1)

    def grad_hess(self, theta: np.ndarray, w: np.ndarray, P: np.ndarray | None = None
                  ) -> tuple[np.ndarray, np.ndarray]:
        P = self.probs(theta) if P is None else P
        X, p, M = self.X, self.X.shape[1], self.K - 1
        Q = P[:, 1:]
        grad = (X.T @ ((self.Y[:, 1:] - Q) * w[:, None])).T.ravel()
        H = np.empty((M * p, M * p))
        for j in range(M):  # blocks: -X' diag(w q_j (delta_jk - q_k)) X
            for k in range(j, M):
                v = w * Q[:, j] * ((j == k) - Q[:, k])
                blk = -(X.T @ (X * v[:, None]))
                H[j * p:(j + 1) * p, k * p:(k + 1) * p] = blk
                H[k * p:(k + 1) * p, j * p:(j + 1) * p] = blk.T
        return grad, H


def _newton(model: _MLogit, w: np.ndarray, theta: np.ndarray, *, tol: float = 1e-10,
            maxit: int = 100) -> tuple[np.ndarray, np.ndarray, int, bool, float]:
    """Newton-Raphson with step halving (the shared driver
    :func:`surveykit.models._newton.newton`); (theta, Hessian, iterations, converged,
    |grad|)."""
    res = newton(lambda th: model.loglik(th, w), lambda th, _: model.grad_hess(th, w), theta,
                 tol=tol, maxit=maxit)
    return res.theta, res.hessian, res.iterations, res.converged, res.gnorm


@dataclass(repr=False)
class MultinomResult(ModelResult):
    """A fitted survey multinomial logit: ``params``/``vcov`` over ``"<term>[<level>]"``;
    ``outcome_levels`` (baseline first), ``terms`` (the model-matrix columns).

    Parameters
    ----------
    model : str
        The model name.
    family : str
        Error distribution (``"multinomial"``).
    link : str
        Link function.
    frame : pandas.DataFrame
        The model frame.
    design : SurveyDesign or ReplicateDesign
        The design the model was fitted on.
    params : pandas.Series
        The coefficients, named ``term[level]``.
    vcov : pandas.DataFrame
        Their design-based covariance.
    df_resid : int
        Residual degrees of freedom.
    iterations : int
        Iterations of the fit.
    naive_vcov : numpy.ndarray, optional
        The model-based (inverse information) covariance.
    levels : list
        Factor levels of the terms.
    extra : dict
        Further fit information.
    replicates : ReplicateEstimates, optional
        On a replicate design, the estimates refitted with every replicate's weights.
    outcome_levels : list, optional
        Outcome levels, the baseline first.
    terms : list of str, optional
        The model-matrix columns.

    Examples
    --------
    >>> df = sk.load_replica()
    >>> design = sk.SurveyDesign(df, weights="weight")
    >>> model = sk.multinom(design, "scs_manager ~ age")
    >>> type(model).__name__, model.outcome_levels[0]
    ('MultinomResult', 1...)
    """

    outcome_levels: list[Any] | None = None
    terms: list[str] | None = None

    @property
    def base(self) -> Any:
        return self.outcome_levels[0]

    def default_exponentiate(self) -> bool:
        return True  # relative risk ratios

    ratio_label = "RRR"

    def outcome_label(self, level: Any) -> str:
        """The value label of an outcome level ("central government"), else its code."""
        return label_of(value_labels(self.design, self.frame.lhs), level)

    def tidy(self, exponentiate: bool = False, conf_level: float = 0.95) -> pd.DataFrame:
        """outcome, outcome_label, term, label, estimate, std_error, statistic, p_value,
        ci_low, ci_high (t with df_resid), one row per (non-baseline outcome level, term).
        ``outcome_label`` is the outcome level's value label and ``label`` the term read from
        the data's labels ("Age group: 31–50"), as glm/ordinal ``tidy()``; codes and formula
        names stay in ``outcome``/``term``. ``exponentiate=True``: relative risk ratios exp(b)
        (vs the baseline), SE exp(b) se(b), exp of the limits. ``attrs``: ``vcov`` (labelled by
        parameter name), ``df``, ``base`` (code) and ``base_label``."""
        if not 0 < conf_level < 1:
            raise ModelError(f"conf_level must be in (0, 1), got {conf_level}")
        est = self.params.to_numpy(dtype=float)
        se = self.std_errors.to_numpy()
        stat, pval, lo, hi = _t_inference(est, se, self.df_resid, conf_level)
        if exponentiate:
            est, se, lo, hi = np.exp(est), np.exp(est) * se, np.exp(lo), np.exp(hi)
        terms = list(self.terms or [])
        levels = self.outcome_levels[1:]
        shown = term_labels(terms, self.design)
        out = pd.DataFrame({
            "outcome": np.repeat([_label(v) for v in levels], len(terms)),
            "outcome_label": np.repeat([self.outcome_label(v) for v in levels], len(terms)),
            "term": terms * len(levels), "label": shown * len(levels),
            "estimate": est, "std_error": se, "statistic": stat, "p_value": pval,
            "ci_low": lo, "ci_high": hi, "kind": "coef"})
        attach_covariance(out, self.vcov.to_numpy(), list(self.vcov.index), self.df_resid,
                          coef=self.params.to_numpy(), replicates=self.replicates)
        out.attrs.update(base=_label(self.base), base_label=self.outcome_label(self.base))
        return out

    def _link(self, X: np.ndarray, params: np.ndarray | None = None) -> np.ndarray:
        B = (self.params.to_numpy() if params is None else params).reshape(-1, X.shape[1])
        return X @ B.T

    def outcome_columns(self, levels: list[Any] | None = None) -> list[str]:
        """Readable names of outcome levels (default: all, baseline first): their value labels,
        or the codes as text when the outcome is unlabelled or its labels repeat."""
        levels = self.outcome_levels if levels is None else levels
        shown = [self.outcome_label(v) for v in levels]
        return shown if len(set(shown)) == len(shown) else [_label(v) for v in levels]

    def predict(self, newdata: pd.DataFrame | None = None, type: str = "prob", *,
                se: bool = False, conf_level: float = 0.95, frame: bool | None = None
                ) -> pd.Series | pd.DataFrame:
        """``type="prob"``: n x K outcome probabilities (columns = levels, baseline first);
        ``"link"``: n x (K-1) log-odds against the baseline; ``"response"``: the most probable
        level (its code). ``newdata`` defaults to the fitted rows. Columns are named by the
        outcome's value labels ("central government"; codes when unlabelled or labels repeat),
        the codes in the same order in ``attrs["codes"]``.

        ``se=True`` (``type="prob"``): one row per (row, level) with ``outcome`` (the code, as
        in ``tidy()``), ``outcome_label``, the probability, its delta-method SE from the
        design-based covariance and a normal interval, as ordinal predictions;
        ``attrs["vcov"]`` is the joint covariance, its parameters named "<row>:<outcome
        label>" (so ``contrast(pred, {"0:central government": 1, ...})`` works on it).
        ``frame=True`` returns ``type="response"`` as a DataFrame too (see
        :meth:`ModelResult.predict`)."""
        if newdata is None:
            X, index = self.frame.X, self.frame.data.index
        else:
            X, index = self.frame.model_matrix(newdata), newdata.index
        eta = self._link(X)
        codes = [_label(v) for v in self.outcome_levels]
        if type not in ("prob", "link", "response"):
            raise ModelError(f"unknown prediction type {type!r}",
                             hint="use 'prob', 'link' or 'response'")
        if se and type != "prob":
            raise ModelError("multinom predictions with se=True are outcome probabilities",
                             hint="use type='prob'")
        if type == "link":
            out = pd.DataFrame(eta, index=index, columns=self.outcome_columns(
                self.outcome_levels[1:]))
            out.attrs["codes"] = codes[1:]
            return out
        probs = special.softmax(np.column_stack([np.zeros(len(X)), eta]), axis=1)
        if se:
            return self._prob_se(X, probs, index, codes, conf_level)
        if type == "prob":
            out = pd.DataFrame(probs, index=index, columns=self.outcome_columns())
            out.attrs["codes"] = codes
            return out
        return series_or_frame(pd.Series(
            np.asarray(self.outcome_levels, dtype=object)[probs.argmax(axis=1)], index=index,
            name="response"), frame)

    def _prob_se(self, X: np.ndarray, probs: np.ndarray, index: pd.Index, codes: list[str],
                 conf_level: float) -> pd.DataFrame:
        """dP_j/dbeta_k = P_j (1[j = k] - P_k) x for the non-baseline k; delta method."""
        n, K = probs.shape
        p = X.shape[1]
        d = probs[:, :, None] * (np.eye(K)[None, :, 1:] - probs[:, None, 1:])  # n x K x (K-1)
        G = (d[:, :, :, None] * X[:, None, None, :]).reshape(n * K, (K - 1) * p)
        cov = G @ self.vcov.to_numpy() @ G.T
        sd = np.sqrt(np.maximum(np.diag(cov), 0))
        est = probs.ravel()
        q = norm_ppf(0.5 + conf_level / 2)
        rows = np.repeat(np.asarray(index, dtype=object), K)
        out = pd.DataFrame({"row": rows, "outcome": np.tile(np.asarray(codes, dtype=object), n),
                            "outcome_label": np.tile(np.asarray(
                                [self.outcome_label(v) for v in self.outcome_levels],
                                dtype=object), n),
                            "estimate": est, "std_error": sd,
                            "ci_low": est - q * sd, "ci_high": est + q * sd})
        shown = np.tile(np.asarray(self.outcome_columns(), dtype=object), n)
        names = [f"{r}:{v}" for r, v in zip(rows, shown, strict=True)]
        return attach_covariance(out, cov, names, None, coef=est)

    def marginal_effects(self, conf_level: float = 0.95) -> pd.DataFrame:
        raise ModelError("average marginal effects are not implemented for multinom",
                         hint="compare predict(newdata, type='prob') at chosen profiles")

    def describe_model(self) -> str:
        base = _label(self.base)
        shown = self.outcome_label(self.base)
        base = repr(base) if shown == base else f"{base!r}, {shown!r}"
        return (f"Survey multinomial logit (baseline category {base}; "
                "coefficients are log relative risks)")

    def table(self, fmt: str | None = "markdown", exponentiate: bool = True, digits: int = 3,
              *, ci: bool = False) -> Any:
        """Publication table, one column per non-baseline outcome level: RRR (or log RRR with
        ``exponentiate=False``) with stars, SE in parentheses (``ci=True``: CI in brackets),
        reference rows, N. ``fmt=None`` gives the
        :class:`~surveykit.models.tables.RegressionTable` (``to_docx`` etc.)."""
        from surveykit.models.tables import regression_table

        views = [_OutcomeView(self, k) for k in range(1, len(self.outcome_levels))]
        names = [f"{self.outcome_label(v)} vs {self.outcome_label(self.base)}"
                 for v in self.outcome_levels[1:]]
        return regression_table(views, fmt=fmt, exponentiate=exponentiate, digits=digits,
                                names=names, ci=ci)

    def to_markdown(self, exponentiate: bool | None = None, digits: int = 3, *,
                    ci: bool = False) -> str:
        return self.table("markdown", True if exponentiate is None else exponentiate, digits,
                          ci=ci)

    def to_latex(self, exponentiate: bool | None = None, digits: int = 3, *,
                 ci: bool = False) -> str:
        return self.table("latex", True if exponentiate is None else exponentiate, digits,
                          ci=ci)

    def to_docx(self, path: Any, exponentiate: bool | None = None, digits: int = 3, *,
                ci: bool = False, style: str = "apa", title: str | None = None) -> Any:
        """The publication table as a Word file (see :meth:`table`)."""
        tab = self.table(None, True if exponentiate is None else exponentiate, digits, ci=ci)
        tab.title = title
        return tab.to_docx(path, style=style)

    def __repr__(self) -> str:
        return terminal_safe(f"<MultinomResult {self.describe_model()}: {self.formula}, "
                             f"N={self.nobs}>", newlines=False)


class _OutcomeView:
    """One outcome equation of a MultinomResult, shaped for ``regression_table``."""

    ratio_label = "RRR"
    link = "mlogit"
    def __init__(self, result: MultinomResult, k: int) -> None:
        self.result, self.k = result, k
        self.extra: dict[str, Any] = {}
        self.design, self.nobs, self.n_missing = result.design, result.nobs, result.n_missing
        self.frame = result.frame

    def default_exponentiate(self) -> bool:
        return True

    def tidy(self, exponentiate: bool = False, conf_level: float = 0.95) -> pd.DataFrame:
        t = self.result.tidy(exponentiate=exponentiate, conf_level=conf_level)
        return t[t["outcome"] == _label(self.result.outcome_levels[self.k])].reset_index(drop=True)


@mi_aware
def multinom(design: Any, formula: str, base: Any = None) -> MultinomResult:
    """Fit a survey-weighted baseline-category multinomial logit (R ``svy_vglm`` with
    ``family=multinomial``; ``nnet::multinom`` point estimates).

    The outcome is nominal: a Categorical (its category order), numeric codes or strings
    (sorted). ``base``: the baseline level (default the first, as ``nnet``). Empty outcome
    levels raise ModelError naming them; rows with missing model variables are counted in
    ``n_missing``. Domains: ``design.subset(mask)``.

    Parameters
    ----------
    design : SurveyDesign, ReplicateDesign or MIDesign
        The survey design (a domain: ``design.subset(...)``).
    formula : str
        Model formula ``"outcome ~ terms"`` (``C(x)`` for a factor).
    base : optional
        The baseline outcome level (default: the first).

    Returns
    -------
    MultinomResult
        One coefficient per term and non-baseline level, named ``term[level]``.

    Examples
    --------
    >>> df = sk.load_replica()
    >>> design = sk.SurveyDesign(df, weights="weight")
    >>> model = sk.multinom(design, "scs_manager ~ age")
    >>> model.params.index.tolist()[:2]
    ['Intercept[2]', 'age[2]']
    """
    frame = build_frame(design, formula)
    w = np.asarray(design.weights, dtype=float)[frame.rows]
    codes, levels = outcome_codes(frame.y, w, frame.lhs, base)
    K, X = len(levels), frame.X
    p = X.shape[1]
    check_rank(X, w, frame.columns, source=design.source)
    model = _MLogit(X, codes, K)
    share = np.bincount(codes, weights=w, minlength=K)
    theta0 = np.zeros((K - 1, p))
    if "Intercept" in frame.columns:
        theta0[:, frame.columns.index("Intercept")] = np.log(share[1:] / share[0])
    theta, H, it, ok, gnorm = _newton(model, w, theta0.ravel())
    big = np.max(np.abs(theta), initial=0)
    if not ok or big > 30:
        if big > 20:
            order = np.argsort(-np.abs(theta))[:3]
            raise ModelError("coefficients diverge (complete or quasi-complete separation of "
                             "the outcome categories)", column=frame.lhs,
                             values=[f"{_param_names(frame.columns, levels)[j]}={theta[j]:.3g}"
                                     for j in order])
        raise ConvergenceError(f"Newton-Raphson did not converge in {it} iterations (last "
                               f"gradient norm {gnorm:.3g})", column=frame.lhs)
    info_inv = np.linalg.inv(-H)
    names = _param_names(frame.columns, levels)

    def fit(wr: np.ndarray) -> tuple[np.ndarray, bool, float]:
        th_r, _, _, ok_r, g_r = _newton(model, wr, theta.copy())
        return th_r, ok_r, g_r

    V, reps = model_vcov(design, frame, theta, lambda: model.scores(theta, w) @ info_inv,
                         fit)
    return MultinomResult(
        model="multinom", family="multinomial", link="mlogit", frame=frame, design=design,
        params=pd.Series(theta, index=names, name="estimate"),
        vcov=pd.DataFrame(V, index=names, columns=names),
        df_resid=design.subset(frame.used).df + 1 - p, iterations=it, naive_vcov=info_inv,
        outcome_levels=list(levels), terms=list(frame.columns), replicates=reps,
    )


def _param_names(columns: list[str], levels: list[Any]) -> list[str]:
    return [f"{c}[{_label(lv)}]" for lv in levels[1:] for c in columns]
