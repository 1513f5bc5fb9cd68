"""Read the lesson's rows (users, orders, products) from a seeded dataset as plain dicts."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from labkit.errors import DatasetError

Row = dict[str, Any]

_QUERIES = {
    "users": "SELECT id, name, tier, country FROM users ORDER BY id",
    "orders": "SELECT id, user_id, status, total_cents FROM orders ORDER BY id",
    "products": "SELECT id, name, price_cents, sales_count FROM products ORDER BY id",
}


def load_rows(path: str | Path, table: str) -> list[Row]:
    """All rows of ``users``, ``orders`` or ``products`` (the columns this lesson uses)."""
    if table not in _QUERIES:
        raise DatasetError(f"no lesson query for table {table!r}; use one of {sorted(_QUERIES)}")
    if not Path(path).exists():
        raise DatasetError(f"no dataset at {path}: build it with `labkit data build`")
    connection = sqlite3.connect(f"file:{Path(path).as_posix()}?mode=ro", uri=True)
    try:
        connection.row_factory = sqlite3.Row
        return [dict(row) for row in connection.execute(_QUERIES[table])]
    finally:
        connection.close()
