"""``explain()``: SQLite's query plan as a small object that answers SCAN-or-SEARCH questions.

The plan text is read loosely (a table scanned or searched, an index named), because SQLite
does not promise the exact wording between releases.
"""

from __future__ import annotations

import html
import re
import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aiosqlite

from labkit.display import TextView
from labkit.errors import DatabaseError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

_ALIAS = re.compile(
    r"\b(?:FROM|JOIN)\s+[\"`\[]?(\w+)[\"`\]]?(?:\s+(?:AS\s+)?(?!(?:ON|USING|WHERE|JOIN|LEFT|"
    r"RIGHT|INNER|OUTER|CROSS|NATURAL|GROUP|ORDER|LIMIT|WINDOW|HAVING|UNION|EXCEPT|"
    r"INTERSECT|INDEXED|NOT)\b)(\w+))?",
    re.IGNORECASE,
)
_NOT_TABLES = ("CONSTANT", "SUBQUERY", "(")


@dataclass(frozen=True)
class PlanStep:
    id: int
    parent: int
    detail: str


@dataclass(frozen=True, repr=False)
class Plan(TextView):
    """The rows of ``EXPLAIN QUERY PLAN`` for one statement."""

    sql: str
    steps: tuple[PlanStep, ...]

    @property
    def details(self) -> list[str]:
        return [s.detail for s in self.steps]

    @property
    def frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(
            [(s.id, s.parent, s.detail) for s in self.steps], columns=["id", "parent", "detail"]
        )

    def to_frame(self) -> pd.DataFrame:
        return self.frame

    def _names_for(self, table: str) -> set[str]:
        """The table's name and every alias the statement gives it."""
        names = {table.lower()}
        for match in _ALIAS.finditer(self.sql):
            if match.group(1).lower() == table.lower() and match.group(2):
                names.add(match.group(2).lower())
        return names

    def _steps(self, verb: str, table: str | None) -> list[str]:
        found = []
        for detail in self.details:
            words = detail.split()
            if len(words) < 2 or words[0].upper() != verb:
                continue
            name = words[1]
            if name.upper().startswith(_NOT_TABLES):
                continue
            if table is None or name.lower() in self._names_for(table):
                found.append(detail)
        return found

    def scans(self, table: str | None = None) -> bool:
        """Does the plan read a whole table (or this table) row by row?"""
        return bool(self._steps("SCAN", table))

    def scans_table(self, table: str | None = None) -> bool:
        """Does the plan read the table itself row by row (a SCAN not through an index)?

        ``SCAN posts USING INDEX ix`` walks an index in order; for a partial index that is
        only the rows it holds, so it is not a scan of the table.
        """
        return any(" INDEX " not in f" {d.upper()} " for d in self._steps("SCAN", table))

    def searches(self, table: str) -> bool:
        """Does the plan look rows of ``table`` up through a key or an index?"""
        return bool(self._steps("SEARCH", table))

    def uses_index(self, name: str) -> bool:
        """Is the index ``name`` used (to search, or to scan in order)?"""
        pattern = re.compile(rf"\bUSING (?:COVERING )?INDEX {re.escape(name)}\b", re.IGNORECASE)
        return any(pattern.search(d) for d in self.details)

    @property
    def uses_temp_btree(self) -> bool:
        """Does SQLite sort or de-duplicate in a temporary B-tree (no index gives the order)?"""
        return any("TEMP B-TREE" in d.upper() for d in self.details)

    def __str__(self) -> str:
        depth: dict[int, int] = {0: 0}
        lines = ["QUERY PLAN"]
        for step in self.steps:
            level = depth.get(step.parent, 0) + 1
            depth[step.id] = level
            lines.append(f"{'   ' * (level - 1)}|--{step.detail}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return f"<pre>{html.escape(str(self))}</pre>"


async def explain(db: Any, sql: str, params: Any = ()) -> Plan:
    """``EXPLAIN QUERY PLAN`` for ``sql`` on an aiosqlite (or sqlite3) connection.

    Runs without simulated latency and is not a round trip of the workload.
    """
    query = f"EXPLAIN QUERY PLAN {sql}"
    try:
        if isinstance(db, aiosqlite.Connection):
            if db._connection is None:
                raise DatabaseError("explain: the connection is closed")
            conn = db._conn
            rows = await aiosqlite.Connection._execute(
                db, lambda: [tuple(r) for r in conn.execute(query, params).fetchall()]
            )
        elif isinstance(db, sqlite3.Connection):
            rows = [tuple(r) for r in sqlite3.Connection.execute(db, query, params).fetchall()]
        else:
            raise DatabaseError(f"explain needs a database connection, got {type(db).__name__}")
    except sqlite3.Error as exc:
        short = " ".join(sql.split())
        raise DatabaseError(f"explain: {exc} (in: {short[:80]})") from None
    except ValueError as exc:  # aiosqlite: "Connection closed"
        raise DatabaseError(f"explain: {exc}") from None
    steps = tuple(PlanStep(int(r[0]), int(r[1]), str(r[-1])) for r in rows)
    return Plan(sql=sql, steps=steps)
