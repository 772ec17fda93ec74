"""Typed errors. Every error surveykit raises on bad input derives from SurveyKitError.

Errors carry the file, column and a sample of offending values so that the CLI can print
one line that tells the user exactly what to fix.
"""

from __future__ import annotations

import reprlib
from collections.abc import Iterable
from typing import Any

#: Longest shown value (characters) and most values shown in an error message.
MAX_SHOWN_CHARS = 80
MAX_SHOWN_VALUES = 5

_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxdict, _REPR.maxlist, _REPR.maxtuple = 2, 4, 4, 4
_REPR.maxset = _REPR.maxfrozenset = _REPR.maxdeque = _REPR.maxarray = 4
_REPR.maxstring = _REPR.maxother = MAX_SHOWN_CHARS


class Shown(str):
    """A value already cut down for an error message; its ``repr`` is itself."""

    def __repr__(self) -> str:
        return str(self)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def shorten(value: Any, limit: int = MAX_SHOWN_CHARS) -> Any:
    """``value`` made safe to show: numbers and short strings as they are; a long string cut
    to ``limit`` characters (before any ``repr``); anything else (lists, dicts, objects of any
    size, even self-referencing ones) as a bounded ``reprlib`` text cut to ``limit``."""
    if value is None or isinstance(value, (bool, int, float, complex)):
        return value
    if isinstance(value, Shown):
        return value
    if isinstance(value, str):
        return _cut(value, limit)
    if isinstance(value, (bytes, bytearray)):
        return Shown(_cut(repr(bytes(value[: limit + 1])), limit))
    try:
        text = _REPR.repr(value)
    except Exception:  # a broken __repr__ of a user object
        text = f"<{type(value).__name__}>"
    return Shown(_cut(" ".join(text.split()), limit))


def short(value: Any, limit: int = MAX_SHOWN_CHARS) -> str:
    """The ``repr`` of :func:`shorten` (for building messages by hand)."""
    return repr(shorten(value, limit))


def _sample(values: Iterable[Any], limit: int = MAX_SHOWN_VALUES) -> tuple[list[Any], int, bool]:
    """First `limit` distinct offending values (in order of appearance, each shortened with
    :func:`shorten` before it is compared or shown), the total count, and whether there are
    more distinct values than those shown."""
    if isinstance(values, (str, bytes)):
        values = [values]
    seen: list[Any] = []
    keys: set[Any] = set()
    count = 0
    more = False
    for v in values:
        count += 1
        if more:
            continue  # only counted from here: nothing more is shown
        if hasattr(v, "item") and getattr(v, "ndim", None) == 0:  # numpy scalar -> Python
            v = v.item()
        v = shorten(v)
        key = v if not isinstance(v, float) or v == v else "<nan>"
        try:
            new = key not in keys
        except TypeError:  # pragma: no cover - shorten() returns hashable values
            new = True
        if new:
            if len(seen) < limit:
                seen.append(v)
                keys.add(key)
            else:
                more = True
    return seen, count, more


class SurveyKitError(Exception):
    """Base class of every surveykit error: one line naming file, column and offending values.

    Catch ``sk.SurveyKitError`` to handle any input problem; the command line prints its message
    on one line and exits with status 2.

    Parameters
    ----------
    message : str
        What went wrong, in one sentence.
    file : str, optional
        The file the problem is in.
    column : str, optional
        The column the problem is in.
    values : iterable, optional
        The offending values (at most 5 distinct ones are shown, each cut to 80 characters
        before any ``repr``, with the total count).
    hint : str, optional
        What the user can do about it.

    Examples
    --------
    >>> import pandas as pd
    >>> try:
    ...     sk.SurveyDesign(pd.DataFrame({"w": [1.0, -2.0]}), weights="w")
    ... except sk.SurveyKitError as err:
    ...     print(type(err).__name__, "|", err.column)
    DesignError | w
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        column: str | None = None,
        values: Iterable[Any] | None = None,
        hint: str | None = None,
    ) -> None:
        self.message = message
        self.file = None if file is None else _cut(str(file), 4 * MAX_SHOWN_CHARS)
        self.column = _cut(column, MAX_SHOWN_CHARS) if isinstance(column, str) else column
        if values is not None:
            self.values, self.count, self.more = _sample(values)
        else:
            self.values, self.count, self.more = [], 0, False
        self.hint = hint
        super().__init__(self._render())

    def _render(self) -> str:
        parts = []
        if self.file:
            parts.append(f"file {self.file!r}")
        if self.column:
            parts.append(f"column {self.column!r}")
        where = f" [{', '.join(parts)}]" if parts else ""
        text = f"{self.message}{where}"
        if self.count:
            shown = ", ".join(repr(v) for v in self.values)
            many = f"{self.count} in all"
            if not self.more and self.count > len(self.values):  # repeats of the values shown
                many += f", {len(self.values)} distinct"
            text += f"; offending values ({many}): {shown}"
            if self.more:
                text += ", and other values"
        if self.hint:
            text += f". {self.hint}"
        return " ".join(text.split())  # always one line: the CLI prints it as is


class InputFileError(SurveyKitError):
    """A file cannot be read: unknown extension, missing, unreadable or truncated."""


class SchemaError(SurveyKitError):
    """A codebook, mapping, registry or targets file is malformed."""


class ValidationError(SurveyKitError):
    """Data disagree with a codebook: wrong type, code outside the valid codes, duplicate ids."""


class MappingError(SurveyKitError):
    """A harmonisation mapping names a raw column that is missing, or leaves codes unmapped."""


class ExpressionError(SurveyKitError):
    """A formula or expression string uses something outside surveykit's expression language
    (attribute access, dunder names, lambdas, unknown functions or names): strings are data."""


class DesignError(SurveyKitError):
    """A survey design is invalid: bad weights, non-nested PSUs, lonely PSUs under 'fail'."""


class WeightingError(SurveyKitError):
    """Raking / calibration / post-stratification targets disagree with the sample."""


class ConvergenceError(SurveyKitError):
    """An iterative procedure (raking, calibration, model fitting) did not converge."""


class EstimationError(SurveyKitError):
    """An estimator cannot be computed (empty domain, non-numeric variable, ...)."""


class ScaleMismatchError(EstimationError):
    """Items tabulated together (a Likert battery) are not on one response scale."""


class ModelError(SurveyKitError):
    """A model cannot be fitted: collinear design matrix, separation, empty categories."""


class ReplicationError(SurveyKitError):
    """The replication run failed: missing table, registry mismatch, strict-mode failures."""


class ImputationError(SurveyKitError):
    """Multiple imputation cannot proceed: imputations that disagree in rows or design
    columns, fewer than two imputations to combine, a variable with nothing to impute."""
