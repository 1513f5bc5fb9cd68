"""Batched writes: one transaction for many rows instead of one commit per row.

Each COMMIT waits for the disk (fsync) and, on a networked database, a round trip. Inserting
1,000 rows with 1,000 commits pays that 1,000 times; ``executemany`` inside one transaction
pays it once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from labkit.grading import exercise
from labkit.lessons.n02_queries._scenario import fetch_all, read_rows, rng_for, sqlite_sql
from labkit.query_cost import count_transactions

if TYPE_CHECKING:
    from labkit.grading import Grader

CommentRow = tuple[int, int, str, int]
"""(post_id, user_id, body, created_at)"""

INSERT_COMMENT = "INSERT INTO comments (post_id, user_id, body, created_at) VALUES (?, ?, ?, ?)"


async def insert_comments_per_row(db: Any, rows: Sequence[CommentRow]) -> None:
    """The slow shape: one INSERT and one COMMIT per row."""
    for row in rows:
        await db.execute(INSERT_COMMENT, row)
        await db.commit()


async def insert_comments_batched(db: Any, rows: Sequence[CommentRow]) -> None:
    """One ``executemany`` in one transaction, one COMMIT."""
    await db.executemany(INSERT_COMMENT, list(rows))
    await db.commit()


async def new_comment_rows(db: Any, seed: int, n: int) -> list[CommentRow]:
    """``n`` plausible comments on existing posts by existing users, seed-dependent."""
    async with db.execute("SELECT MAX(id) FROM posts") as cur:
        max_post = int((await cur.fetchone())[0])
    async with db.execute("SELECT MAX(id) FROM users") as cur:
        max_user = int((await cur.fetchone())[0])
    rng = rng_for(seed, "batch_insert")
    return [
        (
            rng.randint(1, max_post),
            rng.randint(1, max_user),
            f"batched comment {i} ({rng.randrange(10**6)})",
            1_750_000_000 + i,
        )
        for i in range(n)
    ]


@exercise(
    "02.batch_insert",
    title="Insert many rows in one transaction",
    answers=("insert_comments",),
    hint="`await db.executemany(sql, rows)` then a single `await db.commit()`.",
    points=1,
    timeout=15.0,
)
def grade_batch_insert(g: Grader, insert_comments: Any) -> None:
    from labkit.db import connect, statement_log

    path = g.dataset("tiny")
    n = 60 + g.seed % 40

    async def scenario() -> tuple[list[CommentRow], list[str], int]:
        async with connect(path) as db:
            # No fsync per commit: the check counts transactions, it need not wait for the disk.
            await db.execute("PRAGMA synchronous = OFF")
            before = int((await fetch_all(db, "SELECT MAX(id) FROM comments"))[0][0])
            rows = await new_comment_rows(db, g.seed, n)
            with statement_log(db) as log:
                await g.acall(insert_comments, db, rows)
            return rows, [sqlite_sql(s) for s in log.statements], before

    rows, statements, before = g.run(scenario())
    # Read with a second connection: only committed rows count.
    stored = read_rows(
        path,
        "SELECT post_id, user_id, body, created_at FROM comments WHERE id > ? ORDER BY id",
        (before,),
    )
    g.expect_equal(
        stored,
        [tuple(r) for r in rows],
        what="comments stored (as another connection sees them)",
        hint="Rows missing? A transaction that is never committed is invisible to everyone "
        "else — finish with `await db.commit()`.",
    )
    tx = count_transactions(statements)
    g.measure(
        f"transactions for {n} rows",
        tx.transactions,
        target="1",
        ok=tx.transactions == 1,
        hint="Every COMMIT (or autocommit INSERT) is a separate transaction and a disk sync: "
        "insert all rows first, commit once.",
    )
    g.note(str(tx))
