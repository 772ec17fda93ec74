"""Two-way tables with design-based tests of independence (R's ``svychisq``: Rao–Scott F and
chi-square, exact/saddlepoint linear combination, Wald and adjusted Wald).

The test: Pearson's X^2 on the weighted table scaled to the sample size, divided by the mean
generalised design effect; the F reference distribution has ``d0 = tr(D)^2 / tr(D^2)`` and
``d0 * df_design`` degrees of freedom, where ``D`` is the generalised design-effect matrix of the
interaction contrasts (Rao & Scott 1984, second-order correction as in R/surveychisq.R).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from surveykit._dist import chi2_sf, f_sf
from surveykit.design import ReplicateDesign
from surveykit.errors import EstimationError
from surveykit.estimation._core import (
    Design,
    categorical_column,
    check_design,
    estimate_by,
    estimate_domains,
    make_groups,
    replicate_df,
    require_nonempty,
)
from surveykit.estimation.descriptive import (
    CI_METHODS,
    _ci_df_n,
    _indicator_matrix,
    _likelihood_limits,
    _logit_se,
    check_na,
    prop_ci,
    proportion,
)
from surveykit.estimation.quadform import fsum_sf
from surveykit.labels import codes, label_of, value_labels, variable_label
from surveykit.mi.dispatch import mi_aware
from surveykit.provenance import mark
from surveykit.testresult import TestResult


@dataclass
class CrosstabResult:
    """Result of :func:`crosstab`.

    ``table``: one row per (row category, column category) with columns ``row``,
    ``row_label``, ``col``, ``col_label`` (codes and their value labels), then the share asked
    for by ``percent`` (``"column"``: of the row category within the column category, the
    default, so ``crosstab(d, outcome, group)`` reads "outcome within group"; ``"row"``: of
    the column category within the row category; ``"cell"``: of the cell in the table):
    ``estimate``, ``std_error``, ``ci_low``, ``ci_high`` (R's ``svyciprop``; NaN with
    ``ci=False``), and every share with its SE whatever ``percent`` is: ``col_share``,
    ``col_share_se``, ``row_share``, ``row_share_se``, ``cell_share``, ``cell_share_se``;
    ``n_unweighted`` (respondents in the cell). ``percent`` says which share ``estimate`` is.
    (Before issue 20 ``estimate`` was always the cell share: use ``percent="cell"`` or the
    ``cell_share`` column.)

    ``test``: a :class:`~surveykit.testresult.TestResult` — ``statistic`` on the scale of
    its reference distribution ``method`` ("F" for statistic="F"/"Wald"/"adjWald", "Chisq" for
    "Chisq": X^2 / mean design effect on k df, "F-sum"/"chisq-sum" for "lincom"/"saddlepoint":
    X^2 against a weighted sum of chi-squares), ``df``, ``ddf`` (inf for chi-square
    references), ``p_value``; ``extras``: ``chisq`` (Pearson's X^2 on the weighted table
    scaled to the rows of the design's domain, missing values included, as R's
    ``svytable(Ntotal = nrow(design))``), ``n`` (respondents used), ``n_missing`` (respondents
    of the domain missing either variable, excluded as a domain), ``statistic`` (the option).
    Reading it by the old dict keys (``statistic`` name, ``value`` as R reports it, ``F``,
    ``df1``, ``df2``, ...) works for one release with a DeprecationWarning.

    Parameters
    ----------
    table : pandas.DataFrame
        The tidy shares (see above).
    test : TestResult
        The test of independence.
    row : str
        The row variable.
    col : str
        The column variable.
    percent : {"column", "row", "cell"}
        Which share ``estimate`` holds.

    Examples
    --------
    >>> df = sk.load_replica()
    >>> design = sk.SurveyDesign(df, weights="weight")
    >>> ct = sk.crosstab(design, "approval", "urban")
    >>> ct.row, ct.col, ct.percent, ct.test.method
    ('approval', 'urban', 'column', 'F')
    """

    table: pd.DataFrame
    test: TestResult = field(default_factory=lambda: TestResult.chisq(0.0, 1))
    row: str = ""
    col: str = ""
    percent: str = "column"

    def __repr__(self) -> str:  # test line and row percentages, <= 20 lines
        from surveykit.display import crosstab_repr

        return crosstab_repr(self)

    def _repr_html_(self) -> str:
        from surveykit.display import crosstab_html

        return crosstab_html(self)


def _design_effect_matrix(mean2: np.ndarray, v: np.ndarray, nr: int, nc: int,
                          n: int) -> np.ndarray:
    """Rao–Scott generalised design-effect matrix of the interaction contrasts."""
    r_idx = np.tile(np.arange(nr), nc)  # cells ordered with rows varying fastest (R)
    c_idx = np.repeat(np.arange(nc), nr)
    x1 = np.column_stack([np.ones(nr * nc)]
                         + [(r_idx == i).astype(float) for i in range(1, nr)]
                         + [(c_idx == j).astype(float) for j in range(1, nc)])
    x12 = np.column_stack([((r_idx == i) & (c_idx == j)).astype(float)
                           for j in range(1, nc) for i in range(1, nr)])
    coef, *_ = np.linalg.lstsq(x1, x12, rcond=None)
    cmat = x12 - x1 @ coef
    inv = np.where(mean2 == 0, 0.0, 1.0 / np.where(mean2 == 0, 1.0, mean2))
    denom = cmat.T @ (inv[:, None] / n * cmat)
    numr = cmat.T @ (inv[:, None] * v * inv[None, :]) @ cmat
    return np.linalg.solve(denom, numr)


def _wald_test(design: Design, cell: np.ndarray, use: np.ndarray, nr: int, nc: int,
               nu: float, statistic: str) -> dict[str, float]:
    """R's design-based Wald test of association (``svychisq(statistic="Wald"/"adjWald")``):
    the interaction contrasts ``T_ij - T_i. T_.j / N`` of the estimated totals, their delta-method
    covariance, and the Wald statistic over the (r-1)(c-1) cells with i, j > 1."""
    k = nr * nc
    y = np.zeros((len(cell), k + nr + nc + 1))
    idx = np.flatnonzero(use)
    y[idx, cell[use]] = 1.0
    y[idx, k + cell[use] % nr] = 1.0
    y[idx, k + nr + cell[use] // nr] = 1.0
    y[idx, -1] = 1.0
    (e,) = estimate_domains(design, y, [use], "total")
    t, vt = e.theta, e.vcov
    rt, ct, big_n = t[k:k + nr], t[k + nr:k + nr + nc], t[-1]
    r_of = np.arange(k) % nr
    c_of = np.arange(k) // nr
    jac = np.hstack([np.eye(k),
                     -(r_of[:, None] == np.arange(nr)).astype(float) * (ct[c_of] / big_n)[:, None],
                     -(c_of[:, None] == np.arange(nc)).astype(float) * (rt[r_of] / big_n)[:, None],
                     (rt[r_of] * ct[c_of] / big_n**2)[:, None]])
    resid = t[:k] - rt[r_of] * ct[c_of] / big_n
    vv = jac @ vt @ jac.T
    keep = (r_of > 0) & (c_of > 0)
    w = float(resid[keep] @ np.linalg.solve(vv[np.ix_(keep, keep)], resid[keep]))
    numdf = float((nr - 1) * (nc - 1))
    if statistic == "Wald":
        f_stat, ddf = w / numdf, nu
    else:
        ddf = nu - numdf + 1
        f_stat = w * ddf / (numdf * nu)
    p = float(f_sf(f_stat, numdf, ddf)) if ddf > 0 else float("nan")
    return {"value": f_stat, "df1": numdf, "df2": float(ddf), "p_value": p}


def _design_rows_df(design: Design) -> tuple[int, float]:
    """Rows and denominator degrees of freedom of R's ``svychisq`` for the design's domain.

    R counts the rows and PSUs of the design object it is given, before dropping missing values
    of the two variables: for a domain of a plain design (``subset`` drops the other rows) the
    domain's rows; for a calibrated design (``subset`` keeps every row) the whole sample; for a
    replicate design the rank-based ``degf`` of the domain's rows.
    """
    rows = design.domain
    if isinstance(design, ReplicateDesign):
        return int(rows.sum()), float(replicate_df(design, rows))
    if design.calibrations:
        rows = np.ones(design.n_total, dtype=bool)
    psu = len(np.unique(design.psu_codes[rows]))
    strata = len(np.unique(design.strata_codes[rows]))
    return int(rows.sum()), float(psu - strata)


STATISTICS = ("F", "Chisq", "Wald", "adjWald", "lincom", "saddlepoint")


PERCENTS = ("column", "row", "cell")


@mi_aware
def crosstab(design: Design, row: str, col: str, *, percent: str = "column", ci: bool = True,
             ci_method: str = "logit", statistic: str = "F", level: float = 0.95,
             na: str = "listwise") -> CrosstabResult:
    """Weighted two-way table of ``row`` x ``col`` with shares, their CIs and a design-based
    test of independence.

    ``percent`` picks the share in ``estimate`` (see :class:`CrosstabResult`): ``"column"``
    (default) is the share of each ``row`` category within each ``col`` category, R's
    ``svyby(~I(row == k), ~col, design, svyciprop)``, so ``crosstab(d, "approval", "region")``
    is approval within each region; ``"row"`` the share of each ``col`` category within each
    ``row`` category; ``"cell"`` the cell's share of the table (``svyciprop(~I(row == k & col
    == j))``). ``ci=True`` adds ``ci_low``/``ci_high`` by ``svyciprop(method=ci_method)``
    (default "logit", as R; any method of :func:`surveykit.proportion`) on the respondents
    with both values (``na="listwise"``, the only rule a two-way table has: a respondent
    needs both values to be in a cell; they are excluded as a domain and counted).

    Matches R's ``svychisq(~row + col, design, statistic=...)`` and ``svymean`` of the cell
    indicators. ``statistic``:

    - ``"F"`` (default): Pearson's X^2 / tr(Delta) on F(d0, d0 nu), the Rao–Scott second-order
      correction (d0 = tr(Delta)^2 / tr(Delta^2));
    - ``"Chisq"``: X^2 / mean eigenvalue of Delta on chi2((r-1)(c-1)), the first-order
      Rao–Scott correction (``test["value"]`` is X^2, as R reports);
    - ``"lincom"``: X^2 against its asymptotic exact distribution, ``sum_j a_j chi2_1`` (a_j the
      eigenvalues of Delta), with the denominator df of the design (R's ``pFsum``, integration;
      replicate designs: ``pchisqsum``); ``"saddlepoint"``: the same by R's saddlepoint
      approximation (what R computes for "lincom" when CompQuadForm is not installed);
    - ``"Wald"`` / ``"adjWald"``: design-based Wald test of the interaction (cell total minus
      row total x column total / N) on F((r-1)(c-1), nu), adjusted as
      ``W (nu - d + 1) / (d nu)`` on F(d, nu - d + 1).

    nu is the design df (PSUs - strata of the design's rows; replicate designs: R's ``degf``).
    Respondents missing either variable are excluded as a domain (``test["n_missing"]``).
    ``level``: the confidence level of the intervals.

    Parameters
    ----------
    design : SurveyDesign or ReplicateDesign
        The survey design (a domain: ``design.subset(...)``).
    row : str
        Row variable (the outcome, in the usual layout).
    col : str
        Column variable (the group).
    percent : {"column", "row", "cell"}
        Which share ``estimate`` holds.
    ci : bool
        Add ``svyciprop`` intervals of the shares.
    ci_method : str
        Interval method of :func:`surveykit.proportion`.
    statistic : {"F", "Chisq", "Wald", "adjWald", "lincom", "saddlepoint"}
        The test of independence (R's ``svychisq(statistic=)``).
    level : float
        Confidence level of the intervals.
    na : {"listwise"}
        Missing-value rule (a cell needs both values).

    Returns
    -------
    CrosstabResult
        ``.table`` (tidy shares) and ``.test`` (a ``TestResult``).

    Examples
    --------
    >>> df = sk.load_replica()
    >>> design = sk.SurveyDesign(df, weights="weight")
    >>> tab = sk.crosstab(design, "urban", "region")
    >>> tab.test.method
    'F'
    >>> tab.table.groupby("col")["estimate"].sum().round(6).tolist()
    [1.0, 1.0, 1.0]
    """
    design = check_design(design)
    check_na(na)
    if na != "listwise":
        raise EstimationError(
            "a cross-table needs both values of a respondent: na='listwise' is its only rule",
            values=[na], hint="leave na at 'listwise' (respondents missing either variable "
                              "are excluded as a domain and counted in test['n_missing'])")
    if percent not in PERCENTS:
        raise EstimationError(f"unknown percent={percent!r}",
                              hint="use 'column' (within each column category), 'row' or 'cell'")
    if ci_method not in CI_METHODS:
        raise EstimationError(f"unknown ci_method={ci_method!r}",
                              hint=f"use one of {', '.join(CI_METHODS)}")
    if statistic not in STATISTICS:
        raise EstimationError(f"unknown crosstab statistic {statistic!r}",
                              hint=f"use one of {', '.join(STATISTICS)}")
    if row == col:
        raise EstimationError("crosstab needs two different variables", column=row)
    rcodes, rlevels, rmiss = categorical_column(design, row)
    ccodes, clevels, cmiss = categorical_column(design, col)
    use = design.domain & (design.base_weights != 0) & ~rmiss & ~cmiss
    n_missing = int((design.domain & (rmiss | cmiss)).sum())
    require_nonempty(design, f"{row} x {col}", np.ones(design.n_total, dtype=bool),
                     rmiss | cmiss)
    # levels present among the rows used
    r_present = np.unique(rcodes[use])
    c_present = np.unique(ccodes[use])
    nr, nc = len(r_present), len(c_present)
    if nr < 2 or nc < 2:
        raise EstimationError(
            f"crosstab needs at least 2 categories in each variable among the respondents "
            f"used; {row!r} has {nr}, {col!r} has {nc}", file=design.source,
            column=row if nr < 2 else col,
        )
    rmap = np.full(len(rlevels), -1)
    rmap[r_present] = np.arange(nr)
    cmap = np.full(len(clevels), -1)
    cmap[c_present] = np.arange(nc)
    cell = np.where(use, rmap[np.maximum(rcodes, 0)] + nr * cmap[np.maximum(ccodes, 0)], -1)
    ind = np.zeros((len(cell), nr * nc))
    ind[np.flatnonzero(use), cell[use]] = 1.0
    (e,) = estimate_domains(design, ind, [use], "mean", one_hot=True)
    n = e.n
    n_rows, nu = _design_rows_df(design)
    mean2, v = e.theta, e.vcov
    # Pearson X^2 on the weighted table scaled to the design's rows (R: svytable(...,
    # Ntotal = nrow(design)), missing values included); the F statistic does not depend on it
    obs = (mean2 * n_rows).reshape(nc, nr).T
    expct = np.outer(obs.sum(axis=1), obs.sum(axis=0)) / n_rows
    with np.errstate(divide="ignore", invalid="ignore"):
        chisq = float(np.nansum((obs - expct) ** 2 / expct))
    eig = None
    test: dict[str, Any] = {"statistic": statistic, "chisq": chisq, "n": n,
                            "n_missing": n_missing}
    if statistic in ("Wald", "adjWald"):
        test.update(_wald_test(design, cell, use, nr, nc, nu, statistic))
    else:
        delta = _design_effect_matrix(mean2, v, nr, nc, n_rows)
        tr = float(np.trace(delta))
        d0 = tr**2 / float(np.trace(delta @ delta))
        ddf = d0 * nu
        if statistic == "F":
            f_stat = chisq / tr
            p_value = float(f_sf(f_stat, d0, ddf)) if ddf > 0 else float("nan")
            test.update({"F": f_stat, "value": f_stat, "df1": d0, "df2": ddf,
                         "p_value": p_value})
        elif statistic == "Chisq":
            k = delta.shape[1]
            test.update({"value": chisq, "df1": float(k), "df2": float("nan"),
                         "p_value": float(chi2_sf(chisq / (tr / k), k)), "trace": tr})
        else:
            eig = np.linalg.eigvals(delta).real
            ddf_used = float("inf") if isinstance(design, ReplicateDesign) else ddf
            method = "integration" if statistic == "lincom" else "saddlepoint"
            test.update({"value": chisq, "df1": float("nan"), "df2": float("nan"),
                         "p_value": fsum_sf(chisq, eig, ddf_used, method),
                         "ddf_used": ddf_used})
    if "F" not in test:
        test["F"] = test["value"] if statistic in ("Wald", "adjWald") else float("nan")

    sub = design.subset(use)
    method = ci_method if ci else "wald"
    by_row = proportion(sub, col, by=row, ci=method, level=level)
    by_col = proportion(sub, row, by=col, ci=method, level=level)
    shares: dict[str, dict[tuple[Any, Any], tuple[float, ...]]] = {
        "row": {(r, c): v for r, c, *v in zip(
            by_row[row], by_row["level"], by_row["estimate"], by_row["std_error"],
            by_row["ci_low"], by_row["ci_high"], strict=True)},
        "column": {(r, c): v for c, r, *v in zip(
            by_col[col], by_col["level"], by_col["estimate"], by_col["std_error"],
            by_col["ci_low"], by_col["ci_high"], strict=True)}}
    cell_lo, cell_hi = _cell_ci(sub, cell, nr * nc, method, level)
    counts = np.bincount(cell[use], minlength=nr * nc)
    se = e.se
    nan4 = (np.nan,) * 4
    recs = []
    for i in range(nr):
        for j in range(nc):
            k = i + nr * j
            rv, cv = rlevels[r_present[i]], clevels[c_present[j]]
            rs = shares["row"].get((rv, cv), nan4)
            cs = shares["column"].get((rv, cv), nan4)
            ce = (float(mean2[k]), float(se[k]), float(cell_lo[k]), float(cell_hi[k]))
            main = {"row": rs, "column": cs, "cell": ce}[percent]
            recs.append({"row": rv, "col": cv, "estimate": float(main[0]),
                         "std_error": float(main[1]),
                         "ci_low": float(main[2]) if ci else np.nan,
                         "ci_high": float(main[3]) if ci else np.nan,
                         "col_share": float(cs[0]), "col_share_se": float(cs[1]),
                         "row_share": float(rs[0]), "row_share_se": float(rs[1]),
                         "cell_share": ce[0], "cell_share_se": ce[1],
                         "n_unweighted": int(counts[k])})
    table = pd.DataFrame(recs)
    for key, var in (("row", row), ("col", col)):  # integer codes and their value labels
        table[key] = codes(table[key])
        labels = value_labels(design, var)
        table.insert(table.columns.get_loc(key) + 1, f"{key}_label",
                     [label_of(labels, c) for c in table[key]])
    table.attrs["percent"] = percent
    table.attrs["level"] = level
    table.attrs["variable_labels"] = {v: variable_label(design, v) for v in (row, col)}
    table = mark(table, design.is_synthetic)
    return CrosstabResult(table=table, test=_test_result(test, eig), row=row, col=col,
                          percent=percent)


def _test_result(old: dict[str, Any], eig: np.ndarray | None) -> TestResult:
    """The TestResult of a crosstab test; ``old`` (the pre-TestResult dict) is kept as legacy."""
    extras = {"chisq": old["chisq"], "n": old["n"], "n_missing": old["n_missing"],
              "statistic": old["statistic"]}
    name = {"F": "Rao-Scott second-order", "Chisq": "Rao-Scott first-order",
            "Wald": "design-based Wald", "adjWald": "adjusted design-based Wald",
            "lincom": "Rao-Scott, exact (linear combination)",
            "saddlepoint": "Rao-Scott, saddlepoint"}[old["statistic"]]
    kind = old["statistic"]
    if kind in ("F", "Wald", "adjWald"):
        return TestResult(old["value"], old["df1"], old["df2"], old["p_value"], "F", name=name,
                          extras=extras, legacy=old)
    if kind == "Chisq":
        k = old["df1"]
        return TestResult(old["chisq"] / (old["trace"] / k), k, np.inf, old["p_value"],
                          "Chisq", name=name, extras=extras,
                          legacy={a: b for a, b in old.items() if a != "trace"})
    assert eig is not None
    ddf = old["ddf_used"]
    extras["eigenvalues"] = tuple(float(x) for x in eig)
    legacy = {a: b for a, b in old.items() if a != "ddf_used"}
    return TestResult(old["chisq"], float(len(eig)), ddf, old["p_value"],
                      "chisq-sum" if np.isinf(ddf) else "F-sum", name=name, extras=extras,
                      legacy=legacy)

def _cell_ci(sub: Design, cell: np.ndarray, k: int, method: str, level: float
             ) -> tuple[np.ndarray, np.ndarray]:
    """``svyciprop(~I(cell == k), sub, method=method)`` limits of every cell of the table
    (``sub``: the respondents with both values), as :func:`proportion` computes them."""
    groups = make_groups(sub, [])
    codes_ = np.where(cell >= 0, groups.codes, -1)
    with np.errstate(over="ignore", invalid="ignore"):
        res = estimate_by(sub, None, codes_, 1, "mean", cat=np.maximum(cell, 0), n_levels=k,
                          keep_reps=method in ("logit", "likelihood"))
    (e,) = res.groups
    dfs, n_cis = _ci_df_n(sub, groups)
    if method == "likelihood":
        group = groups.codes_any_weight == 0
        used = group & (cell >= 0)
        return _likelihood_limits(sub, e, _indicator_matrix(cell, k, used), used, group,
                                  cell < 0, float(dfs[0]), level)
    return prop_ci(e.theta, e.se, method, level, float(dfs[0]), int(n_cis[0]),
                   _logit_se(sub, e))
