"""Post-stratification to known cell totals (R's ``postStratify``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from surveykit.design import ReplicateDesign, SurveyDesign
from surveykit.errors import WeightingError
from surveykit.weighting._common import as_design, as_number, norm_key, safe_divide
from surveykit.weighting.replicate import poststratify_columns, reweighted


@dataclass(eq=False)
class PostStratification:
    """Record of a post-stratification; ``residualize`` removes within-cell means (R).

    R (``svyrecvar``): ``x - psw * m_cell`` with ``m_cell`` the mean of ``x / psw`` weighted by
    the weights before post-stratification (``oldw``) and ``psw`` the weights after it.
    """

    cells: list[str]
    labels: list[Any]
    totals: np.ndarray
    codes: np.ndarray = field(repr=False)
    old_weights: np.ndarray = field(repr=False)
    new_weights: np.ndarray = field(repr=False)

    def residualize(self, scores: np.ndarray) -> np.ndarray:
        x = np.asarray(scores, dtype=float)
        one = x.ndim == 1
        if one:
            x = x[:, None]
        psw = self.new_weights.copy()
        psw[(psw == 0) & (self.old_weights == 0)] = 1.0
        k = len(self.labels)
        z = safe_divide(x * self.old_weights[:, None], psw[:, None])
        den = np.bincount(self.codes, weights=self.old_weights, minlength=k)
        out = np.empty_like(x)
        for j in range(x.shape[1]):
            means = safe_divide(np.bincount(self.codes, weights=z[:, j], minlength=k), den)
            out[:, j] = x[:, j] - means[self.codes] * psw
        return out[:, 0] if one else out


def cell_codes(design: SurveyDesign, cells: Sequence[str]) -> tuple[np.ndarray, list[tuple]]:
    """Codes of the cells (interaction of ``cells`` columns) and their labels as tuples."""
    from surveykit.weighting._common import margin_codes

    per = [margin_codes(design, c) for c in cells]
    if len(per) == 1:
        codes, levels = per[0]
        return codes, [(lv,) for lv in levels]
    sizes = [len(lv) for _, lv in per]
    flat = np.ravel_multi_index([c for c, _ in per], sizes)
    uniq, codes = np.unique(flat, return_inverse=True)
    idx = np.unravel_index(uniq, sizes)
    labels = [tuple(per[m][1][idx[m][i]] for m in range(len(per))) for i in range(len(uniq))]
    return codes.astype(np.intp), labels


def _totals_lookup(cells: list[str], totals: Any) -> dict[tuple, float]:
    """Population cell totals as {tuple of labels: total} from a mapping, Series or DataFrame."""
    if isinstance(totals, pd.DataFrame):
        missing = [c for c in cells if c not in totals.columns]
        rest = [c for c in totals.columns if c not in cells]
        if missing or len(rest) != 1:
            raise WeightingError(
                "population table must have the cell columns plus one column of totals",
                values=[f"missing {c}" for c in missing] + [f"extra {c}" for c in rest[1:]],
                hint=f"cells: {', '.join(cells)}")
        keys = list(zip(*[totals[c] for c in cells], strict=True))
        vals = totals[rest[0]].to_numpy()
    elif isinstance(totals, (Mapping, pd.Series)):
        keys = [k if isinstance(k, tuple) else (k,) for k in totals.keys()]
        vals = list(dict(totals.items()).values())
    else:
        raise WeightingError("population totals must be a mapping, Series or DataFrame")
    out: dict[tuple, float] = {}
    for k, v in zip(keys, vals, strict=True):
        key = tuple(norm_key(x) for x in k)
        if len(key) != len(cells):
            raise WeightingError(f"population cell {k!r} does not have {len(cells)} label(s)",
                                 hint=f"cells: {', '.join(cells)}")
        if key in out:
            raise WeightingError("duplicate population cell", values=[k])
        x = as_number(v, f"population total of cell {k!r}")
        if not np.isfinite(x) or x < 0:
            raise WeightingError("population totals must be finite and non-negative",
                                 values=[f"{k}: {v!r}"])
        out[key] = x
    return out


def poststratify(design: Any, cells: str | Sequence[str], totals: Any,
                 partial: bool = False) -> SurveyDesign | ReplicateDesign:
    """Post-stratify: scale the weights in each cell to its population total (R ``postStratify``).

    ``cells`` is a column or list of columns whose combinations form the post-strata;
    ``totals`` maps a label (or a tuple of labels for several columns) to the population count,
    or is a DataFrame with the cell columns plus one count column (like R's ``population``).
    Sample cells absent from the population are an error; population cells absent from the sample
    are an error unless ``partial=True`` (then they are ignored, as in R).
    On a :class:`ReplicateDesign` every replicate column is post-stratified to the same totals
    (R's ``postStratify.svyrep.design``), so replicate variances reflect the weighting.

    Parameters
    ----------
    design : SurveyDesign or ReplicateDesign
        The design to weight.
    cells : str or sequence of str
        Column(s) whose combinations form the post-strata.
    totals : mapping or pandas.DataFrame
        Population count of each cell: ``{label: count}`` (a tuple of labels for several columns),
        or a DataFrame with the cell columns and one count column.
    partial : bool
        Ignore population cells absent from the sample (R's ``partial=TRUE``).

    Returns
    -------
    SurveyDesign or ReplicateDesign
        The post-stratified design (the weighting is kept for the variance).

    Raises
    ------
    WeightingError
        A sample cell without population count, or a population cell without sample.

    Examples
    --------
    >>> design = sk.SurveyDesign(sk.load_replica(), weights="weight")
    >>> post = sk.poststratify(design, "region", {1: 900_000, 2: 700_000, 3: 609_000})
    >>> round(float(post.weights.sum()))
    2209000
    """
    des = as_design(design, what="poststratify")
    cols = [cells] if isinstance(cells, str) else list(cells)
    codes, labels = cell_codes(des, cols)
    lookup = _totals_lookup(cols, totals)
    by_str = {tuple(map(str, k)): k for k in lookup}
    k = len(labels)
    w = des.weights
    sample = np.bincount(codes, weights=w, minlength=k)
    target = np.empty(k)
    used = set()
    absent = []
    for i, lab in enumerate(labels):
        key = lab if lab in lookup else by_str.get(tuple(map(str, lab)))
        if key is None:
            absent.append(lab)
            continue
        used.add(key)
        target[i] = lookup[key]
    label = " x ".join(cols)
    if absent:
        raise WeightingError("sample cells are absent from the population totals",
                             file=des.source, column=label,
                             values=[lab if len(lab) > 1 else lab[0] for lab in absent])
    only_pop = [key for key in lookup if key not in used and lookup[key] != 0]
    zero_cells = [labels[i] for i in range(k) if sample[i] == 0 and target[i] != 0]
    if (only_pop or zero_cells) and not partial:
        raise WeightingError(
            "population cells have no sample weight to carry them",
            file=des.source, column=label,
            values=[c if len(c) > 1 else c[0] for c in only_pop + zero_cells],
            hint="collapse cells, or pass partial=True to ignore them (as R's partial=TRUE)")
    bad = (target == 0) & (sample > 0)
    if bad.any():
        raise WeightingError("sample cells have a population total of zero", file=des.source,
                             column=label, values=[labels[i] for i in np.flatnonzero(bad)])
    factor = safe_divide(target, sample)
    new_w = des.base_weights * np.where(des.domain, factor[codes], 1.0)
    if isinstance(des, ReplicateDesign):  # R's postStratify.svyrep.design: every replicate too
        reps = poststratify_columns(codes, labels, np.where(sample > 0, target, 0.0),
                                    des.replicate_weights, label, des.source)
        return reweighted(des, new_w, reps)
    rec = PostStratification(cells=cols, labels=labels, totals=target, codes=codes,
                             old_weights=w, new_weights=np.where(des.domain, new_w, 0.0))
    return des.with_weights(new_w, calibration=rec)
