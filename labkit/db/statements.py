"""Record every statement SQLite runs on a connection: ``statement_log`` and ``slow_statement_log``.

Durations are SQLite's own time on the connection's thread (excluding any simulated network
latency), including the time later spent fetching the statement's rows. Besides the statements,
a log keeps evidence the trace callback cannot fake: calls made through the connection, rows
fetched, rows changed (SQLite's ``total_changes``). It checks itself when it stops and whenever
it is read: a log whose trace callback was switched off raises ``InstrumentBlinded`` instead of
reporting too few statements (see ``labkit.db.recorder``).
"""

from __future__ import annotations

import html
import math
import re
import sqlite3
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Generic, TypeVar

import aiosqlite

from labkit.db.connection import adopt
from labkit.db.recorder import (
    Recorder,
    Statement,
    is_closed,
    on_connection_thread,
    settled,
    wait_for,
)
from labkit.display import TextView
from labkit.errors import DatabaseError, InstrumentBlinded

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd


class StatementLog(TextView):
    """What ``with statement_log(db) as log:`` collects: ``log.count``, ``log.statements``.

    Evidence besides the statements: ``log.calls`` (execute/executemany/... calls made through
    the connection), ``log.rows_fetched`` (rows the caller fetched; aiosqlite connections),
    ``log.changes`` (rows changed, from SQLite's ``total_changes``). Reading ``statements`` or
    ``count`` first confirms the trace callback still works (``log.verify()``).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[Statement] = []
        self._calls = 0
        self._rows_fetched = 0
        self._changes_at_start: int | None = None
        self._changes_at_end: int | None = None
        self._counts_calls = False
        self._counts_fetches = False
        self._problem: str | None = None
        self._probe_now: Callable[[], None] | None = None  # while recording: probe at once
        self._stopping: object = None  # after the block: the connection its exit probe runs on
        self._stopped = threading.Event()

    def _append(self, statement: Statement) -> None:
        with self._lock:
            self._items.append(statement)

    def _keep(self, statement: Statement) -> bool:
        return True

    # ---- self-check ------------------------------------------------------------------------
    def verify(self) -> None:
        """Raise ``InstrumentBlinded`` if the log may have missed statements (see module doc)."""
        if self._probe_now is not None:  # still recording: probe the callback now
            self._probe_now()
        elif self._stopping is not None and not wait_for(self._stopped, self._stopping):
            self._report(BUSY)
        if self._problem:
            raise InstrumentBlinded(f"your code {self._problem}")

    def _report(self, problem: str | None) -> None:
        if problem and not self._problem:
            self._problem = problem

    @property
    def problem(self) -> str | None:
        """Why the log cannot be trusted (``None`` when it can), without raising."""
        try:
            self.verify()
        except InstrumentBlinded as exc:
            return str(exc)
        return None

    # ---- what was recorded -----------------------------------------------------------------
    @property
    def statements(self) -> list[Statement]:
        self.verify()
        with self._lock:
            items = list(self._items)
        return [s for s in items if self._keep(s)]

    @property
    def count(self) -> int:
        return len(self.statements)

    @property
    def calls(self) -> int | None:
        """Statement-sending calls made through the connection (``None``: a plain sqlite3 one)."""
        self.verify()
        return self._calls if self._counts_calls else None

    @property
    def rows_fetched(self) -> int | None:
        """Rows fetched through the connection (aiosqlite connections; ``None`` elsewhere)."""
        self.verify()
        return self._rows_fetched if self._counts_fetches else None

    @property
    def changes(self) -> int | None:
        """Rows inserted, updated or deleted on the connection (SQLite's ``total_changes``)."""
        self.verify()
        if self._changes_at_start is None or self._changes_at_end is None:
            return None
        return self._changes_at_end - self._changes_at_start

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


BUSY = "kept the connection busy, so the statement log could not confirm what it saw"
CLOSED = "closed the connection while the statement log was recording"


def _probe_and_wait(db: object, recorder: Recorder, log: StatementLog) -> None:
    done = threading.Event()

    def probe(conn: sqlite3.Connection) -> None:
        log._report(recorder.probe())
        done.set()

    def closed() -> None:
        log._report(CLOSED)
        done.set()

    on_connection_thread(db, probe, closed)
    if not wait_for(done, db):
        log._report(BUSY)


def recorder_for(db: object, where: str) -> Recorder:
    """The connection's recorder (created on first use; the callback is installed by the log)."""
    if not isinstance(db, aiosqlite.Connection | sqlite3.Connection):
        raise DatabaseError(
            f"{where} needs a database connection (from labkit.db.connect), got {type(db).__name__}"
        )
    if is_closed(db):
        raise DatabaseError(
            f"{where}: the connection is closed; use it inside `async with connect(path) as db:`"
        )
    existing: Recorder | None = getattr(db, "_lab_recorder", None)
    if existing is not None:
        return existing
    if isinstance(db, aiosqlite.Connection):
        recorder = Recorder(timed=True)
        adopt(db, recorder)
        return recorder
    recorder = Recorder(timed=bool(getattr(db, "_lab_timed", False)))
    if hasattr(db, "__dict__"):  # SyncLabConnection keeps it; a plain sqlite3 one cannot
        db._lab_recorder = recorder  # type: ignore[attr-defined]
    return recorder


LogT = TypeVar("LogT", bound="StatementLog")


class Recording(Generic[LogT]):
    """The block a log records: ``with statement_log(db) as log:`` or ``async with ...``.

    Both record the same statements. ``async with`` also waits, without blocking the event
    loop, for the closing probe on the connection's thread, so reading the log afterwards
    never has to wait for it (code that counts statements per request uses this form).
    """

    def __init__(self, db: object, log: LogT, where: str) -> None:
        self.db = db
        self.log = log
        self.recorder = recorder_for(db, where)
        self.where = where

    def __enter__(self) -> LogT:
        db, log, recorder = self.db, self.log, self.recorder
        log._counts_calls = isinstance(db, aiosqlite.Connection) or hasattr(db, "_lab_recorder")
        log._counts_fetches = isinstance(db, aiosqlite.Connection)

        def begin(conn: sqlite3.Connection) -> None:
            recorder.install(conn)  # again: an earlier caller may have switched the callback off
            recorder.start(log)

        try:
            on_connection_thread(db, begin, self._closed)
        except sqlite3.ProgrammingError as exc:
            raise DatabaseError(f"{self.where}: cannot trace this connection ({exc})") from None
        log._probe_now = lambda: _probe_and_wait(db, recorder, log)
        return log

    def __exit__(self, *exc: object) -> None:
        log, recorder = self.log, self.recorder

        def end(conn: sqlite3.Connection) -> None:
            log._report(recorder.probe())
            recorder.stop(log)
            log._stopped.set()

        log._probe_now, log._stopping = None, self.db
        on_connection_thread(self.db, end, self._closed)

    async def __aenter__(self) -> LogT:
        return self.__enter__()

    async def __aexit__(self, *exc: object) -> None:
        self.__exit__(*exc)
        await settled(self.db)

    def _closed(self) -> None:
        self.log._report(CLOSED)
        self.log._stopped.set()


def statement_log(db: object) -> Recording[StatementLog]:
    """``with statement_log(db) as log:`` records every statement run inside the block."""
    return Recording(db, StatementLog(), "statement_log")


def slow_statement_log(db: object, threshold_ms: float = 200.0) -> Recording[SlowStatementLog]:
    """Like ``statement_log`` but keeps only statements taking ≥ ``threshold_ms`` (SQLite time)."""
    if not isinstance(threshold_ms, int | float) or threshold_ms < 0:
        raise DatabaseError(f"threshold_ms must be a number ≥ 0, got {threshold_ms!r}")
    return Recording(db, SlowStatementLog(float(threshold_ms)), "slow_statement_log")
