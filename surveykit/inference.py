"""The shared inference contract: coefficients, their covariance and degrees of freedom.

Every surveykit result can be seen as R's ``coef``/``vcov``/``SE``/``confint``:

- :class:`Estimates` holds named coefficients, their joint covariance and the design degrees of
  freedom (``inf`` when there are none);
- :func:`as_estimates` turns an estimator's tidy frame (``vcov=True`` puts the covariance in
  ``attrs["vcov"]`` and the design df in ``attrs["df"]``), a model result or an
  :class:`Estimates` into an :class:`Estimates`;
- :func:`contrast` is R's ``svycontrast``: linear combinations (or a smooth function) of the
  coefficients with their covariance, so any result can be compared, e.g. West minus East.

Nothing here computes a design variance: the covariance always comes from the estimator
(``design.vcov`` or ``design.replicate_vcov``); this module only transforms it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from surveykit.errors import EstimationError

__all__ = ["Estimates", "as_estimates", "contrast"]


def _quantile(level: float, df: float) -> float:
    """Two-sided critical value: normal when ``df`` is infinite, else Student t."""
    if not 0 < level < 1:
        raise EstimationError(f"level must be between 0 and 1, got {level!r}")
    q = 0.5 + level / 2
    if df is None or not np.isfinite(df):
        return float(stats.norm.ppf(q))
    if df <= 0:
        return float("nan")
    return float(stats.t.ppf(q, df))


def _p_value(stat: np.ndarray, df: float) -> np.ndarray:
    if df is None or not np.isfinite(df):
        return 2 * stats.norm.sf(np.abs(stat))
    if df <= 0:
        return np.full(np.shape(stat), np.nan)
    return 2 * stats.t.sf(np.abs(stat), df)


@dataclass(frozen=True, eq=False)
class Estimates:
    """Named coefficients with their joint covariance (R's ``coef`` and ``vcov``).

    ``df`` is the design degrees of freedom used for t-based intervals and tests
    (``inf``: normal quantiles).
    """

    names: list[str]
    coef: np.ndarray
    vcov: np.ndarray
    df: float = float("inf")

    def __post_init__(self) -> None:
        coef = np.atleast_1d(np.asarray(self.coef, dtype=float))
        vcov = np.atleast_2d(np.asarray(self.vcov, dtype=float))
        names = [str(n) for n in self.names]
        k = len(names)
        if coef.shape != (k,) or vcov.shape != (k, k):
            raise EstimationError(
                f"Estimates need {k} names, {k} coefficients and a {k} x {k} covariance; got "
                f"{coef.shape[0]} coefficients and a {vcov.shape[0]} x {vcov.shape[1]} matrix")
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise EstimationError("parameter names must be unique", values=dup)
        object.__setattr__(self, "names", names)
        object.__setattr__(self, "coef", coef)
        object.__setattr__(self, "vcov", vcov)
        object.__setattr__(self, "df", float(self.df))

    def __len__(self) -> int:
        return len(self.names)

    def se(self) -> np.ndarray:
        """Standard errors: square roots of the covariance diagonal."""
        return np.sqrt(np.clip(np.diag(self.vcov), 0.0, None))

    def confint(self, level: float = 0.95, df: float | None = None) -> np.ndarray:
        """k x 2 Wald limits ``coef -/+ q se``; t quantiles on ``df`` (default ``self.df``),
        normal when it is infinite."""
        q = _quantile(level, self.df if df is None else df)
        se = self.se()
        return np.column_stack([self.coef - q * se, self.coef + q * se])

    def to_frame(self, level: float = 0.95, df: float | None = None) -> pd.DataFrame:
        """Tidy table: ``term, estimate, std_error, statistic, p_value, ci_low, ci_high``
        (statistic = estimate / SE against 0; t on ``df`` or normal as :meth:`confint`)."""
        d = self.df if df is None else df
        se = self.se()
        with np.errstate(divide="ignore", invalid="ignore"):
            stat = self.coef / se
        ci = self.confint(level, d)
        return pd.DataFrame({"term": self.names, "estimate": self.coef, "std_error": se,
                             "statistic": stat, "p_value": _p_value(stat, d),
                             "ci_low": ci[:, 0], "ci_high": ci[:, 1]})

    def vcov_frame(self) -> pd.DataFrame:
        """The covariance as a square DataFrame labelled by parameter names."""
        return pd.DataFrame(self.vcov, index=self.names, columns=self.names)

    def subset(self, names: Sequence[str]) -> Estimates:
        """The estimates of some parameters only (with their joint covariance)."""
        idx = _indices(self.names, names)
        return Estimates([self.names[i] for i in idx], self.coef[idx],
                         self.vcov[np.ix_(idx, idx)], self.df)


def _indices(all_names: list[str], names: Sequence[str]) -> list[int]:
    pos = {n: i for i, n in enumerate(all_names)}
    unknown = [n for n in names if n not in pos]
    if unknown:
        raise EstimationError("unknown parameter name(s)", values=unknown,
                              hint=f"parameters are: {', '.join(all_names[:20])}")
    return [pos[n] for n in names]


def _from_frame(frame: pd.DataFrame) -> Estimates:
    v = frame.attrs.get("vcov")
    if v is None:
        raise EstimationError(
            "this result carries no covariance matrix",
            hint="re-run the estimator with vcov=True (e.g. sk.mean(design, 'x', by='g', "
                 "vcov=True))")
    if not isinstance(v, pd.DataFrame):
        raise EstimationError(f"attrs['vcov'] must be a DataFrame, got {type(v).__name__}")
    names = [str(n) for n in v.index]
    if [str(c) for c in v.columns] != names:
        raise EstimationError("attrs['vcov'] must have the same row and column labels")
    coef = frame.attrs.get("coef")
    if coef is None:
        if "estimate" not in frame.columns or len(frame) != len(names):
            raise EstimationError(
                f"the result has {len(frame)} rows but its covariance has {len(names)} "
                "parameters", hint="pass the unfiltered result of the estimator")
        coef = frame["estimate"].to_numpy(dtype=float)
    else:
        coef = pd.Series(coef).reindex(names).to_numpy(dtype=float)
    return Estimates(names, coef, v.to_numpy(dtype=float),
                     float(frame.attrs.get("df", float("inf"))))


def as_estimates(obj: Any) -> Estimates:
    """An :class:`Estimates` from any result that carries a covariance.

    Accepts an :class:`Estimates`; a tidy result DataFrame with ``attrs["vcov"]`` (square
    DataFrame labelled by parameter names, in the order of the rows) and ``attrs["df"]``; or a
    model result with ``.params`` (Series), ``.vcov`` (DataFrame) and ``.df_resid``.
    """
    if isinstance(obj, Estimates):
        return obj
    if isinstance(obj, pd.DataFrame):
        return _from_frame(obj)
    from surveykit.models.results import ModelResult  # lazy: models import estimation

    if isinstance(obj, ModelResult) or (hasattr(obj, "params") and hasattr(obj, "vcov")):
        params = obj.params
        v = obj.vcov
        names = [str(n) for n in params.index]
        vv = v.to_numpy(dtype=float) if isinstance(v, pd.DataFrame) else np.asarray(v, float)
        df = getattr(obj, "df_resid", float("inf"))
        return Estimates(names, params.to_numpy(dtype=float), vv,
                         float("inf") if df is None else float(df))
    raise EstimationError(
        f"cannot get coefficients and a covariance from a {type(obj).__name__}",
        hint="pass an estimator result made with vcov=True, a model, or an Estimates")


Weights = (Mapping[str, float] | Sequence[Mapping[str, float]] | Mapping[str, Mapping[str, float]]
           | np.ndarray | pd.DataFrame | Sequence[float])


def _contrast_matrix(est: Estimates, weights: Any) -> tuple[list[str], np.ndarray]:
    """Contrast names and the m x k coefficient matrix from the accepted weight forms."""
    k = len(est.names)

    def row(spec: Mapping[str, float]) -> np.ndarray:
        r = np.zeros(k)
        idx = _indices(est.names, [str(n) for n in spec])
        for i, c in zip(idx, spec.values(), strict=True):
            r[i] = float(c)
        return r

    if isinstance(weights, pd.DataFrame):
        cols = [str(c) for c in weights.columns]
        idx = _indices(est.names, cols)
        mat = np.zeros((len(weights), k))
        mat[:, idx] = weights.to_numpy(dtype=float)
        return [str(i) for i in weights.index], mat
    if isinstance(weights, Mapping):
        if weights and all(isinstance(v, Mapping) for v in weights.values()):
            return [str(n) for n in weights], np.vstack([row(v) for v in weights.values()])
        return ["contrast"], row(weights)[None, :]
    if isinstance(weights, (list, tuple)) and weights and all(isinstance(v, Mapping)
                                                              for v in weights):
        return ([f"contrast{i + 1}" for i in range(len(weights))],
                np.vstack([row(v) for v in weights]))
    mat = np.asarray(weights, dtype=float)
    if mat.ndim == 1:
        mat = mat[None, :]
    if mat.ndim != 2 or mat.shape[1] != k:
        raise EstimationError(
            f"a contrast matrix needs {k} columns (one per parameter), got shape {mat.shape}",
            hint=f"parameters are: {', '.join(est.names[:20])}")
    names = ["contrast"] if mat.shape[0] == 1 else [f"contrast{i + 1}"
                                                    for i in range(mat.shape[0])]
    return names, mat


def _jacobian(fn: Callable[[dict[str, float]], Any], est: Estimates,
              value: np.ndarray) -> np.ndarray:
    """Central-difference Jacobian (m x k) of ``fn`` at the coefficients."""
    k = len(est.names)
    jac = np.zeros((value.size, k))
    for j in range(k):
        h = 1e-6 * max(abs(est.coef[j]), 1.0)
        up, dn = est.coef.copy(), est.coef.copy()
        up[j] += h
        dn[j] -= h
        f_up = np.atleast_1d(np.asarray(fn(dict(zip(est.names, up, strict=True))), float))
        f_dn = np.atleast_1d(np.asarray(fn(dict(zip(est.names, dn, strict=True))), float))
        jac[:, j] = (f_up - f_dn) / (2 * h)
    return jac


def contrast(obj: Any, weights: Any, *, level: float = 0.95, df: float | None = None,
             gradient: Callable[[dict[str, float]], Any] | None = None,
             names: Sequence[str] | None = None) -> pd.DataFrame:
    """Linear (or smooth nonlinear) contrasts of estimates with their standard errors, as R's
    ``svycontrast``.

    ``obj`` is anything :func:`as_estimates` accepts (e.g. ``sk.mean(d, "x", by="region",
    vcov=True)`` or a model). ``weights`` is

    - a dict ``{parameter: coefficient}`` (others 0), e.g. ``{"West": 1, "East": -1}``;
    - a dict of such dicts ``{"West-East": {...}, ...}`` or a list of them (several contrasts);
    - a matrix (m x k array in parameter order, or a DataFrame whose columns are parameter
      names);
    - a callable ``f(coefs: dict[name, value]) -> float or array`` for a nonlinear contrast
      (e.g. a ratio): delta method with the analytic Jacobian from ``gradient`` (same
      signature, returns m x k or k) or a central-difference one.

    Returns one row per contrast: ``contrast, estimate, std_error, statistic, p_value, ci_low,
    ci_high``; the joint covariance is in ``attrs["vcov"]`` and ``attrs["df"]`` holds the df
    used, so the result can be contrasted again. Intervals and p-values use normal quantiles
    by default, as R's ``confint`` on a ``svycontrast`` result (``df=Inf``); pass ``df`` (e.g.
    ``as_estimates(obj).df``) for t quantiles on the design degrees of freedom.

    This holds for model results too: R 4.x ``svycontrast(svyglm, ...)`` returns an ``svystat``
    (not a model), so its ``confint`` is ``confint.default`` with normal quantiles even though
    the svyglm's own ``confint`` uses t on ``df.residual`` (checked against R survey 4.1.1,
    tests/r/fixtures_polish.R). ``df=model.df_resid`` gives R's ``confint(contrast,
    df = df.residual(model))``.
    """
    est = as_estimates(obj)
    use_df = float("inf") if df is None else float(df)
    if callable(weights):
        coefs = dict(zip(est.names, est.coef, strict=True))
        value = np.atleast_1d(np.asarray(weights(coefs), dtype=float))
        if gradient is not None:
            jac = np.atleast_2d(np.asarray(gradient(coefs), dtype=float))
            if jac.shape != (value.size, len(est.names)):
                raise EstimationError(
                    f"gradient must return a {value.size} x {len(est.names)} matrix, got "
                    f"shape {jac.shape}")
        else:
            jac = _jacobian(weights, est, value)
        labels = ["contrast"] if value.size == 1 else [f"contrast{i + 1}"
                                                       for i in range(value.size)]
    else:
        labels, jac = _contrast_matrix(est, weights)
        value = jac @ est.coef
    if names is not None:
        labels = [str(n) for n in names]
        if len(labels) != value.size:
            raise EstimationError(f"{len(labels)} names given for {value.size} contrasts")
    v = jac @ est.vcov @ jac.T
    out_est = Estimates(labels, value, v, use_df)
    frame = out_est.to_frame(level, use_df).rename(columns={"term": "contrast"})
    frame.attrs["vcov"] = out_est.vcov_frame()
    frame.attrs["df"] = use_df
    return frame
