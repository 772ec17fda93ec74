"""Replicate weights from a linearisation design (R's ``as.svrepdesign``).

Methods (all build PSU-level multipliers, then combined weights ``w_i * m[psu_i, r]``):

- ``"jk1"``: delete-one-PSU jackknife for unstratified designs; multipliers ``n/(n-1)``,
  scale ``f (n-1)/n`` with ``f = 1 - n/N`` under an FPC (R's ``jk1weights``).
- ``"jkn"``: stratified jackknife; one replicate per PSU, deleting it and multiplying the other
  PSUs of its stratum by ``n_h/(n_h-1)``; ``rscales = f_h (n_h-1)/n_h`` (R's ``jknweights``,
  including its treatment of lonely PSUs under the design's ``lonely_psu`` policy).
- ``"bootstrap"``: R's ``bootweights`` — in each stratum, ``n_h`` PSUs drawn with replacement
  (without replacement from ``N_h`` copies under an FPC); multipliers are the draw counts, scale
  ``nbar/((nbar-1)(R-1))`` with ``nbar`` the harmonic mean of ``n_h`` (the rescaling of Rao & Wu
  with ``m_h = n_h``). Seeded numpy RNG: the draws differ from R's, the estimator is the same.
- ``"subbootstrap"``: Rao–Wu rescaling bootstrap with ``m_h = n_h - 1`` draws, multipliers
  ``count n_h/(n_h-1)``, scale ``1/(R-1)`` (R's ``subbootweights``).
- ``"brr"``: balanced repeated replication for exactly 2 PSUs per stratum from a Sylvester
  Hadamard matrix of order ``2^k >= #strata + 1`` (R uses its own tables, so the replicate
  count can differ; variances of totals are identical); ``fay_rho`` gives Fay's variant with
  multipliers ``2 - rho`` / ``rho`` and scale ``1/(R (1-rho)^2)``. The FPC is dropped, as in R.

PSUs and strata are taken in order of first appearance in the data, as R does, so replicate
columns line up with R's.
"""

from __future__ import annotations

import sys
import warnings
from typing import Any

import numpy as np
from scipy.linalg import hadamard

from surveykit.design import ReplicateDesign, SurveyDesign
from surveykit.errors import DesignError

METHODS = ("jk1", "jkn", "bootstrap", "subbootstrap", "brr")

#: refuse to build replicate weight matrices larger than this many cells (8 bytes each)
MAX_CELLS = 1_000_000_000


def _progress(total: int, progress: bool | None, desc: str, long: bool = True) -> Any:
    show = (long and sys.stderr.isatty()) if progress is None else progress
    if not show:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, file=sys.stderr, leave=False)


def _appearance_order(design: SurveyDesign) -> tuple[np.ndarray, np.ndarray]:
    """PSU codes ordered as R sees them: strata by first appearance, PSUs by first appearance.

    Returns (order of PSU codes, first-appearance rank of each stratum code).
    """
    n_psu = design.n_psu
    first_psu = np.full(n_psu, np.iinfo(np.intp).max)
    np.minimum.at(first_psu, design.psu_codes, np.arange(design.n_total))
    first_h = np.full(design.n_strata, np.iinfo(np.intp).max)
    np.minimum.at(first_h, design.strata_codes, np.arange(design.n_total))
    h_rank = np.argsort(np.argsort(first_h, kind="stable"), kind="stable")
    order = np.lexsort((first_psu, h_rank[design.psu_stratum]))
    return order, h_rank


def _combine(design: SurveyDesign, mult: np.ndarray, progress: bool | None) -> np.ndarray:
    """n x R combined weights ``w_i * mult[psu_i, :]``, filled in row blocks."""
    n = design.n_total
    n_rep = mult.shape[1]
    if n * n_rep > MAX_CELLS:
        raise DesignError(
            f"{n} rows x {n_rep} replicates is too large a replicate weight matrix",
            hint="use method='bootstrap' with fewer replicates, or cluster the design",
        )
    out = np.empty((n, n_rep))
    w = design.base_weights
    step = max(1, 2_000_000 // max(n_rep, 1))
    bar = _progress(n, progress, "replicate weights", long=n * n_rep > 20_000_000)
    for a in range(0, n, step):
        b = min(n, a + step)
        np.take(mult, design.psu_codes[a:b], axis=0, out=out[a:b])  # no temporary copy
        out[a:b] *= w[a:b, None]
        if bar is not None:
            bar.update(b - a)
    if bar is not None:
        bar.close()
    return out


def _jk1(design: SurveyDesign) -> tuple[np.ndarray, dict[str, Any]]:
    if design.n_strata > 1:
        raise DesignError("JK1 needs an unstratified design", hint="use method='jkn'")
    order, _ = _appearance_order(design)
    n = design.n_psu
    if n < 2:
        raise DesignError("JK1 needs at least 2 PSUs")
    mult = np.full((n, n), n / (n - 1))
    mult[order, np.arange(n)] = 0.0
    f = float(design.fpc_f[0])
    return mult, {"type": "JK1", "scale": f * (n - 1) / n, "rscales": np.ones(n)}


def _jkn(design: SurveyDesign) -> tuple[np.ndarray, dict[str, Any]]:
    order, h_rank = _appearance_order(design)
    n_psu = design.n_psu
    strata_in_order = np.argsort(h_rank)
    cols: list[np.ndarray] = []
    rscales: list[float] = []
    n_strata = design.n_strata
    h_of = design.psu_stratum
    for h in strata_in_order:
        f = float(design.fpc_f[h])
        psus = order[h_of[order] == h]
        nh = len(psus)
        if f < 1e-7:  # exhaustively sampled stratum: no replicates (R drops them)
            continue
        if nh == 1:
            policy = design.lonely_psu
            if policy == "fail":
                raise DesignError(f"stratum {design.spec['strata_levels'][h]!r} has a single PSU")
            if policy == "adjust":
                col = np.where(h_of == h, 0.0, n_strata / (n_strata - 1))
                cols.append(col)
                rscales.append((n_strata - 1) / n_strata)
            continue
        for p in psus:
            col = np.ones(n_psu)
            col[psus] = nh / (nh - 1)
            col[p] = 0.0
            cols.append(col)
            rscales.append(f * (nh - 1) / nh)
    if not cols:
        raise DesignError("every stratum was exhaustively sampled: there is no sampling variance")
    scale = 1.0
    if len(cols) < n_psu and design.lonely_psu == "average":
        scale = n_psu / len(cols)
    return np.column_stack(cols), {"type": "JKn", "scale": scale, "rscales": np.array(rscales)}


def _bootstrap(design: SurveyDesign, replicates: int, rng: np.random.Generator,
               sub: bool, progress: bool | None) -> tuple[np.ndarray, dict[str, Any]]:
    order, _ = _appearance_order(design)
    h_of = design.psu_stratum
    n_psu = design.n_psu
    n_h = design.n_psu_h
    if (n_h[n_h > 0] < 2).any() and sub:
        raise DesignError("the Rao-Wu subsample bootstrap needs at least 2 PSUs per stratum")
    # position of each PSU within its stratum (appearance order) and stratum start offsets
    sorted_psus = order  # grouped by stratum
    start = np.zeros(design.n_strata, dtype=np.intp)
    h_sorted = h_of[sorted_psus]
    first = np.r_[True, h_sorted[1:] != h_sorted[:-1]]
    start[h_sorted[first]] = np.flatnonzero(first)
    fpc_pop = None
    if not sub and np.any(design.fpc_f < 1):
        # N_h = n_h / (1 - f_h)
        with np.errstate(divide="ignore"):
            fpc_pop = np.where(design.fpc_f < 1, np.round(n_h / (1 - design.fpc_f)), np.inf)
    mult = np.zeros((n_psu, replicates))
    block = max(1, min(replicates, 50_000_000 // max(n_psu, 1)))
    bar = _progress(replicates, progress, "bootstrap", long=replicates > block)
    for a in range(0, replicates, block):
        b = min(replicates, a + block)
        k = b - a
        if fpc_pop is None:
            # each stratum draws m_h PSUs uniformly from its n_h PSUs
            m_h = n_h - 1 if sub else n_h
            slots_h = np.repeat(np.arange(design.n_strata), m_h)
            u = rng.random((k, slots_h.size))
            pick = start[slots_h] + np.floor(u * n_h[slots_h]).astype(np.intp)
            flat = (pick + np.arange(k)[:, None] * n_psu).ravel()
            counts = np.bincount(flat, minlength=k * n_psu).reshape(k, n_psu)
            mult[sorted_psus, a:b] = counts.T
        else:
            for h in range(design.n_strata):
                psus = sorted_psus[h_sorted == h]
                nh = len(psus)
                if np.isinf(fpc_pop[h]):
                    cnt = rng.multinomial(nh, np.full(nh, 1.0 / nh), size=k)
                else:
                    pop = int(fpc_pop[h])
                    copies = np.full(nh, pop // nh)
                    copies[: pop % nh] += 1
                    cnt = rng.multivariate_hypergeometric(copies, nh, size=k)
                mult[psus, a:b] = cnt.T
        if bar is not None:
            bar.update(k)
    if bar is not None:
        bar.close()
    if sub:
        nh_row = n_h[h_of].astype(float)
        mult *= (nh_row / (nh_row - 1))[:, None]
        scale = 1.0 / (replicates - 1)
    else:
        nbar = 1.0 / np.mean(1.0 / n_h[n_h > 0])
        scale = nbar / ((nbar - 1) * (replicates - 1))
    return mult, {"type": "bootstrap", "scale": scale, "rscales": np.ones(replicates)}


def _brr(design: SurveyDesign, fay_rho: float | None) -> tuple[np.ndarray, dict[str, Any]]:
    rho = 0.0 if fay_rho is None else float(fay_rho)
    if not 0 <= rho < 1:
        raise DesignError(f"fay_rho must be in [0, 1), got {rho}")
    n_h = design.n_psu_h
    bad = np.flatnonzero(n_h != 2)
    if bad.size:
        raise DesignError(
            "BRR needs exactly 2 PSUs in every stratum", column=design.spec.get("strata")
            if isinstance(design.spec.get("strata"), str) else None,
            values=[f"{design.spec['strata_levels'][h]} ({n_h[h]} PSUs)" for h in bad],
            hint="use method='jkn' or 'bootstrap'",
        )
    if np.any(design.fpc_f < 1):
        warnings.warn("finite population correction dropped for BRR (as in R)", UserWarning,
                      stacklevel=3)
    order, h_rank = _appearance_order(design)
    n_strata = design.n_strata
    size = 1
    while size < n_strata + 1:
        size *= 2
    had = (hadamard(size) > 0).astype(int)  # 0/1 as R's tables; row 0 is all ones
    h_sorted = design.psu_stratum[order]
    first = np.r_[True, h_sorted[1:] != h_sorted[:-1]]
    psu_first, psu_second = order[first], order[~first]
    # strata numbered by first appearance; stratum number j uses Hadamard row j + 1
    row_of = h_rank[design.psu_stratum[psu_first]] + 1
    sign = had[row_of]  # (#strata, R): 1 -> first PSU is in the half-sample
    mult = np.zeros((design.n_psu, size))
    mult[psu_first] = np.where(sign == 1, 2 - rho, rho)
    mult[psu_second] = np.where(sign == 1, rho, 2 - rho)
    return mult, {"type": "BRR" if rho == 0 else "Fay", "scale": 1.0 / (size * (1 - rho) ** 2),
                  "rscales": np.ones(size), "rho": rho if rho else None}


def make_replicate_design(
    design: SurveyDesign,
    method: str = "jk1",
    replicates: int | None = None,
    seed: int | None = None,
    fay_rho: float | None = None,
    progress: bool | None = None,
) -> ReplicateDesign:
    """A :class:`ReplicateDesign` with replicate weights built from ``design`` (R's
    ``as.svrepdesign``); see the module docstring for the methods.

    ``replicates`` is the number of bootstrap replicates (default 50, as R). ``seed`` seeds
    numpy's ``default_rng`` for the bootstrap. ``progress`` shows a tqdm bar (None: when stderr
    is a terminal). The domain of ``design`` is kept. Calibrated designs are refused, as in R
    >= 4.2 (weight the replicate design instead: :mod:`surveykit.weighting` re-weights every
    replicate column).
    """
    if not isinstance(design, SurveyDesign):
        raise DesignError(f"expected a SurveyDesign, got {type(design).__name__}")
    method = method.lower()
    if method not in METHODS:
        raise DesignError(f"unknown replication method {method!r}",
                          hint=f"use one of {', '.join(METHODS)}")
    if design.calibrations:
        raise DesignError(
            "cannot add replicate weights to a raked, post-stratified or calibrated design: "
            "the replicates would not repeat the weighting, so their variance would ignore it",
            hint="call .replicate() on the design before weighting, then rake/poststratify/"
                 "calibrate the ReplicateDesign, which re-weights every replicate (R survey "
                 ">= 4.2's as.svrepdesign refuses calibrated designs the same way)")
    if method not in ("bootstrap", "subbootstrap") and replicates is not None:
        raise DesignError(f"replicates= only applies to the bootstrap, not {method!r}")
    if (method in ("jk1", "jkn", "bootstrap") and design.n_stages > 1
            and design.spec.get("fpc") is not None):
        warnings.warn("finite population corrections after the first stage are dropped: "
                      "replicates resample first-stage PSUs (as R's as.svrepdesign)",
                      UserWarning, stacklevel=3)
    if method == "jk1":
        mult, info = _jk1(design)
    elif method == "jkn":
        if design.n_strata < 2:
            raise DesignError("JKn needs a stratified design", hint="use method='jk1'")
        mult, info = _jkn(design)
    elif method in ("bootstrap", "subbootstrap"):
        reps = 50 if replicates is None else int(replicates)
        if reps < 2:
            raise DesignError(f"replicates must be at least 2, got {replicates}")
        mult, info = _bootstrap(design, reps, np.random.default_rng(seed),
                                method == "subbootstrap", progress)
    else:
        if design.n_strata < 2:
            raise DesignError("BRR needs a stratified design with 2 PSUs per stratum")
        mult, info = _brr(design, fay_rho)
    weights = _combine(design, mult, progress)
    rep = ReplicateDesign(design.data, weights=design.base_weights, repweights=weights,
                          type=info["type"], scale=info["scale"], rscales=info["rscales"],
                          rho=info.get("rho"), source=design.source)
    return rep._evolve(domain=design.domain.copy())
