"""One validated expression language for every string a user passes as a formula or expression.

Strings are data: model formulas (``glm``, ``ordinal``, ``multinom``, ``negbin``, ``calibrate``),
``offset(...)`` terms, ``design.subset("...")`` and ``likert(domains={"x": "..."})`` are parsed
with :mod:`ast` and checked node by node against a whitelist *before* anything is evaluated. What
the language allows:

- column names (``age``; odd names in backticks, ```avg ed```; R-style dotted names such as
  ``sch.wide`` when the data have that column; ``Q("name")`` in formulas);
- numbers, strings, ``True``/``False``/``None``, list and tuple literals;
- arithmetic ``+ - * / // % **``, unary ``- + ~ not``, comparisons (chained too, ``1 < x <= 5``),
  ``in`` / ``not in`` a list or tuple literal, ``and or not``, ``& |``;
- the functions in :data:`EXPRESSION_FUNCTIONS` (expressions) and :data:`FORMULA_FUNCTIONS`
  (formula terms: factors, contrasts, transforms), also as ``np.log(...)``; in formulas the
  operators ``~ + - : * / ** | 0 1 -1`` of the formula grammar (formulaic's).

Everything else is refused with a one-line :class:`~surveykit.errors.ExpressionError` naming the
offending part: attribute access (other than ``np.<function>`` and ``contr.<contrast>``),
subscripts, dunder names, lambdas, comprehensions, f-strings, starred arguments, ``:=``,
unknown functions and unknown names.

Expressions (subset, domains, offsets) are never handed to ``eval``: :func:`evaluate` walks the
checked tree itself with the frame's columns (pandas Series) and the whitelisted functions, so no
module object is in any namespace. In an expression ``&`` and ``|`` mean ``and`` / ``or`` with
their precedence, as in ``DataFrame.eval`` (``a == 1 & b > 2`` is ``(a == 1) and (b > 2)``).
Formula terms are evaluated by formulaic after the check, in a context (:data:`FORMULA_CONTEXT`)
that shadows formulaic's own ``np`` module and unlisted transforms.
"""

from __future__ import annotations

import ast
import io
import operator
import re
import tokenize
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from surveykit.errors import (
    DesignError,
    EstimationError,
    ExpressionError,
    ModelError,
    SchemaError,
    SurveyKitError,
    WeightingError,
)

__all__ = [
    "EXPRESSION_FUNCTIONS",
    "FORMULA_CONTEXT",
    "FORMULA_FUNCTIONS",
    "ExpressionError",
    "check_expression",
    "evaluate",
    "expression_error",
    "expression_names",
    "validate_formula",
    "validate_term",
]

_SHOWN = 80  # characters of the user's string shown in an error


def _plain(fn: Callable[..., Any], name: str, doc: str) -> Callable[[Any], Any]:
    """A one-argument function around a numpy ufunc: a plain callable, not the ufunc/module."""

    def call(x: Any) -> Any:
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return fn(x)

    call.__name__ = call.__qualname__ = name
    call.__doc__ = doc
    return call


def _isna(x: Any) -> Any:
    return pd.isna(x)


def _notna(x: Any) -> Any:
    return pd.notna(x)


#: Functions an expression (subset, domain, offset) may call; each takes one argument.
EXPRESSION_FUNCTIONS: Mapping[str, Callable[[Any], Any]] = MappingProxyType({
    "log": _plain(np.log, "log", "natural logarithm"),
    "log1p": _plain(np.log1p, "log1p", "log(1 + x)"),
    "log2": _plain(np.log2, "log2", "base-2 logarithm"),
    "log10": _plain(np.log10, "log10", "base-10 logarithm"),
    "exp": _plain(np.exp, "exp", "exponential"),
    "expm1": _plain(np.expm1, "expm1", "exp(x) - 1"),
    "sqrt": _plain(np.sqrt, "sqrt", "square root"),
    "abs": _plain(np.abs, "abs", "absolute value"),
    "isna": _plain(_isna, "isna", "True where the value is missing (R's is.na)"),
    "notna": _plain(_notna, "notna", "True where the value is present (R's !is.na)"),
    "isnull": _plain(_isna, "isnull", "alias of isna"),
    "notnull": _plain(_notna, "notnull", "alias of notna"),
})

#: Functions a formula term may call (evaluated by formulaic): factors and contrasts, the
#: identity ``I``, ``Q("odd name")``, stateful transforms and the maths functions above.
FORMULA_FUNCTIONS: frozenset[str] = frozenset({
    "C", "I", "Q", "offset",
    "center", "scale", "standardize", "poly", "bs", "cr", "cs", "cc",
    "Treatment", "Sum", "Poly", "Helmert", "Diff",
    "log", "log1p", "log2", "log10", "exp", "exp2", "expm1", "sqrt", "abs",
})

#: Contrast codings reachable as ``contr.<name>`` inside ``C(x, contr.treatment(...))``.
_CONTRASTS: frozenset[str] = frozenset({"treatment", "sum", "helmert", "poly", "diff", "SAS"})

#: ``np.<name>`` is the whitelisted function of that name (no numpy module is reachable).
_NUMPY_ALIASES = ("np", "numpy")


class _Namespace:
    """Attribute access to a fixed set of plain callables (``np.log`` in a formula); holds no
    module, refuses every other attribute."""

    __slots__ = ("_items", "_label")

    def __init__(self, label: str, items: Mapping[str, Any]) -> None:
        object.__setattr__(self, "_items", dict(items))
        object.__setattr__(self, "_label", label)

    def __getattr__(self, name: str) -> Any:
        items = object.__getattribute__(self, "_items")
        if name in items:
            return items[name]
        raise AttributeError(f"{object.__getattribute__(self, '_label')}.{name} is not part of "
                             "the expression language")

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("read-only")


def _formula_context() -> Mapping[str, Any]:
    """formulaic's evaluation context: shadows its ``np`` module and every transform that is not
    in :data:`FORMULA_FUNCTIONS` (defence in depth behind :func:`validate_formula`)."""
    from formulaic.transforms import TRANSFORMS

    maths = {k: v for k, v in EXPRESSION_FUNCTIONS.items()}
    maths["exp2"] = _plain(np.exp2, "exp2", "2 ** x")

    def refused(name: str) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            raise ExpressionError(f"{name}() is not part of the expression language")
        return call

    ctx: dict[str, Any] = {name: refused(name) for name in TRANSFORMS
                           if name not in FORMULA_FUNCTIONS and name != "contr"}
    ctx.update({k: v for k, v in maths.items() if k in FORMULA_FUNCTIONS})
    safe_np = _Namespace("np", {k: v for k, v in maths.items() if k in FORMULA_FUNCTIONS})
    for alias in _NUMPY_ALIASES:
        ctx[alias] = safe_np
    return MappingProxyType(ctx)


FORMULA_CONTEXT: Mapping[str, Any] = _formula_context()


# --- errors -----------------------------------------------------------------------------------


class ModelExpressionError(ExpressionError, ModelError):
    """A model formula outside the expression language."""


class DesignExpressionError(ExpressionError, DesignError):
    """A subset expression outside the expression language."""


class EstimationExpressionError(ExpressionError, EstimationError):
    """A domain expression outside the expression language."""


class WeightingExpressionError(ExpressionError, WeightingError):
    """A calibration formula outside the expression language."""


class SchemaExpressionError(ExpressionError, SchemaError):
    """A registry/codebook expression outside the expression language."""


_KINDS: dict[type[SurveyKitError], type[ExpressionError]] = {
    ExpressionError: ExpressionError,
    ModelError: ModelExpressionError,
    DesignError: DesignExpressionError,
    EstimationError: EstimationExpressionError,
    WeightingError: WeightingExpressionError,
    SchemaError: SchemaExpressionError,
}


def _error_class(kind: type[SurveyKitError]) -> type[ExpressionError]:
    """The error to raise: an ExpressionError that is also the caller's own error type, so a
    caller's ``except ModelError`` keeps working."""
    return _KINDS.get(kind, ExpressionError)


def expression_error(kind: type[SurveyKitError]) -> type[ExpressionError]:
    """The error class for a malformed formula/expression in a caller whose errors are ``kind``
    (an ExpressionError that is also a ``kind``)."""
    return _error_class(kind)


def _short(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."


def _segment(source: str, node: ast.AST) -> str:
    seg = ast.get_source_segment(source, node)
    return _short(seg if seg is not None else ast.unparse(node))


# --- the checker ------------------------------------------------------------------------------

_BINOPS: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: operator.truediv, ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod,
    ast.Pow: operator.pow, ast.BitAnd: operator.and_, ast.BitOr: operator.or_,
    ast.BitXor: operator.xor,
}
_CMPOPS: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
    ast.Gt: operator.gt, ast.GtE: operator.ge,
}
_REFUSED: dict[type[ast.AST], str] = {
    ast.Lambda: "lambda", ast.ListComp: "comprehension", ast.SetComp: "comprehension",
    ast.DictComp: "comprehension", ast.GeneratorExp: "generator expression",
    ast.JoinedStr: "f-string", ast.FormattedValue: "f-string", ast.Starred: "starred argument",
    ast.NamedExpr: "assignment expression (:=)", ast.Subscript: "subscript",
    ast.Slice: "subscript", ast.Await: "await", ast.Yield: "yield", ast.YieldFrom: "yield",
    ast.IfExp: "conditional expression", ast.Dict: "dict literal", ast.Set: "set literal",
}


def columns_hint(columns: Iterable[Any], unknown: str | None = None, k: int = 30) -> str:
    """"did you mean ...? columns: a, b, ... (odd names in backticks)" for an error about an
    unknown name: the close matches, then the data's columns in their order."""
    import difflib

    names = [str(c) for c in columns]
    close = difflib.get_close_matches(unknown, names, n=3, cutoff=0.6) if unknown else []
    shown = ", ".join(names[:k]) + (f", ... (+{len(names) - k})" if len(names) > k else "")
    lead = f"did you mean {' or '.join(close)}? " if close else ""
    return f"{lead}columns: {shown} (odd names in backticks)"


class _Checker:
    """Walks a parsed expression and raises on the first node outside the language."""

    def __init__(self, source: str, columns: Iterable[Any], functions: Iterable[str], *,
                 formula: bool, aliases: Mapping[str, str], err: type[ExpressionError],
                 what: str, file: str | None, check_names: bool = True) -> None:
        self.source = source
        self.column_order = [c for c in columns if isinstance(c, str)]
        self.columns = set(self.column_order)
        self.functions = set(functions)
        self.formula = formula
        self.aliases = aliases
        self.err = err
        self.what = what
        self.file = file
        self.check_names = check_names
        self.names: list[str] = []

    def fail(self, node: ast.AST, why: str, *, hint: str | None = None,
             column: str | None = None) -> None:
        raise self.err(f"{self.what}: {why}", file=self.file, column=column,
                       hint=hint or "See the expression language in docs/expressions.md")

    def dotted(self, node: ast.AST) -> str | None:
        """``a.b.c`` as text when the node is a chain of names, else None."""
        parts: list[str] = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name):
            return None
        parts.append(node.id)
        return ".".join(reversed(parts))

    def column_of(self, node: ast.AST) -> str | None:
        """The column a Name/dotted-name node stands for (after backtick aliases), if any."""
        text = self.dotted(node)
        if text is None:
            return None
        text = self.aliases.get(text, text)
        return text if text in self.columns else None

    def check(self, tree: ast.AST) -> None:
        for node in ast.walk(tree):  # dunders first: the most telling message
            name = node.id if isinstance(node, ast.Name) else (
                node.attr if isinstance(node, ast.Attribute) else None)
            if name is not None and name.startswith("__"):
                self.fail(node, f"dunder name {name!r} is not allowed (in "
                          f"{_segment(self.source, node)!r})")
        self.visit(tree)

    def visit(self, node: ast.AST, *, callee: bool = False) -> None:
        kind = type(node)
        if kind is ast.Expression:
            return self.visit(node.body)  # type: ignore[attr-defined]
        if kind in _REFUSED:
            return self.fail(node, f"{_REFUSED[kind]} is not allowed: "
                             f"{_segment(self.source, node)!r}")
        if isinstance(node, ast.Constant):
            if node.value is not None and not isinstance(node.value, (bool, int, float, str)):
                self.fail(node, f"constant {_segment(self.source, node)!r} is not allowed")
            return None
        if isinstance(node, ast.Name):
            if self.column_of(node) is not None:
                self.names.append(self.aliases.get(node.id, node.id))
                return None
            if callee and node.id in self.functions:
                return None
            if self.formula and node.id in self.functions and node.id[:1].isupper():
                return None  # a contrast passed as an object: C(x, Sum)
            if node.id in self.functions:
                return self.fail(node, f"function {node.id!r} used without a call")
            if callee:
                return self.fail(node, f"function {node.id}() is not allowed",
                                 hint="allowed: " + ", ".join(sorted(self.functions)))
            if not self.check_names:
                return None
            return self.fail(node, f"name {node.id!r} is not defined", column=node.id,
                             hint=columns_hint(self.column_order, node.id))
        if isinstance(node, ast.Attribute):
            col = self.column_of(node)
            if col is not None:
                self.names.append(col)
                return None
            text = self.dotted(node)
            if text is not None and "." in text:
                base, attr = text.split(".", 1)
                if callee and base in _NUMPY_ALIASES and attr in self.functions \
                        and attr in EXPRESSION_FUNCTIONS:
                    return None
                if self.formula and base == "contr" and attr in _CONTRASTS:
                    return None
            return self.fail(node, f"attribute access {_segment(self.source, node)!r} is not "
                             "allowed")
        if isinstance(node, ast.Call):
            if not isinstance(node.func, (ast.Name, ast.Attribute)):
                return self.fail(node, f"call of {_segment(self.source, node.func)!r} is not "
                                 "allowed")
            self.visit(node.func, callee=True)
            fname = self.dotted(node.func) or ""
            if fname == "Q":
                if (len(node.args) != 1 or node.keywords
                        or not isinstance(node.args[0], ast.Constant)
                        or not isinstance(node.args[0].value, str)):
                    return self.fail(node, "Q() takes one quoted column name")
                name = node.args[0].value
                if self.check_names and name not in self.columns:
                    return self.fail(node, f"name {name!r} is not defined", column=name)
                self.names.append(name)
                return None
            for arg in node.args:
                self.visit(arg)
            for kw in node.keywords:
                if kw.arg is None:
                    return self.fail(node, f"** arguments are not allowed: "
                                     f"{_segment(self.source, node)!r}")
                self.visit(kw.value)
            return None
        if isinstance(node, ast.BinOp):
            if type(node.op) not in _BINOPS:
                return self.fail(node, f"operator in {_segment(self.source, node)!r} is not "
                                 "allowed")
            self.visit(node.left)
            return self.visit(node.right)
        if isinstance(node, ast.UnaryOp):
            return self.visit(node.operand)
        if isinstance(node, ast.BoolOp):
            for v in node.values:
                self.visit(v)
            return None
        if isinstance(node, ast.Compare):
            self.visit(node.left)
            for op, right in zip(node.ops, node.comparators, strict=True):
                if isinstance(op, (ast.In, ast.NotIn)):
                    if not isinstance(right, (ast.List, ast.Tuple)):
                        return self.fail(node, "'in' needs a list or tuple of values: "
                                         f"{_segment(self.source, node)!r}")
                elif isinstance(op, (ast.Is, ast.IsNot)):
                    return self.fail(node, f"'is' is not allowed (use ==, isna()): "
                                     f"{_segment(self.source, node)!r}")
                self.visit(right)
            return None
        if isinstance(node, (ast.List, ast.Tuple)):
            for elt in node.elts:
                self.visit(elt)
            return None
        return self.fail(node, f"{_segment(self.source, node)!r} is not part of the expression "
                         "language")


# --- parsing ----------------------------------------------------------------------------------

_BACKTICK = re.compile(r"`([^`]*)`")


def _sanitize(text: str) -> tuple[str, dict[str, str]]:
    """Backticked names -> placeholder identifiers (and the map back)."""
    aliases: dict[str, str] = {}

    def sub(m: re.Match[str]) -> str:
        alias = f"_sk_q{len(aliases)}"
        aliases[alias] = m.group(1)
        return alias

    out = _BACKTICK.sub(sub, text)
    if "`" in out:
        raise ValueError("unbalanced backtick")
    return out, aliases


def _pandas_booleans(text: str) -> str:
    """``&``/``|`` -> ``and``/``or`` outside strings, as ``DataFrame.eval`` reads them."""
    if "&" not in text and "|" not in text:
        return text
    try:
        toks = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return text
    out = []
    for tok in toks:
        if tok.type == tokenize.OP and tok.string in ("&", "|"):
            out.append((tokenize.NAME, "and" if tok.string == "&" else "or"))
        else:
            out.append((tok.type, tok.string))
    try:
        return tokenize.untokenize(out).strip()
    except ValueError:
        return text


def _parse(text: str, err: type[ExpressionError], what: str, file: str | None, *,
           booleans: bool = False) -> tuple[ast.Expression, dict[str, str], str]:
    if not isinstance(text, str):
        raise err(f"{what} must be a string, got {type(text).__name__}", file=file)
    if "\x00" in text or "\n" in text.strip() or "\r" in text:
        raise err(f"{what} must be one line of text: {_short(repr(text))}", file=file)
    try:
        clean, aliases = _sanitize(text.strip())
        if booleans:
            clean = _pandas_booleans(clean)
        tree = ast.parse(clean, mode="eval")
    except (SyntaxError, ValueError) as exc:
        why = getattr(exc, "msg", None) or str(exc)
        raise err(f"{what}: cannot parse {_short(text)!r} ({why})", file=file,
                  hint="See the expression language in docs/expressions.md") from None
    return tree, aliases, clean


def check_expression(expr: str, columns: Iterable[Any], *, kind: type[SurveyKitError] =
                     ExpressionError, what: str = "expression", file: str | None = None,
                     functions: Iterable[str] | None = None) -> list[str]:
    """Check an expression (subset, domain, offset) against the language; return the columns
    it names, in order. Raises ExpressionError (also a ``kind``) naming the offending part."""
    err = _error_class(kind)
    what = f"{what} {_short(expr)!r}" if isinstance(expr, str) else what
    tree, aliases, clean = _parse(expr, err, what, file, booleans=True)
    checker = _Checker(clean, columns, EXPRESSION_FUNCTIONS if functions is None else functions,
                       formula=False, aliases=aliases, err=err, what=what, file=file)
    checker.check(tree)
    return list(dict.fromkeys(checker.names))


def expression_names(expr: str) -> list[str]:
    """Names an expression mentions (columns or unknown), without checking them against data."""
    tree, aliases, clean = _parse(expr, ExpressionError, "expression", None, booleans=True)
    checker = _Checker(clean, (), EXPRESSION_FUNCTIONS, formula=False, aliases=aliases,
                       err=ExpressionError, what="expression", file=None, check_names=False)
    checker.check(tree)
    names = [aliases.get(n.id, n.id) for n in ast.walk(tree) if isinstance(n, ast.Name)
             and n.id not in EXPRESSION_FUNCTIONS and n.id not in _NUMPY_ALIASES]
    return list(dict.fromkeys(names))


# --- the evaluator ----------------------------------------------------------------------------


class _Evaluator:
    def __init__(self, columns: Callable[[str], Any], aliases: Mapping[str, str],
                 names: set[str]) -> None:
        self.column = columns
        self.aliases = aliases
        self.names = names

    def dotted(self, node: ast.AST) -> str | None:
        parts: list[str] = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name):
            return None
        parts.append(node.id)
        text = ".".join(reversed(parts))
        return self.aliases.get(text, text)

    def __call__(self, node: ast.AST) -> Any:
        if isinstance(node, ast.Expression):
            return self(node.body)
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, (ast.Name, ast.Attribute)):
            return self.column(self.dotted(node) or "")
        if isinstance(node, (ast.List, ast.Tuple)):
            return [self(e) for e in node.elts]
        if isinstance(node, ast.Call):
            name = self.dotted(node.func) or ""
            name = name.split(".", 1)[1] if name.split(".", 1)[0] in _NUMPY_ALIASES else name
            fn = EXPRESSION_FUNCTIONS[name]
            if len(node.args) != 1 or node.keywords:
                raise ExpressionError(f"{name}() takes exactly one argument")
            return fn(self(node.args[0]))
        if isinstance(node, ast.BinOp):
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                return _BINOPS[type(node.op)](self(node.left), self(node.right))
        if isinstance(node, ast.UnaryOp):
            val = self(node.operand)
            if isinstance(node.op, ast.USub):
                return -val
            if isinstance(node.op, ast.UAdd):
                return +val
            if isinstance(val, bool):
                return not val
            return ~val if not isinstance(val, (int, float)) else (not val)
        if isinstance(node, ast.BoolOp):
            op = operator.and_ if isinstance(node.op, ast.And) else operator.or_
            out = self(node.values[0])
            for v in node.values[1:]:
                out = op(out, self(v))
            return out
        if isinstance(node, ast.Compare):
            left = self(node.left)
            out: Any = None
            for op, right_node in zip(node.ops, node.comparators, strict=True):
                right = self(right_node)
                if isinstance(op, (ast.In, ast.NotIn)):
                    ser = left if isinstance(left, pd.Series) else pd.Series(np.atleast_1d(left))
                    part = ser.isin(right)
                    if isinstance(op, ast.NotIn):
                        part = ~part
                else:
                    part = _CMPOPS[type(op)](left, right)
                out = part if out is None else (out & part)
                left = right
            return out
        raise ExpressionError(f"{ast.unparse(node)!r} is not part of the expression language")


def evaluate(expr: str, frame: pd.DataFrame, *, kind: type[SurveyKitError] = ExpressionError,
             what: str = "expression", file: str | None = None,
             convert: Callable[[pd.Series], Any] | None = None) -> Any:
    """Evaluate a checked expression on ``frame``: its columns (pandas Series) and the functions
    of :data:`EXPRESSION_FUNCTIONS`, nothing else; no ``eval``.

    ``kind`` is the caller's error type (the raised error is an ExpressionError and a ``kind``);
    ``convert`` maps each column before use (e.g. ``pd.to_numeric`` for offsets). Errors while
    computing (comparing text with numbers, ...) are one-line errors of the same class.
    """
    err = _error_class(kind)
    check_expression(expr, list(frame.columns), kind=kind, what=what, file=file)
    label = f"{what} {_short(expr)!r}"
    tree, aliases, _clean = _parse(expr, err, label, file, booleans=True)

    def column(name: str) -> Any:
        col = frame[name]
        return convert(col) if convert is not None else col

    try:
        return _Evaluator(column, aliases, set(frame.columns))(tree)
    except ExpressionError:
        raise
    except Exception as exc:  # pandas/numpy raise many types for a bad operation
        text = " ".join(str(exc).split()) or type(exc).__name__
        raise err(f"{label}: {_short(text)}", file=file) from exc


# --- formulas ---------------------------------------------------------------------------------


def validate_formula(formula: str, columns: Iterable[Any], *, kind: type[SurveyKitError] =
                     ModelError, file: str | None = None, shown: str | None = None) -> list[str]:
    """Check a model formula (formulaic's grammar) before formulaic evaluates any of it.

    Every token of the formula is checked: names must be columns (or ``.``), literals numbers or
    strings, and each Python term (``C(x)``, ``I(x ** 2)``, ``{x + 1}``, ``np.log(x)``) must use
    only columns, constants, the operators of the language and :data:`FORMULA_FUNCTIONS`.
    ``shown`` is the formula as the user wrote it (for the message). Returns the columns named.
    """
    from formulaic.errors import FormulaicError
    from formulaic.parser import DefaultFormulaParser

    err = _error_class(kind)
    label = f"formula {_short(shown if shown is not None else formula)!r}"
    if not isinstance(formula, str):
        raise err(f"formula must be a string such as 'y ~ x', got {type(formula).__name__}",
                  file=file)
    if "\x00" in formula or "\n" in formula.strip() or "\r" in formula:
        raise err(f"{label} must be one line of text", file=file)
    cols = [c for c in columns if isinstance(c, str)]
    colset = set(cols)
    try:
        tokens = list(DefaultFormulaParser().get_tokens(formula))
    except (FormulaicError, ValueError, SyntaxError) as exc:
        text = str(exc).strip().splitlines()
        raise err(f"{label}: cannot parse ({_short(text[0] if text else type(exc).__name__)})",
                  file=file) from None
    names: list[str] = []
    for tok in tokens:
        kind_ = tok.kind.value
        text = tok.token
        if kind_ == "name":
            name = text[1:-1] if len(text) > 1 and text[0] == text[-1] == "`" else text
            if name == "." or name in colset:
                names.append(name)
                continue
            dunder = [part for part in name.split(".") if part.startswith("__")]
            if dunder:
                raise err(f"{label}: dunder name {dunder[0]!r} is not allowed", file=file)
            raise err(f"{label}: name {name!r} is not defined", file=file, column=name,
                      hint=columns_hint(cols, name))
        if kind_ == "value":
            try:
                val = ast.literal_eval(text)
            except (ValueError, SyntaxError):
                raise err(f"{label}: {_short(text)!r} is not a number or string",
                          file=file) from None
            if val is not None and not isinstance(val, (bool, int, float, str)):
                raise err(f"{label}: {_short(text)!r} is not a number or string", file=file)
            continue
        if kind_ == "python":
            tree, aliases, clean = _parse(text, err, label, file)
            checker = _Checker(clean, cols, FORMULA_FUNCTIONS, formula=True, aliases=aliases,
                               err=err, what=label, file=file)
            checker.check(tree)
            names.extend(checker.names)
    return list(dict.fromkeys(names))


def validate_term(code: str, columns: Iterable[Any], *, kind: type[SurveyKitError] = ModelError,
                  file: str | None = None, shown: str | None = None) -> list[str]:
    """Check one Python term of a formula (a patsy factor's code such as ``C(stype)`` or
    ``Q("sch.wide")``) as :func:`validate_formula` checks formulaic's terms."""
    err = _error_class(kind)
    label = f"formula {_short(shown if shown is not None else code)!r}"
    tree, aliases, clean = _parse(code, err, label, file)
    checker = _Checker(clean, columns, FORMULA_FUNCTIONS, formula=True, aliases=aliases,
                       err=err, what=label, file=file)
    checker.check(tree)
    return list(dict.fromkeys(checker.names))
