"""Linearisation variance: R's ``svyrecvar`` over the stages of a design.

The first stage contributes ``sum_h f_h n_h/(n_h-1) sum_i (z_hi - zbar_h)(z_hi - zbar_h)'`` over
the PSU totals ``z`` of the weighted influence scores; when an FPC is given, stage ``s`` adds the
same sum over its units, multiplied by the product of the sampling fractions ``n_t/N_t`` of the
earlier stages that contain it (Bellhouse's recursion; R's ``multistage``/``onestage``/
``onestrat``). Calibrated designs first replace the scores by their calibration residuals (R's
``postStrata`` argument). Lonely PSUs follow R's ``survey.lonely.psu`` options.

The functions read a design through its documented attributes (``stages``, ``calibrations``,
``lonely_psu``, ``weights``, ``ultimate_cluster``, ``spec``, ``psu_codes``, ``psu_stratum``,
``strata_codes``); this module imports nothing of :mod:`surveykit.design`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from surveykit.errors import DesignError

CERTAINTY_TOL = 1e-7
"""A stratum whose finite population correction ``1 - n/N`` is below this is taken whole (R)."""


def _cluster_totals(stage: Any, x: np.ndarray) -> np.ndarray:
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


def stage_variance(stage: Any, x: np.ndarray, present_rows: np.ndarray | None,
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


def unit_variance(stage: Any, z: np.ndarray, present: np.ndarray, multiplier: np.ndarray,
                  lonely_psu: str, number: int, units_present: np.ndarray | None = None
                  ) -> np.ndarray:
    """:func:`stage_variance` from the unit totals ``z`` (n_units x p) and the strata of the
    domain (``present``). Estimators that aggregate their scores to PSU totals themselves use
    it for the first stage through :func:`psu_totals_vcov`.

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


def recursive_vcov(stages: tuple[Any, ...], x: np.ndarray, present_rows: np.ndarray | None,
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


# -- the design-level entry points ----------------------------------------------------------------
def later_stages(design: Any) -> bool:
    """The variance adds later-stage terms (several stages, an FPC, no ultimate cluster)."""
    return (len(design.stages) > 1 and not design.ultimate_cluster
            and design.spec.get("has_fpc", False))


def psu_aggregable(design: Any) -> bool:
    """True when the variance depends on influence scores only through their PSU totals (no
    calibration, one stage or the ultimate-cluster approximation): estimators may then sum
    their scores within PSUs themselves and call :func:`psu_totals_vcov`."""
    return not design.calibrations and not later_stages(design)


def linearised_vcov(design: Any, scores: np.ndarray) -> np.ndarray:
    """p x p linearisation covariance of totals with weighted influence scores ``scores``.

    ``scores`` is n x p: each respondent's weighted contribution to the estimating equations
    (already multiplied by the weight; zero outside the domain). Calibration residuals first,
    then every stage as in R's ``svyrecvar``.
    """
    x = np.asarray(scores, dtype=float)
    if x.ndim == 1:
        x = x[:, None]
    if x.shape[0] != design.n_total:
        raise DesignError(f"scores have {x.shape[0]} rows, design has {design.n_total}")
    within = tuple(c for c in design.calibrations if getattr(c, "stage", 0) > 0)
    for cal in design.calibrations:
        if getattr(cal, "stage", 0) == 0:
            x = cal.residualize(x)
    # R drops the rows outside a domain before svyrecvar, except for calibrated designs,
    # whose subsets keep every row (zero weight; their residualised scores are non-zero)
    present = None if design.calibrations else design.weights != 0
    return recursive_vcov(design.stages, x, present, design.lonely_psu, later_stages(design),
                          within, getattr(design, "adjust_domain_lonely", False))


def psu_totals_vcov(design: Any, z: np.ndarray, present_psu: np.ndarray | None = None
                    ) -> np.ndarray:
    """:func:`linearised_vcov` from scores already summed within PSUs (n_psu x p, PSUs in code
    order); only for designs with :func:`psu_aggregable`.

    ``present_psu`` marks the PSUs with rows in the domain the scores belong to (R drops the
    other rows, hence their strata, before ``svyrecvar``); default: the PSUs with non-zero
    weight in the design's domain.
    """
    if not psu_aggregable(design):
        raise DesignError("this design's variance needs unit-level scores; use vcov()")
    z = np.asarray(z, dtype=float)
    if z.ndim == 1:
        z = z[:, None]
    n_psu = len(design.psu_stratum)
    if z.shape[0] != n_psu:
        raise DesignError(f"PSU totals have {z.shape[0]} rows, design has {n_psu} PSUs")
    if present_psu is None:
        present_psu = np.bincount(design.psu_codes[design.weights != 0], minlength=n_psu) > 0
    first = design.stages[0]
    present = np.zeros(first.n_strata, dtype=bool)
    present[design.psu_stratum[np.asarray(present_psu, dtype=bool)]] = True
    return unit_variance(first, z, present, np.ones(first.n_strata), design.lonely_psu, 1,
                         np.asarray(present_psu, dtype=bool)
                         if getattr(design, "adjust_domain_lonely", False) else None)


def linearised_df(design: Any) -> int:
    """Design degrees of freedom in the design's domain: #PSUs - #strata with rows of
    non-zero weight (R's ``degf``)."""
    inset = design.weights != 0
    n_psu, n_strata = len(design.psu_stratum), len(design.stages[0].n)
    psus = np.bincount(design.psu_codes[inset], minlength=n_psu)
    strata = np.bincount(design.strata_codes[inset], minlength=n_strata)
    return int(np.count_nonzero(psus) - np.count_nonzero(strata))


def df_psu(design: Any, present_psu: np.ndarray) -> int:
    """R's ``degf`` of the domain whose rows lie in the PSUs marked ``present_psu``:
    #PSUs - #strata among them (as :func:`linearised_df`, without a pass over the rows)."""
    present = np.asarray(present_psu, dtype=bool)
    strata = np.zeros(len(design.stages[0].n), dtype=bool)
    strata[design.psu_stratum[present]] = True
    return int(present.sum() - strata.sum())
