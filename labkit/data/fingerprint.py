"""The dataset fingerprint: SHA-256 over every table's rows in primary-key order.

Canonical encoding: for each table in schema order, a header line ``#name(col1,col2,...)``,
then every row as a compact JSON array (UTF-8, no spaces) followed by a comma. JSON of integers,
strings and null is the same on every platform; ``orjson`` writes exactly the bytes that
``json.dumps(row, separators=(",", ":"), ensure_ascii=False)`` does for these types (a test
holds it to that), only several times faster. The same function hashes rows while a build
writes them and rows read back from a file, so the two always agree.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Sequence
from typing import Any

from labkit.data.schema import TABLES

try:
    import orjson
except ImportError:  # pragma: no cover - orjson is a dependency; keep working without it
    orjson = None  # type: ignore[assignment]

_PREAMBLE = b"labkit-dataset-fingerprint-v1\n"
READ_CHUNK = 50_000


def encode_rows(rows: Sequence[Sequence[Any]]) -> bytes:
    """Rows as canonical bytes: ``[..],[..],`` (chunking never changes the result)."""
    if not rows:
        return b""
    if orjson is not None:
        return orjson.dumps(rows)[1:-1] + b","
    text = json.dumps(rows, separators=(",", ":"), ensure_ascii=False)
    return text[1:-1].encode("utf-8") + b","


class Fingerprint:
    """Incremental fingerprint: call ``table()`` then ``rows()`` (any chunks) per table."""

    def __init__(self) -> None:
        self._hash = hashlib.sha256(_PREAMBLE)

    def table(self, name: str, columns: Sequence[str]) -> None:
        self._hash.update(f"\n#{name}({','.join(columns)})\n".encode())

    def rows(self, rows: Sequence[Sequence[Any]]) -> None:
        self._hash.update(encode_rows(rows))

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


def table_columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return [str(row[1]) for row in conn.execute(f"PRAGMA table_info({table})")]


def fingerprint_connection(conn: sqlite3.Connection, tables: Sequence[str] = TABLES) -> str:
    """Recompute the fingerprint of an open database (reads every row once)."""
    fp = Fingerprint()
    for table in tables:
        fp.table(table, table_columns(conn, table))
        cursor = conn.execute(f"SELECT * FROM {table} ORDER BY id")
        while chunk := cursor.fetchmany(READ_CHUNK):
            fp.rows(chunk)
    return fp.hexdigest()
