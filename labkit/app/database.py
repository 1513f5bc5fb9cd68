"""The app's database: a private working copy of the dataset and lazily opened connections.

Connections open on first use, one small set per event loop, so the app works under
``httpx.ASGITransport`` without lifespan events and in every uvicorn worker. Each statement
can wait a simulated network round trip first (``latency_ms``), with ``asyncio.sleep`` so
concurrent statements overlap as they would against a networked database.

Several workers write the same file, so: WAL (readers never block the writer), a busy timeout,
connections in autocommit mode with each write in its own ``BEGIN IMMEDIATE`` transaction, a
rollback after every failed statement (a connection left inside a failed transaction keeps an
old snapshot: later reads on it are stale and later writes fail with "database is locked"),
and a write that finds the database locked retried a bounded number of times with backoff.
If it still cannot write, :class:`DatabaseBusy` is raised; the app answers it with 503 and
``Retry-After``.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
import shutil
import sqlite3
import time
import weakref
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path
from typing import Any, Final

import aiosqlite

from labkit.app.metrics import AppCounters, request_metrics
from labkit.data.scratch import owned_temp_dir
from labkit.errors import ServerError

log = logging.getLogger("labkit.app")

# The lessons' indexes (notebook 02): composite, partial and single-column.
INDEXES: Final[dict[str, str]] = {
    "idx_posts_author_created": "CREATE INDEX IF NOT EXISTS idx_posts_author_created "
    "ON posts (author_id, created_at DESC)",
    "idx_posts_published_created": "CREATE INDEX IF NOT EXISTS idx_posts_published_created "
    "ON posts (created_at DESC, id DESC) WHERE status = 'published'",
    "idx_comments_post": "CREATE INDEX IF NOT EXISTS idx_comments_post ON comments (post_id)",
    "idx_users_country": "CREATE INDEX IF NOT EXISTS idx_users_country ON users (country)",
}

Params = Sequence[Any]

BUSY_TIMEOUT_MS: Final = 2000  # SQLite's own wait for a lock, per attempt
WRITE_ATTEMPTS: Final = 5  # then DatabaseBusy (503)
BACKOFF_S: Final = 0.02  # first pause between attempts; doubles each time, with jitter


class DatabaseBusy(ServerError):
    """The database stayed locked through every retry: the request may be repeated later."""

    retry_after = 1  # seconds, for the Retry-After header


def is_lock_error(exc: BaseException) -> bool:
    """SQLITE_BUSY / SQLITE_LOCKED in any of their extended forms."""
    if not isinstance(exc, sqlite3.OperationalError):
        return False
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return (code & 0xFF) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    text = str(exc)
    return "locked" in text or "busy" in text


def prepare_working_copy(source: Path, dest_dir: Path, *, indexes: bool) -> Path:
    """Copy ``source`` into ``dest_dir`` (SQLite backup API), in WAL mode, with indexes if asked.

    The app writes (``PUT /api/products/{id}``) and may add indexes; the shared dataset must
    keep its fingerprint, so the app always works on a copy.
    """
    source = Path(source)
    if not source.is_file():
        raise ServerError(f"dataset not found: {source} (build one with `labkit data build`)")
    dest_dir.mkdir(parents=True, exist_ok=True)
    dest = dest_dir / f"{source.stem}-app.sqlite"
    try:
        # sqlite3's own context manager commits but does not close: use closing().
        with (
            closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as src,
            closing(sqlite3.connect(dest)) as dst,
        ):
            src.backup(dst)
            dst.execute("PRAGMA journal_mode=WAL")
            if indexes:
                create_indexes(dst)
    except sqlite3.DatabaseError as exc:
        raise ServerError(f"cannot copy dataset {source}: {exc}") from exc
    return dest


def create_indexes(conn: sqlite3.Connection) -> None:
    for statement in INDEXES.values():
        conn.execute(statement)
    conn.commit()


def make_private_dir(owner: object) -> Path:
    """A temp dir removed when ``owner`` is garbage collected or the process exits."""
    path = owned_temp_dir("app")  # swept by a later start if this process dies first
    weakref.finalize(owner, shutil.rmtree, path, True)
    return path


class Database:
    """Async access to the working copy, with per-request statement counting."""

    def __init__(
        self,
        path: Path,
        *,
        latency_ms: float = 0.0,
        connections: int = 4,
        counters: AppCounters | None = None,
        busy_timeout_ms: int = BUSY_TIMEOUT_MS,
        write_attempts: int = WRITE_ATTEMPTS,
    ) -> None:
        if latency_ms < 0:
            raise ServerError(f"latency_ms must be >= 0, got {latency_ms}")
        self.path = Path(path)
        self.latency_s = latency_ms / 1000.0
        self.size = max(1, connections)
        self.busy_timeout_ms = busy_timeout_ms
        self.write_attempts = max(1, write_attempts)
        self.counters = counters if counters is not None else AppCounters()
        self._by_loop: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, list[aiosqlite.Connection]
        ] = weakref.WeakKeyDictionary()
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )
        self._turn = itertools.count()
        self._write_lock: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )

    async def _connections(self) -> list[aiosqlite.Connection]:
        loop = asyncio.get_running_loop()
        conns = self._by_loop.get(loop)
        if conns is not None:
            return conns
        lock = self._locks.setdefault(loop, asyncio.Lock())
        async with lock:
            conns = self._by_loop.get(loop)
            if conns is None:
                conns = [await self._open() for _ in range(self.size)]
                self._by_loop[loop] = conns
        return conns

    async def _open(self) -> aiosqlite.Connection:
        # isolation_level=None: autocommit, so a SELECT never leaves a transaction (and an old
        # snapshot) open; writes begin their own transaction explicitly.
        conn = aiosqlite.connect(self.path, check_same_thread=False, isolation_level=None)
        # aiosqlite's worker thread is not a daemon: a connection nobody closed keeps the
        # process (a notebook kernel) from exiting (aiosqlite #299).
        conn._thread.daemon = True
        await conn
        conn.row_factory = aiosqlite.Row
        await conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_ms)}")
        if await _pragma(conn, "journal_mode") != "wal":  # a copy made elsewhere (copy=False)
            await self._retry_locked(lambda: _pragma(conn, "journal_mode = WAL"))
        return conn

    async def _retry_locked(self, attempt: Any) -> Any:
        """Run ``attempt()`` again while it fails on a lock, a bounded number of times."""
        for number in range(self.write_attempts):
            try:
                return await attempt()
            except sqlite3.OperationalError as exc:
                if not is_lock_error(exc):
                    raise
                self.counters.add("db_lock_retries")
                if number == self.write_attempts - 1:
                    self.counters.add("db_busy")
                    raise DatabaseBusy(f"the database stayed locked: {exc}") from exc
                pause = BACKOFF_S * 2**number
                await asyncio.sleep(pause * (0.5 + random.random()))  # jitter: workers out of step
        raise AssertionError("unreachable")  # pragma: no cover

    async def _pick(self) -> aiosqlite.Connection:
        conns = await self._connections()
        return conns[next(self._turn) % len(conns)]

    async def _round_trip(self) -> None:
        if self.latency_s > 0:
            await asyncio.sleep(self.latency_s)

    async def fetchall(self, sql: str, params: Params = ()) -> list[dict[str, Any]]:
        """Run one SELECT and return its rows as dicts (one simulated round trip)."""
        conn = await self._pick()
        await self._round_trip()
        started = time.perf_counter()

        async def read() -> list[aiosqlite.Row]:
            try:
                async with conn.execute(sql, tuple(params)) as cursor:
                    return list(await cursor.fetchall())
            except BaseException:
                await _rollback(conn)
                raise

        rows = await self._retry_locked(read)
        self._account(started)
        return [dict(row) for row in rows]

    async def fetchone(self, sql: str, params: Params = ()) -> dict[str, Any] | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one write statement in its own transaction; returns the number of rows changed."""
        conns = await self._connections()
        loop = asyncio.get_running_loop()
        lock = self._write_lock.setdefault(loop, asyncio.Lock())
        await self._round_trip()
        conn = conns[0]

        async def write() -> int:
            try:
                # IMMEDIATE takes the write lock up front (waiting up to the busy timeout), so
                # the transaction never has to upgrade a read snapshot another worker outdated.
                await conn.execute("BEGIN IMMEDIATE")
                cursor = await conn.execute(sql, tuple(params))
                changed = cursor.rowcount
                await cursor.close()
                await conn.execute("COMMIT")
                return int(changed)
            except BaseException:
                await _rollback(conn)
                raise

        async with lock:
            started = time.perf_counter()
            changed = int(await self._retry_locked(write))
        self._account(started)
        return changed

    def _account(self, started: float) -> None:
        metrics = request_metrics()
        metrics.db_seconds += time.perf_counter() - started + self.latency_s
        metrics.statements += 1
        self.counters.add("db_statements")

    async def aclose(self) -> None:
        """Close this loop's connections (lifespan shutdown, tests)."""
        loop = asyncio.get_running_loop()
        conns = self._by_loop.pop(loop, None) or []
        for conn in conns:
            await conn.close()


async def _pragma(conn: aiosqlite.Connection, pragma: str) -> str:
    """Run one PRAGMA and return its value; the cursor is closed (an open one keeps a lock)."""
    async with conn.execute(f"PRAGMA {pragma}") as cursor:
        row = await cursor.fetchone()
    return str(row[0]).lower() if row is not None else ""


async def _rollback(conn: aiosqlite.Connection) -> None:
    """Leave no transaction open after a failed statement (its snapshot would go stale)."""
    if conn.in_transaction:
        try:
            await conn.rollback()
        except sqlite3.Error:
            log.warning("rollback failed after a database error", exc_info=True)
