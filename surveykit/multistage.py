"""Sampling stages of a linearisation design and their recursive variance (R's ``svyrecvar``).

A design has one or more stages. Stage 1 holds the primary sampling units (PSUs) in the
first-stage strata; stage ``s >= 2`` holds the stage-``s`` units, which R nests automatically
in the stage-``s-1`` units (``id=~a+b`` makes the stage-2 unit the pair ``(a, b)``), in
stage-``s`` strata that are the stage-``s`` strata column (or, without one, nothing) crossed
with the stage-``s-1`` unit. Every array here is an integer code array, built in O(n) by
hashing (no sort), so a million-row design costs a few passes over the rows.

Variance (R's ``multistage``/``onestage``/``onestrat``): the first stage contributes
``sum_h f_h n_h/(n_h-1) sum_i (z_hi - zbar_h)(z_hi - zbar_h)'`` over the PSU totals ``z``;
when an FPC is given, stage ``s`` adds the same sum over its units, multiplied by the product
of the sampling fractions ``n_t/N_t`` of the earlier stages that contain it (Bellhouse's
recursion). ``ultimate_cluster=True`` keeps only the first stage, as R's
``options(survey.ultimate.cluster=TRUE)``; without an FPC R keeps only the first stage too.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from surveykit.errors import DesignError

CERTAINTY_TOL = 1e-7
"""A stratum whose finite population correction ``1 - n/N`` is below this is taken whole (R)."""


@dataclass(frozen=True)
class Stage:
    """One sampling stage. Codes are 0-based and dense.

    cluster: row -> unit code at this stage.
    cluster_stratum: unit -> stratum code at this stage.
    n: stratum -> number of sampled units (in the full sample, as R's ``fpc$sampsize``).
    f: stratum -> finite population correction ``1 - n/N`` (1 without an FPC).
    ratio: stratum -> sampling fraction ``n/N`` (0 without an FPC).
    parent: stratum -> the unit of the previous stage that contains it (0 at stage 1).
    rows_are_units: every row is its own unit (cluster is ``arange(n)``), a fast path.
    """

    cluster: np.ndarray
    cluster_stratum: np.ndarray
    n: np.ndarray
    f: np.ndarray
    ratio: np.ndarray
    parent: np.ndarray
    rows_are_units: bool = False

    @property
    def n_units(self) -> int:
        return len(self.cluster_stratum)

    @property
    def n_strata(self) -> int:
        return len(self.n)

    @cached_property
    def indicator(self) -> Any:
        """Sparse units x rows 0/1 matrix (CSR) of ``cluster``, built once per stage."""
        from scipy import sparse

        n = len(self.cluster)
        return sparse.csr_matrix((np.ones(n), (self.cluster, np.arange(n))),
                                 shape=(self.n_units, n))

    def row_stratum(self) -> np.ndarray:
        """Stratum code of every row."""
        if self.rows_are_units:
            return self.cluster_stratum
        return self.cluster_stratum[self.cluster]


def dense_codes(values: np.ndarray) -> tuple[np.ndarray, int]:
    """Codes 0..k-1 of an integer array in order of first appearance, by hashing (no sort)."""
    import pandas as pd

    codes, uniques = pd.factorize(values, sort=False)
    return codes.astype(np.intp, copy=False), len(uniques)


def pair_codes(a: np.ndarray, b: np.ndarray, nb: int) -> tuple[np.ndarray, int]:
    """Dense codes of the pairs ``(a_i, b_i)`` of two code arrays (``0 <= b < nb``)."""
    return dense_codes(a.astype(np.int64) * np.int64(nb) + b.astype(np.int64))


def unit_strata(cluster: np.ndarray, row_stratum: np.ndarray, n_units: int) -> tuple[
        np.ndarray, np.ndarray]:
    """Stratum of each unit and the rows whose unit also appears in another stratum."""
    out = np.zeros(n_units, dtype=np.intp)
    out[cluster] = row_stratum
    return out, np.flatnonzero(out[cluster] != row_stratum)


def per_stratum_value(values: np.ndarray, row_stratum: np.ndarray, n_strata: int) -> tuple[
        np.ndarray, np.ndarray]:
    """The value of each stratum and the strata in which it is not constant."""
    out = np.zeros(n_strata)
    out[row_stratum] = values
    bad = values != out[row_stratum]
    return out, np.unique(row_stratum[bad])


def _cluster_totals(stage: Stage, x: np.ndarray) -> np.ndarray:
    """Column totals of ``x`` within each unit of the stage (units x columns). Several columns
    (a model's influence functions) go through the stage's sparse unit-by-row indicator in one
    pass, ~6x faster than a bincount per column; sums are taken in the same row order."""
    if stage.rows_are_units:
        return x
    if x.shape[1] >= 3:
        return np.asarray(stage.indicator @ x)
    z = np.empty((stage.n_units, x.shape[1]))
    for j in range(x.shape[1]):
        z[:, j] = np.bincount(stage.cluster, weights=x[:, j], minlength=stage.n_units)
    return z


def stage_variance(stage: Stage, x: np.ndarray, present_rows: np.ndarray | None,
                   multiplier: np.ndarray, lonely_psu: str, number: int,
                   domain_lonely: bool = False) -> np.ndarray:
    """Contribution of one stage: R's ``onestage`` for every group of strata that share a
    parent unit, each stratum's term multiplied by ``multiplier[stratum]``.

    ``present_rows`` marks the rows R would keep in the domain (None: all rows); strata without
    such rows are skipped, while absent units of present strata count as zero totals (R pads
    them, using the full-sample ``n``).
    """
    z = _cluster_totals(stage, x)
    hs = stage.cluster_stratum
    if present_rows is None:
        present = np.ones(stage.n_strata, dtype=bool)
    else:
        present = np.zeros(stage.n_strata, dtype=bool)
        rows = stage.cluster[present_rows] if not stage.rows_are_units else np.flatnonzero(
            present_rows)
        present[hs[rows]] = True
    units = None
    if domain_lonely and present_rows is not None:
        units = np.zeros(stage.n_units, dtype=bool)
        units[rows] = True
    return unit_variance(stage, z, present, multiplier, lonely_psu, number, units)


def unit_variance(stage: Stage, z: np.ndarray, present: np.ndarray, multiplier: np.ndarray,
                  lonely_psu: str, number: int, units_present: np.ndarray | None = None
                  ) -> np.ndarray:
    """:func:`stage_variance` from the unit totals ``z`` (n_units x p) and the strata of the
    domain (``present``). Estimators that aggregate their scores to PSU totals themselves use
    it for the first stage through ``SurveyDesign.vcov_psu_totals``.

    ``units_present`` (the units with rows in the domain) turns on R's
    ``options(survey.adjust.domain.lonely = TRUE)``: a stratum with several sampled units but
    only one in the domain is lonely too. R then changes only "adjust" (the unit is centred on
    the grand mean instead of its stratum's mean, the absent units still counting as zero
    totals) and "average" (the stratum is left out, the others scaled up); "remove",
    "certainty" and "fail" keep the usual stratum variance, as R (which warns)."""
    p = z.shape[1]
    n_strata = stage.n_strata
    hs = stage.cluster_stratum
    nh = stage.n.astype(float)
    sums = np.empty((n_strata, p))
    for j in range(p):
        sums[:, j] = np.bincount(hs, weights=z[:, j], minlength=n_strata)
    centre = sums / np.maximum(nh, 1.0)[:, None]
    certain = stage.f < CERTAINTY_TOL  # R returns zero for these before any lonely-PSU rule
    lonely = (nh == 1) & present & ~certain
    if units_present is not None and lonely_psu in ("adjust", "average"):
        n_in = np.bincount(hs[units_present], minlength=n_strata)
        dom_lonely = (n_in == 1) & (nh > 1) & present & ~certain
        if dom_lonely.any():
            import warnings

            warnings.warn(f"{int(dom_lonely.sum())} stratum/strata at stage {number} have a "
                          f"single sampled unit in the domain (lonely_psu='{lonely_psu}' "
                          "applied, adjust_domain_lonely=True)", UserWarning, stacklevel=4)
            lonely = lonely | dom_lonely
    scale = np.where(nh > 1, stage.f * nh / np.maximum(nh - 1.0, 1.0), stage.f)
    scale = np.where(present & ~certain, scale * multiplier, 0.0)
    parent = stage.parent
    n_parent = int(parent.max()) + 1 if parent.size else 1
    if lonely.any():
        if lonely_psu == "fail":
            raise DesignError(f"{int(lonely.sum())} stratum/strata at stage {number} have a "
                              "single sampled unit under lonely_psu='fail'")
        if lonely_psu == "adjust":
            # centre the lonely unit on the mean unit total of its parent's present strata
            tot = np.empty((n_parent, p))
            for j in range(p):
                tot[:, j] = np.bincount(parent, weights=np.where(present, sums[:, j], 0.0),
                                        minlength=n_parent)
            cnt = np.bincount(parent, weights=np.where(present, nh, 0.0), minlength=n_parent)
            grand = tot / np.maximum(cnt, 1.0)[:, None]
            centre[lonely] = grand[parent[lonely]]
        else:  # remove, certainty, average: the lonely stratum adds nothing
            scale = np.where(lonely, 0.0, scale)
        if lonely_psu == "average":
            # R's nstrat / nokstrat, per group of strata sharing a parent unit
            nstrat = np.bincount(parent, weights=present.astype(float), minlength=n_parent)
            nok = np.bincount(parent, weights=(present & ~lonely).astype(float),
                              minlength=n_parent)
            stuck = (nstrat > 0) & (nok == 0)
            if stuck.any():
                raise DesignError(f"lonely_psu='average' is undefined at stage {number}: every "
                                  "stratum of a group has a single sampled unit (R returns NaN)")
            factor = np.where(nok > 0, nstrat / np.maximum(nok, 1.0), 1.0)
            scale = scale * factor[parent]
    zc = z - centre[hs]
    zs = zc * np.sqrt(scale[hs])[:, None]
    return zs.T @ zs


def recursive_vcov(stages: tuple[Stage, ...], x: np.ndarray, present_rows: np.ndarray | None,
                   lonely_psu: str, later_stages: bool, within: tuple[Any, ...] = (),
                   domain_lonely: bool = False) -> np.ndarray:
    """R's ``multistage``: the first stage, plus every later stage weighted by the sampling
    fractions of the stages above it when ``later_stages`` (an FPC given, not ultimate
    cluster). ``within``: calibrations within the units of stage ``s`` (``.stage = s``,
    ``.residualize``), applied to the scores before the stages below ``s``, as R."""
    first = stages[0]
    v = stage_variance(first, x, present_rows, np.ones(first.n_strata), lonely_psu, 1,
                       domain_lonely)
    if not later_stages:
        return v
    mult = np.ones(first.n_strata)
    prev = first
    for number, stage in enumerate(stages[1:], start=2):
        for cal in within:
            if cal.stage == number - 1:
                x = cal.residualize(x)
        # the parent unit's stratum at the previous stage carries that stage's n/N
        up = prev.cluster_stratum[stage.parent]
        mult = mult[up] * prev.ratio[up]
        v = v + stage_variance(stage, x, present_rows, mult, lonely_psu, number,
                               domain_lonely)
        prev = stage
    return v
