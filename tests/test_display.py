"""Every result type shows readable text in a text front-end, not a dataclass dump."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

from IPython.lib.pretty import pretty

import labkit
from labkit.display import TextView


def _result_types() -> list[type]:
    found: dict[str, type] = {}
    for info in pkgutil.walk_packages(labkit.__path__, "labkit."):
        if info.name in {"labkit.__main__"}:
            continue
        module = importlib.import_module(info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == module.__name__ and hasattr(cls, "_repr_html_"):
                found[f"{cls.__module__}.{cls.__qualname__}"] = cls
    return list(found.values())


def test_result_types_are_found() -> None:
    names = {cls.__name__ for cls in _result_types()}
    assert {"CheckResult", "BenchResult", "Dataset", "LoadResult", "Plan"} <= names


def _has_text_view(cls: type) -> bool:
    if hasattr(cls, "_repr_pretty_"):
        return True
    custom_repr = cls.__repr__
    # object's repr and the field-by-field repr a dataclass generates are dumps
    generated = custom_repr.__code__.co_filename.endswith(("dataclasses.py", "<string>"))
    return custom_repr is not object.__repr__ and not generated


def test_every_result_type_has_a_text_view() -> None:
    assert [cls.__qualname__ for cls in _result_types() if not _has_text_view(cls)] == []


def test_text_view_is_the_readable_str() -> None:
    class Card(TextView):
        def __str__(self) -> str:
            return "✓ passed — 02.n_plus_one"

    assert pretty(Card()) == "✓ passed — 02.n_plus_one"
