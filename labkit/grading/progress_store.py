"""The progress store: every check attempt, appended to a small SQLite file in ``$LABKIT_HOME``.

The learner's answer is never lost because of the store: a locked store is retried, then the
attempt is parked in ``progress.pending.jsonl`` (merged on the next successful write); a corrupt
store is moved aside as ``progress.sqlite.corrupt-<n>`` and a fresh one started, with a warning.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labkit.data.location import user_folder
from labkit.grading.result import CheckResult

HOME_ENV = "LABKIT_HOME"
STORE_NAME = "progress.sqlite"
PENDING_NAME = "progress.pending.jsonl"
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    exercise TEXT NOT NULL,
    notebook TEXT NOT NULL,
    verdict TEXT NOT NULL,
    points INTEGER NOT NULL,
    max_points INTEGER NOT NULL,
    measurements TEXT NOT NULL,
    message TEXT NOT NULL,
    seed INTEGER,
    seconds REAL,
    at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS predictions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    notebook TEXT NOT NULL,
    name TEXT NOT NULL,
    predicted TEXT NOT NULL,
    measured TEXT NOT NULL,
    unit TEXT NOT NULL,
    at REAL NOT NULL
)
"""
_COLUMNS = (
    "exercise",
    "notebook",
    "verdict",
    "points",
    "max_points",
    "measurements",
    "message",
    "seed",
    "seconds",
    "at",
)


class ProgressWarning(UserWarning):
    """The progress store had a problem; the check result itself is unaffected."""


def labkit_home() -> Path:
    """``$LABKIT_HOME``, else the user's data directory (``~/.local/share/labkit`` on Linux)."""
    override = os.environ.get(HOME_ENV)
    if override:
        return Path(override).expanduser()
    return user_folder()


@dataclass(frozen=True)
class Attempt:
    """One stored attempt."""

    exercise: str
    notebook: str
    verdict: str
    points: int
    max_points: int
    measurements: list[dict[str, Any]]
    message: str
    seed: int | None
    seconds: float | None
    at: float

    @classmethod
    def from_result(cls, result: CheckResult, at: float) -> Attempt:
        return cls(
            exercise=result.exercise_id,
            notebook=result.notebook,
            verdict=result.verdict,
            points=result.points,
            max_points=result.max_points,
            measurements=[m.to_dict() for m in result.measurements],
            message=result.message,
            seed=result.seed,
            seconds=result.seconds,
            at=at,
        )

    def row(self) -> tuple[Any, ...]:
        values = {**self.__dict__, "measurements": json.dumps(self.measurements, default=str)}
        return tuple(values[c] for c in _COLUMNS)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class ProgressStore:
    """Append-only attempts in SQLite; every write is one transaction."""

    def __init__(
        self,
        path: Path | str | None = None,
        *,
        clock: Callable[[], float] = time.time,
        busy_timeout: float = 0.5,
        retries: int = 3,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.path = Path(path) if path is not None else labkit_home() / STORE_NAME
        self.pending_path = self.path.with_name(PENDING_NAME)
        self.clock = clock
        self.busy_timeout = busy_timeout
        self.retries = retries
        self.sleep = sleep
        self._verified = False

    # ---- writing -------------------------------------------------------------------------------
    def record(self, result: CheckResult) -> bool:
        """Store one attempt; return False (after a warning) when it could only be parked."""
        attempt = Attempt.from_result(result, at=self.clock())
        try:
            self._write([attempt])
        except sqlite3.OperationalError as exc:
            return self._park(attempt, f"the progress store is busy ({exc})")
        except sqlite3.DatabaseError as exc:
            return self._park(attempt, f"the progress store failed ({exc})")
        except OSError as exc:
            return self._park(attempt, f"the progress store cannot be written ({exc})")
        self._merge_pending()
        return True

    def _write(self, attempts: list[Attempt]) -> None:
        for attempt_number in range(self.retries + 1):
            try:
                with self._connect() as db:
                    db.execute("BEGIN IMMEDIATE")
                    db.executemany(
                        f"INSERT INTO attempts ({', '.join(_COLUMNS)}) "
                        f"VALUES ({', '.join('?' * len(_COLUMNS))})",
                        [a.row() for a in attempts],
                    )
                    db.execute("COMMIT")
                return
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc) or attempt_number == self.retries:
                    raise
                self.sleep(0.05 * 2**attempt_number)

    def _park(self, attempt: Attempt, reason: str) -> bool:
        try:
            self.pending_path.parent.mkdir(parents=True, exist_ok=True)
            with self.pending_path.open("a", encoding="utf-8") as pending:
                pending.write(json.dumps(attempt.to_dict(), default=str) + "\n")
        except OSError as exc:
            _warn(f"{reason}; this attempt could not be saved either ({exc}).")
            return False
        _warn(f"{reason}; this attempt is kept in {self.pending_path} and will be added later.")
        return False

    def _merge_pending(self) -> None:
        if not self.pending_path.exists():
            return
        # Rename first (atomic), so two kernels never merge the same parked attempts twice.
        claimed = self.pending_path.with_name(f"{PENDING_NAME}.{os.getpid()}")
        try:
            self.pending_path.replace(claimed)
            attempts = [
                Attempt(**json.loads(line))
                for line in claimed.read_text(encoding="utf-8").splitlines()
                if line.strip()
            ]
            self._write(attempts)
        except (OSError, sqlite3.Error, ValueError, TypeError) as exc:
            if claimed.exists():  # put them back for next time
                with contextlib.suppress(OSError), self.pending_path.open("a") as out:
                    out.write(claimed.read_text(encoding="utf-8"))
            _warn(f"parked attempts could not be merged yet ({exc}).")
        with contextlib.suppress(OSError):
            claimed.unlink()

    def record_prediction(
        self, notebook: str, name: str, predicted: Any, measured: Any, unit: str
    ) -> bool:
        """Store one prediction beside the value measured for it; False (after a warning) when
        the store could not be written — a prediction is never worth a failed cell."""
        row = (
            notebook,
            name,
            json.dumps(predicted),
            json.dumps(measured),
            unit,
            self.clock(),
        )
        try:
            with self._connect() as db:
                db.execute(
                    "INSERT INTO predictions (notebook, name, predicted, measured, unit, at) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    row,
                )
        except (sqlite3.Error, OSError) as exc:
            _warn(f"the prediction {name} was not saved ({exc}).")
            return False
        return True

    def predictions(self, notebook: str | None = None) -> list[dict[str, Any]]:
        """The latest prediction per (notebook, name), oldest first."""
        if not self.path.exists():
            return []
        query = (
            "SELECT notebook, name, predicted, measured, unit, MAX(at) FROM predictions"
            + (" WHERE notebook = ?" if notebook is not None else "")
            + " GROUP BY notebook, name ORDER BY MAX(at)"
        )
        try:
            with self._connect() as db:
                rows = db.execute(query, (notebook,) if notebook is not None else ()).fetchall()
        except sqlite3.Error as exc:
            _warn(f"the predictions could not be read ({exc}).")
            return []
        found = []
        for nb, name, predicted, measured, unit, at in rows:
            with contextlib.suppress(ValueError):
                found.append(
                    {
                        "notebook": nb,
                        "name": name,
                        "predicted": json.loads(predicted),
                        "measured": json.loads(measured),
                        "unit": unit,
                        "at": at,
                    }
                )
        return found

    # ---- reading -------------------------------------------------------------------------------
    def attempts(self, notebook: str | None = None) -> list[Attempt]:
        """Every stored attempt (oldest first), parked ones included."""
        rows: list[Attempt] = []
        if self.path.exists():
            try:
                with self._connect() as db:
                    query = f"SELECT {', '.join(_COLUMNS)} FROM attempts"
                    params: tuple[Any, ...] = ()
                    if notebook is not None:
                        query += " WHERE notebook = ?"
                        params = (notebook,)
                    for row in db.execute(query + " ORDER BY at, id", params):
                        values = dict(zip(_COLUMNS, row, strict=True))
                        values["measurements"] = json.loads(values["measurements"] or "[]")
                        rows.append(Attempt(**values))
            except sqlite3.OperationalError as exc:
                _warn(
                    f"the progress store could not be read ({exc}); showing parked attempts only."
                )
        rows.extend(a for a in self._pending() if notebook is None or a.notebook == notebook)
        return sorted(rows, key=lambda a: a.at)

    def count(self) -> int:
        """How many attempts are stored, parked ones included (``len(attempts())``, unread)."""
        stored = 0
        if self.path.exists():
            try:
                with self._connect() as db:
                    stored = int(db.execute("SELECT COUNT(*) FROM attempts").fetchone()[0])
            except sqlite3.OperationalError as exc:
                _warn(
                    f"the progress store could not be read ({exc}); counting parked attempts only."
                )
        return stored + sum(1 for _ in self._pending())

    def _pending(self) -> Iterator[Attempt]:
        if not self.pending_path.exists():
            return
        with contextlib.suppress(OSError):
            for line in self.pending_path.read_text(encoding="utf-8").splitlines():
                with contextlib.suppress(ValueError, TypeError):
                    yield Attempt(**json.loads(line))

    def reset(self) -> Path | None:
        """Move the store aside (never deleted) and return where it went."""
        if not self.path.exists():
            return None
        target = _free_name(self.path, "reset")
        self.path.replace(target)
        self._verified = False
        return target

    # ---- opening, with corruption handling -----------------------------------------------------
    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            db = self._open_verified()
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.OperationalError) and _is_busy(exc):
                raise
            self._set_aside(exc)
            db = self._open_verified()
        try:
            yield db
        finally:
            db.close()

    def _open_verified(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None)
        try:
            if not self._verified:
                status = db.execute("PRAGMA quick_check").fetchone()
                if status is None or status[0] != "ok":
                    raise sqlite3.DatabaseError(
                        f"quick_check: {status[0] if status else 'no answer'}"
                    )
                db.executescript(_SCHEMA)
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                self._verified = True
        except BaseException:
            db.close()
            raise
        return db

    def _set_aside(self, exc: Exception) -> None:
        target = _free_name(self.path, "corrupt")
        self.path.replace(target)
        journal = self.path.with_name(self.path.name + "-journal")
        if journal.exists():
            journal.replace(target.with_name(target.name + "-journal"))
        self._verified = False
        _warn(
            f"the progress store {self.path} was damaged ({exc}); it was moved to {target.name} "
            "and a fresh store started."
        )


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def _free_name(path: Path, label: str) -> Path:
    n = 1
    while path.with_name(f"{path.name}.{label}-{n}").exists():
        n += 1
    return path.with_name(f"{path.name}.{label}-{n}")


def _warn(message: str) -> None:
    warnings.warn(f"labkit: {message}", ProgressWarning, stacklevel=3)


def record_attempt(result: CheckResult) -> bool:
    """Record a check result in the learner's store (used by ``check``)."""
    return ProgressStore().record(result)
