"""Limit related rows per parent: each user's k newest posts, in one statement.

"Users with their 3 latest posts" is N+1 again if written as one ``LIMIT 3`` query per user,
and a waste if written as one query for *all* their posts sliced in Python: a prolific author
ships hundreds of rows to keep three. A window function numbers each author's posts
(``ROW_NUMBER() OVER (PARTITION BY author_id ORDER BY created_at DESC, id DESC)``) so the
database returns only the first k of each; a correlated ``LIMIT`` sub-query does the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from labkit.grading import exercise, reference_answer
from labkit.lessons.n02_queries.fixtures import (
    fetch_all,
    lock_out_other_connections,
    rng_for,
    trusted_instruments,
)

if TYPE_CHECKING:
    from labkit.grading import Grader

LatestPosts = dict[int, list[dict[str, Any]]]


@reference_answer
async def latest_posts_window(db: Any, user_ids: Sequence[int], k: int) -> LatestPosts:
    """Each user's ``k`` newest posts (ties: higher id first), one statement."""
    ids = list(user_ids)
    found: LatestPosts = {uid: [] for uid in ids}
    if not ids:
        return found
    marks = ", ".join("?" * len(ids))
    sql = (
        "SELECT author_id, id, title FROM ("
        "  SELECT author_id, id, title, ROW_NUMBER() OVER ("
        "    PARTITION BY author_id ORDER BY created_at DESC, id DESC) AS n"
        f"  FROM posts WHERE author_id IN ({marks})"
        ") WHERE n <= ? ORDER BY author_id, n"
    )
    for author_id, post_id, title in await fetch_all(db, sql, (*ids, k)):
        found[author_id].append({"id": post_id, "title": title})
    return found


async def pick_authors(db: Any, seed: int, salt: str, how_many: int) -> list[int]:
    """Prolific authors (so the k newest are a small share of their posts) in seeded order,
    and one user without posts."""
    rows = await fetch_all(
        db,
        "SELECT u.id, COUNT(p.id) AS n FROM users u LEFT JOIN posts p ON p.author_id = u.id "
        "GROUP BY u.id ORDER BY n DESC, u.id",
    )
    rng = rng_for(seed, f"latest_posts:{salt}")
    prolific = rng.sample([uid for uid, _ in rows[: 2 * how_many]], how_many)
    quiet = [uid for uid, n in rows if n == 0]
    if quiet:
        prolific.insert(rng.randrange(len(prolific) + 1), rng.choice(quiet))
    return prolific


async def add_ties(db: Any, user_ids: list[int]) -> None:
    """Give each author's two newest posts the same created_at: the id must break the tie."""
    for uid in user_ids:
        newest = await fetch_all(
            db,
            "SELECT id, created_at FROM posts WHERE author_id = ? "
            "ORDER BY created_at DESC, id DESC LIMIT 2",
            (uid,),
        )
        if len(newest) == 2:
            await db.execute(
                "UPDATE posts SET created_at = ? WHERE id = ?", (newest[0][1], newest[1][0])
            )
    await db.commit()


@exercise(
    "02.latest_posts",
    title="Each user's k newest posts in one statement",
    answers=("latest_posts",),
    hint=(
        "Number each author's posts newest first with ROW_NUMBER() OVER (PARTITION BY "
        "author_id ORDER BY created_at DESC, id DESC) and keep the rows numbered ≤ k — or "
        "select posts whose id is IN a per-author `ORDER BY ... LIMIT k` sub-query."
    ),
    points=2,
    timeout=15.0,
)
async def grade_latest_posts(g: Grader, latest_posts: Any) -> None:
    from labkit.db import connect, statement_log

    path = g.dataset("tiny")
    async with connect(path) as db:
        await add_no_post_user(db)
        authors = await pick_authors(db, g.seed, "ties", 6)
        await add_ties(db, authors)
    k_first = 2 + g.seed % 3
    # Two requests, fresh connections, different users and k: nothing may carry over.
    for n, (k, salt, how_many) in enumerate(((k_first, "a", 8), (k_first + 2, "b", 5)), 1):
        async with connect(path) as db:
            await lock_out_other_connections(db)
            ids = await pick_authors(db, g.seed, salt, how_many)
            expected = await latest_posts_window(db, ids, k)
            with trusted_instruments(), statement_log(db) as log:
                got = await g.acall(latest_posts, db, ids, k)
            with trusted_instruments():
                statements = max(log.count, log.calls or 0)
                rows = log.rows_fetched or 0
        g.expect_equal(
            got,
            expected,
            what=f"latest_posts(db, {len(ids)} users, k={k})",
            hint="Newest first (created_at DESC, then id DESC for ties), at most k per user, and "
            "every requested user present — `[]` for a user without posts.",
        )
        g.expect(
            statements >= 1,
            "your answer returned posts but sent no statement through the `db` it was given",
        )
        returned = sum(len(posts) for posts in expected.values())
        g.measure(
            f"SQL statements (request {n})",
            statements,
            target="≤ 2",
            ok=statements <= 2,
            hint="One query per user is N+1 again: rank every user's posts in one statement.",
        )
        allowed = returned + len(ids)
        g.measure(
            f"rows fetched to return {returned} posts (request {n})",
            rows,
            target=f"≤ {allowed}",
            ok=rows <= allowed,
            hint="The database sent every post of these users and Python kept k: let SQL keep "
            "only the k newest per user (a window function, or a LIMIT sub-query per author).",
        )


async def add_no_post_user(db: Any) -> None:
    """A user who has written nothing (must come back with ``[]``)."""
    await db.execute(
        "INSERT INTO users (id, name, email, tier, is_active, country, bio, created_at) "
        "SELECT MAX(id) + 1, 'Quiet Reader', 'quiet@example.com', 'free', 1, 'NZ', '', 0 "
        "FROM users"
    )
    await db.commit()
