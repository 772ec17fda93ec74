"""List (item-count) experiments on a complex design (R ``list::ictreg``, with design variance).

The control arm reports how many of ``J`` control items apply to them; the treated arm gets the
same list plus the sensitive item. ``method="difference"``: the prevalence of the sensitive item
is the difference of the arms' weighted mean counts (overall and ``by=`` group). Regression
methods (Imai 2011; :mod:`surveykit.experiments.list_ml`): ``"lm"``, ``"nls"``, ``"ml"`` model
the sensitive item on covariates; the prevalence in a group is the weighted mean of the
predicted probabilities over the group's respondents.

Variance: ``se="design"`` (default) from the design - influence functions (the estimating
functions times the inverse Jacobian, plus the averaging over respondents for prevalences) or
refits on the replicate weights; ``se="model"``: R ``list``'s model-based covariance (``lm``:
HC3; ``nls``: its two-step formula; ``ml``: inverse Hessian), prevalence SEs by the delta
method on that covariance as R ``predict.ictreg(avg=TRUE)``.

``direct=``: a 0/1 column with the same respondents' direct answer. The result then holds the
direct share, the list estimate and their difference (direct minus list: the estimated
social-desirability bias) with one joint covariance.

Not modelled: floor and ceiling effects (respondents hiding the sensitive item by answering 0
or J + 1), design effects (test them with :func:`list_design_test`), the unconstrained and
over-dispersed ML models, several sensitive items. Counts of 0 and J (+1) by arm are reported in
``diagnostics`` and a warning is given when more than 20 % of the control arm sits at 0 or J.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from surveykit.errors import EstimationError
from surveykit.estimation._core import categorical_column, check_design, numeric_column
from surveykit.experiments._common import SYNTHETIC_NOTE, design_vcov, match_level
from surveykit.experiments.experiment import covariate_matrix, t_inference
from surveykit.experiments.list_ml import ListFit, fit_lm, fit_ml, fit_nls
from surveykit.inference import attach_covariance
from surveykit.labels import label_of, value_labels
from surveykit.mi.dispatch import mi_aware
from surveykit.provenance import is_synthetic

__all__ = ["ListExperimentResult", "binary_treatment", "list_counts", "list_experiment"]

CEILING_SHARE = 0.2


@dataclass(repr=False)
class ListExperimentResult:
    """A list experiment: ``prevalence`` (tidy frame, one row overall and per group, with the
    joint ``attrs["vcov"]``), ``coefficients`` (regression methods: sensitive and control
    items' coefficients with SEs; None for "difference"), ``direct`` (with ``direct=``: direct
    share, list estimate and their difference per group, joint vcov), ``diagnostics`` (counts
    per arm and value, floor/ceiling shares), ``n_missing`` rows excluded."""

    method: str
    J: int
    se: str
    prevalence: pd.DataFrame
    coefficients: pd.DataFrame | None
    direct: pd.DataFrame | None
    diagnostics: pd.DataFrame
    n_missing: int
    synthetic: bool = False
    params: pd.Series | None = None
    vcov: pd.DataFrame | None = None
    iterations: int = 0
    notes: list[str] = field(default_factory=list)

    def __repr__(self) -> str:
        head = (f"<ListExperimentResult method={self.method!r} J={self.J} se={self.se!r}, "
                f"{len(self.prevalence)} prevalence rows, {self.n_missing} rows excluded>")
        if self.synthetic:
            head += f"\n{SYNTHETIC_NOTE}"
        cols = [c for c in self.prevalence.columns if c not in ("df",)]
        return head + "\n" + self.prevalence[cols].to_string(index=False)


def binary_treatment(design: Any, treatment: str, control: Any, used: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray, list[Any], int]:
    """0/1 treatment (1 = list with the sensitive item), its missing mask, levels, control
    index. Anything but exactly two values among the rows used is an error."""
    codes, levels, miss = categorical_column(design, treatment)
    present = sorted(set(codes[used & ~miss].tolist()))
    if len(levels) == 2 and len(present) == 1:
        raise EstimationError("an arm of the list experiment has no rows in the domain",
                              file=design.source, column=treatment,
                              values=[lv for k, lv in enumerate(levels) if k not in present])
    if len(present) != 2:
        raise EstimationError("a list experiment needs a binary treatment (control list / list "
                              f"with the sensitive item); found {len(present)} value(s) among "
                              "the rows used", file=design.source, column=treatment,
                              values=[levels[k] for k in present],
                              hint="code it 0 = control list, 1 = with the sensitive item")
    labels = value_labels(design, treatment)
    c = present[0] if control is None else match_level(levels, labels, control, treatment,
                                                       design.source, "control")
    if c not in present:
        raise EstimationError("the control arm has no rows in the domain", file=design.source,
                              column=treatment, values=[levels[c]])
    t = np.where(miss, 0.0, (codes != c).astype(float))
    return t, miss, levels, c


def list_counts(design: Any, count: str, J: int, t: np.ndarray, used: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
    """The item counts and their missing mask; counts must be whole numbers in 0..J (control)
    and 0..J+1 (treated)."""
    if not isinstance(J, (int, np.integer)) or isinstance(J, bool) or J < 1:
        raise EstimationError(f"J (the number of control items) must be a positive integer, "
                              f"got {J!r}", column=count)
    y, miss = numeric_column(design, count)
    ok = used & ~miss
    top = np.where(t == 1, J + 1, J)
    bad = ok & ((y < 0) | (y > top) | (y != np.floor(np.where(np.isfinite(y), y, 0))))
    if bad.any():
        raise EstimationError(f"item counts must be whole numbers from 0 to J = {J} in the "
                              f"control arm and to J + 1 = {J + 1} with the sensitive item",
                              file=design.source, column=count, values=y[bad],
                              hint="check J and the treatment coding")
    return y, miss


def _diagnostics(y: np.ndarray, t: np.ndarray, w: np.ndarray, used: np.ndarray, J: int,
                 levels: list[Any], c: int, labels: dict[Any, str]) -> pd.DataFrame:
    rows = []
    treated = next(k for k in range(len(levels)) if k != c) if len(levels) > 1 else c
    for arm, tv, lv in (("control", 0, levels[c]), ("treated", 1, levels[treated])):
        m = used & (t == tv)
        W = w[m].sum()
        for v in range(J + 2):
            mv = m & (y == v)
            rows.append({"arm": arm, "arm_value": lv, "arm_label": label_of(labels, lv),
                         "count": v, "n": int(mv.sum()),
                         "share": float(w[mv].sum() / W) if W > 0 else np.nan,
                         "boundary": "floor" if v == 0 else (
                             "ceiling" if v == J + tv else "")})
    return pd.DataFrame(rows)


def _groups(design: Any, by: str | None, used: np.ndarray
            ) -> tuple[list[tuple[Any, str, np.ndarray]], np.ndarray]:
    """(value, label, mask) for "overall" and each ``by`` group; the by column's missing mask."""
    out: list[tuple[Any, str, np.ndarray]] = [("overall", "overall", used)]
    if by is None:
        return out, np.zeros(len(used), dtype=bool)
    codes, levels, miss = categorical_column(design, by)
    labels = value_labels(design, by)
    for k, lv in enumerate(levels):
        out.append((lv, label_of(labels, lv), used & ~miss & (codes == k)))
    return out, miss


def _difference_quantities(y: np.ndarray, t: np.ndarray, d: np.ndarray | None,
                           masks: list[np.ndarray]) -> tuple[Callable, Callable]:
    """estimate(w) -> vector and influence(w) -> n x m for the difference method: per group the
    list prevalence (and with ``d``: direct share, direct - list)."""

    def parts(w: np.ndarray, m: np.ndarray) -> tuple[float, ...]:
        w1, w0 = w * m * t, w * m * (1 - t)
        W1, W0 = w1.sum(), w0.sum()
        m1, m0 = (w1 @ y) / W1, (w0 @ y) / W0
        return w1, w0, W1, W0, m1, m0

    def estimate(w: np.ndarray) -> np.ndarray:
        out = []
        for m in masks:
            _, _, _, _, m1, m0 = parts(w, m)
            out.append(m1 - m0)
            if d is not None:
                wd = w * m
                dd = (wd @ d) / wd.sum()
                out += [dd, dd - (m1 - m0)]
        return np.array(out)

    def influence(w: np.ndarray) -> np.ndarray:
        cols = []
        for m in masks:
            w1, w0, W1, W0, m1, m0 = parts(w, m)
            lst = w1 * (y - m1) / W1 - w0 * (y - m0) / W0
            cols.append(lst)
            if d is not None:
                wd = w * m
                dd = (wd @ d) / wd.sum()
                dir_ = wd * (d - dd) / wd.sum()
                cols += [dir_, dir_ - lst]
        return np.column_stack(cols)

    return estimate, influence


def _fit(method: str, y: np.ndarray, t: np.ndarray, X: np.ndarray, w: np.ndarray, J: int,
         column: str) -> ListFit:
    if method == "lm":
        return fit_lm(y, t, X, w)
    if method == "nls":
        return fit_nls(y, t, X, w, J)
    return fit_ml(y, t, X, w, J, column)[0]


def _prevalence_parts(method: str, theta: np.ndarray, X: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Predicted sensitive-item probability per row and its gradient in delta (n x p)."""
    p = X.shape[1]
    eta = X @ theta[:p]
    if method == "lm":
        return eta, X
    g = 1 / (1 + np.exp(-eta))
    return g, (g * (1 - g))[:, None] * X


@mi_aware
def list_experiment(design: Any, count: str, treatment: str, J: int, *, by: str | None = None,
                    method: str = "difference", covariates: Sequence[str] | None = None,
                    direct: str | None = None, se: str = "design", level: float = 0.95,
                    control: Any = None) -> ListExperimentResult:
    """Analyse a standard list experiment on a design.

    Parameters
    ----------
    design : SurveyDesign or ReplicateDesign (domains: ``design.subset``).
    count : the number of items endorsed (0..J in the control arm, 0..J+1 when treated).
    treatment : binary arm column (the control arm is ``control``, default the lower value).
    J : number of control items.
    by : prevalence within each group (as well as overall).
    method : "difference", "lm", "nls" or "ml" (Imai 2011; R ``ictreg``).
    covariates : covariates of the regression methods (intercept added).
    direct : a 0/1 column: the same respondents' direct answer to the sensitive question.
    se : "design" (default) or "model" (R ``list``'s model-based SEs; regression methods).
    level : confidence level.
    control : the control arm's value or label (default: the lower value).

    Returns
    -------
    ListExperimentResult (``prevalence``, ``coefficients``, ``direct``, ``diagnostics``).

    Examples
    --------
    >>> from surveykit.replica.experiments import LIST_J, list_experiment_data
    >>> le = sk.SurveyDesign(list_experiment_data(), weights="weight", strata="region", psu="psu")
    >>> res = sk.list_experiment(le, "item_count", "list_treat", J=LIST_J)
    >>> round(float(res.prevalence["estimate"].iloc[0]), 3)
    0.617
    """
    design = check_design(design)
    if method not in ("difference", "lm", "nls", "ml"):
        raise EstimationError(f"unknown method {method!r}",
                              hint="use 'difference', 'lm', 'nls' or 'ml'")
    if se not in ("design", "model"):
        raise EstimationError(f"unknown se {se!r}", hint="use 'design' or 'model'")
    if se == "model" and method == "difference":
        raise EstimationError("se='model' applies to the regression methods",
                              hint="use method='lm', 'nls' or 'ml'")
    covs = [covariates] if isinstance(covariates, str) else list(covariates or [])
    if covs and method == "difference":
        raise EstimationError("covariates= need a regression method", values=covs,
                              hint="use method='lm', 'nls' or 'ml'")
    w_all = np.asarray(design.weights, dtype=float)
    domain = w_all != 0
    _, _, tmiss0 = categorical_column(design, treatment)
    X0, xnames, xmiss = covariate_matrix(design, covs)
    groups, gmiss = _groups(design, by, domain)
    t, tmiss, levels, c = binary_treatment(design, treatment, control, domain & ~tmiss0)
    y, ymiss = list_counts(design, count, J, t, domain & ~tmiss)
    dmiss = np.zeros(len(y), dtype=bool)
    d = None
    if direct is not None:
        d, dmiss = numeric_column(design, direct)
        bad = domain & ~dmiss & (d != 0) & (d != 1)
        if bad.any():
            raise EstimationError("the direct answer must be coded 0/1", file=design.source,
                                  column=direct, values=d[bad])
    used = domain & ~ymiss & ~tmiss & ~xmiss & ~dmiss & ~gmiss
    n_missing = int((domain & ~used).sum())
    for arm in (0, 1):
        if not (used & (t == arm)).any():
            raise EstimationError("an arm of the list experiment has no rows in the domain",
                                  file=design.source, column=treatment,
                                  values=[levels[c] if arm == 0 else "treated"])
    groups = [(v, lab, m & used) for v, lab, m in groups]
    if by is not None:
        for v, _, m in groups[1:]:
            if m.any() and not ((m & (t == 0)).any() and (m & (t == 1)).any()):
                raise EstimationError("an arm of the list experiment has no rows in a group",
                                      file=design.source, column=by, values=[v])
        groups = [gr for gr in groups if gr[2].any()]
    labels = value_labels(design, treatment)
    diag = _diagnostics(y, t, w_all, used, J, levels, c, labels)
    ctrl = diag[diag["arm"] == "control"]
    edge = ctrl[ctrl["count"].isin([0, J])]
    if (edge["share"] > CEILING_SHARE).any():
        parts = ", ".join(f"{s:.0%} at {v}" for v, s in zip(edge["count"], edge["share"],
                                                             strict=True))
        warnings.warn(f"list experiment: control arm has {parts} (of 0..{J}): floor/ceiling "
                      "effects are possible and are not modelled", UserWarning, stacklevel=2)
    yz, dz = np.where(used, y, 0.0), (None if d is None else np.where(used, d, 0.0))
    masks = [m for _, _, m in groups]
    coef_frame = None
    params = vcov_frame = None
    iterations = 0
    if method == "difference":
        estimate, influence = _difference_quantities(yz, t, dz, masks)
        theta = estimate(w_all * used)
        V = design_vcov(design, lambda: influence(w_all * used),
                        lambda W: np.vstack([estimate(W[:, r] * used)
                                             for r in range(W.shape[1])]), theta)
        df = float(design.subset(used).df)
    else:
        rows = np.flatnonzero(used)
        X = np.column_stack([np.ones(len(y)), X0])
        Xu, yu, tu, wu = X[rows], y[rows], t[rows], w_all[rows]
        const = [xnames[j] for j in range(X0.shape[1]) if np.ptp(Xu[:, j + 1]) == 0]
        if const:
            raise EstimationError("covariate is constant among the rows used",
                                  file=design.source, column=const[0].split("[")[0],
                                  values=const, hint="drop it from covariates=")
        for arm in (0, 1):
            if np.linalg.matrix_rank(Xu[tu == arm]) < X.shape[1]:
                raise EstimationError("the covariates are collinear within an arm of the list "
                                      "experiment", file=design.source, values=xnames,
                                      hint="drop redundant covariates")
        fit = _fit(method, yu, tu, Xu, wu, J, count)
        iterations = fit.iterations
        p = X.shape[1]
        Ainv = np.linalg.inv(fit.A)
        if_theta = -fit.psi @ Ainv.T  # n_used x 2p

        def quantities(wv: np.ndarray, theta: np.ndarray) -> np.ndarray:
            g, _ = _prevalence_parts(method, theta, X)
            out = []
            for m in masks:
                wm = wv * m
                prev = (wm @ g) / wm.sum()
                out.append(prev)
                if dz is not None:
                    dd = (wm @ dz) / wm.sum()
                    out += [dd, dd - prev]
            return np.array(out)

        q_full = quantities(w_all * used, fit.theta)
        g, grad = _prevalence_parts(method, fit.theta, X)

        def q_influence() -> np.ndarray:
            cols = []
            for m in masks:
                wm = w_all * m
                W = wm.sum()
                prev = (wm @ g) / W
                gp = (wm @ grad) / W  # d prevalence / d delta
                full = wm * (g - prev) / W
                full[rows] += if_theta[:, :p] @ gp
                cols.append(full)
                if dz is not None:
                    dd = (wm @ dz) / W
                    di = wm * (dz - dd) / W
                    cols += [di, di - full]
            return np.column_stack(cols)

        theta_all = np.concatenate([fit.theta, q_full])

        def influence_all() -> np.ndarray:
            inf = np.zeros((len(y), 2 * p))
            inf[rows] = if_theta
            return np.column_stack([inf, q_influence()])

        def refit(W: np.ndarray) -> np.ndarray:
            out = []
            for r in range(W.shape[1]):
                wr = W[:, r] * used
                fr = _fit(method, yu, tu, Xu, wr[rows], J, count)
                out.append(np.concatenate([fr.theta, quantities(wr, fr.theta)]))
            return np.vstack(out)

        if se == "design":
            V_all = design_vcov(design, influence_all, refit, theta_all)
            df = float(design.subset(used).df)
        else:
            Vt = fit.model_vcov
            G = []
            for m in masks:
                wm = w_all * m
                gp = np.zeros(2 * p)
                gp[:p] = (wm @ grad) / wm.sum()
                G.append(gp)
                if dz is not None:
                    G += [np.zeros(2 * p), -gp]
            Gm = np.vstack(G)
            V_all = np.block([[Vt, Vt @ Gm.T], [Gm @ Vt, Gm @ Vt @ Gm.T]])
            df = float("inf")
        k = 2 * p
        theta, V = q_full, V_all[k:, k:]
        names = ["sensitive:Intercept", *[f"sensitive:{n}" for n in xnames],
                 "control:Intercept", *[f"control:{n}" for n in xnames]]
        Vt = V_all[:k, :k]
        params = pd.Series(fit.theta, index=names, name="estimate")
        vcov_frame = pd.DataFrame(Vt, index=names, columns=names)
        cse = np.sqrt(np.maximum(np.diag(Vt), 0))
        stat, pv, lo, hi = t_inference(fit.theta, cse, df, level)
        coef_frame = pd.DataFrame({
            "item": ["sensitive"] * p + ["control"] * p,
            "term": ["Intercept", *xnames] * 2, "estimate": fit.theta, "std_error": cse,
            "statistic": stat, "p_value": pv, "ci_low": lo, "ci_high": hi})
        attach_covariance(coef_frame, Vt, names, df)
    step = 3 if dz is not None else 1
    se_all = np.sqrt(np.maximum(np.diag(V), 0))
    stat, pv, lo, hi = t_inference(theta, se_all, df, level)
    prev_rows, prev_idx, dir_rows = [], [], []
    by_name = by or "group"
    for j, (v, lab, m) in enumerate(groups):
        i = j * step
        base = {by_name: v, f"{by_name}_label": lab, "n": int(m.sum()),
                "n_treated": int((m & (t == 1)).sum()), "n_control": int((m & (t == 0)).sum())}
        prev_rows.append({**base, "estimate": theta[i], "std_error": se_all[i],
                          "ci_low": lo[i], "ci_high": hi[i], "df": df})
        prev_idx.append(i)
        if dz is not None:
            for off, qn in ((1, "direct"), (0, "list"), (2, "direct - list")):
                dir_rows.append({**base, "quantity": qn, "estimate": theta[i + off],
                                 "std_error": se_all[i + off], "statistic": stat[i + off],
                                 "p_value": pv[i + off] if qn == "direct - list" else np.nan,
                                 "ci_low": lo[i + off], "ci_high": hi[i + off], "df": df})
    prev = pd.DataFrame(prev_rows)
    attach_covariance(prev, V[np.ix_(prev_idx, prev_idx)], [str(r[f"{by_name}_label"])
                                                             for r in prev_rows], df)
    dir_frame = None
    if dz is not None:
        dir_frame = pd.DataFrame(dir_rows)
        order = [j * step + off for j in range(len(groups)) for off in (1, 0, 2)]
        attach_covariance(dir_frame, V[np.ix_(order, order)],
                          [f"{r[f'{by_name}_label']}:{r['quantity']}" for r in dir_rows], df)
    synth = is_synthetic(design)
    for fr in (prev, coef_frame, dir_frame, diag):
        if fr is not None:
            fr.attrs.update(method=method, J=J, se=se)
            if synth:
                fr.attrs["synthetic"] = True
                fr.attrs["note"] = SYNTHETIC_NOTE
    return ListExperimentResult(method=method, J=J, se=se, prevalence=prev,
                                coefficients=coef_frame, direct=dir_frame, diagnostics=diag,
                                n_missing=n_missing, synthetic=synth, params=params,
                                vcov=vcov_frame, iterations=iterations)
