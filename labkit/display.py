"""Display helpers shared by labkit's result types."""

from __future__ import annotations

from typing import Any


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
