"""The one entry point of the variance engine: :func:`estimate`.

An estimator declares its *statistic* — for all its groups at once — and makes one call::

    from surveykit.variance import Statistic, estimate

    stat = Statistic(estimate=theta,            # (p,) point estimates from design.weights
                     scores=scores,             # n x p weighted influence scores (linearisation)
                     reestimate=refit)          # (n x k weight columns) -> (k x p) (replicates)
    res = estimate(design, stat)                # VarianceResult: estimate, vcov, df, deff, ...

The engine picks the design's method: linearisation (R's ``svyrecvar``: calibration residuals,
stages, lonely PSUs) from the scores, or replication (R's ``svrVar``) from the statistic
re-estimated on every replicate weight column in one vectorised call. Ratios of totals by group
(means, totals, proportions, ratios: the descriptive estimators) are declared with
:class:`RatioOfTotals`, which the engine evaluates with PSU x group aggregation or one sparse
replicate product and returns per-group :class:`DomainEstimate` s plus the joint covariance.
No estimator computes a variance of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, overload

import numpy as np

from surveykit.errors import EstimationError
from surveykit.variance.linearisation import linearised_df, linearised_vcov
from surveykit.variance.replication import replicate_df, svr_var
from surveykit.variance.totals import ByEstimates, _deff, estimate_by


@dataclass(frozen=True)
class Statistic:
    """An estimator's statistic: point estimates and what the variance needs.

    Parameters
    ----------
    estimate: (p,) point estimates computed with ``design.weights``; for G groups of q
        quantities, p = G q (group-major), so one call gives the joint covariance.
    scores: n x p weighted influence scores over ALL rows of the design (multiplied by the
        weight, zero outside the domain), or a callable returning them (built only when the
        design is a linearisation design). Needed for linearisation designs.
    reestimate: a vectorised re-estimate: given an n x k matrix of weight columns (zero outside
        the domain) it returns the k x p estimates. Needed for replicate designs.
    names: optional parameter names (see docs/ARCHITECTURE.md, "Parameter names").
    rows: boolean n-mask of the rows the statistic uses, for the design degrees of freedom
        (R's ``degf`` of the domain); default: the design's domain.
    srs_variance, weight_sum, n, kind: optional design-effect inputs — the element variance
        of each quantity (``svyvar``'s n/(n-1) divisor), sum of weights, respondents, and
        "mean" or "total" — for ``deff`` as R's ``deff=TRUE``.
    """

    estimate: np.ndarray
    scores: np.ndarray | Callable[[], np.ndarray] | None = field(default=None, repr=False)
    reestimate: Callable[[np.ndarray], np.ndarray] | None = field(default=None, repr=False)
    names: Sequence[str] | None = None
    rows: np.ndarray | None = field(default=None, repr=False)
    srs_variance: np.ndarray | None = None
    weight_sum: float | None = None
    n: int | None = None
    kind: str = "mean"


@dataclass(frozen=True)
class RatioOfTotals:
    """Totals (``kind="total"``) or ratios of totals (``kind="mean"``: means, proportions, and
    with ``denom`` ratios ``sum w y / sum w x``) of p quantities in G groups.

    ``codes`` gives each row's group 0..G-1 (-1: unused), one column (n,) or one per quantity
    (n, p); the quantities are the columns of ``y`` (n x p) or, with ``cat``, the indicators of
    the level codes 0..n_levels-1. See :func:`surveykit.variance.totals.estimate_by`.
    """

    y: np.ndarray | None
    codes: np.ndarray
    n_groups: int
    kind: str = "mean"
    cat: np.ndarray | None = None
    n_levels: int = 0
    denom: np.ndarray | None = None


@dataclass(frozen=True)
class VarianceResult:
    """What the engine returns for a :class:`Statistic`: estimates, joint covariance, design
    df, design effects (NaN without their inputs) and, when asked, the replicate estimates."""

    estimate: np.ndarray
    vcov: np.ndarray
    df: float
    names: tuple[str, ...] | None = None
    deff: np.ndarray | None = None
    replicates: np.ndarray | None = field(default=None, repr=False)
    method: str = "linearisation"

    @property
    def se(self) -> np.ndarray:
        return np.sqrt(np.clip(np.diag(self.vcov), 0.0, None))


@overload
def estimate(design: Any, statistic: Statistic, *, joint: bool = ..., keep_reps: bool = ...,
             progress: bool | None = ...) -> VarianceResult: ...
@overload
def estimate(design: Any, statistic: RatioOfTotals, *, joint: bool = ...,
             keep_reps: bool = ..., progress: bool | None = ...) -> ByEstimates: ...
def estimate(design: Any, statistic: Statistic | RatioOfTotals, *, joint: bool = True,
             keep_reps: bool = False, progress: bool | None = None
             ) -> VarianceResult | ByEstimates:
    """Estimates, joint covariance, degrees of freedom and design-effect inputs of an
    estimator's statistic on a design (linearisation or replicate weights).

    A :class:`Statistic` gives a :class:`VarianceResult`; a :class:`RatioOfTotals` gives a
    :class:`~surveykit.variance.totals.ByEstimates` (per-group estimates with their own
    covariance, df and deff, plus the joint covariance of all groups when ``joint``; its
    ``estimate``/``vcov``/``df`` answer the same questions).
    """
    if isinstance(statistic, RatioOfTotals):
        return estimate_by(design, statistic.y, statistic.codes, statistic.n_groups,
                           statistic.kind, cat=statistic.cat, n_levels=statistic.n_levels,
                           joint=joint, keep_reps=keep_reps, progress=progress,
                           denom=statistic.denom)
    if not isinstance(statistic, Statistic):
        raise EstimationError(f"expected a Statistic or RatioOfTotals, got "
                              f"{type(statistic).__name__}")
    theta = np.atleast_1d(np.asarray(statistic.estimate, dtype=float))
    rows = design.domain if statistic.rows is None else np.asarray(statistic.rows, dtype=bool)
    reps = None
    if design.is_replicate:
        if statistic.reestimate is None:
            raise EstimationError("a replicate design needs the statistic's re-estimate on the "
                                  "replicate weights (Statistic(reestimate=...))")
        reps = np.asarray(statistic.reestimate(design.replicate_weights), dtype=float)
        reps = reps.reshape(design.n_replicates, theta.size)
        v = svr_var(design, theta, reps)
        df = float(replicate_df(design, rows & design.domain))
        method = "replication"
    else:
        if statistic.scores is None:
            raise EstimationError("a linearisation design needs the statistic's influence "
                                  "scores (Statistic(scores=...))")
        scores = statistic.scores() if callable(statistic.scores) else statistic.scores
        v = linearised_vcov(design, scores)
        df = float(design.df if statistic.rows is None
                   else linearised_df(design.subset(rows)))
        method = "linearisation"
    deff = None
    if statistic.srs_variance is not None and statistic.weight_sum is not None \
            and statistic.n is not None:
        has_fpc = (not design.is_replicate) and bool(np.any(design.fpc_f < 1))
        deff = _deff(v, np.asarray(statistic.srs_variance, dtype=float),
                     float(statistic.weight_sum), int(statistic.n), statistic.kind, has_fpc)
    names = tuple(statistic.names) if statistic.names is not None else None
    return VarianceResult(theta, v, df, names, deff, reps if keep_reps else None, method)
