"""Tests of model terms: ``wald_test`` (R ``regTermTest``) and ``anova`` (R ``anova.svyglm``).

Wald: ``b' V^{-1} b`` over the coefficients of the tested terms, with the design-based ``V``;
reported as F = chisq / k on (k, residual df) by default (R's default ``df = df.residual``), or
as chi-square on k df with ``df=inf``. LRT (glm and ordinal, as R's ``regTermTest`` for svyglm and
svyolr): Rao-Scott working likelihood ratio, the
difference in deviance between the model without and with the terms (both on R's weight
scale), referred to the distribution of ``sum lambda_i chi2_1`` (divided by an independent
``chi2_ddf / ddf`` when ``df`` is finite), where ``lambda`` are the eigenvalues of
``V0^{-1} V`` (``V0`` the model-based covariance); p-values by saddlepoint
(:func:`surveykit.distributions.pFsum`). The smaller model is refitted on the same rows.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from surveykit._dist import chi2_sf, f_sf
from surveykit.distributions import pFsum
from surveykit.errors import ConvergenceError, ModelError
from surveykit.mi.dispatch import mi_aware
from surveykit.models.infocrit import _lambdas

COLUMNS = ["test", "terms", "statistic", "df", "ddf", "p_value", "method"]
#: the reference distribution of each test (surveykit.testresult.METHODS): ``statistic`` is
#: always on its scale (F for "Wald F", chi-square for "Wald chi-square", the working 2logLR
#: for the LRT's weighted sum of chi-squares); ``ddf`` is inf for chi-square references
_METHOD = {"Wald F": "F", "Wald chi-square": "Chisq"}


def _canon(term: str) -> str:
    """A term label comparable across spellings: ``factor(x)`` = ``C(x)``, quoting removed,
    spaces dropped, interaction parts sorted (R's ``canonicalOrder``)."""
    t = re.sub(r"\bfactor\(", "C(", term.strip())
    t = re.sub(r"""Q\(["']([^"']*)["']\)""", r"\1", t).replace("`", "")
    t = re.sub(r"\s+", "", t)
    return ":".join(sorted(t.split(":")))


def _column_term(column: str) -> str:
    """The term a model-matrix column belongs to: the level suffix of each factor
    (``[T.x]``, whose label may itself hold brackets, e.g. ``[T.(19,39]]``) removed."""
    return re.sub(r"\[.*?\](?=:|$)", "", column)


def term_columns(model: Any, terms: str | Sequence[str]) -> tuple[list[str], list[int]]:
    """Names of the tested terms and the positions of their coefficients in ``model.params``.

    A term is given as in the formula (``"C(education)"``, ``"factor(race)"``, ``"ell"``,
    ``"stype:ell"``); a bare column name also finds ``C(column)``. Thresholds of ordinal models
    are never tested."""
    if isinstance(terms, str):
        terms = [terms]
    if not terms:
        raise ModelError("no terms to test", hint="pass a term name or a list of them")
    cols = list(model.params.index[: model.n_coef])
    col_terms = [_canon(_column_term(c)) for c in cols]
    index: list[int] = []
    for term in terms:
        want = _canon(str(term))
        alt = ":".join(sorted(re.sub(r"^C\((.*)\)$", r"\1", p) for p in want.split(":")))
        hits = [j for j, ct in enumerate(col_terms)
                if ct == want or ":".join(sorted(re.sub(r"^C\(([^,]*)(,.*)?\)$", r"\1", p)
                                                 for p in ct.split(":"))) == alt]
        if not hits:
            raise ModelError(f"term {term!r} is not in the model", column=str(term),
                             values=sorted(set(_column_term(c) for c in cols)),
                             hint="use a term as it appears in the formula")
        index += [j for j in hits if j not in index]
    return [str(t) for t in terms], sorted(index)


def working_scale(model: Any) -> float:
    """Mean weight of the rows the model was fitted to (the complete rows of the domain).

    The Rao-Scott working likelihood puts the weights on mean 1 over these rows, so the LRT
    statistic and its eigenvalues are the same whether the rows with missing model variables
    are subset out first or left in the design (R ``tests/regTermTest-missing.R``). R's
    ``svyglm`` divides by the mean over every row of the design (its ``deviance`` and
    ``naive.cov`` keep that scale), which makes its LRT statistic and eigenvalues depend on
    the excluded rows by the factor mean(complete) / mean(all) (p-value unchanged)."""
    w = np.asarray(model.design.weights, dtype=float)[model.frame.rows]
    return float(w.mean())


def _ddf(model: Any, df: float | None) -> float:
    return float(model.df_resid) if df is None else float(df)


def _row(test: str, terms: list[str], statistic: float, k: int, ddf: float, p: float,
         **attrs: Any) -> pd.DataFrame:
    method = _METHOD.get(test, "chisq-sum" if np.isinf(ddf) else "F-sum")
    out = pd.DataFrame([{"test": test, "terms": " + ".join(terms), "statistic": statistic,
                         "df": k, "ddf": ddf, "p_value": p, "method": method}], columns=COLUMNS)
    out.attrs.update(attrs)
    return out


def _ordinal_lrt(model: Any, index: list[int]) -> tuple[float, np.ndarray]:
    """Working 2logLR and design effects of an ordinal model (R ``regTermTest(svyolr,
    method="LRT")``): deviances on weights divided by their mean (R's ``svyolr`` deviance),
    the smaller model refitted on the same rows; ``V0`` the inverse observed information on
    the same weight scale. (R 4.1.1 keeps its svyolr Hessian on the raw weights, so its
    lambdas are mean(weight) times these and its p-value agrees only when the weights average
    1; see tests/r/fixtures_polish.R.)"""
    from surveykit.models.ordinal import _CumLink, _outcome_codes, newton

    frame = model.frame
    w = np.asarray(model.design.weights, dtype=float)[frame.rows]
    scale = working_scale(model)
    full_y = model.design.data[frame.lhs] if frame.lhs in model.design.data.columns else None
    codes, levels = _outcome_codes(frame.y, w, frame.lhs, full_y)
    K, theta = len(levels), model.params.to_numpy()
    keep = np.setdiff1d(np.arange(len(theta)), index)
    big = _CumLink(frame.X, codes, K, model.link)
    small = _CumLink(frame.X[:, np.setdiff1d(np.arange(model.n_coef), index)], codes, K,
                     model.link)
    fit0 = newton(small, w, theta[keep].copy())
    th0 = fit0.theta
    if not fit0.converged:
        raise ConvergenceError(f"the smaller model did not converge in {fit0.iterations} "
                               f"iterations (last gradient norm {fit0.gnorm:.3g})",
                               column=frame.lhs)
    chisq = 2 * (big.loglik(theta, w) - small.loglik(th0, w)) / scale
    V = model.vcov.to_numpy()[np.ix_(index, index)]
    V0 = model.naive_vcov[np.ix_(index, index)] * scale
    lam = np.sort(np.real(np.linalg.eigvals(np.linalg.solve(V0, V))))[::-1]
    return float(chisq), lam


def _lrt(model: Any, index: list[int], names: list[str], ddf: float) -> pd.DataFrame:
    if model.model == "ordinal":
        chisq, lam = _ordinal_lrt(model, index)
    elif model.model == "glm":
        from surveykit.models.glm import refit_deviance

        keep = np.setdiff1d(np.arange(len(model.params)), index)
        # deviances come on R's scale (weights / mean over the design's rows): move them to
        # weights / mean over the fitted rows
        scale = working_scale(model)
        to_working = model.extra["weight_scale"] / scale
        chisq = (refit_deviance(model, keep) - model.deviance()) * to_working
        lam = _lambdas(model, index, scale)
    else:
        raise ModelError(f"method='LRT' is not available for {model.model} models: R survey "
                         "has no working likelihood-ratio test for them",
                         hint="use method='Wald' (R regTermTest's default)")
    p = pFsum(chisq, np.ones(len(lam)), lam, ddf, lower_tail=False)
    # a tuple, not an array: pandas compares attrs with == when results are concatenated
    return _row("LRT (Rao-Scott working 2logLR)", names, chisq, len(index), ddf, p,
                lambdas=tuple(float(x) for x in lam), deltabar=float(lam.mean()))


def _wald(model: Any, index: list[int], names: list[str], ddf: float,
          null: np.ndarray | None = None) -> pd.DataFrame:
    beta = model.params.to_numpy()[index]
    if null is not None:
        beta = beta - null
    V = model.vcov.to_numpy()[np.ix_(index, index)]
    chisq = float(beta @ np.linalg.solve(V, beta))
    k = len(index)
    if np.isinf(ddf):
        return _row("Wald chi-square", names, chisq, k, ddf, float(chi2_sf(chisq, k)))
    if ddf <= 0:
        return _row("Wald F", names, chisq / k, k, ddf, float("nan"))
    return _row("Wald F", names, chisq / k, k, ddf, float(f_sf(chisq / k, k, ddf)))


@mi_aware
def wald_test(model: Any, terms: str | Sequence[str], *, method: str = "Wald",
              df: float | None = None, null: Sequence[float] | None = None) -> pd.DataFrame:
    """Test that all coefficients of ``terms`` are zero (R ``regTermTest``).

    ``method``: "Wald" (F on (k, ``df``); chi-square when ``df=float("inf")``) or "LRT"
    (Rao-Scott working likelihood ratio, saddlepoint p-value; glm and ordinal models, as R;
    negbin and multinom have none in R, use "Wald"). ``df`` defaults to the
    model's residual df, as R. ``null``: hypothesised values (Wald only). Returns one row:
    test, terms, statistic (F, chi-square, or the working 2logLR for LRT), df, ddf, p_value;
    LRT rows carry the eigenvalues in ``attrs["lambdas"]`` (a tuple, largest first).

    Parameters
    ----------
    model : ModelResult
        A fitted model.
    terms : str or sequence of str
        The term(s) whose coefficients are tested.
    method : {"Wald", "LRT"}
        The test.
    df : float, optional
        Denominator df (default: the model's residual df).
    null : sequence of float, optional
        Hypothesised values (Wald only; default zeros).

    Returns
    -------
    pandas.DataFrame
        One row: test, terms, statistic, df, ddf, p_value, method.

    Examples
    --------
    >>> df = sk.load_replica()
    >>> design = sk.SurveyDesign(df, weights="weight")
    >>> model = sk.glm(design, "commercial ~ age + urban", family="binomial")
    >>> res = sk.wald_test(model, "age")
    >>> res[["test", "terms", "df"]]
         test terms  df
    0  Wald F   age   1
    """
    names, index = term_columns(model, terms)
    ddf = _ddf(model, df)
    if method == "Wald":
        nul = None if null is None else np.broadcast_to(np.asarray(null, float), (len(index),))
        return _wald(model, index, names, ddf, nul)
    if method == "LRT":
        if null is not None:
            raise ModelError("null= applies to method='Wald' only")
        return _lrt(model, index, names, ddf)
    raise ModelError(f"unknown method {method!r}", hint="use 'Wald' or 'LRT'")


def _term_labels(model: Any) -> list[str]:
    return list(dict.fromkeys(_canon(_column_term(c))
                              for c in model.params.index[: model.n_coef] if c != "Intercept"))


def _sequential(model: Any, method: str, df: float | None) -> pd.DataFrame:
    """R's ``anova(model)`` (``oneanova.svyglm``): each term tested in the model holding the
    terms before it, the smaller models refitted on the same design (as R's ``update``)."""
    if model.model != "glm":
        raise ModelError(f"anova(model) is R's anova.svyglm; R survey has none for {model.model} "
                         "models", hint="test each term with wald_test(model, term)"
                         + (" (method='LRT' as well)" if model.model == "ordinal" else ""))
    from surveykit.models.glm import glm

    terms = _term_labels(model)
    exprs = model.extra.get("offset_exprs") or []
    rows: list[pd.DataFrame] = []
    current = model
    for i in range(len(terms), 0, -1):
        rows.append(wald_test(current, terms[i - 1], method=method, df=df))
        if i > 1:
            rhs = " + ".join(terms[: i - 1] + [f"offset({e})" for e in exprs])
            current = glm(model.design, f"{model.frame.lhs} ~ {rhs}", family=model.family,
                          link=model.link, tol=model.extra["tol"],
                          maxiter=model.extra["maxiter"])
    rows = rows[::-1]
    lambdas = [r.attrs.get("lambdas") for r in rows]
    for r in rows:
        r.attrs.clear()
    out = pd.concat(rows, ignore_index=True)
    if method == "LRT":
        out.attrs["lambdas"] = lambdas
    return out


@mi_aware
def anova(smaller: Any, bigger: Any | None = None, *, method: str = "LRT", test: str = "F"
          ) -> pd.DataFrame:
    """Compare nested models (R ``anova.svyglm(smaller, bigger)``): tests the terms of
    ``bigger`` that are not in ``smaller`` by ``wald_test`` on ``bigger``. ``method``: "LRT"
    (R's default) or "Wald"; ``test``: "F" (residual df of the bigger model) or "Chisq"
    (``df=inf``). The two models must be fitted to the same rows of the same design.

    With one model (R ``anova(model)``): a sequential table, one row per term in formula
    order, each term tested in the model holding only the terms before it.

    Parameters
    ----------
    smaller : ModelResult
        The smaller model (or the only model, for a sequential table).
    bigger : ModelResult, optional
        The bigger model, fitted to the same rows of the same design.
    method : {"LRT", "Wald"}
        The test.
    test : {"F", "Chisq"}
        Reference distribution.

    Returns
    -------
    pandas.DataFrame
        One row per test: test, terms, statistic, df, ddf, p_value, method.

    Examples
    --------
    >>> df = sk.load_replica()
    >>> design = sk.SurveyDesign(df, weights="weight")
    >>> small = sk.glm(design, "approval ~ age")
    >>> big = sk.glm(design, "approval ~ age + urban")
    >>> sk.anova(small, big)["terms"].tolist()
    ['urban']
    """
    if test not in ("F", "Chisq"):
        raise ModelError(f"unknown test {test!r}", hint="use 'F' or 'Chisq'")
    if bigger is None:
        return _sequential(smaller, method, None if test == "F" else float("inf"))
    t1, t2 = _term_labels(smaller), _term_labels(bigger)
    if not set(t1) <= set(t2):
        if set(t2) <= set(t1):
            smaller, bigger, t1, t2 = bigger, smaller, t2, t1
        else:
            raise ModelError("models are not nested: the terms of one must include the other's",
                             values=sorted(set(t1) ^ set(t2)))
    if smaller.nobs != bigger.nobs or not np.array_equal(smaller.frame.rows, bigger.frame.rows):
        raise ModelError("models are fitted to different rows; refit both on the same rows",
                         values=[smaller.nobs, bigger.nobs],
                         hint="a variable of the bigger model has missing values: subset first")
    extra = [t for t in t2 if t not in t1]
    if not extra:
        raise ModelError("the models have the same terms")
    return wald_test(bigger, extra, method=method, df=None if test == "F" else float("inf"))
