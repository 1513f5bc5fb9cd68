"""What several 02 checks share: seeded choices, reading the check's database, trusting a log."""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from labkit.errors import InstrumentBlinded

if TYPE_CHECKING:
    from labkit.grading import Grader, LearnerError


class Outcome(NamedTuple):
    """What a learner call ended with: its value, or the exception it raised (described)."""

    value: Any
    raised: LearnerError | None

    def raised_a(self, type_name: str) -> bool:
        return self.raised is not None and self.raised.type_name == type_name


def rng_for(seed: int, name: str) -> random.Random:
    """A random stream per (seed, exercise): checks stay deterministic and independent."""
    return random.Random(f"{seed}:{name}")


async def learner_outcome(g: Grader, fn: Callable[..., Any], *args: Any) -> Outcome:
    """Call the learner's ``fn`` through ``g.acall``; an exception their code raised comes back
    (as the grader described it) instead of ending the check.

    For exercises where raising *is* an answer: a rejected field, a stopped query, a failing
    test. Everything else ``g.acall`` reports stays reported — a reference handed in, a
    blinded instrument, the stub, a wrong signature, the time limit.
    """
    from labkit.grading import NotYet

    try:
        return Outcome(await g.acall(fn, *args), None)
    except NotYet as exc:
        if exc.learner_error is None or exc.used_reference:
            raise
        return Outcome(None, exc.learner_error)


def read_rows(path: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Rows as another client sees them: only what was committed."""
    con = sqlite3.connect(path)
    try:
        return [tuple(r) for r in con.execute(sql, params).fetchall()]
    finally:
        con.close()


def sqlite_sql(item: Any) -> str:
    """The SQL text of a logged statement (``Statement`` or plain string)."""
    return item if isinstance(item, str) else str(getattr(item, "sql", item))


async def fetch_all(db: Any, sql: str, params: Any = ()) -> list[tuple[Any, ...]]:
    """Every row of one statement, as plain tuples (the cursor is closed afterwards)."""
    async with db.execute(sql, params) as cur:
        return [tuple(row) for row in await cur.fetchall()]


async def lock_out_other_connections(db: Any) -> None:
    """Keep the check's database file to ``db`` alone until it closes.

    In EXCLUSIVE locking mode SQLite keeps the write lock of the first write, so an answer
    that opens its own connection to the file (to work where the statement log cannot see)
    finds it locked instead of quietly passing.
    """
    await db.execute("PRAGMA locking_mode = EXCLUSIVE")
    await db.execute("UPDATE users SET name = name WHERE id = (SELECT MIN(id) FROM users)")
    await db.commit()


@contextmanager
def trusted_instruments() -> Iterator[None]:
    """Turn ``InstrumentBlinded`` into the check's "not yet" with its message.

    The grader reports it so too; keeping the translation here means a blinded log can never
    surface as "this check failed internally".
    """
    from labkit.grading import NotYet

    try:
        yield
    except InstrumentBlinded as exc:
        raise NotYet(
            str(exc),
            hint="Let the check count: use the `db` you are given and leave its trace callback, "
            "progress handler and labkit's helpers as they are.",
        ) from None
