"""The ratio-of-totals statistic: totals, means, proportions and ratios of p quantities in G
groups, with their covariance, for all groups at once.

Every descriptive estimator reduces to weighted totals ``T = sum w_i y_i`` and ratios of totals
within domains; this is the statistic :func:`surveykit.variance.estimate` evaluates fastest:

- linearisation designs whose variance needs only PSU totals aggregate the influence scores to
  PSU x group totals with one ``bincount`` per quantity (:func:`psu_totals_vcov`); calibrated
  and multistage-FPC designs build n x p scores (:func:`linearised_vcov`) on each group's
  domain, as R's ``svyby`` does on the row-dropped design;
- replicate designs compute the totals of all groups for every replicate in one sparse product
  ``Y' W`` and the covariance with :func:`replicate_cov` (R's ``svrVar``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from surveykit.variance.linearisation import (
    df_psu,
    linearised_df,
    linearised_vcov,
    psu_aggregable,
    psu_totals_vcov,
)
from surveykit.variance.replication import replicate_cov, replicate_df, replicate_totals

#: PSU x group x quantity cells up to which by-group totals are aggregated in one pass
_AGG_CELLS = 20_000_000


@dataclass
class DomainEstimate:
    """Estimates of p quantities in one domain, with everything needed for CIs and deff."""

    theta: np.ndarray  # (p,)
    vcov: np.ndarray  # (p, p)
    deff: np.ndarray  # (p,)
    n: int  # respondents used (non-missing, non-zero weight, in the domain)
    weight_sum: float
    df: float  # design degrees of freedom of the domain
    reps: np.ndarray | None = field(default=None, repr=False)  # (R, p) replicate estimates

    @property
    def se(self) -> np.ndarray:
        return np.sqrt(np.clip(np.diag(self.vcov), 0.0, None))


def _srs_variance(w: np.ndarray, y: np.ndarray, mean: np.ndarray, n: int) -> np.ndarray:
    """Weighted element variance with Kish's n/(n-1) divisor, as R's ``svyvar``."""
    psum = w.sum()
    if n < 2 or psum <= 0:
        return np.full(y.shape[1], np.nan)
    dev = y - mean
    return (w @ (dev * dev)) / psum * n / (n - 1)


def _deff(v: np.ndarray, s2: np.ndarray, psum: float, n: int, kind: str,
          has_fpc: bool = False) -> np.ndarray:
    """Design effect: design variance over the variance under simple random sampling.

    As R's ``deff=TRUE`` (SRS without replacement from a population of ``sum(w)``) when the
    design has an FPC or the weights are population-scaled (``sum(w) >= 2n``). When the weights
    are normalised to the sample size (``sum(w)`` close to n, as in most survey files) that
    formula divides by ~0 (R returns Inf or NA), so the SRS-with-replacement variance is used
    instead, as R's ``deff="replace"``.
    """
    if n < 2 or psum <= 0:
        return np.full(len(s2), np.nan)
    without_replacement = has_fpc or psum >= 2 * n
    vsrs = s2 / n
    if without_replacement:
        if psum <= n:  # R warns "are weights correctly scaled?" and returns NA
            return np.full(len(s2), np.nan)
        vsrs = vsrs * (psum - n) / psum
    if kind == "total":
        vsrs = vsrs * np.square(psum)  # numpy: inf, not OverflowError, for huge weights
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.diag(v) / vsrs


@dataclass
class ByEstimates:
    """Estimates of p quantities in each of G groups and, when asked, their joint covariance
    (G p x G p, group-major: all p quantities of group 0, then group 1, ...)."""

    groups: list[DomainEstimate]
    joint: np.ndarray | None = None

    @property
    def estimate(self) -> np.ndarray:
        """All groups' estimates, group-major (G p,)."""
        return np.concatenate([g.theta for g in self.groups]) if self.groups else np.empty(0)

    @property
    def vcov(self) -> np.ndarray:
        """The joint covariance when computed (``joint=True``), else the block-diagonal one of
        the groups' own covariances."""
        if self.joint is not None:
            return self.joint
        p = sum(len(g.theta) for g in self.groups)
        out = np.zeros((p, p))
        at = 0
        for g in self.groups:
            k = len(g.theta)
            out[at:at + k, at:at + k] = g.vcov
            at += k
        return out

    @property
    def df(self) -> np.ndarray:
        """Each group's design degrees of freedom (R's ``degf`` of its domain)."""
        return np.array([g.df for g in self.groups], dtype=float)


def _empty(p: int, n_d: int, psum: float) -> DomainEstimate:
    return DomainEstimate(np.full(p, np.nan), np.full((p, p), np.nan), np.full(p, np.nan), n_d,
                          psum, float("nan"))


def estimate_by(
    design: Any,
    y: np.ndarray | None,
    codes: np.ndarray,
    n_groups: int,
    kind: str,
    *,
    cat: np.ndarray | None = None,
    n_levels: int = 0,
    joint: bool = False,
    keep_reps: bool = False,
    progress: bool | None = None,
    denom: np.ndarray | None = None,
) -> ByEstimates:
    """Totals (``kind="total"``) or means (``kind="mean"``) of p quantities in G groups.

    ``codes`` gives each row's group 0..G-1 (-1: not used, e.g. a missing value), either one
    column for all quantities (n,) or one per quantity (n, p). The design's domain and zero
    weights are applied on top. The quantities are the columns of ``y`` (n x p), or, with
    ``cat`` (level codes 0..n_levels-1), the indicators of the levels (proportions; the n x p
    indicator matrix is never built). Means are ratios ``sum w y / sum w`` with influence
    scores ``w (y - mean) / sum w`` (R's ``svymean``). With ``denom`` (n,), ``kind="mean"``
    gives ratios of totals ``sum w y / sum w x`` with scores ``w (y - R x) / sum w x`` (R's
    ``svyratio``; no design effect).

    Variance: linearisation designs whose variance needs only PSU totals
    (``design.psu_aggregable``) aggregate the scores to PSU x group totals with one
    ``bincount`` per quantity and call ``design.vcov_psu_totals``; other linearisation designs
    (calibrated) pass n x p scores to ``design.vcov``; replicate designs re-estimate every
    group on all replicates in one sparse product. ``joint=True`` adds the covariance across
    groups (one variance call on all groups' scores, or one replicate covariance), as
    ``svyby(..., covmat=TRUE)``. Each group's own covariance is computed on its own domain
    (R's ``svyby`` subsets), so in designs with lonely-PSU adjustments its diagonal can differ
    slightly from the joint matrix's.
    """
    codes = np.asarray(codes)
    if cat is not None:
        p = int(n_levels)
        if codes.ndim != 1:
            raise ValueError("category indicators need one code column")
    else:
        y = np.asarray(y, dtype=float)
        if y.ndim == 1:
            y = y[:, None]
        p = y.shape[1]
    if codes.ndim == 2 and codes.shape[1] != p:
        raise ValueError("codes need one column per quantity")
    if design.is_replicate:
        if codes.ndim == 2:
            parts = [_replicate_by(design, y[:, [j]], codes[:, j], n_groups, kind, None, 1,
                                   progress, denom) for j in range(p)]
            return _merge_columns(design, parts, n_groups, joint, keep_reps)
        ests, theta, reps = _replicate_by(design, y, codes, n_groups, kind, cat, p, progress,
                                          denom)
        return _finish_replicate(design, ests, theta, reps, joint, keep_reps)
    if psu_aggregable(design):
        cells = design.n_psu * n_groups * p
        if joint or cells <= max(2 * design.n_total, _AGG_CELLS) or n_groups == 1:
            return _linear_aggregated(design, y, codes, n_groups, kind, cat, p, joint, denom)
        # many PSUs (e.g. every row its own PSU): PSU x group x quantity totals of all groups
        # at once would outgrow the data, so aggregate a few groups at a time
        step = max(1, _AGG_CELLS // (design.n_psu * p))
        out: list[DomainEstimate] = []
        for g0 in range(0, n_groups, step):
            g1 = min(g0 + step, n_groups)
            sub = np.where((codes >= g0) & (codes < g1), codes - g0, -1)
            out += _linear_aggregated(design, y, sub, g1 - g0, kind, cat, p, False,
                                      denom).groups
        return ByEstimates(out)
    return _linear_full(design, y, codes, n_groups, kind, cat, p, joint, denom)


def _linear_aggregated(design: Any, y: np.ndarray | None, codes: np.ndarray, G: int,
                       kind: str, cat: np.ndarray | None, p: int, joint: bool,
                       denom: np.ndarray | None = None) -> ByEstimates:
    """Linearisation from PSU x group totals (one pass of ``bincount`` per quantity)."""
    pc = design.psu_codes
    n_psu = design.n_psu
    w = design.base_weights
    dom = design.domain & (w != 0)
    has_fpc = bool(np.any(design.fpc_f < 1))
    z = np.zeros((n_psu, G, p))  # PSU totals of the influence scores
    present = np.zeros((n_psu, G, p), dtype=bool)  # PSUs with rows of (group, quantity)
    theta = np.full((G, p), np.nan)
    s2 = np.full((G, p), np.nan)
    n_d = np.zeros((G, p), dtype=np.int64)
    wsum = np.zeros((G, p))
    with np.errstate(divide="ignore", invalid="ignore"):
        if cat is not None:
            use = (codes >= 0) & dom
            all_use = bool(use.all())
            gc = codes if all_use else np.where(use, codes, G)
            cell = pc * G
            cell += codes
            cell *= p
            cell += cat
            if not all_use:
                np.putmask(cell, ~use, n_psu * G * p)
            t = np.bincount(cell, weights=w, minlength=n_psu * G * p + 1)[:n_psu * G * p]
            del cell
            t = t.reshape(n_psu, G, p)
            nn = t.sum(axis=2)
            big_w = nn.sum(axis=0)
            cnt = np.bincount(gc, minlength=G + 1)[:G]
            tot = t.sum(axis=0)
            mean = tot / big_w[:, None]
            if kind == "mean":
                z = (t - mean[None] * nn[:, :, None]) / big_w[None, :, None]
            else:
                z = t
            theta = mean if kind == "mean" else tot
            n_d[:] = cnt[:, None]
            wsum[:] = big_w[:, None]
            s2 = mean * (1 - mean) * (cnt / (cnt - 1))[:, None]
            present[:] = (nn > 0)[:, :, None]
        else:
            assert y is not None
            for j in range(p):
                cj = codes[:, j] if codes.ndim == 2 else codes
                use = (cj >= 0) & dom
                gc = cj if use.all() else np.where(use, cj, G)
                cell = pc * (G + 1)
                cell += gc
                wd = w if denom is None else w * np.where(use, denom, 0.0)
                nn = np.bincount(cell, weights=wd, minlength=n_psu * (G + 1))
                nn = nn.reshape(n_psu, G + 1)[:, :G]
                yj = np.where(use, y[:, j], 0.0)
                ty = np.bincount(cell, weights=w * yj, minlength=n_psu * (G + 1))
                occupied = None if denom is None else np.bincount(
                    cell, minlength=n_psu * (G + 1)).reshape(n_psu, G + 1)[:, :G] > 0
                del cell
                ty = ty.reshape(n_psu, G + 1)[:, :G]
                cnt = np.bincount(gc, minlength=G + 1)[:G]
                big_w = nn.sum(axis=0)
                tot = ty.sum(axis=0)
                mean = tot / big_w
                dev = yj - np.append(np.nan_to_num(mean), 0.0)[gc]
                ss = np.bincount(gc, weights=w * dev * dev, minlength=G + 1)[:G]
                del dev, yj, gc
                z[:, :, j] = (ty - mean * nn) / big_w if kind == "mean" else ty
                theta[:, j] = mean if kind == "mean" else tot
                s2[:, j] = ss / big_w * cnt / (cnt - 1)
                n_d[:, j] = cnt
                wsum[:, j] = big_w
                present[:, :, j] = (nn > 0) if occupied is None else occupied
    empty = (n_d == 0) | ((wsum <= 0) if denom is None else (wsum == 0))
    if denom is not None:
        s2[:] = np.nan  # no design effect for ratios
    z[:, empty] = 0.0
    out = []
    for g in range(G):
        if empty[g].all():
            out.append(_empty(p, int(n_d[g].max()), float(wsum[g].max())))
            continue
        any_present = present[:, g, :].any(axis=1)
        v = np.atleast_2d(psu_totals_vcov(design, z[:, g, :], any_present))
        if codes.ndim == 2:  # each quantity's own domain for its own variance
            for j in np.flatnonzero(~empty[g]):
                v[j, j] = psu_totals_vcov(design, z[:, g, [j]], present[:, g, j])[0, 0]
        v[empty[g], :] = np.nan
        v[:, empty[g]] = np.nan
        th = np.where(empty[g], np.nan, theta[g])
        n_g = int(n_d[g].max()) if codes.ndim == 2 else int(n_d[g, 0])
        out.append(DomainEstimate(th, v, _deff(v, s2[g], float(wsum[g].max()), n_g, kind,
                                               has_fpc) if codes.ndim == 1 else
                                  _deff_each(v, s2[g], wsum[g], n_d[g], kind, has_fpc),
                                  n_g, float(wsum[g].max()), float(df_psu(design, any_present))))
    vj = None
    if joint:
        vj = psu_totals_vcov(design, z.reshape(n_psu, G * p))
        bad = empty.reshape(-1)
        vj[bad, :] = np.nan
        vj[:, bad] = np.nan
    return ByEstimates(out, vj)


def _deff_each(v: np.ndarray, s2: np.ndarray, psum: np.ndarray, n: np.ndarray, kind: str,
               has_fpc: bool) -> np.ndarray:
    """Design effects of quantities estimated on different rows (per-variable missing)."""
    return np.array([_deff(v[[j]][:, [j]], s2[[j]], float(psum[j]), int(n[j]), kind,
                           has_fpc)[0] for j in range(len(s2))])


def _linear_full(design: Any, y: np.ndarray | None, codes: np.ndarray, G: int,
                 kind: str, cat: np.ndarray | None, p: int, joint: bool,
                 denom: np.ndarray | None = None) -> ByEstimates:
    """Linearisation with n x p influence scores (calibrated designs: residualisation)."""
    has_fpc = bool(np.any(design.fpc_f < 1))
    wall = design.weights
    n = design.n_total
    dom = design.domain & (design.base_weights != 0)
    out = []
    all_scores = []
    for g in range(G):
        cols = [codes[:, j] if codes.ndim == 2 else codes for j in range(p)]
        masks = [(c == g) & dom for c in cols]
        scores = np.zeros((n, p))
        theta = np.full(p, np.nan)
        s2 = np.full(p, np.nan)
        n_j = np.zeros(p, dtype=np.int64)
        w_j = np.zeros(p)
        rows = [np.flatnonzero(masks[0])] * p if codes.ndim == 1 else [
            np.flatnonzero(m) for m in masks]
        for j in range(p):
            idx = rows[j]
            wi = wall[idx]
            di = np.ones(idx.size) if denom is None else denom[idx]
            psum = float(wi @ di)
            n_j[j], w_j[j] = idx.size, psum
            if idx.size == 0 or (psum <= 0 if denom is None else psum == 0):
                continue
            yi = (cat[idx] == j).astype(float) if cat is not None else y[idx, j]
            tot = float(wi @ yi)
            mean = tot / psum
            scores[idx, j] = wi * (yi - mean * di) / psum if kind == "mean" else wi * yi
            theta[j] = mean if kind == "mean" else tot
            if denom is None:
                s2[j] = _srs_variance(wi, yi[:, None], np.array([mean]), idx.size)[0]
        if joint:
            all_scores.append(scores)
        if (n_j == 0).all() or (np.isnan(theta)).all():
            out.append(_empty(p, int(n_j.max()), float(w_j.max())))
            continue
        union = np.logical_or.reduce(masks)
        sub = design.subset(union)
        v = np.atleast_2d(linearised_vcov(sub, scores))
        if codes.ndim == 2:
            for j in np.flatnonzero(n_j > 0):
                v[j, j] = linearised_vcov(design.subset(masks[j]), scores[:, [j]])[0, 0]
        bad = np.isnan(theta)
        v[bad, :] = np.nan
        v[:, bad] = np.nan
        n_g = int(n_j.max())
        deff = (_deff(v, s2, float(w_j.max()), n_g, kind, has_fpc) if codes.ndim == 1
                else _deff_each(v, s2, w_j, n_j, kind, has_fpc))
        out.append(DomainEstimate(theta, v, deff, n_g, float(w_j.max()), float(linearised_df(sub))))
    vj = None
    if joint:
        vj = linearised_vcov(design, np.hstack(all_scores))
        bad = np.concatenate([np.isnan(e.theta) for e in out])
        vj[bad, :] = np.nan
        vj[:, bad] = np.nan
    return ByEstimates(out, vj)


def _replicate_by(design: Any, y: np.ndarray | None, codes: np.ndarray, G: int,
                  kind: str, cat: np.ndarray | None, p: int, progress: bool | None,
                  denom: np.ndarray | None = None
                  ) -> tuple[list[DomainEstimate], np.ndarray, np.ndarray]:
    """Replicate re-estimation of every group at once: one sparse product ``Y' W``.

    Returns the per-group estimates (with their replicates), and the stacked full-sample
    (G p,) and replicate (R, G p) estimates.
    """
    has_fpc = False  # replicate designs carry no FPC; R's deff uses sum(w) as the population
    n = design.n_total
    w_base = design.base_weights
    use = (codes >= 0) & design.domain & (w_base != 0)
    rows = np.flatnonzero(use)
    gd = codes[rows]
    width = p + 1
    if cat is not None:
        r_idx, c_idx, vals = rows, gd * width + cat[rows], np.ones(rows.size)
    else:
        assert y is not None
        yr = y[rows]
        rr, jj = np.nonzero(yr)
        r_idx = np.concatenate([rows[rr], rows])
        c_idx = np.concatenate([gd[rr] * width + jj, gd * width + p])
        vals = np.concatenate([yr[rr, jj], np.ones(rows.size) if denom is None
                               else denom[rows]])
    from scipy import sparse  # deferred: import surveykit stays fast

    mat = sparse.csr_matrix((vals, (r_idx, c_idx)), shape=(n, G * width))
    full, reps = replicate_totals(design, mat, progress)
    cnt = np.bincount(gd, minlength=G)
    out = []
    theta_all = np.full(G * p, np.nan)
    reps_all = np.full((reps.shape[0], G * p), np.nan)
    for g in range(G):
        base = g * width
        n_d = int(cnt[g])
        tot, rt = full[base:base + p], reps[:, base:base + p]
        if cat is not None:
            psum, rsum = float(tot.sum()), rt.sum(axis=1)
        else:
            psum, rsum = float(full[base + p]), reps[:, base + p]
        if n_d == 0 or (psum <= 0 if denom is None else psum == 0):
            out.append(_empty(p, n_d, psum))
            continue
        mean = tot / psum
        if kind == "mean":
            theta = mean
            with np.errstate(divide="ignore", invalid="ignore"):
                theta_r = rt / rsum[:, None]
        else:
            theta, theta_r = tot, rt
        v = np.atleast_2d(replicate_cov(design, theta, theta_r))
        m = np.zeros(n, dtype=bool)
        m[rows[gd == g]] = True
        if cat is not None:
            s2 = mean * (1 - mean) * n_d / (n_d - 1) if n_d > 1 else np.full(p, np.nan)
        else:
            idx = np.flatnonzero(m)
            s2 = (_srs_variance(w_base[idx], y[idx], mean, n_d) if denom is None  # type: ignore
                  else np.full(p, np.nan))
        out.append(DomainEstimate(theta, v, _deff(v, s2, psum, n_d, kind, has_fpc), n_d, psum,
                                  float(replicate_df(design, m)), theta_r))
        theta_all[g * p:(g + 1) * p] = theta
        reps_all[:, g * p:(g + 1) * p] = theta_r
    return out, theta_all, reps_all


def _joint_replicate(design: Any, theta: np.ndarray, reps: np.ndarray) -> np.ndarray:
    """Joint replicate covariance of all groups' estimates (empty groups: NaN rows/columns)."""
    ok = np.isfinite(theta)
    vj = np.full((theta.size, theta.size), np.nan)
    if ok.any():
        vj[np.ix_(ok, ok)] = replicate_cov(design, theta[ok], reps[:, ok])
    return vj


def _finish_replicate(design: Any, ests: list[DomainEstimate], theta: np.ndarray,
                      reps: np.ndarray, joint: bool, keep_reps: bool) -> ByEstimates:
    vj = _joint_replicate(design, theta, reps) if joint else None
    if not keep_reps:
        for e in ests:
            e.reps = None
    return ByEstimates(ests, vj)


def _merge_columns(design: Any,
                   parts: list[tuple[list[DomainEstimate], np.ndarray, np.ndarray]], G: int,
                   joint: bool, keep_reps: bool) -> ByEstimates:
    """Per-quantity replicate results (different missing rows) as one p-quantity result."""
    p = len(parts)
    out = []
    for g in range(G):
        es = [part[0][g] for part in parts]
        theta = np.array([e.theta[0] for e in es])
        reps = (np.column_stack([e.reps[:, 0] if e.reps is not None else
                                 np.full(design.n_replicates, np.nan) for e in es]))
        ok = np.isfinite(theta)
        v = np.full((p, p), np.nan)
        if ok.any():
            v[np.ix_(ok, ok)] = replicate_cov(design, theta[ok], reps[:, ok])
        for j, e in enumerate(es):
            v[j, j] = e.vcov[0, 0]
        out.append(DomainEstimate(theta, v, np.array([e.deff[0] for e in es]),
                                  max(e.n for e in es), max(e.weight_sum for e in es),
                                  max(e.df for e in es), reps if keep_reps else None))
    vj = None
    if joint:
        theta = np.concatenate([e.theta for e in out])
        reps = np.column_stack([np.column_stack([part[2][:, g] for part in parts])
                                for g in range(G)])
        vj = _joint_replicate(design, theta, reps)
    return ByEstimates(out, vj)


def estimate_domains(
    design: Any,
    y: np.ndarray,
    masks: Sequence[np.ndarray],
    kind: str,
    *,
    keep_reps: bool = False,
    progress: bool | None = None,
    one_hot: bool = False,
) -> list[DomainEstimate]:
    """Totals or means of the columns of ``y`` in each of several (possibly overlapping)
    domains given as boolean masks (already excluding missing values): :func:`estimate_by`
    once when the domains are disjoint, once per domain otherwise. ``one_hot=True`` promises
    that every used row of ``y`` has exactly one 1 (category indicators)."""
    y = np.asarray(y, dtype=float)
    if y.ndim == 1:
        y = y[:, None]
    masks = [np.asarray(m, dtype=bool) for m in masks]
    n, p = y.shape
    cat = y.argmax(axis=1) if one_hot else None
    yy = None if one_hot else y
    hits = np.zeros(n, dtype=np.int64)
    for m in masks:
        hits += m
    if (hits <= 1).all():
        codes = np.full(n, -1, dtype=np.intp)
        for g, m in enumerate(masks):
            codes[m] = g
        return estimate_by(design, yy, codes, len(masks), kind, cat=cat, n_levels=p,
                           keep_reps=keep_reps, progress=progress).groups
    return [estimate_by(design, yy, np.where(m, 0, -1), 1, kind, cat=cat, n_levels=p,
                        keep_reps=keep_reps, progress=progress).groups[0] for m in masks]
