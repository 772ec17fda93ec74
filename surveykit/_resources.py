"""Where the data dictionary (codebooks, mappings, published registry) lives.

Installed, it is the package ``surveykit.data_dictionary`` (mapped from the repository's
``data_dictionary/`` by pyproject.toml). Run from a source checkout (e.g. ``python -m pytest``
in the repository root, where the checkout's ``surveykit/`` shadows the installed one), it is
the ``data_dictionary/`` folder next to the ``surveykit/`` package.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path


@cache
def _root() -> Path:
    try:
        from surveykit import data_dictionary
    except ImportError:
        return Path(__file__).resolve().parent.parent / "data_dictionary"
    return Path(str(data_dictionary.path()))


def data_path(*parts: str) -> Path:
    """Path of a file or folder inside the data dictionary."""
    return _root().joinpath(*parts)
