"""Reading the package's YAML files (codebooks, mappings, targets, registry) with typed errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from surveykit.errors import InputFileError, SchemaError

#: libyaml's C parser with SafeLoader's semantics where PyYAML was built with it (~10x faster
#: on the published-table registry); the pure-Python SafeLoader otherwise.
FAST_SAFE_LOADER: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(path: str | Path, what: str, loader: type = FAST_SAFE_LOADER) -> Any:
    """Parse a YAML file; ``what`` names it in errors ("mapping", "codebook", ...).

    Missing/unreadable files raise InputFileError; invalid YAML or non-UTF-8 bytes raise
    SchemaError; every message is one line and names the file.
    """
    file = str(path)
    noun = what if what.endswith("file") else f"{what} file"
    try:
        text = Path(path).read_text(encoding="utf-8")
        return yaml.load(text, Loader=loader)
    except FileNotFoundError as exc:
        raise InputFileError(f"{noun} not found", file=file) from exc
    except yaml.YAMLError as exc:
        text = " ".join(str(exc).split())  # one line: the CLI prints errors as one line
        raise SchemaError(f"{what} is not valid YAML: {text}", file=file) from exc
    except UnicodeDecodeError as exc:
        raise SchemaError(f"{what} is not UTF-8 text ({exc.reason} at byte {exc.start})",
                          file=file) from exc
    except OSError as exc:
        raise InputFileError(f"cannot read {noun} ({exc.strerror or exc})", file=file) from exc
