"""Count what SQL really costs: VM steps, transactions, and a query timeout.

Wall-clock time is noisy on a shared machine; these counts are not. ``vm_steps`` counts the
instructions SQLite's virtual machine executes (through the progress handler), which grows
with the rows a statement visits: an ``OFFSET 5000`` page visits 5,000 rows it throws away, a
keyset page does not. ``count_transactions`` reads a statement log and counts the transactions
it contains, including the implicit one-statement transactions of autocommit writes.
``query_timeout`` interrupts a statement that runs past a deadline.

SQLite keeps a single progress handler per connection, so ``vm_steps`` and ``query_timeout``
cannot be nested on the same connection.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiosqlite

from labkit.db.recorder import PROBE_PREFIX
from labkit.db.sql_text import is_write
from labkit.display import TextView
from labkit.errors import DatabaseError, InstrumentBlinded

__all__ = [
    "StepCounter",
    "TransactionCount",
    "count_transactions",
    "query_timeout",
    "vm_steps",
]

_BEGIN = re.compile(r"^\s*BEGIN\b", re.IGNORECASE)
_COMMIT = re.compile(r"^\s*(COMMIT|END)\b", re.IGNORECASE)
_ROLLBACK = re.compile(r"^\s*ROLLBACK\s*(TRANSACTION)?\s*;?\s*$", re.IGNORECASE)


@dataclass(repr=False)
class StepCounter(TextView):
    """Instructions SQLite's virtual machine ran while the counter was active."""

    count: int = 0

    def __str__(self) -> str:
        return f"{self.count:,} VM steps"


def _connection(db: Any) -> Any:
    """The object that owns ``set_progress_handler`` (aiosqlite or sqlite3 connection)."""
    if not hasattr(db, "set_progress_handler"):
        raise DatabaseError(f"expected an SQLite connection, got {type(db).__name__}")
    return db


async def _set_handler(db: Any, handler: Callable[[], int] | None, every: int) -> None:
    result = _connection(db).set_progress_handler(handler, every)
    if hasattr(result, "__await__"):  # aiosqlite runs it on the connection's thread
        await result


def _probe_sql(every: int) -> str:
    """A statement that runs well over ``every`` VM steps (and that statement logs ignore)."""
    rows = max(10, every)
    return (
        f"{PROBE_PREFIX} (vm steps)', (WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL "
        f"SELECT i + 1 FROM c WHERE i < {rows}) SELECT count(*) FROM c)"
    )


async def _run_probe(db: Any, sql: str) -> None:
    if isinstance(db, aiosqlite.Connection):
        conn = db

        def on_thread() -> None:
            sqlite3.Connection.execute(conn._conn, sql).fetchall()

        # straight onto the connection's thread: no simulated latency, no statement log entry
        await aiosqlite.Connection._execute(db, on_thread)
    else:
        sqlite3.Connection.execute(db, sql).fetchall()


@asynccontextmanager
async def vm_steps(db: Any, *, every: int = 1) -> AsyncIterator[StepCounter]:
    """Count SQLite VM instructions run on ``db`` inside the block (``every`` = resolution).

    When the block ends, a probe statement must still reach the counter's progress handler;
    if the code inside switched it off or replaced it, ``InstrumentBlinded`` is raised.
    """
    counter = StepCounter()
    probing = [0]  # > 0 while the probe runs: its steps are not the block's

    def tick() -> int:
        if probing[0]:
            probing[0] += 1
        else:
            counter.count += every
        return 0  # 0 = keep running

    await _set_handler(db, tick, every)
    try:
        yield counter
        probing[0] = 1
        try:
            await _run_probe(db, _probe_sql(every))
        except (sqlite3.Error, ValueError):
            probing[0] = 0  # the connection cannot run anything: nothing more to count
        if probing[0] == 1:
            raise InstrumentBlinded(
                "your code switched off the VM step counter: SQLite's progress handler was "
                "removed or replaced (`set_progress_handler`) while it was counting"
            )
    finally:
        await _set_handler(db, None, every)


@asynccontextmanager
async def query_timeout(
    db: Any, seconds: float, *, clock: Callable[[], float] = time.monotonic
) -> AsyncIterator[None]:
    """Interrupt any statement on ``db`` still running ``seconds`` after the block starts.

    SQLite raises ``sqlite3.OperationalError('interrupted')`` in the statement; this turns it
    into a ``DatabaseError`` with a readable message. The check runs every 1,000 VM steps.
    """
    if seconds <= 0:
        raise DatabaseError(f"a query timeout must be positive, not {seconds}")
    deadline = clock() + seconds

    def over_deadline() -> int:
        return 1 if clock() > deadline else 0

    await _set_handler(db, over_deadline, 1000)
    try:
        yield
    except sqlite3.OperationalError as exc:
        if "interrupt" not in str(exc).lower():
            raise
        raise DatabaseError(
            f"query cancelled: it ran longer than the {seconds:g} s timeout"
        ) from exc
    finally:
        await _set_handler(db, None, 1000)


@dataclass(frozen=True, repr=False)
class TransactionCount(TextView):
    """Transactions found in a statement log, and how they ended."""

    transactions: int
    commits: int
    rollbacks: int
    autocommit_writes: int
    writes: int

    def __str__(self) -> str:
        return (
            f"{self.transactions} transaction(s): {self.commits} commit(s), "
            f"{self.rollbacks} rollback(s), {self.autocommit_writes} autocommit write(s), "
            f"{self.writes} write statement(s)"
        )


def _sql_of(item: Any) -> str:
    return item if isinstance(item, str) else str(getattr(item, "sql", item))


def count_transactions(statements: Iterable[Any]) -> TransactionCount:
    """Count transactions in logged statements (SQL strings or objects with ``.sql``).

    A ``BEGIN`` opens a transaction that ends at ``COMMIT``/``ROLLBACK``; a write run outside
    an explicit transaction is its own (autocommit) transaction, and each one is a disk sync.
    ``ROLLBACK TO <savepoint>`` does not end a transaction. A write is recognised by its verb
    after any ``WITH`` clause (``WITH v AS (...) INSERT ...`` is one) and, for statements from
    ``statement_log``, by the rows SQLite says it changed; whether a transaction was open is
    then taken from SQLite itself (``Statement.in_transaction``), not guessed from the text.
    """
    transactions = commits = rollbacks = autocommit = writes = 0
    inside = False
    for item in statements:
        sql = _sql_of(item)
        observed = getattr(item, "in_transaction", None)
        changes = getattr(item, "changes", None) or 0
        if observed is True and not inside:  # opened by a statement the log did not see
            transactions += 1
            inside = True
        if _BEGIN.match(sql):
            if not inside:
                transactions += 1
            inside = True
        elif _COMMIT.match(sql):
            commits += int(inside)
            inside = False
        elif _ROLLBACK.match(sql):
            rollbacks += int(inside)
            inside = False
        elif is_write(sql) or changes > 0:
            writes += 1
            if not inside:
                autocommit += 1
                transactions += 1
    return TransactionCount(transactions, commits, rollbacks, autocommit, writes)
