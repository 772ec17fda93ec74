"""Every name the package advertises resolves, lazily, to a real object."""

from __future__ import annotations

import surveykit as sk


def test_every_public_name_resolves():
    for name in sk.__all__:
        assert getattr(sk, name) is not None, name


def test_unknown_name_is_an_attribute_error():
    import pytest

    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        sk.nope  # noqa: B018


def test_public_callables_show_their_own_signature():
    """help()/inspect.signature of sk.summary_table and sk.sensitivity show the function's
    arguments (they used to be callable modules, whose help shows a module)."""
    import inspect
    import pydoc

    for fn, first in ((sk.summary_table, ["design", "variables", "by"]),
                      (sk.sensitivity, ["design", "schemes"])):
        assert inspect.isfunction(fn), fn
        assert list(inspect.signature(fn).parameters)[:len(first)] == first
        text = pydoc.render_doc(fn, renderer=pydoc.plaintext)
        assert f"function {fn.__name__} in module" in text
        assert f"{fn.__name__}(design" in text
    assert "overall" in inspect.signature(sk.summary_table).parameters
