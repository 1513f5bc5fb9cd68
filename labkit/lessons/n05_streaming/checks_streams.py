"""Checks for streaming rows: flat memory, keyset batches, and streamed exports."""

from __future__ import annotations

import csv
import io
import json
import math
import random
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any, Final

import aiosqlite

from labkit.db import connect, statement_log
from labkit.grading import Grader, exercise
from labkit.lessons.n05_streaming import reference
from labkit.lessons.n05_streaming.tables import (
    RowDigest,
    count_fetches,
    make_users_db,
    peak_bytes,
)

MEMORY_ROWS: Final = 2_000  # N; the check also streams 4N
MEMORY_BATCH: Final = 100
MAX_PEAK_RATIO: Final = 1.5
ROWS_PER_FETCH: Final = 50  # fewer rows per trip to aiosqlite's thread is the fetchone pattern


async def drain(g: Grader, fn: Any, name: str, *args: Any) -> list[Any]:
    """Call the learner's async generator function and collect what it yields.

    Iterating runs the learner's code, so it goes through ``g.acall`` too: an exception in
    their generator is reported as theirs.
    """
    produced = await g.acall(fn, *args)
    g.expect(
        not isinstance(produced, list | tuple),
        f"{name} returned a whole {type(produced).__name__}: everything was in memory at once",
        hint="Make it an async generator: `yield` each batch as soon as you have it.",
    )
    g.expect(
        hasattr(produced, "__aiter__"),
        f"{name} should be an async generator (an `async def` with `yield`), but calling it "
        f"returned {type(produced).__name__}",
        hint="Write `async def ...:` and `yield` each batch instead of returning a list.",
    )

    async def collect() -> list[Any]:
        return [item async for item in produced]

    collect.__name__ = name
    return list(await g.acall(collect))


# ---- 05.stream_rows ------------------------------------------------------------------------------
@exercise(
    "05.stream_rows",
    title="Stream a table: memory stays flat as the table grows",
    answers=("stream_users",),
    hint="Keep one cursor open and take batch_size rows at a time: "
    "`while rows := await cursor.fetchmany(batch_size): for row in rows: sink(row)`.",
    points=2,
    timeout=20.0,
)
def grade_stream_rows(g: Grader, stream_users: Any) -> None:
    folder = g.dataset("tiny").parent  # the check's private temp dir, cleaned up after it
    sizes = (MEMORY_ROWS, 4 * MEMORY_ROWS)

    async def measure(path: Path, fn: Any, learner: bool) -> tuple[RowDigest, int, int]:
        async with connect(path) as db:
            sink = RowDigest()
            with count_fetches(db) as fetches:
                if learner:
                    _, peak = await peak_bytes(lambda: g.acall(fn, db, sink, MEMORY_BATCH))
                else:
                    _, peak = await peak_bytes(lambda: fn(db, sink, MEMORY_BATCH))
        return sink, peak, fetches.fetches

    async def scenario() -> dict[int, tuple[RowDigest, int, int]]:
        # one unmeasured pass first: one-time costs (caches, the connection thread's first
        # allocations) would otherwise land in the N-row figure only
        warm = make_users_db(folder / "users-warm-up.sqlite", MEMORY_BATCH * 3, g.seed)
        await measure(warm, reference.stream_users, learner=False)
        results = {}
        for n in sizes:  # the 4N table is built only once the N-row run worked
            path = make_users_db(folder / f"users-{n}.sqlite", n, g.seed)
            results[n] = await measure(path, stream_users, learner=True)
            results[n][0].expected = expected_digest(path)
        return results

    results = g.run(scenario())
    for n in sizes:
        got = results[n][0]
        g.expect(got.bad is None, f"sink could not read a row: {got.bad}",
                 hint="Pass each row as it comes from the cursor (an aiosqlite.Row).")  # fmt: skip
        expected_count, expected_digest_ = got.expected
        g.expect(
            got.count == expected_count,
            f"{n:,} users in the table: sink received {got.count:,} rows",
            hint="Send every row to sink, once: keep fetching until the cursor returns nothing.",
        )
        g.expect(
            got.digest == expected_digest_,
            f"{n:,} users: the rows sent to sink differ from the table's rows in id order",
            hint="SELECT id, name, email, tier, is_active, country, bio, created_at "
            "FROM users ORDER BY id — and send each row unchanged.",
        )
    small_peak, large_peak = results[sizes[0]][1], results[sizes[1]][1]
    ratio = large_peak / max(small_peak, 1)
    fetches = results[sizes[1]][2]
    g.measure(
        f"peak memory, {sizes[1]:,} rows ÷ {sizes[0]:,} rows",
        round(ratio, 2),
        target=f"≤ {MAX_PEAK_RATIO} (flat; loading everything gives ≈ 4)",
        ok=ratio <= MAX_PEAK_RATIO,
        hint="Memory grows with the table: something holds every row at once (fetchall(), "
        "list(cursor), a list you append to). Hold one batch at a time.",
    )
    g.measure(
        f"fetches for {sizes[1]:,} rows",
        fetches,
        target=f"≤ {sizes[1] // ROWS_PER_FETCH + 2} (at least {ROWS_PER_FETCH} rows per trip)",
        ok=fetches <= sizes[1] // ROWS_PER_FETCH + 2,
        hint="Each fetch is a trip to aiosqlite's thread (aiosqlite #97): fetchone() in a loop "
        "pays it per row. Use fetchmany(batch_size).",
    )
    g.note(
        f"peak {small_peak / 1024:,.0f} KiB at {sizes[0]:,} rows, "
        f"{large_peak / 1024:,.0f} KiB at {sizes[1]:,} rows (tracemalloc)"
    )


def expected_digest(path: Path) -> tuple[int, str]:
    """Row count and digest of the table in id order, read with plain sqlite3."""
    digest = RowDigest()
    with closing(sqlite3.connect(path)) as conn:
        conn.row_factory = sqlite3.Row
        for row in conn.execute(reference.STREAM_SQL):
            digest(row)
    return digest.count, digest.digest


# ---- 05.keyset_batches ---------------------------------------------------------------------------
KEYSET_TABLES: Final = (("posts", 37), ("users", 8))


def row_tuple(row: Any) -> tuple[Any, ...]:
    return tuple(row.values()) if isinstance(row, dict) else tuple(row)


async def punch_holes(db: aiosqlite.Connection, table: str, seed: int) -> None:
    """Delete a seeded tenth of ``table`` (children first), so its ids have gaps."""
    rng = random.Random(seed)
    ids = [r[0] for r in await db.execute_fetchall(f"SELECT id FROM {table} ORDER BY id")]
    gone = sorted(rng.sample(ids, len(ids) // 10))
    marks = ", ".join("?" * len(gone))
    if table == "posts":
        await db.execute(f"DELETE FROM comments WHERE post_id IN ({marks})", gone)
    await db.execute(f"DELETE FROM {table} WHERE id IN ({marks})", gone)
    await db.commit()


@exercise(
    "05.keyset_batches",
    title="Batches with a keyset cursor: WHERE id > last, never OFFSET",
    answers=("keyset_batches",),
    hint="Loop: SELECT * FROM {table} WHERE id > ? ORDER BY id LIMIT ?, yield the rows, "
    "remember rows[-1]['id']; stop when a query returns nothing.",
    points=2,
    timeout=15.0,
)
def grade_keyset_batches(g: Grader, keyset_batches: Any) -> None:
    path = g.dataset("tiny")

    async def scenario() -> list[tuple[str, int, list[Any], list[Any], Any]]:
        out = []
        async with connect(path) as db:
            for table, size in KEYSET_TABLES:
                await punch_holes(db, table, g.seed)
                expected = [
                    [row_tuple(r) for r in batch]
                    async for batch in reference.keyset_batches(db, table, size)
                ]
                with statement_log(db) as log:
                    got = await drain(g, keyset_batches, "keyset_batches", db, table, size)
                out.append((table, size, got, expected, log))
        return out

    for table, size, got, expected, log in g.run(scenario()):
        rows = sum(len(b) for b in expected)
        got_batches = [[row_tuple(r) for r in batch] for batch in got]
        g.expect_equal(
            [len(b) for b in got_batches],
            [len(b) for b in expected],
            what=f"{table} ({rows} rows, ids with gaps), batch sizes with batch_size={size}",
            hint="Every batch holds batch_size rows, except the last; ids have gaps, so count "
            "rows with LIMIT, not id ranges.",
        )
        g.expect_equal(got_batches, expected, what=f"{table} rows, batch by batch")
        statements = log.statements
        offsets = [s.sql for s in statements if "OFFSET" in s.sql.upper()]
        g.measure(
            f"statements using OFFSET ({table})",
            len(offsets),
            target="0",
            ok=not offsets,
            hint="OFFSET k makes the database step over k rows on every page: the last pages "
            "cost the most. Continue after the last id you saw instead.",
        )
        needed = math.ceil(rows / size)
        g.measure(
            f"SELECT statements ({table}, {rows} rows, batches of {size})",
            len(statements),
            target=f"{needed}–{needed + 1}: one per batch",
            ok=needed <= len(statements) <= needed + 1,
            hint="One query per batch. A single query read whole and sliced in Python holds "
            "the table in memory; a query per row is the N+1 pattern.",
        )


# ---- 05.export_stream ----------------------------------------------------------------------------
EXPORT_BATCH: Final = 8
FORMATS: Final = ("json", "ndjson", "csv")


def parse_export(fmt: str, body: bytes) -> list[dict[str, Any]]:
    """The export as a list of dicts (CSV values stay strings); ValueError when it is invalid."""
    text = body.decode("utf-8")
    if fmt == "json":
        data = json.loads(text)
        if not isinstance(data, list):
            raise ValueError(f"the document is a {type(data).__name__}, not an array")
        return data
    if fmt == "ndjson":
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        return [json.loads(line) for line in lines]
    reader = csv.DictReader(io.StringIO(text))
    if tuple(reader.fieldnames or ()) != reference.EXPORT_COLUMNS:
        raise ValueError(
            f"header is {reader.fieldnames}, expected {list(reference.EXPORT_COLUMNS)}"
        )
    return list(reader)


def as_csv_values(rows: list[dict[str, Any]]) -> list[dict[str, str]]:
    return [{k: str(v) for k, v in row.items()} for row in rows]


@exercise(
    "05.export_stream",
    title="Stream the users export as JSON, NDJSON and CSV",
    answers=("export_users",),
    hint="Loop over your keyset batches; yield one chunk per batch. JSON: '[' before the first "
    "item, ',' between items (also between batches), ']' at the end; NDJSON: one object per "
    "line; CSV: the header once.",
    points=3,
    timeout=15.0,
)
def grade_export_stream(g: Grader, export_users: Any) -> None:
    path = g.dataset("tiny")
    columns = ", ".join(reference.EXPORT_COLUMNS)

    async def scenario() -> tuple[list[dict[str, Any]], dict[str, Any], list[Any]]:
        async with connect(path) as db:
            found = await db.execute_fetchall(f"SELECT {columns} FROM users ORDER BY id")
            rows = [dict(r) for r in found]
            runs = {}
            for fmt in FORMATS:
                with statement_log(db) as log:
                    chunks = await drain(g, export_users, "export_users", db, fmt, EXPORT_BATCH)
                runs[fmt] = (chunks, log)
            await db.execute("DELETE FROM users")  # foreign keys are not enforced here
            await db.commit()
            empty = await drain(g, export_users, "export_users", db, "json", EXPORT_BATCH)
        return rows, runs, empty

    rows, runs, empty = g.run(scenario())
    batches = math.ceil(len(rows) / EXPORT_BATCH)
    for fmt in FORMATS:
        chunks, log = runs[fmt]
        bad = [type(c).__name__ for c in chunks if not isinstance(c, bytes | bytearray)]
        g.expect(not bad, f"{fmt}: yield bytes, got a {bad[0] if bad else ''} chunk",
                 hint="Encode each chunk: text.encode() or orjson.dumps(...).")  # fmt: skip
        body = b"".join(chunks)
        try:
            parsed = parse_export(fmt, body)
        except (ValueError, UnicodeDecodeError) as exc:
            g.expect(False, f"the {fmt} export does not parse: {exc}",
                     hint=f"Start of the output: {body[:80]!r}")  # fmt: skip
            return
        expected = as_csv_values(rows) if fmt == "csv" else rows
        g.expect_equal(parsed, expected, what=f"{fmt} export ({len(rows)} users, id order)")
        g.measure(
            f"{fmt}: chunks yielded",
            len(chunks),
            target=f"≥ {batches} (one per batch of {EXPORT_BATCH})",
            ok=len(chunks) >= batches,
            hint="Yield each batch as soon as it is encoded; building the whole body first is "
            "what streaming avoids.",
        )
        offsets = sum("OFFSET" in s.sql.upper() for s in log.statements)
        g.measure(
            f"{fmt}: SELECT statements",
            f"{log.count}, {offsets} with OFFSET" if offsets else log.count,
            target=f"{batches}–{batches + 1}, no OFFSET",
            ok=batches <= log.count <= batches + 1 and not offsets,
            hint="Read with keyset batches (WHERE id > last ORDER BY id LIMIT batch_size).",
        )
    body = b"".join(c for c in empty if isinstance(c, bytes | bytearray))
    try:
        empty_ok = json.loads(body) == []
    except ValueError:
        empty_ok = False
    g.expect(
        empty_ok,
        f"an empty users table should export as the JSON array [] — got {body[:40]!r}",
        hint="Open the array even when no batch comes: remember whether you wrote '['.",
    )
