"""05.keyset_batches — read a table in keyset batches (``WHERE id > last``), never OFFSET.

The check deletes a seeded tenth of the rows (ids with gaps), drains the answer on two tables
and a table whose size is a whole number of batches, and an empty one, and counts: the batches
and their rows, the rows fetched before the first batch arrived (everything read up front is
not batching), the statements sent — their text, whichever way an offset is spelled — and the
VM steps of each statement replayed on its own connection: a keyset batch costs the same at
every depth.
"""

from __future__ import annotations

import math
import random
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Final

import aiosqlite

from labkit.db import connect
from labkit.grading import Grader, exercise, reference_answer
from labkit.lessons.n05_streaming import statement_cost
from labkit.lessons.n05_streaming.collect import MIN_SHARE_BEFORE_END, drain_counted
from labkit.lessons.n05_streaming.tables import FetchCounter
from labkit.lessons.n05_streaming.tampering import blinding_is_not_yet


@reference_answer
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


def row_tuple(row: Any) -> tuple[Any, ...]:
    return tuple(row.values()) if isinstance(row, dict) else tuple(row)


def batch_rows(g: Grader, name: str, items: list[Any]) -> list[list[tuple[Any, ...]]]:
    """The yielded batches as lists of row tuples; a wrong shape is the learner's "not yet"."""
    out = []
    for i, batch in enumerate(items, 1):
        g.expect(
            isinstance(batch, list | tuple),
            f"{name} yielded a {type(batch).__name__} as batch {i}: yield a list of rows",
            hint="Yield the list of rows a query returned (`yield rows`), not rows one by one.",
        )
        rows = []
        for row in batch:
            g.expect(
                hasattr(row, "keys") or isinstance(row, tuple | list),
                f"batch {i} holds a {type(row).__name__}, not a row",
                hint="Yield the rows as the query returned them.",
            )
            rows.append(row_tuple(row))
        out.append(rows)
    return out


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


def verify_statements(
    g: Grader, path: Path, what: str, fetches: FetchCounter, rows: int, batch_size: int
) -> None:
    """Statements sent: one per batch, none skipping rows, flat VM steps with depth."""
    statements = fetches.statements
    g.expect(
        bool(statements) or rows == 0,
        f"{what}: rows were yielded but no statement went through the connection you were given",
        hint="Query `db`, the connection passed in.",
    )
    offsets = [sql for sql, _ in statements if statement_cost.skips_rows(sql)]
    g.measure(
        f"statements skipping rows with an offset ({what})",
        len(offsets),
        target="0",
        ok=not offsets,
        hint=f"`{offsets[0][:90]}` skips rows: OFFSET k (or LIMIT k, n) makes the database "
        "step over k rows on every page. Continue after the last id you saw instead."
        if offsets
        else None,
    )
    needed = max(1, math.ceil(rows / batch_size))
    g.measure(
        f"statements ({what}, {rows} rows, batches of {batch_size})",
        len(statements),
        target=f"{needed}–{needed + 1}: one per batch",
        ok=needed <= len(statements) <= needed + 1,
        hint="One query per batch. A single query read whole and sliced in Python holds "
        "the table in memory; a query per row is the N+1 pattern.",
    )
    growth = statement_cost.depth_growth(statement_cost.replay(path, statements), batch_size)
    g.measure(
        f"VM steps, deepest full batch ÷ cheapest ({what})",
        round(growth, 2),
        target=f"≤ {statement_cost.MAX_DEPTH_GROWTH} (a keyset batch costs the same at any depth)",
        ok=growth <= statement_cost.MAX_DEPTH_GROWTH,
        hint="Later batches cost SQLite more work than the first: the query walks past the "
        "rows already read. Use WHERE id > last ORDER BY id LIMIT batch_size.",
    )


KEYSET_TABLES: Final = (("posts", 37), ("users", 8))
ANSWER: Final = "keyset_batches"


@exercise(
    "05.keyset_batches",
    title="Batches with a keyset cursor: WHERE id > last, never OFFSET",
    answers=(ANSWER,),
    hint="Loop: SELECT * FROM {table} WHERE id > ? ORDER BY id LIMIT ?, yield the rows, "
    "remember rows[-1]['id']; stop when a query returns nothing.",
    points=2,
    timeout=15.0,
)
@blinding_is_not_yet
async def grade_keyset_batches(g: Grader, answer: Any) -> None:
    path = g.dataset("tiny")
    async with connect(path) as db:
        for table, _ in KEYSET_TABLES:
            await punch_holes(db, table, g.seed)
        (users,) = next(iter(await db.execute_fetchall("SELECT COUNT(*) FROM users")))
        # users again with a batch size that divides the rows: the last batch is full,
        # so only an empty query can tell the answer it is done
        exact = next((k for k in (9, 6, 7, 5, 4, 3) if users % k == 0), users)
        cases = [*KEYSET_TABLES, ("users", exact)]
        for table, size in cases:
            expected = [
                [row_tuple(r) for r in batch] async for batch in keyset_batches(db, table, size)
            ]
            got, fetches = await drain_counted(g, answer, ANSWER, db, table, size)
            rows = sum(len(b) for b in expected)
            what = f"{table}, batch_size={size}"
            got_batches = batch_rows(g, ANSWER, got.items)
            g.expect_equal(
                [len(b) for b in got_batches],
                [len(b) for b in expected],
                what=f"{table} ({rows} rows, ids with gaps), batch sizes with batch_size={size}",
                hint="Every batch holds batch_size rows, except the last; ids have gaps, so "
                "count rows with LIMIT, not id ranges.",
            )
            g.expect_equal(got_batches, expected, what=f"{what}: rows, batch by batch")
            first = got.fetched_before[0] if got.fetched_before else 0
            g.measure(
                f"rows read before the first batch arrived ({what})",
                first,
                target=f"≤ {2 * size} (one batch)",
                ok=first <= 2 * size,
                hint="The whole table was read before the first yield: query one batch, "
                "yield it, then query the next.",
            )
            early = got.share_before_end([len(b) for b in got_batches], rows)
            g.measure(
                f"rows yielded before the table's last rows were read ({what})",
                f"{early:.0%}",
                target=f"≥ {MIN_SHARE_BEFORE_END:.0%} (each batch as soon as it is read)",
                ok=early >= MIN_SHARE_BEFORE_END,
                hint="Most batches waited until the whole table was read: yield each batch "
                "before querying the next.",
            )
            verify_statements(g, path, what, fetches, rows, size)
        await db.execute("DELETE FROM users WHERE id > 0")
        await db.commit()
        got, _ = await drain_counted(g, answer, ANSWER, db, "users", 5)
        g.expect(
            not [b for b in got.items if not isinstance(b, list | tuple) or len(b)],
            f"an empty table should give no batches, got {len(got.items)}",
            hint="Stop as soon as a query returns no rows; never yield an empty batch.",
        )
