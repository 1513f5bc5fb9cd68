"""Select only the columns you need, chosen from a whitelist — never from user text.

``?fields=id,name`` is a common API feature. Done naively it becomes ``SELECT {fields} FROM
users``: SQL injection, and a leak of any column (``email``) the API never meant to expose.
Done right, each requested name is looked up in a whitelist that maps public field names to
column names, unknown names are rejected, and only the chosen columns are read.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from labkit.grading import exercise, reference_answer
from labkit.lessons.n02_queries.fixtures import learner_outcome, trusted_instruments

if TYPE_CHECKING:
    from labkit.grading import Grader

PUBLIC_USER_FIELDS: tuple[str, ...] = ("id", "name", "tier", "country", "bio", "created_at")
"""Fields ``list_users`` may return. ``email`` is private: it must never come back."""

DEFAULT_USER_FIELDS: tuple[str, ...] = ("id", "name")


def parse_fields(fields: str | None) -> list[str]:
    """``" id, name "`` -> ``["id", "name"]``; unknown names raise ``ValueError``."""
    if fields is None or not fields.strip():
        return list(DEFAULT_USER_FIELDS)
    names: list[str] = []
    for raw in fields.split(","):
        name = raw.strip()
        if not name:
            continue
        if name not in PUBLIC_USER_FIELDS:
            raise ValueError(f"unknown field {name!r}; choose from {', '.join(PUBLIC_USER_FIELDS)}")
        if name not in names:
            names.append(name)
    return names or list(DEFAULT_USER_FIELDS)


@reference_answer
async def list_users_reference(
    db: Any, fields: str | None = None, limit: int = 20
) -> list[dict[str, Any]]:
    """The first ``limit`` users by id, with only the requested public fields."""
    names = parse_fields(fields)
    # Safe to format: every name comes from PUBLIC_USER_FIELDS, never from the caller's text.
    sql = f"SELECT {', '.join(names)} FROM users ORDER BY id LIMIT ?"
    async with db.execute(sql, (limit,)) as cur:
        rows = await cur.fetchall()
    return [dict(zip(names, row, strict=True)) for row in rows]


# Probes a whitelist rejects and string formatting runs: the second one leaks every email.
UNKNOWN_FIELD = "email"
INJECTION_PROBE = "id, email AS name"

_NOT_NEEDED = re.compile(r"\*|\bbio\b|\bemail\b|\bcountry\b", re.IGNORECASE)


@exercise(
    "02.select_fields",
    title="Field selection with a whitelist",
    answers=("list_users",),
    hint=(
        "Split `fields` on commas, look every name up in PUBLIC_USER_FIELDS (raise ValueError "
        "for anything else), then SELECT exactly those columns."
    ),
    points=2,
    timeout=10.0,
)
async def grade_select_fields(g: Grader, list_users: Any) -> None:
    from labkit.db import connect, statement_log

    path = g.dataset("tiny")
    limit = 5 + g.seed % 7
    requests = [None, "id,name,tier", " country , id ", "bio", "id,id,created_at"]
    async with connect(path) as db:
        for fields in requests:
            expected = await list_users_reference(db, fields, limit)
            got = await g.acall(list_users, db, fields, limit)
            g.expect_equal(got, expected, what=f"list_users(db, fields={fields!r}, limit={limit})")
        with trusted_instruments(), statement_log(db) as log:
            await g.acall(list_users, db, "id,name", limit + 1)
        with trusted_instruments():
            narrow_sql = [s.sql for s in log.statements]
        problems: dict[str, str | None] = {}
        for probe in (UNKNOWN_FIELD, INJECTION_PROBE):
            value, raised = await learner_outcome(g, list_users, db, probe, limit)
            if raised is None:
                problems[probe] = (
                    f"returned {len(value) if hasattr(value, '__len__') else value!r} rows"
                )
            elif raised.type_name == "ValueError":
                problems[probe] = None
            else:
                problems[probe] = f"raised {raised.type_name}: {raised.message}"
    g.expect(
        bool(narrow_sql),
        "list_users(db, 'id,name') sent no statement through the `db` it was given",
    )
    wide = [sql for sql in narrow_sql if _NOT_NEEDED.search(sql)]
    g.measure(
        "columns read for fields='id,name'",
        "only id, name" if not wide else wide[0][:80],
        target="id and name only (no SELECT *)",
        ok=not wide,
        hint="Read only the requested columns: SELECT * fetches the long `bio` of every row "
        "and then throws it away.",
    )
    for probe, problem in problems.items():
        g.expect(
            problem is None,
            f"fields={probe!r} should raise ValueError, but it {problem}",
            hint="Never put the caller's text into SQL: accept a name only if it is in "
            "PUBLIC_USER_FIELDS, and raise ValueError otherwise.",
        )
    g.note("unknown field and injection probe rejected with ValueError")
