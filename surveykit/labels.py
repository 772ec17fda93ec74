"""Value and variable labels that travel with the data into every result.

Labels come from the data, never from guesses: :func:`surveykit.read` keeps the labels of a
.sav/.dta file and :func:`surveykit.harmonise` those of the canonical codebook, both stored in
the frame's ``attrs`` (``attrs["value_labels"] = {column: {code: label}}`` and
``attrs["variable_labels"] = {column: label}``), so a design built on the frame knows them.
Estimators, models, tables and figures call the helpers here:

- :func:`label_result` — a tidy estimate gets a ``level_label`` column beside ``level`` (and a
  ``<by>_label`` column beside each labelled ``by`` column); integral codes become integers;
- :func:`term_labels` — model terms ``C(age_group)[T.2]`` read "Age group: 31–50";
- :func:`value_labels` / :func:`variable_label` — the lookups themselves.

Label text is never rewritten: a file's "18-30" stays "18-30" in every result, CSV and model
term, so results join on the file's own labels (the canonical codebooks write their ranges
with an en dash, "14–30", as the publications print them). :func:`pretty` is the opt-in
display style that turns number ranges into en dashes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

#: the helpers documented for users (the others serve surveykit's own results)
__all__ = ["label_of", "term_labels", "value_labels", "variable_label"]

#: frame.attrs keys
VALUE_LABELS = "value_labels"
VARIABLE_LABELS = "variable_labels"

_RANGE_DASH = re.compile(r"(?<=\d)-(?=\d)")


class SharedLabels(dict):
    """A label dict that pandas shares instead of copying.

    pandas deep-copies ``frame.attrs`` on every operation that returns a new frame (thousands
    of times in one replication run); labels are never edited in place here (:func:`attach`
    builds new dicts), so a copy would only cost time. Treat it as read-only.
    """

    def __deepcopy__(self, memo: dict[int, Any]) -> SharedLabels:
        return self

    def __copy__(self) -> SharedLabels:
        return self


def pretty(text: Any) -> str:
    """Opt-in display style: number ranges with an en dash ("31-50" -> "31–50"). Never
    applied to labels by default (labels are data)."""
    return _RANGE_DASH.sub("–", str(text))


def as_code(value: Any) -> Any:
    """An integral number as ``int`` (1.0 -> 1); anything else unchanged."""
    if isinstance(value, (bool, np.bool_)):
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)) and np.isfinite(value) and float(value).is_integer():
        return int(value)
    return value


def _plain_key(key: Any) -> Any:
    key = key.item() if isinstance(key, np.generic) else key
    return as_code(key)


def _clean(labels: Mapping[Any, Any]) -> dict[Any, str]:
    return {_plain_key(k): str(v) for k, v in labels.items()}


def attach(frame: pd.DataFrame, value_labels: Mapping[str, Mapping[Any, Any]] | None = None,
           variable_labels: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Store labels of the frame's columns in ``frame.attrs`` (in place; returns the frame).

    Existing labels of other columns are kept; labels of columns not in the frame are ignored.
    Codes are stored as plain Python numbers (1.0 -> 1) so the attrs stay JSON-able.
    """
    cols = set(frame.columns)
    values = dict(frame.attrs.get(VALUE_LABELS, {}))
    for name, labels in (value_labels or {}).items():
        if name in cols and labels:
            values[name] = _clean(labels)
    names = dict(frame.attrs.get(VARIABLE_LABELS, {}))
    for name, label in (variable_labels or {}).items():
        if name in cols and label:
            names[name] = str(label)
    if values:
        frame.attrs[VALUE_LABELS] = SharedLabels(values)
    if names:
        frame.attrs[VARIABLE_LABELS] = SharedLabels(names)
    return frame


def attach_codebook(frame: pd.DataFrame, codebook: Any) -> pd.DataFrame:
    """Store the value and variable labels of a :class:`~surveykit.dictionary.Codebook` for
    the frame's columns (in place; returns the frame)."""
    variables = getattr(codebook, "variables", {})
    return attach(frame,
                  {n: v.values for n, v in variables.items() if getattr(v, "values", None)},
                  {n: v.label for n, v in variables.items() if getattr(v, "label", None)})


def _sources(source: Any) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
    """(value labels, variable labels) of a frame, design, raw file, harmonised result or
    model result."""
    seen = 0
    while source is not None and seen < 4:
        seen += 1
        if isinstance(source, pd.DataFrame):
            return (source.attrs.get(VALUE_LABELS, {}) or {},
                    source.attrs.get(VARIABLE_LABELS, {}) or {})
        if isinstance(getattr(source, "value_labels", None), Mapping):  # RawFile
            return source.value_labels, getattr(source, "variable_labels", {}) or {}
        nxt = None
        for attr in ("data", "frame", "design"):
            cand = getattr(source, attr, None)
            if isinstance(cand, pd.DataFrame):
                nxt = cand
                break
            if cand is not None and attr == "design":
                nxt = cand
        source = nxt
    return {}, {}


def value_labels(source: Any, var: str) -> dict[Any, str]:
    """``{code: label}`` of ``var`` (integral codes as int; empty when unlabelled).

    Parameters
    ----------
    source : DataFrame, SurveyDesign or model result
        Where the labels live (``frame.attrs``, set by :func:`surveykit.read` and
        :func:`surveykit.harmonise`).
    var : str
        The column.

    Returns
    -------
    dict

    Examples
    --------
    >>> df = sk.load_replica()
    >>> sk.labels.value_labels(df, "urban")
    {0: 'rural', 1: 'urban'}
    """
    labels = _sources(source)[0].get(var)
    return _clean(labels) if labels else {}


def variable_label(source: Any, var: str, default: str | None = None) -> str:
    """The variable label of ``var`` (``default``, else the name, when unlabelled).

    Parameters
    ----------
    source : DataFrame, SurveyDesign or model result
        Where the labels live.
    var : str
        The column.
    default : str, optional
        What to return when ``var`` has no label (default: its name).

    Returns
    -------
    str

    Examples
    --------
    >>> df = sk.load_replica()
    >>> sk.labels.variable_label(df, "no_such_column", default="(none)")
    '(none)'
    """
    label = _sources(source)[1].get(var)
    return str(label) if label else (default if default is not None else var)


def label_of(labels: Mapping[Any, str], code: Any) -> str:
    """The label of one code, or the code as text (1.0 -> "1") when it has none.

    Parameters
    ----------
    labels : mapping
        ``{code: label}``, e.g. from :func:`value_labels`.
    code : object
        The code to label.

    Returns
    -------
    str

    Examples
    --------
    >>> sk.labels.label_of({1: "yes"}, 1.0), sk.labels.label_of({1: "yes"}, 2.0)
    ('yes', '2')
    """
    code = as_code(code)
    if code in labels:
        return labels[code]
    return "" if code is None or (isinstance(code, float) and np.isnan(code)) else str(code)


def codes(series: pd.Series) -> pd.Series:
    """Integral float codes as int64 (1.0 -> 1); other series unchanged."""
    if not pd.api.types.is_float_dtype(series.dtype):
        return series
    arr = series.to_numpy(dtype=float)
    if len(arr) and np.isfinite(arr).all() and np.equal(np.mod(arr, 1), 0).all():
        return pd.Series(arr.astype(np.int64), index=series.index, name=series.name)
    return series


def label_result(frame: pd.DataFrame, source: Any, *, by: Iterable[str] = (),
                 level: str | None = "level", variable: str = "variable") -> pd.DataFrame:
    """Label a tidy estimate in place (returns it).

    ``level`` codes become integers when integral and get a ``level_label`` column right after
    them (the value label of the row's ``variable``, else the code as text); each ``by`` column
    with value labels gets a ``<by>_label`` column after it. Attrs are kept, and
    ``attrs["variable_labels"]`` gets the labels of the variables and ``by`` columns (for
    figure and table titles).
    """
    attrs = dict(frame.attrs)
    by = [b for b in by if b in frame.columns]
    if level and level in frame.columns:
        frame[level] = codes(frame[level])
        per_var: dict[Any, dict[Any, str]] = {}
        names = frame[variable] if variable in frame.columns else pd.Series([""] * len(frame))
        text = []
        for name, code in zip(names.tolist(), frame[level].tolist(), strict=True):
            if name not in per_var:
                per_var[name] = value_labels(source, str(name))
            text.append(label_of(per_var[name], code))
        _insert_after(frame, level, f"{level}_label", text)
    for b in by:
        frame[b] = codes(frame[b])
        labels = value_labels(source, b)
        if labels:
            _insert_after(frame, b, f"{b}_label", [label_of(labels, c) for c in frame[b]])
    frame.attrs.update(attrs)
    names = [*by, *(frame[variable].astype(str).unique() if variable in frame.columns else [])]
    known = _sources(source)[1]
    frame.attrs[VARIABLE_LABELS] = SharedLabels({n: str(known[n]) for n in names
                                                 if known.get(n)})
    return frame


def _insert_after(frame: pd.DataFrame, after: str, name: str, values: Sequence[Any]) -> None:
    if name in frame.columns:
        frame[name] = list(values)
        return
    frame.insert(frame.columns.get_loc(after) + 1, name, pd.Series(
        list(values), index=frame.index, dtype=object))


# -- model terms ------------------------------------------------------------------------------

#: patsy/formulaic factor terms: C(x)[T.2.0], C(x, Treatment(1))[T.2], x[T.b], C(x)[2.0]
_FACTOR = re.compile(r"^(?:C\(\s*([A-Za-z_]\w*)\s*(?:,.*)?\)|([A-Za-z_]\w*))\[(?:T\.)?(.+)\]$")
_NAME = re.compile(r"^(?:C\(\s*)?([A-Za-z_]\w*)(?:\s*\))?$")
_THRESHOLD = re.compile(r"^([^|]+)\|([^|]+)$")


def _parse_code(text: str) -> Any:
    try:
        return as_code(float(text))
    except ValueError:
        return text.strip().strip("'\"")


def _one_term(term: str, source: Any) -> str | None:
    m = _FACTOR.match(term)
    if m:
        var = m.group(1) or m.group(2)
        vlab = variable_label(source, var)
        code = _parse_code(m.group(3))
        return f"{vlab}: {label_of(value_labels(source, var), code)}"
    m = _NAME.match(term)
    if m and m.group(1) != "Intercept":
        var = m.group(1)
        vlab = variable_label(source, var)
        values = value_labels(source, var)
        if set(values) == {0, 1}:
            return f"{vlab} ({values[1]} vs {values[0]})"
        return vlab
    return None


def term_label(term: str, source: Any, outcome: str | None = None) -> str:
    """A readable label of one model term from the labels of the data behind ``source``.

    ``C(age_group)[T.2]`` -> "Age group: 31–50"; ``urban`` -> "Urban residence (urban vs
    rural)"; interactions join with " × "; ordinal thresholds ``1|2`` use the value labels of
    ``outcome``. Terms of unlabelled variables (and ``Intercept``) keep their name.
    """
    term = str(term)
    th = _THRESHOLD.match(term)
    if th and outcome:
        labels = value_labels(source, outcome)
        if labels:
            a, b = (label_of(labels, _parse_code(x)) for x in th.groups())
            return f"{a} | {b}"
    parts = term.split(":")
    labelled = [_one_term(p, source) for p in parts]
    if all(x is None for x in labelled):
        return term
    return " × ".join(x if x is not None else p for x, p in zip(labelled, parts, strict=True))


def term_labels(terms: Iterable[str], source: Any, outcome: str | None = None) -> list[str]:
    """Readable labels of model terms, from the labels of the data behind ``source``.

    ``C(x)[T.k]`` becomes "<variable label>: <value label of k>"; interactions join with
    " × "; ordinal cut-points ``1|2`` use the value labels of ``outcome``; terms of unlabelled
    variables (and ``Intercept``) keep their name.

    Parameters
    ----------
    terms : iterable of str
        Model term names (patsy style).
    source : DataFrame, SurveyDesign or model result
        Where the labels live.
    outcome : str, optional
        The model's outcome, for labelling ordinal cut-points.

    Returns
    -------
    list of str

    Examples
    --------
    >>> df = sk.load_replica()
    >>> sk.labels.term_labels(["Intercept", "C(urban)[T.1]"], df)
    ['Intercept', '...: urban']
    """
    return [term_label(t, source, outcome) for t in terms]
