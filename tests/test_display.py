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


def test_a_table_view_rounds_each_column_by_the_unit_its_name_states() -> None:
    import pandas as pd

    from labkit.display import TableView

    frame = pd.DataFrame(
        {
            "function": ["scan", "len"],
            "line": [1204, 7],
            "self_s": [0.14812345, 0.0000123],
            "self_%": [97.91234, 0.7],
            "wait (ms)": [100.456, float("nan")],
            "× bare": [2.14321, 1.0],
            "hits": [12000, 3],
        }
    )
    text = str(TableView(frame, index=False))
    assert "148 ms" in text and "12.3 µs" in text  # seconds in a unit of their own
    assert "97.9" in text and "97.91" not in text
    assert "100.46" in text and "—" in text  # milliseconds with two decimals; NaN as a dash
    assert "2.14" in text and "12,000" in text and "1204" in text  # a line number is no count
    html = TableView(frame)._repr_html_()
    assert "<table" in html and "148 ms" in html and "0.148" not in html
    assert frame.loc[0, "self_s"] == 0.14812345  # the numbers themselves are untouched


def test_figures_are_shown_with_alt_text_once_the_extension_is_loaded() -> None:
    from types import SimpleNamespace

    import matplotlib.pyplot as plt
    from IPython.core.formatters import DisplayFormatter

    from labkit.display import set_alt_text, show_figures_with_alt_text

    formatter = DisplayFormatter()
    show_figures_with_alt_text(SimpleNamespace(display_formatter=formatter))
    fig, (bars, lines) = plt.subplots(1, 2)
    bars.bar([1, 2], [3, 4])
    bars.set(title="posts per author", xlabel="author rank", ylabel="posts")
    lines.plot([1, 2], [1, 2], label="baseline")
    lines.plot([1, 2], [2, 1], label="after")
    lines.set_yscale("log")
    lines.set_ylabel("ms")
    lines.legend()
    data, metadata = formatter.format(fig)
    alt = data["text/plain"]
    assert alt == (
        "Figure: 2 panels: 1) bar chart 'posts per author'; x: author rank; y: posts | "
        "2) line chart; y: ms (log scale); series: baseline, after"
    )
    assert (
        data["text/html"].startswith('<img alt="Figure: 2 panels')
        and "base64," in data["text/html"]
    )
    assert data["image/png"] and metadata["image/png"]["alt"] == alt
    set_alt_text(fig, "Posts per author fall steeply: a few authors write most posts")
    assert formatter.format(fig)[0]["text/plain"].startswith("Posts per author fall steeply")
    plt.close(fig)
