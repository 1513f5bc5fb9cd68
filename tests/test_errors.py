"""labkit's errors: one class per concern, each a LabkitError, and the phrasing they share."""

from __future__ import annotations

import inspect

import labkit.errors as errors
from labkit.errors import LabkitError, close_matches, quoted_choices


def test_every_error_is_a_labkit_error_that_names_its_concern() -> None:
    classes = [
        c for _, c in inspect.getmembers(errors, inspect.isclass) if c.__module__ == errors.__name__
    ]
    assert LabkitError in classes and len(classes) > 5
    for cls in classes:
        assert issubclass(cls, LabkitError), cls
        assert cls.__doc__ and cls.__doc__.strip(), f"{cls.__name__} says nothing of its concern"


def test_close_matches_offer_what_a_typo_meant() -> None:
    assert close_matches("cahce", ("cache", "dedupe", "indexes")) == ["cache"]
    assert close_matches("zzz", ("cache", "dedupe")) == []
    assert quoted_choices(["a"]) == "'a'"
    assert quoted_choices(["a", "b", "c"]) == "'a', 'b' or 'c'"
