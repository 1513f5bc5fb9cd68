"""Batched writes: one transaction for many rows instead of one commit per row.

Each COMMIT waits for the disk (fsync) and, on a networked database, a round trip. Inserting
1,000 rows with 1,000 commits pays that 1,000 times; ``executemany`` inside one transaction
pays it once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from labkit.db.query_cost import TransactionCount, count_transactions
from labkit.grading import exercise, reference_answer
from labkit.lessons.n02_queries.fixtures import fetch_all, read_rows, rng_for, trusted_instruments

if TYPE_CHECKING:
    from labkit.db import Statement
    from labkit.grading import Grader

CommentRow = tuple[int, int, str, int]
"""(post_id, user_id, body, created_at)"""

INSERT_COMMENT = "INSERT INTO comments (post_id, user_id, body, created_at) VALUES (?, ?, ?, ?)"


async def insert_comments_per_row(db: Any, rows: Sequence[CommentRow]) -> None:
    """The slow shape: one INSERT and one COMMIT per row."""
    for row in rows:
        await db.execute(INSERT_COMMENT, row)
        await db.commit()


@reference_answer
async def insert_comments_batched(db: Any, rows: Sequence[CommentRow]) -> None:
    """One ``executemany`` in one transaction, one COMMIT."""
    await db.executemany(INSERT_COMMENT, list(rows))
    await db.commit()


async def new_comment_rows(db: Any, seed: int, n: int, start: int = 0) -> list[CommentRow]:
    """``n`` plausible comments on existing posts by existing users, seed-dependent."""
    async with db.execute("SELECT MAX(id) FROM posts") as cur:
        max_post = int((await cur.fetchone())[0])
    async with db.execute("SELECT MAX(id) FROM users") as cur:
        max_user = int((await cur.fetchone())[0])
    rng = rng_for(seed, f"batch_insert:{start}")
    return [
        (
            rng.randint(1, max_post),
            rng.randint(1, max_user),
            f"batched comment {i} ({rng.randrange(10**6)})",
            1_750_000_000 + i,
        )
        for i in range(start, start + n)
    ]


def transactions_seen_by_sqlite(statements: list[Statement]) -> int:
    """Transactions counted from SQLite's own state, not from the statement text.

    A statement that starts while no transaction is open and either opens one (BEGIN,
    SAVEPOINT, sqlite3's implicit BEGIN) or changes rows (an autocommit write, whatever its
    text looks like) is the start of a transaction.
    """
    count = 0
    for statement in statements:
        if statement.in_transaction is not False:
            continue
        opens = statement.sql.lstrip().upper().startswith(("BEGIN", "SAVEPOINT"))
        if opens or (statement.changes or 0) > 0:
            count += 1
    return count


async def _insert_once(
    g: Grader, insert_comments: Any, path: Any, rows: list[CommentRow]
) -> tuple[TransactionCount, int, int | None, int]:
    """One call on a fresh connection: (transactions, by SQLite, rows changed via db, traced)."""
    from labkit.db import connect, statement_log

    async with connect(path) as db:
        # No fsync per commit: the check counts transactions, it need not wait for the disk.
        await db.execute("PRAGMA synchronous = OFF")
        with trusted_instruments(), statement_log(db) as log:
            await g.acall(insert_comments, db, rows)
        with trusted_instruments():
            statements, changes = log.statements, log.changes
    traced = sum(s.changes or 0 for s in statements)
    return count_transactions(statements), transactions_seen_by_sqlite(statements), changes, traced


@exercise(
    "02.batch_insert",
    title="Insert many rows in one transaction",
    answers=("insert_comments",),
    # Shown on any "not yet", the untouched stub included: the one-line fix is in the hints of
    # the failures below, after an attempt.
    hint="Every commit ends a transaction (and waits for the disk): send all the rows first, "
    "then commit once.",
    points=1,
    timeout=15.0,
)
async def grade_batch_insert(g: Grader, insert_comments: Any) -> None:
    from labkit.db import connect

    path = g.dataset("tiny")
    async with connect(path, readonly=True) as db:
        before = int((await fetch_all(db, "SELECT MAX(id) FROM comments"))[0][0])
        # two batches of different sizes, each to a fresh connection: nothing carries over
        batches = [
            await new_comment_rows(db, g.seed, 60 + g.seed % 40),
            await new_comment_rows(db, g.seed, 5 + g.seed % 11, start=200),
        ]
    stored_so_far: list[CommentRow] = []
    for rows in batches:
        tx, by_sqlite, changes, traced = await _insert_once(g, insert_comments, path, rows)
        stored_so_far += rows
        # Read with a second connection: only committed rows count.
        stored = read_rows(
            path,
            "SELECT post_id, user_id, body, created_at FROM comments WHERE id > ? ORDER BY id",
            (before,),
        )
        g.expect_equal(
            stored,
            stored_so_far,
            what=f"comments stored after inserting {len(rows)} rows (as another connection "
            "sees them)",
            hint="Rows missing? A transaction that is never committed is invisible to everyone "
            "else — finish with `await db.commit()`.",
        )
        g.expect(
            changes == len(rows),
            f"SQLite counted {changes} rows changed through the `db` you were given, but "
            f"{len(rows)} rows were stored: write them through `db`, not another connection",
        )
        with trusted_instruments():
            if traced != changes:
                from labkit.errors import InstrumentBlinded

                raise InstrumentBlinded(
                    "your code hid writes from the statement log: the statements it saw changed "
                    f"{traced} rows, SQLite changed {changes}"
                )
        # Two counts from independent evidence: the statement text, and SQLite's own state.
        transactions = max(tx.transactions, by_sqlite)
        g.measure(
            f"transactions for {len(rows)} rows",
            transactions,
            target="1",
            ok=transactions == 1,
            hint="Every COMMIT (or autocommit INSERT) is a separate transaction and a disk sync: "
            "`await db.executemany(INSERT_COMMENT, rows)`, then a single `await db.commit()`.",
        )
        g.note(f"{len(rows)} rows: {tx}")
