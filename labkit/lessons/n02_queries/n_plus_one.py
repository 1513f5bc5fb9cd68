"""N+1 queries: one query for the users, then one more per user for their posts.

Three ways to load "these users with their posts": the N+1 loop (1 + N statements), an eager
LEFT JOIN (1 statement) and a batched ``WHERE author_id IN (...)`` (2 statements). All three
return the same rows; under a simulated network round trip only the last two stay fast.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from labkit.grading import exercise
from labkit.lessons.n02_queries._scenario import rng_for

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


async def pick_user_ids(db: Any, seed: int, k: int = 25) -> list[int]:
    """``k`` existing users in a seed-dependent order, plus one with no posts, somewhere inside."""
    async with db.execute("SELECT id FROM users ORDER BY id") as cur:
        all_ids = [row[0] for row in await cur.fetchall()]
    rng = rng_for(seed, "n_plus_one")
    ids = rng.sample(all_ids, min(k, len(all_ids)))
    quiet = await add_user_without_posts(db)
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
    timeout=15.0,
)
def grade_n_plus_one(g: Grader, users_with_posts: Any) -> None:
    from labkit.db import connect, statement_log

    path = g.dataset("tiny")

    async def scenario() -> tuple[list[UserWithPosts], list[UserWithPosts], int]:
        async with connect(path) as db:
            ids = await pick_user_ids(db, g.seed)
            expected = await users_with_posts_join(db, ids)
            with statement_log(db) as log:
                got = await g.acall(users_with_posts, db, ids)
            return got, expected, log.count

    got, expected, statements = g.run(scenario())
    g.expect_equal(
        got,
        expected,
        what="users with their posts",
        hint="One dict per requested user, in the order asked, users without posts included "
        "(`posts: []`) — a plain JOIN drops them, a LEFT JOIN keeps them.",
    )
    g.measure(
        "SQL statements",
        statements,
        target="≤ 2",
        ok=statements <= 2,
        hint=f"{statements} statements for {len(expected)} users: one query per user is the "
        "N+1 pattern. Fetch all their posts in one query.",
    )
