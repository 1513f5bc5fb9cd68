"""The app's database: a private working copy of the dataset, reached through ``labkit.db``.

Connections come from a ``labkit.db.Pool``, one per event loop, created on first use, so the app
works under ``httpx.ASGITransport`` without lifespan events and in every uvicorn worker. The
simulated network round trip (``latency_ms``) is the pool's connections' own: every statement
waits it, with ``asyncio.sleep``, while it holds its connection, as it would against a database
across a network. Each statement borrows a connection and runs inside a ``statement_log``; the
request's statement count and database time come from what that log recorded.

Several workers write the same file, so: WAL (readers never block the writer), a busy timeout,
connections in autocommit mode with each write in its own ``BEGIN IMMEDIATE`` transaction
(``labkit.db.write_transaction``), a rollback after every failed statement (a connection left
inside a failed transaction keeps an old snapshot: later reads on it are stale and later writes
fail with "database is locked"; the pool never hands one out), and a statement that finds the
database locked retried a bounded number of times with backoff (``labkit.db.retry_locked``).
If it still cannot run, :class:`~labkit.db.DatabaseBusy` is raised; the app answers it with 503
and ``Retry-After``.
"""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager, closing
from pathlib import Path
from typing import Any, Final, TypeVar

from labkit.app.metrics import AppCounters, request_metrics
from labkit.data.scratch import owned_temp_dir
from labkit.db import (
    DatabaseBusy,
    LabConnection,
    Pool,
    StatementLog,
    retry_locked,
    statement_log,
    write_transaction,
)
from labkit.errors import ServerError

T = TypeVar("T")

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
RETRY_AFTER_S: Final = 1  # what a 503 for a busy database tells the client
# Connections per worker: the default load profile's 10 virtual users never wait for one.
CONNECTIONS: Final = 10


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


def prepare_in_place(path: Path, *, indexes: bool) -> None:
    """Make a copy the caller already owns ready for the app: WAL mode, indexes if asked.

    Each worker may run this at once on the same file: the busy timeout lets them take turns.
    """
    try:
        with closing(sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000)) as conn:
            if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                conn.execute("PRAGMA journal_mode=WAL")
            if indexes:
                create_indexes(conn)
    except sqlite3.DatabaseError as exc:
        raise ServerError(f"cannot prepare the dataset {path}: {exc}") from exc


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
    """The working copy through one ``labkit.db.Pool`` per event loop, counted per request.

    ``busy_timeout_ms`` and ``write_attempts`` are read when a loop's pool is made, so a test
    may shorten them on a fresh app.
    """

    def __init__(
        self,
        path: Path,
        *,
        latency_ms: float = 0.0,
        connections: int = CONNECTIONS,
        counters: AppCounters | None = None,
        busy_timeout_ms: int = BUSY_TIMEOUT_MS,
        write_attempts: int = WRITE_ATTEMPTS,
    ) -> None:
        self.path = Path(path)
        self.latency_ms = latency_ms
        self.size = max(1, connections)
        self.busy_timeout_ms = busy_timeout_ms
        self.write_attempts = max(1, write_attempts)
        self.counters = counters if counters is not None else AppCounters()
        self._new_pool()  # refuses a bad path or latency now; opens nothing
        self._pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Pool] = (
            weakref.WeakKeyDictionary()
        )
        # One writer at a time per worker: the pool's connections never queue on each other's
        # write lock, only on another worker's.
        self._write_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )

    def _new_pool(self) -> Pool:
        return Pool(
            self.path,
            size=self.size,
            acquire_timeout=None,  # a request waits for a connection as it waits for the database
            latency_ms=self.latency_ms,
            timeout=self.busy_timeout_ms / 1000,
            autocommit=True,  # a SELECT never leaves a transaction (an old snapshot) open
        )

    def _pool(self) -> Pool:
        loop = asyncio.get_running_loop()
        pool = self._pools.get(loop)
        if pool is None:
            pool = self._pools[loop] = self._new_pool()
        return pool

    @asynccontextmanager
    async def _statement(self) -> AsyncIterator[LabConnection]:
        """A connection for one statement; what it ran is added to the request's counts."""
        started = time.perf_counter()  # waiting for a free connection is database time too
        async with self._pool().acquire() as conn:
            recording = statement_log(conn)
            try:
                async with recording:
                    yield conn
            finally:  # failed statements ran (and took their time) as well
                self._account(recording.log, started)

    def _account(self, log: StatementLog, started: float) -> None:
        # After ``async with``: the log is complete, so reading it never waits.
        statements = log.count if log.problem is None else 0
        metrics = request_metrics()
        metrics.db_seconds += time.perf_counter() - started
        metrics.statements += statements
        self.counters.add("db_statements", statements)

    async def _retrying(self, attempt: Callable[[], Awaitable[T]]) -> T:
        def count_retry() -> None:
            self.counters.add("db_lock_retries")

        try:
            return await retry_locked(attempt, attempts=self.write_attempts, on_retry=count_retry)
        except DatabaseBusy:
            self.counters.add("db_busy")
            raise

    async def fetchall(self, sql: str, params: Params = ()) -> list[dict[str, Any]]:
        """Run one SELECT and return its rows as dicts (one simulated round trip)."""

        async def read() -> list[dict[str, Any]]:
            async with self._statement() as conn:
                rows = await conn.execute_fetchall(sql, tuple(params))
            return [dict(row) for row in rows]

        return await self._retrying(read)

    async def fetchone(self, sql: str, params: Params = ()) -> dict[str, Any] | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one write statement in its own transaction; returns the number of rows changed."""

        async def write() -> int:
            async with self._statement() as conn:
                return await write_transaction(conn, sql, params)

        lock = self._write_locks.setdefault(asyncio.get_running_loop(), asyncio.Lock())
        async with lock:
            return await self._retrying(write)

    async def aclose(self) -> None:
        """Close this loop's connections (lifespan shutdown, tests)."""
        pool = self._pools.pop(asyncio.get_running_loop(), None)
        if pool is not None:
            await pool.close()
