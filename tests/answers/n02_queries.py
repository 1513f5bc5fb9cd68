"""Discrimination cases for notebook 02: every check fails the stub and the wrong answers,
and passes the reference and a different correct answer.

Wrong answers cover, per exercise where they apply: constants from the default seed, state kept
between calls, blinding the instrument (trace callback, progress handler, labkit's counters,
another connection) and the semantic mistakes of each technique.
"""

from __future__ import annotations

import base64
import sqlite3
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from typing import Any

from labkit.db import statement_log
from labkit.lessons.n02_queries.fields import PUBLIC_USER_FIELDS
from labkit.lessons.n02_queries.n_plus_one import users_with_posts_n_plus_one
from labkit.lessons.n02_queries.pagination import list_posts_offset
from labkit.lessons.n02_queries.statement_budget import users_with_posts_inner_join
from labkit.lessons.n02_queries.writes import INSERT_COMMENT, insert_comments_per_row
from tests.answers import Case

# The references below are the solution notebook's answers, written out here: labkit's own
# reference functions are marked, and a check answers "not yet" when they are handed in.


# ---- the released stubs (what a learner starts from) --------------------------------------------
async def stub(*args: Any, **kwargs: Any) -> Any:
    raise NotImplementedError()


@asynccontextmanager  # type: ignore[arg-type]  # the released stub has no yield
async def transaction_stub(db: Any) -> AsyncIterator[Any]:
    raise NotImplementedError()


# ---- answers that blind an instrument or work around `db` ---------------------------------------
async def _database_file(db: Any) -> str:
    async with db.execute("PRAGMA database_list") as cur:
        return str((await cur.fetchall())[0][2])


# ---- 02.n_plus_one -------------------------------------------------------------------------------
async def users_with_posts_solution(db: Any, user_ids: Sequence[int]) -> list[dict[str, Any]]:
    """The solution notebook's answer: one query for the users, one IN (...) for their posts."""
    ids = list(user_ids)
    if not ids:
        return []
    marks = ", ".join("?" * len(ids))
    async with db.execute(f"SELECT id, name FROM users WHERE id IN ({marks})", ids) as cur:
        names = {uid: name for uid, name in await cur.fetchall()}
    posts: dict[int, list[dict[str, Any]]] = {uid: [] for uid in names}
    async with db.execute(
        f"SELECT author_id, id, title FROM posts WHERE author_id IN ({marks}) ORDER BY id", ids
    ) as cur:
        for author_id, post_id, title in await cur.fetchall():
            posts[author_id].append({"id": post_id, "title": title})
    return [{"id": uid, "name": names[uid], "posts": posts[uid]} for uid in ids if uid in names]


async def users_with_posts_left_join(db: Any, user_ids: Sequence[int]) -> list[dict[str, Any]]:
    """A different correct answer: one LEFT JOIN."""
    ids = list(user_ids)
    marks = ", ".join("?" * len(ids))
    sql = (
        "SELECT u.id, u.name, p.id, p.title FROM users u LEFT JOIN posts p ON p.author_id = u.id "
        f"WHERE u.id IN ({marks}) ORDER BY u.id, p.id"
    )
    by_user: dict[int, dict[str, Any]] = {}
    async with db.execute(sql, ids) as cur:
        for uid, name, post_id, title in await cur.fetchall():
            user = by_user.setdefault(uid, {"id": uid, "name": name, "posts": []})
            if post_id is not None:
                user["posts"].append({"id": post_id, "title": title})
    return [by_user[uid] for uid in ids if uid in by_user]


async def users_with_posts_json(db: Any, user_ids: Sequence[int]) -> list[dict[str, Any]]:
    """A different correct answer: one statement, posts aggregated by SQLite's JSON functions."""
    import json

    ids = list(user_ids)
    marks = ", ".join("?" * len(ids))
    sql = (
        "SELECT u.id, u.name, (SELECT json_group_array(json_object('id', p.id, 'title', p.title)) "
        "FROM (SELECT id, title FROM posts WHERE author_id = u.id ORDER BY id) p) "
        f"FROM users u WHERE u.id IN ({marks})"
    )
    async with db.execute(sql, ids) as cur:
        found = {
            uid: {"id": uid, "name": name, "posts": json.loads(posts)}
            for uid, name, posts in await cur.fetchall()
        }
    return [found[uid] for uid in ids if uid in found]


async def users_with_posts_blind_trace(db: Any, user_ids: Sequence[int]) -> list[dict[str, Any]]:
    """N+1, with the trace callback switched off first (the log would read 0 statements)."""
    await db.set_trace_callback(None)
    return await users_with_posts_n_plus_one(db, user_ids)


async def users_with_posts_side_connection(
    db: Any, user_ids: Sequence[int]
) -> list[dict[str, Any]]:
    """N+1 on a connection of its own, where the statement log on `db` cannot see it."""
    con = sqlite3.connect(await _database_file(db), timeout=0.2)
    try:
        out = []
        for uid in user_ids:
            row = con.execute("SELECT name FROM users WHERE id = ?", (uid,)).fetchone()
            if row is None:
                continue
            posts = con.execute(
                "SELECT id, title FROM posts WHERE author_id = ? ORDER BY id", (uid,)
            ).fetchall()
            out.append(
                {"id": uid, "name": row[0], "posts": [{"id": i, "title": t} for i, t in posts]}
            )
        return out
    finally:
        con.close()


_BY_LENGTH: dict[int, list[dict[str, Any]]] = {}


async def users_with_posts_memo_by_length(db: Any, user_ids: Sequence[int]) -> list[dict]:
    """Correct SQL, but remembers results by how many users were asked for."""
    if len(user_ids) not in _BY_LENGTH:
        _BY_LENGTH[len(user_ids)] = await users_with_posts_solution(db, user_ids)
    return _BY_LENGTH[len(user_ids)]


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
async def list_users_solution(db: Any, fields: str | None = None, limit: int = 20) -> list[dict]:
    """The solution notebook's answer."""
    names: list[str] = []
    for raw in (fields or "").split(","):
        name = raw.strip()
        if not name:
            continue
        if name not in PUBLIC_USER_FIELDS:
            raise ValueError(f"unknown field {name!r}")
        if name not in names:
            names.append(name)
    names = names or ["id", "name"]
    sql = f"SELECT {', '.join(names)} FROM users ORDER BY id LIMIT ?"
    async with db.execute(sql, (limit,)) as cur:
        return [dict(zip(names, row, strict=True)) for row in await cur.fetchall()]


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
async def comment_index_solution(db: Any) -> None:
    await db.execute("CREATE INDEX IF NOT EXISTS idx_comments_post ON comments(post_id)")
    await db.commit()


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
async def feed_index_composite(db: Any) -> None:
    await db.execute("CREATE INDEX ix_feed_composite ON posts(author_id, created_at DESC)")
    await db.commit()


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
async def list_posts_solution(db: Any, limit: int = 20, cursor: Any = None) -> dict:
    """The solution notebook's answer."""
    limit = max(1, min(int(limit), 100))
    after = cursor or 0
    async with db.execute(
        "SELECT id, title FROM posts WHERE id > ? ORDER BY id LIMIT ?", (after, limit + 1)
    ) as cur:
        rows = await cur.fetchall()
    items = [{"id": r[0], "title": r[1]} for r in rows[:limit]]
    has_more = len(rows) > limit
    return {
        "items": items,
        "has_more": has_more,
        "next_cursor": items[-1]["id"] if has_more else None,
    }


async def list_posts_fetch_all_helper(db: Any, limit: int = 20, cursor: Any = None) -> dict:
    """A different correct answer: execute_fetchall, a (last_id) tuple cursor."""
    limit = min(max(1, limit), 100)
    after = cursor[0] if cursor else 0
    rows = await db.execute_fetchall(
        "SELECT id, title FROM posts WHERE id > :after ORDER BY id ASC LIMIT :n",
        {"after": after, "n": limit + 1},
    )
    items = [{"id": r[0], "title": r[1]} for r in list(rows)[:limit]]
    more = len(rows) > limit
    return {"items": items, "has_more": more, "next_cursor": (items[-1]["id"],) if more else None}


async def list_posts_501_then_slice(db: Any, limit: int = 20, cursor: Any = None) -> dict:
    """Keyset, but asks SQLite for limit + 1 rows before capping (501 for limit=500)."""
    async with db.execute(
        "SELECT id, title FROM posts WHERE id > ? ORDER BY id LIMIT ?", (cursor or 0, limit + 1)
    ) as cur:
        rows = await cur.fetchall()
    limit = min(limit, 100)
    items = [{"id": r[0], "title": r[1]} for r in rows[:limit]]
    more = len(rows) > limit
    return {"items": items, "has_more": more, "next_cursor": items[-1]["id"] if more else None}


async def list_posts_limit_comma(db: Any, limit: int = 20, cursor: Any = None) -> dict:
    """OFFSET without the word: LIMIT skip, count."""
    limit = min(limit, 100)
    skip = cursor or 0
    async with db.execute(
        f"SELECT id, title FROM posts ORDER BY id LIMIT {int(skip)}, {limit + 1}"
    ) as cur:
        rows = await cur.fetchall()
    items = [{"id": r[0], "title": r[1]} for r in rows[:limit]]
    more = len(rows) > limit
    return {"items": items, "has_more": more, "next_cursor": skip + limit if more else None}


async def list_posts_id_arithmetic(db: Any, limit: int = 20, cursor: Any = None) -> dict:
    """Pages by id range (id > c AND id <= c + limit): wrong as soon as ids have gaps."""
    limit = min(limit, 100)
    after = cursor or 0
    async with db.execute(
        "SELECT id, title FROM posts WHERE id > ? AND id <= ? ORDER BY id", (after, after + limit)
    ) as cur:
        items = [{"id": r[0], "title": r[1]} for r in await cur.fetchall()]
    async with db.execute(
        "SELECT EXISTS (SELECT 1 FROM posts WHERE id > ?)", (after + limit,)
    ) as c:
        more = bool((await c.fetchone())[0])
    return {"items": items, "has_more": more, "next_cursor": after + limit if more else None}


async def list_posts_blind_steps(db: Any, limit: int = 20, cursor: Any = None) -> dict:
    """OFFSET pages, with SQLite's progress handler switched off (VM steps would read 0)."""
    await db.set_progress_handler(None, 1)
    return await list_posts_offset(db, limit, cursor)


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
async def insert_comments_solution(db: Any, rows: Sequence[tuple]) -> None:
    """The solution notebook's answer."""
    await db.executemany(INSERT_COMMENT, rows)
    await db.commit()


async def insert_comments_multi_row_values(db: Any, rows: Sequence[tuple]) -> None:
    """A different correct answer: one INSERT with many VALUES tuples, explicit BEGIN/COMMIT."""
    rows = list(rows)
    values = ", ".join("(?, ?, ?, ?)" for _ in rows)
    await db.execute("BEGIN")
    await db.execute(
        f"INSERT INTO comments (post_id, user_id, body, created_at) VALUES {values}",
        [v for row in rows for v in row],
    )
    await db.execute("COMMIT")


_WITH_INSERT = (
    "WITH v(p, u, b, c) AS (VALUES (?, ?, ?, ?)) "
    "INSERT INTO comments (post_id, user_id, body, created_at) SELECT p, u, b, c FROM v"
)


async def insert_comments_with_per_row(db: Any, rows: Sequence[tuple]) -> None:
    """Per-row autocommit hidden behind WITH ... INSERT, then one empty transaction."""
    for row in rows:
        await db.execute(_WITH_INSERT, row)
        await db.commit()
    await db.execute("BEGIN")
    await db.commit()


async def insert_comments_one_script(db: Any, rows: Sequence[tuple]) -> None:
    """One executescript of many INSERTs: a script runs in autocommit, a transaction per row."""
    script = "".join(
        "INSERT INTO comments (post_id, user_id, body, created_at) VALUES "
        f"({p}, {u}, '{b.replace(chr(39), chr(39) * 2)}', {c});\n"
        for p, u, b, c in rows
    )
    await db.executescript(script)
    await db.commit()


async def insert_comments_blind_trace(db: Any, rows: Sequence[tuple]) -> None:
    """Commit per row, with the trace callback switched off first."""
    await db.set_trace_callback(None)
    await insert_comments_per_row(db, rows)


async def insert_comments_side_connection(db: Any, rows: Sequence[tuple]) -> None:
    """One transaction, but on a connection of its own: `db` sees no write at all."""
    con = sqlite3.connect(await _database_file(db), timeout=1.0)
    try:
        for row in rows:
            con.execute(INSERT_COMMENT, row)
            con.commit()
    finally:
        con.close()


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
@asynccontextmanager
async def transaction_solution(db: Any) -> AsyncIterator[Any]:
    """The solution notebook's answer."""
    try:
        yield db
    except BaseException:
        await db.rollback()
        raise
    else:
        await db.commit()


_FIRST_DB: list[Any] = []


@asynccontextmanager
async def transaction_keeps_first_db(db: Any) -> AsyncIterator[Any]:
    """Commits and rolls back the first connection it ever saw, not the one it is given."""
    if not _FIRST_DB:
        _FIRST_DB.append(db)
    kept = _FIRST_DB[0]
    try:
        yield db
    except BaseException:
        await kept.rollback()
        raise
    else:
        await kept.commit()


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
        reference=(users_with_posts_solution,),
        alternatives=[(users_with_posts_left_join,), (users_with_posts_json,)],
        wrong={
            "n_plus_one": (users_with_posts_n_plus_one,),
            "inner_join_drops_users": (users_with_posts_inner_join,),
            "hard_coded_seed_42": (users_with_posts_hard_coded,),
            "trace_switched_off": (users_with_posts_blind_trace,),
            "own_connection": (users_with_posts_side_connection,),
            "memo_by_length": (users_with_posts_memo_by_length,),
        },
    ),
    "02.select_fields": Case(
        stub=(stub,),
        reference=(list_users_solution,),
        alternatives=[(list_users_mapping,)],
        wrong={
            "select_star": (list_users_select_star,),
            "interpolated": (list_users_interpolated,),
            "blacklist": (list_users_blacklist,),
        },
    ),
    "02.index": Case(
        stub=(stub,),
        reference=(comment_index_solution,),
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
        alternatives=[(feed_index_composite,), (feed_index_three_columns,)],
        wrong={
            "author_only_sorts": (feed_index_author_only,),
            "created_only_scans": (feed_index_created_only,),
            "status_first_visits_too_much": (feed_index_status_created,),
        },
    ),
    "02.keyset_page": Case(
        stub=(stub,),
        reference=(list_posts_solution,),
        alternatives=[(list_posts_token,), (list_posts_fetch_all_helper,)],
        wrong={
            "offset": (list_posts_offset,),
            "has_more_by_length": (list_posts_has_more_by_length,),
            "uncapped": (list_posts_uncapped,),
            "slice_in_python": (list_posts_slice_in_python,),
            "asks_501_slices_100": (list_posts_501_then_slice,),
            "limit_skip_comma_count": (list_posts_limit_comma,),
            "id_arithmetic_with_gaps": (list_posts_id_arithmetic,),
            "progress_handler_switched_off": (list_posts_blind_steps,),
        },
    ),
    "02.batch_insert": Case(
        stub=(stub,),
        reference=(insert_comments_solution,),
        alternatives=[(insert_comments_loop_one_commit,), (insert_comments_multi_row_values,)],
        wrong={
            "commit_per_row": (insert_comments_per_row,),
            "commit_per_chunk": (insert_comments_in_chunks,),
            "never_committed": (insert_comments_never_committed,),
            "with_insert_per_row": (insert_comments_with_per_row,),
            "one_script_autocommits": (insert_comments_one_script,),
            "trace_switched_off": (insert_comments_blind_trace,),
            "own_connection": (insert_comments_side_connection,),
        },
    ),
    "02.transaction": Case(
        stub=(transaction_stub,),
        reference=(transaction_solution,),
        alternatives=[(TransactionClass,)],
        wrong={
            "always_commits": (transaction_always_commits,),
            "swallows_exception": (transaction_swallows,),
            "never_commits": (transaction_never_commits,),
            "keeps_first_connection": (transaction_keeps_first_db,),
        },
    ),
}


# ---- 02.partial_index ----------------------------------------------------------------------------
async def draft_index_solution(db: Any) -> None:
    await db.execute(
        "CREATE INDEX IF NOT EXISTS idx_drafts ON posts(created_at, id) WHERE status = 'draft'"
    )
    await db.commit()


async def draft_index_covering(db: Any) -> None:
    """A different correct answer: a covering partial index (every column the queue reads)."""
    await db.execute(
        "CREATE INDEX ix_drafts_cover ON posts(created_at, id, author_id, title) "
        "WHERE status = 'draft'"
    )
    await db.commit()


async def draft_index_full(db: Any) -> None:
    """Used, no sort — but it indexes every post, not just the drafts."""
    await db.execute("CREATE INDEX ix_status_created ON posts(status, created_at, id)")
    await db.commit()


async def draft_index_wrong_condition(db: Any) -> None:
    """Partial, but its condition is not the queue's: SQLite cannot use it."""
    await db.execute(
        "CREATE INDEX ix_unpublished ON posts(created_at, id) WHERE status <> 'published'"
    )
    await db.commit()


async def draft_index_wrong_column(db: Any) -> None:
    """Partial on the right rows, but on a column the queue does not sort by."""
    await db.execute("CREATE INDEX ix_drafts_author ON posts(author_id) WHERE status = 'draft'")
    await db.commit()


_CREATED_ONCE: list[bool] = []


async def draft_index_only_once(db: Any) -> None:
    """Remembers it already made the index, so the second database never gets one."""
    if not _CREATED_ONCE:
        await draft_index_solution(db)
        _CREATED_ONCE.append(True)


CASES["02.partial_index"] = Case(
    stub=(stub,),
    reference=(draft_index_solution,),
    alternatives=[(draft_index_covering,)],
    wrong={
        "full_index": (draft_index_full,),
        "condition_not_the_queries": (draft_index_wrong_condition,),
        "partial_on_wrong_column": (draft_index_wrong_column,),
        "created_only_once": (draft_index_only_once,),
    },
)


# ---- 02.latest_posts -----------------------------------------------------------------------------
async def latest_posts_solution(db: Any, user_ids: Sequence[int], k: int) -> dict:
    """The solution notebook's answer: ROW_NUMBER() per author."""
    found: dict[int, list[dict[str, Any]]] = {uid: [] for uid in user_ids}
    marks = ", ".join("?" * len(user_ids))
    sql = (
        "SELECT author_id, id, title FROM (SELECT author_id, id, title, ROW_NUMBER() OVER "
        "(PARTITION BY author_id ORDER BY created_at DESC, id DESC) AS n FROM posts "
        f"WHERE author_id IN ({marks})) WHERE n <= ? ORDER BY author_id, n"
    )
    async with db.execute(sql, (*user_ids, k)) as cur:
        for author_id, post_id, title in await cur.fetchall():
            found[author_id].append({"id": post_id, "title": title})
    return found


async def latest_posts_correlated(db: Any, user_ids: Sequence[int], k: int) -> dict:
    """A different correct answer: a correlated LIMIT sub-query per author."""
    found: dict[int, list[dict[str, Any]]] = {uid: [] for uid in user_ids}
    marks = ", ".join("?" * len(user_ids))
    sql = (
        "SELECT p.author_id, p.id, p.title FROM posts p "
        f"WHERE p.author_id IN ({marks}) AND p.id IN (SELECT q.id FROM posts q "
        "WHERE q.author_id = p.author_id ORDER BY q.created_at DESC, q.id DESC LIMIT ?) "
        "ORDER BY p.author_id, p.created_at DESC, p.id DESC"
    )
    async with db.execute(sql, (*user_ids, k)) as cur:
        for author_id, post_id, title in await cur.fetchall():
            found[author_id].append({"id": post_id, "title": title})
    return found


async def latest_posts_per_user_query(db: Any, user_ids: Sequence[int], k: int) -> dict:
    """Right rows, but one LIMIT k query per user: N+1."""
    found = {}
    for uid in user_ids:
        async with db.execute(
            "SELECT id, title FROM posts WHERE author_id = ? "
            "ORDER BY created_at DESC, id DESC LIMIT ?",
            (uid, k),
        ) as cur:
            found[uid] = [{"id": i, "title": t} for i, t in await cur.fetchall()]
    return found


async def latest_posts_slice_in_python(db: Any, user_ids: Sequence[int], k: int) -> dict:
    """One statement, but every post of these users comes back and Python keeps k."""
    found: dict[int, list[dict[str, Any]]] = {uid: [] for uid in user_ids}
    marks = ", ".join("?" * len(user_ids))
    async with db.execute(
        f"SELECT author_id, id, title FROM posts WHERE author_id IN ({marks}) "
        "ORDER BY created_at DESC, id DESC",
        list(user_ids),
    ) as cur:
        for author_id, post_id, title in await cur.fetchall():
            if len(found[author_id]) < k:
                found[author_id].append({"id": post_id, "title": title})
    return found


async def latest_posts_global_limit(db: Any, user_ids: Sequence[int], k: int) -> dict:
    """One LIMIT for everybody: k × users newest posts overall, not k per user."""
    found: dict[int, list[dict[str, Any]]] = {uid: [] for uid in user_ids}
    marks = ", ".join("?" * len(user_ids))
    async with db.execute(
        f"SELECT author_id, id, title FROM posts WHERE author_id IN ({marks}) "
        "ORDER BY created_at DESC, id DESC LIMIT ?",
        (*user_ids, k * len(user_ids)),
    ) as cur:
        for author_id, post_id, title in await cur.fetchall():
            found[author_id].append({"id": post_id, "title": title})
    return found


async def latest_posts_ties_ignored(db: Any, user_ids: Sequence[int], k: int) -> dict:
    """Window function ordered by created_at only: ties come out in any order."""
    found: dict[int, list[dict[str, Any]]] = {uid: [] for uid in user_ids}
    marks = ", ".join("?" * len(user_ids))
    sql = (
        "SELECT author_id, id, title FROM (SELECT author_id, id, title, ROW_NUMBER() OVER "
        "(PARTITION BY author_id ORDER BY created_at DESC) AS n FROM posts "
        f"WHERE author_id IN ({marks})) WHERE n <= ? ORDER BY author_id, n"
    )
    async with db.execute(sql, (*user_ids, k)) as cur:
        for author_id, post_id, title in await cur.fetchall():
            found[author_id].append({"id": post_id, "title": title})
    return found


async def latest_posts_drops_quiet_users(db: Any, user_ids: Sequence[int], k: int) -> dict:
    """Right posts, but users without posts are missing from the result."""
    found = await latest_posts_solution(db, user_ids, k)
    return {uid: posts for uid, posts in found.items() if posts}


CASES["02.latest_posts"] = Case(
    stub=(stub,),
    reference=(latest_posts_solution,),
    alternatives=[(latest_posts_correlated,)],
    wrong={
        "query_per_user": (latest_posts_per_user_query,),
        "slice_in_python": (latest_posts_slice_in_python,),
        "one_global_limit": (latest_posts_global_limit,),
        "ties_in_any_order": (latest_posts_ties_ignored,),
        "drops_users_without_posts": (latest_posts_drops_quiet_users,),
    },
)


# ---- 02.pool_release -----------------------------------------------------------------------------
async def profile_page_solution(pool: Any, user_id: int, render: Any) -> str:
    """The solution notebook's answer."""
    async with (
        pool.acquire() as db,
        db.execute("SELECT id, name, tier FROM users WHERE id = ?", (user_id,)) as cur,
    ):
        row = await cur.fetchone()
    return await render({"id": row[0], "name": row[1], "tier": row[2]})


async def _load_user(pool: Any, user_id: int) -> dict[str, Any]:
    async with pool.acquire() as db:
        rows = await db.execute_fetchall("SELECT * FROM users WHERE id = ?", (user_id,))
    return dict(rows[0])


async def profile_page_helper(pool: Any, user_id: int, render: Any) -> str:
    """A different correct answer: a loader function returns a plain dict."""
    return await render(await _load_user(pool, user_id))


async def profile_page_holds_during_render(pool: Any, user_id: int, render: Any) -> str:
    """Renders inside the `async with`: the connection idles while the page renders."""
    async with pool.acquire() as db:
        async with db.execute("SELECT id, name, tier FROM users WHERE id = ?", (user_id,)) as cur:
            row = await cur.fetchone()
        return await render({"id": row[0], "name": row[1], "tier": row[2]})


async def profile_page_own_connection(pool: Any, user_id: int, render: Any) -> str:
    """Opens a connection per request instead of borrowing one."""
    from labkit.db import connect

    async with (
        connect(pool.path) as db,
        db.execute("SELECT id, name, tier FROM users WHERE id = ?", (user_id,)) as cur,
    ):
        row = await cur.fetchone()
    return await render({"id": row[0], "name": row[1], "tier": row[2]})


async def profile_page_pool_per_request(pool: Any, user_id: int, render: Any) -> str:
    """Builds a pool of its own inside the handler: nothing is shared, nothing reused."""
    from labkit.db import Pool

    async with Pool(pool.path, size=1) as own:
        return await profile_page_solution(own, user_id, render)


CASES["02.pool_release"] = Case(
    stub=(stub,),
    reference=(profile_page_solution,),
    alternatives=[(profile_page_helper,)],
    wrong={
        "holds_while_rendering": (profile_page_holds_during_render,),
        "connection_per_request": (profile_page_own_connection,),
        "pool_per_request": (profile_page_pool_per_request,),
    },
)


# ---- 02.slow_query_log ---------------------------------------------------------------------------
def slow_queries_solution(statements: Sequence[Any], threshold_ms: float, logger: Any) -> list:
    """The solution notebook's answer."""
    import math

    from labkit.db import normalise_sql

    digest: dict[str, dict[str, Any]] = {}
    for s in statements:
        if math.isnan(s.duration_ms) or s.duration_ms < threshold_ms:
            continue
        entry = digest.setdefault(
            normalise_sql(s.sql), {"shape": normalise_sql(s.sql), "count": 0, "total_ms": 0.0}
        )
        entry["count"] += 1
        entry["total_ms"] += s.duration_ms
    slow = sorted(digest.values(), key=lambda e: (-e["total_ms"], e["shape"]))
    for e in slow:
        logger.warning("slow query %s: %d times, %.1f ms", e["shape"], e["count"], e["total_ms"])
    return slow


def slow_queries_counter(statements: Sequence[Any], threshold_ms: float, logger: Any) -> list:
    """A different correct answer: Counter and defaultdict, logged with an f-string."""
    from collections import Counter, defaultdict

    from labkit.db import normalise_sql

    counts: Counter[str] = Counter()
    totals: defaultdict[str, float] = defaultdict(float)
    for s in statements:
        ms = s.duration_s * 1000.0
        if ms >= threshold_ms:  # NaN compares False: untimed statements drop out here
            shape = normalise_sql(s.sql)
            counts[shape] += 1
            totals[shape] += ms
    order = sorted(counts, key=lambda shape: (-totals[shape], shape))
    for shape in order:
        logger.warning(f"SLOW ({totals[shape]:.0f} ms): {shape}")
    return [{"shape": sh, "count": counts[sh], "total_ms": totals[sh]} for sh in order]


def _slow_variant(
    statements: Sequence[Any],
    threshold_ms: float,
    logger: Any,
    *,
    strict: bool = False,
    level: str = "warning",
    raw: bool = False,
    by_count: bool = False,
) -> list:
    import math

    from labkit.db import normalise_sql

    digest: dict[str, dict[str, Any]] = {}
    for s in statements:
        ms = s.duration_ms
        if math.isnan(ms) or ms < threshold_ms or (strict and ms == threshold_ms):
            continue
        shape = s.sql if raw else normalise_sql(s.sql)
        entry = digest.setdefault(shape, {"shape": shape, "count": 0, "total_ms": 0.0})
        entry["count"] += 1
        entry["total_ms"] += ms
    key = (
        (lambda e: (-e["count"], e["shape"]))
        if by_count
        else (lambda e: (-e["total_ms"], e["shape"]))
    )
    slow = sorted(digest.values(), key=key)
    for e in slow:
        getattr(logger, level)("slow query %s", e["shape"])
    return slow


def slow_queries_strictly_over(statements: Sequence[Any], threshold_ms: float, logger: Any) -> list:
    """`>` instead of `≥`: an execution exactly at the threshold is missed."""
    return _slow_variant(statements, threshold_ms, logger, strict=True)


def slow_queries_at_info(statements: Sequence[Any], threshold_ms: float, logger: Any) -> list:
    """Right digest, logged at INFO (filtered out where it matters)."""
    return _slow_variant(statements, threshold_ms, logger, level="info")


def slow_queries_raw_sql(statements: Sequence[Any], threshold_ms: float, logger: Any) -> list:
    """Grouped by the literal SQL text: one line per id instead of one per shape."""
    return _slow_variant(statements, threshold_ms, logger, raw=True)


def slow_queries_by_count(statements: Sequence[Any], threshold_ms: float, logger: Any) -> list:
    """Sorted by how often, not by the time spent."""
    return _slow_variant(statements, threshold_ms, logger, by_count=True)


def slow_queries_all_executions(
    statements: Sequence[Any], threshold_ms: float, logger: Any
) -> list:
    """Totals every execution of a slow shape, fast ones included."""
    import math

    from labkit.db import normalise_sql

    slow_shapes = {
        normalise_sql(s.sql)
        for s in statements
        if not math.isnan(s.duration_ms) and s.duration_ms >= threshold_ms
    }
    digest: dict[str, dict[str, Any]] = {}
    for s in statements:
        shape = normalise_sql(s.sql)
        if shape in slow_shapes and not math.isnan(s.duration_ms):
            entry = digest.setdefault(shape, {"shape": shape, "count": 0, "total_ms": 0.0})
            entry["count"] += 1
            entry["total_ms"] += s.duration_ms
    slow = sorted(digest.values(), key=lambda e: (-e["total_ms"], e["shape"]))
    for e in slow:
        logger.warning("slow query %s", e["shape"])
    return slow


CASES["02.slow_query_log"] = Case(
    stub=(stub,),
    reference=(slow_queries_solution,),
    alternatives=[(slow_queries_counter,)],
    wrong={
        "strictly_over_threshold": (slow_queries_strictly_over,),
        "logged_at_info": (slow_queries_at_info,),
        "grouped_by_raw_sql": (slow_queries_raw_sql,),
        "sorted_by_count": (slow_queries_by_count,),
        "totals_fast_executions_too": (slow_queries_all_executions,),
    },
)


# ---- 02.fail_fast --------------------------------------------------------------------------------
async def profile_or_busy_solution(pool: Any, user_id: int) -> tuple:
    """The solution notebook's answer."""
    from labkit.errors import DatabaseError

    try:
        async with (
            pool.acquire() as db,
            db.execute("SELECT name FROM users WHERE id = ?", (user_id,)) as cur,
        ):
            row = await cur.fetchone()
    except DatabaseError:
        return 503, None
    return (200, row[0]) if row else (404, None)


async def profile_or_busy_exit_stack(pool: Any, user_id: int) -> tuple:
    """A different correct answer: the acquire alone inside try, via an AsyncExitStack."""
    from contextlib import AsyncExitStack

    from labkit.errors import LabkitError

    async with AsyncExitStack() as stack:
        try:
            db = await stack.enter_async_context(pool.acquire())
        except LabkitError:
            return 503, None
        rows = await db.execute_fetchall("SELECT name FROM users WHERE id = ?", (user_id,))
    return (200, rows[0][0]) if rows else (404, None)


async def profile_or_busy_uncaught(pool: Any, user_id: int) -> tuple:
    """No fail-fast at all: the pool's timeout escapes as an error."""
    async with pool.acquire() as db:
        rows = await db.execute_fetchall("SELECT name FROM users WHERE id = ?", (user_id,))
    return (200, rows[0][0]) if rows else (404, None)


async def profile_or_busy_catches_everything(pool: Any, user_id: int) -> tuple:
    """Any error becomes 503, even a missing user (row is None)."""
    try:
        async with pool.acquire() as db:
            rows = await db.execute_fetchall("SELECT name FROM users WHERE id = ?", (user_id,))
        return 200, rows[0][0]
    except Exception:
        return 503, None


async def profile_or_busy_guesses_from_stats(pool: Any, user_id: int) -> tuple:
    """Answers 503 whenever every connection is in use right now, without waiting."""
    if pool.stats["in_use"] >= pool.size:
        return 503, None
    return await profile_or_busy_solution(pool, user_id)


async def profile_or_busy_retries(pool: Any, user_id: int) -> tuple:
    """Retries until it gets a connection: never answers 503."""
    from labkit.errors import DatabaseError

    while True:
        try:
            return await profile_or_busy_uncaught(pool, user_id)
        except DatabaseError:
            continue


CASES["02.fail_fast"] = Case(
    stub=(stub,),
    reference=(profile_or_busy_solution,),
    alternatives=[(profile_or_busy_exit_stack,)],
    wrong={
        "timeout_not_caught": (profile_or_busy_uncaught,),
        "every_error_is_busy": (profile_or_busy_catches_everything,),
        "guesses_from_stats": (profile_or_busy_guesses_from_stats,),
        "retries_until_free": (profile_or_busy_retries,),
    },
)


# ---- 02.statement_budget_test --------------------------------------------------------------------
# Each answer is a test: given the loader under test, a connection and a page of user ids, it
# returns when the loader is fine and raises AssertionError when it is not.
@contextmanager
def assert_max_statements(db: Any, budget: int) -> Iterator[Any]:
    """The solution notebook's helper, like Django's assertNumQueries."""
    with statement_log(db) as log:
        yield log
    assert log.count <= budget, f"{log.count} statements, budget {budget}:\n{log}"


async def budget_test_solution(users_with_posts: Any, db: Any, user_ids: Sequence[int]) -> None:
    """The solution notebook's answer."""
    with assert_max_statements(db, 2):
        page = await users_with_posts(db, user_ids)
    assert [user["id"] for user in page] == list(user_ids), "users lost or out of order"


async def budget_test_plain_log(users_with_posts: Any, db: Any, user_ids: Sequence[int]) -> None:
    """A different correct answer: the log inline, the page checked by length and ids."""
    with statement_log(db) as log:
        page = await users_with_posts(db, list(user_ids))
    assert len(log) <= 2
    assert len(page) == len(user_ids)
    assert {u["id"] for u in page} == set(user_ids)
    assert [u["id"] for u in page] == list(user_ids)


@asynccontextmanager
async def counted_by_trace(db: Any) -> AsyncIterator[list[str]]:
    """A counter of its own: SQLite's trace callback, no labkit helper."""
    seen: list[str] = []
    await db.set_trace_callback(seen.append)
    try:
        yield seen
    finally:
        await db.set_trace_callback(None)


async def budget_test_own_trace(users_with_posts: Any, db: Any, user_ids: Sequence[int]) -> None:
    """A different correct answer: counts with its own trace callback."""
    async with counted_by_trace(db) as seen:
        page = await users_with_posts(db, user_ids)
    assert len(seen) <= 2, seen
    assert [user["id"] for user in page] == list(user_ids)


async def budget_test_slow_oracle(users_with_posts: Any, db: Any, user_ids: Sequence[int]) -> None:
    """A different correct answer: the page must equal the slow N+1 loop's (an oracle)."""
    expected = await users_with_posts_n_plus_one(db, user_ids)
    with statement_log(db) as log:
        page = await users_with_posts(db, user_ids)
    assert log.count <= 2
    assert page == expected


async def budget_test_asserts_nothing(users_with_posts: Any, db: Any, user_ids: Sequence[int]):
    await users_with_posts(db, user_ids)
    assert True


async def budget_test_length_only(users_with_posts: Any, db: Any, user_ids: Sequence[int]):
    """Asserts on the result's size, never on the statements."""
    page = await users_with_posts(db, user_ids)
    assert len(page) == len(user_ids)


async def budget_test_loose(users_with_posts: Any, db: Any, user_ids: Sequence[int]) -> None:
    """A budget of 10: 'surely an N+1 sends more than that'."""
    with statement_log(db) as log:
        page = await users_with_posts(db, user_ids)
    assert log.count <= 10
    assert [user["id"] for user in page] == list(user_ids)


async def budget_test_per_user(users_with_posts: Any, db: Any, user_ids: Sequence[int]) -> None:
    """Fewer statements than users: catches the N+1 loop, not the extra query."""
    with statement_log(db) as log:
        page = await users_with_posts(db, user_ids)
    assert log.count < len(user_ids)
    assert [user["id"] for user in page] == list(user_ids)


async def budget_test_exactly_two(users_with_posts: Any, db: Any, user_ids: Sequence[int]):
    """The count the notebook's fix sent, as an equality: a JOIN's 1 statement fails it."""
    with statement_log(db) as log:
        page = await users_with_posts(db, user_ids)
    assert log.count == 2
    assert [user["id"] for user in page] == list(user_ids)


async def budget_test_count_only(users_with_posts: Any, db: Any, user_ids: Sequence[int]):
    """The budget alone: a loader that drops users passes."""
    with statement_log(db) as log:
        await users_with_posts(db, user_ids)
    assert log.count <= 2


async def budget_test_one_user(users_with_posts: Any, db: Any, user_ids: Sequence[int]) -> None:
    """Its own tiny fixture: one user, for which N+1 sends 2 statements."""
    with statement_log(db) as log:
        page = await users_with_posts(db, list(user_ids)[:1])
    assert log.count <= 2
    assert [user["id"] for user in page] == list(user_ids)[:1]


async def budget_test_catches_itself(users_with_posts: Any, db: Any, user_ids: Sequence[int]):
    """Catches its own AssertionError to print it: the runner never sees a failure."""
    with statement_log(db) as log:
        page = await users_with_posts(db, user_ids)
    try:
        assert log.count <= 2, f"{log.count} statements"
        assert [user["id"] for user in page] == list(user_ids)
    except AssertionError as exc:
        print("budget exceeded:", exc)


async def budget_test_patches_the_log(users_with_posts: Any, db: Any, user_ids: Sequence[int]):
    """Counts only the posts queries, by patching labkit's log class."""
    from labkit.db import statements

    statements.StatementLog._keep = lambda self, s: " posts " in s.sql  # type: ignore[method-assign]
    with statement_log(db) as log:
        page = await users_with_posts(db, user_ids)
    assert log.count <= 1
    assert [user["id"] for user in page] == list(user_ids)


async def budget_test_reference_oracle(users_with_posts: Any, db: Any, user_ids: Sequence[int]):
    """Compares with labkit's reference JOIN: a reference answer called from the answer."""
    from labkit.lessons.n02_queries.n_plus_one import users_with_posts_join

    expected = await users_with_posts_join(db, user_ids)
    with statement_log(db) as log:
        page = await users_with_posts(db, user_ids)
    assert log.count <= 2
    assert page == expected


def budget_test_snapshot() -> tuple[Any]:
    """Snapshot testing: the first run's count becomes the expected count of every later run."""
    first: list[int] = []

    async def budget_test(users_with_posts: Any, db: Any, user_ids: Sequence[int]) -> None:
        with statement_log(db) as log:
            page = await users_with_posts(db, user_ids)
        first.append(log.count)
        assert log.count == first[0]
        assert [user["id"] for user in page] == list(user_ids)

    return (budget_test,)


async def budget_test_hard_coded_length(users_with_posts: Any, db: Any, user_ids: Sequence[int]):
    """The page size one run showed, typed in."""
    with statement_log(db) as log:
        page = await users_with_posts(db, user_ids)
    assert log.count <= 2
    assert len(page) == 22


async def budget_test_raises_value_error(users_with_posts: Any, db: Any, user_ids: Sequence[int]):
    """Signals the failure with ValueError: a runner reads that as a broken test."""
    with statement_log(db) as log:
        page = await users_with_posts(db, user_ids)
    if log.count > 2 or [user["id"] for user in page] != list(user_ids):
        raise ValueError(f"{log.count} statements")


async def budget_test_reads_the_source(users_with_posts: Any, db: Any, user_ids: Sequence[int]):
    """Looks for a JOIN in the loader's source instead of running it."""
    import inspect

    assert "JOIN" in inspect.getsource(users_with_posts) or " IN (" in str(users_with_posts)


CASES["02.statement_budget_test"] = Case(
    stub=(stub,),
    reference=(budget_test_solution,),
    alternatives=[
        (budget_test_plain_log,),
        (budget_test_own_trace,),
        (budget_test_slow_oracle,),
    ],
    wrong={
        "asserts_nothing": (budget_test_asserts_nothing,),
        "length_only": (budget_test_length_only,),
        "budget_too_loose": (budget_test_loose,),
        "budget_per_user": (budget_test_per_user,),
        "exactly_two": (budget_test_exactly_two,),
        "count_only": (budget_test_count_only,),
        "own_one_user_fixture": (budget_test_one_user,),
        "catches_its_own_assertion": (budget_test_catches_itself,),
        "patches_statement_log": (budget_test_patches_the_log,),
        "calls_the_reference": (budget_test_reference_oracle,),
        "snapshot_of_first_count": budget_test_snapshot,
        "hard_coded_page_length": (budget_test_hard_coded_length,),
        "raises_value_error": (budget_test_raises_value_error,),
        "reads_the_source": (budget_test_reads_the_source,),
    },
)


# ---- 02.query_timeout ----------------------------------------------------------------------------
async def run_with_budget_solution(db: Any, sql: str, params: Any, max_steps: int) -> list:
    """The solution notebook's answer: count 1,000 steps a call, stop past the budget."""
    every = 1_000
    steps = 0

    def over_budget() -> int:
        nonlocal steps
        steps += every
        return 1 if steps > max_steps else 0

    await db.set_progress_handler(over_budget, every)
    try:
        async with db.execute(sql, params) as cur:
            return list(await cur.fetchall())
    except sqlite3.OperationalError:
        if steps > max_steps:
            raise TimeoutError(f"stopped after {max_steps:,} VM steps") from None
        raise
    finally:
        await db.set_progress_handler(None, every)


async def run_with_budget_every_step(db: Any, sql: str, params: Any, max_steps: int) -> list:
    """A different correct answer: the handler runs at every step (exact, slower)."""
    left = [max_steps]

    def tick() -> bool:
        left[0] -= 1
        return left[0] < 0

    await db.set_progress_handler(tick, 1)
    try:
        return list(await db.execute_fetchall(sql, params))
    except sqlite3.OperationalError as exc:
        if "interrupted" in str(exc) and left[0] < 0:
            raise TimeoutError("query over its step budget") from exc
        raise
    finally:
        await db.set_progress_handler(None, 1)


class StepBudget:
    """A handler object: steps used so far, and whether it stopped the statement."""

    def __init__(self, max_steps: int, every: int = 250) -> None:
        self.max_steps, self.every, self.used, self.stopped = max_steps, every, 0, False

    def __call__(self) -> int:
        self.used += self.every
        self.stopped = self.used > self.max_steps
        return int(self.stopped)


async def run_with_budget_object(db: Any, sql: str, params: Any, max_steps: int) -> list:
    """A different correct answer: the budget as an object, rows fetched in pages."""
    budget = StepBudget(max_steps)
    await db.set_progress_handler(budget, budget.every)
    rows: list[Any] = []
    try:
        async with db.execute(sql, params) as cur:
            while page := await cur.fetchmany(50):
                rows.extend(page)
    except sqlite3.OperationalError:
        if budget.stopped:
            raise TimeoutError(f"used {budget.used:,} of {max_steps:,} VM steps") from None
        raise
    finally:
        await db.set_progress_handler(None, budget.every)
    return rows


async def run_with_budget_unbounded(db: Any, sql: str, params: Any, max_steps: int) -> list:
    """Runs the statement and ignores the budget."""
    async with db.execute(sql, params) as cur:
        return list(await cur.fetchall())


async def run_with_budget_first_call_stops(db: Any, sql: str, params: Any, max_steps: int):
    """The one-liner: stop at the handler's first call, which SQLite makes max_steps into the
    statement's life — a prepared statement run again is called early."""
    await db.set_progress_handler(lambda: 1, max_steps)
    try:
        return list(await db.execute_fetchall(sql, params))
    except sqlite3.OperationalError as exc:
        if "interrupted" in str(exc):
            raise TimeoutError("over budget") from None
        raise
    finally:
        await db.set_progress_handler(None, max_steps)


async def run_with_budget_left_installed(db: Any, sql: str, params: Any, max_steps: int):
    """Never takes the handler off: every later query on the connection stays limited."""
    budget = StepBudget(max_steps)
    await db.set_progress_handler(budget, budget.every)
    try:
        return list(await db.execute_fetchall(sql, params))
    except sqlite3.OperationalError:
        if budget.stopped:
            raise TimeoutError("over budget") from None
        raise


async def run_with_budget_removed_on_success(db: Any, sql: str, params: Any, max_steps: int):
    """Takes the handler off only when the statement succeeds (no finally)."""
    budget = StepBudget(max_steps)
    await db.set_progress_handler(budget, budget.every)
    try:
        rows = list(await db.execute_fetchall(sql, params))
    except sqlite3.OperationalError:
        if budget.stopped:
            raise TimeoutError("over budget") from None
        raise
    await db.set_progress_handler(None, budget.every)
    return rows


async def run_with_budget_counts_calls(db: Any, sql: str, params: Any, max_steps: int):
    """Counts handler calls as if each were one step: stops 1,000× too late."""
    calls = [0]

    def over() -> int:
        calls[0] += 1
        return int(calls[0] > max_steps)

    await db.set_progress_handler(over, 1_000)
    try:
        return list(await db.execute_fetchall(sql, params))
    except sqlite3.OperationalError:
        raise TimeoutError("over budget") from None
    finally:
        await db.set_progress_handler(None, 1_000)


async def run_with_budget_sqlite_error(db: Any, sql: str, params: Any, max_steps: int):
    """Stops the statement but lets SQLite's OperationalError('interrupted') out."""
    budget = StepBudget(max_steps)
    await db.set_progress_handler(budget, budget.every)
    try:
        return list(await db.execute_fetchall(sql, params))
    finally:
        await db.set_progress_handler(None, budget.every)


async def run_with_budget_every_error(db: Any, sql: str, params: Any, max_steps: int):
    """Calls every SQLite error a timeout (a missing table too)."""
    budget = StepBudget(max_steps)
    await db.set_progress_handler(budget, budget.every)
    try:
        return list(await db.execute_fetchall(sql, params))
    except sqlite3.Error:
        raise TimeoutError("query timed out") from None
    finally:
        await db.set_progress_handler(None, budget.every)


_STEPS_SO_FAR = [0]


async def run_with_budget_never_resets(db: Any, sql: str, params: Any, max_steps: int):
    """One step counter for the whole module: the second call starts where the first ended."""

    def over() -> int:
        _STEPS_SO_FAR[0] += 100
        return int(_STEPS_SO_FAR[0] > max_steps)

    await db.set_progress_handler(over, 100)
    try:
        return list(await db.execute_fetchall(sql, params))
    except sqlite3.OperationalError as exc:
        if "interrupted" in str(exc):
            raise TimeoutError("over budget") from None
        raise
    finally:
        await db.set_progress_handler(None, 100)


def run_with_budget_first_budget_kept() -> tuple[Any]:
    """Remembers the budget of its first call."""
    kept: list[int] = []

    async def run_with_budget(db: Any, sql: str, params: Any, max_steps: int) -> list:
        kept.append(max_steps)
        return await run_with_budget_solution(db, sql, params, kept[0])

    return (run_with_budget,)


async def run_with_budget_guesses_from_text(db: Any, sql: str, params: Any, max_steps: int):
    """Refuses anything recursive before running it: a guess from the SQL, not a budget."""
    if "RECURSIVE" in sql.upper():
        raise TimeoutError("recursive queries may run away")
    return await run_with_budget_unbounded(db, sql, params, max_steps)


async def run_with_budget_clock(db: Any, sql: str, params: Any, max_steps: int) -> list:
    """labkit's clock-based query_timeout with a generous 10 s: never stops the runaway."""
    from labkit.db import query_timeout
    from labkit.errors import DatabaseError

    try:
        async with query_timeout(db, 10):
            return list(await db.execute_fetchall(sql, params))
    except DatabaseError:
        raise TimeoutError("query took too long") from None


CASES["02.query_timeout"] = Case(
    stub=(stub,),
    reference=(run_with_budget_solution,),
    alternatives=[(run_with_budget_every_step,), (run_with_budget_object,)],
    wrong={
        "no_budget": (run_with_budget_unbounded,),
        "stops_at_first_handler_call": (run_with_budget_first_call_stops,),
        "handler_left_installed": (run_with_budget_left_installed,),
        "handler_removed_only_on_success": (run_with_budget_removed_on_success,),
        "counts_calls_not_steps": (run_with_budget_counts_calls,),
        "sqlite_error_let_out": (run_with_budget_sqlite_error,),
        "every_error_a_timeout": (run_with_budget_every_error,),
        "counter_never_reset": (run_with_budget_never_resets,),
        "first_budget_kept": run_with_budget_first_budget_kept,
        "guesses_from_sql_text": (run_with_budget_guesses_from_text,),
        "clock_timeout": (run_with_budget_clock,),
    },
)
