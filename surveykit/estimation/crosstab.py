"""Two-way tables with the Rao–Scott corrected Pearson test (R's ``svychisq(statistic="F")``).

The test: Pearson's X^2 on the weighted table scaled to the sample size, divided by the mean
generalised design effect; the F reference distribution has ``d0 = tr(D)^2 / tr(D^2)`` and
``d0 * df_design`` degrees of freedom, where ``D`` is the generalised design-effect matrix of the
interaction contrasts (Rao & Scott 1984, second-order correction as in R/surveychisq.R).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from surveykit.design import ReplicateDesign
from surveykit.errors import EstimationError
from surveykit.estimation._core import (
    Design,
    categorical_column,
    check_design,
    estimate_domains,
    replicate_df,
    require_nonempty,
)
from surveykit.estimation.descriptive import proportion


@dataclass
class CrosstabResult:
    """Result of :func:`crosstab`.

    ``table``: one row per (row category, column category) with columns ``row``, ``col``,
    ``estimate`` (cell share of the total), ``std_error``, ``row_share`` (share of the column
    category within the row category), ``row_share_se``, ``n_unweighted`` (respondents in the
    cell). ``test``: dict with ``statistic`` ("F"), ``F``, ``df1``, ``df2``, ``p_value``,
    ``chisq`` (Pearson's X^2 on the weighted table scaled to the rows of the design's domain,
    missing values included, as R's ``svytable(Ntotal = nrow(design))``), ``n`` (respondents
    used) and
    ``n_missing`` (respondents of the domain missing either variable, excluded as a domain).
    """

    table: pd.DataFrame
    test: dict[str, Any] = field(default_factory=dict)
    row: str = ""
    col: str = ""


def _design_effect_matrix(mean2: np.ndarray, v: np.ndarray, nr: int, nc: int,
                          n: int) -> np.ndarray:
    """Rao–Scott generalised design-effect matrix of the interaction contrasts."""
    r_idx = np.tile(np.arange(nr), nc)  # cells ordered with rows varying fastest (R)
    c_idx = np.repeat(np.arange(nc), nr)
    x1 = np.column_stack([np.ones(nr * nc)]
                         + [(r_idx == i).astype(float) for i in range(1, nr)]
                         + [(c_idx == j).astype(float) for j in range(1, nc)])
    x12 = np.column_stack([((r_idx == i) & (c_idx == j)).astype(float)
                           for j in range(1, nc) for i in range(1, nr)])
    coef, *_ = np.linalg.lstsq(x1, x12, rcond=None)
    cmat = x12 - x1 @ coef
    inv = np.where(mean2 == 0, 0.0, 1.0 / np.where(mean2 == 0, 1.0, mean2))
    denom = cmat.T @ (inv[:, None] / n * cmat)
    numr = cmat.T @ (inv[:, None] * v * inv[None, :]) @ cmat
    return np.linalg.solve(denom, numr)


def _design_rows_df(design: Design) -> tuple[int, float]:
    """Rows and denominator degrees of freedom of R's ``svychisq`` for the design's domain.

    R counts the rows and PSUs of the design object it is given, before dropping missing values
    of the two variables: for a domain of a plain design (``subset`` drops the other rows) the
    domain's rows; for a calibrated design (``subset`` keeps every row) the whole sample; for a
    replicate design the rank-based ``degf`` of the domain's rows.
    """
    rows = design.domain
    if isinstance(design, ReplicateDesign):
        return int(rows.sum()), float(replicate_df(design, rows))
    if design.calibrations:
        rows = np.ones(design.n_total, dtype=bool)
    psu = len(np.unique(design.psu_codes[rows]))
    strata = len(np.unique(design.strata_codes[rows]))
    return int(rows.sum()), float(psu - strata)


def crosstab(design: Design, row: str, col: str, *, level: float = 0.95) -> CrosstabResult:
    """Weighted two-way table of ``row`` x ``col`` and the Rao–Scott F test of independence.

    Matches R's ``svychisq(~row + col, design, statistic = "F")`` and ``svymean`` of the cell
    indicators. Respondents missing either variable are excluded as a domain (counted in
    ``test["n_missing"]``). ``level`` is accepted for symmetry with the other estimators (the
    table reports SEs; use :func:`proportion` for intervals).
    """
    design = check_design(design)
    if row == col:
        raise EstimationError("crosstab needs two different variables", column=row)
    rcodes, rlevels, rmiss = categorical_column(design, row)
    ccodes, clevels, cmiss = categorical_column(design, col)
    use = design.domain & (design.base_weights != 0) & ~rmiss & ~cmiss
    n_missing = int((design.domain & (rmiss | cmiss)).sum())
    require_nonempty(design, f"{row} x {col}", np.ones(design.n_total, dtype=bool),
                     rmiss | cmiss)
    # levels present among the rows used
    r_present = np.unique(rcodes[use])
    c_present = np.unique(ccodes[use])
    nr, nc = len(r_present), len(c_present)
    if nr < 2 or nc < 2:
        raise EstimationError(
            f"crosstab needs at least 2 categories in each variable among the respondents "
            f"used; {row!r} has {nr}, {col!r} has {nc}", file=design.source,
            column=row if nr < 2 else col,
        )
    rmap = np.full(len(rlevels), -1)
    rmap[r_present] = np.arange(nr)
    cmap = np.full(len(clevels), -1)
    cmap[c_present] = np.arange(nc)
    cell = np.where(use, rmap[np.maximum(rcodes, 0)] + nr * cmap[np.maximum(ccodes, 0)], -1)
    ind = np.zeros((len(cell), nr * nc))
    ind[np.flatnonzero(use), cell[use]] = 1.0
    (e,) = estimate_domains(design, ind, [use], "mean", one_hot=True)
    n = e.n
    n_rows, nu = _design_rows_df(design)
    mean2, v = e.theta, e.vcov
    # Pearson X^2 on the weighted table scaled to the design's rows (R: svytable(...,
    # Ntotal = nrow(design)), missing values included); the F statistic does not depend on it
    obs = (mean2 * n_rows).reshape(nc, nr).T
    expct = np.outer(obs.sum(axis=1), obs.sum(axis=0)) / n_rows
    with np.errstate(divide="ignore", invalid="ignore"):
        chisq = float(np.nansum((obs - expct) ** 2 / expct))
    delta = _design_effect_matrix(mean2, v, nr, nc, n_rows)
    tr = float(np.trace(delta))
    d0 = tr**2 / float(np.trace(delta @ delta))
    f_stat = chisq / tr
    df2 = d0 * nu
    p_value = float(stats.f.sf(f_stat, d0, df2)) if df2 > 0 else float("nan")
    test = {"statistic": "F", "F": f_stat, "df1": d0, "df2": df2, "p_value": p_value,
            "chisq": chisq, "n": n, "n_missing": n_missing}

    sub = design.subset(use)
    cond = proportion(sub, col, by=row, ci="wald", level=level)
    cond_key = {(r, c): (est, se) for r, c, est, se in
                zip(cond[row], cond["level"], cond["estimate"], cond["std_error"], strict=True)}
    counts = np.bincount(cell[use], minlength=nr * nc)
    se = e.se
    recs = []
    for i in range(nr):
        for j in range(nc):
            k = i + nr * j
            rv, cv = rlevels[r_present[i]], clevels[c_present[j]]
            rs, rse = cond_key.get((rv, cv), (np.nan, np.nan))
            recs.append({"row": rv, "col": cv, "estimate": float(mean2[k]),
                         "std_error": float(se[k]), "row_share": float(rs),
                         "row_share_se": float(rse), "n_unweighted": int(counts[k])})
    table = pd.DataFrame(recs)
    return CrosstabResult(table=table, test=test, row=row, col=col)
