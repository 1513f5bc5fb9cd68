"""Database helpers: statement counting, simulated latency, plans, pool, bad input."""

from __future__ import annotations

import ast
import asyncio
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import aiosqlite
import pytest

import labkit.db
from labkit.data import build
from labkit.db import (
    DatabaseBusy,
    Pool,
    connect,
    explain,
    normalise_sql,
    retry_locked,
    slow_statement_log,
    statement_log,
    sync_connect,
    write_transaction,
)
from labkit.db.query_cost import count_transactions, vm_steps
from labkit.db.sql_text import (
    LimitClause,
    is_write,
    limit_clause,
    limit_clauses,
    statement_kind,
)
from labkit.errors import DatabaseError, InstrumentBlinded


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build("tiny", 42, tmp_path_factory.mktemp("db") / "tiny.sqlite").path


@pytest.fixture
def db_path(source: Path, tmp_path: Path) -> Iterator[Path]:
    copy = tmp_path / "copy.sqlite"
    copy.write_bytes(source.read_bytes())
    yield copy


class CountingSleep:
    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


async def posts_per_user_n_plus_one(db: aiosqlite.Connection, ids: list[int]) -> dict[int, int]:
    out = {}
    users = await db.execute_fetchall(
        f"SELECT id FROM users WHERE id IN ({','.join('?' * len(ids))})", ids
    )
    for user in users:
        async with db.execute("SELECT id FROM posts WHERE author_id = ?", (user[0],)) as cur:
            out[user[0]] = len(list(await cur.fetchall()))
    return out


def test_n_plus_one_is_counted_as_one_plus_n(db_path: Path) -> None:
    async def scenario() -> int:
        async with connect(db_path) as db:
            with statement_log(db) as log:
                await posts_per_user_n_plus_one(db, list(range(1, 11)))
            return log.count

    assert asyncio.run(scenario()) == 1 + 10


def test_log_records_sql_params_and_shapes(db_path: Path) -> None:
    async def scenario():
        async with connect(db_path) as db:
            with statement_log(db) as log:
                await posts_per_user_n_plus_one(db, [1, 2, 3])
            return log

    log = asyncio.run(scenario())
    assert log.statements[1].sql == "SELECT id FROM posts WHERE author_id = 1"
    assert log.statements[1].params == (1,)
    assert all(s.duration_s >= 0 for s in log.statements)
    shapes = log.shapes()
    assert shapes.iloc[0]["shape"] == "SELECT id FROM posts WHERE author_id = ?"
    assert shapes.iloc[0]["count"] == 3
    assert list(log.to_frame().columns) == ["sql", "params", "duration_ms"]
    assert "4 SQL statements" in str(log)


def test_statements_outside_the_block_are_not_logged(db_path: Path) -> None:
    async def scenario() -> tuple[int, int]:
        async with connect(db_path) as db:
            await db.execute_fetchall("SELECT 1")
            with statement_log(db) as outer:
                await db.execute_fetchall("SELECT 2")
                with statement_log(db) as inner:
                    await db.execute_fetchall("SELECT 3")
            await db.execute_fetchall("SELECT 4")
            return outer.count, inner.count

    assert asyncio.run(scenario()) == (2, 1)


def test_a_plain_aiosqlite_connection_can_be_logged(db_path: Path) -> None:
    async def scenario() -> int:
        async with aiosqlite.connect(db_path) as db:
            with statement_log(db) as log:
                await posts_per_user_n_plus_one(db, [1, 2])
            return log.count

    assert asyncio.run(scenario()) == 3


def test_concurrent_statements_are_all_logged(db_path: Path) -> None:
    async def scenario() -> int:
        async with connect(db_path) as db:
            with statement_log(db) as log:
                await asyncio.gather(*(db.execute_fetchall("SELECT ?", (i,)) for i in range(50)))
            return log.count

    assert asyncio.run(scenario()) == 50


def test_latency_is_one_sleep_per_statement(db_path: Path) -> None:
    sleep = CountingSleep()

    async def scenario() -> None:
        async with connect(db_path, latency_ms=5, sleep=sleep) as db:
            await posts_per_user_n_plus_one(db, [1, 2, 3, 4])

    asyncio.run(scenario())
    assert sleep.calls == [0.005] * 5


def test_latency_really_waits(db_path: Path) -> None:
    async def scenario() -> float:
        async with connect(db_path, latency_ms=10) as db:
            loop = asyncio.get_running_loop()
            start = loop.time()
            for i in range(5):
                await db.execute_fetchall("SELECT ?", (i,))
            return loop.time() - start

    assert asyncio.run(scenario()) >= 5 * 0.010  # a lower bound: never flaky


def test_sync_connection_latency_and_log(db_path: Path) -> None:
    conn = sync_connect(db_path, latency_ms=1)
    try:
        with statement_log(conn) as log:
            for i in range(3):
                conn.execute("SELECT * FROM users WHERE id = ?", (i,)).fetchall()
        assert log.count == 3
        assert all(s.duration_s >= 0 for s in log.statements)
    finally:
        conn.close()


def test_explain_tells_scan_from_search(db_path: Path) -> None:
    sql = "SELECT * FROM posts AS p WHERE p.author_id = ?"

    async def scenario():
        async with connect(db_path) as db:
            before = await explain(db, sql, (3,))
            await db.execute("CREATE INDEX idx_posts_author ON posts(author_id)")
            after = await explain(db, sql, (3,))
            return before, after

    before, after = asyncio.run(scenario())
    assert before.scans("posts") and before.scans() and not before.searches("posts")
    assert not before.uses_index("idx_posts_author")
    assert after.searches("posts") and not after.scans("posts")
    assert after.uses_index("idx_posts_author")
    assert "SEARCH" in str(after) and list(after.frame.columns) == ["id", "parent", "detail"]


def test_explain_bad_sql_is_one_line(db_path: Path) -> None:
    async def scenario() -> None:
        async with connect(db_path) as db:
            await explain(db, "SELECT * FROM nowhere")

    with pytest.raises(DatabaseError, match="explain: no such table: nowhere"):
        asyncio.run(scenario())


def test_slow_statement_log_keeps_only_slow_ones(db_path: Path) -> None:
    async def scenario():
        async with connect(db_path) as db:
            with (
                slow_statement_log(db, threshold_ms=0) as everything,
                slow_statement_log(db, threshold_ms=60_000) as slow,
            ):
                await db.execute_fetchall("SELECT count(*) FROM comments")
            return everything, slow

    everything, slow = asyncio.run(scenario())
    assert everything.count == 1 and slow.count == 0


def test_pool_reuses_connections_and_limits_them(db_path: Path) -> None:
    async def scenario() -> dict[str, object]:
        async with Pool(db_path, size=2, acquire_timeout=5) as pool:
            active = 0
            peak = 0

            async def job() -> None:
                nonlocal active, peak
                async with pool.acquire() as db:
                    active += 1
                    peak = max(peak, active)
                    await db.execute_fetchall("SELECT 1")
                    await asyncio.sleep(0.01)
                    active -= 1

            await asyncio.gather(*(job() for _ in range(6)))
            return {**pool.stats, "peak": peak}

    stats = asyncio.run(scenario())
    assert stats["peak"] == 2
    assert stats["created"] == 2 and stats["acquired"] == 6 and stats["waited"] == 4


def test_pool_acquire_timeout(db_path: Path) -> None:
    async def scenario() -> dict[str, object]:
        pool = Pool(db_path, size=1, acquire_timeout=0.05)
        async with pool.acquire():
            with pytest.raises(DatabaseError, match=r"no free connection after 0.05 s"):
                async with pool.acquire():
                    pass
        await pool.close()
        return pool.stats

    stats = asyncio.run(scenario())
    assert stats["timeouts"] == 1 and stats["acquired"] == 1


def test_pool_connect_latency_is_paid_once_per_connection(db_path: Path) -> None:
    sleep = CountingSleep()

    async def scenario() -> None:
        async with Pool(db_path, size=1, connect_latency_ms=50, sleep=sleep) as pool:
            for _ in range(4):
                async with pool.acquire() as db:
                    await db.execute_fetchall("SELECT 1")

    asyncio.run(scenario())
    assert sleep.calls == [0.05]


def test_statement_log_on_a_closed_connection(db_path: Path) -> None:
    async def scenario() -> None:
        db = await connect(db_path)
        await db.close()
        with statement_log(db):
            pass

    with pytest.raises(DatabaseError, match="statement_log: the connection is closed"):
        asyncio.run(scenario())


def test_statement_log_on_a_closed_sync_connection(db_path: Path) -> None:
    conn = sqlite3.connect(db_path)
    conn.close()
    with pytest.raises(DatabaseError, match="the connection is closed"), statement_log(conn):
        pass


def test_statement_log_needs_a_connection() -> None:
    with pytest.raises(DatabaseError, match="needs a database connection"), statement_log(42):
        pass


def test_connect_to_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DatabaseError, match="no database at"):
        connect(tmp_path / "typo.sqlite")
    assert not (tmp_path / "typo.sqlite").exists()  # nothing created by mistake


def test_connect_to_a_corrupt_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"garbage" * 1000)

    async def scenario() -> None:
        async with connect(bad):
            pass

    with pytest.raises(DatabaseError, match="cannot open the database: file is not a database"):
        asyncio.run(scenario())


@pytest.mark.parametrize("value", [-1, "1", float("nan")])
def test_bad_latency(db_path: Path, value: object) -> None:
    with pytest.raises(DatabaseError, match="latency_ms must be a number"):
        connect(db_path, latency_ms=value)  # type: ignore[arg-type]


@pytest.mark.parametrize(("size", "timeout"), [(0, 1.0), (2, 0), (2, -1)])
def test_bad_pool_arguments(db_path: Path, size: int, timeout: float) -> None:
    with pytest.raises(DatabaseError, match="must be"):
        Pool(db_path, size=size, acquire_timeout=timeout)


def test_readonly_connection_refuses_writes(db_path: Path) -> None:
    async def scenario() -> None:
        async with connect(db_path, readonly=True) as db:
            await db.execute("DELETE FROM users")

    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        asyncio.run(scenario())


@pytest.mark.parametrize(
    ("sql", "shape"),
    [
        ("SELECT * FROM t WHERE a = 12 AND b = 'x''y'", "SELECT * FROM t WHERE a = ? AND b = ?"),
        ("SELECT * FROM t2 WHERE id IN (1, 2, 3)", "SELECT * FROM t2 WHERE id IN (?…)"),
        ("SELECT  1.5,\n  -3", "SELECT ?, ?"),
    ],
)
def test_normalise_sql(sql: str, shape: str) -> None:
    assert normalise_sql(sql) == shape


# ---- the log checks itself: a trace callback switched off is detected, never read as "0" -------
def test_switching_off_the_trace_callback_blinds_the_log(db_path: Path) -> None:
    async def scenario() -> tuple[str | None, int]:
        async with connect(db_path) as db:
            with statement_log(db) as blinded:
                await db.set_trace_callback(None)
                await posts_per_user_n_plus_one(db, [1, 2, 3])
            problem = blinded.problem
            with statement_log(db) as next_log:  # the callback is installed again
                await posts_per_user_n_plus_one(db, [1, 2])
            return problem, next_log.count

    problem, later = asyncio.run(scenario())
    assert problem is not None and "switched off the statement log" in problem
    assert later == 3


def test_a_blinded_log_raises_when_read(db_path: Path) -> None:
    async def scenario() -> None:
        async with connect(db_path) as db:
            with statement_log(db) as log:
                await db.set_trace_callback(lambda sql: None)  # replaced, not removed
                await db.execute_fetchall("SELECT 1")
            with pytest.raises(InstrumentBlinded, match="set_trace_callback"):
                log.count  # noqa: B018

    asyncio.run(scenario())


def test_reading_the_count_inside_the_block_probes_at_once(db_path: Path) -> None:
    async def scenario() -> tuple[int, str | None]:
        async with connect(db_path) as db:
            with statement_log(db) as log:
                await db.execute_fetchall("SELECT 1")
                before = log.count
                await db.set_trace_callback(None)
                return before, log.problem

    before, problem = asyncio.run(scenario())
    assert before == 1
    assert problem is not None


def test_blinding_a_sync_connection_is_detected(db_path: Path) -> None:
    con = sync_connect(db_path)
    try:
        with statement_log(con) as log:
            con.set_trace_callback(None)
            con.execute("SELECT 1").fetchall()
        assert log.problem is not None
        with statement_log(con) as log:
            con.execute("SELECT 1").fetchall()
        assert (log.count, log.calls) == (1, 1)
    finally:
        con.close()


def test_the_probe_is_never_logged(db_path: Path) -> None:
    async def scenario() -> list[str]:
        async with connect(db_path) as db:
            with statement_log(db) as log:
                await db.execute_fetchall("SELECT 1")
                assert log.count == 1
                await db.execute_fetchall("SELECT 2")
            return [s.sql for s in log.statements]

    assert asyncio.run(scenario()) == ["SELECT 1", "SELECT 2"]


def test_log_evidence_calls_rows_and_changes(db_path: Path) -> None:
    async def scenario() -> Any:
        async with connect(db_path) as db:
            with statement_log(db) as log:
                await db.execute_fetchall("SELECT id FROM users ORDER BY id LIMIT 7")
                await db.execute("UPDATE users SET tier = 'pro' WHERE id <= 3")
                await db.commit()
            return log

    log = asyncio.run(scenario())
    assert (log.calls, log.rows_fetched, log.changes) == (2, 7, 3)
    update = next(s for s in log.statements if s.sql.startswith("UPDATE"))
    assert (update.changes, update.in_transaction) == (3, True)  # after sqlite3's implicit BEGIN


def test_with_insert_outside_a_transaction_is_an_autocommit_write(db_path: Path) -> None:
    sql = (
        "WITH v(a) AS (VALUES (?)) INSERT INTO comments (post_id, user_id, body, created_at) "
        "SELECT 1, 1, a, 0 FROM v"
    )

    async def scenario() -> Any:
        async with connect(db_path) as db:
            with statement_log(db) as log:
                for i in range(4):
                    await db.execute(sql, (f"c{i}",))
                    await db.commit()
                await db.execute("BEGIN")  # an empty transaction at the end
                await db.commit()
            return log

    log = asyncio.run(scenario())
    tx = count_transactions(log.statements)
    assert (tx.transactions, tx.autocommit_writes, log.changes) == (5, 4, 4)
    assert count_transactions([s.sql for s in log.statements]).autocommit_writes == 4


def test_vm_steps_detects_a_removed_progress_handler(db_path: Path) -> None:
    async def scenario() -> None:
        async with connect(db_path) as db:
            with pytest.raises(InstrumentBlinded, match="set_progress_handler"):
                async with vm_steps(db):
                    await db.set_progress_handler(None, 1)
                    await db.execute_fetchall("SELECT * FROM posts")

    asyncio.run(scenario())


def test_vm_steps_does_not_count_its_probe(db_path: Path) -> None:
    async def scenario() -> tuple[int, int]:
        async with connect(db_path) as db:
            async with vm_steps(db) as empty:
                pass
            with statement_log(db) as log:
                async with vm_steps(db) as one:
                    await db.execute_fetchall("SELECT 1")
            return empty.count, log.count + 0 * one.count

    assert asyncio.run(scenario()) == (0, 1)


# ---- reading the SQL text that was sent ----------------------------------------------------------
@pytest.mark.parametrize(
    ("sql", "clause"),
    [
        ("SELECT id FROM posts ORDER BY id LIMIT 40, 20", LimitClause(20, 40)),
        ("SELECT id FROM posts WHERE id > 9 ORDER BY id LIMIT 101", LimitClause(101, 0)),
        ("select id from posts limit 20 offset 40", LimitClause(20, 40)),
        ("SELECT * FROM (SELECT id FROM t LIMIT 5 OFFSET 2) LIMIT 3", LimitClause(3, 0)),
        ("SELECT 'LIMIT 1, 2' FROM t", None),
        ("SELECT id FROM t -- LIMIT 9\n", None),
        ("SELECT id FROM t LIMIT ? OFFSET ?", LimitClause(None, None)),
    ],
)
def test_limit_clause(sql: str, clause: LimitClause | None) -> None:
    assert limit_clause(sql) == clause


def test_inner_limit_clauses_are_found_too() -> None:
    clauses = limit_clauses("SELECT * FROM (SELECT id FROM t LIMIT 5 OFFSET 2) LIMIT 3")
    assert [c.skips_rows for c in clauses] == [False, True]


@pytest.mark.parametrize(
    ("sql", "kind"),
    [
        ("WITH v(a) AS (SELECT 1) INSERT INTO t SELECT a FROM v", "INSERT"),
        (
            "with recursive n(i) as (select 1 union all select i + 1 from n) select * from n",
            "SELECT",
        ),
        ("  /* hi */ update t set a = 1", "UPDATE"),
        ("BEGIN ", "BEGIN"),
        ("", ""),
    ],
)
def test_statement_kind(sql: str, kind: str) -> None:
    assert statement_kind(sql) == kind
    assert is_write(sql) == (kind in ("INSERT", "UPDATE"))


def test_a_scan_through_an_index_is_not_a_table_scan(db_path: Path) -> None:
    async def scenario() -> tuple[bool, bool]:
        async with connect(db_path) as db:
            sql = "SELECT id FROM posts WHERE status = 'draft' ORDER BY created_at"
            before = (await explain(db, sql)).scans_table("posts")
            await db.execute("CREATE INDEX ix_d ON posts(created_at) WHERE status = 'draft'")
            plan = await explain(db, sql)
            return before, plan.scans_table("posts") or not plan.uses_index("ix_d")

    assert asyncio.run(scenario()) == (True, False)


# ---------------------------------------------------------------- the package's own structure


def _db_imports(path: Path) -> set[str]:
    """labkit.db modules ``path`` imports anywhere (functions too), except for type checking."""
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test).endswith("TYPE_CHECKING"):
            node.body = []
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return {name.removeprefix("labkit.db.") for name in names if name.startswith("labkit.db.")}


def test_labkit_db_imports_form_no_cycle() -> None:
    folder = Path(labkit.db.__file__).parent
    modules = {path.stem for path in folder.glob("*.py") if path.stem != "__init__"}
    graph = {name: _db_imports(folder / f"{name}.py") & modules for name in modules}
    assert graph["statements"] >= {"connection", "recorder"}  # the parser sees imports

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        return any(nxt == goal or reaches(nxt, goal, seen | {nxt}) for nxt in graph[start] - seen)

    cycles = sorted(name for name in modules if reaches(name, name, set()))
    assert cycles == [], f"import cycle through {cycles}: {graph}"


# ---------------------------------------------------------------- writes, locks, retries


def test_write_transaction_is_three_statements_in_one_round_trip(db_path: Path) -> None:
    sleep = CountingSleep()

    async def scenario() -> tuple[int, list[str], bool]:
        async with connect(db_path, latency_ms=5, autocommit=True, sleep=sleep) as db:
            async with statement_log(db) as log:
                changed = await write_transaction(
                    db, "UPDATE users SET name = ? WHERE id = ?", ("Renamed", 3)
                )
            return changed, [s.sql for s in log.statements], db.in_transaction

    changed, statements, open_after = asyncio.run(scenario())
    assert changed == 1 and not open_after
    assert statements == [
        "BEGIN IMMEDIATE",
        "UPDATE users SET name = 'Renamed' WHERE id = 3",
        "COMMIT",
    ]
    assert sleep.calls == [0.005]
    with closing(sqlite3.connect(db_path)) as other:  # committed: another connection sees it
        assert other.execute("SELECT name FROM users WHERE id = 3").fetchone() == ("Renamed",)


def test_a_failed_write_transaction_is_rolled_back(db_path: Path) -> None:
    async def scenario() -> tuple[list[str], bool]:
        async with connect(db_path, autocommit=True) as db:
            async with statement_log(db) as log:
                with pytest.raises(sqlite3.IntegrityError):
                    # the first row changes, the second collides with id 1: nothing may stay
                    await write_transaction(
                        db,
                        "UPDATE users SET id = CASE id WHEN 3 THEN 30 ELSE 1 END "
                        "WHERE id IN (2, 3)",
                    )
            return [s.sql for s in log.statements], db.in_transaction

    statements, open_after = asyncio.run(scenario())
    assert statements[0] == "BEGIN IMMEDIATE" and statements[-1] == "ROLLBACK"
    assert not open_after
    with closing(sqlite3.connect(db_path)) as other:
        assert other.execute("SELECT count(*) FROM users WHERE id IN (2, 3)").fetchone() == (2,)


def _hold_write_lock(path: Path) -> sqlite3.Connection:
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    return other


def test_a_write_locked_through_every_attempt_is_database_busy(db_path: Path) -> None:
    retries: list[float] = []

    async def scenario() -> bool:
        async with connect(db_path, autocommit=True, timeout=0.01) as db:
            with pytest.raises(DatabaseBusy, match="locked through 3 attempts"):
                await retry_locked(
                    lambda: write_transaction(db, "UPDATE users SET tier = 'pro' WHERE id = 1"),
                    attempts=3,
                    backoff_s=0.001,
                    on_retry=lambda: retries.append(time.monotonic()),
                )
            return db.in_transaction

    other = _hold_write_lock(db_path)
    try:
        open_after = asyncio.run(scenario())
    finally:
        other.close()
    assert len(retries) == 3 and not open_after


def test_a_lock_released_between_attempts_is_no_error(db_path: Path) -> None:
    retries: list[int] = []
    other = _hold_write_lock(db_path)

    def release_after_a_retry() -> None:
        deadline = time.monotonic() + 10
        while not retries and time.monotonic() < deadline:
            time.sleep(0.002)
        other.execute("ROLLBACK")

    async def scenario() -> int:
        async with connect(db_path, autocommit=True, timeout=0.01) as db:
            return await retry_locked(
                lambda: write_transaction(db, "UPDATE users SET tier = 'pro' WHERE id = 1"),
                attempts=50,
                backoff_s=0.005,
                on_retry=lambda: retries.append(1),
            )

    releaser = threading.Thread(target=release_after_a_retry)
    releaser.start()
    try:
        assert asyncio.run(scenario()) == 1
    finally:
        releaser.join()
        other.close()
    assert len(retries) >= 1


def test_errors_other_than_a_lock_are_not_retried(db_path: Path) -> None:
    retries: list[int] = []

    async def scenario() -> None:
        async with connect(db_path, autocommit=True) as db:
            with pytest.raises(sqlite3.OperationalError, match="no such table"):
                await retry_locked(
                    lambda: write_transaction(db, "UPDATE nope SET x = 1"),
                    on_retry=lambda: retries.append(1),
                )

    asyncio.run(scenario())
    assert retries == []


# ---------------------------------------------------------------- async statement log, pool


def test_async_statement_log_is_complete_when_its_block_ends(db_path: Path) -> None:
    async def scenario() -> tuple[bool, int, int]:
        async with connect(db_path) as db:
            async with statement_log(db) as log:
                await posts_per_user_n_plus_one(db, [1, 2, 3])
            settled = log._stopped.is_set()  # the closing probe already ran: reading won't wait
            with statement_log(db) as sync_log:
                await posts_per_user_n_plus_one(db, [1, 2, 3])
            return settled, log.count, sync_log.count

    settled, async_count, sync_count = asyncio.run(scenario())
    assert settled and async_count == sync_count == 4


def test_pool_connections_take_autocommit_and_busy_timeout(db_path: Path) -> None:
    async def scenario() -> tuple[bool, int]:
        pool = Pool(db_path, size=1, autocommit=True, timeout=0.25)
        async with pool, pool.acquire() as db:
            await db.execute("UPDATE users SET tier = 'pro' WHERE id = 1")
            (timeout,) = (await db.execute_fetchall("PRAGMA busy_timeout"))[0]
            return db.in_transaction, timeout

    assert asyncio.run(scenario()) == (False, 250)


def test_a_connection_that_cannot_roll_back_is_not_reused_and_frees_its_slot(
    db_path: Path,
) -> None:
    async def failing_rollback() -> None:
        raise sqlite3.OperationalError("disk I/O error")

    async def scenario() -> dict[str, Any]:
        async with Pool(db_path, size=1, acquire_timeout=0.5) as pool:
            with pytest.raises(sqlite3.OperationalError, match="disk I/O"):
                async with pool.acquire() as db:
                    await db.execute("UPDATE users SET tier = 'pro' WHERE id = 1")  # opens one
                    db.rollback = failing_rollback  # type: ignore[method-assign]
            async with pool.acquire() as fresh:  # the slot is free again, within the timeout
                assert fresh is not db and not fresh.in_transaction
            return pool.stats

    stats = asyncio.run(scenario())
    assert stats["created"] == 2 and stats["timeouts"] == 0


def test_a_connection_left_open_does_not_keep_the_process_alive(db_path: Path) -> None:
    script = (
        "import asyncio, sys\n"
        "from labkit.db import connect\n"
        "async def main():\n"
        "    db = await connect(sys.argv[1])\n"
        "    await db.execute_fetchall('SELECT 1')\n"
        "    globals()['kept'] = db  # never closed\n"
        "asyncio.run(main())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(db_path)], capture_output=True, timeout=20
    )
    assert done.returncode == 0, done.stderr.decode()
