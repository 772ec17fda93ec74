"""Calibration of weights to population totals (GREG and Deville–Särndal), as R's ``calibrate``.

The weights become ``w_i = d_i g_i`` with ``g_i = 1 + F(x_i' eta)`` and ``eta`` solving the
calibration equations ``sum_i d_i g_i x_i = T`` by Newton's method (R's ``grake``):

- ``method="linear"``: ``F(u) = u`` (GREG), truncated to ``[lo - 1, hi - 1]`` when bounds are given;
- ``method="raking"``: ``F(u) = exp(u) - 1`` (optionally truncated to the bounds);
- ``method="logit"``: Deville–Särndal's logit, which keeps ``g`` strictly inside ``(lo, hi)``.

Bounds are bounds on the g-weights (ratios new/old), as R's ``bounds=c(lo, hi)``. The variance
of a calibrated design uses the residuals of the weighted regression on the calibration variables
(R's ``svyrecvar`` with a ``greg_calibration`` object).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import linalg, special

from surveykit.design import ReplicateDesign, SurveyDesign
from surveykit.errors import ConvergenceError, WeightingError
from surveykit.expressions import FORMULA_CONTEXT, expression_error, validate_term
from surveykit.weighting._common import as_design, as_number, patsy_message, safe_divide
from surveykit.weighting.replicate import calibrate_columns, reweighted

Method = Literal["linear", "raking", "logit"]
METHODS: tuple[str, ...] = ("linear", "raking", "logit")


# -- calibration functions (R's cal.linear / cal.raking / cal.logit) ----------------------------
def _calfun(method: str, lo: float, hi: float) -> tuple[Any, Any]:
    """``F(u) = g - 1`` and its derivative for a method and g-bounds."""
    if method == "linear":
        def fm1(u: np.ndarray) -> np.ndarray:
            return np.minimum(np.maximum(u + 1.0, lo), hi) - 1.0

        def df(u: np.ndarray) -> np.ndarray:
            return ((u < hi - 1.0) & (u > lo - 1.0)).astype(float)
    elif method == "raking":
        def fm1(u: np.ndarray) -> np.ndarray:
            with np.errstate(over="ignore"):
                return np.minimum(np.maximum(np.exp(u), lo), hi) - 1.0

        def df(u: np.ndarray) -> np.ndarray:
            with np.errstate(over="ignore"):
                return np.where((u < hi - 1.0) & (u > lo - 1.0), np.exp(u), 0.0)
    else:  # logit: g = L + (U - L) expit(A u + log((1 - L) / (U - 1))), R's formula rewritten
        a = (hi - lo) / ((hi - 1.0) * (1.0 - lo))  # without overflow for large |u|
        shift = np.log((1.0 - lo) / (hi - 1.0))

        def fm1(u: np.ndarray) -> np.ndarray:
            return lo + (hi - lo) * special.expit(a * u + shift) - 1.0

        def df(u: np.ndarray) -> np.ndarray:
            p = special.expit(a * u + shift)
            return (hi - lo) * a * p * (1.0 - p)
    return fm1, df


# -- the variance object ------------------------------------------------------------------------
@dataclass(eq=False)
class GregCalibration:
    """Calibration record kept on the design; ``residualize`` gives R's calibrated scores.

    R (``svyrecvar``): ``x <- qr.resid(qr(mm * whalf), x / w) * w`` with ``whalf = sqrt(d)``
    (weights before calibration) and ``w = g * whalf``.
    """

    columns: list[str]
    population: np.ndarray
    g: np.ndarray
    method: str
    bounds: tuple[float, float]
    iterations: int
    misfit: np.ndarray
    rank: int
    _q: np.ndarray = field(repr=False)
    _w: np.ndarray = field(repr=False)

    def residualize(self, scores: np.ndarray) -> np.ndarray:
        x = np.asarray(scores, dtype=float)
        one = x.ndim == 1
        if one:
            x = x[:, None]
        y = safe_divide(x, self._w[:, None])
        r = y - self._q @ (self._q.T @ y)
        out = r * self._w[:, None]
        return out[:, 0] if one else out

    @property
    def max_relative_misfit(self) -> float:
        """Largest ``|achieved - target| / (1 + |target|)`` (R's convergence criterion)."""
        return float(np.max(np.abs(self.misfit) / (1.0 + np.abs(self.population)), initial=0.0))


def _column_space(a: np.ndarray, tol: float = 1e-7) -> tuple[np.ndarray, int]:
    """Orthonormal basis of the column space of ``a`` (pivoted QR, rank as R's ``qr`` tol)."""
    if a.shape[1] == 0:
        return np.zeros((a.shape[0], 0)), 0
    q, r, _ = linalg.qr(a, mode="economic", pivoting=True)
    d = np.abs(np.diag(r))
    rank = int((d > tol * d[0]).sum()) if d.size and d[0] > 0 else 0
    return q[:, :rank], rank


# -- building the calibration matrix -------------------------------------------------------------
def calibration_matrix(
    design: SurveyDesign, formula_or_columns: Any, totals: Any
) -> tuple[np.ndarray, list[str], np.ndarray]:
    """The n x p matrix of calibration variables, its column names and the totals vector."""
    data = design.data
    n = design.n_total
    if isinstance(formula_or_columns, str):
        x, names = _formula_matrix(design, formula_or_columns)
    elif isinstance(formula_or_columns, pd.DataFrame):
        x = _numeric_frame(formula_or_columns, design.source)
        names = [str(c) for c in formula_or_columns.columns]
    elif (isinstance(formula_or_columns, Sequence) and formula_or_columns
          and all(isinstance(c, str) for c in formula_or_columns)):
        missing = [c for c in formula_or_columns if c not in data.columns]
        if missing:
            raise WeightingError("calibration variables not found in the data",
                                 file=design.source, values=missing)
        x = _numeric_frame(data[list(formula_or_columns)], design.source)
        names = list(formula_or_columns)
    else:
        x = np.asarray(formula_or_columns, dtype=float)
        if x.ndim == 1:
            x = x[:, None]
        if x.ndim != 2:
            raise WeightingError(f"calibration matrix must be 2-D, got shape {x.shape}")
        names = [f"x{j}" for j in range(x.shape[1])]
        bad = ~np.isfinite(x)
        if bad.any():
            cols = sorted(set(np.nonzero(bad)[1].tolist()))
            raise WeightingError(
                f"calibration matrix has {int(bad.any(axis=1).sum())} row(s) with missing or "
                "infinite values", file=design.source, values=[names[j] for j in cols])
    if x.shape[0] != n:
        raise WeightingError(f"calibration matrix has {x.shape[0]} rows, the design has {n}",
                             file=design.source)
    if x.shape[1] == 0:
        raise WeightingError("no calibration variables given", file=design.source)
    pop = _totals_vector(totals, names, design.source)
    return x, names, pop


def _numeric_frame(frame: pd.DataFrame, source: str | None) -> np.ndarray:
    cols = []
    for c in frame.columns:
        s = frame[c]
        if s.dtype == bool:
            s = s.astype(float)
        num = pd.to_numeric(s, errors="coerce")
        bad = num.isna() & s.notna()
        if bad.any():
            raise WeightingError("calibration variable is not numeric", file=source,
                                 column=str(c), values=s[bad])
        if num.isna().any():
            raise WeightingError(
                f"calibration variable has {int(num.isna().sum())} missing value(s)",
                file=source, column=str(c),
                values=[f"row {i + 1}" for i in np.flatnonzero(num.isna().to_numpy())])
        cols.append(num.to_numpy(dtype=float))
    return np.column_stack(cols) if cols else np.zeros((len(frame), 0))


def _formula_matrix(design: SurveyDesign, formula: str) -> tuple[np.ndarray, list[str]]:
    """Model matrix of a patsy formula (treatment contrasts, like R's ``model.matrix``)."""
    import patsy

    text = formula.strip()
    if not text.startswith("~"):
        text = "~" + text
    data = design.data
    # R-style names with dots (sch.wide) are not Python names: quote them for patsy
    text = _DOTTED.sub(lambda m: f'Q("{m.group(0)}")' if m.group(0) in data.columns
                       else m.group(0), text)
    try:
        desc = patsy.ModelDesc.from_formula(text)
    except patsy.PatsyError as exc:
        raise expression_error(WeightingError)(
            f"cannot parse calibration formula {formula!r}: {patsy_message(exc)[0]}",
            file=design.source) from None
    for term in desc.rhs_termlist:  # every term is checked before patsy evaluates any
        for factor in term.factors:
            validate_term(factor.code, data.columns, kind=WeightingError, file=design.source,
                          shown=formula)
    used = sorted({_unquote(f.code) for t in desc.rhs_termlist for f in t.factors})
    for name in used:
        if name in data.columns and data[name].isna().any():
            miss = data[name].isna().to_numpy()
            raise WeightingError(
                f"calibration variable has {int(miss.sum())} missing value(s); every respondent "
                "needs a value", file=design.source, column=name,
                values=[f"row {i + 1}" for i in np.flatnonzero(miss)])
    try:
        # evaluated among the whitelisted functions only (patsy adds its own C, Q, I, ...),
        # never in this module's globals
        mm = patsy.dmatrix(text, data, NA_action="raise", return_type="dataframe",
                           eval_env=patsy.EvalEnvironment([dict(FORMULA_CONTEXT)]))
    except patsy.PatsyError as exc:
        text, unknown = patsy_message(exc)
        raise WeightingError(f"cannot build calibration formula {formula!r}: {text}",
                             file=design.source, column=unknown) from None
    return mm.to_numpy(dtype=float), [_unquote(str(c)) for c in mm.columns]


_DOTTED = re.compile(r'(?<![\w."])[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)+(?![\w"(])')
_QUOTED = re.compile(r'Q\("([^"]+)"\)')


def _unquote(name: str) -> str:
    """``Q("sch.wide")[T.Yes]`` -> ``sch.wide[T.Yes]``: column names as the user wrote them."""
    return _QUOTED.sub(r"\1", name)


def _totals_vector(totals: Any, names: list[str], source: str | None) -> np.ndarray:
    if isinstance(totals, (Mapping, pd.Series)):
        tot = dict(totals.items())
        missing = [c for c in names if c not in tot]
        extra = [k for k in tot if k not in names]
        if missing or extra:
            raise WeightingError(
                "calibration totals do not match the calibration variables",
                file=source, values=[f"missing {c}" for c in missing]
                + [f"unknown {k}" for k in extra],
                hint=f"expected keys: {', '.join(names)}",
            )
        pop = np.array([as_number(tot[c], "calibration total", c, source) for c in names])
    else:
        try:
            pop = np.asarray(totals, dtype=float).ravel()
        except (TypeError, ValueError):
            raise WeightingError("calibration totals must be numbers", file=source,
                                 values=list(np.ravel(np.asarray(totals, dtype=object)))
                                 ) from None
        if pop.shape != (len(names),):
            raise WeightingError(f"got {pop.size} totals for {len(names)} calibration variables",
                                 file=source, hint=f"variables: {', '.join(names[:10])}")
    if not np.isfinite(pop).all():
        raise WeightingError("calibration totals must be finite", file=source,
                             values=[names[j] for j in np.flatnonzero(~np.isfinite(pop))])
    return pop


# -- Newton solver (R's grake) -------------------------------------------------------------------
def _pinv_solve(t: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, int]:
    """Minimum-norm solution of the symmetric PSD system ``t x = b`` (R uses ``MASS::ginv``).

    Columns are equilibrated first so indicator and continuous variables on very different
    scales do not trip the rank cut-off; eigenvalues below ``256 eps`` of the largest count as 0.
    """
    diag = np.sqrt(np.clip(np.diag(t), 0.0, None))
    s = np.where(diag > 0, 1.0 / np.where(diag > 0, diag, 1.0), 0.0)
    ts = t * s[:, None] * s[None, :]
    vals, vecs = np.linalg.eigh(ts)
    top = np.max(np.abs(vals), initial=0.0)
    keep = vals > 256 * np.finfo(float).eps * top
    y = vecs[:, keep] @ ((vecs[:, keep].T @ (b * s)) / vals[keep])
    return y * s, int(keep.sum())


def solve_calibration(
    x: np.ndarray,
    d: np.ndarray,
    population: np.ndarray,
    method: str = "linear",
    bounds: tuple[float, float] | None = None,
    max_iter: int = 50,
    tol: float = 1e-10,
    names: list[str] | None = None,
    history: list[tuple[int, np.ndarray]] | None = None,
    sigma2: np.ndarray | None = None,
) -> tuple[np.ndarray, int, np.ndarray, int]:
    """g-weights solving ``sum d g x = population``; returns ``(g, iterations, misfit, rank)``.

    Newton steps with a pseudo-inverse solve and step halving on overflow, R's ``grake``;
    converged when every ``|misfit| / (1 + |total|) < tol``. If ``history`` is a list, the
    misfit vector after each Newton step is appended as ``(iteration, misfit)``. ``bounds``
    are scalars or one value per unit (unit-specific bounds); ``sigma2`` (n,) the working
    variances of heteroscedastic calibration (``g = 1 + F(x' eta / sigma2)``, R's
    ``variance=``; None: 1).
    """
    names = names or [f"x{j}" for j in range(x.shape[1])]
    lo, hi = _bounds(bounds, x.shape[0])
    if method not in METHODS:
        raise WeightingError(f"unknown calibration method {method!r}",
                             hint=f"use one of {', '.join(METHODS)}")
    if method == "logit" and not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi))
                                  and np.all(lo < 1.0) and np.all(1.0 < hi)):
        raise WeightingError(
            f"logit calibration needs finite g-bounds with lower < 1 < upper, got "
            f"({np.min(lo)}, {np.max(hi)})", hint="e.g. bounds=(0.5, 2)")
    fm1, df = _calfun(method, lo, hi)
    s2 = np.ones(x.shape[0]) if sigma2 is None else np.asarray(sigma2, dtype=float)
    sample_total = x.T @ d
    # a target nobody in the sample can carry cannot be hit
    carried = (np.abs(x) * (d > 0)[:, None]).sum(axis=0) > 0
    impossible = ~carried & (population != 0)
    if impossible.any():
        raise WeightingError(
            "calibration variables have a non-zero total but are zero for every respondent with "
            "a positive weight", values=[names[j] for j in np.flatnonzero(impossible)],
            hint="drop these targets or collapse categories")
    # R's pre-scaling for people starting with no weights
    with np.errstate(divide="ignore", invalid="ignore"):
        scales = population / sample_total
    scale = None
    ww = d
    if np.nanmin(np.where(np.isfinite(scales), scales, np.inf), initial=np.inf) > 20 \
            and np.isfinite(scales).all():
        scale = float(np.mean(scales))
        ww = d * scale
        sample_total = sample_total * scale

    eta = np.zeros(x.shape[1])
    xeta = np.zeros(x.shape[0])
    g = 1.0 + fm1(xeta)
    deriv = df(xeta)
    it = 1
    rank = x.shape[1]
    while True:
        t = (x * (ww * deriv / s2)[:, None]).T @ x
        misfit = population - x.T @ (ww * g)
        deta, rank = _pinv_solve(t, misfit)
        eta = eta + deta
        xeta = x @ eta / s2
        g = 1.0 + fm1(xeta)
        deriv = df(xeta)
        while it < max_iter and not (np.isfinite(g).all() and np.isfinite(deriv).all()):
            it += 1
            deta = deta / 2
            eta = eta - deta
            xeta = x @ eta / s2
            g = 1.0 + fm1(xeta)
            deriv = df(xeta)
        misfit = population - x.T @ (ww * g)
        if history is not None:
            history.append((it, misfit.copy()))
        rel = np.abs(misfit) / (1.0 + np.abs(population))
        if np.all(rel < tol):
            break
        it += 1
        if it > max_iter or not np.isfinite(rel).all():
            rel_all = np.nan_to_num(rel, nan=np.inf)
            order = np.argsort(-rel_all, kind="stable")[:5]
            why, hint = _failure_reason(x, ww, g, population, lo, hi, rank, names, method)
            err = ConvergenceError(
                f"{method} calibration did not converge in {max_iter} iterations: largest "
                f"relative misfit {rel_all.max():.3g} (tol {tol:g}); {why}",
                values=[f"{names[j]}: target {population[j]:.6g}, achieved "
                        f"{population[j] - misfit[j]:.6g}" for j in order],
                hint=hint)
            err.misfit = pd.Series(misfit, index=names)  # type: ignore[attr-defined]
            raise err
    if scale is not None:
        g = g * scale
    return g, it, misfit, rank


def _bounds(bounds: Any, n: int) -> tuple[Any, Any]:
    """g-bounds as two scalars or two n-vectors (unit-specific bounds), checked."""
    if bounds is None:
        return -np.inf, np.inf
    if isinstance(bounds, str) or len(bounds) != 2:
        raise WeightingError("bounds must be a pair (lower, upper)", values=[bounds])
    out = []
    for b, what in zip(bounds, ("lower bound", "upper bound"), strict=True):
        if np.ndim(b) == 0:
            out.append(as_number(b, what))
            continue
        arr = np.asarray(b, dtype=float)
        if arr.shape != (n,):
            raise WeightingError(f"unit-specific {what}s need one value per row ({n}), got "
                                 f"shape {arr.shape}")
        if np.isnan(arr).any():
            raise WeightingError(f"{what}s have missing values",
                                 values=[f"row {i}" for i in np.flatnonzero(np.isnan(arr))])
        out.append(arr)
    lo, hi = out
    scalar = np.ndim(lo) == 0 and np.ndim(hi) == 0
    if scalar and not lo < hi:
        raise WeightingError(f"bounds must satisfy lower < upper, got ({lo}, {hi})")
    bad = np.flatnonzero(np.broadcast_to(np.asarray(lo) > np.asarray(hi), (n,)))
    if bad.size:
        raise WeightingError("unit-specific bounds must satisfy lower <= upper",
                             values=[f"row {i}" for i in bad])
    # scalar bounds must contain 1 (no weight could stay as it is otherwise); unit-specific
    # bounds may pin a unit's weight elsewhere (R: bounds.const=TRUE fixes weights)
    out1 = np.flatnonzero(np.broadcast_to((np.asarray(lo) > 1.0) | (np.asarray(hi) < 1.0),
                                          (n,))) if scalar else np.zeros(0, int)
    if out1.size:
        raise WeightingError(f"g-bounds exclude 1 for {out1.size} row(s), so no weight can stay "
                             "as it is", values=[f"row {i}" for i in out1[:10]],
                             hint="bounds are ratios new weight / old weight (bounds_const="
                                  "True: bounds on the weights themselves)")
    return lo, hi


def _failure_reason(x: np.ndarray, d: np.ndarray, g: np.ndarray, population: np.ndarray,
                    lo: float, hi: float, rank: int, names: list[str], method: str
                    ) -> tuple[str, str]:
    """Say why a calibration failed, in the user's terms: targets out of reach of the bounds,
    weights stuck at the bounds, or an inconsistent / collinear system."""
    if np.ndim(lo) or np.ndim(hi):
        return ("the targets cannot be met with every g-weight inside its unit-specific bounds",
                "relax the bounds of some units, or check the totals")
    bounded = np.isfinite(lo) or np.isfinite(hi)
    if bounded and method != "logit" and (x >= 0).all():
        base = x.T @ d  # with non-negative variables each total lies in [lo, hi] x its start
        low, high = np.maximum(lo, 0.0) * base, hi * base
        out = np.flatnonzero((population < low * (1 - 1e-9)) | (population > high * (1 + 1e-9)))
        if out.size:
            need = [f"{names[j]} (needs g = {population[j] / base[j]:.4g} on average)"
                    for j in out[:5] if base[j] > 0]
            return ("these targets cannot be reached with every g-weight inside the bounds "
                    f"({lo:g}, {hi:g}): " + "; ".join(need),
                    "widen the bounds or collapse categories")
    if bounded:
        at = (g <= lo * (1 + 1e-9)) | (g >= hi * (1 - 1e-9))
        share = float(at[d > 0].mean()) if (d > 0).any() else 0.0
        return (f"{int(at[d > 0].sum())} of {int((d > 0).sum())} g-weights ({share:.0%}) are "
                f"stuck at the bounds ({lo:g}, {hi:g}), so the targets cannot be met jointly "
                "within them", "widen the bounds, collapse sparse categories or drop a margin")
    if rank < x.shape[1]:
        return (f"the calibration variables are collinear (rank {rank} of {x.shape[1]}) and "
                "their totals are inconsistent",
                "check the totals of collinear variables agree, or drop redundant variables")
    return ("the Newton iterations did not settle",
            "raise max_iter, check the totals, or collapse sparse categories")


def _sigma2(des: Any, variance: Any, x: np.ndarray) -> np.ndarray | None:
    """Working variances of heteroscedastic calibration (R ``variance=``): a column name or one
    value per row (``sigma2`` itself), or one coefficient per calibration variable
    (``sigma2 = x @ variance``, R's ``mm %*% variance``; ``variance=1`` with ``~enroll - 1``
    is the ratio estimator)."""
    if variance is None:
        return None
    if isinstance(variance, str):
        if variance not in des.data.columns:
            raise WeightingError("variance= must name a column of the data or give numbers",
                                 file=des.source, column=variance)
        s2 = pd.to_numeric(des.data[variance], errors="coerce").to_numpy(dtype=float)
    else:
        v = np.atleast_1d(np.asarray(variance, dtype=float))
        if v.shape == (x.shape[0],) and x.shape[1] != x.shape[0]:
            s2 = v
        elif v.shape == (x.shape[1],):
            s2 = x @ v
        else:
            raise WeightingError(f"variance= needs one value per row ({x.shape[0]}) or per "
                                 f"calibration variable ({x.shape[1]}), got {v.size}",
                                 file=des.source)
    bad = ~np.isfinite(s2) | (s2 <= 0)
    if bad.any():
        raise WeightingError(f"working variances must be positive and finite ({int(bad.sum())} "
                             "are not)", file=des.source,
                             column=variance if isinstance(variance, str) else None,
                             values=[f"row {i}: {s2[i]}" for i in np.flatnonzero(bad)[:10]])
    return s2


def _cluster_means(values: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """R's ``ave(x, cluster)``: each row replaced by its cluster's mean (column-wise)."""
    v = values if values.ndim == 2 else values[:, None]
    counts = np.bincount(codes)
    means = np.column_stack([np.bincount(codes, weights=v[:, j]) / counts
                             for j in range(v.shape[1])])
    out = means[codes]
    return out if values.ndim == 2 else out[:, 0]


def calibrate(
    design: Any,
    formula_or_columns: Any,
    totals: Any,
    method: Method = "linear",
    bounds: tuple[Any, Any] | None = None,
    max_iter: int = 50,
    tol: float = 1e-10,
    *,
    variance: Any = None,
    aggregate_stage: int | None = None,
    stage: int = 0,
    bounds_const: bool = False,
) -> SurveyDesign | ReplicateDesign:
    """Calibrate a design's weights to population totals (R's ``calibrate``).

    ``formula_or_columns`` is a patsy formula (``"~stype + api99"``; totals keyed by patsy's
    column names such as ``"Intercept"``, ``"stype[T.H]"``), a list of numeric data columns, or a
    DataFrame / 2-D array of calibration variables (totals in the same column order, or keyed by
    column name). ``bounds=(lo, hi)`` bound the g-weights; each may also be one value per row
    (unit-specific bounds; ``lo = hi = 1`` keeps a unit's weight), and ``bounds_const=True``
    reads them as bounds on the weights themselves (R ``bounds.const``).

    ``variance``: heteroscedastic calibration (R ``variance=``): working variances, a column
    name or one value per row, or one coefficient per calibration variable (``x @ variance``);
    ``g = 1 + F(x' eta / sigma2)``. ``calibrate(d, ["enroll"], T, variance=[1])`` is the ratio
    estimator. ``aggregate_stage=1``: calibrate cluster means of the variables with cluster
    mean weights, so every unit of a first-stage cluster gets the same g (R ``aggregate.stage``).
    ``stage=1``: calibration within first-stage clusters to each cluster's own totals (Särndal's
    case C, R ``calibrate(..., stage=1)``): ``totals`` maps each cluster to its totals; linear,
    unbounded only (as R, which ignores ``stage`` otherwise).

    Linear calibration that gives negative weights is an error (R returns them silently).

    Returns a new design whose last ``calibrations`` entry (a :class:`GregCalibration`) holds
    ``g``, iterations and the misfit; ``design.vcov`` then gives R's calibrated standard errors.
    On a :class:`ReplicateDesign` every replicate column is calibrated to the same totals as
    well (R's ``calibrate.svyrep.design``; a replicate that does not converge is an error,
    where R keeps its unconverged weights).

    Parameters
    ----------
    design : SurveyDesign or ReplicateDesign
        The design to calibrate.
    formula_or_columns : str, sequence of str, pandas.DataFrame or array
        Calibration variables (see above).
    totals : mapping, sequence or array
        Population totals of the calibration variables.
    method : {"linear", "raking", "logit"}
        Calibration distance (R's ``calfun``).
    bounds : tuple, optional
        ``(lo, hi)`` bounds of the g-weights (or of the weights, with ``bounds_const``).
    max_iter : int
        Maximum number of iterations.
    tol : float
        Convergence tolerance.
    variance : str, float or array-like, optional
        Working variances (heteroscedastic calibration).
    aggregate_stage : int, optional
        Calibrate cluster means at this stage (R ``aggregate.stage``).
    stage : int
        ``1``: calibrate within first-stage clusters to each cluster's totals.
    bounds_const : bool
        Read ``bounds`` as bounds on the weights themselves.

    Returns
    -------
    SurveyDesign or ReplicateDesign
        The calibrated design.

    Examples
    --------
    >>> df = sk.load_replica()
    >>> design = sk.SurveyDesign(df, weights="weight")
    >>> cal = sk.calibrate(design, "~urban", {"Intercept": 2209, "urban": 1500})
    >>> sk.total(cal, "urban")["estimate"].round(1).tolist()
    [1500.0]
    """
    des = as_design(design, what="calibrate")
    if stage not in (0, 1):
        raise WeightingError(f"stage must be 0 (population totals) or 1 (totals of first-stage "
                             f"clusters), got {stage!r}")
    if stage == 1:
        from surveykit.weighting.cluster_calibration import calibrate_within_clusters

        if aggregate_stage is not None or bounds is not None or method != "linear":
            raise WeightingError("calibration within clusters (stage=1) is linear and "
                                 "unbounded, without aggregate_stage (as R)")
        return calibrate_within_clusters(des, formula_or_columns, totals, variance)
    if isinstance(des, ReplicateDesign) and (variance is not None or aggregate_stage is not None
                                             or bounds_const or (bounds is not None and any(
                                                 np.ndim(b) for b in bounds))):
        raise WeightingError("variance=, aggregate_stage=, unit-specific bounds and "
                             "bounds_const are for linearisation designs",
                             hint="calibrate the SurveyDesign, then build its replicates")
    x, names, pop = calibration_matrix(des, formula_or_columns, totals)
    d = des.weights
    if bounds_const:
        if bounds is None:
            raise WeightingError("bounds_const=True needs bounds")
        bounds = tuple(np.where(d > 0, np.asarray(b, dtype=float) / np.where(d > 0, d, 1.0),
                                np.asarray(b, dtype=float)) for b in bounds)
    sigma2 = _sigma2(des, variance, x)
    xs, ds, s2 = x, d, sigma2
    if aggregate_stage is not None:
        if not 1 <= aggregate_stage <= len(des.stages):
            raise WeightingError(f"aggregate_stage={aggregate_stage!r}: the design has "
                                 f"{len(des.stages)} stage(s)")
        codes = np.asarray(des.stages[aggregate_stage - 1].cluster)
        xs, ds = _cluster_means(x, codes), _cluster_means(d, codes)
        s2 = None if sigma2 is None else _cluster_means(sigma2, codes)
    g, iters, misfit, rank = solve_calibration(xs, ds, pop, method=method, bounds=bounds,
                                               max_iter=max_iter, tol=tol, names=names,
                                               sigma2=s2)
    new_w = np.where(des.domain, des.base_weights * g, des.base_weights)
    neg = new_w < 0
    if neg.any():
        raise WeightingError(
            f"{method} calibration produced {int(neg.sum())} negative weight(s)",
            file=des.source, values=[f"row {i + 1}: g = {g[i]:.4g}" for i in np.flatnonzero(neg)],
            hint="bound the g-weights, e.g. bounds=(0, inf), or use method='raking' or 'logit'")
    lo, hi = _bounds(bounds, x.shape[0])
    if isinstance(des, ReplicateDesign):  # R's calibrate.svyrep.design: every replicate too
        reps = des.replicate_weights
        fm1, dfun = _calfun(method, lo, hi)
        greps = calibrate_columns(x, reps, pop, fm1, dfun, max_iter, tol, names, method,
                                  des.source)
        # negative replicate weights from linear (GREG) calibration are kept, as R does: they
        # are part of the replicate variance estimator, not analysis weights
        new_reps = reps * greps
        return reweighted(des, new_w, new_reps)
    whalf = np.sqrt(ds)
    # R's variance: the residuals of the weighted regression on the calibration variables;
    # with working variances only in R's linear unbounded path (regcalibrate: qr(x sqrt(d) /
    # sigma), w = g sqrt(d) sigma); R's grake path (bounds or another method) ignores them
    unbounded = bounds is None or all(np.all(np.isinf(b)) for b in (lo, hi))
    sig = np.sqrt(s2) if (s2 is not None and method == "linear" and unbounded) else 1.0
    q, qrank = _column_space(xs * (whalf / sig)[:, None])
    cal = GregCalibration(columns=names, population=pop, g=g, method=method,
                          bounds=(float(np.min(lo)), float(np.max(hi))),
                          iterations=iters, misfit=misfit, rank=min(rank, qrank), _q=q,
                          _w=g * whalf * sig)
    return des.with_weights(new_w, calibration=cal)
