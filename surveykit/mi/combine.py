"""Rubin's-rules combination of every kind of surveykit result (registered with
``surveykit.mi.dispatch``): tidy frames (``mean``, ``total``, ``proportion``, ``quantile``,
``ratio``, ``var``, ``table``, ``margins``, ``contrast``, predictions), models (``glm``,
``ordinal``, ``multinom``, ``negbin``), Likert tables, cross-tables and summary tables.

Tidy frames: ``estimate`` is the mean over imputations; ``std_error`` the square root of the
total variance ``T``; ``ci_low``/``ci_high`` t intervals on the Barnard–Rubin df of each row
(so proportions get symmetric Wald intervals, as ``MIcombine`` + ``confint``); added columns
``df``, ``riv`` (relative increase in variance) and ``fmi`` (fraction of missing information).
With ``vcov=True`` the joint covariance is pooled in matrix form and attached, so ``contrast``
and everything downstream works on the combined result; ``contrast`` on a combined result is
computed in each imputation and combined (identical for linear contrasts, the standard route
for non-linear ones). Other numeric columns (``deff``, ``n_unweighted``, ``n_missing``, …)
are means over the imputations. The complete-data df is the design's df in the domain
(``attrs["df"]``, or the design's ``df``), for models ``model.inference_df`` (glm/negbin/multinom
residual df, ordinal infinite: surveykit's complete-data ordinal inference is normal, as R).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from surveykit._dist import norm_ppf, norm_sf, t_ppf, t_sf
from surveykit.errors import ImputationError
from surveykit.inference import Covariance, attach_covariance
from surveykit.mi.design import MIDesign, run_each
from surveykit.mi.dispatch import combiner_for, register
from surveykit.mi.rubin import Pooled, d1, pool
from surveykit.testresult import TestResult

#: columns of tidy results that vary across imputations (everything else must agree)
STAT_COLUMNS = {"estimate", "std_error", "ci_low", "ci_high", "deff", "n_unweighted",
                "n_missing", "statistic", "p_value", "p_adjusted", "df", "riv", "fmi", "sd"}
METHOD_NOTE = ("Rubin's rules (T = W + (1 + 1/m) B), Barnard–Rubin df; FMI = (riv + 2/(df + 3)) "
               "/ (riv + 1)")


@dataclass(frozen=True, eq=False)
class Context:
    """What a combiner needs to know about the imputations."""

    m: int
    label: str
    df_method: str
    design_df: float
    synthetic: bool = False


def context_of(source: Any) -> Context:
    if isinstance(source, Context):
        return source
    if isinstance(source, MIDesign):
        return Context(source.m, source.label, source.df_method, float(source.df),
                       source.is_synthetic)
    raise ImputationError(f"cannot combine with a {type(source).__name__} as context")


def _interval(est: np.ndarray, se: np.ndarray, df: np.ndarray, level: float
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """statistic, two-sided p, interval: t on per-row df (normal where df is infinite)."""
    df = np.asarray(df, float)
    fin = np.isfinite(df)
    dff = np.where(fin, df, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = est / se
        q = np.where(fin, t_ppf(0.5 + level / 2, dff), norm_ppf(0.5 + level / 2))
        p = np.where(fin, 2 * t_sf(np.abs(stat), dff), 2 * norm_sf(np.abs(stat)))
    return stat, p, est - q * se, est + q * se


# -- combined tidy frames --------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class MIFrameInfo:
    """``attrs["mi"]`` of a combined frame: its m per-imputation results and the pooling.
    Immutable and shared on copy (pandas deep-copies attrs)."""

    results: tuple[Any, ...]
    context: Context
    pooled: Pooled

    def __deepcopy__(self, memo: dict[int, Any]) -> MIFrameInfo:
        return self

    def __eq__(self, other: object) -> bool:
        return other is self

    __hash__ = object.__hash__

    @property
    def label(self) -> str:
        return self.context.label

    def __repr__(self) -> str:
        return f"<combined result: {self.context.label}>"

    def _mi_apply(self, fn: Callable[..., Any], rest: tuple[Any, ...],
                  kwargs: dict[str, Any]) -> Any:
        return apply_each(fn, self.results, rest, kwargs, self.context)


def apply_each(fn: Callable[..., Any], results: Sequence[Any], rest: tuple[Any, ...],
               kwargs: dict[str, Any], ctx: Context) -> Any:
    """``fn`` on each imputation's result, then combined."""
    outs = run_each(fn, results, rest, kwargs)
    comb = combiner_for(outs[0])
    if comb is None:
        raise ImputationError(f"{fn.__name__} returns a {type(outs[0]).__name__}, which has "
                              "no Rubin's rules combination")
    return comb(outs, ctx, fn.__name__, kwargs)


def _check_keys(frames: Sequence[pd.DataFrame], what: str) -> list[str]:
    f0 = frames[0]
    for i, f in enumerate(frames[1:], start=2):
        if len(f) != len(f0) or list(f.columns) != list(f0.columns):
            raise ImputationError(
                f"{what}: imputation {i} gives {len(f)} rows, imputation 1 gives {len(f0)}; "
                "their rows cannot be matched",
                hint="a level or group present in some imputations only (e.g. by= an imputed "
                     "variable with a rare category); combine on a coarser grouping")
    varying: list[str] = []
    for c in f0.columns:
        if c in STAT_COLUMNS:
            continue
        ref = f0[c].reset_index(drop=True)
        same = all(f[c].reset_index(drop=True).equals(ref) for f in frames[1:])
        if same:
            continue
        if pd.api.types.is_float_dtype(ref.dtype):
            varying.append(c)
            continue
        bad = [i for i, f in enumerate(frames[1:], start=2)
               if not f[c].reset_index(drop=True).equals(ref)]
        raise ImputationError(f"{what}: the imputations give different rows", column=str(c),
                              values=[f"imputation {i}" for i in bad])
    return varying


def _vcovs(frames: Sequence[pd.DataFrame]) -> tuple[list[str] | None, np.ndarray | None]:
    covs = [f.attrs.get("vcov") for f in frames]
    if any(not isinstance(v, Covariance) for v in covs):
        return None, None
    names = covs[0].names
    if len(names) != len(frames[0]) or any(v.names != names for v in covs[1:]):
        return None, None
    return names, np.stack([v.to_numpy(dtype=float) for v in covs])


def pool_frame(frames: Sequence[pd.DataFrame], source: Any, name: str = "result",
               kwargs: dict[str, Any] | None = None, *, est: str = "estimate",
               se: str = "std_error") -> pd.DataFrame:
    """Rubin's rules on m tidy frames with the same rows (see module docstring)."""
    ctx = context_of(source)
    kwargs = kwargs or {}
    frames = list(frames)
    varying = _check_keys(frames, name)
    names, vc = _vcovs(frames)
    q = np.stack([f[est].to_numpy(dtype=float) for f in frames])
    if vc is None:
        s = np.stack([f[se].to_numpy(dtype=float) for f in frames]) if se in frames[0] else None
        if s is None:
            raise ImputationError(f"{name}: the result has no standard errors to combine")
        vc = np.stack([np.diag(x**2) for x in s])
    dfc = frames[0].attrs.get("df", ctx.design_df)
    if "df" in frames[0] and len(frames[0]):  # a result's own complete-data df (experiments)
        dfc = float(pd.to_numeric(frames[0]["df"], errors="coerce").iloc[0])
    dfc = float(ctx.design_df if dfc is None else dfc)
    if not np.isfinite(dfc):
        dfc = ctx.design_df
    p = pool(q, vc, names, df_complete=dfc, df_method=ctx.df_method)
    level = float(kwargs.get("level", kwargs.get("conf_level", 0.95)) or 0.95)
    out = frames[0].copy().reset_index(drop=True)
    sev = p.se
    stat, pval, lo, hi = _interval(p.qbar, sev, p.df, level)
    out[est] = p.qbar
    if se in out:
        out[se] = sev
    if "statistic" in out:
        out["statistic"] = stat
    if "p_value" in out:
        out["p_value"] = pval
    if "ci_low" in out:
        out["ci_low"], out["ci_high"] = lo, hi
    if "p_adjusted" in out:  # experiments: the same adjustment of the combined p-values
        from surveykit.experiments._common import p_adjust

        by = kwargs.get("by")
        groups = out[by] if isinstance(by, str) and by in out else pd.Series(0, index=out.index)
        padj = np.empty(len(out))
        for idx in out.groupby(groups, sort=False).indices.values():
            padj[idx] = p_adjust(pval[idx], kwargs.get("adjust", "holm"))
        out["p_adjusted"] = padj
    for c in [*[c for c in ("deff", "n_unweighted", "n_missing", "sd") if c in out], *varying]:
        vals = np.stack([pd.to_numeric(f[c], errors="coerce").to_numpy(float) for f in frames])
        mean = vals.mean(axis=0)
        same = bool(np.all(vals == vals[0]))
        out[c] = frames[0][c].to_numpy() if same else mean
    pos = list(out.columns).index("ci_high") + 1 if "ci_high" in out else len(out.columns)
    for j, (c, v) in enumerate((("df", p.df), ("riv", p.riv), ("fmi", p.fmi))):
        if c in out:
            out[c] = v
        else:
            out.insert(pos + j, c, v)
    out.attrs = {k: v for k, v in frames[0].attrs.items() if k not in ("vcov", "mi")}
    if names is not None:
        attach_covariance(out, p.total, names, float(np.min(p.df)) if len(p.df) else dfc,
                          coef=p.qbar)
    out.attrs["mi"] = MIFrameInfo(tuple(frames), ctx, p)
    note = f"{ctx.label}; {METHOD_NOTE}."
    old = out.attrs.get("note")
    out.attrs["note"] = f"{old.rstrip('.')}. {note}" if old else note
    return out


# -- models ----------------------------------------------------------------------------------
class MIModel:
    """Mixin of a combined model: coefficients ``qbar`` and covariance ``T`` in ``params`` /
    ``vcov`` (so ``as_estimates``, tables and plots read them as from any model), per-parameter
    ``df``/``riv``/``fmi`` in ``tidy()``, the m fits in ``imputations``."""

    imputations: tuple[Any, ...]
    pooled: Pooled
    mi_context: Context

    def tidy(self, exponentiate: bool = False, conf_level: float = 0.95) -> pd.DataFrame:
        base = super().tidy(exponentiate=False, conf_level=conf_level)  # type: ignore[misc]
        p = self.pooled
        est, se = p.qbar, p.se
        stat, pval, lo, hi = _interval(est, se, p.df, conf_level)
        base["estimate"], base["std_error"] = est, se
        base["statistic"], base["p_value"], base["ci_low"], base["ci_high"] = stat, pval, lo, hi
        if exponentiate:
            multi = type(self.imputations[0]).__name__ == "MultinomResult"
            k = len(est) if multi else self.n_coef  # type: ignore[attr-defined]
            e = np.exp(est[:k])
            base.loc[: k - 1, "estimate"] = e
            base.loc[: k - 1, "std_error"] = e * se[:k]
            base.loc[: k - 1, "ci_low"] = np.exp(lo[:k])
            base.loc[: k - 1, "ci_high"] = np.exp(hi[:k])
        base["df"], base["riv"], base["fmi"] = p.df, p.riv, p.fmi
        base.attrs["note"] = f"{self.mi_context.label}; {METHOD_NOTE}."
        return base

    @property
    def inference_df(self) -> float:
        """The smallest per-parameter df (per-parameter values are in ``tidy()``)."""
        return float(np.min(self.pooled.df))

    def summary(self, conf_level: float = 0.95) -> str:
        """The model's summary, its significance line saying which df the combined p-values use."""
        text = super().summary(conf_level)  # type: ignore[misc]
        head, sep, _ = text.rpartition("Signif.: ")
        return (f"{head}{sep}* p<0.05, ** p<0.01, *** p<0.001 (t on each parameter's "
                f"Barnard–Rubin df, column df; {METHOD_NOTE})") if sep else text

    def describe_model(self) -> str:
        return (f"{super().describe_model()}; {self.mi_context.label}, "  # type: ignore[misc]
                "combined by Rubin's rules")

    def __repr__(self) -> str:
        return (f"<combined {type(self.imputations[0]).__name__} {self.describe_model()}: "
                f"{self.formula}, N={self.nobs}>")  # type: ignore[attr-defined]

    def _mi_apply(self, fn: Callable[..., Any], rest: tuple[Any, ...],
                  kwargs: dict[str, Any]) -> Any:
        if fn.__name__ == "wald_test":
            return d1_wald_test(self, *rest, **kwargs)
        if fn.__name__ in ("anova", "aic", "bic"):
            raise ImputationError(
                f"{fn.__name__} is not defined for multiply imputed models",
                hint="test terms with wald_test (D1, Li, Raghunathan & Rubin 1991)")
        return apply_each(fn, self.imputations, rest, kwargs, self.mi_context)

    def predict(self, *args: Any, **kwargs: Any) -> Any:
        """Predictions in each imputation (each fit on its own data, or on ``newdata``),
        combined by Rubin's rules."""
        outs = [f.predict(*args, **kwargs) for f in self.imputations]
        if isinstance(outs[0], pd.DataFrame) and "std_error" in outs[0]:
            return pool_frame(outs, self.mi_context, "predict", kwargs)
        if isinstance(outs[0], pd.DataFrame):
            mean = outs[0].copy()
            num = mean.select_dtypes("number").columns
            mean[num] = np.mean([o[num].to_numpy(float) for o in outs], axis=0)
            return mean
        return np.mean([np.asarray(o, float) for o in outs], axis=0)

    def marginal_effects(self, conf_level: float = 0.95) -> pd.DataFrame:
        outs = [f.marginal_effects(conf_level=conf_level) for f in self.imputations]
        return pool_frame(outs, self.mi_context, "marginal_effects",
                          {"conf_level": conf_level})


_MI_CLASSES: dict[type, type] = {}


def pool_models(fits: Sequence[Any], source: Any, name: str = "model",
                kwargs: dict[str, Any] | None = None) -> Any:
    """A combined model result from m fits of the same model (see :class:`MIModel`)."""
    ctx = context_of(source)
    fits = list(fits)
    names = list(fits[0].params.index)
    for i, f in enumerate(fits[1:], start=2):
        if list(f.params.index) != names:
            diff = sorted(set(map(str, f.params.index)) ^ set(map(str, names)))
            raise ImputationError(f"{name}: imputation {i} has other coefficients than "
                                  "imputation 1 (a factor level absent in some imputations)",
                                  values=diff)
    q = np.stack([f.params.to_numpy(float) for f in fits])
    vc = np.stack([f.vcov.to_numpy(float) for f in fits])
    p = pool(q, vc, [str(n) for n in names], df_complete=float(fits[0].inference_df),
             df_method=ctx.df_method)
    cls = type(fits[0])
    mi_cls = _MI_CLASSES.get(cls)
    if mi_cls is None:
        mi_cls = type(f"MI{cls.__name__}", (MIModel, cls), {"__module__": __name__})
        _MI_CLASSES[cls] = mi_cls
    out = copy.copy(fits[0])
    out.__class__ = mi_cls
    out.params = pd.Series(p.qbar, index=fits[0].params.index, name=fits[0].params.name)
    out.vcov = pd.DataFrame(p.total, index=fits[0].vcov.index, columns=fits[0].vcov.columns)
    out.extra = dict(fits[0].extra)
    for key in ("alpha", "alpha_se", "deviance"):
        if key in out.extra and all(key in f.extra for f in fits):
            out.extra[key] = float(np.mean([f.extra[key] for f in fits]))
    out.imputations = tuple(fits)
    out.pooled = p
    out.mi_context = ctx
    return out


def d1_wald_test(model: Any, terms: str | Sequence[str], *, method: str = "Wald",
                 df: float | None = None, null: Sequence[float] | None = None) -> pd.DataFrame:
    """``wald_test`` on a combined model: the D1 statistic (Li, Raghunathan & Rubin 1991) as
    ``mice::D1`` (``mitml::testModels(method="D1")``): F on (k, v) with Reiter's (2007)
    small-sample v when the complete-data df (the model's residual df, or ``df=``) is finite,
    else Li, Raghunathan & Rubin's v."""
    from surveykit.models.wald import COLUMNS, term_columns

    if method != "Wald":
        raise ImputationError(f"method={method!r} is not available on multiply imputed models",
                              hint="use the default method='Wald' (the D1 statistic)")
    names, index = term_columns(model, terms)
    p = model.pooled
    ix = np.ix_(index, index)
    dfc = float(model.imputations[0].df_resid if df is None else df)
    nul = None if null is None else np.broadcast_to(np.asarray(null, float), (len(index),))
    r = d1(p.qbar[index], p.within[ix], p.between[ix], p.m, df_complete=dfc, null=nul)
    out = pd.DataFrame([{"test": f"D1 Wald F ({model.mi_context.label})",
                         "terms": " + ".join(names), "statistic": r.statistic, "df": r.df1,
                         "ddf": r.df2, "p_value": r.p_value}], columns=COLUMNS)
    out.attrs.update(riv=r.riv, df_variant=r.df_variant, m=p.m,
                     note=f"D1 (Li, Raghunathan & Rubin 1991) as mice::D1; {r.df_variant}; "
                          f"{model.mi_context.label}")
    return out


# -- Likert, cross-tables, summary tables ---------------------------------------------------------
def pool_likert(tables: Sequence[pd.DataFrame], source: Any, name: str = "likert",
                kwargs: dict[str, Any] | None = None) -> pd.DataFrame:
    """Percentages averaged over imputations; with ``se=True`` each ``"<col> (SE)"`` is the
    Rubin's-rules SE of its column's percentage (percent scale). Rows "N"/"N missing": means."""
    ctx = context_of(source)
    t0 = tables[0]
    for i, t in enumerate(tables[1:], start=2):
        if t.shape != t0.shape or list(t.index) != list(t0.index) or list(t.columns) != list(
                t0.columns):
            raise ImputationError(f"likert: imputation {i} gives another table shape than "
                                  "imputation 1", values=[str(t.shape), str(t0.shape)])
    arr = np.stack([t.to_numpy(dtype=float) for t in tables])
    out = pd.DataFrame(arr.mean(axis=0), index=t0.index, columns=t0.columns)
    m = len(tables)
    cols = list(t0.columns)
    for j, c in enumerate(cols):
        if isinstance(c, str) and c.endswith(" (SE)") and c[:-5] in cols:
            k = cols.index(c[:-5])
            est, se = arr[:, :, k], arr[:, :, j]
            W = (se**2).mean(axis=0)
            B = est.var(axis=0, ddof=1)
            out.iloc[:, j] = np.sqrt(W + (1 + 1 / m) * B)
    out.attrs = dict(t0.attrs)
    note = f"{ctx.label}; percentages are means over imputations; {METHOD_NOTE}."
    old = out.attrs.get("note")
    out.attrs["note"] = f"{old.rstrip('.')}. {note}" if old else note
    return out


def pool_crosstab(results: Sequence[Any], source: Any, name: str = "crosstab",
                  kwargs: dict[str, Any] | None = None) -> Any:
    """Cell and row shares by Rubin's rules (diagonal); the Rao–Scott test is not combined (it
    has no Rubin's rule): ``test`` says so and points to ``wald_test`` (D1) on a model."""
    ctx = context_of(source)
    tabs = [r.table for r in results]
    cell = pool_frame(tabs, ctx, name, kwargs)
    share = pool_frame([t.assign(estimate=t["row_share"], std_error=t["row_share_se"])
                        for t in tabs], ctx, name, kwargs)
    cell["row_share"], cell["row_share_se"] = share["estimate"], share["std_error"]
    out = copy.copy(results[0])
    out.table = cell
    old = {"statistic": "none", "value": float("nan"), "F": float("nan"),
           "df1": float("nan"), "df2": float("nan"), "p_value": float("nan"),
           "chisq": float("nan"), "n": results[0].test.extras.get("n"),
           "n_missing": float(np.mean([r.test.extras.get("n_missing", 0) for r in results])),
           "note": f"{ctx.label}: the Rao–Scott test has no Rubin's-rules combination; "
                   "test independence with a model term (wald_test, D1)"}
    nan = float("nan")
    out.test = TestResult(nan, nan, nan, nan, "F", name="not combined across imputations",
                          extras={k: old[k] for k in ("chisq", "n", "n_missing", "note")},
                          legacy=old)
    return out


def pool_summary_table(results: Sequence[Any], source: Any, name: str = "summary_table",
                       kwargs: dict[str, Any] | None = None) -> Any:
    """Cells by Rubin's rules (diagonal); group tests are left out with a note (no
    Rubin's-rules combination of Rao–Scott / Wald tests of tables); N columns are means."""
    ctx = context_of(source)
    cells = pool_frame([r.cells for r in results], ctx, name, kwargs)
    cells = cells.drop(columns=[c for c in ("df", "riv", "fmi") if c in cells])
    out = copy.copy(results[0])
    out.cells = cells
    out.tests = results[0].tests.iloc[0:0]
    out.column_n = {k: round(float(np.mean([r.column_n[k] for r in results])))
                    for k in results[0].column_n}
    out.notes = [*results[0].notes, f"{ctx.label}; {METHOD_NOTE}; group tests are not "
                 "combined across imputations (use wald_test on a model: D1)."]
    return out


def _register() -> None:
    from surveykit._summary_table import SummaryTable
    from surveykit.estimation.crosstab import CrosstabResult
    from surveykit.models.results import ModelResult

    register(pd.DataFrame, lambda rs, src, name, kw: (
        pool_likert(rs, src, name, kw) if name == "likert" else pool_frame(rs, src, name, kw)))
    register(ModelResult, pool_models)
    register(CrosstabResult, pool_crosstab)
    register(SummaryTable, pool_summary_table)


_register()
