"""Indexes, proven by the query plan: SCAN (read every row) vs SEARCH ... USING INDEX.

SQLite does not promise a stable plan text between releases, so the checks read it loosely:
which table is scanned or searched, which index is named, and whether a temporary B-tree
is built to sort. The rows a query visits are counted as VM steps (``labkit.db.query_cost``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from labkit.db.query_cost import vm_steps
from labkit.grading import exercise, reference_answer
from labkit.lessons.n02_queries.fixtures import fetch_all, trusted_instruments

if TYPE_CHECKING:
    from labkit.grading import Grader

COMMENTS_OF_POST = "SELECT id, user_id, body FROM comments WHERE post_id = ?"
"""The comments under one post: without an index, every comment is read to find a handful."""

AUTHOR_FEED = (
    "SELECT id, title, created_at FROM posts "
    "WHERE author_id = ? AND status = 'published' "
    "ORDER BY created_at DESC LIMIT 20"
)
"""An author's newest published posts: filter on two columns, sort on a third."""


@reference_answer
async def add_comment_index_reference(db: Any) -> None:
    await db.execute("CREATE INDEX IF NOT EXISTS idx_comments_post ON comments(post_id)")
    await db.commit()


@reference_answer
async def add_feed_index_reference(db: Any) -> None:
    await db.execute(
        "CREATE INDEX IF NOT EXISTS idx_posts_author_created ON posts(author_id, created_at DESC)"
    )
    await db.commit()


async def index_names(db: Any) -> set[str]:
    async with db.execute("SELECT name FROM sqlite_master WHERE type = 'index'") as cur:
        return {row[0] for row in await cur.fetchall()}


def plan_lines(plan: Any) -> list[str]:
    """The ``detail`` strings of a ``labkit.db`` plan (or of rows from EXPLAIN QUERY PLAN)."""
    frame = getattr(plan, "frame", None)
    if frame is not None and "detail" in frame:
        return [str(d) for d in frame["detail"]]
    return [line.strip() for line in str(plan).splitlines() if line.strip()]


def sorts_in_temp_btree(plan: Any) -> bool:
    return any("TEMP B-TREE" in line.upper() for line in plan_lines(plan))


def index_in_plan(plan: Any, names: set[str]) -> str | None:
    """The first of ``names`` the plan uses (the automatic PK never counts)."""
    for name in sorted(names):
        if plan.uses_index(name):
            return name
    return None


async def query_steps(db: Any, sql: str, params_list: list[tuple[Any, ...]]) -> int:
    """VM steps to run ``sql`` once per parameter tuple and read every row."""
    with trusted_instruments():
        return await _query_steps(db, sql, params_list)


async def _query_steps(db: Any, sql: str, params_list: list[tuple[Any, ...]]) -> int:
    async with vm_steps(db) as steps:
        for params in params_list:
            async with db.execute(sql, params) as cur:
                await cur.fetchall()
    return steps.count


async def _sample_ids(db: Any, sql: str, seed: int, k: int) -> list[tuple[int]]:
    async with db.execute(sql) as cur:
        ids = [row[0] for row in await cur.fetchall()]
    step = max(1, len(ids) // k)
    start = seed % step
    return [(i,) for i in ids[start::step][:k]]


@exercise(
    "02.index",
    title="An index that turns a SCAN into a SEARCH",
    answers=("add_comment_index",),
    # The card shows this hint on any "not yet", the untouched stub included: it points at the
    # plan, and the failure-specific hints below name the column.
    hint="Which column does the query's WHERE clause filter on? SQLite can SEARCH only through "
    "an index whose first column is that one.",
    points=1,
    timeout=10.0,
)
async def grade_index(g: Grader, add_comment_index: Any) -> None:
    from labkit.db import connect, explain

    path = g.dataset("tiny")
    async with connect(path) as db:
        params = await _sample_ids(db, "SELECT DISTINCT post_id FROM comments", g.seed, 10)
        rows_before = [await fetch_all(db, COMMENTS_OF_POST, p) for p in params]
        before_names = await index_names(db)
        before = await query_steps(db, COMMENTS_OF_POST, params)
        await g.acall(add_comment_index, db)
        new = await index_names(db) - before_names
        plan = await explain(db, COMMENTS_OF_POST, params[0])
        rows_after = [await fetch_all(db, COMMENTS_OF_POST, p) for p in params]
        after = await query_steps(db, COMMENTS_OF_POST, params)
    used = index_in_plan(plan, new)
    g.expect(
        bool(new),
        "no new index was created (did you run CREATE INDEX on the `db` you were given?)",
        hint='`await db.execute("CREATE INDEX <name> ON comments(<column>)")`, then '
        "`await db.commit()`.",
    )
    g.expect(
        [sorted(r) for r in rows_before] == [sorted(r) for r in rows_after],
        "the query returns different rows after your change",
    )
    g.note("plan: " + " | ".join(plan_lines(plan)))
    g.measure(
        "comments table scanned",
        "yes" if plan.scans("comments") else "no",
        target="no",
        ok=not plan.scans("comments"),
        hint="The plan still reads every comment (SCAN): the index must start with post_id.",
    )
    g.measure(
        "index used by the plan",
        used or "none",
        target="one of your new indexes",
        ok=used is not None and plan.searches("comments"),
        hint="The plan does not SEARCH comments with your index: index the filtered column.",
    )
    g.note(f"VM steps for 10 look-ups: {before:,} before, {after:,} after")


@exercise(
    "02.feed_index",
    title="A composite (or partial) index for an author's feed",
    answers=("add_feed_index",),
    hint=(
        "Put the equality column first and the sort column next: "
        "posts(author_id, created_at DESC) — optionally partial, WHERE status = 'published'."
    ),
    points=2,
    timeout=10.0,
)
async def grade_feed_index(g: Grader, add_feed_index: Any) -> None:
    from labkit.db import connect, explain

    path = g.dataset("tiny")
    async with connect(path) as db:
        params = await _sample_ids(db, "SELECT DISTINCT author_id FROM posts", g.seed, 12)
        expected = [await fetch_all(db, AUTHOR_FEED, p) for p in params]
        before_names = await index_names(db)
        await add_feed_index_reference(db)
        reference_steps = await query_steps(db, AUTHOR_FEED, params)
        await db.execute("DROP INDEX idx_posts_author_created")
        await db.commit()
        await g.acall(add_feed_index, db)
        new = await index_names(db) - before_names
        plan = await explain(db, AUTHOR_FEED, params[0])
        got = [await fetch_all(db, AUTHOR_FEED, p) for p in params]
        steps = await query_steps(db, AUTHOR_FEED, params)
    used = index_in_plan(plan, new)
    g.expect(
        bool(new),
        "no new index was created (did you run CREATE INDEX on the `db` you were given?)",
    )
    g.expect(
        [sorted(r) for r in expected] == [sorted(r) for r in got],
        "the feed query returns different rows after your change",
    )
    g.note("plan: " + " | ".join(plan_lines(plan)))
    g.measure(
        "index used by the plan",
        used or "none",
        target="one of your new indexes, no SCAN of posts",
        ok=used is not None and not plan.scans("posts"),
        hint="The plan does not look posts up by author with your index: lead with author_id.",
    )
    g.measure(
        "sorted in a temporary B-tree",
        "yes" if sorts_in_temp_btree(plan) else "no",
        target="no (the index gives the order)",
        ok=not sorts_in_temp_btree(plan),
        hint="The rows come out of the index unsorted: add created_at after author_id so the "
        "index already holds each author's posts newest first.",
    )
    limit = 2 * reference_steps
    g.measure(
        "VM steps for 12 feeds",
        steps,
        target=f"≤ {limit:,} (2× a composite index)",
        ok=steps <= limit,
        hint="The index is used but still visits far more rows than one author's posts: "
        "it must start with author_id.",
    )
