"""Connections with an optional simulated network round trip per statement.

A local SQLite file answers in microseconds, which hides what an N+1 pattern or a connection per
request costs against a database across a network. ``latency_ms`` puts that cost back: each
statement (execute, executemany, executescript, commit, rollback) first awaits ``latency_ms``
with ``asyncio.sleep``, so concurrent statements overlap exactly as real round trips do. Rows of
a statement arrive with it, as with a client-side cursor, so fetching them costs no extra trip.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar, cast

import aiosqlite

from labkit.db.recorder import Recorder
from labkit.errors import DatabaseError

Sleep = Callable[[float], Awaitable[Any]]
T = TypeVar("T")

# operations that send a statement to the database (one simulated round trip each)
ROUND_TRIPS = frozenset(
    {
        "execute",
        "executemany",
        "executescript",
        "_execute_fetchall",
        "_execute_insert",
        "commit",
        "rollback",
    }
)


class LabConnection(aiosqlite.Connection):
    """An ``aiosqlite.Connection`` with simulated latency and statement timing.

    Class attributes hold the defaults, so a plain aiosqlite connection can be adopted
    (its class switched) when a statement log is first attached to it.
    """

    _lab_latency_s: float = 0.0
    _lab_connect_latency_s: float = 0.0
    _lab_sleep: Sleep | None = None
    _lab_recorder: Recorder | None = None
    _lab_validate: bool = False

    @property
    def latency_ms(self) -> float:
        return self._lab_latency_s * 1000.0

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if getattr(fn, "__name__", "") in ROUND_TRIPS:
            await self._wait_round_trip()
        return await self._on_thread(fn, *args, **kwargs)

    async def round_trip(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``work(sqlite3_connection)`` on the connection's thread as ONE round trip.

        Several statements sent together (a transaction a client sends in one message) pay
        ``latency_ms`` once; a statement log records each of them as usual.
        """
        await self._wait_round_trip()
        result: T = await self._on_thread(work, self._conn)
        return result

    async def _wait_round_trip(self) -> None:
        if self._lab_latency_s > 0:
            await (self._lab_sleep or asyncio.sleep)(self._lab_latency_s)

    async def _on_thread(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        recorder = self._lab_recorder
        if recorder is None:
            return await super()._execute(fn, *args, **kwargs)
        return await super()._execute(recorder.run, fn, args, kwargs)

    async def _connect(self) -> LabConnection:
        if self._lab_connect_latency_s > 0:
            await (self._lab_sleep or asyncio.sleep)(self._lab_connect_latency_s)
        await super()._connect()
        if self._lab_validate:
            try:
                # reading the schema is the first moment SQLite looks inside the file
                await super()._execute(self._conn.execute, "PRAGMA schema_version")
            except sqlite3.DatabaseError as exc:
                await self.close()
                raise DatabaseError(f"cannot open the database: {exc}") from None
        self.row_factory = aiosqlite.Row
        return self


def adopt(db: aiosqlite.Connection, recorder: Recorder) -> None:
    """Give a connection statement timing (switching a plain aiosqlite one to LabConnection)."""
    if not isinstance(db, LabConnection):
        db.__class__ = LabConnection
    db._lab_recorder = recorder  # type: ignore[attr-defined]


def _location(path: str | os.PathLike[str], readonly: bool) -> tuple[str, bool]:
    """The URI to open; a missing file is an error (sqlite would silently create an empty one)."""
    text = os.fspath(path)
    if text == ":memory:":
        return text, False
    file = Path(text).expanduser()
    if not file.is_file():
        raise DatabaseError(
            f"no database at {file}: get one with labkit.data.fresh_copy() or `labkit data build`"
        )
    mode = "ro" if readonly else "rw"
    return f"{file.resolve().as_uri()}?mode={mode}", True


def _check_ms(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
        raise DatabaseError(f"{name} must be a number of milliseconds ≥ 0, got {value!r}")
    return float(value) / 1000.0


def connect(
    path: str | os.PathLike[str],
    *,
    latency_ms: float = 0.0,
    readonly: bool = False,
    connect_latency_ms: float = 0.0,
    timeout: float = 5.0,
    autocommit: bool = False,
    sleep: Sleep | None = None,
) -> LabConnection:
    """Open ``path`` with aiosqlite: ``async with connect(path, latency_ms=1) as db: ...``.

    Rows come back as ``aiosqlite.Row`` (index by name or position). ``connect_latency_ms``
    simulates the cost of opening a connection (TCP and authentication on a real server);
    ``timeout`` is how long a statement waits for another connection's lock (SQLite's busy
    timeout); ``autocommit=True`` opens no transaction on its own (``isolation_level=None``):
    each statement commits unless the caller sends ``BEGIN``. ``sleep`` replaces
    ``asyncio.sleep`` for the simulated waits (tests count them).
    """
    latency_s = _check_ms("latency_ms", latency_ms)
    connect_latency_s = _check_ms("connect_latency_ms", connect_latency_ms)
    location, uri = _location(path, readonly)

    def connector() -> sqlite3.Connection:
        if autocommit:
            return sqlite3.connect(location, uri=uri, timeout=timeout, isolation_level=None)
        return sqlite3.connect(location, uri=uri, timeout=timeout)

    db = LabConnection(connector, iter_chunk_size=64)
    # aiosqlite's worker thread is not a daemon: a connection nobody closed would keep the
    # process (a notebook kernel, a server worker) from exiting (aiosqlite #299).
    db._thread.daemon = True
    db._lab_latency_s = latency_s
    db._lab_connect_latency_s = connect_latency_s
    db._lab_sleep = sleep
    db._lab_validate = True
    return db


class SyncLabConnection(sqlite3.Connection):
    """A ``sqlite3.Connection`` that sleeps ``latency_ms`` before each statement and times them."""

    _lab_latency_s: float = 0.0
    _lab_timed = True
    _lab_recorder: Recorder | None = None

    def _round_trip(self, fn: Callable[..., Any], *args: Any) -> Any:
        if self._lab_latency_s > 0:
            time.sleep(self._lab_latency_s)
        recorder = self._lab_recorder
        if recorder is None:
            return fn(*args)
        return recorder.run(fn, args, {})

    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
        return cast(sqlite3.Cursor, self._round_trip(super().execute, sql, parameters))

    def executemany(self, sql: str, parameters: Any, /) -> sqlite3.Cursor:
        return cast(sqlite3.Cursor, self._round_trip(super().executemany, sql, parameters))

    def executescript(self, script: str, /) -> sqlite3.Cursor:
        return cast(sqlite3.Cursor, self._round_trip(super().executescript, script))

    def commit(self) -> None:
        self._round_trip(super().commit)

    def rollback(self) -> None:
        self._round_trip(super().rollback)


def sync_connect(
    path: str | os.PathLike[str],
    *,
    latency_ms: float = 0.0,
    readonly: bool = False,
    timeout: float = 5.0,
) -> SyncLabConnection:
    """The synchronous twin of ``connect``: a sqlite3 connection with simulated latency."""
    latency_s = _check_ms("latency_ms", latency_ms)
    location, uri = _location(path, readonly)
    conn = sqlite3.connect(location, uri=uri, timeout=timeout, factory=SyncLabConnection)
    try:
        conn.execute("PRAGMA schema_version")
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise DatabaseError(f"cannot open the database: {exc}") from None
    conn._lab_latency_s = latency_s
    conn.row_factory = sqlite3.Row
    return conn
