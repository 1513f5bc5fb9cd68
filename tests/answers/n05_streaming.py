"""Discrimination cases for notebook 05 (streaming and payloads): stubs, references, other
correct answers, and the plausible wrong answers each check must reject."""

from __future__ import annotations

import asyncio
import csv
import gzip
import io
import json
import re
import sqlite3
import threading
import tracemalloc
import zlib
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import brotli
import msgspec
import orjson

from labkit.lessons.n05_streaming import (
    compression,
    export,
    keyset,
    schema_encoder,
    selective_middleware,
    stream_rows,
)
from tests.answers import Case

# The learner's own versions of what the wrong answers build on: never labkit's references
# (an answer reaching those is recognised as the reference, whatever else it gets wrong).
STREAM_SQL = (
    "SELECT id, name, email, tier, is_active, country, bio, created_at FROM users ORDER BY id"
)
EXPORT_COLUMNS = ("id", "name", "email", "tier", "is_active", "country", "created_at")
PUBLIC_FIELDS = ("id", "name", "tier", "is_active", "country", "created_at")


async def my_keyset(db: Any, table: str, batch_size: int) -> Any:
    last = 0
    while rows := await db.execute_fetchall(
        f"SELECT * FROM {table} WHERE id > ? ORDER BY id LIMIT ?", (last, batch_size)
    ):
        yield rows
        last = rows[-1]["id"]


def my_csv(rows: Iterable[Any], header: bool) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if header:
        writer.writerow(EXPORT_COLUMNS)
    writer.writerows([row[c] for c in EXPORT_COLUMNS] for row in rows)
    return buffer.getvalue().encode()


async def my_export(db: Any, fmt: str, batch_size: int) -> Any:
    first = True
    async for rows in my_keyset(db, "users", batch_size):
        if fmt == "csv":
            yield my_csv(rows, header=first)
        elif fmt == "ndjson":
            yield b"".join(orjson.dumps(_row(r)) + b"\n" for r in rows)
        else:
            yield (b"[" if first else b",") + b",".join(orjson.dumps(_row(r)) for r in rows)
        first = False
    if fmt == "json":
        yield b"[]" if first else b"]"
    elif fmt == "csv" and first:
        yield my_csv([], header=True)


def my_accepted(accept_encoding: str | None) -> set[str]:
    out = set()
    for part in (accept_encoding or "").split(","):
        name, _, params = part.partition(";")
        key, _, value = params.strip().lower().partition("=")
        if key == "q" and float(value) == 0:
            continue
        if name.strip():
            out.add(name.strip().lower())
    return out


def my_compress(body: bytes, accept_encoding: str | None, min_size: int = 1024) -> Any:
    if len(body) < min_size:
        return body, {}
    accepted = my_accepted(accept_encoding)
    if "br" in accepted:
        return brotli.compress(body, quality=5), {"Content-Encoding": "br"}
    if "gzip" in accepted:
        return gzip.compress(body), {"Content-Encoding": "gzip"}
    return body, {}


def my_json_public(rows: list[dict[str, Any]]) -> bytes:
    public = [{f: (bool(r[f]) if f == "is_active" else r[f]) for f in PUBLIC_FIELDS} for r in rows]
    return json.dumps(public, separators=(",", ":")).encode()


def stub(*args: Any, **kwargs: Any) -> Any:
    raise NotImplementedError()


async def astub(*args: Any, **kwargs: Any) -> Any:
    raise NotImplementedError()


# ---- 05.stream_rows -----------------------------------------------------------------------------
async def stream_async_for(db: Any, sink: Any, batch_size: int) -> None:
    async with db.execute(STREAM_SQL) as cursor:
        cursor.arraysize = batch_size
        async for row in cursor:  # aiosqlite fetches iter_chunk_size rows per trip
            sink(row)


async def stream_keyset(db: Any, sink: Any, batch_size: int) -> None:
    last = 0
    while True:
        rows = await db.execute_fetchall(
            f"{STREAM_SQL.replace(' ORDER BY id', '')} WHERE id > ? ORDER BY id LIMIT ?",
            (last, batch_size),
        )
        if not rows:
            return
        for row in rows:
            sink(row)
        last = rows[-1]["id"]


async def stream_fetchall(db: Any, sink: Any, batch_size: int) -> None:
    async with db.execute(STREAM_SQL) as cursor:
        rows = await cursor.fetchall()
    for row in rows:
        sink(row)


async def stream_collect_then_send(db: Any, sink: Any, batch_size: int) -> None:
    kept = []
    async with db.execute(STREAM_SQL) as cursor:
        while batch := await cursor.fetchmany(batch_size):
            kept.extend(batch)  # batches fetched, but every row kept until the end
    for row in kept:
        sink(row)


async def stream_fetchone(db: Any, sink: Any, batch_size: int) -> None:
    async with db.execute(STREAM_SQL) as cursor:
        while (row := await cursor.fetchone()) is not None:
            sink(row)


async def stream_drops_last_batch(db: Any, sink: Any, batch_size: int) -> None:
    async with db.execute(STREAM_SQL) as cursor:
        while len(rows := await cursor.fetchmany(batch_size + 7)) == batch_size + 7:
            for row in rows:
                sink(row)


async def stream_fixed_batch(db: Any, sink: Any, batch_size: int) -> None:
    async with db.execute(STREAM_SQL) as cursor:
        while rows := await cursor.fetchmany(5_000):  # ignores batch_size
            for row in rows:
                sink(row)


_STREAM_MEMO: list[Any] = []


async def stream_memo(db: Any, sink: Any, batch_size: int) -> None:
    if not _STREAM_MEMO:  # the first table's rows, kept for every later call
        _STREAM_MEMO.extend(await db.execute_fetchall(STREAM_SQL))
    for row in _STREAM_MEMO:
        sink(row)


def stream_memo_factory() -> tuple[Any, ...]:
    _STREAM_MEMO.clear()
    return (stream_memo,)


async def stream_stops_tracemalloc(db: Any, sink: Any, batch_size: int) -> None:
    tracemalloc.stop()  # blind the instrument, then load everything
    await stream_fetchall(db, sink, batch_size)


async def stream_restarts_tracemalloc(db: Any, sink: Any, batch_size: int) -> None:
    tracemalloc.stop()
    await stream_fetchall(db, sink, batch_size)
    tracemalloc.start()  # tracing again, with a fresh (low) peak


async def stream_resets_peak(db: Any, sink: Any, batch_size: int) -> None:
    await stream_fetchall(db, sink, batch_size)
    tracemalloc.reset_peak()  # forget the peak of the whole table


async def stream_after_returning(db: Any, sink: Any, batch_size: int) -> None:
    asyncio.ensure_future(stream_fetchall(db, sink, batch_size))  # noqa: RUF006 - runs later


def _read_all_on_thread(db: Any, sink: Any) -> None:
    conn = db._connector()  # a second connection to the same file
    conn.row_factory = sqlite3.Row
    for row in conn.execute(STREAM_SQL).fetchall():
        sink(row)
    conn.close()


async def stream_thread_not_joined(db: Any, sink: Any, batch_size: int) -> None:
    threading.Thread(target=_read_all_on_thread, args=(db, sink)).start()


async def stream_other_connection(db: Any, sink: Any, batch_size: int) -> None:
    await asyncio.to_thread(_read_all_on_thread, db, sink)  # ignores the connection given


async def stream_bypasses_counter(db: Any, sink: Any, batch_size: int) -> None:
    vars(db).pop("_execute", None)  # fetch without the check's counter, then load everything
    await stream_fetchall(db, sink, batch_size)


async def stream_reads_twice(db: Any, sink: Any, batch_size: int) -> None:
    rows = await db.execute_fetchall(STREAM_SQL)
    count = len(rows)  # "how many rows?" by loading them all, then stream
    del rows
    tracemalloc.reset_peak()
    async with db.execute(STREAM_SQL) as cursor:
        while batch := await cursor.fetchmany(batch_size):
            for row in batch[:count]:
                sink(row)


# ---- 05.keyset_batches --------------------------------------------------------------------------
async def keyset_stops_on_short_batch(db: Any, table: str, batch_size: int) -> Any:
    last = -1
    while True:
        rows = await db.execute_fetchall(
            f"SELECT * FROM {table} WHERE id > :last ORDER BY id LIMIT :n",
            {"last": last, "n": batch_size},
        )
        if rows:
            yield rows
        if len(rows) < batch_size:
            return
        last = rows[-1][0]


async def keyset_offset(db: Any, table: str, batch_size: int) -> Any:
    offset = 0
    while rows := await db.execute_fetchall(
        f"SELECT * FROM {table} ORDER BY id LIMIT ? OFFSET ?", (batch_size, offset)
    ):
        yield rows
        offset += batch_size


async def keyset_fetchall_sliced(db: Any, table: str, batch_size: int) -> Any:
    rows = await db.execute_fetchall(f"SELECT * FROM {table} ORDER BY id")
    for start in range(0, len(rows), batch_size):
        yield rows[start : start + batch_size]


async def keyset_id_ranges(db: Any, table: str, batch_size: int) -> Any:
    (top,) = (await db.execute_fetchall(f"SELECT MAX(id) FROM {table}"))[0]
    for low in range(0, top, batch_size):  # assumes ids without gaps
        rows = await db.execute_fetchall(
            f"SELECT * FROM {table} WHERE id > ? AND id <= ? ORDER BY id", (low, low + batch_size)
        )
        if rows:
            yield rows


async def keyset_returns_list(db: Any, table: str, batch_size: int) -> Any:
    batches = []
    async for rows in my_keyset(db, table, batch_size):
        batches.append(rows)
    return batches  # every batch held until the end


async def keyset_drops_partial(db: Any, table: str, batch_size: int) -> Any:
    async for rows in my_keyset(db, table, batch_size):
        if len(rows) == batch_size:
            yield rows


async def keyset_limit_comma(db: Any, table: str, batch_size: int) -> Any:
    offset = 0  # SQLite's LIMIT offset, count: OFFSET without the word
    while rows := await db.execute_fetchall(
        f"SELECT * FROM {table} ORDER BY id LIMIT {offset}, {batch_size}"
    ):
        yield rows
        offset += batch_size


async def keyset_reads_all_first(db: Any, table: str, batch_size: int) -> Any:
    batches = [rows async for rows in my_keyset(db, table, batch_size)]
    for rows in batches:  # keyset queries, but every batch read before the first yield
        yield rows


async def keyset_first_batch_then_the_rest(db: Any, table: str, batch_size: int) -> Any:
    batches = my_keyset(db, table, batch_size)
    first = await anext(batches, None)
    if first is None:
        return
    yield first  # the first batch at once, then everything else read before the next yield
    rest = [rows async for rows in batches]
    for rows in rest:
        yield rows


async def keyset_no_index(db: Any, table: str, batch_size: int) -> Any:
    last = 0  # `id + 0` hides the primary key: every batch scans from the start again
    while rows := await db.execute_fetchall(
        f"SELECT * FROM {table} WHERE id + 0 > ? ORDER BY id LIMIT ?", (last, batch_size)
    ):
        yield rows
        last = rows[-1]["id"]


async def keyset_empty_last_batch(db: Any, table: str, batch_size: int) -> Any:
    last = 0
    while True:
        rows = await db.execute_fetchall(
            f"SELECT * FROM {table} WHERE id > ? ORDER BY id LIMIT ?", (last, batch_size)
        )
        yield rows  # the empty list too
        if not rows:
            return
        last = rows[-1]["id"]


_KEYSET_MEMO: dict[str, list[Any]] = {}


async def keyset_memo_by_table(db: Any, table: str, batch_size: int) -> Any:
    if table not in _KEYSET_MEMO:
        _KEYSET_MEMO[table] = [rows async for rows in my_keyset(db, table, batch_size)]
    for rows in _KEYSET_MEMO[table]:
        yield rows


def keyset_memo_factory() -> tuple[Any, ...]:
    _KEYSET_MEMO.clear()  # a fresh memo per run, as a fresh kernel would have
    return (keyset_memo_by_table,)


async def keyset_yields_ids(db: Any, table: str, batch_size: int) -> Any:
    async for rows in my_keyset(db, table, batch_size):
        for row in rows:
            yield row["id"]  # one id at a time: the wrong shape


# ---- 05.export_stream ---------------------------------------------------------------------------
def _row(r: Any) -> dict[str, Any]:
    return {c: r[c] for c in EXPORT_COLUMNS}


async def export_with_json_module(db: Any, fmt: str, batch_size: int) -> Any:
    """Different encoders (json, csv.DictWriter) and a separator before every item."""
    wrote = False
    if fmt == "json":
        yield b"["
    async for rows in keyset_stops_on_short_batch(db, "users", batch_size):
        if fmt == "csv":
            buffer = io.StringIO()
            writer = csv.DictWriter(buffer, fieldnames=EXPORT_COLUMNS, lineterminator="\r\n")
            if not wrote:
                writer.writeheader()
            writer.writerows(_row(r) for r in rows)
            yield buffer.getvalue().encode()
        elif fmt == "ndjson":
            yield "".join(json.dumps(_row(r)) + "\n" for r in rows).encode()
        else:
            yield "".join(("," if wrote or i else "") + json.dumps(_row(r))
                          for i, r in enumerate(rows)).encode()  # fmt: skip
        wrote = True
    if fmt == "json":
        yield b"]"
    elif fmt == "csv" and not wrote:
        yield ",".join(EXPORT_COLUMNS).encode() + b"\r\n"


async def export_no_comma_between_batches(db: Any, fmt: Any, batch_size: int) -> Any:
    if fmt != "json":
        async for chunk in my_export(db, fmt, batch_size):
            yield chunk
        return
    yield b"["
    async for rows in my_keyset(db, "users", batch_size):
        yield b",".join(orjson.dumps(_row(r)) for r in rows)
    yield b"]"


async def export_header_every_batch(db: Any, fmt: Any, batch_size: int) -> Any:
    if fmt != "csv":
        async for chunk in my_export(db, fmt, batch_size):
            yield chunk
        return
    async for rows in my_keyset(db, "users", batch_size):
        yield my_csv(rows, header=True)


async def export_keeps_chunks(db: Any, fmt: Any, batch_size: int) -> Any:
    chunks = [chunk async for chunk in my_export(db, fmt, batch_size)]
    for chunk in chunks:  # the right chunks, all yielded at the end
        yield chunk


async def export_bracket_then_the_rest(db: Any, fmt: Any, batch_size: int) -> Any:
    chunks = [chunk async for chunk in my_export(db, fmt, batch_size)]
    if not chunks:
        return
    yield chunks[0][:1]  # "[" (or a first byte) at once, looks like streaming...
    yield chunks[0][1:]
    for chunk in chunks[1:]:  # ...but every other chunk waited for the whole table
        yield chunk


async def export_limit_comma(db: Any, fmt: str, batch_size: int) -> Any:
    first = True
    async for rows in keyset_limit_comma(db, "users", batch_size):
        if fmt == "csv":
            yield my_csv(rows, header=first)
        elif fmt == "ndjson":
            yield b"".join(orjson.dumps(_row(r)) + b"\n" for r in rows)
        else:
            yield (b"[" if first else b",") + b",".join(orjson.dumps(_row(r)) for r in rows)
        first = False
    if fmt == "json":
        yield b"]" if not first else b"[]"
    elif fmt == "csv" and first:
        yield my_csv([], header=True)


async def export_str_chunks(db: Any, fmt: Any, batch_size: int) -> Any:
    async for chunk in my_export(db, fmt, batch_size):
        yield chunk.decode()  # text, not bytes


async def export_csv_empty_without_header(db: Any, fmt: Any, batch_size: int) -> Any:
    async for chunk in my_export(db, fmt, batch_size):
        if fmt == "csv" and chunk == my_csv([], header=True):
            return  # an empty table gives an empty body, without the header
        yield chunk


async def export_whole_body(db: Any, fmt: str, batch_size: int) -> Any:
    rows = await db.execute_fetchall(f"SELECT {', '.join(EXPORT_COLUMNS)} FROM users ORDER BY id")
    if fmt == "csv":
        yield my_csv(rows, header=True)
    elif fmt == "ndjson":
        yield b"".join(orjson.dumps(_row(r)) + b"\n" for r in rows)
    else:
        yield orjson.dumps([_row(r) for r in rows])


async def export_offset_pages(db: Any, fmt: str, batch_size: int) -> Any:
    first = True
    async for rows in keyset_offset(db, "users", batch_size):
        if fmt == "csv":
            yield my_csv(rows, header=first)
        elif fmt == "ndjson":
            yield b"".join(orjson.dumps(_row(r)) + b"\n" for r in rows)
        else:
            yield (b"[" if first else b",") + b",".join(orjson.dumps(_row(r)) for r in rows)
        first = False
    if fmt == "json":
        yield b"]" if not first else b"[]"


async def export_empty_table_bug(db: Any, fmt: str, batch_size: int) -> Any:
    first = True
    async for rows in my_keyset(db, "users", batch_size):
        if fmt == "csv":
            yield my_csv(rows, header=first)
        elif fmt == "ndjson":
            yield b"".join(orjson.dumps(_row(r)) + b"\n" for r in rows)
        else:
            yield (b"[" if first else b",") + b",".join(orjson.dumps(_row(r)) for r in rows)
        first = False
    if fmt == "json":
        yield b"]"  # an empty table gives "]"


# ---- 05.compress_response -----------------------------------------------------------------------
def compress_zlib_regex(
    body: bytes, accept_encoding: str | None, min_size: int = 1024
) -> tuple[bytes, dict[str, str]]:
    """Different parsing (a regex) and a different gzip writer (zlib with a gzip header)."""
    if len(body) < min_size or not accept_encoding:
        return body, {}
    offered = {
        m.group(1).lower()
        for m in re.finditer(r"\s*([\w*-]+)\s*(?:;\s*q=([0-9.]+))?", accept_encoding)
        if m.group(2) is None or float(m.group(2)) > 0
    }
    if "br" in offered:
        return brotli.compress(body, quality=4), {"content-encoding": "br"}
    if "gzip" in offered:
        packer = zlib.compressobj(5, zlib.DEFLATED, 31)
        return packer.compress(body) + packer.flush(), {"content-encoding": "gzip"}
    return body, {}


def compress_always_gzip(
    body: bytes, accept_encoding: str | None, min_size: int = 1024
) -> tuple[bytes, dict[str, str]]:
    if len(body) < min_size:
        return body, {}
    return gzip.compress(body), {"Content-Encoding": "gzip"}


def compress_no_threshold(
    body: bytes, accept_encoding: str | None, min_size: int = 1024
) -> tuple[bytes, dict[str, str]]:
    return my_compress(body, accept_encoding, min_size=0)


def compress_gzip_only(
    body: bytes, accept_encoding: str | None, min_size: int = 1024
) -> tuple[bytes, dict[str, str]]:
    if len(body) >= min_size and "gzip" in my_accepted(accept_encoding):
        return gzip.compress(body), {"Content-Encoding": "gzip"}
    return body, {}


def compress_ignores_q(
    body: bytes, accept_encoding: str | None, min_size: int = 1024
) -> tuple[bytes, dict[str, str]]:
    names = (accept_encoding or "").replace(" ", "").split(",")
    offered = {n.split(";")[0] for n in names}
    if len(body) >= min_size and "br" in offered:
        return brotli.compress(body), {"Content-Encoding": "br"}
    if len(body) >= min_size and "gzip" in offered:
        return gzip.compress(body), {"Content-Encoding": "gzip"}
    return body, {}


def compress_case_sensitive(
    body: bytes, accept_encoding: str | None, min_size: int = 1024
) -> tuple[bytes, dict[str, str]]:
    if len(body) < min_size:
        return body, {}
    offered = {p.split(";")[0].strip() for p in (accept_encoding or "").split(",")}
    offered -= {p.split(";")[0].strip() for p in (accept_encoding or "").split(",") if "q=0" in p}
    if "br" in offered:  # "GZIP" and "Br" are not recognised
        return brotli.compress(body), {"Content-Encoding": "br"}
    if "gzip" in offered:
        return gzip.compress(body), {"Content-Encoding": "gzip"}
    return body, {}


def compress_q_zero_as_text(
    body: bytes, accept_encoding: str | None, min_size: int = 1024
) -> tuple[bytes, dict[str, str]]:
    if len(body) < min_size:
        return body, {}
    offered = set()
    for part in (accept_encoding or "").lower().split(","):
        name, _, params = part.partition(";")
        if params.strip() != "q=0":  # misses q=0.0 and q=0.000
            offered.add(name.strip())
    if "br" in offered:
        return brotli.compress(body), {"Content-Encoding": "br"}
    if "gzip" in offered:
        return gzip.compress(body), {"Content-Encoding": "gzip"}
    return body, {}


def compress_fixed_threshold(
    body: bytes, accept_encoding: str | None, min_size: int = 1024
) -> tuple[bytes, dict[str, str]]:
    return my_compress(body, accept_encoding, min_size=1024)


def compress_no_header(
    body: bytes, accept_encoding: str | None, min_size: int = 1024
) -> tuple[bytes, dict[str, str]]:
    payload, _ = my_compress(body, accept_encoding, min_size)
    return payload, {}


# ---- 05.schema_encoder --------------------------------------------------------------------------
class PublicUserOrdered(msgspec.Struct, kw_only=True):
    created_at: int
    id: int
    name: str
    country: str
    tier: str
    is_active: bool


def encode_via_decode(rows: list[dict[str, Any]]) -> bytes:
    """Round trip through msgspec's typed decoder: validates and drops unknown fields."""
    users = msgspec.json.decode(orjson.dumps(rows), type=list[PublicUserOrdered], strict=False)
    return msgspec.json.encode(users)


def encode_stdlib_json(rows: list[dict[str, Any]]) -> bytes:
    return my_json_public(rows)


def encode_json_on_a_thread(rows: list[dict[str, Any]]) -> bytes:
    with ThreadPoolExecutor(1) as pool:  # json.dumps, out of sight on a worker thread
        return pool.submit(my_json_public, rows).result()


_PRE_MADE_POOL = ThreadPoolExecutor(1, thread_name_prefix="made-before-the-check")


def encode_json_on_an_old_thread(rows: list[dict[str, Any]]) -> bytes:
    future = _PRE_MADE_POOL.submit(json.dumps, public_dicts(rows), separators=(",", ":"))
    return str(future.result()).encode()


def encode_validated_json_on_a_thread(rows: list[dict[str, Any]]) -> bytes:
    users = msgspec.convert(rows, list[PublicUserOrdered], strict=False)  # validated...
    public = [msgspec.structs.asdict(u) for u in users]
    with ThreadPoolExecutor(1) as pool:  # ...then encoded by json, on a worker thread
        return pool.submit(json.dumps, public).result().encode()


def public_dicts(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{f: (bool(r[f]) if f == "is_active" else r[f]) for f in PUBLIC_FIELDS} for r in rows]


def encode_msgspec_memo() -> Callable[[list[dict[str, Any]]], bytes]:
    encoder = msgspec.json.Encoder()
    first: list[bytes] = []

    def encode(rows: list[dict[str, Any]]) -> bytes:
        if not first:  # the first answer, remembered for every later call
            first.append(
                encoder.encode(msgspec.convert(rows, list[PublicUserOrdered], strict=False))
            )
        return first[0]

    return encode


def encode_orjson_raw(rows: list[dict[str, Any]]) -> bytes:
    return orjson.dumps(rows)  # fast, and leaks every email


def encode_orjson_unvalidated(rows: list[dict[str, Any]]) -> bytes:
    return orjson.dumps(
        [{f: (bool(r[f]) if f == "is_active" else r[f]) for f in PUBLIC_FIELDS} for r in rows]
    )


class PublicUserIntFlag(msgspec.Struct):
    id: int
    name: str
    tier: str
    is_active: int
    country: str
    created_at: int


def encode_int_flag(rows: list[dict[str, Any]]) -> bytes:
    return msgspec.json.encode(msgspec.convert(rows, list[PublicUserIntFlag]))


def encoder_factory(encode: Callable[[list[dict[str, Any]]], bytes]) -> Callable[[], Any]:
    """``make_public_encoder`` for a given ``encode``."""

    def make_public_encoder() -> Any:
        return encode

    return make_public_encoder


# ---- 05.selective_middleware --------------------------------------------------------------------
def skip_for_factory(middleware_class: Any, paths: Any) -> Any:
    """A factory function (not a class), looking the path up with scope.get."""

    def build(app: Any, **options: Any) -> Any:
        inner = middleware_class(app, **options)

        async def selective(scope: Any, receive: Any, send: Any) -> None:
            target = app if scope.get("path") in paths else inner
            await target(scope, receive, send)

        return selective

    return build


def skip_for_unchanged(middleware_class: Any, paths: Any) -> Any:
    return middleware_class


def skip_for_prefix(middleware_class: Any, paths: Any) -> Any:
    def build(app: Any, **options: Any) -> Any:
        inner = middleware_class(app, **options)

        async def selective(scope: Any, receive: Any, send: Any) -> None:
            skip = any(scope["path"].startswith(p) for p in paths)
            await (app if skip else inner)(scope, receive, send)

        return selective

    return build


def skip_for_inverted(middleware_class: Any, paths: Any) -> Any:
    def build(app: Any, **options: Any) -> Any:
        inner = middleware_class(app, **options)

        async def selective(scope: Any, receive: Any, send: Any) -> None:
            await (inner if scope["path"] in paths else app)(scope, receive, send)

        return selective

    return build


_SKIP_MEMO: dict[Any, Any] = {}


def skip_for_memo(middleware_class: Any, paths: Any) -> Any:
    """Remembers the class it built per middleware, whatever paths come later."""
    if middleware_class not in _SKIP_MEMO:
        _SKIP_MEMO[middleware_class] = skip_for_factory(middleware_class, paths)
    return _SKIP_MEMO[middleware_class]


def skip_for_memo_factory() -> tuple[Any, ...]:
    _SKIP_MEMO.clear()
    return (skip_for_memo,)


def skip_for_health_always(middleware_class: Any, paths: Any) -> Any:
    return skip_for_factory(middleware_class, {"/health", "/ready"})  # ignores paths


def skip_for_twice(middleware_class: Any, paths: Any) -> Any:
    """Skips the probes, but wraps the middleware in itself: every other request pays twice."""

    def build(app: Any, **options: Any) -> Any:
        inner = middleware_class(middleware_class(app, **options), **options)

        async def selective(scope: Any, receive: Any, send: Any) -> None:
            await (app if scope["path"] in paths else inner)(scope, receive, send)

        return selective

    return build


CASES = {
    "05.stream_rows": Case(
        stub=(astub,),
        reference=(stream_rows.stream_users,),
        alternatives=[(stream_async_for,), (stream_keyset,)],
        wrong={
            "fetchall": (stream_fetchall,),
            "batches kept until the end": (stream_collect_then_send,),
            "fetchone per row": (stream_fetchone,),
            "drops the last batch": (stream_drops_last_batch,),
            "stops tracemalloc": (stream_stops_tracemalloc,),
            "restarts tracemalloc": (stream_restarts_tracemalloc,),
            "resets the peak": (stream_resets_peak,),
            "work after returning": (stream_after_returning,),
            "thread not joined": (stream_thread_not_joined,),
            "reads another connection": (stream_other_connection,),
            "bypasses the fetch counter": (stream_bypasses_counter,),
            "reads the table twice": (stream_reads_twice,),
            "ignores batch_size (5,000)": (stream_fixed_batch,),
            "rows kept from the first call": stream_memo_factory,
        },
    ),
    "05.keyset_batches": Case(
        stub=(astub,),
        reference=(keyset.keyset_batches,),
        alternatives=[(keyset_stops_on_short_batch,)],
        wrong={
            "OFFSET pages": (keyset_offset,),
            "LIMIT offset, count": (keyset_limit_comma,),
            "reads every batch first": (keyset_reads_all_first,),
            "first batch, then reads the rest": (keyset_first_batch_then_the_rest,),
            "keyset without the index": (keyset_no_index,),
            "yields an empty last batch": (keyset_empty_last_batch,),
            "memo by table": keyset_memo_factory,
            "yields ids (wrong shape)": (keyset_yields_ids,),
            "fetchall then slices": (keyset_fetchall_sliced,),
            "id ranges (assumes no gaps)": (keyset_id_ranges,),
            "drops the partial batch": (keyset_drops_partial,),
            "returns a list of batches": (keyset_returns_list,),
        },
    ),
    "05.export_stream": Case(
        stub=(astub,),
        reference=(export.export_users,),
        alternatives=[(export_with_json_module,)],
        wrong={
            "keeps every chunk for the end": (export_keeps_chunks,),
            "first byte early, the rest at the end": (export_bracket_then_the_rest,),
            "LIMIT offset, count": (export_limit_comma,),
            "str chunks": (export_str_chunks,),
            "empty CSV without header": (export_csv_empty_without_header,),
            "no comma between batches": (export_no_comma_between_batches,),
            "CSV header every batch": (export_header_every_batch,),
            "whole body at once": (export_whole_body,),
            "OFFSET pages": (export_offset_pages,),
            "empty table gives ']'": (export_empty_table_bug,),
        },
    ),
    "05.compress_response": Case(
        stub=(stub,),
        reference=(compression.compress_response,),
        alternatives=[(compress_zlib_regex,)],
        wrong={
            "always gzip (ignores opt-out)": (compress_always_gzip,),
            "no size threshold": (compress_no_threshold,),
            "never brotli": (compress_gzip_only,),
            "ignores q=0": (compress_ignores_q,),
            "threshold fixed at 1024": (compress_fixed_threshold,),
            "no Content-Encoding header": (compress_no_header,),
            "case-sensitive names": (compress_case_sensitive,),
            "q=0 compared as text": (compress_q_zero_as_text,),
        },
    ),
    "05.schema_encoder": Case(
        stub=(stub,),
        reference=(schema_encoder.make_public_encoder,),
        alternatives=[(encoder_factory(encode_via_decode),)],
        wrong={
            "standard json": (encoder_factory(encode_stdlib_json),),
            "standard json on a worker thread": (encoder_factory(encode_json_on_a_thread),),
            "standard json on a pool made earlier": (
                encoder_factory(encode_json_on_an_old_thread),
            ),
            "remembers its first document": (encode_msgspec_memo,),
            "validated, then json on a thread": (
                encoder_factory(encode_validated_json_on_a_thread),
            ),
            "orjson of whole rows (leaks email)": (encoder_factory(encode_orjson_raw),),
            "orjson without validation": (encoder_factory(encode_orjson_unvalidated),),
            "is_active as an int": (encoder_factory(encode_int_flag),),
            "returns the bytes, not an encoder": (lambda: my_json_public([]),),
        },
    ),
    "05.selective_middleware": Case(
        stub=(stub,),
        reference=(selective_middleware.skip_for,),
        alternatives=[(skip_for_factory,)],
        wrong={
            "middleware unchanged": (skip_for_unchanged,),
            "prefix match": (skip_for_prefix,),
            "inverted": (skip_for_inverted,),
            "wrapped twice": (skip_for_twice,),
            "remembers the first paths": skip_for_memo_factory,
            "ignores the paths given": (skip_for_health_always,),
        },
    ),
}
