"""Discrimination cases for notebook 02: every check fails the stub and the wrong answers,
and passes the reference and a different correct answer."""

from __future__ import annotations

import base64
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from labkit.lessons.n02_queries.fields import PUBLIC_USER_FIELDS, list_users_reference
from labkit.lessons.n02_queries.indexes import (
    add_comment_index_reference,
    add_feed_index_reference,
)
from labkit.lessons.n02_queries.n_plus_one import (
    users_with_posts_batched,
    users_with_posts_join,
    users_with_posts_n_plus_one,
)
from labkit.lessons.n02_queries.pagination import list_posts_keyset, list_posts_offset
from labkit.lessons.n02_queries.transactions import transaction_reference
from labkit.lessons.n02_queries.writes import (
    INSERT_COMMENT,
    insert_comments_batched,
    insert_comments_per_row,
)
from tests.answers import Case


# ---- the released stubs (what a learner starts from) --------------------------------------------
async def stub(*args: Any, **kwargs: Any) -> Any:
    raise NotImplementedError()


@asynccontextmanager  # type: ignore[arg-type]  # the released stub has no yield
async def transaction_stub(db: Any) -> AsyncIterator[Any]:
    raise NotImplementedError()


# ---- 02.n_plus_one -------------------------------------------------------------------------------
async def users_with_posts_inner_join(db: Any, user_ids: Sequence[int]) -> list[dict[str, Any]]:
    """One statement, but an INNER JOIN drops users who have no posts."""
    marks = ", ".join("?" * len(user_ids))
    sql = (
        "SELECT u.id, u.name, p.id, p.title FROM users u JOIN posts p ON p.author_id = u.id "
        f"WHERE u.id IN ({marks}) ORDER BY p.id"
    )
    by_user: dict[int, dict[str, Any]] = {}
    async with db.execute(sql, list(user_ids)) as cur:
        for uid, name, post_id, title in await cur.fetchall():
            by_user.setdefault(uid, {"id": uid, "name": name, "posts": []})["posts"].append(
                {"id": post_id, "title": title}
            )
    return [by_user[uid] for uid in user_ids if uid in by_user]


_SNAPSHOT: dict[int, dict[str, Any]] = {}


async def users_with_posts_hard_coded(db: Any, user_ids: Sequence[int]) -> list[dict[str, Any]]:
    """Answers from a snapshot of the seed-42 data, whatever database it is given."""
    if not _SNAPSHOT:
        from labkit.data import fresh_copy

        con = sqlite3.connect(fresh_copy(size="tiny", seed=42))
        for uid, name in con.execute("SELECT id, name FROM users"):
            _SNAPSHOT[uid] = {"id": uid, "name": name, "posts": []}
        for pid, author, title in con.execute("SELECT id, author_id, title FROM posts ORDER BY id"):
            _SNAPSHOT[author]["posts"].append({"id": pid, "title": title})
        con.close()
    return [_SNAPSHOT[uid] for uid in user_ids if uid in _SNAPSHOT]


# ---- 02.select_fields ----------------------------------------------------------------------------
_COLUMNS = {name: name for name in PUBLIC_USER_FIELDS}


async def list_users_mapping(db: Any, fields: str | None = None, limit: int = 20) -> list[dict]:
    """A different correct answer: a public-name -> column mapping, rows read by name."""
    wanted = [f.strip() for f in (fields or "").split(",") if f.strip()] or ["id", "name"]
    for name in wanted:
        if name not in _COLUMNS:
            raise ValueError(f"unknown field: {name}")
    wanted = list(dict.fromkeys(wanted))
    columns = ", ".join(f'"{_COLUMNS[n]}" AS "{n}"' for n in wanted)
    async with db.execute(f"SELECT {columns} FROM users ORDER BY id LIMIT ?", (limit,)) as cur:
        return [{n: row[n] for n in wanted} for row in await cur.fetchall()]


async def list_users_select_star(db: Any, fields: str | None = None, limit: int = 20) -> list:
    """Whitelisted, but reads every column and filters in Python."""
    wanted = [f.strip() for f in (fields or "").split(",") if f.strip()] or ["id", "name"]
    for name in wanted:
        if name not in PUBLIC_USER_FIELDS:
            raise ValueError(name)
    async with db.execute("SELECT * FROM users ORDER BY id LIMIT ?", (limit,)) as cur:
        return [{n: row[n] for n in wanted} for row in await cur.fetchall()]


async def list_users_interpolated(db: Any, fields: str | None = None, limit: int = 20) -> list:
    """No whitelist: the caller's text goes straight into SQL."""
    text = fields if fields and fields.strip() else "id, name"
    async with db.execute(f"SELECT {text} FROM users ORDER BY id LIMIT ?", (limit,)) as cur:
        rows = await cur.fetchall()
        names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in rows]


async def list_users_blacklist(db: Any, fields: str | None = None, limit: int = 20) -> list:
    """Blocks the known-bad name `email`, then formats the rest into SQL."""
    wanted = [f.strip() for f in (fields or "").split(",") if f.strip()] or ["id", "name"]
    if "email" in wanted:
        raise ValueError("email is private")
    wanted = list(dict.fromkeys(wanted))
    async with db.execute(
        f"SELECT {', '.join(wanted)} FROM users ORDER BY id LIMIT ?", (limit,)
    ) as c:
        rows = await c.fetchall()
        names = [d[0] for d in c.description]
    return [dict(zip(names, row, strict=True)) for row in rows]


# ---- 02.index ------------------------------------------------------------------------------------
async def comment_index_covering(db: Any) -> None:
    await db.execute("CREATE INDEX ix_comments_post_cover ON comments(post_id, user_id, body)")
    await db.commit()


async def comment_index_wrong_column(db: Any) -> None:
    await db.execute("CREATE INDEX ix_comments_user ON comments(user_id)")
    await db.commit()


async def comment_index_wrong_order(db: Any) -> None:
    await db.execute("CREATE INDEX ix_comments_created_post ON comments(created_at, post_id)")
    await db.commit()


async def comment_index_never_created(db: Any) -> None:
    await db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")


# ---- 02.feed_index -------------------------------------------------------------------------------
async def feed_index_partial(db: Any) -> None:
    await db.execute(
        "CREATE INDEX ix_feed_published ON posts(author_id, created_at) WHERE status = 'published'"
    )
    await db.commit()


async def feed_index_three_columns(db: Any) -> None:
    await db.execute("CREATE INDEX ix_feed3 ON posts(author_id, status, created_at DESC)")
    await db.commit()


async def feed_index_author_only(db: Any) -> None:
    await db.execute("CREATE INDEX ix_posts_author ON posts(author_id)")
    await db.commit()


async def feed_index_created_only(db: Any) -> None:
    await db.execute("CREATE INDEX ix_posts_created ON posts(created_at)")
    await db.commit()


async def feed_index_status_created(db: Any) -> None:
    await db.execute("CREATE INDEX ix_posts_status_created ON posts(status, created_at DESC)")
    await db.commit()


# ---- 02.keyset_page ------------------------------------------------------------------------------
async def list_posts_token(db: Any, limit: int = 20, cursor: str | None = None) -> dict:
    """Keyset with an opaque base64 token, and an EXISTS probe instead of limit + 1."""
    limit = min(max(limit, 1), 100)
    after = int(base64.urlsafe_b64decode(cursor).decode()) if cursor else 0
    async with db.execute(
        "SELECT id, title FROM posts WHERE id > ? ORDER BY id LIMIT ?", (after, limit)
    ) as cur:
        items = [{"id": r["id"], "title": r["title"]} for r in await cur.fetchall()]
    last = items[-1]["id"] if items else after
    async with db.execute("SELECT EXISTS (SELECT 1 FROM posts WHERE id > ?)", (last,)) as cur:
        has_more = bool((await cur.fetchone())[0])
    token = base64.urlsafe_b64encode(str(last).encode()).decode() if has_more else None
    return {"items": items, "has_more": has_more, "next_cursor": token}


async def list_posts_has_more_by_length(db: Any, limit: int = 20, cursor: Any = None) -> dict:
    """Keyset, but guesses has_more from a full page (wrong when the last page is full)."""
    limit = min(limit, 100)
    async with db.execute(
        "SELECT id, title FROM posts WHERE id > ? ORDER BY id LIMIT ?", (cursor or 0, limit)
    ) as cur:
        items = [{"id": r[0], "title": r[1]} for r in await cur.fetchall()]
    has_more = len(items) == limit
    return {
        "items": items,
        "has_more": has_more,
        "next_cursor": items[-1]["id"] if has_more else None,
    }


async def list_posts_uncapped(db: Any, limit: int = 20, cursor: Any = None) -> dict:
    """Keyset and limit + 1, but any page size is accepted."""
    async with db.execute(
        "SELECT id, title FROM posts WHERE id > ? ORDER BY id LIMIT ?", (cursor or 0, limit + 1)
    ) as cur:
        rows = await cur.fetchall()
    items = [{"id": r[0], "title": r[1]} for r in rows[:limit]]
    more = len(rows) > limit
    return {"items": items, "has_more": more, "next_cursor": items[-1]["id"] if more else None}


async def list_posts_slice_in_python(db: Any, limit: int = 20, cursor: Any = None) -> dict:
    """Reads the whole table on every page and slices in Python."""
    limit = min(limit, 100)
    async with db.execute("SELECT id, title FROM posts ORDER BY id") as cur:
        rows = [{"id": r[0], "title": r[1]} for r in await cur.fetchall()]
    rest = [r for r in rows if r["id"] > (cursor or 0)]
    items = rest[:limit]
    more = len(rest) > limit
    return {"items": items, "has_more": more, "next_cursor": items[-1]["id"] if more else None}


# ---- 02.batch_insert -----------------------------------------------------------------------------
async def insert_comments_loop_one_commit(db: Any, rows: Sequence[tuple]) -> None:
    """A different correct answer: a loop of INSERTs in one explicit transaction."""
    await db.execute("BEGIN")
    for row in rows:
        await db.execute(INSERT_COMMENT, row)
    await db.commit()


async def insert_comments_in_chunks(db: Any, rows: Sequence[tuple]) -> None:
    """executemany, but committing every 25 rows: several transactions."""
    rows = list(rows)
    for start in range(0, len(rows), 25):
        await db.executemany(INSERT_COMMENT, rows[start : start + 25])
        await db.commit()


async def insert_comments_never_committed(db: Any, rows: Sequence[tuple]) -> None:
    await db.executemany(INSERT_COMMENT, list(rows))


# ---- 02.transaction ------------------------------------------------------------------------------
class TransactionClass:
    """A different correct answer: a class with __aenter__/__aexit__."""

    def __init__(self, db: Any) -> None:
        self.db = db

    async def __aenter__(self) -> Any:
        await self.db.execute("BEGIN")
        return self.db

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> bool:
        if exc_type is None:
            await self.db.commit()
        else:
            await self.db.rollback()
        return False


@asynccontextmanager
async def transaction_always_commits(db: Any) -> AsyncIterator[Any]:
    try:
        yield db
    finally:
        await db.commit()


@asynccontextmanager
async def transaction_swallows(db: Any) -> AsyncIterator[Any]:
    try:
        yield db
        await db.commit()
    except Exception:
        await db.rollback()


@asynccontextmanager
async def transaction_never_commits(db: Any) -> AsyncIterator[Any]:
    try:
        yield db
    except Exception:
        await db.rollback()
        raise


CASES = {
    "02.n_plus_one": Case(
        stub=(stub,),
        reference=(users_with_posts_batched,),
        alternatives=[(users_with_posts_join,)],
        wrong={
            "n_plus_one": (users_with_posts_n_plus_one,),
            "inner_join_drops_users": (users_with_posts_inner_join,),
            "hard_coded_seed_42": (users_with_posts_hard_coded,),
        },
    ),
    "02.select_fields": Case(
        stub=(stub,),
        reference=(list_users_reference,),
        alternatives=[(list_users_mapping,)],
        wrong={
            "select_star": (list_users_select_star,),
            "interpolated": (list_users_interpolated,),
            "blacklist": (list_users_blacklist,),
        },
    ),
    "02.index": Case(
        stub=(stub,),
        reference=(add_comment_index_reference,),
        alternatives=[(comment_index_covering,)],
        wrong={
            "wrong_column": (comment_index_wrong_column,),
            "wrong_leading_column": (comment_index_wrong_order,),
            "never_created": (comment_index_never_created,),
        },
    ),
    "02.feed_index": Case(
        stub=(stub,),
        reference=(feed_index_partial,),
        alternatives=[(add_feed_index_reference,), (feed_index_three_columns,)],
        wrong={
            "author_only_sorts": (feed_index_author_only,),
            "created_only_scans": (feed_index_created_only,),
            "status_first_visits_too_much": (feed_index_status_created,),
        },
    ),
    "02.keyset_page": Case(
        stub=(stub,),
        reference=(list_posts_keyset,),
        alternatives=[(list_posts_token,)],
        wrong={
            "offset": (list_posts_offset,),
            "has_more_by_length": (list_posts_has_more_by_length,),
            "uncapped": (list_posts_uncapped,),
            "slice_in_python": (list_posts_slice_in_python,),
        },
    ),
    "02.batch_insert": Case(
        stub=(stub,),
        reference=(insert_comments_batched,),
        alternatives=[(insert_comments_loop_one_commit,)],
        wrong={
            "commit_per_row": (insert_comments_per_row,),
            "commit_per_chunk": (insert_comments_in_chunks,),
            "never_committed": (insert_comments_never_committed,),
        },
    ),
    "02.transaction": Case(
        stub=(transaction_stub,),
        reference=(transaction_reference,),
        alternatives=[(TransactionClass,)],
        wrong={
            "always_commits": (transaction_always_commits,),
            "swallows_exception": (transaction_swallows,),
            "never_commits": (transaction_never_commits,),
        },
    ),
}
