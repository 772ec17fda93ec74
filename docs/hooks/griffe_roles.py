"""Griffe extension for the documentation site: Sphinx roles in docstrings
(``:func:`surveykit.contrast```, ``:class:`ReplicateDesign```) become inline code.

The docstrings keep the roles because ``help()`` and IDEs show them as they are and Sphinx users
know them; mkdocstrings renders Markdown and would print the role markup as text."""

from __future__ import annotations

import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:py:)?(?:func|class|mod|meth|attr|data|exc|obj):`~?([^`]+)`")


def _plain(text: str) -> str:
    return ROLE.sub(lambda m: f"`{m.group(1)}`", text)


class SphinxRoles(griffe.Extension):
    """Rewrite the roles of every docstring griffe loads."""

    def on_instance(self, *, obj: Any, **kwargs: Any) -> None:  # griffe's hook signature
        if obj.docstring is not None:
            obj.docstring.value = _plain(obj.docstring.value)
