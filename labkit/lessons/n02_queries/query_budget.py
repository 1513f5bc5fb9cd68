"""A query timeout counted in VM steps: stop one statement that runs past its budget.

A clock-based timeout (``labkit.db.query_timeout``) is what production uses, but a
check cannot grade it by the clock. SQLite's progress handler gives the same mechanism with
a deterministic measure: called every ``n`` virtual-machine instructions, it stops the
statement by returning non-zero. The learner's ``run_with_budget(db, sql, params, max_steps)``
returns the rows of a statement that stays within ``max_steps`` and raises ``TimeoutError``
for one that does not.

The check measures with instruments the answer never receives: VM steps counted on the
grader's own connection to the same file (a progress handler called at every step), and the
rows a runaway query reached before it stopped, counted by an SQL function of the grader's
inside that query. The runaway query is bounded (it ends by itself within about a second),
so an answer that never stops it cannot hang the check.

SQLite counts a statement's steps over its lifetime, and Python reuses a prepared statement
when the same SQL runs again: a handler that stops at its first call (``lambda: 1`` every
``max_steps``) stops the *second* run of a query that fits the budget early. The check runs
such a query twice.
"""

from __future__ import annotations

import bisect
import contextlib
import math
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from labkit.errors import InstrumentBlinded
from labkit.grading import NotYet, exercise, reference_answer
from labkit.lessons.n02_queries.fixtures import fetch_all, learner_outcome, rng_for

if TYPE_CHECKING:
    from labkit.grading import Grader

GRAIN = 1_000
"""The answer checks its budget at least every GRAIN steps: it may stop up to GRAIN late."""

POSTS_BY_AUTHOR = (
    "SELECT author_id, COUNT(*), MAX(created_at) FROM posts WHERE id <= ? "
    "GROUP BY author_id ORDER BY author_id"
)
COMMENTS_BY_POST = (
    "SELECT post_id, COUNT(*), MAX(created_at) FROM comments WHERE id <= ? "
    "GROUP BY post_id ORDER BY post_id"
)
ROW_PROBE = "lab_row_reached"
RUNAWAY_ROWS = 250_000
RUNAWAY = (
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
    f"SELECT count(*) FROM n WHERE {ROW_PROBE}(i)"
)
COUNT_TO = (
    "WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < ?) "
    "SELECT max(i) FROM k"
)
MISSING_TABLE = "SELECT id FROM no_such_table"


@reference_answer
async def run_with_budget_reference(db: Any, sql: str, params: Any, max_steps: int) -> list[Any]:
    """All rows of ``sql``; ``TimeoutError`` once it has run more than ``max_steps`` steps."""
    every = 100
    steps = 0

    def over_budget() -> int:
        nonlocal steps
        steps += every
        return 1 if steps > max_steps else 0  # non-zero: SQLite interrupts the statement

    await db.set_progress_handler(over_budget, every)
    try:
        async with db.execute(sql, params) as cur:
            return list(await cur.fetchall())
    except sqlite3.OperationalError as exc:
        if steps <= max_steps:  # not ours: a real error of the statement
            raise
        raise TimeoutError(f"query stopped after {max_steps:,} VM steps") from exc
    finally:
        await db.set_progress_handler(None, every)


class StepMeter:
    """The grader's own connection to the check's file: exact VM-step counts, and rows the
    runaway query reaches within a number of steps. The answer never sees it."""

    def __init__(self, path: Path) -> None:
        self.con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)

    def close(self) -> None:
        self.con.close()

    def run(self, sql: str, params: tuple[Any, ...]) -> tuple[int, list[tuple[Any, ...]]]:
        """(VM steps, rows) of one statement; the handler runs at every step, so the count is
        exact even for a prepared statement Python reuses."""
        steps = 0

        def tick() -> int:
            nonlocal steps
            steps += 1
            return 0

        self.con.set_progress_handler(tick, 1)
        try:
            rows = [tuple(r) for r in self.con.execute(sql, params).fetchall()]
        finally:
            self.con.set_progress_handler(None, 1)
        return steps, rows

    def runaway_rows_within(self, max_steps: int) -> int:
        """Rows the runaway query reaches in ``max_steps`` VM steps."""
        steps = 0
        at_row: list[int] = []  # steps run when each row reached the probe

        def tick() -> int:
            nonlocal steps
            steps += 1
            return 1 if steps > max_steps else 0

        def reached(_: int) -> int:
            at_row.append(steps)
            return 1

        self.con.create_function(ROW_PROBE, 1, reached)
        self.con.set_progress_handler(tick, 1)
        try:
            self.con.execute(RUNAWAY, (RUNAWAY_ROWS,)).fetchall()
        except sqlite3.OperationalError:
            pass  # interrupted at max_steps: what it reached until then is the answer
        finally:
            self.con.set_progress_handler(None, 1)
        return bisect.bisect_right(at_row, max_steps)


class RowCounter:
    """The SQL function inside the runaway query: counts the rows it reached on ``db``."""

    def __init__(self) -> None:
        self.rows = 0

    def __call__(self, _: int) -> int:
        self.rows += 1
        return 1

    async def install(self, db: Any) -> None:
        await db.create_function(ROW_PROBE, 1, self)

    async def verify(self, db: Any) -> None:
        """The function must still be the grader's: a probe row must reach it."""
        before = self.rows
        with contextlib.suppress(sqlite3.Error):  # a replaced function may raise: still blinded
            await fetch_all(db, f"SELECT {ROW_PROBE}(1)")
        if self.rows != before + 1:
            raise InstrumentBlinded(
                f"your code replaced the SQL function {ROW_PROBE}() the check counts the "
                "runaway query's rows with"
            )


@dataclass(frozen=True)
class Fitting:
    """A real query that needs 65–80% of its budget, and the rows it returns."""

    sql: str
    bound: int
    budget: int
    steps: int
    rows: list[tuple[Any, ...]]


def _fitting(meter: StepMeter, sql: str, bound: int, share: float) -> Fitting:
    steps, rows = meter.run(sql, (bound,))
    return Fitting(sql, bound, math.ceil(steps / share), steps, rows)


async def expect_rows(g: Grader, run_with_budget: Any, db: Any, query: Fitting, run: str) -> None:
    """The answer returns the rows of a query within its budget, unchanged."""
    outcome = await learner_outcome(g, run_with_budget, db, query.sql, (query.bound,), query.budget)
    what = f"a query needing {query.steps:,} VM steps with max_steps={query.budget:,} ({run})"
    if outcome.raised is not None:
        raise NotYet(
            f"{what}: {outcome.raised.summary()}",
            hint="Count the steps of this call yourself, from zero, and stop only once they "
            "pass max_steps. Never stop on the handler's first call alone: SQLite counts a "
            "statement's steps over its lifetime, and Python reuses a prepared statement "
            "when the same SQL runs again, so that call can come early.",
            learner_error=outcome.raised,
        )
    value = outcome.value
    g.expect(
        isinstance(value, list | tuple),
        f"{what}: returned {type(value).__name__}, not the list of rows",
    )
    g.expect_equal([tuple(row) for row in value], query.rows, what=what)


async def expect_unlimited(g: Grader, db: Any, rows: int, after: str) -> None:
    """A query larger than any budget, sent straight to ``db``, runs to its end: the answer
    took its handler off and left the connection usable."""
    try:
        got = await fetch_all(db, COUNT_TO, (rows,))
    except (sqlite3.Error, ValueError) as exc:
        raise NotYet(
            f"after {after}, the next query on the same connection failed ({exc}): take "
            "your progress handler off when the call ends — in a `finally:` — and leave "
            "the connection open",
        ) from None
    g.expect(got == [(rows,)], f"after {after}, a plain query returned {got}")


async def expect_stopped(
    g: Grader, run_with_budget: Any, db: Any, counter: RowCounter, budget: int, within: int
) -> int:
    """The runaway query ends in ``TimeoutError`` within its budget; the rows it reached."""
    outcome = await learner_outcome(g, run_with_budget, db, RUNAWAY, (RUNAWAY_ROWS,), budget)
    reached = counter.rows
    runaway = f"a runaway query (max_steps={budget:,})"
    if outcome.raised is None:
        raise NotYet(
            f"{runaway} ran to its end ({reached:,} rows): it was never stopped",
            hint="Install a progress handler (`await db.set_progress_handler(handler, n)`, n ≤ "
            f"{GRAIN:,}) that adds n to a count and returns 1 once the count passes max_steps.",
        )
    g.expect(
        outcome.raised_a("TimeoutError"),
        f"{runaway} was stopped, but with the wrong error: {outcome.raised.summary()}",
        hint="SQLite reports a stopped statement as sqlite3.OperationalError('interrupted'): "
        "catch it and raise TimeoutError in its place.",
    )
    g.expect(
        reached > 0,
        f"{runaway}: your answer raised TimeoutError before the query ran a single row — "
        "stop a statement while it runs, not by guessing from its text",
    )
    g.measure(
        f"rows the runaway query reached (max_steps={budget:,})",
        reached,
        target=f"≤ {within:,} (what {budget + GRAIN:,} VM steps reach)",
        ok=reached <= within,
        hint="The query ran far past its budget: count VM steps (n per handler call), not "
        f"handler calls or seconds, and check at least every {GRAIN:,} steps.",
    )
    return reached


@exercise(
    "02.query_timeout",
    title="A query timeout counted in VM steps",
    answers=("run_with_budget",),
    hint=(
        "A progress handler can stop a statement: count the steps it has run yourself, stop "
        "past the budget, and take the handler off again however the call ends."
    ),
    points=2,
    timeout=30.0,
)
async def grade_query_timeout(g: Grader, run_with_budget: Any) -> None:
    from labkit.db import connect

    path = g.dataset("tiny")
    rng = rng_for(g.seed, "query_timeout")
    meter = StepMeter(path)
    try:
        small = _fitting(meter, POSTS_BY_AUTHOR, rng.randint(300, 600), rng.uniform(0.65, 0.8))
        large = _fitting(meter, COMMENTS_BY_POST, rng.randint(1_100, 1_200), rng.uniform(0.65, 0.8))
        within = meter.runaway_rows_within(small.budget + GRAIN)
    finally:
        meter.close()
    # The larger query must not fit the smaller budget: an answer keeping its first budget fails.
    if not (small.steps + 2 * GRAIN <= small.budget < large.steps - 2 * GRAIN):
        raise RuntimeError(f"02.query_timeout: budgets out of shape ({small}, {large.steps})")
    probe_rows = large.budget // 5  # over 10 steps a row: more than any budget of this check

    counter = RowCounter()
    async with connect(path) as db:
        await counter.install(db)
        await expect_rows(g, run_with_budget, db, small, "first run")
        await expect_rows(g, run_with_budget, db, small, "the same query again")
        await expect_unlimited(g, db, probe_rows, "a query that fitted its budget")
        reached = await expect_stopped(g, run_with_budget, db, counter, small.budget, within)
        await expect_unlimited(g, db, probe_rows, "a stopped query")
        outcome = await learner_outcome(g, run_with_budget, db, MISSING_TABLE, (), small.budget)
        g.expect(
            outcome.raised_a("OperationalError"),
            "a query on a table that does not exist should fail with SQLite's own "
            "OperationalError, but "
            + (outcome.raised.summary() if outcome.raised else "it returned without an error"),
            hint="Only a statement your handler stopped is a timeout: re-raise every other "
            "error unchanged.",
        )
        await expect_unlimited(g, db, probe_rows, "a query that failed")
        await expect_rows(g, run_with_budget, db, large, "a larger budget")
        await counter.verify(db)
    g.note(
        f"budgets {small.budget:,} and {large.budget:,} VM steps: queries of {small.steps:,} "
        f"and {large.steps:,} steps returned their rows, twice and once; the runaway query "
        f"stopped after {reached:,} rows"
    )
