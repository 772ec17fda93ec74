"""Model frames: a patsy formula evaluated on a design's domain, with missing rows counted.

The design matrix is built on the rows of the current domain only (like R, whose ``subset`` of a
design drops unused factor levels via ``model.frame``), then embedded back into an n-row array
with zeros elsewhere so influence scores line up with the design. Rows with a missing value in
any model variable are excluded as a domain and counted (``n_missing``); nothing is dropped
silently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import patsy

from surveykit.errors import ModelError

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass
class ModelFrame:
    """The pieces every model needs, aligned with the n rows of the design's data."""

    formula: str
    rhs: str
    lhs: str
    y: pd.Series  # outcome on the used rows (index = row positions)
    X: np.ndarray  # n_used x p design matrix of the used rows
    columns: list[str]
    rows: np.ndarray  # positions (into design.data) of the used rows
    used: np.ndarray  # n_total boolean: in domain and complete
    n_missing: int
    design_info: Any  # patsy DesignInfo of the right-hand side
    data: pd.DataFrame  # domain data (positions index), kept for predictions/AMEs
    order: list[int]  # permutation of patsy's columns into formula order

    def embed(self, values: np.ndarray, n_total: int) -> np.ndarray:
        """Place an n_used x k array into an n_total x k array of zeros (rows outside = 0)."""
        out = np.zeros((n_total, *values.shape[1:]))
        out[self.rows] = values
        return out


def _quote_names(formula: str, columns: list[str]) -> str:
    """Make R-style formulas work in patsy: ``factor(x)`` -> ``C(x)``, dotted names -> ``Q()``."""
    formula = re.sub(r"\bfactor\(", "C(", formula)
    odd = sorted((c for c in columns if isinstance(c, str) and not _IDENT.match(c)),
                 key=len, reverse=True)
    for name in odd:
        pattern = r'(?<![\w."\'])' + re.escape(name) + r'(?![\w."\'])'
        formula = re.sub(pattern, f'Q("{name}")', formula)
    return formula


def clean_name(name: str) -> str:
    """Readable term names: ``Q("avg.ed")`` -> ``avg.ed``."""
    return re.sub(r'Q\("([^"]*)"\)', r"\1", name)


def split_formula(formula: str) -> tuple[str, str]:
    if formula.count("~") != 1:
        raise ModelError(f"formula must have exactly one '~' (outcome ~ predictors): {formula!r}")
    lhs, rhs = (s.strip() for s in formula.split("~"))
    if not lhs:
        raise ModelError(f"formula has no outcome on the left of '~': {formula!r}")
    return lhs, rhs or "1"


def _patsy_error(exc: Exception) -> tuple[str, str | None]:
    """A patsy error's first line (its caret diagram dropped: the CLI prints one line) and the
    unknown variable it names, if any."""
    text = str(exc).strip()
    first = text.splitlines()[0] if text else type(exc).__name__
    unknown = re.search(r"name '([^']+)' is not defined", first)
    return first, unknown.group(1) if unknown else None


def build_frame(design: Any, formula: str, *, intercept: bool = True) -> ModelFrame:
    """Evaluate ``formula`` on the design's domain; count rows with missing model variables."""
    from surveykit.design import ReplicateDesign, SurveyDesign

    if not isinstance(design, (SurveyDesign, ReplicateDesign)):
        raise ModelError(f"expected a SurveyDesign or ReplicateDesign, got {type(design).__name__}",
                         hint="build one with surveykit.SurveyDesign(data, weights=...)")
    if not isinstance(formula, str):
        raise ModelError(f"formula must be a string such as 'y ~ x', got {type(formula).__name__}")
    data: pd.DataFrame = design.data
    lhs, rhs = split_formula(formula)
    qlhs = _quote_names(lhs, list(data.columns))
    qrhs = _quote_names(rhs, list(data.columns))
    domain = np.asarray(design.domain, dtype=bool) & (np.asarray(design.weights) > 0)
    pos = np.flatnonzero(domain)
    sub = data.iloc[pos].copy()
    sub.index = pd.Index(pos)
    mentioned = [c for c in sub.columns if isinstance(c, str) and c in formula]
    for c in mentioned:
        if c == lhs:
            continue
        col = sub[c]
        if isinstance(col.dtype, pd.CategoricalDtype):  # R drops unused levels in the model frame
            sub[c] = col.cat.remove_unused_categories()
        elif col.dtype == object or pd.api.types.is_string_dtype(col.dtype):
            # patsy handles Categorical by codes (fast); levels sorted as patsy would sort them
            sub[c] = pd.Categorical(col, categories=sorted(col.dropna().unique()))
    try:
        Xdf = patsy.dmatrix(qrhs, sub, NA_action="drop", return_type="dataframe")
    except patsy.PatsyError as exc:
        text, unknown = _patsy_error(exc)
        raise ModelError(f"cannot build the design matrix for {rhs!r}: {text}",
                         file=design.source, column=unknown) from exc
    if lhs in data.columns:
        y = sub[lhs]
    else:
        try:
            ydf = patsy.dmatrix("0 + " + qlhs, sub, NA_action="drop", return_type="dataframe")
        except patsy.PatsyError as exc:
            text, unknown = _patsy_error(exc)
            raise ModelError(f"cannot evaluate the outcome {lhs!r}: {text}",
                             file=design.source, column=unknown) from exc
        if ydf.shape[1] != 1:
            raise ModelError(f"outcome {lhs!r} must evaluate to a single column",
                             values=list(ydf.columns))
        y = ydf.iloc[:, 0].reindex(sub.index)
    ok = sub.index.isin(Xdf.index) & y.notna().to_numpy()
    rows = pos[ok]
    used = np.zeros(len(data), dtype=bool)
    used[rows] = True
    order = formula_order(Xdf.design_info, qrhs)
    X = Xdf.loc[rows].to_numpy(dtype=float)[:, order]
    columns = [clean_name(Xdf.columns[j]) for j in order]
    if not intercept and "Intercept" in columns:
        j = columns.index("Intercept")
        X = np.delete(X, j, axis=1)
        columns.pop(j)
    if len(rows) == 0:
        raise ModelError("no complete rows in the domain to fit the model", file=design.source,
                         hint=f"formula {formula!r}")
    _check_terms(Xdf.design_info, sub.loc[rows], formula, design.source)
    bad = ~np.isfinite(X)
    if bad.any():
        cols = [columns[j] for j in np.flatnonzero(bad.any(axis=0))]
        raise ModelError("predictors have infinite values", file=design.source,
                         column=", ".join(cols), values=X[bad].tolist())
    yv = pd.to_numeric(y.loc[rows], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    if np.isinf(yv).any():
        raise ModelError("outcome has infinite values", file=design.source, column=lhs,
                         values=yv[np.isinf(yv)].tolist())
    return ModelFrame(formula=formula, rhs=qrhs, lhs=lhs, y=y.loc[rows], X=X, columns=columns,
                      rows=rows, used=used, n_missing=int(domain.sum() - ok.sum()),
                      design_info=Xdf.design_info, data=sub.loc[rows], order=order)


def _check_terms(info: Any, used: pd.DataFrame, formula: str, source: str | None) -> None:
    """A term with no column (a factor with one level among the used rows) is an error, as in
    R ("contrasts can be applied only to factors with 2 or more levels"): never dropped silently."""
    for term, sl in info.term_slices.items():
        if term.factors and sl.stop == sl.start:
            name = clean_name(term.name())
            levels: list[Any] = []
            for fac in term.factors:
                code = clean_name(fac.code)
                inner = re.fullmatch(r"C\((\w+)[^)]*\)", code)
                col = inner.group(1) if inner else code
                if col in used.columns:
                    levels += pd.unique(used[col].dropna()).tolist()
            raise ModelError(
                f"term {name!r} has a single level among the rows used, so it cannot be "
                "estimated", file=source, column=name, values=levels or None,
                hint=f"drop it from the formula {formula!r} or widen the domain")


def formula_order(info: Any, rhs: str) -> list[int]:
    """Column permutation putting patsy's terms back in formula order (as R orders them)."""
    terms = patsy.ModelDesc.from_formula(rhs).rhs_termlist
    slices = info.term_slices
    order: list[int] = []
    for term in terms:
        if term in slices:
            sl = slices[term]
            order.extend(range(sl.start, sl.stop))
    rest = [j for j in range(len(info.column_names)) if j not in set(order)]
    return order + rest


def check_rank(X: np.ndarray, w: np.ndarray, columns: list[str], *, extra: np.ndarray | None = None,
               source: str | None = None) -> None:
    """Raise ModelError naming the collinear columns when the weighted X is rank deficient."""
    if X.shape[1] == 0:
        return
    Z = X * np.sqrt(w)[:, None]
    if extra is not None:
        Z = np.column_stack([extra * np.sqrt(w)[:, None], Z])
    scale = np.sqrt((Z**2).sum(axis=0))
    zero = scale == 0
    names = ([f"threshold {i}" for i in range(extra.shape[1])] if extra is not None else []) \
        + list(columns)
    if zero.any():
        raise ModelError("design matrix has columns that are all zero in the fitted rows",
                         values=[names[i] for i in np.flatnonzero(zero)],
                         hint="a factor level or variable is absent from the domain")
    Zs = Z / scale
    # eigen-decomposition of the (unit-diagonal) cross-product: n p^2 work instead of an n x p SVD
    ev, vec = np.linalg.eigh(Zs.T @ Zs)
    null = vec[:, ev <= ev[-1] * 1e-13 * Zs.shape[1]].T
    if null.size:
        involved = np.flatnonzero((np.abs(null) > 1e-6).any(axis=0))
        raise ModelError("design matrix is rank deficient (collinear columns)",
                         values=[names[i] for i in involved],
                         hint="drop or merge one of the named columns")
