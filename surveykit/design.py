"""Survey designs: the one object every estimator and model takes.

:class:`SurveyDesign` is a Taylor-linearisation design (weights, strata, PSUs, FPC), modelled on
R's ``svydesign(ids=, strata=, weights=, fpc=, nest=)``. :class:`ReplicateDesign` carries replicate
weights, like R's ``svrepdesign``. Both are immutable; ``subset`` keeps the full design and zeroes
the weights outside the domain, exactly as R does, so domain standard errors are right.

Estimators talk to a design through two methods:

- ``design.weights`` — analysis weights (zero outside the current domain);
- ``design.vcov(scores)`` (linearisation) or ``design.replicate_vcov(theta, theta_reps)``.

The linearisation variance is R's ``svyrecvar``: PSU totals of the weighted influence scores
centred within strata, ``sum_h f_h n_h/(n_h-1) sum_i (z_hi - zbar_h)(z_hi - zbar_h)'`` with
``f_h = 1 - n_h/N_h`` under an FPC, plus the later stages' terms of a multistage design with
FPCs (see :mod:`surveykit.multistage`).
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol

import numpy as np
import pandas as pd

from surveykit.errors import DesignError
from surveykit.expressions import evaluate
from surveykit.multistage import (
    Stage,
    dense_codes,
    pair_codes,
    per_stratum_value,
    unit_strata,
)
from surveykit.variance.linearisation import (
    CERTAINTY_TOL,
    df_psu,
    later_stages,
    linearised_df,
    linearised_vcov,
    psu_aggregable,
    psu_totals_vcov,
)
from surveykit.variance.replication import replicate_df, svr_var

LonelyPSU = Literal["fail", "remove", "adjust", "average", "certainty"]
LONELY_PSU_POLICIES: tuple[str, ...] = ("fail", "remove", "adjust", "average", "certainty")


class Residualizer(Protocol):
    """Calibration information kept on a design so variances account for the calibration.

    ``residualize(scores)`` maps weighted influence scores (n x p) to the residual scores that
    R's ``svyrecvar`` uses after ``postStratify``, ``rake`` or ``calibrate``.
    """

    def residualize(self, scores: np.ndarray) -> np.ndarray: ...


def _as_frame(data: Any, source: str | None = None) -> tuple[pd.DataFrame, str | None]:
    """The DataFrame of ``data`` and the source to name in errors. A RawFile (``sk.read``) is
    taken as its ``.data`` (labels travel with it) and its path."""
    if not isinstance(data, pd.DataFrame) and isinstance(getattr(data, "data", None),
                                                         pd.DataFrame) \
            and hasattr(data, "missing_reasons"):
        return data.data, source if source is not None else getattr(data, "path", None)
    if not isinstance(data, pd.DataFrame):
        raise DesignError(f"data must be a pandas DataFrame (or a RawFile from surveykit.read), "
                          f"got {type(data).__name__}", file=source)
    return data, source


def align_to(data: pd.DataFrame, values: Any, role: str, source: str | None = None) -> Any:
    """A pandas Series given for the rows of ``data`` lined up with them by index label.

    pandas matches Series by label, so a mask or column built from a re-sorted or filtered copy
    of the frame must not be read by position (that silently picks other respondents). A
    Series whose index holds the same labels as ``data.index`` (in any order) is reindexed;
    one with other labels is an error. Anything else is returned as it is (read by position).
    """
    if not isinstance(values, (pd.Series, pd.DataFrame)) or values.index.equals(data.index):
        return values
    idx = values.index
    if (len(idx) == len(data) and idx.is_unique and data.index.is_unique
            and not idx.difference(data.index).size):
        return values.reindex(data.index)
    extra = list(idx.difference(data.index)[:5]) if data.index.is_unique else []
    name = getattr(values, "name", None)
    raise DesignError(
        f"{role} is a pandas {type(values).__name__} whose index does not match the data's "
        f"rows ({len(idx)} labels for {len(data)} rows)", file=source,
        column=name if isinstance(name, str) else None, values=extra,
        hint="build it from the design's data (design.data) or pass .to_numpy() to match "
             "rows by position")


def _column(data: pd.DataFrame, spec: Any, role: str, source: str | None) -> pd.Series:
    """Resolve a column name (or an array-like of length n) for a design role."""
    if isinstance(spec, str):
        if spec not in data.columns:
            raise DesignError(
                f"{role} column not found in the data", file=source, column=spec,
                hint=f"available columns: {', '.join(map(str, data.columns[:20]))}",
            )
        return data[spec]
    values = np.asarray(align_to(data, spec, role, source))
    if values.ndim != 1 or len(values) != len(data):
        raise DesignError(f"{role} has shape {values.shape}, data has {len(data)} rows",
                          file=source)
    return pd.Series(values, index=data.index)


def interaction(data: pd.DataFrame, columns: Sequence[str], sep: str = ".") -> pd.Series:
    """One label per row for the combination of several columns (R's ``interaction``).

    A list given to ``SurveyDesign(strata=..., psu=...)`` means *stages*, as in R's
    ``id=~a+b``; to use the cross-classification of several columns as one set of strata or
    PSUs, pass ``strata=interaction(df, ["region", "urban"])`` instead. Labels are the values
    joined by ``sep`` (``"1.2"``), as R pastes them.

    Parameters
    ----------
    data : pandas.DataFrame
        The data.
    columns : sequence of str
        The columns to cross.
    sep : str
        Separator of the values in the labels.

    Returns
    -------
    pandas.Series
        One label per row.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"region": ["East", "West"], "urban": ["yes", "no"]})
    >>> sk.interaction(df, ["region", "urban"]).tolist()
    ['East.yes', 'West.no']
    """
    data, _ = _as_frame(data)
    cols = [_column(data, c, "interaction", None) for c in columns]
    if not cols:
        raise DesignError("interaction needs at least one column")
    for name, col in zip(columns, cols, strict=True):
        _no_missing(col, "interaction", name, None)
    out = cols[0].astype(str)
    for col in cols[1:]:
        out = out + sep + col.astype(str)
    return out.rename(sep.join(map(str, columns)))


def _stage_specs(spec: Any) -> list[Any]:
    """A design role given per stage: None -> [], one column/array -> [it], a list -> stages."""
    if spec is None:
        return []
    if isinstance(spec, (list, tuple)) and spec and all(
            isinstance(s, (str, pd.Series, np.ndarray)) for s in spec):
        return list(spec)
    return [spec]


def _key(data: pd.DataFrame, spec: Any, role: str, source: str | None) -> pd.Series:
    col = _column(data, spec, role, source)
    _no_missing(col, role, spec if isinstance(spec, str) else None, source)
    return col


def _no_missing(col: pd.Series, role: str, name: str | None, source: str | None) -> None:
    miss = col.isna().to_numpy()
    if miss.any():
        rows = np.flatnonzero(miss)
        raise DesignError(
            f"{role} has {miss.sum()} missing value(s); every respondent needs a {role}",
            file=source, column=name, values=[f"row {i + 1}" for i in rows],
        )


def _codes(key: pd.Series, sort: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes 0..k-1 and the levels; sorted levels when ``sort``, else first appearance.

    Integer columns of modest range take a bincount path (no hashing, no sort of n values).
    """
    values = key.to_numpy() if isinstance(key.dtype, np.dtype) else np.empty(0)
    if values.dtype.kind in "iu" and values.size:
        lo, hi = int(values.min()), int(values.max())
        if hi - lo < 4 * values.size + 1024:
            shifted = (values - lo if lo else values).astype(np.intp, copy=False)
            seen = np.bincount(shifted, minlength=hi - lo + 1) > 0
            if seen.all():  # dense labels: the shifted values are the codes
                return shifted, np.arange(lo, hi + 1).astype(object)
            remap = np.cumsum(seen, dtype=np.intp) - 1
            levels = np.flatnonzero(seen) + lo
            return remap[shifted], levels.astype(object)
    codes, levels = pd.factorize(key, sort=sort)
    return codes.astype(np.intp, copy=False), np.asarray(levels, dtype=object)


def validate_weights(w: Any, *, column: str | None = None, source: str | None = None) -> np.ndarray:
    """Return weights as float64, raising DesignError on non-numeric, NaN, negative or zero-sum."""
    if isinstance(w, (np.ndarray, pd.Series)) and isinstance(w.dtype, np.dtype) \
            and w.dtype.kind in "fiu" and w.ndim == 1 and len(w):
        # fast path, same checks: a non-negative minimum and a finite positive sum mean no NaN,
        # no infinity, no negative value and not all zero (anything else: the diagnosis below)
        arr = np.asarray(w).astype(float, copy=False)
        with np.errstate(over="ignore", invalid="ignore"):
            lo, tot = arr.min(), arr.sum()
        if lo >= 0 and np.isfinite(tot) and tot > 0:
            return arr
    ser = pd.Series(w) if not isinstance(w, pd.Series) else w
    num = pd.to_numeric(ser, errors="coerce")
    bad = num.isna() & ser.notna()
    if bad.any():
        raise DesignError("weights must be numeric", file=source, column=column, values=ser[bad])
    arr = num.to_numpy(dtype=float)
    nan = np.isnan(arr)
    if nan.any():
        raise DesignError(
            "weights contain missing values", file=source, column=column,
            values=[f"row {i + 1}" for i in np.flatnonzero(nan)],
        )
    inf = ~np.isfinite(arr)
    if inf.any():
        raise DesignError("weights must be finite", file=source, column=column, values=arr[inf])
    neg = arr < 0
    if neg.any():
        raise DesignError("weights must be non-negative", file=source, column=column,
                          values=arr[neg])
    with np.errstate(over="ignore"):
        if arr.sum() <= 0:
            raise DesignError("weights sum to zero", file=source, column=column)
    return arr


@dataclass(frozen=True, eq=False)
class _Base:
    """State shared by linearisation and replicate designs."""

    data: pd.DataFrame
    base_weights: np.ndarray
    domain: np.ndarray
    source: str | None = None

    def __repr__(self) -> str:  # short (<= 20 lines), not the dataclass dump of the data
        from surveykit.display import design_repr

        return design_repr(self)

    def _repr_html_(self) -> str:
        from surveykit.display import design_html

        return design_html(self)

    @property
    def weights(self) -> np.ndarray:
        """Analysis weights: the design weights, zero outside the current domain."""
        return np.where(self.domain, self.base_weights, 0.0)

    @property
    def n(self) -> int:
        """Unweighted number of respondents in the current domain."""
        return int(self.domain.sum())

    @property
    def n_total(self) -> int:
        """Number of rows in the full sample (domains keep them all)."""
        return len(self.data)

    @property
    def is_replicate(self) -> bool:
        return isinstance(self, ReplicateDesign)

    @property
    def is_synthetic(self) -> bool:
        """True when the data are the synthetic replica (``data.attrs["synthetic"]``): every
        table, model and figure made from this design must then say so."""
        return bool(self.data.attrs.get("synthetic", False))

    def _evolve(self, **changes: Any) -> Any:
        """A shallow copy with some attributes changed (the design is immutable)."""
        new = copy.copy(self)
        for key, value in changes.items():
            object.__setattr__(new, key, value)
        return new

    def with_columns(self, **columns: Any) -> Any:
        """Same design (weights, strata, PSUs, domain) over the data plus extra columns, e.g.
        derived indicators; existing columns are never overwritten."""
        extra = pd.DataFrame(columns, index=self.data.index)
        clash = [c for c in extra.columns if c in self.data.columns]
        if clash:
            raise DesignError("columns already exist in the design's data", file=self.source,
                              values=clash)
        data = pd.concat([self.data, extra], axis=1)
        data.attrs = dict(self.data.attrs)  # concat drops attrs: keep synthetic flag and labels
        return self._evolve(data=data)

    def _domain_mask(self, mask: Any) -> np.ndarray:
        if isinstance(mask, str):
            mask = evaluate(mask, self.data, kind=DesignError,
                            what="cannot evaluate the subset expression", file=self.source)
        m = np.asarray(align_to(self.data, mask, "subset mask", self.source))
        if m.shape != (len(self.data),):
            raise DesignError(f"subset mask has shape {m.shape}, expected ({len(self.data)},)")
        if m.dtype != bool:
            ser = pd.Series(m)
            if ser.isna().any():
                raise DesignError(
                    "subset mask has missing values; decide explicitly how to treat them",
                    values=[f"row {i + 1}" for i in np.flatnonzero(ser.isna().to_numpy())],
                )
            m = m.astype(bool)
        return m

    def subset(self, mask: Any) -> _Base:
        """A domain: the full design with weights zeroed outside ``mask`` (R's ``subset``).

        ``mask`` is a boolean array of length n, a boolean Series (matched to the rows by its
        index labels, as pandas does) or an expression of surveykit's expression language
        (``"stype == 'E' and api00 > 600"``; see :mod:`surveykit.expressions`), never eval'd.
        """
        return self._evolve(domain=self.domain & self._domain_mask(mask))

    def column(self, name: str) -> pd.Series:
        """A data column by name, with a DesignError naming it when it is absent."""
        if name not in self.data.columns:
            raise DesignError("variable not found in the design's data", file=self.source,
                              column=name)
        return self.data[name]


@dataclass(frozen=True, eq=False, repr=False)
class SurveyDesign(_Base):
    """A linearisation (Taylor series) survey design, like R's ``svydesign``.

    Parameters
    ----------
    data
        respondent-level DataFrame (or the RawFile of ``surveykit.read``: its ``.data``).
    weights
        column name or array of sampling weights. Without weights (and without
        ``probs``), the weights are derived from ``fpc`` as R does (the product over stages
        of ``N_s / n_s``); with neither, every row has weight 1 (equal probability).
    strata
        column name or array of the strata; a list gives the strata of each stage
        (R's ``strata=~s1+s2``). Default: one stratum.
    psu
        column name or array of the primary sampling units; a list gives the sampling
        units of each stage, as R's ``id=~psu+ssu``: ``psu=["dnum", "snum"]`` is a two-stage
        design whose second-stage units are schools within districts (not an interaction:
        use :func:`interaction` for that). Default: each row is its own PSU.
    fpc
        per stage (one column, or a list with one per stage) the population number of units
        in the stratum (all values >= 1) or the sampling fraction (all values <= 1), constant
        within the stage's strata, as R's ``fpc=``. Default: no finite population correction.
        ``inf`` (a fraction of 0) means sampling with replacement at that stage, as in R: no
        correction there, and no later-stage variance below it.
    nest
        PSU labels are only unique within strata (relabel them), as R's ``nest=TRUE``.
    lonely_psu
        what to do with strata holding a single unit, at any stage, as R's
        ``survey.lonely.psu``: "fail" (error, the default), "remove", "certainty", "adjust"
        (centre on the grand mean), "average" (scale up the other strata's contribution).
    source
        a file name used in error messages.
    probs
        column name or array (or a list, one per stage, multiplied) of selection
        probabilities, R's ``probs=``; weights are ``1 / probs``. Not together with weights.
    ultimate_cluster
        use only the first stage for variances even when an FPC is given,
        as R's ``options(survey.ultimate.cluster = TRUE)``.
    adjust_domain_lonely
        a stratum with several sampled units of which only one lies in a
        domain is treated by the ``lonely_psu`` rule in that domain's variances, as R's
        ``options(survey.adjust.domain.lonely = TRUE)`` (changes "adjust" and "average").

    Notes
    -----
    With an FPC and several stages, variances add the later stages' terms (R's
    ``svyrecvar``); without an FPC only the first stage counts (the with-replacement
    "ultimate cluster" approximation), exactly as R.

    Examples
    --------
    >>> df = sk.load_replica()
    >>> design = sk.SurveyDesign(df, weights="weight")
    >>> round(float(sk.mean(design, "age")["estimate"].iloc[0]), 2)
    32.64
    >>> stratified = sk.SurveyDesign(df, weights="weight", strata="region")
    >>> round(float(sk.mean(stratified, "age")["std_error"].iloc[0]), 3)
    0.271
    """

    strata_codes: np.ndarray = field(default=None, repr=False)  # type: ignore[assignment]
    psu_codes: np.ndarray = field(default=None, repr=False)  # type: ignore[assignment]
    psu_stratum: np.ndarray = field(default=None, repr=False)  # type: ignore[assignment]
    n_psu_h: np.ndarray = field(default=None, repr=False)  # type: ignore[assignment]
    fpc_f: np.ndarray = field(default=None, repr=False)  # type: ignore[assignment]
    stages: tuple[Stage, ...] = ()
    lonely_psu: str = "fail"
    ultimate_cluster: bool = False
    adjust_domain_lonely: bool = False
    calibrations: tuple[Residualizer, ...] = ()
    spec: dict[str, Any] = field(default_factory=dict)

    def __init__(
        self,
        data: pd.DataFrame,
        weights: Any = None,
        strata: Any = None,
        psu: Any = None,
        fpc: Any = None,
        nest: bool = False,
        lonely_psu: LonelyPSU = "fail",
        source: str | None = None,
        probs: Any = None,
        ultimate_cluster: bool = False,
        adjust_domain_lonely: bool = False,
    ) -> None:
        data, source = _as_frame(data, source)
        n = len(data)
        if n == 0:
            raise DesignError("cannot build a design on zero rows", file=source)
        if lonely_psu not in LONELY_PSU_POLICIES:
            raise DesignError(
                f"unknown lonely_psu policy {lonely_psu!r}",
                hint=f"use one of {', '.join(LONELY_PSU_POLICIES)}",
            )
        if weights is not None and probs is not None:
            raise DesignError("give weights= or probs=, not both (R: \"Can't specify both "
                              "sampling weights and probabilities\")", file=source,
                              column=weights if isinstance(weights, str) else None)
        psu_specs = _stage_specs(psu)
        strata_specs = _stage_specs(strata)
        fpc_specs = _stage_specs(fpc)
        n_stages = max(len(psu_specs), 1)
        if len(strata_specs) > n_stages:
            raise DesignError(
                f"strata lists {len(strata_specs)} columns but the design has {n_stages} "
                "stage(s): a list of strata gives the strata of each stage (R's strata=~s1+s2)",
                file=source, values=[s for s in strata_specs if isinstance(s, str)],
                hint="for strata crossed from several columns use "
                     "strata=surveykit.design.interaction(df, [...])",
            )
        if fpc_specs and len(fpc_specs) != n_stages:
            raise DesignError(
                f"fpc lists {len(fpc_specs)} column(s) but the design has {n_stages} stage(s); "
                "give one per stage (R's fpc=~fpc1+fpc2)", file=source,
                values=[s for s in fpc_specs if isinstance(s, str)],
            )
        strata_name = strata_specs[0] if strata_specs and isinstance(strata_specs[0], str) \
            else None
        psu_name = psu_specs[0] if psu_specs and isinstance(psu_specs[0], str) else None

        # -- stage 1: strata in sorted label order, PSUs by hashing (rows: no work at all) --
        if strata_specs:
            strata_codes, strata_levels = _codes(_key(data, strata_specs[0], "strata", source))
        else:
            strata_codes = np.zeros(n, dtype=np.intp)
            strata_levels = np.array(["(all)"], dtype=object)
        n_strata = len(strata_levels)
        if not psu_specs:
            stage1 = Stage(cluster=np.arange(n, dtype=np.intp), cluster_stratum=strata_codes,
                           n=np.bincount(strata_codes, minlength=n_strata), f=np.ones(n_strata),
                           ratio=np.zeros(n_strata), parent=np.zeros(n_strata, dtype=np.intp),
                           rows_are_units=True)
        else:
            psu_key = _key(data, psu_specs[0], "psu", source)
            psu_codes, psu_levels = _codes(psu_key, sort=False)
            n_psu = len(psu_levels)
            if nest:
                psu_codes, n_psu = pair_codes(strata_codes, psu_codes, n_psu)
            psu_stratum, clash = unit_strata(psu_codes, strata_codes, n_psu)
            if clash.size:
                labels = pd.unique(psu_key.to_numpy()[clash])
                raise DesignError(
                    "PSUs are not nested in strata: the same PSU label appears in several strata",
                    file=source, column=psu_name, values=list(labels),
                    hint="pass nest=True if PSU labels are only unique within strata",
                )
            stage1 = Stage(cluster=psu_codes, cluster_stratum=psu_stratum,
                           n=np.bincount(psu_stratum, minlength=n_strata), f=np.ones(n_strata),
                           ratio=np.zeros(n_strata), parent=np.zeros(n_strata, dtype=np.intp))
        if stage1.n_units == 1 and not (nest and strata_specs):
            # R: "Design has only one primary sampling unit" (no variance can be estimated;
            # a lonely-PSU rule would silently give a standard error of 0)
            raise DesignError("the design has only one primary sampling unit", file=source,
                              column=psu_name, hint="R's svydesign refuses it too")
        stages = [stage1]
        # -- later stages: units nested in the previous stage's units (R's interaction) --
        strata_keys: list[np.ndarray] = []
        for s in range(2, n_stages + 1):
            prev = stages[-1]
            name = psu_specs[s - 1] if isinstance(psu_specs[s - 1], str) else None
            ids, n_ids = _codes(_key(data, psu_specs[s - 1], f"psu (stage {s})", source),
                                sort=False)
            unit, n_unit = pair_codes(prev.cluster, ids, len(n_ids))
            has_strata = len(strata_specs) >= s
            if has_strata:
                sk, skl = _codes(_key(data, strata_specs[s - 1], f"strata (stage {s})", source),
                                 sort=False)
                strata_keys.append(sk)
                if nest:
                    unit, n_unit = pair_codes(unit, sk, len(skl))
                row_h, n_h = pair_codes(prev.cluster, sk, len(skl))
            else:
                row_h, n_h = dense_codes(prev.cluster)
            parent = np.zeros(n_h, dtype=np.intp)
            parent[row_h] = prev.cluster
            unit_h, clash = unit_strata(unit, row_h, n_unit)
            if clash.size:
                raise DesignError(
                    f"stage-{s} units are not nested in the stage-{s} strata: the same unit "
                    "appears in several strata",
                    file=source, column=name,
                    values=[f"row {i + 1}" for i in clash],
                    hint="pass nest=True if unit labels are only unique within strata",
                )
            stages.append(Stage(cluster=unit, cluster_stratum=unit_h,
                                n=np.bincount(unit_h, minlength=n_h), f=np.ones(n_h),
                                ratio=np.zeros(n_h), parent=parent))

        # -- finite population corrections, one per stage --
        popsizes: list[np.ndarray] = []
        if fpc_specs:
            values = []
            for s, (spec_s, stage) in enumerate(zip(fpc_specs, stages, strict=True), start=1):
                fname = spec_s if isinstance(spec_s, str) else None
                raw = _column(data, spec_s, "fpc", source)
                fcol = pd.to_numeric(raw, errors="coerce")
                if fcol.isna().any():
                    raise DesignError("fpc has missing or non-numeric values", file=source,
                                      column=fname, values=raw[fcol.isna()])
                per_h, varying = per_stratum_value(fcol.to_numpy(dtype=float),
                                                   stage.row_stratum(), stage.n_strata)
                if varying.size:
                    where = (list(strata_levels[varying]) if s == 1
                             else [f"stage-{s} stratum {h}" for h in varying])
                    raise DesignError(
                        "fpc must be constant within strata" + (f" (stage {s}: within each "
                                                                "stage-1 unit and stratum)"
                                                                if s > 1 else ""),
                        file=source, column=fname, values=where)
                if (per_h < 0).any():
                    raise DesignError("fpc must not be negative", file=source, column=fname,
                                      values=per_h[per_h < 0])
                values.append((fname, per_h))
            allv = np.concatenate([v for _, v in values])
            counts = bool((allv > 1).any())
            if counts and (allv < 1).any():
                raise DesignError(
                    "fpc mixes population counts (> 1) and sampling fractions (< 1); R requires "
                    "all fpc >= 1 or all <= 1", file=source,
                    values=sorted({float(x) for x in allv[allv < 1]})[:5])
            for s, ((fname, per_h), stage) in enumerate(zip(values, stages, strict=True),
                                                        start=1):
                nh = stage.n.astype(float)
                # a population size of Inf (or a sampling fraction of 0) is R's way of saying
                # "no FPC at this stage": f = 1 there, and later stages weigh n/N = 0
                with np.errstate(divide="ignore"):
                    pop = per_h if counts else nh / per_h
                short = pop < nh - 1e-9
                if short.any():
                    where = (list(strata_levels[short]) if s == 1
                             else [f"stage-{s} stratum {h}" for h in np.flatnonzero(short)])
                    raise DesignError("fpc is smaller than the number of sampled PSUs"
                                      + (f" (stage {s})" if s > 1 else ""), file=source,
                                      column=fname, values=where)
                popsizes.append(pop)
                infinite = np.isinf(pop)
                finite_pop = np.where(infinite, 1.0, pop)
                stages[s - 1] = replace(stage, f=np.where(infinite, 1.0, (pop - nh) / finite_pop),
                                        ratio=np.where(infinite, 0.0, nh / finite_pop))
                if infinite.any() and weights is None and probs is None:
                    raise DesignError(
                        "weights cannot be computed from an fpc with an infinite population "
                        "(a sampling fraction of 0); give weights= or probs= (R: \"Weights not "
                        "supplied and can't be computed from fpc\")", file=source, column=fname)
        later = bool(fpc_specs) and n_stages > 1 and not ultimate_cluster

        # -- weights: given, from probabilities, or from the FPC (R's svydesign) --
        if weights is not None:
            wcol = _column(data, weights, "weights", source)
            w = validate_weights(wcol, column=weights if isinstance(weights, str) else None,
                                 source=source)
        elif probs is not None:
            prob = np.ones(n)
            for spec_p in _stage_specs(probs):
                pname = spec_p if isinstance(spec_p, str) else None
                pv = validate_weights(_column(data, spec_p, "probs", source), column=pname,
                                      source=source)
                bad = (pv <= 0) | (pv > 1)
                if bad.any():
                    raise DesignError("selection probabilities must be in (0, 1]", file=source,
                                      column=pname, values=pv[bad])
                prob = prob * pv
            w = 1.0 / prob
        elif popsizes:
            w = np.ones(n)
            for pop, stage in zip(popsizes, stages, strict=True):
                h = stage.row_stratum()
                w = w * (pop / stage.n)[h]
        else:
            w = np.ones(n)

        # -- lonely units: R fails on them (at any stage it reaches) unless taken whole --
        for s, stage in enumerate(stages if later else stages[:1], start=1):
            lonely = np.flatnonzero((stage.n == 1) & (stage.f >= CERTAINTY_TOL))
            if lonely.size and lonely_psu == "fail":
                if s == 1:
                    raise DesignError(
                        f"{lonely.size} stratum/strata have a single PSU, so their variance is "
                        "not estimable",
                        file=source, column=strata_name, values=list(strata_levels[lonely]),
                        hint='choose lonely_psu="remove", "adjust", "average" or "certainty"',
                    )
                first_row = np.zeros(stage.n_strata, dtype=np.intp)
                first_row[stage.row_stratum()[::-1]] = np.arange(n)[::-1]
                raise DesignError(
                    f"{lonely.size} stage-{s} stratum/strata have a single sampled unit, so "
                    "their variance is not estimable (R: 'has only one PSU at stage "
                    f"{s}')", file=source,
                    column=psu_specs[s - 1] if isinstance(psu_specs[s - 1], str) else None,
                    values=[f"row {i + 1}" for i in first_row[lonely]],
                    hint='choose lonely_psu="remove", "adjust", "average" or "certainty", or '
                         "ultimate_cluster=True",
                )

        first = stages[0]
        _Base.__init__(self, data=data, base_weights=w, domain=np.ones(n, dtype=bool),
                       source=source)
        object.__setattr__(self, "strata_codes", strata_codes)
        object.__setattr__(self, "psu_codes", first.cluster)
        object.__setattr__(self, "psu_stratum", first.cluster_stratum)
        object.__setattr__(self, "n_psu_h", first.n)
        object.__setattr__(self, "fpc_f", first.f)
        object.__setattr__(self, "stages", tuple(stages))
        object.__setattr__(self, "lonely_psu", lonely_psu)
        object.__setattr__(self, "ultimate_cluster", bool(ultimate_cluster))
        object.__setattr__(self, "adjust_domain_lonely", bool(adjust_domain_lonely))
        object.__setattr__(self, "calibrations", ())
        object.__setattr__(self, "spec", {
            "weights": weights if isinstance(weights, str) else None,
            "strata": strata if isinstance(strata, (str, list, tuple)) else None,
            "psu": psu if isinstance(psu, (str, list, tuple)) else None,
            "fpc": fpc if isinstance(fpc, (str, list, tuple)) else None,
            "has_fpc": bool(fpc_specs),  # also when given as arrays (spec["fpc"] is None then)
            "probs": probs if isinstance(probs, (str, list, tuple)) else None,
            "nest": nest,
            "strata_levels": strata_levels,
            "weights_from": ("weights" if weights is not None else "probs" if probs is not None
                             else "fpc" if popsizes else "equal"),
        })

    # -- derived views ---------------------------------------------------------------------------
    @property
    def n_strata(self) -> int:
        return len(self.n_psu_h)

    @property
    def n_psu(self) -> int:
        return len(self.psu_stratum)

    @property
    def n_stages(self) -> int:
        return len(self.stages)

    @property
    def df(self) -> int:
        """Design degrees of freedom in the current domain: #PSUs - #strata (R's ``degf``;
        computed by :func:`surveykit.variance.linearisation.linearised_df`)."""
        return linearised_df(self)

    def with_weights(self, weights: Any, calibration: Residualizer | None = None) -> SurveyDesign:
        """Same design with new base weights (e.g. after raking); domain is kept.

        ``calibration`` (from the weighting functions) makes variances reflect the calibration.
        """
        w = validate_weights(weights, source=self.source)
        if w.shape != self.base_weights.shape:
            raise DesignError(f"new weights have length {len(w)}, design has {self.n_total} rows")
        cal = self.calibrations + ((calibration,) if calibration is not None else ())
        return self._evolve(base_weights=w, calibrations=cal)

    def replicate(
        self,
        method: str = "jk1",
        replicates: int | None = None,
        seed: int | None = None,
        **kwargs: Any,
    ) -> ReplicateDesign:
        """Convert to a replicate-weight design ("jk1", "jkn", "bootstrap", "brr"); see
        :func:`surveykit.replicates.make_replicate_design`. Replicates are built from the
        first-stage PSUs and strata, as R's ``as.svrepdesign``."""
        from surveykit.replicates import make_replicate_design

        return make_replicate_design(self, method=method, replicates=replicates, seed=seed,
                                     **kwargs)

    # -- variance: thin delegates to surveykit.variance (kept for compatibility) -------------
    @property
    def psu_aggregable(self) -> bool:
        """True when the variance depends on influence scores only through their PSU totals
        (no calibration; one stage or the ultimate-cluster approximation): see
        :func:`surveykit.variance.linearisation.psu_aggregable`."""
        return psu_aggregable(self)

    @property
    def _later_stages(self) -> bool:
        """The variance adds later-stage terms (several stages, an FPC, no ultimate cluster)."""
        return later_stages(self)

    def psu_totals(self, scores: np.ndarray) -> np.ndarray:
        """n_psu x p sums of the n x p ``scores`` within each PSU."""
        x = np.asarray(scores, dtype=float)
        if x.ndim == 1:
            x = x[:, None]
        z = np.empty((self.n_psu, x.shape[1]))
        for j in range(x.shape[1]):
            z[:, j] = np.bincount(self.psu_codes, weights=x[:, j], minlength=self.n_psu)
        return z

    def vcov(self, scores: np.ndarray) -> np.ndarray:
        """Linearisation covariance of totals with weighted influence scores ``scores`` (n x p,
        already multiplied by the weight, zero outside the domain): delegates to
        :func:`surveykit.variance.linearisation.linearised_vcov` (R's ``svyrecvar``). New code
        calls :func:`surveykit.variance.estimate`."""
        return linearised_vcov(self, scores)

    def vcov_psu_totals(self, z: np.ndarray, present_psu: np.ndarray | None = None
                        ) -> np.ndarray:
        """:meth:`vcov` from scores already summed within PSUs (n_psu x p): delegates to
        :func:`surveykit.variance.linearisation.psu_totals_vcov`."""
        return psu_totals_vcov(self, z, present_psu)

    def df_psu(self, present_psu: np.ndarray) -> int:
        """R's ``degf`` of the domain whose rows lie in the PSUs marked ``present_psu``
        (:func:`surveykit.variance.linearisation.df_psu`)."""
        return df_psu(self, present_psu)

    def describe(self) -> str:
        """One-paragraph description, like R's ``print(design)``."""
        from surveykit.display import count

        kind = "Stratified" if self.n_strata > 1 else "Unstratified"
        clus = ("independent sampling" if self.n_psu == self.n_total
                else count(self.n_psu, "PSU"))
        if self.n_stages > 1:
            clus += f", {self.n_stages} stages"
            if self.ultimate_cluster:
                clus += " (ultimate-cluster variance)"
        fpc = ", with FPC" if self.spec.get("has_fpc") else ""
        eq = ("; equal probability (no weights, probs or fpc given)"
              if self.spec.get("weights_from") == "equal" else "")
        return (f"{kind} design ({count(self.n_strata, 'stratum', 'strata')}, {clus}{fpc}); "
                f"n = {self.n:,} of {count(self.n_total, 'row')} in the domain; lonely PSU policy "
                f"'{self.lonely_psu}'"
                f"{eq}.")


REPLICATE_TYPES = ("JK1", "JKn", "bootstrap", "BRR", "Fay", "other")


@dataclass(frozen=True, eq=False, repr=False)
class ReplicateDesign(_Base):
    """A replicate-weight design, like R's ``svrepdesign(combined.weights=TRUE)``.

    Variance of an estimate = ``scale * sum_r rscales_r (theta_r - centre)^2`` where ``centre``
    is the mean of the replicate estimates (R's default) or the full-sample estimate
    (``mse=True``).

    Parameters
    ----------
    data
        respondent-level DataFrame (or the RawFile of ``surveykit.read``: its ``.data``).
    weights
        column name or array of full-sample weights.
    repweights
        list of column names, or an n x R array, of replicate weights that already
        include the sampling weights (combined weights).
    type
        "JK1", "JKn", "bootstrap", "BRR", "Fay" or "other" (for the defaults of scale).
    scale, rscales
        multipliers; defaults as R's ``svrepdesign``: JK1 (R-1)/R, bootstrap
        1/(R-1), other 1. Bootstrap weights exported from R's ``as.svrepdesign(type=
        "bootstrap")`` (or surveykit's ``design.replicate("bootstrap")``) were built with
        scale ``m/((m-1)(R-1))`` (R's ``bootweights``; m the harmonic mean of the PSUs per
        stratum), not 1/(R-1): pass R's ``design$scale`` as ``scale=`` (apiclus1, 15 PSUs,
        50 replicates: 0.0218659, not 1/49), or SEs are too small by sqrt((m-1)/m);
        BRR 1/R and Fay 1/(R (1-rho)^2) are fixed (another scale is an error; R ignores it);
        rscales default 1 (one value is used for every replicate), required for JKn (as R).
    rho
        Fay's coefficient, for type "Fay".
    mse
        centre on the full-sample estimate instead of the replicate mean.
    degf : int, optional
        Design degrees of freedom (R's ``degf``; default as R's ``svrepdesign``).
    source : str, optional
        A file name used in error messages.

    Examples
    --------
    >>> import numpy as np
    >>> df = sk.load_replica()
    >>> groups = np.arange(len(df)) % 4
    >>> rw = np.column_stack([df["weight"] * (groups != k) * 4 / 3 for k in range(4)])
    >>> rep = sk.ReplicateDesign(df, weights="weight", repweights=rw, type="JK1")
    >>> round(float(sk.mean(rep, "age")["estimate"].iloc[0]), 2)
    32.64
    """

    repweights: np.ndarray = field(default=None, repr=False)  # type: ignore[assignment]
    type: str = "other"
    scale: float = 1.0
    rscales: np.ndarray = field(default=None, repr=False)  # type: ignore[assignment]
    mse: bool = False
    rho: float | None = None
    degf: int | None = None

    def __init__(
        self,
        data: pd.DataFrame,
        weights: Any,
        repweights: Sequence[str] | np.ndarray,
        type: str = "other",
        scale: float | None = None,
        rscales: Sequence[float] | np.ndarray | None = None,
        rho: float | None = None,
        mse: bool = False,
        degf: int | None = None,
        source: str | None = None,
    ) -> None:
        data, source = _as_frame(data, source)
        n = len(data)
        if type not in REPLICATE_TYPES:
            raise DesignError(f"unknown replicate type {type!r}",
                              hint=f"use one of {', '.join(REPLICATE_TYPES)}")
        wcol = _column(data, weights, "weights", source)
        w = validate_weights(wcol, column=weights if isinstance(weights, str) else None,
                             source=source)
        if isinstance(repweights, (list, tuple)) and not len(repweights):
            raise DesignError("no replicate weight columns given", file=source)
        if isinstance(repweights, pd.DataFrame):  # columns checked by name, rows by label
            frame = align_to(data, repweights, "repweights", source)
            if frame.shape[1] == 0:
                raise DesignError("no replicate weight columns given", file=source)
            rep = np.column_stack([validate_weights(frame[c], column=str(c), source=source)
                                   for c in frame.columns])
        elif isinstance(repweights, (list, tuple)) and all(isinstance(c, str)
                                                           for c in repweights):
            missing = [c for c in repweights if c not in data.columns]
            if missing:
                raise DesignError("replicate weight columns not found", file=source,
                                  values=missing)
            rep = np.column_stack([
                validate_weights(data[c], column=c, source=source) for c in repweights
            ])
        else:
            try:
                rep = np.asarray(repweights, dtype=float)
            except (TypeError, ValueError) as exc:
                raise DesignError(f"replicate weights must be numeric ({exc})",
                                  file=source) from exc
            if rep.ndim != 2 or rep.shape[0] != n:
                raise DesignError(f"replicate weights must be an n x R array with n = {n}, got "
                                  f"shape {rep.shape}")
            bad = ~np.isfinite(rep) | (rep < 0)
            if bad.any():
                raise DesignError("replicate weights must be finite and non-negative",
                                  file=source, values=rep[bad])
        n_rep = rep.shape[1]
        if n_rep < 2:
            raise DesignError("a replicate design needs at least 2 replicates", file=source)
        if type == "Fay" and (rho is None or not 0 <= rho < 1):
            raise DesignError("type='Fay' needs rho in [0, 1)", file=source, values=[rho])
        if type == "JKn" and rscales is None:
            # R: "Must provide rscales for combined JKn weights"; 1 would overstate each
            # stratum's variance by n_h / (n_h - 1)
            raise DesignError("type='JKn' needs rscales (one (n_h - 1) / n_h per replicate, "
                              "n_h the PSUs of the replicate's stratum)", file=source)
        if type in ("BRR", "Fay"):
            # R's svrepdesign fixes the scale of BRR and Fay and ignores scale=; a different
            # one given here would silently disagree with R, so it is refused
            fixed = 1.0 / (n_rep * (1.0 - (rho if type == "Fay" else 0.0)) ** 2)
            if scale is not None and not np.isclose(scale, fixed, rtol=1e-9, atol=0):
                raise DesignError(
                    f"type={type!r} fixes scale at 1/(R (1 - rho)^2) = {fixed:.6g} (R ignores "
                    "scale= for BRR and Fay)", file=source, values=[scale],
                    hint="use type='other' with scale= for another multiplier")
            scale = fixed
        if scale is None:
            if type == "JK1":
                scale = (n_rep - 1) / n_rep
            elif type == "bootstrap":
                scale = 1.0 / (n_rep - 1)
            else:
                scale = 1.0
        if not np.isfinite(scale) or scale <= 0:
            raise DesignError("scale must be a positive number", file=source, values=[scale])
        rs = np.ones(n_rep) if rscales is None else np.asarray(rscales, dtype=float)
        if rs.size == 1:  # one multiplier for every replicate, as R recycles it
            rs = np.full(n_rep, float(rs.reshape(-1)[0]))
        if rs.shape != (n_rep,):
            raise DesignError(f"rscales must have 1 or {n_rep} values, got {rs.size}",
                              file=source)
        if not np.isfinite(rs).all() or (rs < 0).any():
            raise DesignError("rscales must be finite and non-negative", file=source,
                              values=rs[~np.isfinite(rs) | (rs < 0)])
        if degf is not None:
            try:
                whole = float(degf).is_integer() and float(degf) >= 1
            except (TypeError, ValueError):  # e.g. a string: the same one-line error
                whole = False
            if not whole:
                raise DesignError(f"degf must be a positive whole number, got {degf!r}",
                                  file=source)
            degf = int(float(degf))
            if degf > n_rep:  # as R's svrepdesign: more df than replicates is a mistake
                warnings.warn(f"degf ({degf}) is larger than the number of replicates "
                              f"({n_rep})", UserWarning, stacklevel=2)
        _Base.__init__(self, data=data, base_weights=w, domain=np.ones(n, dtype=bool),
                       source=source)
        object.__setattr__(self, "repweights", rep)
        object.__setattr__(self, "type", type)
        object.__setattr__(self, "scale", float(scale))
        object.__setattr__(self, "rscales", rs)
        object.__setattr__(self, "mse", bool(mse))
        object.__setattr__(self, "rho", rho)
        object.__setattr__(self, "degf", degf)

    @property
    def n_replicates(self) -> int:
        return int(self.repweights.shape[1])

    @property
    def replicate_weights(self) -> np.ndarray:
        """n x R replicate weights, zero outside the current domain."""
        return self.repweights * self.domain[:, None]

    @property
    def df(self) -> int:
        """Degrees of freedom in the current domain: rank of the replicate weights on the domain's
        rows minus 1 (R's ``degf``, ``qr(weights, tol=1e-5)$rank - 1``)."""
        return replicate_df(self, self.domain)

    def with_weights(
        self, weights: Any, calibration: Residualizer | None = None,
        replicate_weights: np.ndarray | None = None,
    ) -> ReplicateDesign:
        """Same design with new full-sample AND replicate weights (n x R), e.g. after
        ``surveykit.weighting`` re-weighted every replicate column to the same targets (as R's
        ``calibrate``/``postStratify``/``rake`` on an ``svyrep.design``). Domain is kept;
        ``calibration`` is ignored (the replicates carry the weighting's variance)."""
        if replicate_weights is None:
            raise DesignError(
                "re-weighting a replicate design needs every replicate column re-weighted too",
                hint="use surveykit.weighting (rake, poststratify, calibrate, trim), which "
                     "re-weights the replicates")
        w = validate_weights(weights, source=self.source)
        rep = np.asarray(replicate_weights, dtype=float)
        if w.shape != self.base_weights.shape or rep.shape != self.repweights.shape:
            raise DesignError(f"new weights have shapes {w.shape} and {rep.shape}, the design "
                              f"has {self.base_weights.shape} and {self.repweights.shape}")
        bad = ~np.isfinite(rep)
        if bad.any():  # negative ones can come from linear (GREG) calibration, as in R
            raise DesignError("replicate weights must be finite", file=self.source,
                              values=rep[bad])
        return self._evolve(base_weights=w, repweights=rep)

    def replicate_vcov(self, theta: np.ndarray, theta_reps: np.ndarray) -> np.ndarray:
        """Covariance from full-sample estimates ``theta`` (p,) and replicates (R, p), as R's
        ``svrVar`` (non-finite replicates discarded with a warning): delegates to
        :func:`surveykit.variance.replication.svr_var`. New code calls
        :func:`surveykit.variance.estimate`."""
        return svr_var(self, theta, theta_reps)

    def describe(self) -> str:
        from surveykit.display import count

        return (f"Replicate-weight design ({self.type}, {count(self.n_replicates, 'replicate')}, "
                f"scale {self.scale:.6g}); n = {self.n:,} of {count(self.n_total, 'row')} in the "
                "domain.")


Design = SurveyDesign | ReplicateDesign
