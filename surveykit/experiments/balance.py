"""Covariate balance of a survey experiment across its arms.

Per covariate (and level of a categorical covariate): the weighted mean or share in each arm and
the standardised difference of each arm from control,
``(m_k - m_c) / sqrt((s2_k + s2_c) / 2)`` with ``s2`` the weighted variance within the arm
(denominator the sum of weights; ``p (1 - p)`` for shares). The omnibus test regresses the
treatment on all covariates and tests them jointly with the design (R
``regTermTest(svyglm(treat ~ x1 + x2, design, family = quasibinomial), ~x1 + x2)``; with more
than two arms the survey multinomial logit, as ``svy_vglm``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from surveykit.errors import EstimationError
from surveykit.estimation._core import categorical_column, check_design
from surveykit.experiments._common import mark_synthetic, match_level
from surveykit.labels import label_of, value_labels
from surveykit.mi.dispatch import mi_aware

__all__ = ["balance"]


def _is_numeric(col: pd.Series) -> bool:
    return (not isinstance(col.dtype, pd.CategoricalDtype)) and (
        pd.api.types.is_numeric_dtype(col.dtype) or pd.api.types.is_bool_dtype(col.dtype))


@mi_aware
def balance(design: Any, treatment: str, covariates: Sequence[str], *, control: Any = None,
            categorical: Sequence[str] = ()) -> pd.DataFrame:
    """Weighted covariate means/shares per arm, standardised differences and an omnibus
    design-based test of balance (``attrs["omnibus_test"]``).

    Parameters
    ----------
    design : SurveyDesign or ReplicateDesign.
    treatment : the arm column.
    control : the control arm, value or label (default the first level).
    covariates : numeric columns (means) and text/Categorical columns (shares per level).
    categorical : numeric columns to treat as categorical (e.g. coded education).

    Returns
    -------
    DataFrame with ``variable``, ``level`` (None for numeric covariates), ``arm``,
    ``arm_label``, ``mean`` (a share for levels), ``std_diff`` (vs control; NaN on the control
    row), ``n`` (unweighted rows of the arm). Rows with a missing treatment or covariate are
    excluded (``attrs["n_missing"]``).

    Examples
    --------
    >>> from surveykit.replica.experiments import information_experiment
    >>> design = sk.SurveyDesign(information_experiment(), weights="weight")
    >>> bal = sk.balance(design, "arm", ["age", "female"])
    >>> bal[["variable", "arm", "mean"]].round(2).head(2)
      variable  arm   mean
    0      age    1  21.40
    1      age    2  21.36
    """
    design = check_design(design)
    covs = [covariates] if isinstance(covariates, str) else list(covariates)
    if not covs:
        raise EstimationError("balance needs at least one covariate")
    codes, levels, tmiss = categorical_column(design, treatment)
    tlabels = value_labels(design, treatment)
    domain = np.asarray(design.weights) != 0
    miss = tmiss.copy()
    pieces: list[tuple[str, Any, np.ndarray]] = []
    model_terms = []
    for cov in covs:
        if cov not in design.data.columns:
            raise EstimationError("covariate not found in the design's data",
                                  file=design.source, column=cov)
        col = design.data[cov]
        if _is_numeric(col) and cov not in categorical:
            x = col.to_numpy(dtype=float, na_value=np.nan)
            miss |= np.isnan(x)
            pieces.append((cov, None, np.nan_to_num(x)))
            model_terms.append(cov)
        else:
            cc, lv, m = categorical_column(design, cov)
            miss |= m
            labs = value_labels(design, cov)
            for k, level in enumerate(lv):
                pieces.append((cov, label_of(labs, level), (cc == k).astype(float)))
            model_terms.append(f"C({cov})")
    used = domain & ~miss
    n_missing = int((domain & ~used).sum())
    present = sorted(set(codes[used].tolist()))
    if len(present) < 2:
        raise EstimationError("balance needs at least two arms among the rows used",
                              file=design.source, column=treatment,
                              values=[levels[k] for k in present])
    c = present[0] if control is None else match_level(levels, tlabels, control, treatment,
                                                       design.source, "control")
    w = np.where(used, np.asarray(design.weights, dtype=float), 0.0)
    arms = [c] + [k for k in present if k != c]
    constant = []
    rows = []
    for var, level, x in pieces:
        xu = x[used]
        if level is None and np.ptp(xu) == 0:
            constant.append(var)
        stats = {}
        for k in arms:
            m = used & (codes == k)
            wk = w[m]
            mu = float(wk @ x[m] / wk.sum())
            s2 = float(wk @ (x[m] - mu) ** 2 / wk.sum())
            stats[k] = (mu, s2, int(m.sum()))
        for k in arms:
            mu, s2, n = stats[k]
            pooled = np.sqrt((s2 + stats[c][1]) / 2)
            sd = np.nan if k == c else ((mu - stats[c][0]) / pooled if pooled > 0 else np.nan)
            rows.append({"variable": var, "level": level, "arm": levels[k],
                         "arm_label": label_of(tlabels, levels[k]), "mean": mu,
                         "std_diff": sd, "n": n})
    if constant:
        raise EstimationError("covariate is constant among the rows used", file=design.source,
                              column=constant[0], values=constant,
                              hint="drop it from the covariates")
    out = pd.DataFrame(rows)
    out.attrs["n_missing"] = n_missing
    out.attrs["control"] = label_of(tlabels, levels[c])
    out.attrs["omnibus_test"] = _omnibus(design, treatment, codes, arms, used, model_terms)
    return mark_synthetic(out, design)


def _omnibus(design: Any, treatment: str, codes: np.ndarray, arms: list[int],
             used: np.ndarray, terms: list[str]) -> dict[str, Any]:
    """Design-based Wald test that the covariates do not predict the arm (regTermTest)."""
    from surveykit.models.glm import glm
    from surveykit.models.multinom import multinom
    from surveykit.models.wald import wald_test

    name = "_sk_arm"
    while name in design.data.columns:
        name += "_"
    arm = np.full(design.n_total, np.nan)
    for j, k in enumerate(arms):
        arm[used & (codes == k)] = j
    d = design.with_columns(**{name: arm}).subset(used)
    formula = f"{name} ~ {' + '.join(terms)}"
    if len(arms) == 2:
        model = glm(d, formula, family="quasibinomial")
        kind = "survey logit"
    else:
        model = multinom(d, formula)
        kind = "survey multinomial logit"
    test = wald_test(model, terms).iloc[0]
    return {"test": str(test["test"]), "model": kind, "terms": " + ".join(terms),
            "statistic": float(test["statistic"]), "df": float(test["df"]),
            "ddf": float(test["ddf"]), "p_value": float(test["p_value"])}
