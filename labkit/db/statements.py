"""Record every statement SQLite runs on a connection: ``statement_log`` and ``slow_statement_log``.

SQLite's trace callback names each statement as it starts (with its parameters already
expanded into the text). It runs on whichever thread runs the statement: for aiosqlite that is
the connection's worker thread, so the recorder keeps its state behind a lock and switches logs
on and off through aiosqlite's own operation queue, in order with the statements around them.
Durations are SQLite's own time on that thread (excluding any simulated network latency),
including the time later spent fetching the statement's rows.
"""

from __future__ import annotations

import html
import math
import re
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aiosqlite

from labkit.display import TextView
from labkit.errors import DatabaseError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

# sqlite3 methods that start statements, and the parameters they were given
_SINGLE = frozenset({"execute", "_execute_fetchall", "_execute_insert"})
_MANY = "executemany"


@dataclass(slots=True)
class Statement:
    """One statement as SQLite ran it."""

    sql: str
    params: Any = ()
    duration_s: float = math.nan  # NaN when the connection does not time its operations

    @property
    def duration_ms(self) -> float:
        return self.duration_s * 1000.0

    def __str__(self) -> str:
        return self.sql


class StatementLog(TextView):
    """What ``with statement_log(db) as log:`` collects: ``log.count``, ``log.statements``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[Statement] = []

    def _append(self, statement: Statement) -> None:
        with self._lock:
            self._items.append(statement)

    def _keep(self, statement: Statement) -> bool:
        return True

    @property
    def statements(self) -> list[Statement]:
        with self._lock:
            items = list(self._items)
        return [s for s in items if self._keep(s)]

    @property
    def count(self) -> int:
        return len(self.statements)

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[Statement]:
        return iter(self.statements)

    @property
    def total_s(self) -> float:
        return math.fsum(s.duration_s for s in self.statements if not math.isnan(s.duration_s))

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        rows = [(s.sql, s.params, s.duration_s * 1000.0) for s in self.statements]
        return pd.DataFrame(rows, columns=["sql", "params", "duration_ms"])

    def shapes(self) -> pd.DataFrame:
        """Statements grouped by shape (literals → ``?``): a repeated shape is the N+1 smell."""
        import pandas as pd

        order: list[str] = []
        counts: dict[str, int] = {}
        totals: dict[str, float] = {}
        for s in self.statements:
            shape = normalise_sql(s.sql)
            if shape not in counts:
                order.append(shape)
                counts[shape], totals[shape] = 0, 0.0
            counts[shape] += 1
            if not math.isnan(s.duration_s):
                totals[shape] += s.duration_s * 1000.0
        rows = [(shape, counts[shape], totals[shape]) for shape in order]
        frame = pd.DataFrame(rows, columns=["shape", "count", "total_ms"])
        return frame.sort_values("count", ascending=False, kind="stable").reset_index(drop=True)

    def _title(self) -> str:
        n = self.count
        return f"{n} SQL statement{'s' if n != 1 else ''}"

    def __str__(self) -> str:
        lines = [self._title()]
        for i, s in enumerate(self.statements[:20], 1):
            timing = "" if math.isnan(s.duration_s) else f"  ({s.duration_ms:.2f} ms)"
            lines.append(f"{i:>3}. {_shorten(s.sql)}{timing}")
        if self.count > 20:
            lines.append(f"     … {self.count - 20} more (log.to_frame() has them all)")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        shapes = self.shapes().head(10)
        body = "".join(
            f"<tr><td style='text-align:right'>{row.count}</td>"
            f"<td><code>{html.escape(_shorten(str(row.shape), 160))}</code></td></tr>"
            for row in shapes.itertuples()
        )
        return (
            f"<div><b>{self._title()}</b>"
            f"<table><tr><th>count</th><th>statement shape</th></tr>{body}</table></div>"
        )


class SlowStatementLog(StatementLog):
    """Only the statements that took at least ``threshold_ms`` of SQLite's time."""

    def __init__(self, threshold_ms: float) -> None:
        super().__init__()
        self.threshold_ms = threshold_ms

    def _keep(self, statement: Statement) -> bool:
        return not math.isnan(statement.duration_s) and (
            statement.duration_s * 1000.0 >= self.threshold_ms
        )

    def _title(self) -> str:
        return f"{super()._title()} slower than {self.threshold_ms:g} ms"


_LITERAL = re.compile(
    r"'(?:[^']|'')*'"  # string literal
    r"|(?<![\w.])[xX]'[0-9a-fA-F]*'"  # blob literal
    r"|(?<![\w.$:@?])-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w.])"  # number
)
_LIST = re.compile(r"\(\s*\?(?:\s*,\s*\?)+\s*\)")
_SPACE = re.compile(r"\s+")


def normalise_sql(sql: str) -> str:
    """The statement's shape: literals → ``?``, ``IN (?, ?, ?)`` → ``IN (?…)``, spaces collapsed."""
    shape = _LITERAL.sub("?", sql)
    shape = _LIST.sub("(?…)", shape)
    return _SPACE.sub(" ", shape).strip()


def _shorten(sql: str, limit: int = 110) -> str:
    flat = _SPACE.sub(" ", sql).strip()
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


class Recorder:
    """Per-connection state shared by the trace callback and the operation wrapper."""

    def __init__(self, timed: bool) -> None:
        self.timed = timed
        self._lock = threading.Lock()
        self._logs: list[StatementLog] = []
        self._current: Statement | None = None
        self._mark = 0.0
        self._last: Statement | None = None
        self._params: Any = None
        self._param_rows: Sequence[Any] | None = None
        self._row = 0
        self._by_cursor: weakref.WeakKeyDictionary[sqlite3.Cursor, Statement] = (
            weakref.WeakKeyDictionary()
        )

    def start(self, log: StatementLog) -> None:
        with self._lock:
            self._logs.append(log)

    def stop(self, log: StatementLog) -> None:
        with self._lock:
            if log in self._logs:
                self._logs.remove(log)

    def on_statement(self, sql: str) -> None:
        """The sqlite3 trace callback (runs on the thread that runs the statement)."""
        with self._lock:
            logs = list(self._logs)
        if not logs:
            return
        now = time.perf_counter()
        self._close_segment(now)
        statement = Statement(sql, self._next_params(sql), 0.0 if self.timed else math.nan)
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
        self._mark = time.perf_counter()
        try:
            result = fn(*args, **kwargs)
        finally:
            self._close_segment(time.perf_counter())
            self._current, self._params, self._param_rows = None, None, None
        if self._last is not None:
            for cursor in (result, target):
                if isinstance(cursor, sqlite3.Cursor):
                    self._by_cursor[cursor] = self._last
        return result


def _is_closed(db: object) -> bool:
    if isinstance(db, aiosqlite.Connection):
        return db._connection is None or not db._running
    if isinstance(db, sqlite3.Connection):
        try:
            db.total_changes  # noqa: B018 - raises on a closed connection
        except sqlite3.ProgrammingError:
            return True
    return False


def recorder_for(db: object, where: str) -> Recorder:
    """The connection's recorder, installing the trace callback on first use."""
    if not isinstance(db, aiosqlite.Connection | sqlite3.Connection):
        raise DatabaseError(
            f"{where} needs a database connection (from labkit.db.connect), got {type(db).__name__}"
        )
    if _is_closed(db):
        raise DatabaseError(
            f"{where}: the connection is closed; use it inside `async with connect(path) as db:`"
        )
    existing: Recorder | None = getattr(db, "_lab_recorder", None)
    if existing is not None:
        return existing
    if isinstance(db, aiosqlite.Connection):
        from labkit.db.connection import adopt

        recorder = Recorder(timed=True)
        adopt(db, recorder)
        conn = db
        db._tx.put_nowait((None, lambda: conn._conn.set_trace_callback(recorder.on_statement)))
        return recorder
    recorder = Recorder(timed=bool(getattr(db, "_lab_timed", False)))
    try:
        db.set_trace_callback(recorder.on_statement)
    except sqlite3.ProgrammingError as exc:
        raise DatabaseError(f"{where}: cannot trace this connection ({exc})") from None
    if hasattr(db, "__dict__"):  # SyncLabConnection keeps it; a plain sqlite3 one cannot
        db._lab_recorder = recorder  # type: ignore[attr-defined]
    return recorder


def _switch(db: object, action: Callable[[], None]) -> None:
    if isinstance(db, aiosqlite.Connection) and not _is_closed(db):
        # queued, so it takes effect exactly between the statements queued before and after
        db._tx.put_nowait((None, action))
    else:
        action()


@contextmanager
def _logging(db: object, log: StatementLog, where: str) -> Iterator[StatementLog]:
    recorder = recorder_for(db, where)
    _switch(db, lambda: recorder.start(log))
    try:
        yield log
    finally:
        _switch(db, lambda: recorder.stop(log))


def statement_log(db: object) -> Any:
    """``with statement_log(db) as log:`` records every statement run inside the block."""
    return _logging(db, StatementLog(), "statement_log")


def slow_statement_log(db: object, threshold_ms: float = 200.0) -> Any:
    """Like ``statement_log`` but keeps only statements taking ≥ ``threshold_ms`` (SQLite time)."""
    if not isinstance(threshold_ms, int | float) or threshold_ms < 0:
        raise DatabaseError(f"threshold_ms must be a number ≥ 0, got {threshold_ms!r}")
    return _logging(db, SlowStatementLog(float(threshold_ms)), "slow_statement_log")
