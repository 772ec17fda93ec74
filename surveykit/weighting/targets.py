"""Weighting targets files (YAML) for ``surveykit weight`` and :func:`load_targets`.

Format::

    # population: optional; margins given as shares (each summing to 1) are scaled to it.
    # Without it, shares are scaled to the weighted sample total (sum of the input weights).
    population: 1000000
    margins:
      region: {1: 0.38, 2: 0.33, 3: 0.29}   # column -> {category: share or population count}
      gender:
        1: 0.49
        2: 0.51

Either every margin is shares summing to 1, or every margin is population counts adding up to
the same total (equal to ``population`` if given); anything else - shares and counts mixed,
shares (all values <= 1) that do not sum to 1, counts with different totals - is an error
naming each margin and its sum. Category keys are matched to the data by value (``1`` matches
``1`` and ``1.0``) or, failing that, by their text (``"1"`` matches ``1``). Unlike plain YAML
1.1, the keys ``Yes``/``No``/``on``/``off`` stay text (only ``true``/``false`` are booleans),
so a ``{Yes: 0.8, No: 0.2}`` margin matches a Yes/No column. Every category in the data needs a
target and every non-zero target needs respondents.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from surveykit._yaml import read_yaml
from surveykit.errors import InputFileError, SchemaError

ALLOWED_KEYS = ("population", "margins")


class _TargetsLoader(yaml.SafeLoader):
    """SafeLoader where only true/false are booleans (Yes/No/on/off stay category labels)."""


_TargetsLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_TargetsLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))


def load_targets(path: str | Path) -> dict[str, Any]:
    """Read and validate a targets YAML file; returns ``{"margins": {...}, "population": x}``."""
    p = Path(path)
    if not p.is_file():
        raise InputFileError("targets file not found", file=str(p))
    doc = read_yaml(p, "targets file", loader=_TargetsLoader)  # a SafeLoader
    return parse_targets(doc, source=str(p))


def parse_targets(doc: Any, source: str | None = None) -> dict[str, Any]:
    """Validate an already-parsed targets document (see the module docstring for the format)."""
    if not isinstance(doc, dict):
        raise SchemaError("targets file must be a mapping with a 'margins' key", file=source)
    unknown = [k for k in doc if k not in ALLOWED_KEYS]
    if unknown:
        raise SchemaError("unknown keys in targets file", file=source, values=unknown,
                          hint=f"allowed: {', '.join(ALLOWED_KEYS)}")
    margins = doc.get("margins")
    if not isinstance(margins, dict) or not margins:
        raise SchemaError("'margins' must be a non-empty mapping {column: {category: target}}",
                          file=source)
    out: dict[str, dict[Any, float]] = {}
    for col, spec in margins.items():
        if not isinstance(spec, dict) or not spec:
            raise SchemaError("a margin must be a non-empty mapping {category: target}",
                              file=source, column=str(col))
        vals: dict[Any, float] = {}
        for key, value in spec.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise SchemaError("target values must be numbers", file=source, column=str(col),
                                  values=[f"{key}: {value!r}"])
            if value < 0:
                raise SchemaError("target values must be non-negative", file=source,
                                  column=str(col), values=[f"{key}: {value!r}"])
            vals[key] = float(value)
        out[str(col)] = vals
    population = doc.get("population")
    if population is not None and (isinstance(population, bool)
                                   or not isinstance(population, (int, float))
                                   or population <= 0):
        raise SchemaError("'population' must be a positive number", file=source,
                          values=[population])
    return {"margins": out, "population": None if population is None else float(population)}
