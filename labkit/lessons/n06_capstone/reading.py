"""Reading a report back: its sections and the numbers in its tables (for the report check)."""

from __future__ import annotations

import re
from typing import Any

NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")


def report_text(value: Any) -> str | None:
    """The Markdown of a ``Report`` (or a str that is Markdown already); None otherwise."""
    if isinstance(value, str):
        return value
    markdown = getattr(value, "markdown", None)
    return markdown if isinstance(markdown, str) else None


def sections(markdown: str) -> dict[str, str]:
    """Level-2 headings → the text under each (up to the next level-2 heading)."""
    found: dict[str, str] = {}
    current: str | None = None
    lines: list[str] = []
    for line in markdown.splitlines():
        if line.startswith("## "):
            if current is not None:
                found[current] = "\n".join(lines)
            current, lines = line[3:].strip(), []
        elif current is not None:
            lines.append(line)
    if current is not None:
        found[current] = "\n".join(lines)
    return found


def first_table(text: str) -> list[list[str]]:
    """The first Markdown table in ``text``: rows of cells, header first, rule line dropped."""
    rows: list[list[str]] = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("|"):
            cells = [cell.strip() for cell in stripped.strip("|").split("|")]
            if not all(set(cell) <= set("-: ") for cell in cells):
                rows.append(cells)
        elif rows:
            break
    return rows


def first_number(cell: str) -> float | None:
    """The first number written in a table cell ("1,234.5 ms" → 1234.5, "n/a" → None)."""
    match = NUMBER.search(cell)
    return float(match.group().replace(",", "")) if match else None
