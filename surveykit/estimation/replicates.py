"""Any statistic on a replicate design: ``with_replicates`` (R ``withReplicates``).

The user's function is evaluated with the full-sample weights and with every replicate's
weights; the variance is the design's replicate variance of those values
(``design.replicate_vcov``: R's ``svrVar`` with the design's scale, rscales and mse). The
result carries the replicate values, so :func:`surveykit.contrast` of it works replicate by
replicate as well.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from surveykit._dist import norm_ppf
from surveykit.errors import DesignError, EstimationError
from surveykit.inference import ReplicateEstimates, attach_covariance
from surveykit.mi.dispatch import mi_aware

__all__ = ["with_replicates"]

Statistic = Callable[[np.ndarray, pd.DataFrame], Any]


def _values(out: Any, names: list[str] | None) -> tuple[np.ndarray, list[str] | None]:
    """A statistic's value as a float vector, with names when it gave them."""
    if isinstance(out, pd.Series):
        return out.to_numpy(dtype=float), [str(i) for i in out.index]
    if isinstance(out, Mapping):
        return np.asarray(list(out.values()), dtype=float), [str(k) for k in out]
    return np.atleast_1d(np.asarray(out, dtype=float)).reshape(-1), names


@mi_aware
def with_replicates(design: Any, statistic: Statistic, *, names: Sequence[str] | None = None,
                    level: float = 0.95) -> pd.DataFrame:
    """Estimate any statistic and its replicate standard error (R ``withReplicates``).

    ``statistic(weights, data)`` gets an n-vector of weights (zero outside the design's
    domain) and the design's data frame, and returns a number, an array, a Series or a dict
    (names from its keys). It is called once with the full-sample weights and once per
    replicate (``design.replicate_weights`` columns), so keep it vectorised. A replicate whose
    value is undefined (NaN) is left out of the variance with a warning, as R's ``svrVar``.

    Returns one row per value: ``statistic, estimate, std_error, ci_low, ci_high`` (normal
    quantiles, as R's ``confint`` of an ``svrepstat``), with the joint covariance and the
    replicate values in ``attrs["vcov"]`` and the design df in ``attrs["df"]``, so
    :func:`surveykit.contrast` takes it (nonlinear contrasts are evaluated replicate by
    replicate).

    Example: the ratio of two weighted medians, or ``lambda w, d: np.average(d.x, weights=w)``.

    Parameters
    ----------
    design : ReplicateDesign
        A replicate-weight design.
    statistic : callable
        ``statistic(weights, data)`` returning a number, array, Series or dict.
    names : sequence of str, optional
        Names of the values (default: from the result, or ``statistic``).
    level : float
        Confidence level of the intervals.

    Returns
    -------
    pandas.DataFrame
        One row per value: statistic, estimate, std_error, ci_low, ci_high.

    Examples
    --------
    >>> import numpy as np
    >>> design = sk.SurveyDesign(sk.load_replica(), weights="weight")
    >>> rep = sk.make_replicate_design(design, "bootstrap", replicates=20, seed=1)
    >>> res = sk.with_replicates(rep, lambda w, d: np.average(d["age"], weights=w))
    >>> round(float(res["estimate"].iloc[0]), 2)
    32.64
    """
    if not getattr(design, "is_replicate", False):
        raise DesignError("with_replicates needs a replicate design",
                          file=getattr(design, "source", None),
                          hint="build one with design.replicate('jk1'/'jkn'/'bootstrap'/'brr') "
                               "or ReplicateDesign(...)")
    if not callable(statistic):
        raise EstimationError(f"statistic must be a function of (weights, data), got "
                              f"{type(statistic).__name__}")
    data = design.data
    given = None if names is None else [str(n) for n in names]
    theta, got = _values(statistic(np.asarray(design.weights, dtype=float), data), given)
    W = design.replicate_weights
    reps = np.full((W.shape[1], theta.size), np.nan)
    with np.errstate(all="ignore"):
        for r in range(W.shape[1]):
            val, _ = _values(statistic(np.ascontiguousarray(W[:, r]), data), None)
            if val.size != theta.size:
                raise EstimationError(f"the statistic gave {theta.size} values with the full-"
                                      f"sample weights but {val.size} with replicate {r + 1}")
            reps[r] = val
    labels = given or got or (["statistic"] if theta.size == 1 else
                              [f"statistic{i + 1}" for i in range(theta.size)])
    if len(labels) != theta.size:
        raise EstimationError(f"{len(labels)} names for {theta.size} values")
    v = np.atleast_2d(design.replicate_vcov(theta, reps))
    se = np.sqrt(np.clip(np.diag(v), 0.0, None))
    z = float(norm_ppf(0.5 + level / 2))
    out = pd.DataFrame({"statistic": labels, "estimate": theta, "std_error": se,
                        "ci_low": theta - z * se, "ci_high": theta + z * se})
    return attach_covariance(out, v, labels, float(design.df),
                             replicates=ReplicateEstimates(reps, design.replicate_vcov))
