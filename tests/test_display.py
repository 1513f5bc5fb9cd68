"""Every result type shows readable text in a text front-end, not a dataclass dump, and every
text view comes one way: ``TextView`` derives them from the class's ``__str__``."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from dataclasses import dataclass
from pathlib import Path

from IPython.lib.pretty import pretty

import labkit
from labkit.display import TextView


def _labkit_classes() -> list[type]:
    found: dict[str, type] = {}
    for info in pkgutil.walk_packages(labkit.__path__, "labkit."):
        if info.name in {"labkit.__main__"}:
            continue
        module = importlib.import_module(info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == module.__name__ and not issubclass(cls, BaseException):
                found[f"{cls.__module__}.{cls.__qualname__}"] = cls
    return list(found.values())


def _result_types() -> list[type]:
    return [cls for cls in _labkit_classes() if hasattr(cls, "_repr_html_")]


def _defines_a_text_view(cls: type) -> bool:
    """It says how it reads as text (``__str__``), or shows itself in a notebook."""
    return cls is not TextView and any(
        name in vars(cls) for name in ("__str__", "_repr_html_", "_repr_pretty_")
    )


def test_result_types_are_found() -> None:
    names = {cls.__name__ for cls in _result_types()}
    assert {"CheckResult", "BenchResult", "Dataset", "LoadResult", "Plan"} <= names


def test_every_text_view_comes_from_textview() -> None:
    # TextView's own __repr__ and _repr_pretty_, neither overridden nor hidden by a dataclass's
    # generated __repr__ (declare such a dataclass with repr=False). A class with only a
    # __repr__ (a live object such as LabServer or Pool) has a developer repr, not a text view.
    wrong = [
        cls.__qualname__
        for cls in _labkit_classes()
        if _defines_a_text_view(cls)
        and not (
            issubclass(cls, TextView)
            and cls.__repr__ is TextView.__repr__
            and cls._repr_pretty_ is TextView._repr_pretty_  # type: ignore[attr-defined]
        )
    ]
    assert wrong == []
    assert len([cls for cls in _labkit_classes() if _defines_a_text_view(cls)]) > 30


def test_a_dataclass_result_shows_its_text_not_its_fields() -> None:
    from labkit.lessons.n00_start.tour import ProgressPlace

    place = ProgressPlace(home=Path("/nowhere"), store=Path("/nowhere/p.sqlite"), from_env=True)
    assert pretty(place) == str(place) and "PosixPath" not in pretty(place)
    assert repr(place) == f"<ProgressPlace: {str(place).splitlines()[0]}>"


def test_repr_is_the_first_line_and_survives_a_broken_str() -> None:
    @dataclass(repr=False)
    class Broken(TextView):
        def __str__(self) -> str:
            raise ValueError("half-built")

    assert repr(Broken()).startswith("<") and "Broken object at" in repr(Broken())


def test_text_view_is_the_readable_str() -> None:
    class Card(TextView):
        def __str__(self) -> str:
            return "✓ passed — 02.n_plus_one"

    assert pretty(Card()) == "✓ passed — 02.n_plus_one"
