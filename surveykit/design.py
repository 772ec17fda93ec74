"""Survey designs: the one object every estimator and model takes.

:class:`SurveyDesign` is a Taylor-linearisation design (weights, strata, PSUs, FPC), modelled on
R's ``svydesign(ids=, strata=, weights=, fpc=, nest=)``. :class:`ReplicateDesign` carries replicate
weights, like R's ``svrepdesign``. Both are immutable; ``subset`` keeps the full design and zeroes
the weights outside the domain, exactly as R does, so domain standard errors are right.

Estimators talk to a design through two methods:

- ``design.weights`` — analysis weights (zero outside the current domain);
- ``design.vcov(scores)`` (linearisation) or ``design.replicate_vcov(theta, theta_reps)``.

The linearisation variance follows the formula of R's ``svyrecvar`` for the first stage
(ultimate-cluster approximation): PSU totals of the weighted influence scores are centred within
strata and summed as ``sum_h f_h n_h/(n_h-1) sum_i (z_hi - zbar_h)(z_hi - zbar_h)'``, with
``f_h = 1 - n_h/N_h`` when an FPC is given.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import numpy as np
import pandas as pd

from surveykit.errors import DesignError

LonelyPSU = Literal["fail", "remove", "adjust", "average", "certainty"]
LONELY_PSU_POLICIES: tuple[str, ...] = ("fail", "remove", "adjust", "average", "certainty")


class Residualizer(Protocol):
    """Calibration information kept on a design so variances account for the calibration.

    ``residualize(scores)`` maps weighted influence scores (n x p) to the residual scores that
    R's ``svyrecvar`` uses after ``postStratify``, ``rake`` or ``calibrate``.
    """

    def residualize(self, scores: np.ndarray) -> np.ndarray: ...


def _as_frame(data: Any) -> pd.DataFrame:
    if not isinstance(data, pd.DataFrame):
        raise DesignError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    return data


def _column(data: pd.DataFrame, spec: Any, role: str, source: str | None) -> pd.Series:
    """Resolve a column name (or an array-like of length n) for a design role."""
    if isinstance(spec, str):
        if spec not in data.columns:
            raise DesignError(
                f"{role} column not found in the data", file=source, column=spec,
                hint=f"available columns: {', '.join(map(str, data.columns[:20]))}",
            )
        return data[spec]
    values = np.asarray(spec)
    if values.ndim != 1 or len(values) != len(data):
        raise DesignError(f"{role} has shape {values.shape}, data has {len(data)} rows",
                          file=source)
    return pd.Series(values, index=data.index)


def _combine(data: pd.DataFrame, spec: Any, role: str, source: str | None) -> pd.Series:
    """A single key series for one column, an array, or the interaction of several columns."""
    if isinstance(spec, (list, tuple)) and all(isinstance(s, str) for s in spec):
        cols = [_column(data, s, role, source) for s in spec]
        for s, col in zip(spec, cols, strict=True):
            _no_missing(col, role, s, source)
        return pd.Series(
            pd.MultiIndex.from_arrays(cols).to_flat_index(), index=data.index, dtype=object
        )
    col = _column(data, spec, role, source)
    _no_missing(col, role, spec if isinstance(spec, str) else None, source)
    return col


def _no_missing(col: pd.Series, role: str, name: str | None, source: str | None) -> None:
    miss = col.isna().to_numpy()
    if miss.any():
        rows = np.flatnonzero(miss)
        raise DesignError(
            f"{role} has {miss.sum()} missing value(s); every respondent needs a {role}",
            file=source, column=name, values=[f"row {i}" for i in rows],
        )


def _codes(key: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes 0..k-1 in sorted order of the levels, plus the levels."""
    codes, levels = pd.factorize(key, sort=True)
    return codes.astype(np.intp), np.asarray(levels, dtype=object)


def validate_weights(w: Any, *, column: str | None = None, source: str | None = None) -> np.ndarray:
    """Return weights as float64, raising DesignError on non-numeric, NaN, negative or zero-sum."""
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
            values=[f"row {i}" for i in np.flatnonzero(nan)],
        )
    inf = ~np.isfinite(arr)
    if inf.any():
        raise DesignError("weights must be finite", file=source, column=column, values=arr[inf])
    neg = arr < 0
    if neg.any():
        raise DesignError("weights must be non-negative", file=source, column=column,
                          values=arr[neg])
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
        return self._evolve(data=pd.concat([self.data, extra], axis=1))

    def _domain_mask(self, mask: Any) -> np.ndarray:
        if isinstance(mask, str):
            try:
                mask = self.data.eval(mask)
            except Exception as exc:  # pandas raises many types for a bad expression
                raise DesignError(f"cannot evaluate the subset expression {mask!r}: "
                                  f"{' '.join(str(exc).split())}", file=self.source) from exc
        m = np.asarray(mask)
        if m.shape != (len(self.data),):
            raise DesignError(f"subset mask has shape {m.shape}, expected ({len(self.data)},)")
        if m.dtype != bool:
            ser = pd.Series(m)
            if ser.isna().any():
                raise DesignError(
                    "subset mask has missing values; decide explicitly how to treat them",
                    values=[f"row {i}" for i in np.flatnonzero(ser.isna().to_numpy())],
                )
            m = m.astype(bool)
        return m

    def subset(self, mask: Any) -> _Base:
        """A domain: the full design with weights zeroed outside ``mask`` (R's ``subset``).

        ``mask`` is a boolean array/Series of length n or a ``DataFrame.eval`` expression.
        """
        return self._evolve(domain=self.domain & self._domain_mask(mask))

    def column(self, name: str) -> pd.Series:
        """A data column by name, with a DesignError naming it when it is absent."""
        if name not in self.data.columns:
            raise DesignError("variable not found in the design's data", file=self.source,
                              column=name)
        return self.data[name]


@dataclass(frozen=True, eq=False)
class SurveyDesign(_Base):
    """A linearisation (Taylor series) survey design, like R's ``svydesign``.

    Parameters
    ----------
    data: respondent-level DataFrame.
    weights: column name or array of sampling weights; default 1 for every row.
    strata: column name(s) of the strata; default a single stratum.
    psu: column name of the primary sampling units; default each row is its own PSU.
    fpc: column with the population number of PSUs in the stratum (> 1) or the sampling
        fraction (<= 1); constant within strata. Default: no finite population correction.
    nest: PSU labels are only unique within strata (relabel them), as R's ``nest=TRUE``.
    lonely_psu: what to do with strata holding a single PSU, as R's ``survey.lonely.psu``:
        "fail" (error, the default), "remove", "certainty", "adjust" (centre on the grand mean),
        "average" (scale up the other strata's contribution).
    source: a file name used in error messages.
    """

    strata_codes: np.ndarray = field(default=None, repr=False)  # type: ignore[assignment]
    psu_codes: np.ndarray = field(default=None, repr=False)  # type: ignore[assignment]
    psu_stratum: np.ndarray = field(default=None, repr=False)  # type: ignore[assignment]
    n_psu_h: np.ndarray = field(default=None, repr=False)  # type: ignore[assignment]
    fpc_f: np.ndarray = field(default=None, repr=False)  # type: ignore[assignment]
    lonely_psu: str = "fail"
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
    ) -> None:
        data = _as_frame(data)
        n = len(data)
        if n == 0:
            raise DesignError("cannot build a design on zero rows", file=source)
        if lonely_psu not in LONELY_PSU_POLICIES:
            raise DesignError(
                f"unknown lonely_psu policy {lonely_psu!r}",
                hint=f"use one of {', '.join(LONELY_PSU_POLICIES)}",
            )
        if weights is None:
            w = np.ones(n)
        else:
            wcol = _column(data, weights, "weights", source)
            w = validate_weights(wcol, column=weights if isinstance(weights, str) else None,
                                 source=source)

        if strata is None:
            strata_codes = np.zeros(n, dtype=np.intp)
            strata_levels = np.array(["(all)"], dtype=object)
        else:
            strata_codes, strata_levels = _codes(_combine(data, strata, "strata", source))

        if psu is None:
            psu_key = pd.Series(np.arange(n), index=data.index)
        else:
            psu_key = _combine(data, psu, "psu", source)
        if nest:
            psu_key = pd.Series(
                pd.MultiIndex.from_arrays([strata_codes, psu_key.to_numpy()]).to_flat_index(),
                index=data.index, dtype=object,
            )
        psu_codes, psu_levels = _codes(psu_key)
        n_psu = len(psu_levels)
        # Each PSU must sit in exactly one stratum (R: "Clusters not nested in strata").
        pairs = pd.DataFrame({"psu": psu_codes, "stratum": strata_codes}).drop_duplicates()
        dup = pairs["psu"].duplicated(keep=False)
        if dup.any():
            offenders = psu_levels[pairs.loc[dup, "psu"].unique()]
            raise DesignError(
                "PSUs are not nested in strata: the same PSU label appears in several strata",
                file=source, column=psu if isinstance(psu, str) else None, values=list(offenders),
                hint="pass nest=True if PSU labels are only unique within strata",
            )
        psu_stratum = np.zeros(n_psu, dtype=np.intp)
        psu_stratum[psu_codes] = strata_codes
        n_psu_h = np.bincount(psu_stratum, minlength=len(strata_levels))

        lonely = np.flatnonzero(n_psu_h == 1)
        if lonely.size and lonely_psu == "fail":
            raise DesignError(
                f"{lonely.size} stratum/strata have a single PSU, so their variance is not "
                "estimable",
                file=source, column=strata if isinstance(strata, str) else None,
                values=list(strata_levels[lonely]),
                hint='choose lonely_psu="remove", "adjust", "average" or "certainty"',
            )

        fpc_f = np.ones(len(strata_levels))
        if fpc is not None:
            fcol = pd.to_numeric(_column(data, fpc, "fpc", source), errors="coerce")
            fname = fpc if isinstance(fpc, str) else None
            if fcol.isna().any():
                raise DesignError("fpc has missing or non-numeric values", file=source,
                                  column=fname,
                                  values=_column(data, fpc, "fpc", source)[fcol.isna()])
            fv = fcol.to_numpy(dtype=float)
            per_h = pd.Series(fv).groupby(strata_codes).agg(["min", "max"])
            varying = per_h.index[per_h["min"] != per_h["max"]]
            if len(varying):
                raise DesignError("fpc must be constant within strata", file=source, column=fname,
                                  values=list(strata_levels[varying]))
            val = per_h["min"].to_numpy()
            if not np.isfinite(val).all():
                raise DesignError("fpc must be finite", file=source, column=fname,
                                  values=val[~np.isfinite(val)])
            if (val <= 0).any():
                raise DesignError("fpc must be positive", file=source, column=fname,
                                  values=val[val <= 0])
            # <= 1: sampling fraction; > 1: population count of PSUs (R's convention).
            pop = np.where(val <= 1, n_psu_h / np.where(val <= 1, val, 1.0), val)
            short = pop < n_psu_h - 1e-9
            if short.any():
                raise DesignError("fpc is smaller than the number of sampled PSUs", file=source,
                                  column=fname, values=list(strata_levels[short]))
            fpc_f = np.where(np.isinf(pop), 1.0, (pop - n_psu_h) / pop)

        _Base.__init__(self, data=data, base_weights=w, domain=np.ones(n, dtype=bool),
                       source=source)
        object.__setattr__(self, "strata_codes", strata_codes)
        object.__setattr__(self, "psu_codes", psu_codes)
        object.__setattr__(self, "psu_stratum", psu_stratum)
        object.__setattr__(self, "n_psu_h", n_psu_h)
        object.__setattr__(self, "fpc_f", fpc_f)
        object.__setattr__(self, "lonely_psu", lonely_psu)
        object.__setattr__(self, "calibrations", ())
        object.__setattr__(self, "spec", {
            "weights": weights if isinstance(weights, str) else None,
            "strata": strata if isinstance(strata, (str, list, tuple)) else None,
            "psu": psu if isinstance(psu, str) else None,
            "fpc": fpc if isinstance(fpc, str) else None,
            "nest": nest,
            "strata_levels": strata_levels,
        })

    # -- derived views ---------------------------------------------------------------------------
    @property
    def n_strata(self) -> int:
        return len(self.n_psu_h)

    @property
    def n_psu(self) -> int:
        return len(self.psu_stratum)

    @property
    def df(self) -> int:
        """Design degrees of freedom in the current domain: #PSUs - #strata (R's ``degf``)."""
        inset = self.weights != 0
        return int(len(np.unique(self.psu_codes[inset])) - len(np.unique(self.strata_codes[inset])))

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
        :func:`surveykit.replicates.make_replicate_design`."""
        from surveykit.replicates import make_replicate_design

        return make_replicate_design(self, method=method, replicates=replicates, seed=seed,
                                     **kwargs)

    # -- variance --------------------------------------------------------------------------------
    def vcov(self, scores: np.ndarray) -> np.ndarray:
        """Linearisation covariance of a vector of totals with the given influence scores.

        ``scores`` is n x p: each respondent's weighted contribution to the estimating
        equations (already multiplied by the weight; zero outside the domain).
        """
        x = np.asarray(scores, dtype=float)
        if x.ndim == 1:
            x = x[:, None]
        if x.shape[0] != self.n_total:
            raise DesignError(f"scores have {x.shape[0]} rows, design has {self.n_total}")
        for cal in self.calibrations:
            x = cal.residualize(x)
        p = x.shape[1]
        n_psu = self.n_psu
        z = np.empty((n_psu, p))
        for j in range(p):
            z[:, j] = np.bincount(self.psu_codes, weights=x[:, j], minlength=n_psu)
        h = self.psu_stratum
        nh = self.n_psu_h.astype(float)
        n_strata = len(nh)
        sums = np.empty((n_strata, p))
        for j in range(p):
            sums[:, j] = np.bincount(h, weights=z[:, j], minlength=n_strata)
        centre = sums / np.maximum(nh, 1)[:, None]
        lonely = nh == 1
        # strata with rows in the current domain: R drops the other rows before svyrecvar,
        # except for calibrated designs, whose subsets keep every row (with zero weight), so
        # there every stratum stays (the residualised scores are non-zero outside the domain)
        if self.calibrations:
            present = np.ones(n_strata, dtype=bool)
        else:
            present = np.zeros(n_strata, dtype=bool)
            present[self.strata_codes[self.weights != 0]] = True
        if lonely.any() and self.lonely_psu == "adjust":
            centre[lonely] = z.sum(axis=0) / max(nh[present].sum(), 1)
        zc = z - centre[h]
        scale = np.where(nh > 1, self.fpc_f * nh / np.maximum(nh - 1, 1), self.fpc_f)
        scale = np.where(self.fpc_f < 1e-7, 0.0, scale)
        scale = np.where(present, scale, 0.0)
        n_strata = int(present.sum())
        lonely = lonely & present
        n_ok = n_strata
        if lonely.any():
            if self.lonely_psu == "fail":  # also caught at construction time
                raise DesignError("strata with a single PSU under lonely_psu='fail'")
            if self.lonely_psu == "average":
                scale = np.where(lonely, 0.0, scale)
                n_ok = int((present & ~lonely).sum())
                if n_ok == 0:
                    raise DesignError("every stratum has a single PSU; 'average' is undefined")
            elif self.lonely_psu in ("remove", "certainty"):
                scale = np.where(lonely, 0.0, scale)
        zs = zc * np.sqrt(scale[h])[:, None]
        return (zs.T @ zs) * (n_strata / n_ok)

    def describe(self) -> str:
        """One-paragraph description, like R's ``print(design)``."""
        kind = "Stratified" if self.n_strata > 1 else "Unstratified"
        clus = "independent sampling" if self.n_psu == self.n_total else f"{self.n_psu} PSUs"
        fpc = ", with FPC" if np.any(self.fpc_f < 1) else ""
        return (f"{kind} design ({self.n_strata} strata, {clus}{fpc}); n = {self.n} "
                f"of {self.n_total} rows in the domain; lonely PSU policy '{self.lonely_psu}'.")


REPLICATE_TYPES = ("JK1", "JKn", "bootstrap", "BRR", "Fay", "other")


@dataclass(frozen=True, eq=False)
class ReplicateDesign(_Base):
    """A replicate-weight design, like R's ``svrepdesign(combined.weights=TRUE)``.

    Variance of an estimate = ``scale * sum_r rscales_r (theta_r - centre)^2`` where ``centre``
    is the mean of the replicate estimates (R's default) or the full-sample estimate
    (``mse=True``).

    Parameters
    ----------
    data: respondent-level DataFrame.
    weights: column name or array of full-sample weights.
    repweights: list of column names, or an n x R array, of replicate weights that already
        include the sampling weights (combined weights).
    type: "JK1", "JKn", "bootstrap", "BRR", "Fay" or "other" (for the defaults of scale).
    scale, rscales: multipliers; defaults as R: JK1 (R-1)/R, bootstrap 1/(R-1), BRR 1/R,
        Fay 1/(R (1-rho)^2); rscales default 1.
    rho: Fay's coefficient, for type "Fay".
    mse: centre on the full-sample estimate instead of the replicate mean.
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
        data = _as_frame(data)
        n = len(data)
        if type not in REPLICATE_TYPES:
            raise DesignError(f"unknown replicate type {type!r}",
                              hint=f"use one of {', '.join(REPLICATE_TYPES)}")
        wcol = _column(data, weights, "weights", source)
        w = validate_weights(wcol, column=weights if isinstance(weights, str) else None,
                             source=source)
        if isinstance(repweights, (list, tuple)) and all(isinstance(c, str) for c in repweights):
            missing = [c for c in repweights if c not in data.columns]
            if missing:
                raise DesignError("replicate weight columns not found", file=source,
                                  values=missing)
            rep = np.column_stack([
                validate_weights(data[c], column=c, source=source) for c in repweights
            ])
        else:
            rep = np.asarray(repweights, dtype=float)
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
        if scale is None:
            if type == "JK1":
                scale = (n_rep - 1) / n_rep
            elif type == "bootstrap":
                scale = 1.0 / (n_rep - 1)
            elif type == "BRR":
                scale = 1.0 / n_rep
            elif type == "Fay":
                if rho is None:
                    raise DesignError("type='Fay' needs rho")
                scale = 1.0 / (n_rep * (1.0 - rho) ** 2)
            else:
                scale = 1.0
        rs = np.ones(n_rep) if rscales is None else np.asarray(rscales, dtype=float)
        if rs.shape != (n_rep,):
            raise DesignError(f"rscales must have length {n_rep}, got {rs.shape}")
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
        from surveykit.estimation._core import replicate_df

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
        """Covariance from full-sample estimates ``theta`` (p,) and replicates (R, p).

        As R's ``svrVar``: replicates with a non-finite estimate (e.g. a replicate leaving a
        domain empty) are discarded with a warning, and the centre is the mean of the
        replicates that carry weight (``rscales > 0``) unless ``mse=True``.
        """
        th = np.atleast_1d(np.asarray(theta, dtype=float))
        reps = np.asarray(theta_reps, dtype=float).reshape(self.n_replicates, -1)
        rscales = self.rscales
        finite = np.isfinite(reps).all(axis=1)
        if not finite.all():
            warnings.warn(f"{int((~finite).sum())} replicates gave non-finite estimates and "
                          "were discarded", RuntimeWarning, stacklevel=2)
            reps, rscales = reps[finite], rscales[finite]
        centre = th if self.mse else reps[rscales > 0].mean(axis=0)
        d = (reps - centre) * np.sqrt(rscales)[:, None]
        return self.scale * (d.T @ d)

    def describe(self) -> str:
        return (f"Replicate-weight design ({self.type}, {self.n_replicates} replicates, "
                f"scale {self.scale:.6g}); n = {self.n} of {self.n_total} rows in the domain.")


Design = SurveyDesign | ReplicateDesign
