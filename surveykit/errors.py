"""Typed errors. Every error surveykit raises on bad input derives from SurveyKitError.

Errors carry the file, column and a sample of offending values so that the CLI can print
one line that tells the user exactly what to fix.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def _sample(values: Iterable[Any], limit: int = 5) -> tuple[list[Any], int, bool]:
    """First `limit` distinct offending values (in order of appearance), the total count, and
    whether there are more distinct values than those shown."""
    seen: list[Any] = []
    count = 0
    more = False
    for v in values:
        count += 1
        if hasattr(v, "item") and getattr(v, "ndim", None) == 0:  # numpy scalar -> Python
            v = v.item()
        if v not in seen:
            if len(seen) < limit:
                seen.append(v)
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
        The offending values (at most 5 distinct ones are shown, with the total count).
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
        self.file = None if file is None else str(file)
        self.column = column
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


class ModelError(SurveyKitError):
    """A model cannot be fitted: collinear design matrix, separation, empty categories."""


class ReplicationError(SurveyKitError):
    """The replication run failed: missing table, registry mismatch, strict-mode failures."""


class ImputationError(SurveyKitError):
    """Multiple imputation cannot proceed: imputations that disagree in rows or design
    columns, fewer than two imputations to combine, a variable with nothing to impute."""
