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
