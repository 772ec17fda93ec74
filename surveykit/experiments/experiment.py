"""Survey experiments on a complex design: the effect of each treatment arm against control.

``experiment(design, outcome, treatment)`` estimates, for every arm k, the difference between
the weighted mean outcome in arm k and in the control arm (R ``svyglm(y ~ treat, design)``),
or with ``estimator="lin"`` Lin's (2013) regression-adjusted effect: the arm coefficient of
``y ~ treat * (x - xbar)`` with the covariates centred at their weighted means (R ``svyglm``
on the centred covariates; ``estimatr::lm_lin`` point estimates). ``by=`` estimates the
effects within each group (the saturated model ``y ~ treat * g``) and tests that they are
equal (R ``regTermTest(svyglm(y ~ treat * g), ~treat:g)``).

Every covariance comes from the design (:func:`surveykit.experiments._common.design_vcov`):
influence functions of the least-squares coefficients, ``(Z'WZ)^{-1} z_i w_i e_i``, for
linearisation designs; the same estimator recomputed with every replicate's weights for
replicate designs. Residual df follow ``svyglm``: design df + 1 - number of coefficients.
The centring means of ``"lin"`` are treated as fixed, as R ``svyglm`` on a centred variable
and ``estimatr`` do.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from surveykit._dist import f_sf, norm_ppf, norm_sf, t_ppf, t_sf
from surveykit.errors import EstimationError
from surveykit.estimation._core import categorical_column, check_design, numeric_column
from surveykit.experiments._common import (
    design_vcov,
    is_binary,
    mark_synthetic,
    match_level,
    p_adjust,
)
from surveykit.inference import attach_covariance
from surveykit.labels import label_of, value_labels
from surveykit.mi.dispatch import mi_aware

__all__ = ["experiment"]

RESULT_COLUMNS = ["arm", "arm_label", "control", "estimate", "std_error", "statistic", "df",
                  "p_value", "p_adjusted", "ci_low", "ci_high", "mean_arm", "mean_control",
                  "n_arm", "n_control"]


def t_inference(est: np.ndarray, se: np.ndarray, df: float, level: float
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """statistic, two-sided p, CI limits: Student t on ``df`` (normal when df is infinite)."""
    if not 0 < level < 1:
        raise EstimationError(f"level must be between 0 and 1, got {level!r}")
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = est / se
    if not np.isfinite(df):
        q, p = norm_ppf(0.5 + level / 2), 2 * norm_sf(np.abs(stat))
    elif df > 0:
        q, p = t_ppf(0.5 + level / 2, df), 2 * t_sf(np.abs(stat), df)
    else:
        q, p = np.nan, np.full(np.shape(stat), np.nan)
    return stat, np.asarray(p, dtype=float), est - q * se, est + q * se


def covariate_matrix(design: Any, covariates: Sequence[str]) -> tuple[np.ndarray, list[str],
                                                                     np.ndarray]:
    """n x q covariates (numeric columns as they are; text or Categorical columns as
    indicators of every level but the first), their names and the missing mask."""
    cols, names = [], []
    miss = np.zeros(design.n_total, dtype=bool)
    for cov in covariates:
        col = design.data[cov] if cov in design.data.columns else None
        if col is None:
            raise EstimationError("covariate not found in the design's data", file=design.source,
                                  column=cov)
        if pd.api.types.is_numeric_dtype(col.dtype) or pd.api.types.is_bool_dtype(col.dtype):
            x, m = numeric_column(design, cov)
            cols.append(np.where(m, 0.0, x))
            names.append(cov)
        else:
            codes, levels, m = categorical_column(design, cov)
            for k, lv in enumerate(levels[1:], start=1):
                cols.append((codes == k).astype(float))
                names.append(f"{cov}[{lv}]")
        miss |= m
    X = np.column_stack(cols) if cols else np.zeros((design.n_total, 0))
    return X, names, miss


def _cells(design: Any, codes: np.ndarray, levels: list[Any], used: np.ndarray, w: np.ndarray,
           gcode: np.ndarray, glevels: list[Any], treatment: str, by: str | None) -> np.ndarray:
    """G x K weighted totals per (group, arm); an arm without rows in a group is an error."""
    G, K = len(glevels), len(levels)
    cell = gcode * K + codes
    Wc = np.bincount(cell[used], weights=w[used], minlength=G * K).reshape(G, K)
    empty = np.argwhere(Wc <= 0)
    if len(empty):
        where = [f"{levels[k]}" + (f" in {by}={glevels[g]}" if by else "") for g, k in empty]
        raise EstimationError("a treatment arm has no respondents (with positive weight) "
                              + ("in a group" if by else "in the domain"), file=design.source,
                              column=treatment, values=where,
                              hint="drop the arm, merge groups, or choose another domain")
    return Wc


def _difference(design: Any, y: np.ndarray, codes: np.ndarray, used: np.ndarray,
                w: np.ndarray, gcode: np.ndarray, G: int, K: int, c: int
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Effects (G*(K-1)), their design covariance and the G x K cell means."""
    cell = np.where(used, gcode * K + codes, 0)
    wu = np.where(used, w, 0.0)
    y0 = np.where(used, y, 0.0)
    Wc = np.bincount(cell, weights=wu, minlength=G * K)
    means = np.bincount(cell, weights=wu * y0, minlength=G * K) / Wc
    arms = [k for k in range(K) if k != c]
    pairs = [(g * K + k, g * K + c) for g in range(G) for k in arms]
    theta = np.array([means[a] - means[b] for a, b in pairs])

    m = len(pairs)
    colmap = np.full(G * K, -1)
    for j, (a, _) in enumerate(pairs):
        colmap[a] = j
    rows = np.flatnonzero(used)
    is_arm = colmap[cell[rows]] >= 0
    arm_rows, ctrl_rows = rows[is_arm], rows[~is_arm]
    arm_cols = colmap[cell[arm_rows]]
    ctrl_first = gcode[ctrl_rows] * (K - 1)  # first column of the control row's group

    def scale_of(r: np.ndarray) -> np.ndarray:
        return wu[r] * (y0[r] - means[cell[r]]) / Wc[cell[r]]

    def influence() -> np.ndarray:
        out = np.zeros((len(y), m))
        out[arm_rows, arm_cols] = scale_of(arm_rows)
        sc = scale_of(ctrl_rows)
        for k in range(K - 1):
            out[ctrl_rows, ctrl_first + k] = -sc
        return out

    def psu_totals(psu: np.ndarray, n_psu: int) -> np.ndarray:
        z = np.bincount(psu[arm_rows] * m + arm_cols, weights=scale_of(arm_rows),
                        minlength=n_psu * m)
        sc, base = scale_of(ctrl_rows), psu[ctrl_rows] * m + ctrl_first
        for k in range(K - 1):
            z -= np.bincount(base + k, weights=sc, minlength=n_psu * m)
        return z.reshape(n_psu, m)

    def refit(W: np.ndarray) -> np.ndarray:
        rows = np.flatnonzero(used)
        C = sparse.csr_matrix((np.ones(len(rows)), (np.arange(len(rows)), cell[rows])),
                              shape=(len(rows), G * K))
        Wr = W[rows]
        tot = np.asarray(C.T @ Wr)  # GK x R
        sy = np.asarray(C.T @ (Wr * y0[rows, None]))
        with np.errstate(divide="ignore", invalid="ignore"):
            m = sy / tot
        return np.column_stack([m[a] - m[b] for a, b in pairs])

    V = design_vcov(design, influence, refit, theta, psu_totals)
    return theta, V, means.reshape(G, K)


def _lin_group(y: np.ndarray, D: np.ndarray, Xc: np.ndarray) -> np.ndarray:
    """Design matrix of Lin's regression in one group: 1, arm dummies, centred covariates,
    arm dummies x centred covariates."""
    inter = [D[:, [k]] * Xc for k in range(D.shape[1])]
    return np.column_stack([np.ones(len(y)), D, Xc, *inter])


def _lin(design: Any, y: np.ndarray, codes: np.ndarray, used: np.ndarray, w: np.ndarray,
         gcode: np.ndarray, G: int, K: int, c: int, X: np.ndarray, xnames: list[str],
         covariates: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lin (2013) effects per group, the design covariance, and the G x K unadjusted means."""
    arms = [k for k in range(K) if k != c]
    n = len(y)
    fits = []
    for g in range(G):
        rows = np.flatnonzero(used & (gcode == g))
        wg, yg, Xg = w[rows], y[rows], X[rows]
        xbar = wg @ Xg / wg.sum()
        Xc = Xg - xbar
        var = wg @ Xc ** 2 / wg.sum()
        const = [xnames[j] for j in np.flatnonzero(var <= 1e-12 * (1 + xbar ** 2))]
        if const:
            raise EstimationError("covariate is constant among the rows used"
                                  + (f" in group {g + 1}" if G > 1 else ""),
                                  file=design.source, column=const[0].split("[")[0],
                                  values=const, hint="drop it from covariates=")
        D = np.column_stack([(codes[rows] == k).astype(float) for k in arms])
        Z = _lin_group(yg, D, Xc)
        A = Z.T @ (Z * wg[:, None])
        if np.linalg.matrix_rank(A) < A.shape[0]:
            raise EstimationError("Lin's regression is rank deficient: a covariate is collinear "
                                  "with others or constant within an arm", file=design.source,
                                  values=covariates, hint="drop redundant covariates")
        Ainv = np.linalg.inv(A)
        b = Ainv @ (Z.T @ (wg * yg))
        fits.append((rows, Z, Ainv, b))
    theta = np.concatenate([b[1:K] for _, _, _, b in fits])

    def influence() -> np.ndarray:
        out = np.zeros((n, G * (K - 1)))
        for g, (rows, Z, Ainv, b) in enumerate(fits):
            e = y[rows] - Z @ b
            out[rows, g * (K - 1):(g + 1) * (K - 1)] = ((Z * (w[rows] * e)[:, None])
                                                        @ Ainv[:, 1:K])
        return out

    def refit(W: np.ndarray) -> np.ndarray:
        out = []
        for rows, Z, _, _ in fits:
            Wr = W[rows]
            p = Z.shape[1]
            ZZ = (Z[:, :, None] * Z[:, None, :]).reshape(len(rows), p * p)
            A = (ZZ.T @ Wr).T.reshape(-1, p, p)
            rhs = (Z * y[rows, None]).T @ Wr  # p x R
            ok = np.linalg.matrix_rank(A) == p
            b = np.full((Wr.shape[1], p), np.nan)
            b[ok] = np.linalg.solve(A[ok], rhs.T[ok][..., None])[..., 0]
            out.append(b[:, 1:K])
        return np.concatenate(out, axis=1)

    V = design_vcov(design, influence, refit, theta)
    cell = np.where(used, gcode * K + codes, 0)
    wu = np.where(used, w, 0.0)
    means = (np.bincount(cell, weights=wu * np.where(used, y, 0.0), minlength=G * K)
             / np.bincount(cell, weights=wu, minlength=G * K))
    return theta, V, means.reshape(G, K)


def equal_effects_test(theta: np.ndarray, V: np.ndarray, G: int, m: int, ddf: float,
                       terms: str) -> dict[str, Any]:
    """Wald F test that every arm's effect is the same in all G groups (m arms per group):
    the R ``regTermTest(svyglm(y ~ treat * g), ~treat:g)`` statistic."""
    L = np.zeros(((G - 1) * m, G * m))
    for g in range(1, G):
        for k in range(m):
            L[(g - 1) * m + k, g * m + k] = 1.0
            L[(g - 1) * m + k, k] = -1.0
    d = L @ theta
    chisq = float(d @ np.linalg.solve(L @ V @ L.T, d))
    q = L.shape[0]
    p = float(f_sf(chisq / q, q, ddf)) if np.isfinite(ddf) and ddf > 0 else float("nan")
    return {"test": "Wald F", "terms": terms, "statistic": chisq / q, "df": q,
            "ddf": float(ddf), "p_value": p}


@mi_aware
def experiment(design: Any, outcome: str, treatment: str, *, control: Any = None,
               covariates: Sequence[str] | None = None, by: str | None = None,
               estimator: str = "difference", adjust: str = "holm", level: float = 0.95,
               top_box: Sequence[Any] | None = None) -> pd.DataFrame:
    """Effects of each treatment arm against control, with design-based inference.

    Parameters
    ----------
    design : SurveyDesign or ReplicateDesign (domains: ``design.subset(...)``).
    outcome : numeric outcome column. A 0/1 outcome (or ``top_box``) gives effects in
        percentage points.
    treatment : the arm column (any codes; labels from the data's value labels).
    control : the control arm (value or label); default the first level.
    covariates : for ``estimator="lin"``: numeric columns, or text/Categorical columns
        (indicators of every level but the first).
    by : a grouping column: effects within each group and a test that they are equal
        (``attrs["equal_effects_test"]``).
    estimator : "difference" (difference in weighted means, R ``svyglm(y ~ treat)``) or
        "lin" (Lin 2013: ``y ~ treat * (x - xbar)``, covariates centred at weighted means).
    adjust : multiplicity adjustment of the p-values across arms within each group:
        "holm" (default), "bonferroni", "BH", "none".
    level : confidence level.
    top_box : outcome values counted as the "top box" (e.g. ``[9, 10]`` on a 0-10 scale):
        the outcome becomes the share in them (percentage points).

    Returns
    -------
    DataFrame, one row per (group,) arm: ``arm``, ``arm_label``, ``control``, ``estimate``,
    ``std_error``, ``statistic``, ``df``, ``p_value``, ``p_adjusted``, ``ci_low``,
    ``ci_high``, ``mean_arm``, ``mean_control``, ``n_arm``, ``n_control`` (unweighted) and
    ``n_missing`` (rows of the domain excluded for a missing outcome, arm, group or
    covariate). ``attrs``: the joint ``vcov`` (names "<arm label>" or "<group>:<arm label>",
    so :func:`surveykit.contrast` compares arms), ``df``, ``scale``, and with ``by`` the
    ``equal_effects_test`` (test, terms, statistic, df, ddf, p_value).

    Examples
    --------
    >>> from surveykit.replica.experiments import information_experiment
    >>> design = sk.SurveyDesign(information_experiment(), weights="weight")
    >>> res = sk.experiment(design, "support", "arm")
    >>> res[["arm_label", "estimate"]].round(3)
                      arm_label  estimate
    0    repression information    -0.892
    1  social-order information     0.191
    """
    design = check_design(design)
    if estimator not in ("difference", "lin"):
        raise EstimationError(f"unknown estimator {estimator!r}", hint="use 'difference' or 'lin'")
    covs = [covariates] if isinstance(covariates, str) else list(covariates or [])
    if estimator == "lin" and not covs:
        raise EstimationError("estimator='lin' needs covariates=", column=outcome)
    if estimator == "difference" and covs:
        raise EstimationError("covariates= are used by estimator='lin' only",
                              values=covs, hint="add estimator='lin'")
    y, ymiss = numeric_column(design, outcome)
    if top_box is not None:
        boxes = np.asarray(list(top_box), dtype=float)
        y = np.where(ymiss, np.nan, np.isin(y, boxes).astype(float))
    codes, levels, tmiss = categorical_column(design, treatment)
    labels = value_labels(design, treatment)
    if len(levels) < 2:
        raise EstimationError("the treatment needs at least two arms (control and a treatment)",
                              file=design.source, column=treatment, values=levels)
    c = 0 if control is None else match_level(levels, labels, control, treatment,
                                              design.source, "control")
    if by is not None:
        gcode, glevels, gmiss = categorical_column(design, by)
        gcode = np.where(gmiss, 0, gcode)
    else:
        gcode, glevels, gmiss = np.zeros(design.n_total, dtype=np.intp), [None], np.zeros(
            design.n_total, dtype=bool)
    X, xnames, xmiss = covariate_matrix(design, covs)
    domain = np.asarray(design.weights) != 0
    used = domain & ~ymiss & ~tmiss & ~gmiss & ~xmiss
    n_missing = int((domain & ~used).sum())
    if not used.any():
        raise EstimationError("no rows with the outcome, treatment and covariates observed in the "
                              "domain", file=design.source, column=outcome)
    codes = np.where(tmiss, 0, codes)
    w = np.asarray(design.weights, dtype=float)
    G, K = len(glevels), len(levels)
    _cells(design, codes, levels, used, w, gcode, glevels, treatment, by)
    domain_used = design.subset(used)  # R's svyglm drops incomplete rows as a domain
    if estimator == "difference":
        theta, V, means = _difference(domain_used, y, codes, used, w, gcode, G, K, c)
        n_coef = G * K
    else:
        theta, V, means = _lin(domain_used, y, codes, used, w, gcode, G, K, c, X, xnames,
                               covs)
        n_coef = G * K * (1 + X.shape[1])
    binary = is_binary(np.where(used, y, np.nan)) or top_box is not None
    scale = 100.0 if binary else 1.0
    theta, V, means = theta * scale, V * scale ** 2, means * scale
    df = float(domain_used.df + 1 - n_coef)
    se = np.sqrt(np.maximum(np.diag(V), 0))
    stat, p, lo, hi = t_inference(theta, se, df, level)
    arms = [k for k in range(K) if k != c]
    counts = np.bincount(gcode[used] * K + codes[used], minlength=G * K).reshape(G, K)
    glabels = value_labels(design, by) if by is not None else {}
    rows, names = [], []
    for g in range(G):
        padj = p_adjust(p[g * len(arms):(g + 1) * len(arms)], adjust)
        for j, k in enumerate(arms):
            i = g * len(arms) + j
            row: dict[str, Any] = {}
            if by is not None:
                row[by] = glevels[g]
                row[f"{by}_label"] = label_of(glabels, glevels[g])
            row.update(arm=levels[k], arm_label=label_of(labels, levels[k]),
                       control=label_of(labels, levels[c]), estimate=theta[i],
                       std_error=se[i], statistic=stat[i], df=df, p_value=p[i],
                       p_adjusted=padj[j], ci_low=lo[i], ci_high=hi[i],
                       mean_arm=means[g, k], mean_control=means[g, c],
                       n_arm=int(counts[g, k]), n_control=int(counts[g, c]),
                       n_missing=n_missing)
            rows.append(row)
            names.append(row["arm_label"] if by is None
                         else f"{row[f'{by}_label']}:{row['arm_label']}")
    out = pd.DataFrame(rows)
    attach_covariance(out, V, names, df)
    out.attrs.update(outcome=outcome, treatment=treatment, estimator=estimator,
                     scale="percentage points" if binary else "outcome units",
                     adjust=adjust, level=level)
    if by is not None and G > 1:
        out.attrs["equal_effects_test"] = equal_effects_test(theta, V, G, len(arms), df,
                                                             f"{treatment}:{by}")
    return mark_synthetic(out, design)


def effects_frame(result: pd.DataFrame) -> pd.DataFrame:
    """An :func:`experiment` result reshaped for :func:`surveykit.plot.estimates`: one panel per
    arm ("<arm> vs <control>"), one row per group (``by``), effects with their CIs."""
    by_cols = [c for c in result.columns[: result.columns.get_loc("arm")]]
    out = result[by_cols].copy()
    out["variable"] = result["arm_label"] + " vs " + result["control"]
    for c in ("estimate", "std_error", "ci_low", "ci_high"):
        out[c] = result[c]
    out.attrs = {k: v for k, v in result.attrs.items() if k in ("synthetic", "note")}
    return out
