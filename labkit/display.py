"""Display helpers shared by labkit's result types."""

from __future__ import annotations

from typing import Any


class TextView:
    """Mixin: IPython's text/plain view of a result is its readable ``str()``.

    Result types define ``_repr_html_`` for notebooks and ``__str__`` for terminals; without
    this, a text front-end (a console, nbmake's logs, a notebook exported to text) would show
    the dataclass ``repr`` with every field instead.
    """

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(f"<{type(self).__name__} …>" if cycle else str(self))
