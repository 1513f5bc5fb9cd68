"""Tables of an exact size, a fetch counter and a peak-memory probe for the streaming lesson.

The memory check compares N and 4N rows, so it needs tables whose sizes it chooses exactly:
``make_users_db`` writes a seeded ``users`` table (the course schema) into a new SQLite file.
Peak memory is measured with tracemalloc: it counts the bytes Python allocates, on every
thread (aiosqlite fetches on its own thread), so the figure is the same run after run, unlike
the process's resident size.
"""

from __future__ import annotations

import gc
import hashlib
import random
import sqlite3
import string
import tracemalloc
from collections.abc import Awaitable, Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, TypeVar

from labkit.data.schema import EPOCH, SCHEMA, TIERS

T = TypeVar("T")

USER_COLUMNS: Final = (
    "id",
    "name",
    "email",
    "tier",
    "is_active",
    "country",
    "bio",
    "created_at",
)
COUNTRIES: Final = ("DE", "FR", "GB", "US", "IN", "BR", "JP", "NG", "ES", "PL")
_BIO_TEXT: Final = (
    "the a to and of in for with on backend latency cache query stream batch memory "
    "json csv ndjson gzip brotli server client request response cursor index table "
    "row export report fast slow measure profile fix ship deploy monitor alert queue "
    "worker async await python sqlite postgres redis loves writes builds runs tests "
    "reads debugs designs"
)
BIO_WORDS: Final = tuple(_BIO_TEXT.split())
# aiosqlite methods that bring rows back from the connection's thread (one hop each)
FETCHES: Final = frozenset({"fetchone", "fetchmany", "fetchall", "_execute_fetchall"})
# aiosqlite operations that send a statement (cursor or connection)
STATEMENTS: Final = frozenset({"execute", "executemany", "_execute_fetchall"})


def _users_table_sql() -> str:
    start = SCHEMA.index("CREATE TABLE users")
    return SCHEMA[start : SCHEMA.index(");", start) + 2]


def user_rows(n: int, seed: int) -> Iterator[tuple[Any, ...]]:
    """``n`` seeded users, ids 1..n, with a bio of 120–360 characters (the bulky column)."""
    rng = random.Random(seed)
    letters = string.ascii_lowercase
    for user_id in range(1, n + 1):
        first = "".join(rng.choices(letters, k=rng.randint(4, 9))).title()
        bio_words = rng.choices(BIO_WORDS, k=rng.randint(20, 55))
        yield (
            user_id,
            f"{first} {rng.choice(letters).upper()}.",
            f"{first.lower()}{user_id}@example.com",
            rng.choices(TIERS, weights=(70, 22, 8))[0],
            int(rng.random() < 0.85),
            rng.choice(COUNTRIES),
            " ".join(bio_words),
            EPOCH + rng.randrange(2 * 365 * 86_400),
        )


def make_users_db(path: str | Path, n: int, seed: int) -> Path:
    """Write a database at ``path`` holding only a ``users`` table of exactly ``n`` rows."""
    path = Path(path)
    path.unlink(missing_ok=True)
    with closing(sqlite3.connect(path)) as conn:
        conn.executescript(_users_table_sql())
        conn.executemany(
            f"INSERT INTO users VALUES ({', '.join('?' * len(USER_COLUMNS))})", user_rows(n, seed)
        )
        conn.commit()
    return path


class RowDigest:
    """A sink that remembers nothing but a running digest and a count of the rows it saw.

    ``sink(row)`` accepts an ``aiosqlite.Row``, a ``sqlite3.Row``, a dict or a tuple in
    ``USER_COLUMNS`` order; the digest depends on the rows and their order, so two row streams
    agree only when they send the same rows in the same order.
    """

    def __init__(self) -> None:
        self.count = 0
        self.bad: str | None = None  # the first row that could not be read
        self.expected: Any = None  # what a check expects this sink to have seen
        self._hash = hashlib.blake2b(digest_size=16)

    def __call__(self, row: Any) -> None:
        try:
            values = row_values(row)
        except (KeyError, IndexError, TypeError) as exc:
            if self.bad is None:
                self.bad = f"row {self.count + 1} ({type(row).__name__}): {exc}"
            return
        self.count += 1
        self._hash.update(repr(values).encode())

    @property
    def digest(self) -> str:
        return self._hash.hexdigest()


def row_values(row: Any) -> tuple[Any, ...]:
    """The row's values in ``USER_COLUMNS`` order, whatever row type it is."""
    if isinstance(row, dict):
        return tuple(row[c] for c in USER_COLUMNS)
    if hasattr(row, "keys"):
        return tuple(row[c] for c in USER_COLUMNS)
    values = tuple(row)
    if len(values) != len(USER_COLUMNS):
        raise TypeError(f"expected {len(USER_COLUMNS)} columns, got {len(values)}")
    return values


@dataclass
class FetchCounter:
    """Counts the trips aiosqlite makes to its thread to bring rows back (``fetch*`` calls),
    and the rows those trips brought."""

    fetches: int = 0
    rows: int = 0
    by_method: dict[str, int] = field(default_factory=dict)
    statements: list[tuple[str, Any]] = field(default_factory=list)  # (sql, parameters) sent
    hook: Any = None  # the counting ``_execute`` installed on the connection

    def still_counting(self, db: Any) -> bool:
        """Whether the connection still sends its operations through this counter."""
        return vars(db).get("_execute") is self.hook


@contextmanager
def count_fetches(db: Any) -> Iterator[FetchCounter]:
    """While active, count every fetch the connection ``db`` runs (cursor or shortcut), the rows
    it brought back, and keep the text of every statement sent."""
    counter = FetchCounter()
    original = db._execute

    async def counting(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        name = getattr(fn, "__name__", "")
        if name in STATEMENTS and args and isinstance(args[0], str):
            counter.statements.append((args[0], args[1] if len(args) > 1 else ()))
        result = await original(fn, *args, **kwargs)
        if name in FETCHES:
            counter.fetches += 1
            counter.by_method[name] = counter.by_method.get(name, 0) + 1
            if name == "fetchone":
                counter.rows += result is not None
            else:
                counter.rows += len(result)
        return result

    counter.hook = counting
    db._execute = counting
    try:
        yield counter
    finally:
        vars(db).pop("_execute", None)  # back to the class's method


async def peak_bytes(work: Callable[[], Awaitable[T]]) -> tuple[T, int]:
    """``(value, peak)``: the most bytes allocated at once above the start while ``work`` ran."""
    started_here = not tracemalloc.is_tracing()
    if started_here:
        tracemalloc.start(1)
    try:
        gc.collect()  # garbage left by earlier work must not be freed (or counted) mid-run
        tracemalloc.reset_peak()
        baseline = tracemalloc.get_traced_memory()[0]
        value = await work()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        if started_here:
            tracemalloc.stop()
    return value, max(0, peak - baseline)
