"""Reference answers for the streaming and payload exercises; the checks compare with these."""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import AsyncIterator, Callable, Collection, Iterable
from typing import Any, Final, Literal

import aiosqlite
import msgspec
import orjson

try:  # brotli is a dependency of labkit, but a service must still work without it
    import brotli
except ImportError:  # pragma: no cover - exercised only where brotli is missing
    brotli = None

from starlette.types import ASGIApp, Receive, Scope, Send

from labkit.lessons.n05_streaming.tables import USER_COLUMNS

STREAM_SQL: Final = f"SELECT {', '.join(USER_COLUMNS)} FROM users ORDER BY id"
EXPORT_COLUMNS: Final = ("id", "name", "email", "tier", "is_active", "country", "created_at")
PUBLIC_FIELDS: Final = ("id", "name", "tier", "is_active", "country", "created_at")
Format = Literal["csv", "json", "ndjson"]


# ---- 05.stream_rows ------------------------------------------------------------------------------
async def stream_users(
    db: aiosqlite.Connection, sink: Callable[[Any], Any], batch_size: int
) -> None:
    """Send every user, in id order, to ``sink``: ``batch_size`` rows in memory at a time."""
    async with db.execute(STREAM_SQL) as cursor:
        while rows := await cursor.fetchmany(batch_size):
            for row in rows:
                sink(row)


# ---- 05.keyset_batches ---------------------------------------------------------------------------
async def keyset_batches(
    db: aiosqlite.Connection, table: str, batch_size: int
) -> AsyncIterator[list[aiosqlite.Row]]:
    """Every row of ``table`` in id order, ``batch_size`` at a time, one keyset query per batch.

    ``WHERE id > last`` lets SQLite jump straight to the next batch through the primary key;
    ``OFFSET k`` would walk past k rows again on every page.
    """
    last_id = 0
    while True:
        async with db.execute(
            f"SELECT * FROM {table} WHERE id > ? ORDER BY id LIMIT ?", (last_id, batch_size)
        ) as cursor:
            rows = list(await cursor.fetchall())
        if not rows:
            return
        yield rows
        last_id = rows[-1]["id"]


# ---- 05.export_stream ----------------------------------------------------------------------------
def _csv_lines(rows: Iterable[Any], header: bool) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if header:
        writer.writerow(EXPORT_COLUMNS)
    writer.writerows([row[c] for c in EXPORT_COLUMNS] for row in rows)
    return buffer.getvalue().encode()


async def export_users(
    db: aiosqlite.Connection, fmt: Format, batch_size: int
) -> AsyncIterator[bytes]:
    """The users export as chunks of bytes, one chunk per keyset batch.

    JSON: "[" + items joined by "," + "]" (an empty table is "[]"); NDJSON: one object per
    line; CSV: a header line, then one line per user.
    """
    first = True
    async for rows in keyset_batches(db, "users", batch_size):
        if fmt == "csv":
            yield _csv_lines(rows, header=first)
        else:
            items = [orjson.dumps({c: row[c] for c in EXPORT_COLUMNS}) for row in rows]
            if fmt == "ndjson":
                yield b"".join(item + b"\n" for item in items)
            else:
                yield (b"[" if first else b",") + b",".join(items)
        first = False
    if fmt == "json":
        yield b"[]" if first else b"]"
    elif fmt == "csv" and first:
        yield _csv_lines([], header=True)


# ---- 05.compress_response ------------------------------------------------------------------------
def accepted_encodings(accept_encoding: str | None) -> set[str]:
    """Encodings the client accepts (``q=0`` means "not this one")."""
    accepted = set()
    for part in (accept_encoding or "").split(","):
        name, _, params = part.partition(";")
        name = name.strip().lower()
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if name and quality > 0:
            accepted.add(name)
    return accepted


def compress_response(
    body: bytes, accept_encoding: str | None, min_size: int = 1024
) -> tuple[bytes, dict[str, str]]:
    """``(payload, headers)``: brotli or gzip when the client accepts it and the body is big
    enough to be worth it; the body unchanged (and no Content-Encoding) otherwise."""
    if len(body) < min_size:
        return body, {}
    accepted = accepted_encodings(accept_encoding)
    if "br" in accepted and brotli is not None:
        return brotli.compress(body, quality=5), {
            "Content-Encoding": "br",
            "Vary": "Accept-Encoding",
        }
    if "gzip" in accepted:
        payload = gzip.compress(body, compresslevel=6, mtime=0)
        return payload, {"Content-Encoding": "gzip", "Vary": "Accept-Encoding"}
    return body, {"Vary": "Accept-Encoding"}


# ---- 05.schema_encoder ---------------------------------------------------------------------------
class PublicUser(msgspec.Struct):
    """What the API may show of a user: no email, no bio; ``is_active`` as a real boolean."""

    id: int
    name: str
    tier: str
    is_active: bool
    country: str
    created_at: int


def make_public_encoder() -> Callable[[list[dict[str, Any]]], bytes]:
    """``encode(rows)``: validate rows against ``PublicUser`` and encode them as JSON.

    The schema and the encoder are built once; unknown fields (email, bio) are dropped and a
    wrong type raises ``msgspec.ValidationError``.
    """
    encoder = msgspec.json.Encoder()

    def encode(rows: list[dict[str, Any]]) -> bytes:
        users = msgspec.convert(rows, list[PublicUser], strict=False)  # 0/1 → False/True
        return encoder.encode(users)

    return encode


def json_baseline(rows: list[dict[str, Any]]) -> bytes:
    """The same document with the standard library: the slow, obvious version."""
    public = [
        {f: (bool(row[f]) if f == "is_active" else row[f]) for f in PUBLIC_FIELDS} for row in rows
    ]
    return json.dumps(public, separators=(",", ":")).encode()


# ---- 05.selective_middleware ---------------------------------------------------------------------
def skip_for(middleware_class: Any, paths: Collection[str]) -> Any:
    """A middleware class that runs ``middleware_class`` except on ``paths`` (exact match)."""
    skipped = frozenset(paths)

    class Selective:
        def __init__(self, app: ASGIApp, *args: Any, **kwargs: Any) -> None:
            self.app = app
            self.wrapped = middleware_class(app, *args, **kwargs)

        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "http" and scope["path"] in skipped:
                await self.app(scope, receive, send)
            else:
                await self.wrapped(scope, receive, send)

    Selective.__name__ = f"Selective{getattr(middleware_class, '__name__', 'Middleware')}"
    return Selective
