"""Designs over multiply imputed data: m completed data sets sharing one sampling design.

R: ``svydesign(ids, strata, weights, data = imputationList(list(d1, ..., dm)))``; Stata:
``mi svyset``. Every estimator and model accepts an :class:`MIDesign` (``surveykit.mi.dispatch``)
and combines its m results by Rubin's rules (``surveykit.mi.rubin``).

The design itself (weights, strata, PSUs, FPCs or replicate weights, domain) is built once from
the first completed data set and shared: design columns must be identical in every imputation
(imputing a design variable is refused). The imputed values live in the data only.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from surveykit.design import ReplicateDesign, SurveyDesign
from surveykit.errors import ImputationError
from surveykit.mi.dispatch import combiner_for
from surveykit.mi.rubin import DF_METHODS

#: functions whose results have no defined Rubin's-rules combination (balance diagnostics,
#: list-experiment fits and design tests): refused on an MIDesign with m > 1
NOT_COMBINED = frozenset({"balance", "list_experiment", "list_design_test"})

#: imputation-number and row-id columns of stacked (long) files: ours, mice, Stata
IMPUTATION_COLUMNS = ("imputation", ".imp", "_mi_m")
ID_COLUMNS = ("row_id", ".id", "_mi_id")


@dataclass(frozen=True, eq=False)
class MIDesign:
    """m completed data sets sharing one survey design (see the module docstring).

    ``method``: how the values were imputed ("PMM" when :func:`surveykit.impute` made them;
    "imputed elsewhere" for data brought in). ``imputed``: per imputation, a boolean frame
    (rows x imputed variables) flagging imputed values, when known. ``df_method``: the
    Rubin's-rules df variant (``surveykit.mi.rubin``).

    Parameters
    ----------
    designs : tuple of SurveyDesign or ReplicateDesign
        One design per completed data set.
    method : str
        How the values were imputed.
    imputed : tuple of pandas.DataFrame, optional
        Per imputation, the flags of the imputed values.
    report : optional
        The imputation report (from :func:`surveykit.impute`).
    df_method : str
        The Rubin's-rules df variant.
    notes : tuple of str
        Notes carried to the results.

    Examples
    --------
    >>> df = sk.load_replica()
    >>> mi = sk.mi_design([df, df], weights="weight")
    >>> type(mi).__name__, len(mi.designs)
    ('MIDesign', 2)
    """

    designs: tuple[Any, ...]
    method: str = "imputed elsewhere"
    imputed: tuple[pd.DataFrame, ...] | None = None
    report: Any = None
    df_method: str = "barnard_rubin"
    notes: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if not self.designs:
            raise ImputationError("an MIDesign needs at least one completed data set")
        if self.df_method not in DF_METHODS:
            raise ImputationError(f"unknown df_method {self.df_method!r}",
                                  values=list(DF_METHODS))

    # -- description --------------------------------------------------------------------------
    @property
    def m(self) -> int:
        """Number of imputations."""
        return len(self.designs)

    @property
    def label(self) -> str:
        """What every output says: ``"m = 20 multiple imputations (PMM)"``."""
        return f"m = {self.m} multiple imputation{'s' if self.m != 1 else ''} ({self.method})"

    @property
    def source(self) -> str | None:
        return self.designs[0].source

    @property
    def is_synthetic(self) -> bool:
        return any(d.is_synthetic for d in self.designs)

    @property
    def is_replicate(self) -> bool:
        return bool(self.designs[0].is_replicate)

    @property
    def n_total(self) -> int:
        return self.designs[0].n_total

    @property
    def n(self) -> int:
        return self.designs[0].n

    @property
    def df(self) -> int:
        """The complete-data design df (the same design in every imputation)."""
        return self.designs[0].df

    def data(self, i: int) -> pd.DataFrame:
        """The i-th completed data set (1-based, as R's ``imputationList``)."""
        if not 1 <= i <= self.m:
            raise ImputationError(f"imputation {i} does not exist (m = {self.m})")
        return self.designs[i - 1].data

    def describe(self) -> str:
        return f"{self.label}; {self.designs[0].describe()}"

    def __repr__(self) -> str:
        return f"<MIDesign {self.describe()}>"

    # -- derived designs ------------------------------------------------------------------------
    def _evolve(self, designs: Sequence[Any]) -> MIDesign:
        return MIDesign(tuple(designs), self.method, self.imputed, self.report, self.df_method,
                        self.notes)

    def subset(self, mask: Any) -> MIDesign:
        """A domain in every imputation. An expression is evaluated on each completed data
        set, so a domain defined by an imputed variable differs between imputations, as in
        R's ``subset(imputation design, ...)``."""
        return self._evolve([d.subset(mask) for d in self.designs])

    def replicate(self, method: str = "jk1", replicates: int | None = None,
                  seed: int | None = None, **kwargs: Any) -> MIDesign:
        """Replicate weights built once (from the shared design) and used in every imputation
        (R: ``as.svrepdesign`` on an imputation design)."""
        if self.is_replicate:
            raise ImputationError("the design already has replicate weights")
        rep = self.designs[0].replicate(method=method, replicates=replicates, seed=seed,
                                        **kwargs)
        return self._evolve([rep] + [rep._evolve(data=d.data) for d in self.designs[1:]])

    def with_df_method(self, df_method: str) -> MIDesign:
        """Same imputations, another Rubin's-rules df variant (``surveykit.mi.rubin``)."""
        return MIDesign(self.designs, self.method, self.imputed, self.report, df_method,
                        self.notes)

    # -- analysis (called by surveykit.mi.dispatch.mi_aware) -----------------------------------
    def _mi_apply(self, fn: Callable[..., Any], rest: tuple[Any, ...],
                  kwargs: dict[str, Any]) -> Any:
        """Run ``fn`` on every completed design and combine. With m = 1 there is nothing to
        combine: the complete-data result is returned unchanged (documented passthrough)."""
        if fn.__name__ in NOT_COMBINED and self.m > 1:
            raise ImputationError(
                f"{fn.__name__} has no Rubin's-rules combination in surveykit",
                hint="analyse each completed design (mi.designs) and pool what is poolable "
                     "with surveykit.mi.rubin.pool")
        results = run_each(fn, self.designs, rest, kwargs)
        if self.m == 1:
            return results[0]
        combine = combiner_for(results[0])
        if combine is None:
            raise ImputationError(
                f"{fn.__name__} returns a {type(results[0]).__name__}, which has no Rubin's "
                "rules combination", hint="use sk.mi_design / sk.impute (they load the "
                "combiners: surveykit.mi.combine), or analyse each completed design "
                "(mi.designs) and pool with surveykit.mi.rubin.pool")
        return combine(results, self, fn.__name__, kwargs)

    # -- writing -------------------------------------------------------------------------------
    def stacked(self) -> pd.DataFrame:
        """All completed data sets in one long frame (mice ``complete(action="long")``,
        Stata ``mi export`` flong): ``imputation`` (1..m), ``row_id`` (0-based row), the data,
        and for each imputed variable ``<var>_imputed`` (True where the value was imputed)."""
        parts = []
        for i, d in enumerate(self.designs, start=1):
            part = d.data.reset_index(drop=True).copy()
            flags = self.imputed[i - 1] if self.imputed is not None else None
            if flags is not None:
                for c in flags.columns:
                    part[f"{c}_imputed"] = flags[c].to_numpy(dtype=bool)
            part.insert(0, "row_id", np.arange(len(part)))
            part.insert(0, "imputation", i)
            parts.append(part)
        out = pd.concat(parts, ignore_index=True)
        out.attrs = {k: v for k, v in self.designs[0].data.attrs.items()
                     if k in ("synthetic", "value_labels", "variable_labels", "source")}
        out.attrs["mi"] = self.label
        if self.is_synthetic and "data_source" not in out.columns:
            from surveykit.provenance import SYNTHETIC_BANNER

            out["data_source"] = SYNTHETIC_BANNER
        return out

    def write(self, path: str | Path) -> Path:
        """Write :meth:`stacked` to a .csv (atomically: temp file + ``os.replace``) with a
        JSON sidecar saying what it is (m, method, imputed variables)."""
        from surveykit.mi.io import write_stacked

        return write_stacked(self, path)


def run_each(fn: Callable[..., Any], designs: Sequence[Any], rest: tuple[Any, ...],
             kwargs: dict[str, Any]) -> list[Any]:
    """``fn`` on every design; a warning raised in several imputations is shown once, and an
    error names the imputation it came from."""
    results = []
    seen: dict[tuple[str, type], warnings.WarningMessage] = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for i, d in enumerate(designs, start=1):
            try:
                results.append(fn(d, *rest, **kwargs))
            except Exception as exc:
                if len(designs) > 1 and hasattr(exc, "add_note"):
                    exc.add_note(f"(in imputation {i} of {len(designs)})")
                raise
    for w in caught:
        seen.setdefault((str(w.message), w.category), w)
    for w in seen.values():
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return results


# -- construction --------------------------------------------------------------------------------
_DESIGN_ARGS = ("weights", "strata", "psu", "fpc", "probs")


def _columns_of(spec: Any) -> list[str]:
    if spec is None:
        return []
    if isinstance(spec, str):
        return [spec]
    if isinstance(spec, (list, tuple)) and all(isinstance(s, str) for s in spec):
        return list(spec)
    return []


def _split_stacked(frame: pd.DataFrame, imputation: str | None, id: str | None,
                   source: str | None) -> tuple[list[pd.DataFrame], pd.DataFrame | None, list[str]]:
    """Completed data sets (imputation >= 1) and the original (imputation 0), if present."""
    imp = imputation or next((c for c in IMPUTATION_COLUMNS if c in frame.columns), None)
    if imp is None or imp not in frame.columns:
        raise ImputationError(
            "a stacked file needs an imputation-number column", file=source,
            column=imputation, hint=f"pass imputation= (mice writes .imp, Stata _mi_m); "
                                    f"columns are: {', '.join(map(str, frame.columns[:12]))}")
    rid = id or next((c for c in ID_COLUMNS if c in frame.columns), None)
    if rid is not None and rid not in frame.columns:
        raise ImputationError("row-id column not found", file=source, column=rid)
    num = pd.to_numeric(frame[imp], errors="coerce")
    if num.isna().any() or (num % 1 != 0).any():
        raise ImputationError("imputation numbers must be whole numbers", file=source,
                              column=imp, values=list(frame[imp][num.isna() | (num % 1 != 0)]))
    notes = []
    original = None
    parts = []
    for k in sorted(pd.unique(num)):
        part = frame[num.to_numpy() == k]
        if rid is not None:
            part = part.sort_values(rid, kind="stable")
        part = part.drop(columns=[imp]).reset_index(drop=True)
        part.attrs = dict(frame.attrs)
        if k == 0:
            original = part
            notes.append(f"imputation 0 (the original, incomplete data: {len(part):,} rows) "
                         "is not analysed; it marks which values were imputed")
        else:
            parts.append(part)
    if rid is not None and parts:
        ref = parts[0][rid].to_numpy()
        for i, p in enumerate(parts[1:], start=2):
            if len(p) != len(ref) or not np.array_equal(p[rid].to_numpy(), ref):
                raise ImputationError("imputations hold different respondents", file=source,
                                      column=rid, values=[f"imputation 1 vs {i}"])
    return parts, original, notes


def _check_same(frames: Sequence[pd.DataFrame], design_cols: list[str], source: str | None
                ) -> None:
    n0, cols0 = len(frames[0]), list(frames[0].columns)
    for i, f in enumerate(frames[1:], start=2):
        if not isinstance(f, pd.DataFrame):
            raise ImputationError(f"imputation {i} is a {type(f).__name__}, not a DataFrame")
        if len(f) != n0:
            raise ImputationError(f"imputation {i} has {len(f):,} rows, imputation 1 has "
                                  f"{n0:,}", file=source)
        if list(f.columns) != cols0:
            diff = sorted(set(map(str, f.columns)) ^ set(map(str, cols0)))
            raise ImputationError(f"imputation {i} has other columns than imputation 1",
                                  file=source, values=diff or ["(same names, other order)"])
        if not f.index.equals(frames[0].index):
            raise ImputationError(f"imputation {i} has other row labels than imputation 1",
                                  file=source, hint="reset_index(drop=True) each data set, or "
                                  "pass a stacked frame with a row-id column")
    for c in design_cols:
        if c not in frames[0].columns:
            continue  # the design reports a missing column itself
        ref = frames[0][c]
        bad = [i for i, f in enumerate(frames[1:], start=2) if not f[c].equals(ref)]
        if bad:
            raise ImputationError(
                "design column differs between imputations (the sampling design cannot be "
                "imputed)", file=source, column=c, values=[f"imputation {i}" for i in bad])


def mi_design(data: Any, *, imputation: str | None = None, id: str | None = None,
              weights: Any = None, strata: Any = None, psu: Any = None, fpc: Any = None,
              nest: bool = False, lonely_psu: str = "fail", probs: Any = None,
              ultimate_cluster: bool = False, repweights: Any = None, type: str = "other",
              scale: float | None = None, rscales: Any = None, rho: float | None = None,
              mse: bool = False, degf: int | None = None, source: str | None = None,
              method: str = "imputed elsewhere", df_method: str = "barnard_rubin") -> MIDesign:
    """An :class:`MIDesign` from m completed data sets made elsewhere.

    ``data``: a list of DataFrames (R ``imputationList``, ``mice::complete(action="all")``);
    or one stacked DataFrame / file (.csv, .sav, .dta, .parquet) with an imputation-number
    column (``imputation=``; auto-detected: ``imputation``, mice's ``.imp``, Stata's
    ``_mi_m``) and optionally a row id (``id=``; ``row_id``, ``.id``, ``_mi_id``) to align
    rows. Imputation 0 (the original data, mice ``include=TRUE`` / Stata flong) is not analysed;
    where present it flags the imputed values. Design arguments are those of
    :class:`~surveykit.design.SurveyDesign`, or with ``repweights=`` those of
    :class:`~surveykit.design.ReplicateDesign`.

    Parameters
    ----------
    data : list of pandas.DataFrame, pandas.DataFrame, str or pathlib.Path
        The completed data sets (see above).
    imputation : str, optional
        The imputation-number column of stacked data.
    id : str, optional
        The row-id column of stacked data.
    weights, strata, psu, fpc, nest, lonely_psu, probs, ultimate_cluster : optional
        Design arguments, as :class:`~surveykit.design.SurveyDesign`.
    repweights, type, scale, rscales, rho, mse, degf : optional
        Replicate-design arguments, as :class:`~surveykit.design.ReplicateDesign`.
    source : str, optional
        A file name used in error messages.
    method : str
        How the values were imputed (recorded with the results).
    df_method : str
        The Rubin's-rules df variant.

    Returns
    -------
    MIDesign

    Examples
    --------
    >>> df = sk.load_replica()
    >>> mi = sk.mi_design([df, df], weights="weight")
    >>> round(float(sk.mean(mi, "age")["estimate"].iloc[0]), 2)
    32.64
    """
    original = None
    notes: list[str] = []
    if isinstance(data, (str, Path)):
        from surveykit.io import read

        source = source or str(data)
        from surveykit.labels import attach as attach_labels
        from surveykit.provenance import flag, synthetic_evidence

        raw = read(data)
        frame = raw.data
        attach_labels(frame, raw.value_labels, raw.variable_labels)
        flag(frame, synthetic_evidence(frame, file_label=raw.file_label))
        side = Path(str(data) + ".json")  # our own sidecar (MIDesign.write) says the method
        if side.is_file() and method == "imputed elsewhere":
            import json

            try:
                method = str(json.loads(side.read_text(encoding="utf-8")).get("method", method))
            except (ValueError, AttributeError):
                pass
        frames, original, notes = _split_stacked(frame, imputation, id, source)
    elif isinstance(data, pd.DataFrame):
        frames, original, notes = _split_stacked(data, imputation, id, source)
    else:
        frames = list(data)
    if not frames:
        raise ImputationError("no completed data sets (imputation numbers >= 1)", file=source)
    if not isinstance(frames[0], pd.DataFrame):
        raise ImputationError(f"imputation 1 is a {type(frames[0]).__name__}, not a DataFrame")
    flag_cols = [c for c in frames[0].columns if isinstance(c, str) and c.endswith("_imputed")
                 and c[: -len("_imputed")] in frames[0].columns]
    if flag_cols and original is None:  # MIDesign.write's per-value flags
        flags = tuple(pd.DataFrame({c[: -len("_imputed")]: f[c].astype(bool).to_numpy()
                                    for c in flag_cols}) for f in frames)
        frames = [f.drop(columns=flag_cols) for f in frames]  # attrs travel with drop
    else:
        flags = None
    design_cols = [c for spec in (weights, strata, psu, fpc, probs) for c in _columns_of(spec)]
    if repweights is not None:
        design_cols += _columns_of(repweights)
    _check_same(frames, design_cols, source)
    if repweights is not None:
        first = ReplicateDesign(frames[0], weights=weights, repweights=repweights, type=type,
                                scale=scale, rscales=rscales, rho=rho, mse=mse, degf=degf,
                                source=source)
    else:
        first = SurveyDesign(frames[0], weights=weights, strata=strata, psu=psu, fpc=fpc,
                             nest=nest, lonely_psu=lonely_psu, source=source, probs=probs,
                             ultimate_cluster=ultimate_cluster)  # type: ignore[arg-type]
    designs = [first] + [first._evolve(data=f) for f in frames[1:]]
    imputed = flags
    if original is not None:
        cols = [c for c in original.columns if original[c].isna().any()
                and c in frames[0].columns and not frames[0][c].isna().all()]
        if len(original) != len(frames[0]):
            raise ImputationError(f"imputation 0 has {len(original):,} rows, imputation 1 has "
                                  f"{len(frames[0]):,}", file=source)
        miss = original[cols].isna()
        imputed = tuple(pd.DataFrame({c: miss[c].to_numpy() & f[c].notna().to_numpy()
                                      for c in cols}) for f in frames)
    return MIDesign(tuple(designs), method, imputed, None, df_method, tuple(notes))
