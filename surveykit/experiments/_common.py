"""Shared pieces of the experiment estimators: the ONE call into the design's variance engine,
arm coding, multiplicity adjustment and the synthetic mark.

No variance is computed here: :func:`design_vcov` hands influence scores (or replicate
re-estimates) to the design, which owns the variance (R ``svyrecvar`` / ``svrVar``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from surveykit.errors import EstimationError

SYNTHETIC_NOTE = "SYNTHETIC data - illustrative results, not findings about China"


def design_vcov(design: Any, influence: Callable[[], np.ndarray],
                refit: Callable[[np.ndarray], np.ndarray], theta: np.ndarray,
                psu_totals: Callable[[np.ndarray, int], np.ndarray] | None = None
                ) -> np.ndarray:
    """The design covariance of estimates ``theta``.

    Linearisation designs: ``influence()`` is the n_total x p matrix of weighted influence
    scores (zero outside the rows used) and the design's ``vcov`` does the variance; when the
    design allows it (``psu_aggregable``) and the estimator can, ``psu_totals(psu_codes,
    n_psu)`` gives the scores already summed within PSUs (n_psu x p, one ``bincount``) for
    ``vcov_psu_totals``. Replicate designs: ``refit(W)`` re-estimates with the n_total x R
    replicate weights (all at once, returning R x p) and the design's ``replicate_vcov`` does
    the variance. ``design`` is the domain of the rows used (R drops incomplete rows first).
    """
    if design.is_replicate:
        return design.replicate_vcov(theta, refit(design.replicate_weights))
    if psu_totals is not None and design.psu_aggregable:
        return design.vcov_psu_totals(psu_totals(design.psu_codes, design.n_psu))
    return design.vcov(influence())


def p_adjust(p: np.ndarray, method: str) -> np.ndarray:
    """R ``p.adjust`` for "holm", "bonferroni", "BH" (alias "fdr") and "none"; NaNs kept."""
    p = np.asarray(p, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    q, m = p[ok], int(ok.sum())
    if m == 0:
        return out
    meth = method.lower() if isinstance(method, str) else method
    if meth == "none":
        adj = q
    elif meth == "bonferroni":
        adj = np.minimum(1.0, m * q)
    elif meth == "holm":
        o = np.argsort(q, kind="stable")
        adj_o = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * q[o]))
        adj = np.empty(m)
        adj[o] = adj_o
    elif meth in ("bh", "fdr"):
        o = np.argsort(q, kind="stable")[::-1]
        i = np.arange(m, 0, -1)
        adj_o = np.minimum(1.0, np.minimum.accumulate(m / i * q[o]))
        adj = np.empty(m)
        adj[o] = adj_o
    else:
        raise EstimationError(f"unknown p-value adjustment {method!r}",
                              hint="use 'holm', 'bonferroni', 'BH' or 'none'")
    out[ok] = adj
    return out


def match_level(levels: Sequence[Any], labels: dict[Any, str], wanted: Any, column: str,
                source: str | None, role: str) -> int:
    """Index of ``wanted`` among ``levels``, matched by value, by its text or by value label."""
    for k, lv in enumerate(levels):
        if lv == wanted or str(lv) == str(wanted) or labels.get(lv) == wanted:
            return k
    raise EstimationError(f"{role} is not a value of the treatment", file=source,
                          column=column, values=[wanted],
                          hint=f"values are {[str(v) for v in levels]}")


def is_binary(y: np.ndarray) -> bool:
    """True when every non-missing value is 0 or 1 (and both are possible codes)."""
    v = y[np.isfinite(y)]
    return v.size > 0 and bool(np.all((v == 0) | (v == 1)))


def mark_synthetic(frame: pd.DataFrame, design: Any) -> pd.DataFrame:
    """Mark a result made from synthetic data (``attrs["synthetic"]`` and a note)."""
    from surveykit.provenance import is_synthetic

    if is_synthetic(design):
        frame.attrs["synthetic"] = True
        frame.attrs["note"] = SYNTHETIC_NOTE
    return frame
