"""How labkit shows things: result types' text and table views, and figures with alt text."""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd


class TextView:
    """Mixin: every text view of a result comes from its readable ``__str__``.

    A result type defines ``__str__`` (and ``_repr_html_`` for notebooks); this gives IPython's
    text/plain view (``_repr_pretty_``: the whole text) and ``repr()`` (its first line, as
    ``<Type: …>``, one line for logs and containers). Without it a text front-end (a console,
    nbmake's logs, a notebook exported to text) would show a dump of every field. A dataclass
    result is declared with ``repr=False``: IPython takes the first ``__repr__`` it meets along
    the MRO, so a generated one would hide these.
    """

    __slots__ = ()  # a slotted dataclass keeps its slots

    def __repr__(self) -> str:
        try:
            first_line = str(self).partition("\n")[0]
        except Exception:  # a half-built object: still something to show
            return object.__repr__(self)
        return f"<{type(self).__name__}: {first_line}>"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(f"<{type(self).__name__} …>" if cycle else str(self))


Formatter = Callable[[Any], str]


def _seconds(value: Any) -> str:
    from labkit.timing.stats import format_seconds

    return "0" if value == 0 else format_seconds(float(value))


def _fixed(decimals: int) -> Formatter:
    return lambda value: f"{value:,.{decimals}f}"


# How a number reads, from its column's name: the unit a result's table states there.
# Checked in order; the first match wins. Seconds get a unit of their own (µs, ms, s).
_BY_NAME: tuple[tuple[Callable[[str], bool], Formatter], ...] = (
    (lambda name: name in {"line", "id", "pid", "seed", "port"} or name.endswith("_id"), str),
    (lambda name: name.endswith("_s"), _seconds),
    (lambda name: "%" in name or "share" in name, _fixed(1)),
    (lambda name: "×" in name or "ratio" in name, _fixed(2)),
    (lambda name: "ms" in name.replace("(", " ").replace(")", " ").split(), _fixed(2)),
    (lambda name: any(u in name for u in ("KiB", "MiB", "KB", "MB", "GiB")), _fixed(1)),
)


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def column_formatter(name: str) -> Formatter:
    """The formatter for one column: by its unit when the name states one, else three
    significant figures for fractions and thousands separators for whole numbers."""
    chosen = next((f for matches, f in _BY_NAME if matches(name)), None)

    def show(value: Any) -> str:
        if not _is_number(value):
            return "—" if value is None else str(value)
        if math.isnan(value):
            return "—"
        if chosen is not None:
            return chosen(value)
        if float(value).is_integer():
            return f"{int(value):,}"
        return f"{value:,.3g}" if abs(value) < 1000 else f"{value:,.0f}"

    return show


def formatters(frame: pd.DataFrame) -> dict[str, Formatter]:
    """A formatter for every numeric column of ``frame`` (text columns are left as they are)."""
    return {
        str(column): column_formatter(str(column))
        for column, dtype in frame.dtypes.items()
        if dtype.kind in "iuf"
    }


@dataclass(frozen=True, repr=False)
class TableView(TextView):
    """A result's table, shown with its numbers rounded to what they can tell.

    ``frame`` keeps the full-precision numbers for analysis; the notebook and terminal views
    format each column by the unit its name states (``self_s`` → ``148 ms``, ``% time`` →
    ``97.9``, ``wait (ms)`` → ``100.50``).
    """

    frame: pd.DataFrame
    index: bool = True

    def __str__(self) -> str:
        shown = self.frame.to_string(
            formatters=formatters(self.frame), index=self.index, na_rep="—"
        )
        return str(shown)

    def _repr_html_(self) -> str:
        shown = self.frame.to_html(formatters=formatters(self.frame), index=self.index, na_rep="—")
        return str(shown)


# ----------------------------------------------------------------------------- figures
ALT_TEXT_ATTRIBUTE = "_labkit_alt_text"


def set_alt_text(figure: Any, text: str) -> None:
    """Give ``figure`` the alt text it is shown with (instead of the one ``alt_text`` derives)."""
    setattr(figure, ALT_TEXT_ATTRIBUTE, str(text))


def _kind(ax: Any) -> str:
    if ax.patches and not ax.lines:
        return "bar chart"
    if ax.lines and not ax.patches:
        return "line chart"
    return "scatter plot" if ax.collections and not ax.patches else "chart"


def _describe_axes(ax: Any) -> str:
    title = ax.get_title() or ax.get_title("left") or ax.get_title("right")
    parts = [f"{_kind(ax)}{f' {title!r}' if title else ''}"]
    for axis, label, scale in (
        ("x", ax.get_xlabel(), ax.get_xscale()),
        ("y", ax.get_ylabel(), ax.get_yscale()),
    ):
        if label:
            log = scale == "log" and "log" not in label
            parts.append(f"{axis}: {label}{' (log scale)' if log else ''}")
    legend = ax.get_legend()
    if legend is not None:
        labels = [t.get_text() for t in legend.get_texts() if t.get_text()]
        if labels:
            parts.append("series: " + ", ".join(labels))
    return "; ".join(parts)


def alt_text(figure: Any) -> str:
    """What a figure shows, in words: the text set with ``set_alt_text``, else its (sup)title
    and, per panel, the kind of chart, its title, axis labels and legend."""
    given = getattr(figure, ALT_TEXT_ATTRIBUTE, None)
    if given:
        return str(given)
    panels = [ax for ax in figure.axes if ax.get_visible() and ax.axison]
    described = [_describe_axes(ax) for ax in panels]
    heading = figure.get_suptitle() if hasattr(figure, "get_suptitle") else ""
    if len(described) == 1:
        body = described[0]
    else:
        body = f"{len(described)} panels: " + " | ".join(
            f"{n}) {text}" for n, text in enumerate(described, 1)
        )
    return f"Figure{f' {heading!r}' if heading else ''}: {body}" if described else "Figure"


def figure_bundle(figure: Any) -> tuple[dict[str, str], dict[str, Any]]:
    """A figure as a notebook shows it: the PNG, and an ``<img>`` carrying its alt text.

    JupyterLab renders a PNG output with no alt text, so the HTML view (which it prefers) is
    an ``<img alt=…>`` of the same PNG; the alt text is also the plain-text view and the
    image's ``alt`` metadata (which nbconvert's HTML export reads).
    """
    from html import escape

    from IPython.core.pylabtools import print_figure

    png = print_figure(figure, "png", bbox_inches="tight", base64=True)
    if not png:  # an empty figure: show nothing, as matplotlib's inline backend does
        return {}, {}
    alt = alt_text(figure)
    html = f'<img alt="{escape(alt)}" src="data:image/png;base64,{png}">'
    return {"image/png": png, "text/html": html, "text/plain": alt}, {"image/png": {"alt": alt}}


def show_figures_with_alt_text(ipython: Any) -> None:
    """Every matplotlib figure the kernel displays from now on carries alt text."""
    formatter = ipython.display_formatter.mimebundle_formatter
    formatter.for_type_by_name("matplotlib.figure", "Figure", figure_bundle)
