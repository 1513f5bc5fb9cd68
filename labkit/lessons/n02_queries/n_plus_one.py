"""N+1 queries: one query for the users, then one more per user for their posts.

Three ways to load "these users with their posts": the N+1 loop (1 + N statements), an eager
LEFT JOIN (1 statement) and a batched ``WHERE author_id IN (...)`` (2 statements). All three
return the same rows; under a simulated network round trip only the last two stay fast.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from labkit.grading import exercise, reference_answer
from labkit.lessons.n02_queries.fixtures import (
    lock_out_other_connections,
    rng_for,
    trusted_instruments,
)

if TYPE_CHECKING:
    from labkit.grading import Grader

UserWithPosts = dict[str, Any]


def _placeholders(n: int) -> str:
    return ", ".join("?" * n)


async def users_with_posts_n_plus_one(db: Any, user_ids: Sequence[int]) -> list[UserWithPosts]:
    """The slow shape: one query for the users, then one query per user."""
    ids = list(user_ids)
    if not ids:
        return []
    sql = f"SELECT id, name FROM users WHERE id IN ({_placeholders(len(ids))})"
    async with db.execute(sql, ids) as cur:
        names = {row[0]: row[1] for row in await cur.fetchall()}
    result = []
    for uid in ids:
        if uid not in names:
            continue
        async with db.execute(
            "SELECT id, title FROM posts WHERE author_id = ? ORDER BY id", (uid,)
        ) as cur:
            posts = [{"id": r[0], "title": r[1]} for r in await cur.fetchall()]
        result.append({"id": uid, "name": names[uid], "posts": posts})
    return result


@reference_answer
async def users_with_posts_join(db: Any, user_ids: Sequence[int]) -> list[UserWithPosts]:
    """Eager loading: one LEFT JOIN; users without posts come back with an empty list."""
    ids = list(user_ids)
    if not ids:
        return []
    sql = (
        "SELECT u.id, u.name, p.id, p.title FROM users u "
        "LEFT JOIN posts p ON p.author_id = u.id "
        f"WHERE u.id IN ({_placeholders(len(ids))}) ORDER BY u.id, p.id"
    )
    by_user: dict[int, UserWithPosts] = {}
    async with db.execute(sql, ids) as cur:
        for uid, name, post_id, title in await cur.fetchall():
            user = by_user.setdefault(uid, {"id": uid, "name": name, "posts": []})
            if post_id is not None:
                user["posts"].append({"id": post_id, "title": title})
    return [by_user[uid] for uid in ids if uid in by_user]


@reference_answer
async def users_with_posts_batched(db: Any, user_ids: Sequence[int]) -> list[UserWithPosts]:
    """Batching: one query for the users, one ``IN (...)`` query for all their posts."""
    ids = list(user_ids)
    if not ids:
        return []
    marks = _placeholders(len(ids))
    async with db.execute(f"SELECT id, name FROM users WHERE id IN ({marks})", ids) as cur:
        names = {row[0]: row[1] for row in await cur.fetchall()}
    posts: dict[int, list[dict[str, Any]]] = {uid: [] for uid in names}
    sql = f"SELECT author_id, id, title FROM posts WHERE author_id IN ({marks}) ORDER BY id"
    async with db.execute(sql, ids) as cur:
        for author_id, post_id, title in await cur.fetchall():
            posts[author_id].append({"id": post_id, "title": title})
    return [{"id": uid, "name": names[uid], "posts": posts[uid]} for uid in ids if uid in names]


async def add_user_without_posts(db: Any) -> int:
    """Insert a user who has written nothing (an INNER JOIN would lose them); return the id."""
    async with db.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM users") as cur:
        row = await cur.fetchone()
    new_id = int(row[0])
    await db.execute(
        "INSERT INTO users (id, name, email, tier, is_active, country, bio, created_at) "
        "VALUES (?, 'Quiet Reader', 'quiet@example.com', 'free', 1, 'NZ', '', 0)",
        (new_id,),
    )
    await db.commit()
    return new_id


async def pick_user_ids(db: Any, seed: int, k: int, quiet: int) -> list[int]:
    """``k`` existing users in a seed-dependent order, and ``quiet`` (no posts) among them."""
    async with db.execute("SELECT id FROM users WHERE id <> ? ORDER BY id", (quiet,)) as cur:
        all_ids = [row[0] for row in await cur.fetchall()]
    rng = rng_for(seed, f"n_plus_one:{k}")
    ids = rng.sample(all_ids, min(k, len(all_ids)))
    ids.insert(rng.randrange(len(ids) + 1), quiet)
    return ids


@exercise(
    "02.n_plus_one",
    title="Users with their posts, without N+1",
    answers=("users_with_posts",),
    hint=(
        "Load every post of these users at once — a LEFT JOIN, or one "
        "`WHERE author_id IN (...)` query — and group the rows in Python."
    ),
    points=2,
    timeout=20.0,
)
async def grade_n_plus_one(g: Grader, users_with_posts: Any) -> None:
    from labkit.db import connect, statement_log

    path = g.dataset("tiny")
    # Three requests per attempt, each on a fresh connection: two of the same size with
    # different users, then a smaller one. An answer that remembers an earlier result (by
    # length, by ids) or opens a connection of its own fails.
    big, small = 25 + g.seed % 6, 4 + g.seed % 5
    for n, k in enumerate((big, big, small)):
        async with connect(path) as db:
            quiet = await add_user_without_posts(db)
            await lock_out_other_connections(db)
            ids = await pick_user_ids(db, g.seed + n, k, quiet)
            expected = await users_with_posts_join(db, ids)
            with trusted_instruments(), statement_log(db) as log:
                got = await g.acall(users_with_posts, db, ids)
            with trusted_instruments():
                # two counts from independent code: statements SQLite traced, calls made
                statements = max(log.count, log.calls or 0)
        g.expect_equal(
            got,
            expected,
            what=f"users with their posts, for {len(ids)} users",
            hint="One dict per requested user, in the order asked, users without posts "
            "included (`posts: []`) — a plain JOIN drops them, a LEFT JOIN keeps them.",
        )
        # The answer returned rows, so it asked the database for them: zero statements on `db`
        # means they were fetched where the log cannot see (a cache, another connection).
        g.expect(
            statements >= 1,
            f"your answer returned {len(expected)} users but sent no statement through the "
            "`db` it was given: query that connection (no cached or copied data)",
        )
        g.measure(
            f"SQL statements for {len(ids)} users (call {n + 1})",
            statements,
            target="≤ 2",
            ok=statements <= 2,
            hint=f"{statements} statements for {len(expected)} users: one query per user is "
            "the N+1 pattern. Fetch all their posts in one query.",
        )
