"""Shared machinery of the estimators: variables, domains, and the ratio-of-totals engine.

Every estimator in :mod:`surveykit.estimation` reduces to weighted totals ``T = sum w_i y_i`` and
ratios of totals (means, proportions) within domains. :func:`estimate_domains` computes these
for several (possibly overlapping) domains at once, with their covariance:

- linearisation designs: influence scores are built per domain and passed to
  ``design.subset(domain).vcov`` (R's ``svyrecvar``, as ``svyby`` does on the row-dropped design);
- replicate designs: the totals of all domains are computed for every replicate in one sparse
  product ``Y' W`` (no loop over replicates; rows are processed in blocks only to bound memory)
  and the covariance comes from ``design.replicate_vcov`` (R's ``svrVar``).
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from surveykit.design import ReplicateDesign, SurveyDesign
from surveykit.errors import EstimationError

Design = SurveyDesign | ReplicateDesign

#: tidy result columns after the ``by`` columns (ARCHITECTURE.md)
RESULT_COLUMNS = ("variable", "estimate", "std_error", "ci_low", "ci_high", "deff",
                  "n_unweighted", "n_missing")
PROPORTION_COLUMNS = ("variable", "level", "estimate", "std_error", "ci_low", "ci_high", "deff",
                      "n_unweighted", "n_missing")

#: PSU x group x quantity cells up to which by-group totals are aggregated in one pass
_AGG_CELLS = 20_000_000

#: rows x replicates above which replicate products run in row blocks (memory, progress bar)
_BLOCK_CELLS = 20_000_000


def check_design(design: Any) -> Design:
    """The design, or an EstimationError if it is not a surveykit design."""
    if not isinstance(design, (SurveyDesign, ReplicateDesign)):
        raise EstimationError(
            f"expected a SurveyDesign or ReplicateDesign, got {type(design).__name__}",
            hint="build one with surveykit.SurveyDesign(data, weights=...)",
        )
    return design


def as_list(spec: str | Sequence[str] | None, what: str) -> list[str]:
    """A column name or a list of names as a list (None -> [])."""
    if spec is None:
        return []
    if isinstance(spec, str):
        return [spec]
    names = list(spec)
    if not all(isinstance(s, str) for s in names):
        raise EstimationError(f"{what} must be a column name or a list of column names",
                              values=[s for s in names if not isinstance(s, str)])
    return names


def get_column(design: Design, name: str, role: str = "variable") -> pd.Series:
    """A data column, with an EstimationError naming it when it is absent."""
    if name not in design.data.columns:
        raise EstimationError(
            f"{role} not found in the design's data", file=design.source, column=name,
            hint=f"available columns: {', '.join(map(str, design.data.columns[:20]))}",
        )
    return design.data[name]


def numeric_column(design: Design, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Values of a numeric (or boolean) column as float, and its missing-value mask.

    Non-numeric columns raise an EstimationError naming the column and offending values.
    """
    col = get_column(design, name)
    if isinstance(col.dtype, pd.CategoricalDtype):
        cats = col.cat.categories
        if not pd.api.types.is_numeric_dtype(cats.dtype):
            raise EstimationError(
                "cannot average a non-numeric categorical variable", file=design.source,
                column=name, values=list(cats[:5]),
                hint="use proportion() for categorical variables",
            )
        col = col.astype(cats.dtype if not col.isna().any() else "float64")
    if pd.api.types.is_bool_dtype(col.dtype) or pd.api.types.is_numeric_dtype(col.dtype):
        arr = col.to_numpy(dtype=float, na_value=np.nan)
        miss = np.isnan(arr)
        if np.isinf(arr).any():
            raise EstimationError("variable has infinite values", file=design.source,
                                  column=name, values=arr[np.isinf(arr)])
        return arr, miss
    sample = col.dropna()
    raise EstimationError(
        f"variable must be numeric (dtype {col.dtype})", file=design.source, column=name,
        values=list(sample.iloc[:20]), hint="use proportion() for categorical variables",
    )


#: widest value range coded by counting instead of hashing (see small_integer_codes)
_MAX_RANGE = 1_000_000


def small_integer_codes(col: pd.Series) -> tuple[np.ndarray, list[Any]] | None:
    """Codes 0..K-1 in sorted value order (-1: missing) and the K distinct values, in O(n)
    without hashing or sorting, for integer columns (or floats holding whole numbers) whose
    range is small, as survey codes are; None for any other column.

    Gives exactly what ``pd.factorize(col, sort=True)`` gives, just faster on large data.
    """
    dt = col.dtype
    if not isinstance(dt, np.dtype) or dt.kind not in "iuf":
        return None
    v = col.to_numpy()
    if v.size == 0:
        return None
    if dt.kind == "f":
        miss = np.isnan(v)
        ok = v[~miss] if miss.any() else v
        if ok.size == 0 or not np.isfinite(ok).all():
            return None
        lo, hi = ok.min(), ok.max()
        if hi - lo > _MAX_RANGE or not (ok == np.floor(ok)).all():
            return None
        off = np.where(miss, 0, v - lo).astype(np.intp) if miss.any() else (v - lo).astype(
            np.intp)
    else:
        miss = None
        lo, hi = v.min(), v.max()
        if int(hi) - int(lo) > _MAX_RANGE:
            return None
        off = (v - lo).astype(np.intp)
    counts = np.bincount(off, minlength=int(hi - lo) + 1)
    if miss is not None and miss.any():
        counts[0] -= int(miss.sum())  # missing rows were counted at offset 0
    present = counts > 0
    # usual case: every value in the range occurs, so the offsets are already the codes
    codes = off if present.all() else (np.cumsum(present) - 1)[off]
    if miss is not None and miss.any():
        codes[miss] = -1
    vals = (np.flatnonzero(present) + lo).astype(dt)
    return codes.astype(np.intp, copy=False), [x.item() for x in vals]


def categorical_column(design: Design, name: str) -> tuple[np.ndarray, list[Any], np.ndarray]:
    """Integer codes 0..K-1 (-1 for missing), the K levels, and the missing mask.

    Levels are the categories of a pandas Categorical (in their order), otherwise the sorted
    distinct values of the column (sorted code order).
    """
    col = get_column(design, name)
    fast = small_integer_codes(col)
    if fast is not None:
        codes, levels = fast
    elif isinstance(col.dtype, pd.CategoricalDtype):
        codes = col.cat.codes.to_numpy().astype(np.intp)
        levels = list(col.cat.categories)
    else:
        try:
            codes, uniq = pd.factorize(col, sort=True)
        except TypeError as exc:  # e.g. numbers mixed with text
            kinds = sorted({type(v).__name__ for v in col.dropna()})
            raise EstimationError(
                f"variable mixes value types ({', '.join(kinds)}) that cannot be ordered",
                file=design.source, column=name, values=list(col.dropna().iloc[:20]),
            ) from exc
        codes = codes.astype(np.intp)
        levels = list(uniq)
    levels = [lv.item() if isinstance(lv, np.generic) else lv for lv in levels]
    return codes, levels, codes < 0


@dataclass
class Groups:
    """The ``by`` groups of a design: one integer code per row (-1: outside every group)."""

    codes: np.ndarray
    keys: pd.DataFrame  # one row per group, the by columns
    n_missing_by: int = 0
    # the same codes for the domain's rows of weight 0 too (-1 only outside the domain, for a
    # missing by value, or a combination without weighted rows): R's svyby subsets keep those
    # rows, so nrow(design) in svyciprop's and svyquantile's intervals counts them
    with_zero_weights: np.ndarray | None = None

    @property
    def n_groups(self) -> int:
        return len(self.keys)

    @property
    def codes_any_weight(self) -> np.ndarray:
        return self.codes if self.with_zero_weights is None else self.with_zero_weights

    def masks(self) -> list[np.ndarray]:
        return [self.codes == g for g in range(self.n_groups)]


def indicators(design: Design, var: str) -> tuple[np.ndarray, list[Any], np.ndarray]:
    """0/1 indicator matrix (n x k) of the k observed categories of ``var``, the categories,
    and the missing mask; an EstimationError when ``var`` has no observed value."""
    codes, levels, miss = categorical_column(design, var)
    if not levels:
        raise EstimationError("variable has no non-missing values", file=design.source,
                              column=var)
    ind = np.zeros((len(codes), len(levels)))
    ok = codes >= 0
    ind[np.flatnonzero(ok), codes[ok]] = 1.0
    return ind, levels, miss


def make_groups(design: Design, by: str | Sequence[str] | None) -> Groups:
    """Groups of the rows in the design's domain defined by the ``by`` columns.

    Groups are the combinations present among the domain rows with a non-zero weight (as R's
    ``svyby``), in sorted order of the ``by`` columns. Rows with a missing ``by`` value belong
    to no group: they are counted and reported with a warning, never dropped silently.
    """
    names = as_list(by, "by")
    inset = design.weights != 0
    if not names:
        return Groups(codes=np.where(design.domain, 0, -1).astype(np.intp),
                      keys=pd.DataFrame(index=[0]))
    cols = [get_column(design, b, "by column") for b in names]
    fast = [small_integer_codes(c) for c in cols]
    if all(f is not None for f in fast):
        return _groups_from_codes(design, names, cols, fast, inset)  # type: ignore[arg-type]
    frame = pd.DataFrame({f"_b{i}": c.to_numpy() for i, c in enumerate(cols)})
    missing = frame.isna().any(axis=1).to_numpy()
    n_missing_by = int((missing & design.domain).sum())
    if n_missing_by:
        bad = [b for b, c in zip(names, cols, strict=True) if (c.isna().to_numpy()
                                                               & design.domain).any()]
        warnings.warn(
            f"{n_missing_by} row(s) in the domain have a missing value of the by column(s) "
            f"{', '.join(bad)} and are not in any group",
            UserWarning, stacklevel=3,
        )
    use = inset & ~missing
    keys = frame.loc[use].drop_duplicates()
    keys = keys.sort_values(list(keys.columns), kind="mergesort").reset_index(drop=True)
    keys.columns = names
    if len(names) == 1:
        lookup = pd.Index(keys[names[0]])
        codes = lookup.get_indexer(frame["_b0"])
    else:
        lookup = pd.MultiIndex.from_frame(keys)
        codes = lookup.get_indexer(pd.MultiIndex.from_frame(frame))
    # only when the domain has rows of weight 0 do they differ from the codes (an n-row array)
    any_weight = (np.where(design.domain & ~missing, codes, -1).astype(np.intp)
                  if (design.domain & ~inset).any() else None)
    codes = np.where(use, codes, -1).astype(np.intp)
    for c, b in zip(cols, names, strict=True):  # restore original dtypes of the key columns
        try:
            keys[b] = keys[b].astype(c.dtype)
        except (TypeError, ValueError):
            pass
    return Groups(codes=codes, keys=keys, n_missing_by=n_missing_by,
                  with_zero_weights=any_weight)


def require_nonempty(design: Design, name: str, in_domain: np.ndarray, miss: np.ndarray) -> None:
    """The empty-domain rule (docs/ARCHITECTURE.md, Tidy results): an EstimationError when no
    respondent of the domain (``in_domain``: non-zero weight, in some group) has a value of
    ``name``."""
    in_domain = in_domain & design.domain & (design.base_weights != 0)
    if not (in_domain & ~miss).any():
        raise EstimationError(
            "the domain is empty: no respondent in it has a value of the variable",
            file=design.source, column=name,
            values=[f"{int(in_domain.sum())} respondent(s) with a non-zero weight in the domain",
                    f"{int((in_domain & miss).sum())} of them missing"],
            hint="check the subset / by definition, or the variable's missing codes")


def require_finite(design: Design, name: str, values: np.ndarray, what: str) -> None:
    """An EstimationError when a non-empty domain's estimate or SE overflowed (inf/NaN):
    float64 ends near 1.8e308, so e.g. totals with weights near 1e300 cannot be represented."""
    vals = np.asarray(values, dtype=float)
    if not np.isfinite(vals).all():
        w = design.weights
        raise EstimationError(
            f"the {what} of the variable overflows floating point (inf or undefined)",
            file=design.source, column=name,
            values=[f"largest weight {float(np.max(w, initial=0.0)):.6g}",
                    f"sum of weights {float(np.sum(w)):.6g}"],
            hint="rescale the weights (e.g. to mean 1) or the variable; estimates of means and "
                 "shares do not depend on the scale of the weights")


def warn_empty_groups(groups: Groups, name: str, miss: np.ndarray, stacklevel: int = 3) -> None:
    """Warn (once) about ``by`` groups whose respondents all miss ``name``: their rows are NaN."""
    has = np.bincount(groups.codes[(groups.codes >= 0) & ~miss], minlength=groups.n_groups)
    empty = np.flatnonzero(has == 0)
    if empty.size:
        labels = [", ".join(f"{c}={groups.keys.iloc[g][c]}" for c in groups.keys.columns)
                  for g in empty[:10]]
        warnings.warn(
            f"{empty.size} group(s) have no respondent with a value of {name}; their rows are "
            f"NaN (n_unweighted 0): {'; '.join(labels)}{' ...' if empty.size > 10 else ''}",
            UserWarning, stacklevel=stacklevel)


def _groups_from_codes(design: Design, names: list[str], cols: list[pd.Series],
                       coded: list[tuple[np.ndarray, list[Any]]], inset: np.ndarray) -> Groups:
    """:func:`make_groups` for by columns already coded in sorted order (O(n), no hashing):
    mixed-radix combination of the codes, groups kept where a domain row has weight."""
    if len(coded) == 1:
        combined = coded[0][0]
        missing = combined < 0
    else:
        combined = np.zeros(len(cols[0]), dtype=np.intp)
        missing = np.zeros(len(cols[0]), dtype=bool)
        for codes, levels in coded:
            missing |= codes < 0
            combined = combined * len(levels) + np.maximum(codes, 0)
    n_missing_by = int((missing & design.domain).sum())
    if n_missing_by:
        bad = [b for b, (codes, _) in zip(names, coded, strict=True)
               if ((codes < 0) & design.domain).any()]
        warnings.warn(
            f"{n_missing_by} row(s) in the domain have a missing value of the by column(s) "
            f"{', '.join(bad)} and are not in any group",
            UserWarning, stacklevel=4,
        )
    use = inset & ~missing
    size = int(np.prod([len(lv) for _, lv in coded]))
    all_use = bool(use.all())
    present = np.bincount(combined if all_use else np.where(use, combined, size),
                          minlength=size + 1)[:size] > 0
    codes = combined if present.all() else (np.cumsum(present) - 1)[np.maximum(combined, 0)]
    codes = codes.astype(np.intp, copy=True) if all_use else np.where(use, codes, -1).astype(
        np.intp, copy=False)
    any_weight = None  # differs from the codes only when the domain has rows of weight 0
    if (design.domain & ~inset).any():
        remap = np.full(size, -1, dtype=np.intp)
        remap[present] = np.arange(int(present.sum()))
        any_weight = np.where(design.domain & ~missing, remap[np.maximum(combined, 0)],
                              -1).astype(np.intp, copy=False)
    cells = np.flatnonzero(present)
    keys = {}
    for b, c, (_, levels) in zip(reversed(names), reversed(cols), reversed(coded), strict=True):
        keys[b] = pd.Series(np.asarray(levels)[cells % len(levels)]).astype(c.dtype)
        cells = cells // len(levels)
    frame = pd.DataFrame({b: keys[b] for b in names})
    return Groups(codes=codes, keys=frame, n_missing_by=n_missing_by,
                  with_zero_weights=any_weight)


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


def _progress(total: int, progress: bool | None, desc: str, long: bool = True) -> Any:
    """A tqdm bar when asked (True), or for long jobs when stderr is a terminal (None)."""
    show = (long and sys.stderr.isatty()) if progress is None else progress
    if not show:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, file=sys.stderr, leave=False)


def replicate_totals(design: ReplicateDesign, y: sparse.csr_matrix,
                     progress: bool | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Full-sample and replicate totals of the columns of ``y`` (n x C sparse).

    Returns (C,) and (R, C). One sparse-dense product ``y' W`` over all replicates at once,
    in row blocks when n x R is large (to bound temporaries and show progress).
    """
    w = design.base_weights
    rep = design.repweights
    n, n_rep = rep.shape
    full = np.asarray(y.T @ w).ravel()
    step = max(1, _BLOCK_CELLS // max(n_rep, 1))
    bounds = [*range(0, n, step), n]
    bar = _progress(n, progress, "replicates", long=len(bounds) > 2)
    out = np.zeros((y.shape[1], n_rep))
    for a, b in pairwise(bounds):
        out += np.asarray(y[a:b].T @ rep[a:b])
        if bar is not None:
            bar.update(b - a)
    if bar is not None:
        bar.close()
    return full, out.T


def column_rank(mat: np.ndarray, tol: float = 1e-5) -> int:
    """Rank as R's ``qr(x, tol)$rank`` (LINPACK dqrdc2): a column is dependent when its norm
    after removing the earlier independent columns is below ``tol`` times its original norm.

    Modified Gram–Schmidt, applied twice, with elementwise numpy only: these matrices are small
    (about 2R x R) and multi-threaded LAPACK on small matrices thrashes on busy machines.
    """
    x = np.asarray(mat, dtype=float)
    basis = np.empty((x.shape[1], x.shape[0]))
    k = 0
    for j in range(x.shape[1]):
        v = x[:, j].copy()
        norm0 = np.sqrt((v * v).sum())
        if norm0 == 0:
            continue
        for _ in range(2):
            if k:
                q = basis[:k]
                v -= ((q * v).sum(axis=1)[:, None] * q).sum(axis=0)
        norm = np.sqrt((v * v).sum())
        if norm >= tol * norm0:
            basis[k] = v / norm
            k += 1
    return k


def replicate_df(design: ReplicateDesign, mask: np.ndarray) -> int:
    """R's ``degf`` of the replicate design restricted to the rows in ``mask``.

    R recomputes ``qr(weights, tol=1e-5)$rank - 1`` on the subset; the rank is at most R, so a
    subsample of rows that already has full rank gives the exact answer cheaply.
    """
    if design.degf is not None:
        return int(design.degf)
    rows = np.flatnonzero(mask)
    n_rep = design.n_replicates
    if rows.size == 0:
        return 0
    k = 2 * n_rep + 10
    if rows.size > k:
        sub = rows[np.linspace(0, rows.size - 1, k).astype(np.intp)]
        if column_rank(design.repweights[sub]) == n_rep:
            return n_rep - 1
        gram = design.repweights[rows].T @ design.repweights[rows]
        ev = np.linalg.eigvalsh(gram)
        return int((ev > 1e-10 * ev.max()).sum()) - 1
    return column_rank(design.repweights[rows]) - 1


def replicate_cov(design: ReplicateDesign, theta: np.ndarray, reps: np.ndarray) -> np.ndarray:
    """``design.replicate_vcov``, discarding replicates that gave NaN (as R's ``svrVar``)."""
    bad = ~np.isfinite(reps).all(axis=1)
    if not bad.any():
        return design.replicate_vcov(theta, reps)
    if bad.all():
        return np.full((reps.shape[1], reps.shape[1]), np.nan)
    warnings.warn(f"{int(bad.sum())} replicate(s) gave undefined estimates (empty domain in the "
                  "replicate) and were discarded", UserWarning, stacklevel=3)
    ok = ~bad
    rs = design.rscales[ok]
    centre = theta if design.mse else reps[ok][rs > 0].mean(axis=0)
    d = (reps[ok] - centre) * np.sqrt(rs)[:, None]
    return design.scale * (d.T @ d)


@dataclass
class ByEstimates:
    """Estimates of p quantities in each of G groups and, when asked, their joint covariance
    (G p x G p, group-major: all p quantities of group 0, then group 1, ...)."""

    groups: list[DomainEstimate]
    joint: np.ndarray | None = None


def _empty(p: int, n_d: int, psum: float) -> DomainEstimate:
    return DomainEstimate(np.full(p, np.nan), np.full((p, p), np.nan), np.full(p, np.nan), n_d,
                          psum, float("nan"))


def estimate_by(
    design: Design,
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
    if isinstance(design, ReplicateDesign):
        if codes.ndim == 2:
            parts = [_replicate_by(design, y[:, [j]], codes[:, j], n_groups, kind, None, 1,
                                   progress, denom) for j in range(p)]
            return _merge_columns(design, parts, n_groups, joint, keep_reps)
        ests, theta, reps = _replicate_by(design, y, codes, n_groups, kind, cat, p, progress,
                                          denom)
        return _finish_replicate(design, ests, theta, reps, joint, keep_reps)
    if design.psu_aggregable:
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


def _linear_aggregated(design: SurveyDesign, y: np.ndarray | None, codes: np.ndarray, G: int,
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
        v = np.atleast_2d(design.vcov_psu_totals(z[:, g, :], any_present))
        if codes.ndim == 2:  # each quantity's own domain for its own variance
            for j in np.flatnonzero(~empty[g]):
                v[j, j] = design.vcov_psu_totals(z[:, g, [j]], present[:, g, j])[0, 0]
        v[empty[g], :] = np.nan
        v[:, empty[g]] = np.nan
        th = np.where(empty[g], np.nan, theta[g])
        n_g = int(n_d[g].max()) if codes.ndim == 2 else int(n_d[g, 0])
        out.append(DomainEstimate(th, v, _deff(v, s2[g], float(wsum[g].max()), n_g, kind,
                                               has_fpc) if codes.ndim == 1 else
                                  _deff_each(v, s2[g], wsum[g], n_d[g], kind, has_fpc),
                                  n_g, float(wsum[g].max()), float(design.df_psu(any_present))))
    vj = None
    if joint:
        vj = design.vcov_psu_totals(z.reshape(n_psu, G * p))
        bad = empty.reshape(-1)
        vj[bad, :] = np.nan
        vj[:, bad] = np.nan
    return ByEstimates(out, vj)


def _deff_each(v: np.ndarray, s2: np.ndarray, psum: np.ndarray, n: np.ndarray, kind: str,
               has_fpc: bool) -> np.ndarray:
    """Design effects of quantities estimated on different rows (per-variable missing)."""
    return np.array([_deff(v[[j]][:, [j]], s2[[j]], float(psum[j]), int(n[j]), kind,
                           has_fpc)[0] for j in range(len(s2))])


def _linear_full(design: SurveyDesign, y: np.ndarray | None, codes: np.ndarray, G: int,
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
        v = np.atleast_2d(sub.vcov(scores))
        if codes.ndim == 2:
            for j in np.flatnonzero(n_j > 0):
                v[j, j] = design.subset(masks[j]).vcov(scores[:, [j]])[0, 0]
        bad = np.isnan(theta)
        v[bad, :] = np.nan
        v[:, bad] = np.nan
        n_g = int(n_j.max())
        deff = (_deff(v, s2, float(w_j.max()), n_g, kind, has_fpc) if codes.ndim == 1
                else _deff_each(v, s2, w_j, n_j, kind, has_fpc))
        out.append(DomainEstimate(theta, v, deff, n_g, float(w_j.max()), float(sub.df)))
    vj = None
    if joint:
        vj = design.vcov(np.hstack(all_scores))
        bad = np.concatenate([np.isnan(e.theta) for e in out])
        vj[bad, :] = np.nan
        vj[:, bad] = np.nan
    return ByEstimates(out, vj)


def _replicate_by(design: ReplicateDesign, y: np.ndarray | None, codes: np.ndarray, G: int,
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


def _joint_replicate(design: ReplicateDesign, theta: np.ndarray, reps: np.ndarray) -> np.ndarray:
    """Joint replicate covariance of all groups' estimates (empty groups: NaN rows/columns)."""
    ok = np.isfinite(theta)
    vj = np.full((theta.size, theta.size), np.nan)
    if ok.any():
        vj[np.ix_(ok, ok)] = replicate_cov(design, theta[ok], reps[:, ok])
    return vj


def _finish_replicate(design: ReplicateDesign, ests: list[DomainEstimate], theta: np.ndarray,
                      reps: np.ndarray, joint: bool, keep_reps: bool) -> ByEstimates:
    vj = _joint_replicate(design, theta, reps) if joint else None
    if not keep_reps:
        for e in ests:
            e.reps = None
    return ByEstimates(ests, vj)


def _merge_columns(design: ReplicateDesign,
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
    design: Design,
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
