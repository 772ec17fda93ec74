"""Canonical codebooks, raw-file mappings and the published-table registry.

This directory is installed as the package ``surveykit.data_dictionary`` so that
its YAML files travel with non-editable installs; use :func:`path` to find them.
"""

from importlib.resources import files
from importlib.resources.abc import Traversable


def path(*parts: str) -> Traversable:
    """Return a traversable for a file or folder inside the data dictionary."""
    node = files(__name__)
    for part in parts:
        node = node / part
    return node
