"""Lesson 02 helpers: transaction and VM-step counting, query timeout, field parsing, pagination."""

from __future__ import annotations

import asyncio
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path

import aiosqlite
import pytest

from labkit.db.query_cost import count_transactions, query_timeout, vm_steps
from labkit.errors import DatabaseError
from labkit.lessons.n02_queries.fields import parse_fields
from labkit.lessons.n02_queries.pagination import (
    MAX_PAGE_SIZE,
    list_posts_keyset,
    list_posts_offset,
    page_cost_by_depth,
)
from labkit.lessons.n02_queries.transactions import transaction_reference


@pytest.fixture
def posts_db(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "posts.sqlite"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE posts (id INTEGER PRIMARY KEY, title TEXT NOT NULL)")
    con.executemany("INSERT INTO posts VALUES (?, ?)", [(i, f"post {i}") for i in range(1, 1001)])
    con.commit()
    con.close()
    yield path


def run(coro):
    return asyncio.run(coro)


# ---- count_transactions -------------------------------------------------------------------------
def test_one_explicit_transaction() -> None:
    log = ["BEGIN ", "INSERT INTO t VALUES (1)", "INSERT INTO t VALUES (2)", "COMMIT"]
    tx = count_transactions(log)
    assert (tx.transactions, tx.commits, tx.autocommit_writes, tx.writes) == (1, 1, 0, 2)


def test_commit_per_row_counts_each() -> None:
    log = ["BEGIN ", "INSERT INTO t VALUES (1)", "COMMIT"] * 5
    assert count_transactions(log).transactions == 5


def test_autocommit_writes_are_transactions() -> None:
    log = ["INSERT INTO t VALUES (1)", "update t set a = 2", "SELECT * FROM t"]
    tx = count_transactions(log)
    assert (tx.transactions, tx.autocommit_writes, tx.commits) == (2, 2, 0)


def test_rollback_and_savepoint() -> None:
    log = ["BEGIN", "SAVEPOINT a", "INSERT INTO t VALUES (1)", "ROLLBACK TO a", "ROLLBACK"]
    tx = count_transactions(log)
    assert (tx.transactions, tx.rollbacks, tx.commits) == (1, 1, 0)


def test_statement_objects_are_read_by_sql_attribute() -> None:
    class Statement:
        def __init__(self, sql: str) -> None:
            self.sql = sql

    assert count_transactions([Statement("DELETE FROM t")]).transactions == 1


def test_real_sqlite_trace_matches_counting() -> None:
    con = sqlite3.connect(":memory:")
    seen: list[str] = []
    con.execute("CREATE TABLE t (a)")
    con.set_trace_callback(seen.append)
    con.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(10)])
    con.commit()
    for i in range(3):
        con.execute("INSERT INTO t VALUES (?)", (i,))
        con.commit()
    assert count_transactions(seen).transactions == 4


# ---- vm_steps and query_timeout -----------------------------------------------------------------
def test_vm_steps_grow_with_rows_visited(posts_db: Path) -> None:
    async def scenario() -> tuple[int, int]:
        async with aiosqlite.connect(posts_db) as db:
            async with vm_steps(db) as few:
                await (await db.execute("SELECT * FROM posts LIMIT 10")).fetchall()
            async with vm_steps(db) as many:
                await (await db.execute("SELECT * FROM posts LIMIT 10 OFFSET 900")).fetchall()
        return few.count, many.count

    few, many = run(scenario())
    assert few > 0
    assert many > 20 * few


def test_vm_steps_work_on_plain_sqlite(posts_db: Path) -> None:
    async def scenario() -> int:
        con = sqlite3.connect(posts_db)
        async with vm_steps(con) as steps:
            con.execute("SELECT count(*) FROM posts").fetchall()
        con.close()
        return steps.count

    assert run(scenario()) > 0


def test_vm_steps_rejects_non_connections() -> None:
    async def scenario() -> None:
        async with vm_steps(object()):
            pass

    with pytest.raises(DatabaseError, match="SQLite connection"):
        run(scenario())


def test_query_timeout_interrupts_with_injected_clock(posts_db: Path) -> None:
    ticks = iter(range(10**9))

    async def scenario() -> None:
        # each clock read advances one "second": the deadline (5 s) passes after 5 checks
        async with (
            aiosqlite.connect(posts_db) as db,
            query_timeout(db, 5, clock=lambda: float(next(ticks))),
        ):
            await db.execute(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) "
                "SELECT count(*) FROM n"
            )

    with pytest.raises(DatabaseError, match="5 s timeout"):
        run(scenario())


def test_query_timeout_lets_fast_queries_finish(posts_db: Path) -> None:
    async def scenario() -> int:
        async with aiosqlite.connect(posts_db) as db, query_timeout(db, 60):
            return len(list(await (await db.execute("SELECT * FROM posts")).fetchall()))

    assert run(scenario()) == 1000


def test_query_timeout_must_be_positive(posts_db: Path) -> None:
    async def scenario() -> None:
        async with aiosqlite.connect(posts_db) as db, query_timeout(db, 0):
            pass

    with pytest.raises(DatabaseError, match="positive"):
        run(scenario())


# ---- field parsing ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, ["id", "name"]),
        ("", ["id", "name"]),
        (" tier , id ", ["tier", "id"]),
        ("id,id,bio", ["id", "bio"]),
        ("id,,name,", ["id", "name"]),
    ],
)
def test_parse_fields(text: str | None, expected: list[str]) -> None:
    assert parse_fields(text) == expected


@pytest.mark.parametrize("text", ["email", "id, email AS name", "name; DROP TABLE users", "*"])
def test_parse_fields_rejects_anything_off_the_whitelist(text: str) -> None:
    with pytest.raises(ValueError, match="unknown field"):
        parse_fields(text)


# ---- pagination ---------------------------------------------------------------------------------
def _walk(path: Path, fn, limit: int) -> list[dict]:
    async def scenario() -> list[dict]:
        pages, cursor = [], None
        async with aiosqlite.connect(path) as db:
            while True:
                page = await fn(db, limit, cursor)
                pages.append(page)
                if not page["has_more"]:
                    return pages
                cursor = page["next_cursor"]

    return run(scenario())


@pytest.mark.parametrize("fn", [list_posts_keyset, list_posts_offset])
@pytest.mark.parametrize(("limit", "pages"), [(100, 10), (70, 15)])
def test_walks_every_post_once(posts_db: Path, fn, limit: int, pages: int) -> None:
    walked = _walk(posts_db, fn, limit)
    ids = [item["id"] for page in walked for item in page["items"]]
    assert ids == list(range(1, 1001))
    assert len(walked) == pages
    assert walked[-1]["next_cursor"] is None
    assert all(page["has_more"] for page in walked[:-1])


def test_limit_is_capped(posts_db: Path) -> None:
    async def scenario() -> dict:
        async with aiosqlite.connect(posts_db) as db:
            return await list_posts_keyset(db, 10_000)

    page = run(scenario())
    assert len(page["items"]) == MAX_PAGE_SIZE
    assert page["has_more"] is True


def test_offset_cost_grows_and_keyset_stays_flat(posts_db: Path) -> None:
    async def scenario():
        async with aiosqlite.connect(posts_db) as db:
            return await page_cost_by_depth(db, [1, 10, 40], limit=20)

    frame = run(scenario())
    assert frame.loc[40, "offset"] > 10 * frame.loc[1, "offset"]
    assert frame.loc[40, "keyset"] <= 2 * frame.loc[1, "keyset"]


# ---- transaction helper -------------------------------------------------------------------------
def test_transaction_reference_commits_and_rolls_back(posts_db: Path) -> None:
    async def scenario() -> None:
        async with aiosqlite.connect(posts_db) as db:
            async with transaction_reference(db):
                await db.execute("UPDATE posts SET title = 'kept' WHERE id = 1")
            with pytest.raises(KeyError):
                async with transaction_reference(db):
                    await db.execute("UPDATE posts SET title = 'lost' WHERE id = 2")
                    raise KeyError("boom")
            assert not db.in_transaction

    run(scenario())
    con = sqlite3.connect(posts_db)
    titles = dict(con.execute("SELECT id, title FROM posts WHERE id IN (1, 2)").fetchall())
    con.close()
    assert titles == {1: "kept", 2: "post 2"}


# ---- checks that hold: SQL sent, SQLite's own transaction state, no leaks ------------------
@pytest.mark.parametrize(
    ("statements", "limit", "problem"),
    [
        (["SELECT id, title FROM posts WHERE id > 40 ORDER BY id LIMIT 21"], 20, None),
        (["SELECT id, title FROM posts ORDER BY id LIMIT 21 OFFSET 0"], 20, None),
        (["SELECT id, title FROM posts ORDER BY id LIMIT 40, 21"], 20, "skips rows"),
        (["SELECT id, title FROM posts ORDER BY id LIMIT 21 OFFSET 40"], 20, "skips rows"),
        (["SELECT id, title FROM posts WHERE id > 0 ORDER BY id LIMIT 501"], 500, "up to 501"),
        (["SELECT id, title FROM posts ORDER BY id"], 20, "no statement had a LIMIT"),
        (["SELECT id FROM posts WHERE id > 3 LIMIT -1"], 20, "up to -1"),
        (
            [
                "SELECT id, title FROM posts WHERE id > 9 ORDER BY id LIMIT 20",
                "SELECT EXISTS (SELECT 1 FROM posts WHERE id > 29)",
            ],
            20,
            None,
        ),
    ],
)
def test_keyset_sql_problem_reads_the_text_sent(
    statements: list[str], limit: int, problem: str | None
) -> None:
    from labkit.lessons.n02_queries.pagination import sql_problem

    found = sql_problem(statements, limit)
    assert (found is None) if problem is None else (found is not None and problem in found)


def test_transactions_seen_by_sqlite_ignore_the_text() -> None:
    from labkit.db import Statement
    from labkit.lessons.n02_queries.writes import transactions_seen_by_sqlite

    per_row = [Statement("WITH v AS (SELECT 1) INSERT ...", changes=1, in_transaction=False)] * 3
    one = [
        Statement("BEGIN ", changes=0, in_transaction=False),
        *[Statement("INSERT ...", changes=1, in_transaction=True)] * 3,
        Statement("COMMIT", changes=0, in_transaction=True),
    ]
    assert transactions_seen_by_sqlite(per_row) == 3
    assert transactions_seen_by_sqlite(one) == 1


def _check(exercise_id: str, answer: object, seed: int = 7) -> str:
    from labkit.grading import get_exercise, run_check

    return run_check(get_exercise(exercise_id), (answer,), seed=seed).verdict


def test_a_patched_transaction_counter_cannot_pass_per_row_commits(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An earlier answer replaced labkit's counter: a later per-row answer still fails."""
    import labkit.db.query_cost as query_cost
    import labkit.lessons.n02_queries.writes as writes
    from labkit.db.query_cost import TransactionCount

    def always_one(statements: object) -> TransactionCount:
        return TransactionCount(1, 1, 0, 0, 1)

    monkeypatch.setattr(writes, "count_transactions", always_one)
    monkeypatch.setattr(query_cost, "count_transactions", always_one)
    assert _check("02.batch_insert", writes.insert_comments_per_row) == "not yet"


def test_a_patched_statement_count_cannot_pass_n_plus_one(monkeypatch: pytest.MonkeyPatch) -> None:
    from labkit.db.statements import StatementLog
    from labkit.lessons.n02_queries.n_plus_one import users_with_posts_n_plus_one

    monkeypatch.setattr(StatementLog, "count", property(lambda self: 1))
    assert _check("02.n_plus_one", users_with_posts_n_plus_one) == "not yet"


def test_verdicts_do_not_leak_between_attempts() -> None:
    """One transaction passes, then per-row commits fail, then one transaction passes again."""
    from labkit.lessons.n02_queries.writes import INSERT_COMMENT, insert_comments_per_row

    async def batched(db, rows):  # type: ignore[no-untyped-def]
        await db.executemany(INSERT_COMMENT, rows)
        await db.commit()

    verdicts = [_check("02.batch_insert", a) for a in (batched, insert_comments_per_row, batched)]
    assert verdicts == ["passed", "not yet", "passed"]


def test_trim_posts_leaves_gaps_and_an_exact_multiple(posts_db: Path) -> None:
    from labkit.lessons.n02_queries.pagination import trim_posts

    async def scenario() -> list[int]:
        async with aiosqlite.connect(posts_db) as db:
            await trim_posts(db, 11, 50)
            return [r[0] for r in await db.execute_fetchall("SELECT id FROM posts ORDER BY id")]

    ids = run(scenario())
    assert len(ids) % 50 == 0
    assert ids != list(range(1, len(ids) + 1))  # ids have gaps


@pytest.mark.parametrize(
    ("sql", "condition"),
    [
        ("CREATE INDEX ix ON posts(created_at) WHERE status = 'draft'", "status = 'draft'"),
        ("CREATE INDEX ix ON posts(created_at)", None),
        (
            "CREATE INDEX ix ON posts(created_at, id) where (status = 'draft');",
            "(status = 'draft')",
        ),
    ],
)
def test_index_condition(sql: str, condition: str | None) -> None:
    from labkit.lessons.n02_queries.partial_index import index_condition

    assert index_condition(sql) == condition


def _labkit_references() -> list[tuple[str, object]]:
    from labkit.lessons.n02_queries import (
        fields,
        indexes,
        latest_posts,
        n_plus_one,
        pagination,
        partial_index,
        pooling,
        query_budget,
        slow_log,
        statement_budget,
        transactions,
        writes,
    )

    return [
        ("02.n_plus_one", n_plus_one.users_with_posts_join),
        ("02.statement_budget_test", statement_budget.statement_budget_test_reference),
        ("02.latest_posts", latest_posts.latest_posts_window),
        ("02.select_fields", fields.list_users_reference),
        ("02.index", indexes.add_comment_index_reference),
        ("02.feed_index", indexes.add_feed_index_reference),
        ("02.partial_index", partial_index.add_draft_index_reference),
        ("02.keyset_page", pagination.list_posts_keyset),
        ("02.batch_insert", writes.insert_comments_batched),
        ("02.pool_release", pooling.profile_page_reference),
        ("02.fail_fast", pooling.profile_or_busy_reference),
        ("02.query_timeout", query_budget.run_with_budget_reference),
        ("02.transaction", transactions.transaction_reference),
        ("02.slow_query_log", slow_log.slow_queries_reference),
    ]


@pytest.mark.parametrize(("exercise_id", "reference"), _labkit_references())
def test_labkits_references_are_not_the_learners(exercise_id: str, reference: object) -> None:
    """Handed in as they are, or behind a function that delegates to them: "not yet"."""
    holder = {"reference": reference}

    def delegate(*args: object, **kwargs: object) -> object:
        return holder["reference"](*args, **kwargs)  # type: ignore[operator]

    assert _check(exercise_id, reference, seed=99) == "not yet"
    assert _check(exercise_id, delegate, seed=99) == "not yet"


def test_an_asynccontextmanager_answer_is_not_mistaken_for_the_reference() -> None:
    """Marking the reference must not mark contextlib's helper shared by every such function."""
    from contextlib import asynccontextmanager

    from labkit.grading.references import same_code_as_reference

    @asynccontextmanager
    async def transaction(db):  # type: ignore[no-untyped-def]
        yield db

    assert same_code_as_reference(transaction) is None


# ---- 02.statement_budget_test: the loaders handed to the learner's test --------------------------
def test_every_loader_reaches_the_test_under_one_name_and_code() -> None:
    """A test cannot tell the versions apart by name or code: it has to run them."""
    from labkit.lessons.n02_queries.statement_budget import VERSIONS, handed_to_test

    handed = [handed_to_test(v.load, []) for v in VERSIONS]
    assert {f.__qualname__ for f in handed} == {handed[0].__qualname__}
    assert {f.__code__ for f in handed} == {handed[0].__code__}


def test_each_loader_sends_what_its_label_says() -> None:
    """Counted on the tiny dataset with two users without posts: only the correct ones fit."""
    from labkit.data import fresh_copy
    from labkit.db import connect, statement_log
    from labkit.lessons.n02_queries.n_plus_one import add_user_without_posts
    from labkit.lessons.n02_queries.statement_budget import CHUNK, VERSIONS

    async def scenario(path: Path) -> tuple[list[int], dict[str, tuple[int, list[int]]]]:
        async with connect(path) as db:
            quiet = [await add_user_without_posts(db) for _ in range(2)]
            ids = [*range(1, 24), *quiet]
            found = {}
            for version in VERSIONS:
                with statement_log(db) as log:
                    page = await version.load(db, ids)
                found[version.label] = (log.count, [user["id"] for user in page])
            return ids, found

    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(fresh_copy(size="tiny", seed=3, dest=Path(tmp) / "t.sqlite"))
        ids, found = run(scenario(copy))
    counts = {label: count for label, (count, _) in found.items()}
    assert counts == {
        "a LEFT JOIN": 1,
        "an IN (...) batch": 2,
        "the N+1 loop": 1 + len(ids),
        "the batch plus a COUNT": 3,
        f"posts in chunks of {CHUNK} users": 1 + -(-len(ids) // CHUNK),
        "a second look per user without posts": 2 + 2,
        "an INNER JOIN": 1,
    }
    pages = {label: page for label, (_, page) in found.items()}
    assert all(page == ids for label, page in pages.items() if label != "an INNER JOIN")
    assert pages["an INNER JOIN"] == ids[:-2]


# ---- 02.query_timeout: what the check relies on in SQLite ----------------------------------------
def test_a_handler_that_stops_at_its_first_call_stops_a_rerun_early() -> None:
    """SQLite counts a statement's steps over its lifetime and sqlite3 reuses the prepared
    statement: the first handler call of a second run comes early. The check's trap for the
    ``lambda: 1`` answer stands on this."""
    from labkit.lessons.n02_queries.query_budget import COUNT_TO

    counting = sqlite3.connect(":memory:")
    counted = [0]

    def tick() -> int:
        counted[0] += 1
        return 0

    counting.set_progress_handler(tick, 1)
    counting.execute(COUNT_TO, (500,)).fetchall()
    budget = int(counted[0] / 0.7)  # the query needs 70% of it
    con = sqlite3.connect(":memory:")  # its statement never ran before
    runs = []
    for _ in range(2):
        con.set_progress_handler(lambda: 1, budget)
        try:
            con.execute(COUNT_TO, (500,)).fetchall()
            runs.append("finished")
        except sqlite3.OperationalError:
            runs.append("interrupted")
        con.set_progress_handler(None, budget)
    assert runs == ["finished", "interrupted"]


def test_the_step_meter_counts_what_a_budget_reaches(tmp_path: Path) -> None:
    from labkit.lessons.n02_queries.query_budget import StepMeter

    path = tmp_path / "empty.sqlite"
    sqlite3.connect(path).close()
    meter = StepMeter(path)
    try:
        few, more = meter.runaway_rows_within(2_000), meter.runaway_rows_within(20_000)
        steps, rows = meter.run("SELECT 1", ())
    finally:
        meter.close()
    assert 0 < few < more <= 10 * few + 10
    assert rows == [(1,)] and steps > 0
