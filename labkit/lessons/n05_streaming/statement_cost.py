"""What the statements an answer sent cost: rows skipped with OFFSET, VM steps as depth grows.

The check looks at the statement text actually sent, not at keywords the answer might avoid:
``LIMIT 20 OFFSET 40`` and ``LIMIT 40, 20`` skip the same 40 rows. And it replays every
statement on its own read-only connection, counting SQLite's VM steps: a keyset batch costs
the same at every depth, a page that skips rows costs more the deeper it is, whatever its text.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

# "LIMIT n OFFSET k", or SQLite's "LIMIT k, n" (the first number is the offset)
_OFFSET: Final = re.compile(r"\bOFFSET\b|\bLIMIT\s+[^,;()]+,", re.IGNORECASE)
MAX_DEPTH_GROWTH: Final = 1.25  # deepest full batch ÷ cheapest full batch, VM steps


def skips_rows(sql: str) -> bool:
    """Whether the statement pages with an offset (either spelling)."""
    return bool(_OFFSET.search(sql))


@dataclass(frozen=True)
class Replayed:
    sql: str
    rows: int
    steps: int


def replay(path: Path, statements: Iterable[tuple[str, Any]]) -> list[Replayed]:
    """Run each SELECT again on a read-only connection of its own, counting VM steps."""
    out = []
    uri = f"file:{path}?mode=ro"
    with closing(sqlite3.connect(uri, uri=True)) as conn:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchall()  # read the schema now,
        # or the first statement alone pays for it
        for sql, params in statements:
            if not sql.lstrip().upper().startswith(("SELECT", "WITH")):
                continue
            steps = [0]

            def tick(counter: list[int] = steps) -> int:
                counter[0] += 1
                return 0

            conn.set_progress_handler(tick, 1)
            try:
                rows = len(conn.execute(sql, params).fetchall())
            except sqlite3.Error:
                continue  # the answer's own run already reported it
            finally:
                conn.set_progress_handler(None, 1)
            out.append(Replayed(sql, rows, steps[0]))
    return out


def depth_growth(replayed: list[Replayed], batch_size: int) -> float:
    """VM steps of the costliest full batch ÷ the cheapest one (1.0 when flat)."""
    full = [r.steps for r in replayed if r.rows == batch_size]
    if len(full) < 2:
        return 1.0
    return max(full) / max(min(full), 1)
