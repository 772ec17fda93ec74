"""Design-based means, totals and proportions (R's ``svymean``, ``svytotal``, ``svyciprop``).

Each returns a tidy DataFrame: the ``by`` columns, ``variable``, (``level`` for proportions),
``estimate``, ``std_error``, ``ci_low``, ``ci_high``, ``deff``, ``n_unweighted``, ``n_missing``.

- ``n_unweighted``: respondents the estimate rests on (in the domain/group, non-missing value).
- ``n_missing``: respondents of the domain/group whose value is missing; they are excluded as
  a domain (R's ``na.rm=TRUE``: the full design is kept, so standard errors stay right).
- Domains (``by``) use the full design, as R's ``svyby``: never a re-weighted subset.
- Rows with a missing ``by`` value are in no group; their number is in
  ``result.attrs["n_missing_by"]`` and a warning says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from surveykit._dist import beta_ppf, norm_ppf, t_ppf
from surveykit.design import ReplicateDesign
from surveykit.errors import EstimationError
from surveykit.estimation._core import (
    PROPORTION_COLUMNS,
    RESULT_COLUMNS,
    Design,
    DomainEstimate,
    Groups,
    as_list,
    categorical_column,
    check_design,
    estimate_by,
    make_groups,
    numeric_column,
    replicate_cov,
    replicate_df,
    require_finite,
    require_nonempty,
    warn_empty_groups,
)
from surveykit.estimation._result import parameter_names, replicate_estimates, tidy_result
from surveykit.estimation.profile_ci import likelihood_ci
from surveykit.inference import attach_covariance
from surveykit.mi.dispatch import mi_aware
from surveykit.provenance import mark

CIMethod = Literal["logit", "beta", "wald", "xlogit", "asin", "likelihood",
                   "wilson"]
CI_METHODS = ("logit", "beta", "wald", "xlogit", "asin", "likelihood", "wilson")


def _check_level(level: float) -> float:
    if not 0 < level < 1:
        raise EstimationError(f"level must be between 0 and 1, got {level!r}")
    return float(level)


NaRule = Literal["listwise", "per_variable"]


def _design_df(design: Design) -> float:
    """R's ``degf`` of the design's domain."""
    return float(design.df)


DeffKind = bool | Literal["replace"]


def _check_deff(deff: Any) -> None:
    if deff not in (True, False, "replace"):
        raise EstimationError(f"unknown deff={deff!r}",
                              hint="use True (R's deff=TRUE), 'replace' or False")


def _deff_as(deff: Any, value: float, n: int, weight_sum: float, design: Design) -> float:
    """The design effect asked for, from the estimator's ``deff=TRUE`` value.

    ``True``: R's ``deff=TRUE`` (variance over that of simple random sampling without
    replacement from a population of ``sum(w)``; see ``_deff`` in the estimation core);
    ``"replace"``: R's ``deff="replace"``, against sampling WITH replacement, i.e. without the
    finite-population factor ``(sum(w) - n) / sum(w)``; ``False``: NaN (not computed)."""
    if deff is False:
        return float("nan")
    if deff is True or not np.isfinite(value):
        return float(value)
    fpc = getattr(design, "fpc_f", None)
    has_fpc = (not design.is_replicate and fpc is not None and bool(np.any(fpc < 1)))
    if has_fpc or weight_sum >= 2 * n:  # the without-replacement formula was used
        return float(value) * (weight_sum - n) / weight_sum
    return float(value)


def _describe(design: Design, var: str | Sequence[str], by: str | Sequence[str] | None,
              kind: str, na_rm: bool, level: float, progress: bool | None, na: str,
              vcov: bool, deff: Any = True) -> pd.DataFrame:
    _check_deff(deff)
    design = check_design(design)
    level = _check_level(level)
    names = as_list(var, "var")
    if not names:
        raise EstimationError("no variable given")
    check_na(na)
    by_names = as_list(by, "by")
    groups = make_groups(design, by_names)
    z = norm_ppf(0.5 + level / 2)  # R's confint(svymean(...)) uses df = Inf
    in_group = groups.codes >= 0
    in_domain = in_group & design.domain
    cols = []
    for name in names:
        y, miss = numeric_column(design, name)
        if not na_rm:
            bad = miss & in_group
            if bad.any():
                raise EstimationError(
                    f"variable has {int(bad.sum())} missing value(s) in the domain and "
                    "na_rm=False", file=design.source, column=name,
                    values=[f"row {i + 1}" for i in np.flatnonzero(bad)],
                    hint="use na_rm=True to exclude them as a domain (counted in n_missing)",
                )
        require_nonempty(design, name, in_group, miss)
        if na == "per_variable" or len(names) == 1:
            warn_empty_groups(groups, name, miss, stacklevel=4)
        cols.append((y, miss))
    y = np.column_stack([c[0] for c in cols])
    G = groups.n_groups
    if na == "listwise" or len(names) == 1:
        any_miss = np.logical_or.reduce([c[1] for c in cols])
        if not (in_domain & ~any_miss).any():
            raise EstimationError(
                "no respondent in the domain has a value of every variable (R's rule drops "
                "rows missing any of them)", file=design.source, values=names,
                hint="use na='per_variable' to analyse each variable on its own rows")
        if len(names) > 1:
            warn_empty_groups(groups, " and ".join(names), any_miss, stacklevel=4)
        codes: np.ndarray = np.where(any_miss, -1, groups.codes)
        nmiss = np.bincount(groups.codes[in_group & any_miss], minlength=G)
        n_missing = np.repeat(nmiss[:, None], len(names), axis=1)
    else:
        miss2 = np.column_stack([c[1] for c in cols])
        codes = np.where(miss2, -1, groups.codes[:, None])
        n_missing = np.column_stack([np.bincount(groups.codes[in_group & m], minlength=G)
                                     for m in miss2.T])
    with np.errstate(over="ignore", invalid="ignore"):
        res = estimate_by(design, y, codes, G, kind, joint=vcov, progress=progress,
                          keep_reps=vcov and design.is_replicate)
    n_used = None
    w_used = None
    if codes.ndim == 2:  # respondents behind each variable's estimate
        ok = design.domain & (design.base_weights != 0)
        n_used = np.column_stack([np.bincount(c[(c >= 0) & ok], minlength=G) for c in codes.T])
        if deff == "replace":
            w_used = np.column_stack([np.bincount(c[(c >= 0) & ok], minlength=G,
                                                  weights=design.base_weights[(c >= 0) & ok])
                                      for c in codes.T])
    for g, e in enumerate(res.groups):
        has = n_used[g] > 0 if n_used is not None else np.full(len(names), e.n > 0)
        for j in np.flatnonzero(has):
            require_finite(design, names[j], np.r_[e.theta[j], e.se[j]], kind)
    rows: list[dict[str, Any]] = []
    for g, e in enumerate(res.groups):
        key = {b: groups.keys.iloc[g][b] for b in by_names}
        se = e.se
        for j, name in enumerate(names):
            est, s = float(e.theta[j]), float(se[j])
            n_j = int(n_used[g, j]) if n_used is not None else e.n
            wsum = float(w_used[g, j]) if w_used is not None else e.weight_sum
            rows.append({**key, "variable": name, "estimate": est, "std_error": s,
                         "ci_low": est - z * s, "ci_high": est + z * s,
                         "deff": _deff_as(deff, e.deff[j], n_j, wsum, design),
                         "n_unweighted": n_j,
                         "n_missing": int(n_missing[g, j])})
    out = tidy_result(rows, by_names, RESULT_COLUMNS, synthetic=design.is_synthetic,
                      n_missing_by=groups.n_missing_by, vcov=res.joint,
                      df=_design_df(design) if vcov else None, several=len(names) > 1,
                      labels=design, level=None,
                      replicates=replicate_estimates(design, res.groups, len(names))
                      if vcov else None)
    return out


@mi_aware
def mean(design: Design, var: str | Sequence[str], by: str | Sequence[str] | None = None, *,
         na_rm: bool = True, na: NaRule = "listwise", level: float = 0.95,
         vcov: bool = False, progress: bool | None = None,
         deff: DeffKind = True) -> pd.DataFrame:
    """Weighted mean of one or several numeric variables, overall or by groups (``svymean``).

    CIs are Wald intervals with normal quantiles, as R's ``confint(svymean(...))``; ``deff`` is
    R's ``deff=TRUE`` (design variance / SRS-without-replacement variance); ``deff="replace"``
    is R's ``deff="replace"`` (against SRS with replacement); ``deff=False`` leaves it NaN.

    Missing values (``na_rm=True``) are excluded as a domain. With several variables the
    default ``na="listwise"`` is R's ``svymean(~a+b, na.rm=TRUE)``: a respondent missing any of
    them is left out of all (counted in ``n_missing``); ``na="per_variable"`` analyses each
    variable on its own non-missing respondents.

    ``vcov=True`` puts the joint covariance of all rows (across groups and variables, R's
    ``svyby(..., covmat=TRUE)``) in ``attrs["vcov"]`` and the design df in ``attrs["df"]``,
    for :func:`surveykit.contrast`. Parameter names: see :mod:`surveykit.estimation._result`.

    Parameters
    ----------
    design : SurveyDesign or ReplicateDesign
        The survey design (a domain: ``design.subset(...)``).
    var : str or sequence of str
        Numeric column(s).
    by : str or sequence of str, optional
        Grouping column(s): one row per group (R's ``svyby``).
    na_rm : bool
        Exclude missing values as a domain (``False``: a missing value is an error).
    na : {"listwise", "per_variable"}
        Missing-value rule shared by every estimator (see above).
    level : float
        Confidence level of the intervals.
    vcov : bool
        Put the joint covariance of all rows in ``attrs["vcov"]`` (for :func:`surveykit.contrast`).
    progress : bool, optional
        Show a progress bar for long replicate-weight runs (default: when stderr is a terminal).
    deff : {True, False, "replace"}
        The design effect in the ``deff`` column: ``True`` as R's ``deff=TRUE`` (against simple
        random sampling without replacement), ``"replace"`` against sampling with replacement.

    Returns
    -------
    pandas.DataFrame
        One row per variable (and group): ``estimate``, ``std_error``, ``ci_low``, ``ci_high``,
        ``deff``, ``n_unweighted``, ``n_missing``.

    Examples
    --------
    >>> df = sk.load_replica()
    >>> design = sk.SurveyDesign(df, weights="weight")
    >>> sk.mean(design, "internet_hours")[["variable", "estimate"]].round(2)
             variable  estimate
    0  internet_hours      ...
    """
    return _describe(design, var, by, "mean", na_rm, level, progress, na, vcov, deff)


@mi_aware
def total(design: Design, var: str | Sequence[str], by: str | Sequence[str] | None = None, *,
          na_rm: bool = True, na: NaRule = "listwise", level: float = 0.95,
          vcov: bool = False, progress: bool | None = None,
          deff: DeffKind = True) -> pd.DataFrame:
    """Weighted (population) total of numeric variables, overall or by groups (``svytotal``).

    Missing values, ``na``, ``vcov`` and ``deff`` as in :func:`mean`.

    Parameters
    ----------
    design : SurveyDesign or ReplicateDesign
        The survey design (a domain: ``design.subset(...)``).
    var : str or sequence of str
        Numeric column(s).
    by : str or sequence of str, optional
        Grouping column(s): one row per group (R's ``svyby``).
    na_rm : bool
        Exclude missing values as a domain.
    na : {"listwise", "per_variable"}
        Missing-value rule shared by every estimator (see above).
    level : float
        Confidence level of the intervals.
    vcov : bool
        Put the joint covariance of all rows in ``attrs["vcov"]`` (for :func:`surveykit.contrast`).
    progress : bool, optional
        Show a progress bar for long replicate-weight runs (default: when stderr is a terminal).
    deff : {True, False, "replace"}
        The design effect in the ``deff`` column: ``True`` as R's ``deff=TRUE`` (against simple
        random sampling without replacement), ``"replace"`` against sampling with replacement.

    Returns
    -------
    pandas.DataFrame

    Examples
    --------
    >>> df = sk.load_replica()
    >>> design = sk.SurveyDesign(df, weights="weight")
    >>> round(float(sk.total(design, "urban")["estimate"].iloc[0]))
    1830
    """
    return _describe(design, var, by, "total", na_rm, level, progress, na, vcov, deff)


def _t_quantile(level: float, df: float) -> float:
    if not np.isfinite(df) or df <= 0:
        return float("nan")
    return float(t_ppf(0.5 + level / 2, df))


def _expit(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def prop_ci(p: np.ndarray, se: np.ndarray, method: str, level: float, df: float, n: int,
            logit_se: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Confidence limits of proportions as R's ``svyciprop(method=...)``.

    - "logit": Wald interval for ``logit(p)`` from the intercept-only quasi-binomial model, with
      t quantiles on ``df`` (for linearisation this SE is ``se / (p (1 - p))``; for replicate
      designs ``logit_se`` is the replicate SE of the replicate logits, as R's ``svyglm``);
    - "xlogit": the same interval with the delta-method SE (always ``se / (p (1 - p))``);
    - "beta": Clopper-Pearson (Korn-Graubard) on the effective sample size
      ``p (1 - p) / var``, multiplied by ``(qt(alpha/2, n - 1) / qt(alpha/2, df))^2``;
    - "wald": ``p +- t * se`` (R's method="mean");
    - "asin": Wald interval for ``asin(sqrt(p))`` (delta-method SE ``se / (2 sqrt(p (1 - p)))``)
      mapped back by ``sin^2``; limits beyond 0 or pi/2 on that scale are clamped there (R
      squares the sine of the negative limit instead, giving a lower limit above 0).

    - "wilson": the Wilson score interval on the effective sample size
      ``n_eff = p (1 - p) / var`` with t quantiles on ``df`` (R 4.5 ``svyciprop(method=
      "wilson")``; not in survey 4.1.1).

    When p is 0 or 1 (so ``se`` is 0) the logit, beta and Wilson intervals collapse to the
    estimate (R returns NaN there).
    """
    alpha = 1.0 - level
    tq = _t_quantile(level, df)
    with np.errstate(divide="ignore", invalid="ignore"):
        if method == "wald":
            return p - tq * se, p + tq * se
        if method in ("logit", "xlogit"):
            eta = np.log(p / (1 - p))
            s = se / (p * (1 - p)) if (method == "xlogit" or logit_se is None) else logit_se
            lo, hi = _expit(eta - tq * s), _expit(eta + tq * s)
            deg = (p <= 0) | (p >= 1)
            return np.where(deg, p, lo), np.where(deg, p, hi)
        if method == "asin":  # delta method on asin(sqrt(p)), back-transformed by sin^2
            s = se / (2 * np.sqrt(p * (1 - p)))
            a = np.arcsin(np.sqrt(p))
            lo = np.sin(np.clip(a - tq * s, 0.0, np.pi / 2)) ** 2
            hi = np.sin(np.clip(a + tq * s, 0.0, np.pi / 2)) ** 2
            deg = (p <= 0) | (p >= 1)
            return np.where(deg, p, lo), np.where(deg, p, hi)
        if method == "wilson":
            n_eff = p * (1 - p) / se**2
            t2 = tq * tq
            root = np.sqrt(4 * n_eff * p * (1 - p) + t2)
            centre, half = p + t2 / (2 * n_eff), tq / (2 * n_eff) * root
            denom = 1 + t2 / n_eff
            deg = (p <= 0) | (p >= 1)
            return (np.where(deg, p, (centre - half) / denom),
                    np.where(deg, p, (centre + half) / denom))
        if method == "beta":
            n_eff = p * (1 - p) / se**2
            if n > 1 and np.isfinite(df) and df > 0:
                n_eff = n_eff * (t_ppf(alpha / 2, n - 1) / t_ppf(alpha / 2, df)) ** 2
            else:
                n_eff = n_eff * np.nan
            lo = beta_ppf(alpha / 2, n_eff * p, n_eff * (1 - p) + 1)
            hi = beta_ppf(1 - alpha / 2, n_eff * p + 1, n_eff * (1 - p))
            deg = (p <= 0) | (p >= 1)
            return np.where(deg, p, lo), np.where(deg, p, hi)
    raise EstimationError(f"unknown CI method {method!r}", hint=f"use one of {CI_METHODS}")


def _logit_se(design: Design, e: DomainEstimate) -> np.ndarray | None:
    """Replicate SE of logit(p_r) (R's svyglm on a replicate design); None for linearisation."""
    if e.reps is None:
        return None
    with np.errstate(divide="ignore", invalid="ignore"):
        lt = np.log(e.reps / (1 - e.reps))
        lf = np.log(e.theta / (1 - e.theta))
    ok = np.isfinite(lf)
    out = np.full(len(e.theta), np.nan)
    if ok.any():
        v = replicate_cov(design, lf[ok], lt[:, ok])  # type: ignore[arg-type]
        out[ok] = np.sqrt(np.clip(np.diag(v), 0, None))
    return out


def _indicator_matrix(cat: np.ndarray, k: int, rows: np.ndarray) -> np.ndarray:
    """n x k 0/1 indicators of the level codes ``cat`` on ``rows`` (zero elsewhere)."""
    ind = np.zeros((len(cat), k))
    idx = np.flatnonzero(rows & (cat >= 0))
    ind[idx, cat[idx]] = 1.0
    return ind


def _likelihood_limits(design: Design, e: DomainEstimate, ind: np.ndarray, used: np.ndarray,
                       group: np.ndarray, miss: np.ndarray, df: float, level: float
                       ) -> tuple[np.ndarray, np.ndarray]:
    """R's ``svyciprop(method="likelihood")`` for every category of a group (see
    :mod:`surveykit.estimation.profile_ci`): the rows R's ``svyglm`` sees are the group's rows
    (all rows for a calibrated design, whose subsets keep them with zero weight)."""
    if isinstance(design, ReplicateDesign):
        raise EstimationError(
            "likelihood intervals need a linearisation design (R's svyciprop returns NA for "
            "replicate-weight designs)", file=design.source,
            hint="use ci='logit' (R's default), 'beta' or 'xlogit' on a replicate design")
    rows = group & design.domain  # rows of weight 0 too: R's svyglm keeps them
    if design.calibrations:
        rows = np.ones(design.n_total, dtype=bool)
    w_all = design.weights
    mean_weight = float(w_all[rows].sum() / rows.sum())
    n_model = int((rows & ~miss).sum())
    mean_used = float(w_all[rows & ~miss].sum() / (design.n_total if design.calibrations
                                                    else n_model))
    idx = np.flatnonzero(used & design.domain & (design.base_weights != 0))
    logit_se = _logit_se(design, e)
    p = e.theta
    with np.errstate(divide="ignore", invalid="ignore"):
        se_l = e.se / (p * (1 - p)) if logit_se is None else logit_se
    lo, hi = np.empty(len(p)), np.empty(len(p))
    for j in range(len(p)):
        lo[j], hi[j] = likelihood_ci(ind[idx, j], w_all[idx], mean_weight, mean_used, n_model,
                                     float(p[j]), float(se_l[j]), df, level)
    return lo, hi


def _ci_df_n(design: Design, groups: Groups) -> tuple[np.ndarray, np.ndarray]:
    """Degrees of freedom and row counts that R's ``svyciprop`` uses for each group's interval.

    R takes ``degf(design)`` and ``nrow(design)`` of the design it is given: missing values of
    the variable are still in it (they are dropped later, by ``svymean``/``svyglm``), so both
    count the group's rows with or without a value; ``nrow`` also counts rows of weight 0
    (``degf`` does not). ``svyby`` hands each group a subset that drops the other rows, except
    for calibrated designs, whose subsets keep every row with zero weight: there ``nrow`` is
    the full sample size.
    """
    G = groups.n_groups
    rows = (groups.codes >= 0) & design.domain & (design.base_weights != 0)
    any_weight = groups.codes_any_weight  # nrow counts rows of weight 0 too, as R's
    n = np.bincount(any_weight[(any_weight >= 0) & design.domain], minlength=G)
    if isinstance(design, ReplicateDesign):
        return (np.array([float(replicate_df(design, rows & (groups.codes == g)))
                          for g in range(G)]), n)
    cell = design.psu_codes * G
    cell += groups.codes
    np.putmask(cell, ~rows, design.n_psu * G)
    pres = np.bincount(cell, minlength=design.n_psu * G + 1)[:-1].reshape(design.n_psu, G) > 0
    df = np.array([float(design.df_psu(pres[:, g])) for g in range(G)])
    if design.calibrations:
        n = np.full(G, design.n_total)
    return df, n


def check_na(na: str) -> str:
    """The missing-value rule ``na`` of every estimator, or an EstimationError."""
    if na not in ("listwise", "per_variable"):
        raise EstimationError(f"unknown missing-value rule na={na!r}",
                              hint="use 'listwise' (R's rule) or 'per_variable'")
    return na


def require_listwise(na: str, names: Sequence[str], what: str) -> None:
    """The missing-value rule of an estimate that needs several values of each respondent at
    once (a cross-table, a covariance): ``na="per_variable"`` has no meaning there."""
    check_na(na)
    if na == "per_variable" and len(names) > 1:
        raise EstimationError(
            f"{what} needs the values of {' and '.join(names)} of the same respondents: "
            "na='listwise' is its only rule", values=[na],
            hint="leave na='listwise' (respondents missing any of them are excluded as a "
                 "domain and counted in n_missing)")


@mi_aware
def proportion(design: Design, var: str | Sequence[str], by: str | Sequence[str] | None = None,
               *, ci: CIMethod = "logit", level: float = 0.95, na: NaRule = "listwise",
               vcov: bool = False, progress: bool | None = None, deff: DeffKind = True,
               scale: Sequence[Any] | None = None) -> pd.DataFrame:
    """Weighted share of each category of ``var`` (one variable or a list), overall or by groups.

    One row per category (``level``, in sorted code order; every category of the variable is
    listed in every group, with 0 where absent). Estimates and SEs are R's
    ``svymean(~factor(var))``; CIs follow ``svyciprop(method=ci, na.rm=TRUE)`` (via ``svyby``
    for groups) with t quantiles on the design degrees of freedom of the group, which, as in R,
    still count the group's respondents with a missing ``var`` (see :func:`_ci_df_n`; to leave
    them out of the df too, pass ``design.subset(<var not missing>)``, R's ``subset`` idiom).
    ``deff`` as R's ``deff=TRUE`` (``deff="replace"``: against SRS with replacement, as R).
    ``n_unweighted`` is the number of respondents in the group
    with a non-missing ``var``. ``vcov=True``: joint covariance of all rows in
    ``attrs["vcov"]`` (names "group:var:level"), as :func:`mean`.

    A list of variables (an item battery) gives the long form: every variable x category (x
    group), each variable's rows as its own call would give them. ``na`` as in :func:`mean`:
    ``"listwise"`` (default) leaves a respondent missing any of the variables out of all of
    them (counted in ``n_missing``), ``"per_variable"`` uses each variable's own respondents;
    with one variable both are the same. ``scale``: the codes to list for every variable (in
    that order, 0 where absent; :func:`surveykit.likert` passes the battery's shared scale).

    Parameters
    ----------
    design : SurveyDesign or ReplicateDesign
        The survey design (a domain: ``design.subset(...)``).
    var : str or sequence of str
        Categorical column, or a list of items (long form).
    by : str or sequence of str, optional
        Grouping column(s): one row per group (R's ``svyby``).
    ci : {"logit", "beta", "xlogit", "wald", "asin", "likelihood", "mean", "wilson"}
        Interval method, as R's ``svyciprop(method=)``.
    level : float
        Confidence level of the intervals.
    na : {"listwise", "per_variable"}
        Missing-value rule shared by every estimator (see above).
    vcov : bool
        Put the joint covariance of all rows in ``attrs["vcov"]`` (for :func:`surveykit.contrast`).
    progress : bool, optional
        Show a progress bar for long replicate-weight runs (default: when stderr is a terminal).
    deff : {True, False, "replace"}
        The design effect in the ``deff`` column: ``True`` as R's ``deff=TRUE`` (against simple
        random sampling without replacement), ``"replace"`` against sampling with replacement.
    scale : sequence, optional
        The codes to list for every variable, in order (0 where absent).

    Returns
    -------
    pandas.DataFrame
        One row per category (and group): ``level``, ``level_label``, ``estimate``, ``std_error``,
        ``ci_low``, ``ci_high``, ``deff``, ``n_unweighted``, ``n_missing``.

    Examples
    --------
    >>> df = sk.load_replica()
    >>> design = sk.SurveyDesign(df, weights="weight")
    >>> sk.proportion(design, "urban")[["level_label", "estimate"]].round(3)
      level_label  estimate
    0       rural     0.172
    1       urban     0.828
    """
    design = check_design(design)
    check_na(na)
    names = as_list(var, "var")
    if not names:
        raise EstimationError("proportion(): no variable given")
    if len(set(names)) != len(names):
        raise EstimationError("proportion(): a variable is listed twice",
                              values=sorted({n for n in names if names.count(n) > 1}))
    if isinstance(var, str) and scale is None:
        return _proportion_one(design, var, by, ci, level, vcov, progress, None, None, deff)
    exclude = None
    if na == "listwise" and len(names) > 1:
        exclude = np.logical_or.reduce([categorical_column(design, n)[2] for n in names])
        if not (design.domain & (design.base_weights != 0) & ~exclude).any():
            raise EstimationError(
                "no respondent in the domain has a value of every variable (na='listwise' "
                "drops rows missing any of them)", file=design.source, values=names,
                hint="use na='per_variable' to analyse each variable on its own rows")
    parts = [_proportion_one(design, n, by, ci, level, False, progress, exclude, scale, deff)
             for n in names]
    out = pd.concat(parts, ignore_index=True)
    out.attrs.update(parts[0].attrs)
    out.attrs["variable_labels"] = {k: v for p in parts
                                    for k, v in p.attrs.get("variable_labels", {}).items()}
    out = mark(out, design.is_synthetic)
    if vcov:
        by_names = as_list(by, "by")
        joint = _joint_proportions(design, names, by_names, exclude, scale, out)
        names_p = parameter_names(out, by_names, several=True)
        attach_covariance(out, joint, names_p, _design_df(design))
    return out


def _joint_proportions(design: Design, names: list[str], by_names: list[str],
                       exclude: np.ndarray | None, scale: Sequence[Any] | None,
                       out: pd.DataFrame) -> np.ndarray:
    """Joint covariance of the rows of a several-variable :func:`proportion` (order: variable,
    group, level), from one :func:`estimate_by` of all the category indicators."""
    groups = make_groups(design, by_names)
    G = groups.n_groups
    cols, codes = [], []
    for n in names:
        cat, levels, miss = _scaled(design, n, scale)
        if exclude is not None:
            miss = miss | exclude
        k = len(levels)
        ind = np.zeros((design.n_total, k))
        ok = np.flatnonzero(cat >= 0)
        ind[ok, cat[ok]] = 1.0
        cols.append(ind)
        codes += [np.where(miss, -1, groups.codes)] * k
    y = np.hstack(cols)
    with np.errstate(over="ignore", invalid="ignore"):
        res = estimate_by(design, y, np.column_stack(codes), G, "mean", joint=True)
    vj = res.joint  # group-major: group, then (variable, level)
    p = y.shape[1]
    sizes = [c.shape[1] for c in cols]
    starts = np.cumsum([0, *sizes[:-1]])
    order = [g * p + s + j for s, k in zip(starts, sizes, strict=True) for g in range(G)
             for j in range(k)]  # variable-major, as the rows of the result
    if len(order) != len(out):
        raise EstimationError("internal: joint covariance does not match the rows")
    return vj[np.ix_(order, order)]


def _scaled(design: Design, var: str, scale: Sequence[Any] | None
            ) -> tuple[np.ndarray, list[Any], np.ndarray]:
    """:func:`categorical_column`, its codes mapped onto ``scale`` when one is given."""
    cat, levels, miss = categorical_column(design, var)
    if scale is None:
        return cat, levels, miss
    from surveykit.labels import as_code

    pos = {as_code(c): i for i, c in enumerate(scale)}
    bad = [lv for lv in levels if as_code(lv) not in pos]
    if bad:
        raise EstimationError("values outside the scale", file=design.source, column=var,
                              values=bad)
    lookup = np.array([pos[as_code(lv)] for lv in levels], dtype=np.intp)
    cat = np.where(cat >= 0, lookup[np.maximum(cat, 0)], -1).astype(np.intp)
    return cat, list(scale), miss


def _proportion_one(design: Design, var: str, by: str | Sequence[str] | None, ci: str,
                    level: float, vcov: bool, progress: bool | None,
                    exclude: np.ndarray | None, scale: Sequence[Any] | None,
                    deff: DeffKind = True) -> pd.DataFrame:
    """:func:`proportion` of one variable; ``exclude``: rows to treat as missing too (the
    listwise rule of several variables); ``scale``: the codes to list."""
    level = _check_level(level)
    if ci not in CI_METHODS:
        raise EstimationError(f"unknown CI method {ci!r}", hint=f"use one of {CI_METHODS}")
    _check_deff(deff)
    if not isinstance(var, str):
        raise EstimationError("proportion() takes variable names", values=[var])
    by_names = as_list(by, "by")
    groups = make_groups(design, by_names)
    cat, levels, miss = _scaled(design, var, scale)
    if exclude is not None:
        miss = miss | exclude
        cat = np.where(miss, -1, cat)
    require_nonempty(design, var, groups.codes >= 0, miss)
    warn_empty_groups(groups, var, miss)
    G = groups.n_groups
    codes = np.where(miss, -1, groups.codes)
    with np.errstate(over="ignore", invalid="ignore"):
        res = estimate_by(design, None, codes, G, "mean", cat=cat, n_levels=len(levels),
                          joint=vcov, keep_reps=(ci in ("logit", "likelihood")
                                                 or (vcov and design.is_replicate)),
                          progress=progress)
    for e in res.groups:
        if e.n:
            require_finite(design, var, np.r_[e.theta, e.se], "proportion")
    nmiss = np.bincount(groups.codes[(groups.codes >= 0) & miss], minlength=G)
    dfs, n_cis = _ci_df_n(design, groups)
    rows: list[dict[str, Any]] = []
    for g, e in enumerate(res.groups):
        key = {b: groups.keys.iloc[g][b] for b in by_names}
        se = e.se
        if ci == "likelihood":
            group = groups.codes_any_weight == g
            used = group & ~miss
            lo, hi = _likelihood_limits(design, e, _indicator_matrix(cat, len(levels), used),
                                        used, group, miss, float(dfs[g]), level)
        else:
            lo, hi = prop_ci(e.theta, se, ci, level, float(dfs[g]), int(n_cis[g]),
                             _logit_se(design, e))
        for j, lv in enumerate(levels):
            rows.append({**key, "variable": var, "level": lv, "estimate": float(e.theta[j]),
                         "std_error": float(se[j]), "ci_low": float(lo[j]),
                         "ci_high": float(hi[j]),
                         "deff": _deff_as(deff, e.deff[j], e.n, e.weight_sum, design),
                         "n_unweighted": e.n, "n_missing": int(nmiss[g])})
    out = tidy_result(rows, by_names, PROPORTION_COLUMNS, synthetic=design.is_synthetic,
                      n_missing_by=groups.n_missing_by, vcov=res.joint,
                      df=_design_df(design) if vcov else None, labels=design,
                      replicates=replicate_estimates(design, res.groups, len(levels))
                      if vcov else None)
    return out
