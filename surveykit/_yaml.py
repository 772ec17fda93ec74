"""Reading the package's YAML files (codebooks, mappings, targets, registry) with typed errors.

Every YAML file surveykit reads goes through :func:`read_yaml`, which is stricter than YAML
itself in two ways that protect the user:

- a key given twice in one mapping is a :class:`SchemaError` naming the key and both lines
  (YAML parsers let the last one win silently, so a typo in a targets file changes weights);
- anchors/aliases (``&a`` / ``*a``) are refused: the package's files never need them, and
  nested aliases ("billion laughs") turn a 1 kB file into gigabytes once expanded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode

from surveykit.errors import InputFileError, SchemaError, short

#: libyaml's C parser with SafeLoader's semantics where PyYAML was built with it (~10x faster
#: on the published-table registry); the pure-Python SafeLoader otherwise.
FAST_SAFE_LOADER: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _DuplicateKey(yaml.YAMLError):
    def __init__(self, key: Any, first: int, again: int) -> None:
        super().__init__(f"duplicate key {short(key)} (lines {first} and {again})")
        self.key, self.first, self.again = key, first, again


class _AliasRefused(yaml.YAMLError):
    def __init__(self, line: int) -> None:
        super().__init__(f"YAML aliases are not allowed (the anchor at line {line} is "
                         "used again)")
        self.line = line


class _Strict:
    """Constructor mix-in: duplicate keys and aliases are errors (see the module docstring)."""

    def construct_object(self, node: Any, deep: bool = False) -> Any:
        # a node reached a second time is an alias (*name) of an anchored node (&name)
        if node in self.constructed_objects or node in self.recursive_objects:  # type: ignore[attr-defined]
            raise _AliasRefused(node.start_mark.line + 1)
        return super().construct_object(node, deep=deep)  # type: ignore[misc]

    def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
        if not isinstance(node, MappingNode):
            return super().construct_mapping(node, deep=deep)  # type: ignore[misc]
        self.flatten_mapping(node)  # type: ignore[attr-defined]
        mapping: dict[Any, Any] = {}
        lines: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                hash(key)
            except TypeError as exc:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping", node.start_mark,
                    "found an unhashable key", key_node.start_mark) from exc
            line = key_node.start_mark.line + 1
            if key in lines:
                raise _DuplicateKey(key, lines[key], line)
            lines[key] = line
            mapping[key] = self.construct_object(value_node, deep=deep)
        return mapping


_STRICT: dict[type, type] = {}


def strict_loader(loader: type) -> type:
    """``loader`` with duplicate keys and aliases refused (a cached subclass)."""
    if issubclass(loader, _Strict):
        return loader
    if loader not in _STRICT:
        _STRICT[loader] = type(f"Strict{loader.__name__}", (_Strict, loader), {})
    return _STRICT[loader]


def load_text(text: str, what: str, file: str | None = None,
              loader: type = FAST_SAFE_LOADER) -> Any:
    """Parse YAML text strictly (see :func:`read_yaml`); errors name ``file``."""
    try:
        return yaml.load(text, Loader=strict_loader(loader))
    except _DuplicateKey as exc:
        raise SchemaError(f"{what} has a duplicate key {short(exc.key)} (lines {exc.first} "
                          f"and {exc.again}); the second would silently replace the first",
                          file=file, hint="keep one of them") from None
    except _AliasRefused as exc:
        raise SchemaError(f"{what} uses YAML anchors/aliases (&name / *name; the anchor at "
                          f"line {exc.line} is used again), which surveykit does not accept",
                          file=file, hint="write the repeated values out") from None
    except yaml.YAMLError as exc:
        text = " ".join(str(exc).split())[:300]  # one line: the CLI prints errors as one line
        raise SchemaError(f"{what} is not valid YAML: {text}", file=file) from exc


def read_yaml(path: str | Path, what: str, loader: type = FAST_SAFE_LOADER) -> Any:
    """Parse a YAML file; ``what`` names it in errors ("mapping", "codebook", ...).

    Missing/unreadable files raise InputFileError; invalid YAML, non-UTF-8 bytes, a key given
    twice in a mapping and anchors/aliases raise SchemaError; every message is one line and
    names the file.
    """
    file = str(path)
    noun = what if what.endswith("file") else f"{what} file"
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise InputFileError(f"{noun} not found", file=file) from exc
    except UnicodeDecodeError as exc:
        raise SchemaError(f"{what} is not UTF-8 text ({exc.reason} at byte {exc.start})",
                          file=file) from exc
    except OSError as exc:
        raise InputFileError(f"cannot read {noun} ({exc.strerror or exc})", file=file) from exc
    return load_text(text, what, file=file, loader=loader)
