"""The users export's columns and CSV lines: one format for the lab API's export and lesson 05's.

Light on purpose (no FastAPI): lesson 05's exercise writes the same export the API serves.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any, Final

EXPORT_COLUMNS: Final = ("id", "name", "email", "tier", "is_active", "country", "created_at")


def csv_lines(rows: Iterable[Any], *, header: bool) -> bytes:
    """One CSV line per row (``EXPORT_COLUMNS``, ``\\n`` line ends), after the header line when
    ``header`` (an export's first batch: an empty export is its header alone). A row is read by
    column name: a dict, a ``sqlite3.Row`` or an ``aiosqlite.Row``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if header:
        writer.writerow(EXPORT_COLUMNS)
    writer.writerows([row[column] for column in EXPORT_COLUMNS] for row in rows)
    return buffer.getvalue().encode()


__all__ = ["EXPORT_COLUMNS", "csv_lines"]
