"""One dispatch point for multiple imputation: the ``@mi_aware`` decorator.

Every estimator, model, contrast and test is decorated once. Called with an ordinary design
or result it runs unchanged. Called with an object that knows how to analyse imputations (an
:class:`~surveykit.mi.design.MIDesign`, a combined model result, or a combined tidy frame whose
``attrs["mi"]`` holds its imputations) it hands the call to that object's ``_mi_apply``, which
runs the undecorated function on each completed data set and combines the m results by Rubin's
rules. Combiners for each result type register here (``register``) from ``surveykit.mi``, which
every MI object imports, so this module imports nothing above the design layer.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

#: (result type, combiner(results, source, name, kwargs)) in registration order
_COMBINERS: list[tuple[type, Callable[..., Any]]] = []


def register(kind: type, combiner: Callable[..., Any]) -> None:
    """Register the Rubin's-rules combiner of results of type ``kind``."""
    _COMBINERS.insert(0, (kind, combiner))


def combiner_for(result: Any) -> Callable[..., Any] | None:
    """The registered combiner of ``result``'s type (most recently registered match first)."""
    for kind, fn in _COMBINERS:
        if isinstance(result, kind):
            return fn
    return None


def _mi_target(obj: Any) -> Any:
    """The object that analyses imputations, if ``obj`` is (or carries) one."""
    if getattr(type(obj), "_mi_apply", None) is not None:
        return obj
    attrs = getattr(obj, "attrs", None)
    if isinstance(attrs, dict):
        mi = attrs.get("mi")
        if getattr(type(mi), "_mi_apply", None) is not None:
            return mi
    return None


def mi_aware(fn: F) -> F:
    """Let ``fn(design_or_result, ...)`` take multiply imputed input (see module docstring)."""
    first = next(iter(inspect.signature(fn).parameters))

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        obj = args[0] if args else kwargs.get(first)
        target = _mi_target(obj)
        if target is None:
            return fn(*args, **kwargs)
        rest = args[1:] if args else ()
        kw = {k: v for k, v in kwargs.items() if not (not args and k == first)}
        return target._mi_apply(fn, rest, kw)

    wrapper.__wrapped_mi__ = fn  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]
