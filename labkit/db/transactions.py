"""Writes that several processes make to one SQLite file: a transaction each, retried if locked.

SQLite lets one connection write at a time. A write that finds the file locked waits up to the
connection's busy timeout, then fails with ``database is locked``. ``write_transaction`` runs one
write statement inside its own ``BEGIN IMMEDIATE`` transaction (the write lock is taken up front,
so the transaction never has to upgrade a read snapshot another process outdated) and rolls it
back on any failure, so no transaction — and no old snapshot — outlives a failed statement.
``retry_locked`` repeats an operation that failed on a lock a bounded number of times, with a
growing, jittered pause; when every attempt fails it raises :class:`DatabaseBusy`.
"""

from __future__ import annotations

import asyncio
import logging
import random
import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Final, TypeVar

from labkit.db.connection import LabConnection
from labkit.errors import DatabaseError

log = logging.getLogger("labkit.db")
T = TypeVar("T")

ATTEMPTS: Final = 5
BACKOFF_S: Final = 0.02  # the first pause between attempts; doubles each time, with jitter


class DatabaseBusy(DatabaseError):
    """The database stayed locked through every attempt: the operation may be repeated later."""


def is_lock_error(exc: BaseException) -> bool:
    """SQLITE_BUSY / SQLITE_LOCKED in any of their extended forms."""
    if not isinstance(exc, sqlite3.OperationalError):
        return False
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return (code & 0xFF) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    text = str(exc)
    return "locked" in text or "busy" in text


async def retry_locked(
    attempt: Callable[[], Awaitable[T]],
    *,
    attempts: int = ATTEMPTS,
    backoff_s: float = BACKOFF_S,
    on_retry: Callable[[], None] | None = None,
) -> T:
    """``await attempt()``, again while it fails on a lock, at most ``attempts`` times in all.

    ``on_retry`` is called after each attempt that failed on a lock (a counter, a log line).
    Errors other than a lock are raised at once; the last lock error becomes ``DatabaseBusy``.
    """
    attempts = max(1, attempts)
    for number in range(attempts):
        try:
            return await attempt()
        except sqlite3.OperationalError as exc:
            if not is_lock_error(exc):
                raise
            if on_retry is not None:
                on_retry()
            if number == attempts - 1:
                raise DatabaseBusy(
                    f"the database stayed locked through {attempts} attempts: {exc}"
                ) from exc
            pause = backoff_s * 2**number
            await asyncio.sleep(pause * (0.5 + random.random()))  # jitter: writers out of step
    raise AssertionError("unreachable")  # pragma: no cover


async def write_transaction(db: LabConnection, sql: str, params: Sequence[Any] = ()) -> int:
    """Run one write in its own ``BEGIN IMMEDIATE`` transaction; the number of rows it changed.

    The three statements (``BEGIN IMMEDIATE``, the write, ``COMMIT``) travel as one round trip.
    Any failure rolls the transaction back before it is raised. ``db`` must have no
    transaction open (``connect(..., autocommit=True)`` never opens one by itself).
    """

    def transaction(conn: sqlite3.Connection) -> int:
        conn.execute("BEGIN IMMEDIATE")
        try:
            cursor = conn.execute(sql, tuple(params))
            changed = cursor.rowcount
            cursor.close()
            conn.execute("COMMIT")
        except BaseException:
            rollback(conn)
            raise
        return int(changed)

    return await db.round_trip(transaction)


def rollback(conn: sqlite3.Connection) -> None:
    """Leave no transaction open after a failure (its snapshot would go stale)."""
    if conn.in_transaction:
        try:
            conn.execute("ROLLBACK")
        except sqlite3.Error:
            log.warning("rollback failed after a database error", exc_info=True)
