"""Predictive margins of survey GLMs (R ``svypredmeans``).

``margins(model, by="g")`` is R's ``svypredmeans(adjustmodel, ~g)``: the model (with ``g`` added
if it is not in it already) predicts every fitted respondent's mean response with ``g`` set to
each of its values in turn, and the margin is the design-weighted mean of those predictions.
Variance, as R: the design variance of that mean treating the predictions as data, plus the
delta-method term ``d' V d`` with ``d`` the weighted mean of ``mu'(eta) x`` and ``V`` the
model's design-based covariance (R adds the two and ignores their covariance).

``at={"x": value}`` fixes other variables for everyone first (margins at representative
values; with no ``by``, one overall margin). R has no single function for this; the fixture
reproduces ``svypredmeans``' computation with those variables fixed.

Differences from R, by design: predictions include the model's offset (R's ``predict.svyglm``
ignores it); groups are listed in sorted (or categorical) order, R's in order of appearance;
intervals are normal, as R's ``confint`` of the ``svystat`` result.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from surveykit._dist import norm_ppf
from surveykit.errors import ModelError
from surveykit.estimation._result import parameter_names
from surveykit.inference import attach_covariance
from surveykit.labels import label_result
from surveykit.mi.dispatch import mi_aware
from surveykit.provenance import is_synthetic, mark


def _by_column(by: str, data: pd.DataFrame) -> tuple[str, str]:
    """(data column, formula term) of ``by``: "g", "C(g)" or "factor(g)"."""
    m = re.fullmatch(r"\s*(?:C|factor)\(\s*`?([^`),]+)`?\s*\)\s*", by)
    col = m.group(1).strip() if m else by
    if col not in data.columns:
        raise ModelError("by= variable not found in the design's data", column=col)
    return col, (f"C({col})" if m else col)


def _mentions(formula: str, column: str) -> bool:
    return re.search(r"(?<![\w.`])`?" + re.escape(column) + r"`?(?![\w.`])", formula) is not None


def _cond_vcov(design: Any, rows: np.ndarray, fits: np.ndarray, w: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
    """Weighted means of the columns of ``fits`` and their design covariance (R ``svymean``)."""
    sw = w.sum()
    est = w @ fits / sw
    if design.is_replicate:
        W = design.replicate_weights[rows]
        reps = (W.T @ fits) / W.sum(axis=0)[:, None]
        return est, design.replicate_vcov(est, reps)
    scores = np.zeros((design.n_total, fits.shape[1]))
    scores[rows] = (fits - est) * (w / sw)[:, None]
    return est, design.vcov(scores)


@mi_aware
def margins(model: Any, by: str | None = None, at: Mapping[str, Any] | None = None, *,
            conf_level: float = 0.95) -> pd.DataFrame:
    """Predictive margins with SEs (R ``svypredmeans(model, ~by)``; see module docs).

    ``by``: a column name (entered as it is coded, as R: numeric codes give a linear term) or
    ``"C(column)"`` for a factor; added to the model when absent (the model is refitted on the
    same design, family, link and offset). ``at``: values fixed for everyone. Returns the by
    column (if any; integer codes, followed by ``<by>_label`` when the data label it, as
    :func:`surveykit.mean`), estimate, std_error, ci_low, ci_high; ``attrs["vcov"]`` is the
    joint covariance of the margins, its parameters named by the group labels ("31–50"), so
    ``contrast`` gives differences between groups; ``attrs["variable_labels"]`` holds the by
    variable's label.

    Parameters
    ----------
    model : ModelResult
        A fitted :func:`surveykit.glm` (or other model) result.
    by : str, optional
        Column (or ``"C(column)"``) whose groups get a margin each.
    at : mapping, optional
        ``{column: value}`` fixed for everyone.
    conf_level : float
        Confidence level of the intervals.

    Returns
    -------
    pandas.DataFrame
        One row per group: estimate, std_error, ci_low, ci_high.

    Examples
    --------
    >>> df = sk.load_replica()
    >>> design = sk.SurveyDesign(df, weights="weight")
    >>> model = sk.glm(design, "commercial ~ age + urban", family="binomial")
    >>> sk.margins(model, by="urban")[["urban_label", "estimate"]].round(3)
      urban_label  estimate
    0       rural     0.916
    1       urban     0.771
    """
    from surveykit.models.glm import LINKS, glm

    if model.model == "ordinal":
        return _ordinal_margins(model, by, at, conf_level)
    if model.model != "glm":
        raise ModelError(f"margins are defined for glm and ordinal models (R svypredmeans), "
                         f"not {model.model}",
                         hint="for a multinomial model use predict(type='prob') on new data")
    at, data_all, col, term = _by_and_at(model, by, at)
    fit = model
    if col is not None:
        if not _mentions(model.frame.rhs, col):
            exprs = model.extra.get("offset_exprs") or []
            formula = model.frame.formula + f" + {term}" + "".join(f" + offset({e})"
                                                                   for e in exprs)
            fit = glm(model.design, formula, family=model.family, link=model.link,
                      tol=model.extra["tol"], maxiter=model.extra["maxiter"])
    data, rows, w, base, groups = _grid(fit, at, data_all, col)
    lk = LINKS[fit.link]
    beta = fit.params.to_numpy()
    off = fit._offset(None, True)
    fits = np.empty((len(rows), len(groups)))
    grads = np.empty((len(groups), len(beta)))
    for i, value in enumerate(groups):
        frame = base
        if col is not None:
            frame = base.copy()
            frame[col] = pd.Series([value] * len(base), index=base.index, dtype=data[col].dtype)
        X = fit._model_matrix(frame)
        eta = X @ beta + off
        fits[:, i] = lk.inverse(eta)
        grads[i] = (w * lk.mu_eta(eta)) @ X / w.sum()
    est, v_cond = _cond_vcov(fit.design, rows, fits, w)
    V = grads @ fit.vcov.to_numpy() @ grads.T + v_cond
    se = np.sqrt(np.diag(V))
    q = norm_ppf(0.5 + conf_level / 2)
    out = pd.DataFrame({"estimate": est, "std_error": se, "ci_low": est - q * se,
                        "ci_high": est + q * se})
    names = ["margin"]
    if col is not None:
        out.insert(0, col, groups)
        label_result(out, model.design, by=[col], level=None)
        names = parameter_names(out, [col], level=None)
    attach_covariance(out, V, names, None, coef=est)
    out.attrs["at"] = at
    return mark(out, is_synthetic(model.design))



def _by_and_at(model: Any, by: str | None, at: Mapping[str, Any] | None
               ) -> tuple[dict[str, Any], pd.DataFrame, str | None, str | None]:
    """The checked ``at`` values, the design's data, and the ``by`` column with its model term
    (None without ``by``): the argument rules shared by glm and ordinal margins."""
    at = dict(at or {})
    data_all = model.design.data
    for k in at:
        if k not in data_all.columns:
            raise ModelError("at= variable not found in the design's data", column=k)
    if by is None and not at:
        raise ModelError("give by= (a grouping variable) and/or at= (fixed values)")
    if by is None:
        return at, data_all, None, None
    col, term = _by_column(by, data_all)
    if col in at:
        raise ModelError("a variable cannot be both by= and at=", column=col)
    return at, data_all, col, term

def _grid(fit: Any, at: Mapping[str, Any], data_all: pd.DataFrame, col: str | None
          ) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, pd.DataFrame, list[Any]]:
    """What glm and ordinal margins average over: the fit's model-frame rows (data, row
    numbers, weights), those rows with the ``at`` values set (their dtypes kept), and the
    ``by`` groups in categorical or sorted order (``[None]`` without ``by``)."""
    data = fit.frame.data
    rows = fit.frame.rows
    w = np.asarray(fit.design.weights, dtype=float)[rows]
    base = data.copy()
    for k, v in at.items():
        dtype = data[k].dtype if k in data.columns else data_all[k].dtype
        base[k] = pd.Series([v] * len(base), index=base.index, dtype=dtype)
    if col is None:
        return data, rows, w, base, [None]
    g = data[col]
    groups = (list(g.cat.categories) if isinstance(g.dtype, pd.CategoricalDtype)
              else sorted(pd.unique(g.dropna())))
    return data, rows, w, base, groups


def _ordinal_margins(model: Any, by: str | None, at: Mapping[str, Any] | None,
                     conf_level: float) -> pd.DataFrame:
    """Predictive margins of an ordinal model: the design-weighted mean over the fitted
    respondents of each category's predicted probability with ``by`` set to each group in
    turn (``at`` fixed first), with svypredmeans' variance (design variance of the mean of
    the predictions + delta-method term from the model's covariance), jointly over groups and
    categories."""
    from surveykit.models.ordinal import ordinal

    at, data_all, col, term = _by_and_at(model, by, at)
    fit = model
    if col is not None:
        if not _mentions(model.frame.rhs, col):
            fit = ordinal(model.design, model.frame.formula + f" + {term}", link=model.link)
    data, rows, w, base, groups = _grid(fit, at, data_all, col)
    codes, shown = fit._level_names()
    K = len(codes)
    beta = fit.params.to_numpy()[: fit.n_coef]
    fits = np.empty((len(rows), len(groups) * K))
    grads = np.empty((len(groups) * K, len(fit.params)))
    for i, value in enumerate(groups):
        frame = base
        if col is not None:
            frame = base.copy()
            frame[col] = pd.Series([value] * len(base), index=base.index, dtype=data[col].dtype)
        X = fit._model_matrix(frame)
        probs, G = fit._ordinal_prob_grad(X, X @ beta)
        fits[:, i * K:(i + 1) * K] = probs.reshape(len(rows), K)
        grads[i * K:(i + 1) * K] = np.einsum("i,ikp->kp", w, G.reshape(len(rows), K, -1)) / w.sum()
    est, v_cond = _cond_vcov(fit.design, rows, fits, w)
    V = grads @ fit.vcov.to_numpy() @ grads.T + v_cond
    se = np.sqrt(np.clip(np.diag(V), 0.0, None))
    q = norm_ppf(0.5 + conf_level / 2)
    out = pd.DataFrame({"level": np.tile(np.asarray(codes, dtype=object), len(groups)),
                        "level_label": np.tile(np.asarray(shown, dtype=object), len(groups)),
                        "estimate": est, "std_error": se, "ci_low": est - q * se,
                        "ci_high": est + q * se})
    out.insert(0, "outcome", fit.frame.lhs)
    if col is not None:
        out.insert(0, col, np.repeat(np.asarray(groups, dtype=object), K))
        if not isinstance(data[col].dtype, pd.CategoricalDtype):
            out[col] = out[col].astype(data[col].dtype)
        label_result(out, model.design, by=[col], level=None)
        heads = parameter_names(out.iloc[::K].reset_index(drop=True), [col], level=None)
        names = [f"{h}:{s_}" for h in heads for s_ in shown]
    else:
        names = list(shown)
    attach_covariance(out, V, names, None, coef=est)
    out.attrs["at"] = at
    return mark(out, is_synthetic(model.design))
