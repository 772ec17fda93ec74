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
- ``"brr"``: balanced repeated replication, R's ``brrweights`` element for element: strata in
  R's sorted character order (``"10" < "2"``), a stratum with an even number of PSUs > 2 split
  into pairs, and the Hadamard matrix R's ``hadamard()`` picks (:mod:`surveykit.hadamard`), so
  the replicate count and every weight equal R's; ``fay_rho`` gives Fay's variant with
  multipliers ``2 - rho`` / ``rho`` and scale ``1/(R (1-rho)^2)``. The FPC is dropped, as in R.
Otherwise PSUs and strata are taken in order of first appearance in the data, as R does, so
replicate columns line up with R's. Multistage designs replicate their first-stage PSUs within
first-stage strata (R's ``as.svrepdesign``; later-stage FPCs are dropped with a warning).
"""

from __future__ import annotations

import sys
import warnings
from typing import Any

import numpy as np

from surveykit.design import ReplicateDesign, SurveyDesign
from surveykit.errors import DesignError
from surveykit.hadamard import hadamard

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


def r_label(value: Any) -> str:
    """A stratum label as R's ``as.character`` writes it (integral numbers without ".0",
    others with 15 significant digits), so strata sort in R's order."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else format(value, ".15g")
    return str(value)


#: ASCII in the order of ICU's root collation (R's default string order, e.g. in sort() and
#: table()): spaces, punctuation and symbols, digits, then letters ignoring case
_ICU_ORDER = (" \t\n_-,;:!?.'\"()[]{}@*/\\&#%`^+<=>|~$0123456789"
              + "".join(c for c in "abcdefghijklmnopqrstuvwxyz"))
_ICU_RANK = {c: i for i, c in enumerate(_ICU_ORDER)}


def r_collate_key(text: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Sort key emulating R's (ICU root) collation of ASCII labels: letters compare without
    case first ("a" < "B" < "b"), then lower case before upper case; "10" < "9" as text.
    Characters outside ASCII sort after it by code point (R's order may differ there)."""
    primary = tuple(_ICU_RANK.get(c.lower(), len(_ICU_ORDER) + ord(c)) for c in text)
    return primary, tuple(int(c.isupper()) for c in text)


def _brr(design: SurveyDesign, fay_rho: float | None) -> tuple[np.ndarray, dict[str, Any]]:
    """R's ``brrweights(strata, psu, fay.rho=)`` with its defaults (``small="fail"``,
    ``large="split"``): strata in R's sorted character order, PSUs in order of first
    appearance; a stratum with an even number of PSUs > 2 is split into pairs taken in that
    order; pseudo-stratum ``j`` uses row ``j`` of ``hadamard(#pairs)`` (R's choice of matrix)."""
    rho = 0.0 if fay_rho is None else float(fay_rho)
    if not 0 <= rho < 1:
        raise DesignError(f"fay_rho must be in [0, 1), got {rho}")
    n_h = design.n_psu_h
    levels = design.spec["strata_levels"]
    strata_col = design.spec.get("strata") if isinstance(design.spec.get("strata"), str) \
        else None
    small = np.flatnonzero(n_h < 2)
    if small.size:
        raise DesignError(
            "BRR needs at least 2 PSUs in every stratum (R: 'Some strata have fewer than 2 "
            "PSUs')", column=strata_col,
            values=[f"{levels[h]} ({n_h[h]} PSU)" for h in small],
            hint="use method='jkn' or 'bootstrap', or merge strata",
        )
    odd = np.flatnonzero((n_h > 2) & (n_h % 2 == 1))
    if odd.size:
        raise DesignError(
            "BRR splits a stratum with more than 2 PSUs into pairs, which needs an even number "
            "(R: 'Can't split with odd numbers of PSUs in a stratum')", column=strata_col,
            values=[f"{levels[h]} ({n_h[h]} PSUs)" for h in odd],
            hint="use method='jkn' or 'bootstrap'",
        )
    if np.any(design.fpc_f < 1):
        warnings.warn("finite population correction dropped for BRR (as in R)", UserWarning,
                      stacklevel=3)
    order, _ = _appearance_order(design)  # PSUs grouped by stratum, first appearance within
    labels = [r_label(v) for v in levels]
    char_rank = np.empty(len(labels), dtype=np.intp)
    char_rank[sorted(range(len(labels)), key=lambda i: r_collate_key(labels[i]))] = np.arange(
        len(labels))
    h_of = design.psu_stratum
    # R's order(sunq, first appearance): strata by character label, PSUs by appearance
    seq = order[np.argsort(char_rank[h_of[order]], kind="stable")]
    h_seq = h_of[seq]
    start = np.r_[0, np.flatnonzero(h_seq[1:] != h_seq[:-1]) + 1]
    pos = np.arange(seq.size) - np.repeat(start, np.diff(np.r_[start, seq.size]))
    # pseudo-strata: the split (large) strata first, then the pairs, each in character order
    large = n_h[h_seq] > 2
    pair_no = np.empty(seq.size, dtype=np.intp)
    n_large_pairs = int((n_h[n_h > 2] // 2).sum())
    lsel = np.flatnonzero(large)
    if lsel.size:
        # consecutive pairs within each large stratum, strata in character order
        pair_no[lsel] = np.cumsum(pos[lsel] % 2 == 0) - 1
    gsel = np.flatnonzero(~large)
    pair_no[gsel] = n_large_pairs + np.cumsum(pos[gsel] == 0) - 1
    first = pos % 2 == 0  # R gives the first PSU of a pair (0, 1), the second (1, 0)
    n_pairs = n_large_pairs + int((n_h == 2).sum())
    had = hadamard(n_pairs)  # 0/1, row 0 all ones; pseudo-stratum j uses row j + 1
    rows = had[pair_no + 1]  # (#PSU, R)
    in_half = np.where(first[:, None], rows == 1, rows == 0)
    mult = np.zeros((design.n_psu, had.shape[1]))
    mult[seq] = np.where(in_half, 2 - rho, rho)
    size = had.shape[1]
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

    Parameters
    ----------
    design : SurveyDesign
        The design to replicate.
    method : str
        Replicate method, e.g. ``"jk1"``, ``"jkn"``, ``"brr"``, ``"fay"``, ``"bootstrap"``
        (see the module docstring).
    replicates : int, optional
        Number of bootstrap replicates (default 50).
    seed : int, optional
        Seed of the bootstrap.
    fay_rho : float, optional
        Fay's rho for ``method="fay"``.
    progress : bool, optional
        Show a progress bar (None: when stderr is a terminal).

    Returns
    -------
    ReplicateDesign

    Examples
    --------
    >>> df = sk.load_replica()
    >>> design = sk.SurveyDesign(df, weights="weight")
    >>> rep = sk.make_replicate_design(design, "bootstrap", replicates=20, seed=1)
    >>> type(rep).__name__
    'ReplicateDesign'
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
            and design.spec.get("has_fpc", False)):
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
