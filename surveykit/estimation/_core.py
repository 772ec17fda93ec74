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


def categorical_column(design: Design, name: str) -> tuple[np.ndarray, list[Any], np.ndarray]:
    """Integer codes 0..K-1 (-1 for missing), the K levels, and the missing mask.

    Levels are the categories of a pandas Categorical (in their order), otherwise the sorted
    distinct values of the column (sorted code order).
    """
    col = get_column(design, name)
    if isinstance(col.dtype, pd.CategoricalDtype):
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

    @property
    def n_groups(self) -> int:
        return len(self.keys)

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
    codes = np.where(use, codes, -1).astype(np.intp)
    for c, b in zip(cols, names, strict=True):  # restore original dtypes of the key columns
        try:
            keys[b] = keys[b].astype(c.dtype)
        except (TypeError, ValueError):
            pass
    return Groups(codes=codes, keys=keys, n_missing_by=n_missing_by)


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
    """Totals (``kind="total"``) or means (``kind="mean"``) of the columns of ``y`` per domain.

    ``y`` is n x p (values outside a domain are ignored, NaN allowed there); ``masks`` are
    boolean n-vectors of the rows to use (already excluding missing values). The design's own
    domain is applied on top. Means are ratios ``sum w y / sum w``; their linearisation uses
    the influence scores ``w (y - mean) / sum w`` (R's ``svymean``). ``one_hot=True`` promises
    that every used row has exactly one 1 and zeros elsewhere (category indicators), which lets
    the replicate product skip the domain-size column.
    """
    y = np.asarray(y, dtype=float)
    if y.ndim == 1:
        y = y[:, None]
    p = y.shape[1]
    masks = [np.asarray(m, dtype=bool) & design.domain & (design.base_weights != 0)
             for m in masks]
    if isinstance(design, ReplicateDesign):
        return _estimate_replicate(design, y, masks, kind, keep_reps, progress,
                                   one_hot and kind == "mean")
    one_hot = one_hot and kind == "mean"
    has_fpc = bool(np.any(design.fpc_f < 1))
    out = []
    wall = design.weights
    n = y.shape[0]
    for m in masks:
        idx = np.flatnonzero(m)
        n_d = idx.size
        wi = wall[idx]
        psum = float(wi.sum())
        if n_d == 0 or psum <= 0:
            out.append(DomainEstimate(np.full(p, np.nan), np.full((p, p), np.nan),
                                      np.full(p, np.nan), n_d, psum, float("nan")))
            continue
        scores = np.zeros((n, p))
        if one_hot:  # indicators: work with the category of each row, not n x p arrays
            cat = y[idx].argmax(axis=1)
            tot = np.bincount(cat, weights=wi, minlength=p)
            mean = tot / psum
            if kind == "mean":
                scores[idx] = -(wi[:, None] / psum) * mean
                scores[idx, cat] += wi / psum
            else:
                scores[idx, cat] = wi
            s2 = mean * (1 - mean) * n_d / (n_d - 1) if n_d > 1 else np.full(p, np.nan)
        else:
            yi = y[idx]
            tot = wi @ yi
            mean = tot / psum
            if kind == "mean":
                scores[idx] = wi[:, None] * (yi - mean) / psum
            else:
                scores[idx] = wi[:, None] * yi
            s2 = _srs_variance(wi, yi, mean, n_d)
        theta = mean if kind == "mean" else tot
        sub = design.subset(m)
        v = np.atleast_2d(sub.vcov(scores))
        out.append(DomainEstimate(theta, v, _deff(v, s2, psum, n_d, kind, has_fpc), n_d, psum,
                                  float(sub.df)))
    return out


def _estimate_replicate(design: ReplicateDesign, y: np.ndarray, masks: list[np.ndarray],
                        kind: str, keep_reps: bool, progress: bool | None,
                        one_hot: bool) -> list[DomainEstimate]:
    """Replicate-weight version of :func:`estimate_domains`: all domains in one product."""
    has_fpc = False  # replicate designs carry no FPC; R's deff uses sum(w) as the population
    n, p = y.shape
    rows, cols, vals = [], [], []
    # one-hot rows (proportions): the domain size is the sum of the columns, so the product
    # needs a single non-zero per row instead of p + 1
    idxs = [np.flatnonzero(m) for m in masks]
    for d, idx in enumerate(idxs):
        base = d * (p + 1)
        yd = y[idx]
        r, j = np.nonzero(yd)
        rows.append(idx[r])
        cols.append(base + j)
        vals.append(yd[r, j])
        if not one_hot:
            rows.append(idx)
            cols.append(np.full(idx.size, base + p, dtype=np.intp))
            vals.append(np.ones(idx.size))
    n_cols = len(masks) * (p + 1)
    mat = sparse.csr_matrix(
        (np.concatenate(vals) if vals else np.zeros(0),
         (np.concatenate(rows) if rows else np.zeros(0, np.intp),
          np.concatenate(cols) if cols else np.zeros(0, np.intp))),
        shape=(n, n_cols),
    )
    full, reps = replicate_totals(design, mat, progress)
    out = []
    w_base = design.base_weights
    for d, m in enumerate(masks):
        base = d * (p + 1)
        n_d = int(m.sum())
        tot, rt = full[base:base + p], reps[:, base:base + p]
        if one_hot:
            psum, rsum = float(tot.sum()), rt.sum(axis=1)
        else:
            psum, rsum = float(full[base + p]), reps[:, base + p]
        if n_d == 0 or psum <= 0:
            out.append(DomainEstimate(np.full(p, np.nan), np.full((p, p), np.nan),
                                      np.full(p, np.nan), n_d, psum, float("nan")))
            continue
        mean = tot / psum
        if kind == "mean":
            theta = mean
            with np.errstate(divide="ignore", invalid="ignore"):
                theta_r = rt / rsum[:, None]
        else:
            theta, theta_r = tot, rt
        v = np.atleast_2d(replicate_cov(design, theta, theta_r))
        idx = np.flatnonzero(m)
        s2 = _srs_variance(w_base[idx], y[idx], mean, n_d)
        out.append(DomainEstimate(theta, v, _deff(v, s2, psum, n_d, kind, has_fpc), n_d, psum,
                                  float(replicate_df(design, m)),
                                  theta_r if keep_reps else None))
    return out
