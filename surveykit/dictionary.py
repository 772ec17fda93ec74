"""Canonical codebooks: loading (with schema checks), validation, derivation and description.

A codebook is a YAML file in ``data_dictionary/codebooks/`` (format documented at the top of
``approval.yaml`` and in ``data_dictionary/mappings/README.md``). It fixes the canonical
variable names, types, codes, missing codes and the *derived* variables, so that every
harmonised file, the replica and the analyses agree on one definition.

Derived variables use a small, safe vocabulary evaluated vectorised (no ``eval``)::

    {count_of: [a, b, ...]}   number of operands equal to 1
    {any_of: [a, b, ...]}     1 if any operand equals 1, else 0
    {difference: [x, y]}      x - y
    {cut: {from: age, bins: [{min: 14, max: 30, code: 1}, ...]}}   inclusive bins
    {map: {from: province, table: provinces, field: region, codes: {east: 1, ...}}}

Operands are variable names or nested expressions. A derived value is NA where any input is NA,
with the first NA input's reason (so non-module respondents' indices are NA "not asked").
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from surveykit._resources import data_path
from surveykit._text import terminal_safe
from surveykit._yaml import read_yaml
from surveykit.errors import InputFileError, SchemaError, ValidationError

VARIABLE_TYPES = ("id", "weight", "ordinal", "nominal", "binary", "count", "continuous")
CODED_TYPES = ("ordinal", "nominal", "binary")
NUMERIC_TYPES = ("weight", "count", "continuous")
DERIVE_OPS = ("count_of", "any_of", "difference", "cut", "map")
CODEBOOK_KEYS = ("codebook", "title", "source", "missing", "include", "variables")
VARIABLE_KEYS = (
    "label", "question", "type", "values", "values_from", "range", "missing", "required",
    "derive", "universe",
)
#: reason given to NA values whose reason is unknown
UNKNOWN_REASON = "missing (other)"

#: Reasons as a {column: Series of reason strings (None where the value is present)} mapping.
Reasons = Mapping[str, pd.Series]


@dataclass(frozen=True)
class Variable:
    """One canonical variable of a codebook."""

    name: str
    label: str
    type: str
    question: str | None = None
    values: dict[Any, str] = field(default_factory=dict)
    values_from: str | None = None
    range: tuple[float | None, float | None] | None = None
    missing: dict[int, str] = field(default_factory=dict)
    required: bool = False
    derive: dict[str, Any] | None = None
    universe: tuple[str, Any] | None = None
    codebook: str = field(default="", compare=False)

    @property
    def is_string(self) -> bool:
        """True if the canonical values are strings (ids aside): coded with string codes."""
        return bool(self.values) and all(isinstance(k, str) for k in self.values)

    @property
    def is_numeric(self) -> bool:
        """True if canonical values are numbers (stored as float64 with NaN for NA)."""
        return self.type != "id" and not self.is_string

    def missing_code(self, reason: str | None) -> int:
        """The numeric missing code for an NA reason (falls back to the 'other' code)."""
        by_reason = {v: k for k, v in self.missing.items()}
        if reason in by_reason:
            return by_reason[reason]
        if UNKNOWN_REASON in by_reason:
            return by_reason[UNKNOWN_REASON]
        return min(self.missing) if self.missing else -99


# ---------------------------------------------------------------------------------------------
# Loading


def _codebook_dir() -> Path:

    return data_path("codebooks")


def resolve_codebook(name_or_path: str | Path) -> Path:
    """Path of a codebook given its name (``approval``) or a path to a YAML file."""
    p = Path(name_or_path)
    if p.suffix.lower() in (".yaml", ".yml") or p.is_file():
        if not p.is_file():
            raise InputFileError("codebook file not found", file=str(p))
        return p.resolve()
    candidate = _codebook_dir() / f"{name_or_path}.yaml"
    if not candidate.is_file():
        known = sorted(q.stem for q in _codebook_dir().glob("*.yaml"))
        raise InputFileError(
            "unknown codebook", file=str(candidate), values=[str(name_or_path)],
            hint=f"known codebooks: {', '.join(known)}",
        )
    return candidate.resolve()


@functools.lru_cache(maxsize=32)
def load_table(name: str, base: str | None = None) -> dict[str, dict[str, Any]]:
    """A lookup table of the data dictionary (e.g. ``provinces``): {code: {field: value}}."""
    candidates = []
    if base:
        candidates.append(Path(base) / f"{name}.yaml")
    candidates.append(_codebook_dir().parent / f"{name}.yaml")
    for p in candidates:
        if p.is_file():
            raw = read_yaml(p, "table")
            if not isinstance(raw, dict) or not all(isinstance(v, dict) for v in raw.values()):
                raise SchemaError("table must map codes to {field: value}", file=str(p))
            return {str(k): dict(v) for k, v in raw.items()}
    raise InputFileError("data dictionary table not found", file=str(candidates[-1]))


def load_codebook(name_or_path: str | Path) -> Codebook:
    """Load and schema-check a canonical codebook by name or path (cached).

    Parameters
    ----------
    name_or_path : str or Path
        A bundled codebook's name (``"approval"``, ``"behaviour"``, ``"studies"``) or the path
        of a codebook YAML file.

    Returns
    -------
    Codebook

    Raises
    ------
    SchemaError
        The file breaks the codebook format (the message names key and file).

    Examples
    --------
    >>> cb = sk.load_codebook("approval")
    >>> cb["approval"].name
    'approval'
    """
    return _load_codebook_cached(str(resolve_codebook(name_or_path)))


@functools.lru_cache(maxsize=32)
def _load_codebook_cached(path: str) -> Codebook:
    return _parse_codebook(Path(path))


def _schema(path: Path, key: str, message: str, value: Any = None) -> SchemaError:
    values = None if value is None else [value]
    return SchemaError(f"codebook key {key!r}: {message}", file=str(path), values=values)


def _parse_missing(path: Path, key: str, raw: Any) -> dict[int, str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise _schema(path, key, "must map numeric codes to reasons", raw)
    out = {}
    for code, reason in raw.items():
        if isinstance(code, bool) or not isinstance(code, int) or not isinstance(reason, str):
            raise _schema(path, key, "missing codes must be integers with string reasons", code)
        out[code] = reason
    return out


def _parse_codebook(path: Path) -> Codebook:
    raw = read_yaml(path, "codebook")
    if not isinstance(raw, dict):
        raise SchemaError("codebook must be a YAML mapping", file=str(path))
    unknown = [k for k in raw if k not in CODEBOOK_KEYS]
    if unknown:
        raise _schema(path, unknown[0], f"unknown key (allowed: {', '.join(CODEBOOK_KEYS)})")
    name = raw.get("codebook")
    if not isinstance(name, str) or not name:
        raise _schema(path, "codebook", "a codebook name (string) is required", name)
    default_missing = _parse_missing(path, "missing", raw.get("missing"))

    variables: dict[str, Variable] = {}
    tables: dict[str, dict[str, dict[str, Any]]] = {}
    include = raw.get("include") or {}
    if not isinstance(include, dict):
        raise _schema(path, "include", "must map codebook names to 'all' or a list of variables")
    for other, names in include.items():
        try:
            sub = _load_codebook_cached(str(resolve_codebook(path.parent / f"{other}.yaml")))
        except InputFileError:
            sub = load_codebook(other)
        if names == "all":
            names = list(sub.variables)
        if not isinstance(names, list) or any(n not in sub.variables for n in names):
            bad = [n for n in (names if isinstance(names, list) else [names])
                   if n not in sub.variables]
            raise _schema(path, f"include.{other}", "unknown variables", bad[0] if bad else names)
        for n in names:
            variables[n] = sub.variables[n]
        tables.update(sub.tables)

    own = raw.get("variables")
    if not isinstance(own, dict) or not own:
        raise _schema(path, "variables", "a non-empty mapping of variables is required")
    for vname, spec in own.items():
        if vname in variables:
            raise _schema(path, f"variables.{vname}", "defined twice (also included)", vname)
        variables[vname] = _parse_variable(path, name, vname, spec, default_missing, tables)

    cb = Codebook(
        name=name, title=str(raw.get("title") or name), source=raw.get("source"),
        path=str(path), variables=variables, tables=tables,
    )
    _check_references(path, cb)
    return cb


def _parse_variable(
    path: Path, cbname: str, vname: str, spec: Any, default_missing: dict[int, str],
    tables: dict[str, dict[str, dict[str, Any]]],
) -> Variable:
    key = f"variables.{vname}"
    if not isinstance(spec, dict):
        raise _schema(path, key, "must be a mapping")
    unknown = [k for k in spec if k not in VARIABLE_KEYS]
    if unknown:
        raise _schema(path, f"{key}.{unknown[0]}",
                      f"unknown key (allowed: {', '.join(VARIABLE_KEYS)})")
    vtype = spec.get("type")
    if vtype not in VARIABLE_TYPES:
        raise _schema(path, f"{key}.type", f"must be one of {', '.join(VARIABLE_TYPES)}", vtype)
    label = spec.get("label")
    if not isinstance(label, str) or not label:
        raise _schema(path, f"{key}.label", "a label (string) is required", label)

    values: dict[Any, str] = {}
    raw_values = spec.get("values")
    if raw_values is not None:
        if not isinstance(raw_values, dict) or not raw_values:
            raise _schema(path, f"{key}.values", "must be a non-empty mapping code -> label")
        for code, lab in raw_values.items():
            if isinstance(code, bool) or not isinstance(code, (int, float, str)):
                raise _schema(path, f"{key}.values", "codes must be numbers or strings "
                              "(quote yes/no, they are booleans in YAML)", code)
            if not isinstance(lab, str):
                raise _schema(path, f"{key}.values", "labels must be strings "
                              "(quote yes/no, they are booleans in YAML)", lab)
            values[code] = lab
    values_from = spec.get("values_from")
    if values_from is not None:
        if not isinstance(values_from, str):
            raise _schema(path, f"{key}.values_from", "must name a table", values_from)
        table = load_table(values_from, str(path.parent.parent))
        tables[values_from] = table
        values = {code: str(row.get("name", code)) for code, row in table.items()}
    if vtype in CODED_TYPES and not values:
        raise _schema(path, key, f"a {vtype} variable needs `values` or `values_from`")
    if vtype == "binary" and set(values) != {0, 1}:
        raise _schema(path, f"{key}.values", "a binary variable has exactly the codes 0 and 1",
                      sorted(values, key=str))

    rng = spec.get("range")
    range_: tuple[float | None, float | None] | None = None
    if rng is not None:
        if not isinstance(rng, dict) or set(rng) - {"min", "max"}:
            raise _schema(path, f"{key}.range", "must be {min: ..., max: ...}", rng)
        lo, hi = rng.get("min"), rng.get("max")
        for b in (lo, hi):
            if b is not None and (isinstance(b, bool) or not isinstance(b, (int, float))):
                raise _schema(path, f"{key}.range", "bounds must be numbers", b)
        range_ = (lo, hi)

    missing = {**default_missing, **_parse_missing(path, f"{key}.missing", spec.get("missing"))}
    clash = [c for c in missing if c in values or (
        range_ is not None and (range_[0] is None or c >= range_[0])
        and (range_[1] is None or c <= range_[1]))]
    if clash:
        raise _schema(path, f"{key}.missing", "missing codes overlap valid codes/range", clash[0])

    universe = spec.get("universe")
    if universe is not None:
        if not isinstance(universe, dict) or len(universe) != 1:
            raise _schema(path, f"{key}.universe", "must be {variable: value}", universe)
        universe = next(iter(universe.items()))

    derive = spec.get("derive")
    if derive is not None:
        _check_expr(path, f"{key}.derive", derive)

    required = spec.get("required", False)
    if not isinstance(required, bool):
        raise _schema(path, f"{key}.required", "must be true or false", required)
    question = spec.get("question")
    return Variable(
        name=vname, label=label, type=vtype, question=None if question is None else str(question),
        values=values, values_from=values_from, range=range_, missing=missing, required=required,
        derive=derive, universe=universe, codebook=cbname,
    )


def _check_expr(path: Path, key: str, expr: Any) -> None:
    if isinstance(expr, str):
        return
    if not isinstance(expr, dict) or len(expr) != 1:
        raise _schema(path, key, f"an expression is one of {', '.join(DERIVE_OPS)}", expr)
    op, arg = next(iter(expr.items()))
    if op not in DERIVE_OPS:
        raise _schema(path, key, f"unknown operator (allowed: {', '.join(DERIVE_OPS)})", op)
    if op in ("count_of", "any_of", "difference"):
        if not isinstance(arg, list) or not arg or (op == "difference" and len(arg) != 2):
            raise _schema(path, f"{key}.{op}", "needs a list of operands (difference: two)", arg)
        for i, a in enumerate(arg):
            _check_expr(path, f"{key}.{op}[{i}]", a)
    elif op == "cut":
        if not isinstance(arg, dict) or not isinstance(arg.get("from"), str) \
                or not isinstance(arg.get("bins"), list) or not arg["bins"]:
            raise _schema(path, f"{key}.cut", "needs {from: variable, bins: [...]}", arg)
        for b in arg["bins"]:
            if not isinstance(b, dict) or set(b) != {"min", "max", "code"}:
                raise _schema(path, f"{key}.cut.bins", "each bin is {min, max, code}", b)
    elif op == "map":
        need = {"from", "table", "field"}
        if not isinstance(arg, dict) or not need <= set(arg) or set(arg) - need - {"codes"}:
            raise _schema(path, f"{key}.map", "needs {from, table, field[, codes]}", arg)


def _expr_inputs(expr: Any) -> list[str]:
    if isinstance(expr, str):
        return [expr]
    op, arg = next(iter(expr.items()))
    if op in ("cut", "map"):
        return [arg["from"]]
    return [name for a in arg for name in _expr_inputs(a)]


def _check_references(path: Path, cb: Codebook) -> None:
    for v in cb.variables.values():
        if v.derive is not None:
            for name in _expr_inputs(v.derive):
                if name not in cb.variables:
                    raise _schema(path, f"variables.{v.name}.derive",
                                  "unknown input variable", name)
            op, arg = next(iter(v.derive.items()))
            if op == "map":
                table = load_table(arg["table"], str(path.parent.parent))
                cb.tables.setdefault(arg["table"], table)
        if v.universe is not None and v.universe[0] not in cb.variables:
            raise _schema(path, f"variables.{v.name}.universe", "unknown variable", v.universe[0])


def combine(codebooks: Iterable[Codebook]) -> Codebook:
    """Union of several codebooks (variables in order of first appearance).

    A variable defined differently in two codebooks is a SchemaError.
    """
    cbs = list(codebooks)
    if not cbs:
        raise SchemaError("no codebook given")
    if len(cbs) == 1:
        return cbs[0]
    variables: dict[str, Variable] = {}
    tables: dict[str, dict[str, dict[str, Any]]] = {}
    for cb in cbs:
        tables.update(cb.tables)
        for name, var in cb.variables.items():
            if name in variables and variables[name] != var:
                raise SchemaError(
                    "variable defined differently in two codebooks", file=cb.path, column=name,
                    hint=f"also defined by codebook {variables[name].codebook!r}",
                )
            variables.setdefault(name, var)
    return Codebook(
        name="+".join(cb.name for cb in cbs), title=" + ".join(cb.title for cb in cbs),
        source="; ".join(str(cb.source) for cb in cbs if cb.source),
        path=cbs[0].path, variables=variables, tables=tables,
    )


# ---------------------------------------------------------------------------------------------
# Reasons helpers


def reasons_of(df: pd.DataFrame, column: str, missing: Reasons | None = None) -> pd.Series:
    """Reason strings for the NA cells of ``df[column]`` (None where the value is present)."""
    na = df[column].isna().to_numpy()
    out = np.full(len(df), None, dtype=object)
    given = None if missing is None else missing.get(column)
    if given is not None:
        g = np.asarray(given, dtype=object)
        out[na] = g[na]
        unknown = na & pd.isna(out)
        out[unknown] = UNKNOWN_REASON
    else:
        out[na] = UNKNOWN_REASON
    return pd.Series(out, index=df.index, dtype=object, name=column)


def str_values(series: pd.Series) -> pd.Series:
    """Values as Python strings (object dtype), None where missing; vectorised."""
    present = series.notna().to_numpy()
    out = np.full(len(series), None, dtype=object)
    if present.any():
        out[present] = series[present].astype(str).to_numpy(dtype=object)
    return pd.Series(out, index=series.index, dtype=object, name=series.name)


def _as_float(series: pd.Series, column: str, source: str | None) -> np.ndarray:
    num = pd.to_numeric(series, errors="coerce")
    bad = num.isna() & series.notna()
    if bad.any():
        raise ValidationError("values are not numeric", file=source, column=column,
                              values=series[bad].tolist())
    return num.to_numpy(dtype=float, na_value=np.nan)


# ---------------------------------------------------------------------------------------------
# The codebook


@dataclass(frozen=True, eq=False)
class Codebook:
    """A canonical codebook: ordered variables plus the lookup tables their codes use.

    Made by :func:`load_codebook`; ``codebook["approval"]`` is one variable (its type, codes,
    value labels and missing reasons).

    Parameters
    ----------
    name : str
        Short name (``"approval"``), the codebook file's stem.
    title : str
        Human-readable title.
    source : str or None
        Where the variables come from (paper, questionnaire).
    path : str
        The YAML file it was read from.
    variables : dict of str to Variable
        The variables in codebook order.
    tables : dict
        Lookup tables shared by several variables' codes.

    Examples
    --------
    >>> cb = sk.load_codebook("approval")
    >>> cb.name, "approval" in cb.variables
    ('approval', True)
    """

    name: str
    title: str
    source: str | None
    path: str
    variables: dict[str, Variable]
    tables: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Variable:
        try:
            return self.variables[name]
        except KeyError:
            raise ValidationError(
                "unknown canonical variable", file=self.path, values=[name],
                hint=f"codebook {self.name!r} defines: {', '.join(self.variables)}",
            ) from None

    def __contains__(self, name: object) -> bool:
        return name in self.variables

    def labels(self, var: str) -> dict[Any, str]:
        """Value labels of a variable: {code: label} (empty for continuous variables)."""
        return dict(self[var].values)

    @property
    def derived(self) -> list[str]:
        """Names of the variables defined by a derivation, in codebook order."""
        return [n for n, v in self.variables.items() if v.derive is not None]

    # -- validation ----------------------------------------------------------------------------

    def validate(self, df: pd.DataFrame, source: str | None = None) -> None:
        """Check a canonical frame against the codebook; raise on the first problem.

        Checks: required variables present; ids present and unique; weights valid
        (``DesignError`` via :func:`surveykit.design.validate_weights`); numeric types; codes
        among the valid codes; values within ranges; counts integral; no answer outside the
        variable's universe. Variables absent from ``df`` (and not required) are skipped;
        columns not in the codebook (e.g. ``study``) are ignored.
        """
        from surveykit.design import validate_weights

        missing_required = [n for n, v in self.variables.items()
                            if v.required and n not in df.columns]
        if missing_required:
            raise ValidationError("required canonical variables are missing", file=source,
                                  values=missing_required)
        for name, var in self.variables.items():
            if name not in df.columns:
                continue
            col = df[name]
            if var.type == "id":
                if col.isna().any():
                    raise ValidationError(
                        "respondent ids are missing", file=source, column=name,
                        values=[f"row {i + 1}" for i in np.flatnonzero(col.isna().to_numpy())])
                dup = col.duplicated(keep=False)
                if dup.any():
                    raise ValidationError("duplicate respondent ids", file=source, column=name,
                                          values=col[dup].tolist())
                continue
            if var.type == "weight":
                validate_weights(col, column=name, source=source)
                continue
            present = col.notna()
            if var.is_string:
                vals = col[present].astype(str)
                bad = ~vals.isin(list(var.values))
                if bad.any():
                    raise ValidationError("codes outside the codebook", file=source, column=name,
                                          values=vals[bad].tolist(),
                                          hint=f"valid codes: {', '.join(map(str, var.values))}")
            else:
                arr = _as_float(col, name, source)
                ok = ~np.isnan(arr)
                if var.values:
                    codes = np.array([float(k) for k in var.values])
                    bad = ok & ~np.isin(arr, codes)
                    if bad.any():
                        raise ValidationError(
                            "codes outside the codebook", file=source, column=name,
                            values=col[bad].tolist(),
                            hint="valid codes: "
                            + ", ".join(f"{k}={v}" for k, v in var.values.items()))
                if var.type == "count":
                    bad = ok & (arr != np.round(arr))
                    if bad.any():
                        raise ValidationError("counts must be whole numbers", file=source,
                                              column=name, values=col[bad].tolist())
                if var.range is not None:
                    lo, hi = var.range
                    bad = ok & (((arr < lo) if lo is not None else False)
                                | ((arr > hi) if hi is not None else False))
                    if np.any(bad):
                        raise ValidationError(
                            f"values outside the valid range [{lo}, {hi}]", file=source,
                            column=name, values=col[bad].tolist())
            if var.universe is not None and var.universe[0] in df.columns:
                inside = self._in_universe(df, var)
                out = present.to_numpy() & ~inside
                if out.any():
                    u, val = var.universe
                    raise ValidationError(
                        f"answers outside the universe ({u} == {val})", file=source, column=name,
                        values=[f"row {i + 1}" for i in np.flatnonzero(out)],
                        hint="these respondents were not asked; their value must be NA")

    def _in_universe(self, df: pd.DataFrame, var: Variable) -> np.ndarray:
        u, val = var.universe  # type: ignore[misc]
        col = df[u]
        if isinstance(val, str):
            return (col.astype(object) == val).to_numpy(dtype=bool, na_value=False)
        return (pd.to_numeric(col, errors="coerce") == val).to_numpy(dtype=bool, na_value=False)

    # -- derivation ----------------------------------------------------------------------------

    def derive(self, df: pd.DataFrame, missing: Reasons | None = None,
               skip: Iterable[str] = ()) -> pd.DataFrame:
        """Return a copy of ``df`` with the derived variables added (or recomputed).

        ``missing`` gives the NA reasons of the inputs; use :meth:`derive_with_reasons` to
        also get the reasons of the derived values. ``skip`` names derived variables to leave
        as they are (e.g. taken from the raw file).
        """
        return self.derive_with_reasons(df, missing, skip)[0]

    def derive_with_reasons(
        self, df: pd.DataFrame, missing: Reasons | None = None, skip: Iterable[str] = (),
    ) -> tuple[pd.DataFrame, dict[str, pd.Series]]:
        """Like :meth:`derive`, also returning {column: reasons} for every derived column."""
        out = df.copy()
        reasons: dict[str, pd.Series] = dict(missing or {})
        skip = set(skip)
        done: set[str] = set()

        def compute(name: str, stack: tuple[str, ...] = ()) -> None:
            if name in done or name in skip:
                return
            var = self.variables[name]
            if var.derive is None:
                return
            if name in stack:
                raise SchemaError("circular derivation", file=self.path, column=name)
            for inp in _expr_inputs(var.derive):
                compute(inp, (*stack, name))
            values, why = self._eval(var.derive, out, reasons)
            if var.universe is not None and var.universe[0] in out.columns:
                outside = ~self._in_universe(out, var)
                values = np.where(outside, np.nan, values)
                why = np.where(outside, "not asked", why)
            why = np.where(np.isnan(values), why, None)
            out[name] = values
            reasons[name] = pd.Series(why, index=out.index, dtype=object, name=name)
            done.add(name)

        for name in self.derived:
            compute(name)
        return out, reasons

    def _operand(self, name: str, df: pd.DataFrame,
                 reasons: Mapping[str, pd.Series]) -> tuple[np.ndarray, np.ndarray]:
        if name not in df.columns:
            raise ValidationError("input of a derived variable is missing", file=self.path,
                                  values=[name])
        arr = _as_float(df[name], name, self.path)
        why = reasons_of(df, name, reasons).to_numpy(dtype=object)
        return arr, why

    def _eval(self, expr: Any, df: pd.DataFrame,
              reasons: Mapping[str, pd.Series]) -> tuple[np.ndarray, np.ndarray]:
        """Evaluate a derivation: (float values with NaN, reasons where NaN)."""
        if isinstance(expr, str):
            return self._operand(expr, df, reasons)
        op, arg = next(iter(expr.items()))
        n = len(df)
        if op in ("count_of", "any_of", "difference"):
            parts = [self._eval(a, df, reasons) for a in arg]
            vals = np.vstack([p[0] for p in parts])
            why = np.full(n, None, dtype=object)
            for v, w in reversed(parts):  # first NA operand's reason wins
                why = np.where(np.isnan(v), w, why)
            na = np.isnan(vals).any(axis=0)
            if op == "difference":
                res = vals[0] - vals[1]
            else:
                res = (vals == 1).sum(axis=0).astype(float)
                if op == "any_of":
                    res = (res > 0).astype(float)
            return np.where(na, np.nan, res), why
        if op == "cut":
            src = arg["from"]
            x, why = self._operand(src, df, reasons)
            res = np.full(n, np.nan)
            hit = np.zeros(n, dtype=bool)
            for b in arg["bins"]:
                m = ~hit & (x >= b["min"]) & (x <= b["max"])
                res[m] = b["code"]
                hit |= m
            outside = ~np.isnan(x) & ~hit
            if outside.any():
                raise ValidationError("values fall outside every bin of the derivation",
                                      file=self.path, column=src, values=x[outside].tolist())
            return res, why
        # map
        src = arg["from"]
        if src not in df.columns:
            raise ValidationError("input of a derived variable is missing", file=self.path,
                                  values=[src])
        table = self.tables.get(arg["table"]) or load_table(arg["table"])
        lookup = {k: row.get(arg["field"]) for k, row in table.items()}
        codes = arg.get("codes")
        if codes:
            lookup = {k: codes.get(v, np.nan) for k, v in lookup.items()}
        col = df[src]
        present = col.notna().to_numpy()
        keys = str_values(col)
        mapped = pd.to_numeric(keys.map(lookup), errors="coerce").to_numpy(dtype=float)
        bad = present & np.isnan(mapped)
        if bad.any():
            raise ValidationError(f"values not in table {arg['table']!r}", file=self.path,
                                  column=src, values=col[bad].tolist())
        return mapped, reasons_of(df, src, reasons).to_numpy(dtype=object)

    # -- description ---------------------------------------------------------------------------

    def describe_frame(self, df: pd.DataFrame, missing: Reasons | None = None) -> pd.DataFrame:
        """The codebook view of a canonical frame, one row per (variable, code / NA reason).

        Columns: ``variable, label, type, kind, code, value_label, n``. ``kind`` is ``code``
        (a codebook code, zero counts included; ``value_label`` "(not in codebook)" for others),
        ``value`` (a summary of numeric or id values) or ``missing`` (NA count by reason).
        """
        rows: list[dict[str, Any]] = []
        for name, var in self.variables.items():
            if name not in df.columns:
                rows.append(_row(var, "missing", None, "(column absent)", len(df)))
                continue
            col = df[name]
            present = col[col.notna()]
            if var.values and var.type in CODED_TYPES:
                counts = (present.astype(str) if var.is_string
                          else pd.to_numeric(present, errors="coerce")).value_counts()
                for code, lab in var.values.items():
                    key = str(code) if var.is_string else float(code)
                    rows.append(_row(var, "code", code, lab, int(counts.get(key, 0))))
                known = {str(c) if var.is_string else float(c) for c in var.values}
                for code, cnt in counts.sort_index().items():
                    if code not in known:
                        rows.append(_row(var, "code", code, "(not in codebook)", int(cnt)))
            elif var.type == "count":
                counts = pd.to_numeric(present, errors="coerce").value_counts().sort_index()
                for code, cnt in counts.items():
                    rows.append(_row(var, "code", code, "", int(cnt)))
            else:
                rows.append(_row(var, "value", None, _summary(present, var.type), len(present)))
            rows.extend(_missing_rows(var, df, name, missing))
        return pd.DataFrame(rows, columns=DESCRIBE_COLUMNS)


DESCRIBE_COLUMNS = ["variable", "label", "type", "kind", "code", "value_label", "n"]


def _row(var: Variable, kind: str, code: Any, value_label: str, n: int) -> dict[str, Any]:
    return {"variable": var.name, "label": var.label, "type": var.type, "kind": kind,
            "code": code, "value_label": value_label, "n": n}


def _summary(present: pd.Series, vtype: str) -> str:
    """One-line summary of the non-missing values of a numeric or id column."""
    if vtype == "id":
        return f"{present.nunique()} distinct"
    num = pd.to_numeric(present, errors="coerce")
    if num.notna().sum() == 0:
        return f"{present.nunique()} distinct"
    return f"min {num.min():.6g}, mean {num.mean():.6g}, max {num.max():.6g}"


def _missing_rows(var: Variable, df: pd.DataFrame, name: str,
                  missing: Reasons | None) -> list[dict[str, Any]]:
    why = reasons_of(df, name, missing)
    counts = why.dropna().value_counts()
    def code(reason: str) -> int | None:
        if not var.missing or reason == "system missing":
            return None  # system-missing values have no code (empty in .sav files)
        return var.missing_code(reason)

    return [_row(var, "missing", code(str(r)), str(r), int(c))
            for r, c in sorted(counts.items(), key=lambda kv: str(kv[0]))]


def render_description(frame: pd.DataFrame, title: str | None = None) -> str:
    """Plain-text rendering of a :meth:`Codebook.describe_frame`-style table."""
    lines: list[str] = []
    if title:
        lines += [title, "=" * len(title)]
    for name, block in frame.groupby("variable", sort=False):
        first = block.iloc[0]
        label = first["label"] if isinstance(first["label"], str) and first["label"] else ""
        lines.append(f"{name} ({first['type']}){': ' + label if label else ''}")
        for r in block.itertuples(index=False):
            if r.kind == "code":
                code = _fmt_code(r.code)
                lines.append(f"    {code:>12}  {r.value_label:<40} {r.n:>8}")
            elif r.kind == "value":
                lines.append(f"    {'':>12}  {r.value_label:<40} {r.n:>8}")
            else:
                code = "NA" if r.code is None or pd.isna(r.code) else f"NA ({_fmt_code(r.code)})"
                lines.append(f"    {code:>12}  {r.value_label:<40} {r.n:>8}")
    # labels are someone else's data: control characters are shown escaped, never sent raw
    return "\n".join(terminal_safe(line, newlines=False) for line in lines)


def _fmt_code(code: Any) -> str:
    if isinstance(code, float) and code.is_integer():
        return str(int(code))
    return str(code)
