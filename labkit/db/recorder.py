"""The per-connection recorder behind ``statement_log``: trace callback, evidence, self-checks.

SQLite's trace callback names each statement as it starts (parameters expanded into the text).
It runs on whichever thread runs the statement: for aiosqlite that is the connection's worker
thread, so the recorder keeps its state behind a lock, and every switch (start a log, stop it,
probe it) is queued on aiosqlite's own operation queue, in order with the statements around it.

A trace callback is easy to switch off (``db.set_trace_callback(None)``), so a log does not
take silence for an answer. Besides the statements it is told about, the recorder collects
evidence the callback cannot give or take away: the calls made through the connection, the
rows fetched, and SQLite's own count of rows changed (``total_changes``). When a log starts, the
callback is installed again; when it stops (and whenever its count is read), a harmless probe
statement is run and must reach the callback — if it does not, the log is *blinded* and reading
it raises ``InstrumentBlinded``.
"""

from __future__ import annotations

import itertools
import math
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import aiosqlite

from labkit.display import TextView

# sqlite3 methods that start statements, and the parameters they were given
_SINGLE = frozenset({"execute", "_execute_fetchall", "_execute_insert"})
_MANY = "executemany"
_SENDS = frozenset({*_SINGLE, _MANY, "executescript"})
_FETCHES = frozenset({"fetchall", "fetchmany", "fetchone", "_execute_fetchall"})

PROBE_PREFIX = "SELECT 'labkit statement-log probe"
"""Probe statements start with this text; logs never record them."""

_probe_numbers = itertools.count(1)
PROBE_WAIT_S = 10.0
"""How long reading a log waits for its probe to run on a busy connection's thread."""


@dataclass(slots=True, repr=False)
class Statement(TextView):
    """One statement as SQLite ran it.

    ``changes``: rows it inserted, updated or deleted (SQLite's own count); ``in_transaction``:
    whether a transaction was already open when it started (a write that starts outside one is
    a transaction of its own). Both are ``None`` when the log could not observe them.
    """

    sql: str
    params: Any = ()
    duration_s: float = math.nan  # NaN when the connection does not time its operations
    changes: int | None = None
    in_transaction: bool | None = None

    @property
    def duration_ms(self) -> float:
        return self.duration_s * 1000.0

    def __str__(self) -> str:
        return self.sql


class Log(Protocol):
    """What the recorder writes into while a log records (``StatementLog`` is one)."""

    _calls: int
    _rows_fetched: int
    _changes_at_start: int | None
    _changes_at_end: int | None

    def _append(self, statement: Statement) -> None: ...


def _rows_in(result: Any) -> int:
    if isinstance(result, list):
        return len(result)
    if result is None:
        return 0
    return 1  # fetchone: one row


class Recorder:
    """Per-connection state shared by the trace callback and the operation wrapper."""

    def __init__(self, timed: bool) -> None:
        self.timed = timed
        self.conn: sqlite3.Connection | None = None  # set on the connection's own thread
        self._lock = threading.Lock()
        self._logs: list[Log] = []
        self._current: Statement | None = None
        self._mark = 0.0
        self._last: Statement | None = None
        self._params: Any = None
        self._param_rows: Sequence[Any] | None = None
        self._row = 0
        self._by_cursor: weakref.WeakKeyDictionary[sqlite3.Cursor, Statement] = (
            weakref.WeakKeyDictionary()
        )
        self._changing: Statement | None = None  # the statement new changes are charged to
        self._changes_mark = 0
        self._probe_sql: str | None = None
        self._probe_seen = False

    # ---- switching logs on and off (on the connection's thread) --------------------------------
    def install(self, conn: sqlite3.Connection) -> None:
        """(Re-)install the trace callback: an earlier caller may have switched it off."""
        self.conn = conn
        conn.set_trace_callback(self.on_statement)

    def start(self, log: Log) -> None:
        log._changes_at_start = self._total_changes()
        with self._lock:
            if not self._logs:
                self._changing, self._changes_mark = None, log._changes_at_start or 0
            self._logs.append(log)

    def stop(self, log: Log) -> None:
        self._charge_changes()
        log._changes_at_end = self._total_changes()
        with self._lock:
            if log in self._logs:
                self._logs.remove(log)

    def probe(self) -> str | None:
        """Run a harmless statement and confirm the trace callback saw it; the problem, if any."""
        conn = self.conn
        if conn is None:
            return "used a connection the statement log was never attached to"
        sql = f"{PROBE_PREFIX} {next(_probe_numbers)}'"
        with self._lock:
            self._probe_sql, self._probe_seen = sql, False
        try:
            sqlite3.Connection.execute(conn, sql).fetchall()
        except sqlite3.Error as exc:
            return f"left the connection unable to run a statement ({exc})"
        finally:
            with self._lock:
                seen, self._probe_sql = self._probe_seen, None
        if seen:
            return None
        self.install(conn)  # put the callback back, so later logs on this connection work
        return (
            "switched off the statement log: the SQLite trace callback was removed or replaced "
            "(`set_trace_callback`) while it was recording, so statements went uncounted"
        )

    def _total_changes(self) -> int | None:
        try:
            return None if self.conn is None else int(self.conn.total_changes)
        except sqlite3.Error:
            return None

    def _charge_changes(self) -> None:
        """Give the rows changed since the last look to the statement that was running."""
        total = self._total_changes()
        if total is None:
            return
        delta, self._changes_mark = total - self._changes_mark, total
        target = self._changing
        if delta and target is not None:
            target.changes = (target.changes or 0) + delta

    # ---- the trace callback --------------------------------------------------------------------
    def on_statement(self, sql: str) -> None:
        """The sqlite3 trace callback (runs on the thread that runs the statement)."""
        if sql.startswith(PROBE_PREFIX):
            with self._lock:
                if sql == self._probe_sql:
                    self._probe_seen = True
            return
        with self._lock:
            logs = list(self._logs)
        if not logs:
            return
        now = time.perf_counter()
        self._close_segment(now)
        self._charge_changes()
        conn = self.conn
        statement = Statement(
            sql,
            self._next_params(sql),
            0.0 if self.timed else math.nan,
            changes=0 if conn is not None else None,
            in_transaction=bool(conn.in_transaction) if conn is not None else None,
        )
        self._changing = statement
        for log in logs:
            log._append(statement)
        if self.timed:
            self._current, self._mark, self._last = statement, now, statement

    def _next_params(self, sql: str) -> Any:
        if sql.strip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK")):
            return ()  # sqlite3's implicit transaction statements
        if self._param_rows is not None:
            rows, self._row = self._param_rows, self._row + 1
            return rows[self._row - 1] if self._row <= len(rows) else ()
        params, self._params = self._params, None
        if params is None:
            return ()
        return tuple(params) if isinstance(params, list) else params

    def _close_segment(self, now: float) -> None:
        if self._current is not None:
            self._current.duration_s += now - self._mark
            self._mark = now

    # ---- the operation wrapper -----------------------------------------------------------------
    def run(self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Run one connection operation on its thread, charging the time to its statement."""
        target = getattr(fn, "__self__", None)
        name = getattr(fn, "__name__", "")
        self._current = self._by_cursor.get(target) if isinstance(target, sqlite3.Cursor) else None
        self._last = None
        if name in _SINGLE and len(args) > 1:
            self._params = args[1]
        elif name == _MANY and len(args) > 1 and isinstance(args[1], list | tuple):
            self._param_rows, self._row = args[1], 0
        with self._lock:
            logs = list(self._logs)
        if name in _SENDS:
            for log in logs:
                log._calls += 1
        self._mark = time.perf_counter()
        try:
            result = fn(*args, **kwargs)
        finally:
            self._close_segment(time.perf_counter())
            self._current, self._params, self._param_rows = None, None, None
        if name in _FETCHES:
            for log in logs:
                log._rows_fetched += _rows_in(result)
        if self._last is not None:
            for cursor in (result, target):
                if isinstance(cursor, sqlite3.Cursor):
                    self._by_cursor[cursor] = self._last
        return result


# ---- attaching to a connection ---------------------------------------------------------------
def is_closed(db: object) -> bool:
    if isinstance(db, aiosqlite.Connection):
        return db._connection is None or not db._running
    if isinstance(db, sqlite3.Connection):
        try:
            db.total_changes  # noqa: B018 - raises on a closed connection
        except sqlite3.ProgrammingError:
            return True
    return False


def on_connection_thread(
    db: object,
    action: Callable[[sqlite3.Connection], None],
    closed: Callable[[], None] = lambda: None,
) -> None:
    """Run ``action(sqlite3_connection)`` where the connection's statements run, or ``closed()``.

    For aiosqlite it is queued, so it takes effect exactly between the statements queued
    before and after it.
    """
    if isinstance(db, aiosqlite.Connection):
        if is_closed(db):
            closed()
            return
        conn = db

        def queued() -> None:
            raw = conn._connection
            if raw is None:
                closed()
            else:
                action(raw)

        db._tx.put_nowait((None, queued))
    elif isinstance(db, sqlite3.Connection):
        if is_closed(db):
            closed()
        else:
            action(db)
    else:
        closed()


def wait_for(event: threading.Event, db: object) -> bool:
    """Wait for a queued action; never from the connection's own worker thread (it would hang)."""
    if event.is_set():
        return True
    thread = getattr(db, "_thread", None)
    if thread is not None and thread is threading.current_thread():
        return False
    return event.wait(PROBE_WAIT_S)


def _nothing() -> None:
    return None


async def settled(db: object) -> None:
    """Wait until every action queued on an aiosqlite connection so far has run (others: now).

    A no-op sent through aiosqlite's own queue, behind them: no simulated latency, no log entry.
    """
    if isinstance(db, aiosqlite.Connection) and not is_closed(db):
        try:
            await aiosqlite.Connection._execute(db, _nothing)
        except ValueError:  # closed meanwhile: the queued actions ran their `closed` branch
            return
