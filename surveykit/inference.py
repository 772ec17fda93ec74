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

from surveykit._dist import norm_ppf, norm_sf, t_ppf, t_sf
from surveykit.errors import EstimationError
from surveykit.mi.dispatch import mi_aware
from surveykit.provenance import is_synthetic, mark

__all__ = ["Covariance", "Estimates", "ReplicateEstimates", "as_estimates", "attach_covariance",
           "bind", "contrast"]


def _quantile(level: float, df: float) -> float:
    """Two-sided critical value: normal when ``df`` is infinite, else Student t."""
    if not 0 < level < 1:
        raise EstimationError(f"level must be between 0 and 1, got {level!r}")
    q = 0.5 + level / 2
    if df is None or not np.isfinite(df):
        return float(norm_ppf(q))
    if df <= 0:
        return float("nan")
    return float(t_ppf(q, df))


def _p_value(stat: np.ndarray, df: float) -> np.ndarray:
    if df is None or not np.isfinite(df):
        return 2 * norm_sf(np.abs(stat))
    if df <= 0:
        return np.full(np.shape(stat), np.nan)
    return 2 * t_sf(np.abs(stat), df)


@dataclass(frozen=True, eq=False)
class ReplicateEstimates:
    """The estimates recomputed with every replicate's weights (R's ``return.replicates``).

    ``values`` is R x k (one row per replicate, columns in parameter order); ``vcov`` is the
    design's replicate covariance (``design.replicate_vcov``: R's ``svrVar`` with the design's
    scale, rscales and mse), called as ``vcov(theta, replicate_values)``. With them,
    :func:`contrast` evaluates a nonlinear function on every replicate (R's ``svycontrast`` of
    an ``svrepstat`` that carries replicates) instead of using the delta method.
    """

    values: np.ndarray
    vcov: Callable[[np.ndarray, np.ndarray], np.ndarray]

    def __post_init__(self) -> None:
        vals = np.array(self.values, dtype=float)
        if vals.ndim == 1:
            vals = vals[:, None]
        vals.setflags(write=False)
        object.__setattr__(self, "values", vals)

    def columns(self, idx: Sequence[int]) -> ReplicateEstimates:
        """The replicate estimates of some parameters only."""
        return ReplicateEstimates(self.values[:, list(idx)], self.vcov)

    def covariance(self, theta: np.ndarray, values: np.ndarray) -> np.ndarray:
        """The design's replicate covariance of ``theta`` from its replicates ``values``
        (R x m; the design's function leaves out replicates with an undefined value, as R's
        ``svrVar``)."""
        values = np.asarray(values, dtype=float).reshape(self.values.shape[0], -1)
        return np.atleast_2d(self.vcov(np.atleast_1d(np.asarray(theta, dtype=float)), values))


class Covariance:
    """The joint covariance of a tidy result, as stored in ``attrs["vcov"]``: an immutable
    square matrix labelled by parameter names (and, optionally, the point estimates ``coef``
    it belongs to when they are not the frame's ``estimate`` column in row order).

    Why not a DataFrame: pandas compares ``attrs`` with ``==`` when it concatenates or merges
    frames (a DataFrame there raises "truth value ... is ambiguous", so ``pd.concat`` of two
    results failed) and deep-copies ``attrs`` on every operation (an n x n DataFrame of
    predictions was copied each time). A ``Covariance`` compares by value (``==`` is one
    bool) and is shared rather than copied (it cannot change). It reads like the DataFrame it
    replaces: ``.loc``, ``.iloc``, ``.index``, ``.columns``, ``.shape``, ``.to_numpy()``,
    ``np.asarray``; ``.to_frame()`` is a DataFrame copy.

    Parameters
    ----------
    values : array-like
        The square covariance matrix.
    names : sequence
        Parameter names, one per row/column.
    coef : sequence of float, optional
        The point estimates it belongs to (when not the frame's ``estimate`` column).
    replicates : ReplicateEstimates, optional
        Replicate estimates of a replicate design (for replicate-based contrasts).

    Examples
    --------
    >>> cov = sk.Covariance([[1.0, 0.0], [0.0, 4.0]], ["a", "b"])
    >>> cov.shape, cov.names
    ((2, 2), ['a', 'b'])
    """

    __slots__ = ("_coef", "_names", "_replicates", "_values")

    def __init__(self, values: Any, names: Sequence[Any], coef: Sequence[float] | None = None,
                 replicates: ReplicateEstimates | None = None) -> None:
        arr = np.array(values, dtype=float)
        labels = tuple(str(n) for n in names)
        if arr.ndim != 2 or arr.shape != (len(labels), len(labels)):
            raise EstimationError(f"a covariance of {len(labels)} parameters must be "
                                  f"{len(labels)} x {len(labels)}, got shape {arr.shape}")
        arr.setflags(write=False)
        cf = None
        if coef is not None:
            cf = np.array(coef, dtype=float).reshape(-1)
            if cf.shape != (len(labels),):
                raise EstimationError(f"{cf.size} coefficients for {len(labels)} parameters")
            cf.setflags(write=False)
        object.__setattr__(self, "_names", labels)
        object.__setattr__(self, "_values", arr)
        object.__setattr__(self, "_coef", cf)
        if replicates is not None and replicates.values.shape[1] != len(labels):
            raise EstimationError(f"replicate estimates of {replicates.values.shape[1]} "
                                  f"parameters for a covariance of {len(labels)}")
        object.__setattr__(self, "_replicates", replicates)

    @property
    def replicates(self) -> ReplicateEstimates | None:
        """The replicate estimates behind a replicate design's covariance, when kept."""
        return self._replicates

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, coef: Sequence[float] | None = None) -> Covariance:
        """From a square DataFrame whose row and column labels are the parameter names."""
        names = [str(n) for n in frame.index]
        if [str(c) for c in frame.columns] != names:
            raise EstimationError("a covariance needs the same row and column labels")
        return cls(frame.to_numpy(dtype=float), names, coef)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("a Covariance cannot be changed; build a new one")

    @property
    def names(self) -> list[str]:
        return list(self._names)

    @property
    def coef(self) -> pd.Series | None:
        """The point estimates by name, when stored (else the frame's ``estimate`` column)."""
        return None if self._coef is None else pd.Series(self._coef, index=self.names)

    @property
    def values(self) -> np.ndarray:
        """The matrix (read-only)."""
        return self._values

    @property
    def shape(self) -> tuple[int, int]:
        return self._values.shape

    @property
    def index(self) -> pd.Index:
        return pd.Index(self._names)

    columns = index

    def to_numpy(self, dtype: Any = None) -> np.ndarray:
        """A writable copy of the matrix."""
        return np.array(self._values, dtype=dtype)

    def to_frame(self) -> pd.DataFrame:
        """A DataFrame copy labelled by the parameter names."""
        return pd.DataFrame(self.to_numpy(), index=self.names, columns=self.names)

    def _view(self) -> pd.DataFrame:
        """A DataFrame on the read-only matrix: reading works, writing raises."""
        return pd.DataFrame(self._values, index=self.names, columns=self.names, copy=False)

    @property
    def loc(self) -> Any:
        return self._view().loc

    @property
    def iloc(self) -> Any:
        return self._view().iloc

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        return self.to_numpy(dtype)

    def __len__(self) -> int:
        return len(self._names)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Covariance):
            return NotImplemented
        same_coef = (self._coef is None and other._coef is None) or (
            self._coef is not None and other._coef is not None
            and np.array_equal(self._coef, other._coef, equal_nan=True))
        return (self._names == other._names and same_coef
                and np.array_equal(self._values, other._values, equal_nan=True))

    __hash__ = None  # type: ignore[assignment]

    def __copy__(self) -> Covariance:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Covariance:
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        return (Covariance, (self._values, self._names, self._coef, self._replicates))

    def __repr__(self) -> str:
        return repr(self.to_frame())

    def _repr_html_(self) -> str:
        return self.to_frame()._repr_html_()


def attach_covariance(frame: pd.DataFrame, vcov: Any, names: Sequence[Any], df: float | None,
                      coef: Sequence[float] | None = None,
                      replicates: ReplicateEstimates | None = None) -> pd.DataFrame:
    """Store the inference contract on a result frame (in place; returns it):
    ``attrs["vcov"]`` a :class:`Covariance` over ``names`` (with ``coef`` when the estimates
    are not the frame's ``estimate`` column in row order, and the replicate estimates of a
    replicate design) and ``attrs["df"]`` (None: inf).

    Parameters
    ----------
    frame : pandas.DataFrame
        The result frame (modified in place).
    vcov : array-like
        The joint covariance of its estimates.
    names : sequence
        Parameter names, one per row/column of ``vcov``.
    df : float or None
        Design degrees of freedom (None: inf).
    coef : sequence of float, optional
        The estimates, when not the frame's ``estimate`` column in row order.
    replicates : ReplicateEstimates, optional
        Replicate estimates of a replicate design.

    Returns
    -------
    pandas.DataFrame
        ``frame`` itself.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"estimate": [1.0, 2.0]})
    >>> frame = sk.attach_covariance(frame, np.eye(2), ["a", "b"], None)
    >>> frame.attrs["vcov"].names, frame.attrs["df"]
    (['a', 'b'], inf)
    """
    frame.attrs["vcov"] = Covariance(vcov, names, coef, replicates)
    frame.attrs["df"] = float("inf") if df is None else float(df)
    return frame


@dataclass(frozen=True, eq=False)
class Estimates:
    """Named coefficients with their joint covariance (R's ``coef`` and ``vcov``).

    ``df`` is the design degrees of freedom used for t-based intervals and tests
    (``inf``: normal quantiles).

    Parameters
    ----------
    names : list of str
        Parameter names.
    coef : numpy.ndarray
        Point estimates, in ``names`` order.
    vcov : numpy.ndarray
        Their joint covariance.
    df : float
        Design degrees of freedom for t quantiles (``inf``: normal).
    replicates : ReplicateEstimates, optional
        Replicate estimates of a replicate design.

    Examples
    --------
    >>> import numpy as np
    >>> est = sk.Estimates(["a", "b"], np.array([1.0, 2.0]), np.eye(2))
    >>> est.names, est.df
    (['a', 'b'], inf)
    """

    names: list[str]
    coef: np.ndarray
    vcov: np.ndarray
    df: float = float("inf")
    replicates: ReplicateEstimates | None = None

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
        if self.replicates is not None and self.replicates.values.shape[1] != k:
            raise EstimationError(f"replicate estimates of {self.replicates.values.shape[1]} "
                                  f"parameters for {k} coefficients")

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
        reps = None if self.replicates is None else self.replicates.columns(idx)
        return Estimates([self.names[i] for i in idx], self.coef[idx],
                         self.vcov[np.ix_(idx, idx)], self.df, reps)


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
                 "vcov=True)); a pd.concat of different results has none: estimate them "
                 "jointly, or sk.bind(results, independent=True) for separate samples")
    if isinstance(v, pd.DataFrame):
        v = Covariance.from_frame(v)
    if not isinstance(v, Covariance):
        raise EstimationError(f"attrs['vcov'] must be a Covariance or a DataFrame, got "
                              f"{type(v).__name__}")
    names = v.names
    coef = v.coef if v.coef is not None else frame.attrs.get("coef")
    if coef is None:
        if "estimate" not in frame.columns or len(frame) != len(names):
            raise EstimationError(
                f"the result has {len(frame)} rows but its covariance has {len(names)} "
                "parameters", hint="pass the unfiltered result of the estimator")
        coef = frame["estimate"].to_numpy(dtype=float)
    else:
        coef = pd.Series(coef).reindex(names).to_numpy(dtype=float)
    return Estimates(names, coef, v.to_numpy(dtype=float),
                     float(frame.attrs.get("df", float("inf"))), v.replicates)


def as_estimates(obj: Any) -> Estimates:
    """An :class:`Estimates` from any result that carries a covariance.

    Accepts an :class:`Estimates`; a tidy result DataFrame with ``attrs["vcov"]`` (square
    DataFrame labelled by parameter names, in the order of the rows) and ``attrs["df"]``; or a
    model result with ``.params`` (Series), ``.vcov`` (DataFrame) and ``.df_resid`` (and
    ``.replicates``, the refitted estimates, when fitted on a replicate design).

    Parameters
    ----------
    obj : Estimates, pandas.DataFrame or model result
        A result that carries a covariance (see above).

    Returns
    -------
    Estimates

    Examples
    --------
    >>> df = sk.load_replica()
    >>> design = sk.SurveyDesign(df, weights="weight")
    >>> est = sk.as_estimates(sk.mean(design, "internet_hours", by="urban", vcov=True))
    >>> est.names, est.coef.round(3).tolist()
    (['rural', 'urban'], [4.763, 4.859])
    """
    if isinstance(obj, Estimates):
        return obj
    if isinstance(obj, pd.DataFrame):
        return _from_frame(obj)
    if hasattr(obj, "params") and hasattr(obj, "vcov"):  # a model result (duck-typed)
        params = obj.params
        v = obj.vcov
        names = [str(n) for n in params.index]
        vv = v.to_numpy(dtype=float) if isinstance(v, pd.DataFrame) else np.asarray(v, float)
        df = getattr(obj, "df_resid", float("inf"))
        reps = getattr(obj, "replicates", None)  # a model fitted on a replicate design
        if not isinstance(reps, ReplicateEstimates) or reps.values.shape[1] != len(names):
            reps = None
        return Estimates(names, params.to_numpy(dtype=float), vv,
                         float("inf") if df is None else float(df), reps)
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


@mi_aware
def contrast(obj: Any, weights: Any, *, level: float = 0.95, df: float | None = None,
             gradient: Callable[[dict[str, float]], Any] | None = None,
             names: Sequence[str] | None = None, method: str = "auto") -> pd.DataFrame:
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

    ``method`` (nonlinear contrasts): "delta" (the delta method on the covariance), or
    "replicates" (the function evaluated on every replicate's estimates, its variance the
    design's replicate variance of those values: R's ``svycontrast`` of an ``svrepstat`` or
    ``svyby`` made with ``return.replicates=TRUE``, and ``withReplicates``). The default
    "auto" uses the replicates whenever the result carries them -- every result made with
    ``vcov=True`` on a replicate design does, and every model (glm, ordinal, multinom,
    negbin) fitted on one, and a glm's ``predict(se=True)`` -- so on a replicate design
    the SE comes from the replicates, never from a linearisation. (R uses the replicates
    only when the user asked for ``return.replicates=TRUE``, else the delta method; for
    ``svyolr`` R's ``svycontrast`` always uses the delta method.) Linear contrasts give the
    same variance either way; their replicate values are kept for further contrasts.

    This holds for model results too: R 4.x ``svycontrast(svyglm, ...)`` returns an ``svystat``
    (not a model), so its ``confint`` is ``confint.default`` with normal quantiles even though
    the svyglm's own ``confint`` uses t on ``df.residual`` (checked against R survey 4.1.1,
    tests/r/fixtures_polish.R). ``df=model.df_resid`` gives R's ``confint(contrast,
    df = df.residual(model))``.

    Parameters
    ----------
    obj : result
        Anything :func:`as_estimates` accepts (a result with ``vcov=True``, a model).
    weights : mapping, sequence, array or callable
        The contrast(s) (see above).
    level : float
        Confidence level of the intervals.
    df : float, optional
        Degrees of freedom of the t quantiles (default: normal quantiles).
    gradient : callable, optional
        Analytic Jacobian of a nonlinear contrast.
    names : sequence of str, optional
        Names of the contrasts.
    method : {"auto", "delta", "replicates"}
        Variance of a nonlinear contrast (see above).

    Returns
    -------
    pandas.DataFrame
        One row per contrast: contrast, estimate, std_error, statistic, p_value, ci_low, ci_high.

    Examples
    --------
    >>> df = sk.load_replica()
    >>> design = sk.SurveyDesign(df, weights="weight")
    >>> by_urban = sk.mean(design, "internet_hours", by="urban", vcov=True)
    >>> round(float(sk.contrast(by_urban, [1, -1])["estimate"].iloc[0]), 3)
    -0.096
    """
    if method not in ("auto", "delta", "replicates"):
        raise EstimationError(f"unknown method {method!r}",
                              hint="use 'auto', 'delta' or 'replicates'")
    est = as_estimates(obj)
    reps = est.replicates if method != "delta" else None
    if method == "replicates" and reps is None:
        raise EstimationError(
            "method='replicates' needs replicate estimates, and this result has none",
            hint="estimate on a replicate design (design.replicate('jk1'), ReplicateDesign) "
                 "with vcov=True, or use sk.with_replicates(design, fn)")
    use_df = float("inf") if df is None else float(df)
    out_reps: ReplicateEstimates | None = None
    if callable(weights) and reps is not None:
        coefs = dict(zip(est.names, est.coef, strict=True))
        value = np.atleast_1d(np.asarray(weights(coefs), dtype=float))
        rep_vals = np.full((reps.values.shape[0], value.size), np.nan)
        with np.errstate(all="ignore"):
            for r, row in enumerate(reps.values):
                if np.isfinite(row).all():
                    rep_vals[r] = np.atleast_1d(np.asarray(
                        weights(dict(zip(est.names, row, strict=True))), dtype=float))
        v = reps.covariance(value, rep_vals)
        out_reps = ReplicateEstimates(rep_vals, reps.vcov)
        labels = ["contrast"] if value.size == 1 else [f"contrast{i + 1}"
                                                       for i in range(value.size)]
        jac = None
    elif callable(weights):
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
        if reps is not None:  # linear: the same variance; keep the replicate values
            out_reps = ReplicateEstimates(reps.values @ jac.T, reps.vcov)
    if names is not None:
        labels = [str(n) for n in names]
        if len(labels) != value.size:
            raise EstimationError(f"{len(labels)} names given for {value.size} contrasts")
    if jac is not None:
        v = jac @ est.vcov @ jac.T
    out_est = Estimates(labels, value, v, use_df)
    frame = out_est.to_frame(level, use_df).rename(columns={"term": "contrast"})
    frame.attrs["synthetic"] = is_synthetic(obj)  # contrasts of the replica stay labelled
    return attach_covariance(frame, out_est.vcov, out_est.names, use_df, replicates=out_reps)


def _rows_of(obj: Any, est: Estimates) -> pd.DataFrame:
    """The rows shown for one result in :func:`bind` (attrs dropped), one per parameter."""
    if isinstance(obj, pd.DataFrame):
        rows = obj.copy()
    elif isinstance(obj, Estimates):
        rows = obj.to_frame()
    else:
        rows = obj.tidy()
    rows.attrs = {}
    if len(rows) != len(est.names):
        raise EstimationError(
            f"a result has {len(rows)} rows but {len(est.names)} parameters",
            hint="bind the unfiltered results (filter the bound frame afterwards)")
    return rows


def bind(results: Sequence[Any] | Mapping[str, Any], *, independent: bool = False,
         keys: Sequence[str] | None = None) -> pd.DataFrame:
    """Stack results from SEPARATE, INDEPENDENT samples with their joint covariance, so that
    :func:`contrast` compares across them (e.g. the same mean in two surveys).

    ``results``: a list of anything :func:`as_estimates` takes (tidy results made with
    ``vcov=True``, models, :class:`Estimates`) or a dict ``{key: result}``. The joint
    covariance is block-diagonal -- zero covariance between results -- which is right only
    for independent samples, so ``independent=True`` must be said. (Results from ONE sample
    are correlated: estimate them jointly instead, e.g. ``sk.mean(d, ["x", "y"], by="g",
    vcov=True)``, or analyse stacked studies with ``strata="study"`` and ``by="study"``.)

    Returns the results' rows stacked (models: their ``tidy()`` rows), with a first column
    ``result`` holding the key when keys are given (dict keys or ``keys=``); parameters are
    named ``"key:name"`` then, else keep their names (which must then be unique).
    ``attrs["df"]`` is the smallest of the results' df. A plain ``pd.concat`` of results also
    works, but carries no covariance (pandas keeps ``attrs`` only when all are equal).

    Parameters
    ----------
    results : sequence or mapping
        Results of independent samples (``{key: result}`` names them).
    independent : bool
        Must be True: the caller asserts that the samples are independent.
    keys : sequence of str, optional
        Names of the results given as a sequence.

    Returns
    -------
    pandas.DataFrame
        The stacked results with a ``result`` column and a block-diagonal ``attrs["vcov"]``.

    Examples
    --------
    >>> df = sk.load_replica()
    >>> design = sk.SurveyDesign(df, weights="weight")
    >>> a = sk.mean(design, "internet_hours", vcov=True)
    >>> b = sk.mean(sk.SurveyDesign(df.head(500), weights="weight"), "internet_hours", vcov=True)
    >>> sk.bind({"A": a, "B": b}, independent=True)["result"].tolist()
    ['A', 'B']
    """
    if isinstance(results, Mapping):
        if keys is not None:
            raise EstimationError("give keys either as the dict's keys or as keys=, not both")
        keys, items = [str(k) for k in results], list(results.values())
    else:
        items = list(results)
        keys = None if keys is None else [str(k) for k in keys]
    if not items:
        raise EstimationError("bind() needs at least one result")
    if keys is not None and len(keys) != len(items):
        raise EstimationError(f"{len(keys)} keys for {len(items)} results")
    if not independent:
        raise EstimationError(
            "bind() gives results zero covariance with each other, right only for separate, "
            "independent samples", hint="say so with independent=True; for results from one "
            "sample estimate them jointly (e.g. sk.mean(d, ['x', 'y'], by='g', vcov=True))")
    from scipy.linalg import block_diag

    ests = [as_estimates(r) for r in items]
    frames = [_rows_of(r, e) for r, e in zip(items, ests, strict=True)]
    names = [f"{k}:{n}" for k, e in zip(keys, ests, strict=True) for n in e.names] \
        if keys is not None else [n for e in ests for n in e.names]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise EstimationError("parameter names repeat across the results", values=dup,
                              hint="give keys (a dict {key: result} or keys=[...])")
    out = pd.concat(frames, ignore_index=True)
    if keys is not None:
        out.insert(0, "result", np.repeat(keys, [len(f) for f in frames]))
    labels: dict[str, Any] = {}
    for r in items:
        if isinstance(r, pd.DataFrame):
            labels.update(r.attrs.get("variable_labels", {}) or {})
    if labels:
        out.attrs["variable_labels"] = labels
    attach_covariance(out, block_diag(*[e.vcov for e in ests]), names,
                      min(e.df for e in ests), coef=np.concatenate([e.coef for e in ests]))
    return mark(out, any(is_synthetic(r) for r in items))
