"""Multiple imputation by chained equations with predictive mean matching (statsmodels).

``impute(design, variables, m=20)`` runs m independent chains of
``statsmodels.imputation.mice.MICEData`` (one OLS model per variable on all the others,
parameters drawn from their approximate posterior each cycle — statsmodels' "gaussian"
perturbation — then predictive mean matching: each missing value is a value *observed* in a
donor chosen at random among the ``donors`` nearest predicted means). PMM only ever draws
observed values, so integer codes of categorical and ordinal items stay codes. Each chain runs
``iterations`` cycles (as R ``mice``: m chains of ``maxit`` cycles); the completed data set is
the chain's last state.

Predictors: the other imputed variables, the design's weights and its strata (as indicator
columns) — the usual advice for survey data (the imputation model must carry the design
information the analysis uses) — plus ``predictors=``. PSU identifiers are not predictors by
default (many PSUs would enter as fixed effects); pass a PSU-level variable instead.

Missing reasons: a value is imputed when its reason is among ``impute_reasons`` (default:
every reason except "not asked", which is structural — the question did not apply). Values
missing for other reasons stay missing in every completed data set (estimators exclude them
as a domain and count them, as always). Within the chains such cells are filled like the rest,
so the row can inform other variables' models, and are set back to missing afterwards.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from surveykit.errors import ImputationError
from surveykit.mi.design import MIDesign
from surveykit.mi.report import ImputationReport

STRUCTURAL = ("not asked",)
NO_REASON = "missing (no reason recorded)"
DEFAULT_SEED = 20240


def _reasons_source(design: Any, reasons: Any) -> Mapping[str, pd.Series]:
    if reasons is None:
        return design.data.attrs.get("missing_reasons", {}) or {}
    for attr in ("missing", "missing_reasons"):  # a Harmonised result or a RawFile
        if hasattr(reasons, attr) and isinstance(getattr(reasons, attr), Mapping):
            return getattr(reasons, attr)
    if isinstance(reasons, Mapping):
        return reasons
    raise ImputationError(f"reasons= must be a dict of Series, a harmonise() result or a "
                          f"read() file, not a {type(reasons).__name__}")


def _reasons_of(design: Any, var: str, given: Mapping[str, pd.Series]) -> np.ndarray:
    """The NA reason of every row of ``var`` (None where observed)."""
    col = design.data[var]
    na = col.isna().to_numpy()
    why = np.full(len(col), None, dtype=object)
    src = given.get(var)
    if src is not None:
        vals = np.asarray(pd.Series(src).to_numpy(dtype=object))
        if len(vals) != len(col):
            raise ImputationError(f"missing reasons of {var!r} have {len(vals)} rows, the data "
                                  f"{len(col)}", column=var, file=design.source)
        why[na] = [NO_REASON if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)
                   for v in vals[na]]
    else:
        why[na] = NO_REASON
    return why


def _chosen(reason: str, impute_reasons: Any) -> bool:
    if impute_reasons is None:
        return reason.lower() not in STRUCTURAL
    if impute_reasons == "all":
        return True
    return reason.lower() in {str(r).lower() for r in impute_reasons}


def _design_predictors(design: Any) -> pd.DataFrame:
    cols: dict[str, np.ndarray] = {"design_weight": np.asarray(design.base_weights, float)}
    codes = getattr(design, "strata_codes", None)
    if codes is not None and getattr(design, "n_strata", 1) > 1:
        for s in range(1, int(design.n_strata)):
            cols[f"design_stratum_{s}"] = (codes == s).astype(float)
    return pd.DataFrame(cols, index=design.data.index)


def impute(design: Any, variables: str | Sequence[str], m: int = 20, method: str = "pmm", *,
           predictors: Sequence[str] | None = None, seed: int | None = None,
           impute_reasons: Sequence[str] | str | None = None, reasons: Any = None,
           iterations: int = 10, donors: int = 5, design_predictors: bool = True) -> MIDesign:
    """m completed data sets of ``design`` by chained equations with PMM (module docstring).

    Parameters
    ----------
    design : SurveyDesign or ReplicateDesign
        The design whose data have missing values; every completed data set shares it.
    variables : str or list of str
        Numeric (codes for categorical/ordinal items) variables to impute.
    m : int
        Number of imputations (chains).
    method : {"pmm"}
        Predictive mean matching (statsmodels ``MICEData``).
    predictors : list of str, optional
        Extra complete numeric columns to use as predictors.
    seed : int, optional
        Seed of the chains (default 20240): the same call gives the same data.
    impute_reasons : list of str or "all", optional
        Missing reasons to impute (default: every reason except "not asked").
    reasons : dict of Series, harmonise() result or read() file, optional
        NA reasons of the variables (default ``design.data.attrs["missing_reasons"]``; else
        every NA is "missing (no reason recorded)").
    iterations : int
        Cycles per chain (R ``mice``'s ``maxit``).
    donors : int
        PMM donors (R ``mice``'s ``donors``, default 5).
    design_predictors : bool
        Use the design weights and strata as predictors (default True).

    Examples
    --------
    >>> df = sk.load_replica()
    >>> design = sk.SurveyDesign(df, weights="weight")
    >>> mi = sk.impute(design, ["income_group"], m=2, seed=1, iterations=2)
    >>> len(mi.designs), mi.method
    (2, 'PMM')
    """
    from statsmodels import __version__ as sm_version

    if isinstance(design, MIDesign):
        raise ImputationError("the design is already multiply imputed")
    if method.lower() != "pmm":
        raise ImputationError(f"unknown imputation method {method!r}", values=[method],
                              hint="method='pmm' (predictive mean matching)")
    if not isinstance(m, (int, np.integer)) or m < 1:
        raise ImputationError(f"m must be a positive whole number, got {m!r}")
    if iterations < 1 or donors < 1:
        raise ImputationError("iterations and donors must be at least 1",
                              values=[iterations, donors])
    names = [variables] if isinstance(variables, str) else list(variables)
    if not names:
        raise ImputationError("impute needs at least one variable")
    data = design.data
    given = _reasons_source(design, reasons)
    frame: dict[str, np.ndarray] = {}
    impute_mask: dict[str, np.ndarray] = {}
    counts: list[dict[str, Any]] = []
    for v in names:
        if v not in data.columns:
            raise ImputationError("variable not found in the design's data", column=v,
                                  file=design.source)
        x = pd.to_numeric(data[v], errors="coerce")
        bad = data[v].notna() & x.isna()
        if bad.any():
            raise ImputationError("variable to impute is not numeric (PMM imputes codes)",
                                  column=v, file=design.source,
                                  values=list(pd.unique(data[v][bad]))[:5])
        why = _reasons_of(design, v, given)
        na = x.isna().to_numpy()
        chosen = np.array([w is not None and _chosen(w, impute_reasons) for w in why])
        if not chosen.any():
            kept = pd.Series(why[na]).value_counts().to_dict() if na.any() else {}
            raise ImputationError(
                "nothing to impute: no value is missing for a reason chosen to impute",
                column=v, file=design.source,
                values=[f"{k}: {n}" for k, n in kept.items()] or ["no missing values"],
                hint="impute_reasons='all' imputes every missing value" if kept else None)
        if (~na).sum() < 2:
            raise ImputationError("variable has fewer than 2 observed values to draw from",
                                  column=v, file=design.source)
        frame[v] = x.to_numpy(dtype=float)
        impute_mask[v] = chosen
        imp_r = pd.Series(why[chosen]).value_counts()
        kept_r = pd.Series(why[na & ~chosen]).value_counts()
        counts.append({"variable": v, "n_missing": int(na.sum()), "n_imputed": int(chosen.sum()),
                       "reasons_imputed": "; ".join(f"{k}: {n}" for k, n in imp_r.items()),
                       "reasons_kept_missing": "; ".join(f"{k}: {n}" for k, n in kept_r.items()),
                       "observed_mean": float(np.nanmean(frame[v]))})
    extra = list(predictors or [])
    for p in extra:
        if p not in data.columns:
            raise ImputationError("predictor not found in the design's data", column=p,
                                  file=design.source)
        if p in names:
            continue
        x = pd.to_numeric(data[p], errors="coerce")
        if x.isna().any():
            raise ImputationError("predictor has missing values (impute it too: add it to "
                                  "variables)", column=p, file=design.source,
                                  values=[f"{int(x.isna().sum())} missing"])
        frame[p] = x.to_numpy(dtype=float)
    pred_frame = _design_predictors(design) if design_predictors else None
    if pred_frame is not None:
        for c in pred_frame.columns:
            frame[c] = pred_frame[c].to_numpy()
    dropped = _drop_collinear(frame, names)
    safe = {c: f"v{i}" for i, c in enumerate(frame)}  # patsy-safe names for MICEData formulas
    base = pd.DataFrame({safe[c]: v for c, v in frame.items()})
    if base.isna().all(axis=1).any():  # MICEData drops all-missing rows: keep rows aligned
        base["v_const"] = 1.0
    used_seed = DEFAULT_SEED if seed is None else int(seed)
    chains: list[dict[str, Any]] = []
    completed: list[pd.DataFrame] = []
    imputed_vals: dict[str, list[np.ndarray]] = {v: [] for v in names}
    for j in range(m):
        md = _mice_data(base, donors, np.random.default_rng([used_seed, j]))
        for it in range(1, iterations + 1):
            md.update_all(1)
            for v in names:
                vals = md.data[safe[v]].to_numpy()[impute_mask[v]]
                chains.append({"chain": j + 1, "iteration": it, "variable": v,
                               "mean": float(vals.mean()), "sd": float(vals.std())})
        out = data.copy()
        for v in names:
            vals = md.data[safe[v]].to_numpy()[impute_mask[v]]
            imputed_vals[v].append(vals)
            out[v] = _filled(data[v], frame[v], impute_mask[v], vals)
        out.attrs = dict(data.attrs)
        completed.append(out)
    flags = pd.DataFrame({v: impute_mask[v] for v in names}, index=data.index)
    summary = pd.DataFrame(counts)
    summary["imputed_mean"] = [float(np.mean(np.concatenate(imputed_vals[v]))) for v in names]
    report = ImputationReport(
        summary=summary, chains=pd.DataFrame(chains),
        observed={v: frame[v][~np.isnan(frame[v])] for v in names},
        imputed={v: np.concatenate(imputed_vals[v]) for v in names},
        settings={"m": m, "method": "PMM", "iterations": iterations, "donors": donors,
                  "seed": used_seed, "predictors": [c for c in frame if c not in names]
                  + ["(each other imputed variable)"],
                  "dropped_collinear_predictors": dropped,
                  "impute_reasons": "all but 'not asked'" if impute_reasons is None
                  else impute_reasons, "engine": f"statsmodels {sm_version} MICEData"},
        label=f"m = {m} multiple imputation{'s' if m != 1 else ''} (PMM)",
        synthetic=bool(getattr(design, "is_synthetic", False)),
        variable_labels={v: str(data.attrs.get("variable_labels", {}).get(v, v)) for v in names},
        value_labels={v: dict(data.attrs.get("value_labels", {}).get(v, {}) or {})
                      for v in names})
    designs = tuple(design._evolve(data=f) for f in completed)
    return MIDesign(designs, "PMM", tuple(flags for _ in range(m)), report)


def _filled(col: pd.Series, values: np.ndarray, mask: np.ndarray, imputed: np.ndarray
            ) -> pd.Series:
    """``col`` with the masked cells set to ``imputed`` (observed codes), in ``col``'s dtype:
    integer columns stay integer, categorical ones keep their categories."""
    arr = values.copy()
    arr[mask] = imputed
    out = pd.Series(arr, index=col.index, name=col.name)
    if isinstance(col.dtype, pd.CategoricalDtype):
        return pd.Series(pd.Categorical(out, categories=col.cat.categories,
                                        ordered=col.cat.ordered), index=col.index, name=col.name)
    if pd.api.types.is_integer_dtype(col.dtype) or pd.api.types.is_bool_dtype(col.dtype):
        return out.round().astype("Int64" if out.isna().any() else col.dtype)
    return out


def _mice_data(base: pd.DataFrame, donors: int, rng: np.random.Generator) -> Any:
    """statsmodels' ``MICEData`` whose conditional models are the main effects of all other
    columns (its default formula), with the design matrices built by numpy instead of patsy
    (patsy rebuilt them from the formula at every update: ~90 % of the time)."""
    from statsmodels.imputation.mice import MICEData

    class _MainEffects(MICEData):  # type: ignore[misc]
        _arr: np.ndarray | None = None

        def _matrix(self) -> np.ndarray:
            if self._arr is None:  # a numpy mirror of self.data, kept by _store_changes
                self._arr = self.data.to_numpy(dtype=float)
                self._pos = {c: i for i, c in enumerate(self.data.columns)}
            return self._arr

        def _store_changes(self, col: str, vals: Any) -> None:
            super()._store_changes(col, vals)
            if self._arr is not None and len(self.ix_miss[col]):
                self._arr[self.ix_miss[col], self._pos[col]] = np.atleast_1d(vals)

        def _exog(self, vname: str) -> np.ndarray:
            a = self._matrix()
            j = self._pos[vname]
            return np.column_stack([np.ones(len(a)), a[:, :j], a[:, j + 1:]])

        def get_fitting_data(self, vname: str) -> tuple[Any, ...]:
            ix = self.ix_obs[vname]
            endog = self._matrix()[ix, self._pos[vname]]
            return endog, self._exog(vname)[ix], {}, {}

        def get_split_data(self, vname: str) -> tuple[Any, ...]:
            ixo, ixm = self.ix_obs[vname], self.ix_miss[vname]
            exog = self._exog(vname)
            endog = self._matrix()[ixo, self._pos[vname]]
            return endog, exog[ixo], exog[ixm], {}, {}

    return _MainEffects(base, k_pmm=donors, rng=rng)


def _drop_collinear(frame: dict[str, np.ndarray], imputed: Sequence[str]) -> list[str]:
    """Remove complete predictors that add no rank to the intercept and the predictors before
    them (e.g. weights that are a function of the strata), in place; returns their names.
    A rank-deficient imputation model would be fitted by a pseudo-inverse with a warning in
    every cycle."""
    kept = [np.ones(len(next(iter(frame.values()))))]
    dropped = []
    for c in [c for c in frame if c not in imputed]:
        trial = np.column_stack([*kept, frame[c]])
        if np.linalg.matrix_rank(trial) < trial.shape[1]:
            dropped.append(c)
        else:
            kept.append(frame[c])
    for c in dropped:
        del frame[c]
    return dropped
