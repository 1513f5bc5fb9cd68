"""A partial index: index only the rows one query can return, proven by the plan.

The moderation queue reads the oldest drafts. Drafts are a small share of all posts, so an
index on every post carries entries the queue never reads (and updates them on every write).
``CREATE INDEX ... ON posts(created_at) WHERE status = 'draft'`` holds only drafts; SQLite uses
it for a query whose WHERE contains the index's own condition.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from labkit.db.sql_text import tokens
from labkit.grading import exercise, reference_answer
from labkit.lessons.n02_queries.fixtures import fetch_all, rng_for
from labkit.lessons.n02_queries.indexes import index_in_plan, plan_lines, sorts_in_temp_btree

if TYPE_CHECKING:
    from labkit.grading import Grader

DRAFT_QUEUE = (
    "SELECT id, author_id, title FROM posts WHERE status = 'draft' ORDER BY created_at, id LIMIT 20"
)
"""The 20 oldest drafts, for the moderation queue."""


@reference_answer
async def add_draft_index_reference(db: Any) -> None:
    await db.execute(
        "CREATE INDEX IF NOT EXISTS idx_posts_drafts ON posts(created_at, id) "
        "WHERE status = 'draft'"
    )
    await db.commit()


async def new_indexes(db: Any, before: set[str]) -> dict[str, str]:
    """Indexes on posts created since ``before``: name → CREATE INDEX text."""
    rows = await fetch_all(
        db, "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'posts'"
    )
    return {name: sql or "" for name, sql in rows if name not in before}


def index_condition(create_sql: str) -> str | None:
    """The WHERE condition of a CREATE INDEX statement (``None`` for a full index)."""
    for token in tokens(create_sql):
        if token.depth == 0 and token.keyword == "WHERE":
            condition = create_sql[token.start + len(token.text) :].strip().rstrip(";").strip()
            return condition or None
    return None


async def index_entries(db: Any, create_sql: str) -> int:
    """Rows the index holds: every row of posts, or those meeting its condition."""
    condition = index_condition(create_sql)
    where = f" WHERE {condition}" if condition else ""
    return int((await fetch_all(db, f"SELECT count(*) FROM posts{where}"))[0][0])


async def add_drafts(db: Any, seed: int) -> None:
    """Turn a seeded handful of posts into drafts with tied created_at (ties need the id)."""
    ids = [r[0] for r in await fetch_all(db, "SELECT id FROM posts WHERE status <> 'draft'")]
    chosen = rng_for(seed, "partial_index").sample(ids, 6)
    oldest = int((await fetch_all(db, "SELECT MIN(created_at) FROM posts"))[0][0])
    await db.executemany(
        "UPDATE posts SET status = 'draft', created_at = ? WHERE id = ?",
        [(oldest + n // 2, i) for n, i in enumerate(chosen)],
    )
    await db.commit()


@exercise(
    "02.partial_index",
    title="A partial index for the moderation queue",
    answers=("add_draft_index",),
    hint=(
        "Index the sort column(s), and add the queue's own condition to the index: "
        "CREATE INDEX ... ON posts(created_at, id) WHERE status = 'draft'."
    ),
    points=1,
    timeout=10.0,
)
async def grade_partial_index(g: Grader, add_draft_index: Any) -> None:
    from labkit.db import connect, explain

    for copy in range(2):  # two databases, two fresh connections: nothing carries over
        path = g.dataset("tiny")
        async with connect(path) as db:
            await add_drafts(db, g.seed + copy)
            before = set(await new_indexes(db, set()))
            expected = await fetch_all(db, DRAFT_QUEUE)
            await g.acall(add_draft_index, db)
            created = await new_indexes(db, before)
            plan = await explain(db, DRAFT_QUEUE)
            got = await fetch_all(db, DRAFT_QUEUE)
            used = index_in_plan(plan, set(created))
            all_posts = int((await fetch_all(db, "SELECT count(*) FROM posts"))[0][0])
            drafts = int(
                (await fetch_all(db, "SELECT count(*) FROM posts WHERE status = 'draft'"))[0][0]
            )
            entries = await index_entries(db, created[used]) if used else all_posts
        g.expect(
            bool(created),
            "no new index on posts was created (run CREATE INDEX on the `db` you were given)",
        )
        g.expect(got == expected, "the queue returns different rows after your change")
        if copy == 0:
            g.note("plan: " + " | ".join(plan_lines(plan)))
        g.measure(
            f"index used by the plan (database {copy + 1})",
            used or "none",
            target="one of your new indexes, no SCAN of the posts table",
            ok=used is not None and not plan.scans_table("posts"),
            hint="SQLite uses a partial index only when the query's WHERE contains the index's "
            "condition word for word: status = 'draft'.",
        )
        g.measure(
            f"sorted in a temporary B-tree (database {copy + 1})",
            "yes" if sorts_in_temp_btree(plan) else "no",
            target="no (the index gives the order)",
            ok=not sorts_in_temp_btree(plan),
            hint="Index the column the queue sorts on, so the rows come out in order.",
        )
        g.measure(
            f"entries in the index used (database {copy + 1})",
            entries,
            target=f"≤ {drafts} (the drafts; all posts: {all_posts})",
            ok=entries <= drafts,
            hint="The index holds every post: add the queue's condition (WHERE ...) so it "
            "keeps only the rows the queue can return.",
        )
