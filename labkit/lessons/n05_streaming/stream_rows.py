"""05.stream_rows — stream a table to a sink: memory stays flat as the table grows.

The check streams seeded tables of N and 4N rows (plus an empty one and one of exactly two
batches) and counts, for each: the rows the sink received (and their digest), the rows fetched
through the connection it was given, the trips to aiosqlite's thread, and the peak traced
memory — with tracemalloc re-started per table and verified afterwards (``memory_watch``).
Rows sent after the answer returned, or threads and tasks still working then, are a "not yet".
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import aiosqlite

from labkit.db import connect
from labkit.errors import InstrumentBlinded
from labkit.grading import Grader, exercise, reference_answer
from labkit.lessons.n05_streaming import leftovers
from labkit.lessons.n05_streaming.memory_watch import MemoryWatch
from labkit.lessons.n05_streaming.tables import (
    USER_COLUMNS,
    FetchCounter,
    RowDigest,
    count_fetches,
    make_users_db,
)
from labkit.lessons.n05_streaming.tampering import blinding_is_not_yet

STREAM_SQL: Final = f"SELECT {', '.join(USER_COLUMNS)} FROM users ORDER BY id"
MEMORY_BATCH: Final = 100
MAX_PEAK_RATIO: Final = 1.5
ROWS_PER_FETCH: Final = 50  # fewer rows per trip to aiosqlite's thread is the fetchone pattern
SAMPLE_EVERY: Final = 16  # rows between two samples of the traced total (sampling costs time)


@reference_answer
async def stream_users(db: aiosqlite.Connection, sink: Any, batch_size: int) -> None:
    """Send every user, in id order, to ``sink``: ``batch_size`` rows in memory at a time."""
    async with db.execute(STREAM_SQL) as cursor:
        while rows := await cursor.fetchmany(batch_size):
            for row in rows:
                sink(row)


class WatchedSink(RowDigest):
    """The check's sink: a digest of the rows, a memory sample per row, and a closed door
    after the answer returned (rows arriving later are counted as late)."""

    def __init__(self, watch: MemoryWatch | None) -> None:
        super().__init__()
        self.watch = watch
        self.closed = False
        self.late = 0

    def __call__(self, row: Any) -> None:
        if self.closed:
            self.late += 1
            return
        if self.watch is not None and self.count % SAMPLE_EVERY == 0:
            self.watch.sample()
        super().__call__(row)


@dataclass
class StreamRun:
    rows: int  # in the table
    sink: WatchedSink
    fetches: FetchCounter
    received: int  # rows the sink had when the answer returned
    watch: MemoryWatch | None


def expected_digest(path: Path) -> tuple[int, str]:
    """Row count and digest of the table in id order, read with plain sqlite3."""
    digest = RowDigest()
    with closing(sqlite3.connect(path)) as conn:
        conn.row_factory = sqlite3.Row
        for row in conn.execute(STREAM_SQL):
            digest(row)
    return digest.count, digest.digest


async def stream_once(g: Grader, answer: Any, path: Path, rows: int, *, measure: bool) -> StreamRun:
    """Run the answer on one table, with fresh collaborators, and verify the instruments."""
    async with connect(path) as db:
        watch = MemoryWatch() if measure else None
        sink = WatchedSink(watch)
        before = leftovers.snapshot()
        with count_fetches(db) as fetches:
            if watch is not None:
                watch.start()
            try:
                await g.acall(answer, db, sink, MEMORY_BATCH)
            except BaseException:
                if watch is not None:
                    watch.stop_quietly()
                raise
            sink.closed = True  # at once: nothing the answer does later can count
            received = sink.count
            if watch is not None:
                watch.finish()
            if not fetches.still_counting(db):
                raise InstrumentBlinded(
                    "the connection's fetches no longer go through the check's counter: "
                    "your answer replaced db._execute. Use the connection as it is given."
                )
        running = await leftovers.left_running(before)
    g.expect(
        not running,
        f"stream_users returned while work was still running ({', '.join(running[:2])}): "
        "the check measures only what happens before you return",
        hint="Do the work inside stream_users and await it; start no thread or task that "
        "outlives the call.",
    )
    g.expect(
        sink.late == 0,
        f"{sink.late:,} rows reached sink after stream_users returned",
        hint="Await everything before returning: the caller may close the response then.",
    )
    return StreamRun(rows, sink, fetches, received, watch)


def verify_rows(g: Grader, run: StreamRun, expected: tuple[int, str]) -> None:
    sink, rows = run.sink, run.rows
    g.expect(sink.bad is None, f"sink could not read a row: {sink.bad}",
             hint="Pass each row as it comes from the cursor (an aiosqlite.Row).")  # fmt: skip
    expected_count, digest = expected
    g.expect(
        run.received == expected_count,
        f"{rows:,} users in the table: sink received {run.received:,} rows",
        hint="Send every row to sink, once: keep fetching until the cursor returns nothing.",
    )
    g.expect(
        sink.digest == digest,
        f"{rows:,} users: the rows sent to sink differ from the table's rows in id order",
        hint="SELECT id, name, email, tier, is_active, country, bio, created_at "
        "FROM users ORDER BY id — and send each row unchanged.",
    )
    fetched = run.fetches.rows
    g.expect(
        fetched >= rows,
        f"{rows:,} users reached sink but only {fetched:,} rows were fetched through the "
        "connection you were given",
        hint="Read from `db`, the connection passed in — not from a copy or another connection.",
    )
    g.expect(
        fetched <= rows + MEMORY_BATCH,
        f"{fetched:,} rows fetched to send {rows:,} users: the table was read more than once",
        hint="Read the table once, batch by batch.",
    )


@exercise(
    "05.stream_rows",
    title="Stream a table: memory stays flat as the table grows",
    answers=("stream_users",),
    hint="Keep one cursor open and take batch_size rows at a time: "
    "`while rows := await cursor.fetchmany(batch_size): for row in rows: sink(row)`.",
    points=2,
    timeout=20.0,
)
@blinding_is_not_yet
async def grade_stream_rows(g: Grader, answer: Any) -> None:
    folder = g.dataset("tiny").parent  # the check's private temp dir, cleaned up after it
    small = 2_000 + g.seed % 97  # rarely a whole number of batches
    tables = {  # name: (rows, seed, measured) — run in this order
        "two-batches": (2 * MEMORY_BATCH, g.seed + 2, False),
        "N": (small, g.seed, True),
        "empty": (0, g.seed, False),
        "4N": (4 * small, g.seed + 1, True),
    }
    # one unmeasured pass first: one-time costs (caches, the connection thread's first
    # allocations) would otherwise land in the N-row figure only
    with g.excluded.pause():
        warm = make_users_db(folder / "users-warm-up.sqlite", MEMORY_BATCH * 3, g.seed)
    async with connect(warm) as db:
        await stream_users(db, RowDigest(), MEMORY_BATCH)
    runs = {}
    for name, (rows, seed, measure) in tables.items():
        with g.excluded.pause():
            path = make_users_db(folder / f"users-{name}.sqlite", rows, seed)
            expected = expected_digest(path)
        runs[name] = await stream_once(g, answer, path, rows, measure=measure)
        verify_rows(g, runs[name], expected)

    small_run, large_run = runs["N"], runs["4N"]
    assert small_run.watch is not None and large_run.watch is not None
    small_peak, large_peak = small_run.watch.peak, large_run.watch.peak
    ratio = large_peak / max(small_peak, 1)
    held = large_run.watch.highest_sample / max(small_run.watch.highest_sample, 1)
    g.measure(
        f"peak memory, {4 * small:,} rows ÷ {small:,} rows",
        round(ratio, 2),
        target=f"≤ {MAX_PEAK_RATIO} (flat; loading everything gives ≈ 4)",
        ok=ratio <= MAX_PEAK_RATIO,
        hint="Memory grows with the table: something holds every row at once (fetchall(), "
        "list(cursor), a list you append to). Hold one batch at a time.",
    )
    g.measure(
        "memory in use while rows reach sink, 4N ÷ N",
        round(held, 2),
        target=f"≤ {MAX_PEAK_RATIO}",
        ok=held <= MAX_PEAK_RATIO,
        hint="While rows are being sent, every row of the table is still held somewhere.",
    )
    fetches = large_run.fetches.fetches
    limit = 4 * small // ROWS_PER_FETCH + 2
    g.measure(
        f"fetches for {4 * small:,} rows",
        fetches,
        target=f"≤ {limit} (at least {ROWS_PER_FETCH} rows per trip)",
        ok=fetches <= limit,
        hint="Each fetch is a trip to aiosqlite's thread (aiosqlite #97): fetchone() in a loop "
        "pays it per row. Use fetchmany(batch_size).",
    )
    g.note(
        f"peak {small_peak / 1024:,.0f} KiB at {small:,} rows, "
        f"{large_peak / 1024:,.0f} KiB at {4 * small:,} rows (tracemalloc, re-started per table)"
    )
