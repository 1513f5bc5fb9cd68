"""Shared pieces of the 02 checks: opening the check's database copy, calling async answers."""

from __future__ import annotations

import inspect
import random
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any


def rng_for(seed: int, name: str) -> random.Random:
    """A random stream per (seed, exercise): checks stay deterministic and independent."""
    return random.Random(f"{seed}:{name}")


async def call_raw(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call a learner function that may be sync or async, letting its exceptions through.

    Used only where an exception is the expected answer (e.g. rejecting a bad field); every
    other call goes through ``Grader.acall``, which reports a learner's exception as theirs.
    """
    value = fn(*args, **kwargs)
    if inspect.isawaitable(value):
        value = await value
    return value


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
