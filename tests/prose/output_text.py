"""The text a reader sees in a code cell's outputs, line by line.

Printed text, the plain-text view of a displayed object, and its HTML or Markdown view with
the markup taken out (table cells kept apart with `` | ``). Each view is read: a sentence is
checked wherever it shows.
"""

from __future__ import annotations

from collections.abc import Iterator
from html import unescape
from html.parser import HTMLParser
from typing import Any

_BLOCK = {"div", "p", "br", "tr", "li", "table", "h1", "h2", "h3", "h4", "pre", "thead", "tbody"}
_CELL = {"td", "th"}
_HIDDEN = {"style", "script"}


class _TextOfHtml(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN:
            self._hidden += 1
        elif tag in _BLOCK:
            self.parts.append("\n")
        elif tag in _CELL:
            self.parts.append(" | ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN:
            self._hidden = max(0, self._hidden - 1)
        elif tag in _BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data.replace("\n", " "))


def html_lines(markup: str) -> list[str]:
    parser = _TextOfHtml()
    parser.feed(markup)
    parser.close()
    return _lines(unescape("".join(parser.parts)))


def _lines(text: str) -> list[str]:
    return [" ".join(line.split()) for line in text.splitlines() if line.strip()]


def _text(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def output_lines(outputs: list[Any]) -> Iterator[str]:
    """Every line of text the outputs show, in order (a line may show in several views)."""
    for output in outputs:
        kind = output.get("output_type")
        if kind == "stream":
            yield from _lines(_text(output.get("text", "")))
        elif kind in ("display_data", "execute_result"):
            data = output.get("data", {})
            if "text/plain" in data:
                yield from _lines(_text(data["text/plain"]))
            if "text/markdown" in data:
                yield from _lines(_text(data["text/markdown"]))
            if "text/html" in data:
                yield from html_lines(_text(data["text/html"]))
