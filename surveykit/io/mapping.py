"""Harmonisation mappings: which raw column and codes become which canonical variable.

The YAML format is specified in ``data_dictionary/mappings/README.md``. Loading checks the
structure only (SchemaError naming the file and key); whether the named canonical variables
exist in the codebooks and the raw columns exist in the file is checked by ``harmonise``.
"""

from __future__ import annotations

from collections.abc import Mapping as MappingABC
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from surveykit._text import one_line_name
from surveykit._yaml import read_yaml
from surveykit.errors import InputFileError, SchemaError

MAPPING_KEYS = ("study", "codebooks", "id", "variables", "description", "source", "synthetic")
RULE_KEYS = ("from", "recode", "ranges", "missing", "unmapped", "value", "derive")


@dataclass(frozen=True)
class Range:
    """An inclusive numeric bin ``min <= x <= max`` mapped to a canonical ``code``."""

    min: float
    max: float
    code: Any


@dataclass(frozen=True)
class Rule:
    """How one canonical variable is obtained (exactly one of source/value/derive)."""

    variable: str
    source: str | None = None
    recode: dict[Any, Any] | None = None
    ranges: tuple[Range, ...] = ()
    missing: dict[Any, str] = field(default_factory=dict)
    unmapped: str = "error"
    value: Any = None
    derive: bool = False

    @property
    def kind(self) -> str:
        """'derive', 'value' or 'from'."""
        if self.derive:
            return "derive"
        if self.source is None:
            return "value"
        return "from"


@dataclass(frozen=True)
class Mapping:
    """A parsed mapping file."""

    study: str
    codebooks: tuple[str, ...]
    id: str
    variables: dict[str, Rule]
    path: str | None = None
    description: str | None = None
    synthetic: bool = False  # the raw file is synthetic: outputs must say so

    @classmethod
    def from_dict(cls, raw: Any, path: str | None = None) -> Mapping:
        """Build and structurally check a mapping from a parsed YAML dict."""
        def err(key: str, msg: str, value: Any = None) -> SchemaError:
            return SchemaError(f"mapping key {key!r}: {msg}", file=path,
                               values=None if value is None else [value])

        if not isinstance(raw, MappingABC):
            raise SchemaError("a mapping must be a YAML mapping", file=path)
        unknown = [k for k in raw if k not in MAPPING_KEYS]
        if unknown:
            raise err(str(unknown[0]), f"unknown key (allowed: {', '.join(MAPPING_KEYS)})")
        study = raw.get("study")
        if not isinstance(study, str) or not study:
            raise err("study", "a study name (string) is required", study)
        if not one_line_name(study):  # it names report sections and Markdown headings
            raise err("study", "a study name must be one line without backticks or control "
                      "characters", study)
        cbs = raw.get("codebooks")
        if isinstance(cbs, str):
            cbs = [cbs]
        if not isinstance(cbs, list) or not cbs or not all(isinstance(c, str) for c in cbs):
            raise err("codebooks", "a list of codebook names is required", cbs)
        id_col = raw.get("id")
        if not isinstance(id_col, str) or not id_col:
            raise err("id", "the raw respondent-id column (string) is required", id_col)
        variables = raw.get("variables")
        if not isinstance(variables, MappingABC) or not variables:
            raise err("variables", "a non-empty mapping canonical name -> rule is required")
        rules: dict[str, Rule] = {}
        for name, spec in variables.items():
            if name == "resp_id":
                raise err("variables.resp_id", "the id is given by the top-level `id` key")
            rules[str(name)] = _parse_rule(str(name), spec, err)
        desc = raw.get("description")
        synthetic = raw.get("synthetic", False)
        if not isinstance(synthetic, bool):
            raise err("synthetic", "must be true or false", synthetic)
        return cls(study=study, codebooks=tuple(cbs), id=id_col, variables=rules, path=path,
                   description=None if desc is None else str(desc), synthetic=synthetic)


def _parse_rule(name: str, spec: Any, err: Any) -> Rule:
    key = f"variables.{name}"
    if not isinstance(spec, MappingABC):
        raise err(key, "a rule must be a mapping such as {from: COLUMN}", spec)
    unknown = [k for k in spec if k not in RULE_KEYS]
    if unknown:
        raise err(f"{key}.{unknown[0]}", f"unknown key (allowed: {', '.join(RULE_KEYS)})")
    has = [k for k in ("from", "value", "derive") if k in spec]
    if len(has) != 1:
        raise err(key, "give exactly one of `from`, `value`, `derive: true`", has or None)
    derive = spec.get("derive", False)
    if "derive" in spec and derive is not True:
        raise err(f"{key}.derive", "must be true", derive)
    source = spec.get("from")
    if "from" in spec and (not isinstance(source, str) or not source):
        raise err(f"{key}.from", "must name a raw column", source)
    if (source is None) and any(k in spec for k in ("recode", "ranges", "missing", "unmapped")):
        raise err(key, "recode/ranges/missing/unmapped need `from`")
    recode = spec.get("recode")
    if recode is not None:
        if not isinstance(recode, MappingABC) or not recode:
            raise err(f"{key}.recode", "must map raw codes to canonical codes", recode)
        recode = dict(recode)
    ranges = []
    for r in spec.get("ranges") or []:
        if not isinstance(r, MappingABC) or set(r) != {"min", "max", "code"}:
            raise err(f"{key}.ranges", "each range is {min, max, code}", r)
        lo, hi = r["min"], r["max"]
        if not all(isinstance(b, (int, float)) and not isinstance(b, bool) for b in (lo, hi)):
            raise err(f"{key}.ranges", "min and max must be numbers", r)
        if lo > hi:
            raise err(f"{key}.ranges", "min is greater than max", r)
        ranges.append(Range(float(lo), float(hi), r["code"]))
    if "ranges" in spec and not isinstance(spec["ranges"], list):
        raise err(f"{key}.ranges", "must be a list", spec["ranges"])
    missing = spec.get("missing") or {}
    if not isinstance(missing, MappingABC) or not all(isinstance(v, str) for v in missing.values()):
        raise err(f"{key}.missing", "must map raw codes to reasons (strings)", missing)
    unmapped = spec.get("unmapped", "error")
    if unmapped not in ("error", "missing"):
        raise err(f"{key}.unmapped", "must be `error` or `missing`", unmapped)
    return Rule(variable=name, source=source, recode=recode, ranges=tuple(ranges),
                missing=dict(missing), unmapped=unmapped, value=spec.get("value"),
                derive=bool(derive))


def load_mapping(path: str | Path | MappingABC | Mapping) -> Mapping:
    """Load a mapping from a YAML path (or pass a dict / :class:`Mapping` through).

    Parameters
    ----------
    path : str, pathlib.Path, dict or Mapping
        A YAML file, or a mapping already loaded.

    Returns
    -------
    Mapping

    Examples
    --------
    >>> from surveykit import replica
    >>> sk.load_mapping(replica.mapping_path()).study
    'kostka2018_replica'
    """
    if isinstance(path, Mapping):
        return path
    if isinstance(path, MappingABC):
        return Mapping.from_dict(path)
    if not isinstance(path, (str, Path)):
        raise SchemaError(f"a mapping must be a YAML path, a dict or a Mapping, got "
                          f"{type(path).__name__}")
    p = Path(path)
    if p.is_dir():
        raise InputFileError("is a directory, not a mapping file", file=str(p))
    if not p.is_file():
        raise InputFileError("mapping file not found", file=str(p))
    raw = read_yaml(p, "mapping")
    return Mapping.from_dict(raw, path=str(p))
