"""Borrow a pooled connection only for the query: give it back before the slow work.

A pool of a few connections serves many requests only if each request holds a connection for
the time of its statements. A handler that keeps it while it renders a template or calls
another service holds a connection idle, and the next requests queue for it (or time out).
The check counts what the pool saw, not how long anything took: connections in use while the
handler renders, connections acquired and created, acquire timeouts.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from labkit.grading import exercise, reference_answer
from labkit.lessons.n02_queries.fixtures import fetch_all, rng_for

if TYPE_CHECKING:
    from labkit.db import Pool
    from labkit.grading import Grader

Render = Callable[[dict[str, Any]], Awaitable[str]]

PROFILE_SQL = "SELECT id, name, tier FROM users WHERE id = ?"


@reference_answer
async def profile_page_reference(pool: Pool, user_id: int, render: Render) -> str:
    """Query with a pooled connection, give it back, then render."""
    async with pool.acquire() as db, db.execute(PROFILE_SQL, (user_id,)) as cur:
        row = await cur.fetchone()
    if row is None:
        raise LookupError(f"no user {user_id}")
    return await render({"id": row[0], "name": row[1], "tier": row[2]})


class Renderer:
    """The grader's slow ``render``: notes how many connections were borrowed while it ran."""

    def __init__(self, pool: Pool, pause_s: float = 0.01) -> None:
        self.pool = pool
        self.pause_s = pause_s
        self.in_use_while_rendering: list[int] = []

    async def __call__(self, row: dict[str, Any]) -> str:
        self.in_use_while_rendering.append(int(self.pool.stats["in_use"]))
        await asyncio.sleep(self.pause_s)  # a template, another service: work without the DB
        return f"<h1>{row['name']}</h1><p>{row['tier']}</p>"


@exercise(
    "02.pool_release",
    title="Hold a pooled connection only for the query",
    answers=("profile_page",),
    hint=(
        "Read the row inside `async with pool.acquire() as db:`, turn it into a dict, and call "
        "`await render(row)` after the `async with` block has given the connection back."
    ),
    points=1,
    timeout=15.0,
)
async def grade_pool_release(g: Grader, profile_page: Any) -> None:
    from labkit.db import Pool

    path = g.dataset("tiny")
    rng = rng_for(g.seed, "pool_release")
    async with Pool(path, readonly=True, size=1) as probe_pool, probe_pool.acquire() as db:
        ids = [r[0] for r in await fetch_all(db, "SELECT id FROM users ORDER BY id")]
        one_by_one = rng.sample(ids, 5)
        together = rng.sample(ids, 12)
        expected = {
            uid: f"<h1>{name}</h1><p>{tier}</p>"
            for uid, name, tier in await fetch_all(db, "SELECT id, name, tier FROM users")
        }

    # One request at a time: nobody else may hold a connection while a page renders.
    async with Pool(path, readonly=True, size=2, acquire_timeout=2.0) as pool:
        render = Renderer(pool)
        for uid in one_by_one:
            page = await g.acall(profile_page, pool, uid, render)
            g.expect_equal(page, expected[uid], what=f"profile_page(pool, {uid}, render)")
        alone = dict(pool.stats)
    held = sum(1 for n in render.in_use_while_rendering if n > 0)
    g.expect(
        alone["acquired"] >= len(one_by_one),
        f"{len(one_by_one)} requests acquired {alone['acquired']} connections from the pool: "
        "borrow the connection from the `pool` you are given (not a connection of your own)",
    )
    g.measure(
        f"pages rendered while holding a connection (of {len(one_by_one)})",
        held,
        target="0",
        ok=held == 0,
        hint="The connection stays borrowed during render(): leave the `async with "
        "pool.acquire()` block before the slow work.",
    )
    # Twelve at once on a pool of 3 (a fresh one): each borrows, nobody times out.
    async with Pool(path, readonly=True, size=3, acquire_timeout=2.0) as pool:
        render = Renderer(pool)
        pages = await asyncio.gather(
            *(g.acall(profile_page, pool, uid, render) for uid in together)
        )
        busy = dict(pool.stats)
    g.expect_equal(pages, [expected[uid] for uid in together], what="12 concurrent pages")
    g.measure(
        "connections opened for 12 concurrent requests",
        busy["created"],
        target="≤ 3 (the pool's size)",
        ok=busy["created"] <= 3 and busy["acquired"] >= len(together),
        hint="Every request should borrow one of the pool's connections.",
    )
    g.note(
        f"12 concurrent requests on 3 connections: {busy['acquired']} acquired, "
        f"{busy['waited']} waited, {busy['timeouts']} timed out"
    )


# ---- failing fast when the pool is exhausted ---------------------------------------------------
BUSY, NOT_FOUND, OK = 503, 404, 200


@reference_answer
async def profile_or_busy_reference(pool: Pool, user_id: int) -> tuple[int, str | None]:
    """``(200, name)``; ``(404, None)`` for no such user; ``(503, None)`` when no connection
    frees up within the pool's acquire timeout."""
    from labkit.errors import DatabaseError

    try:
        async with (
            pool.acquire() as db,
            db.execute("SELECT name FROM users WHERE id = ?", (user_id,)) as cur,
        ):
            row = await cur.fetchone()
    except DatabaseError:  # labkit's: the pool gave up waiting (SQLite errors are sqlite3's)
        return BUSY, None
    return (OK, str(row[0])) if row is not None else (NOT_FOUND, None)


async def _hold_all(pool: Pool, seconds: float, holding: asyncio.Event) -> None:
    """Borrow every connection of the pool for ``seconds`` (the grader's other requests)."""
    async with contextlib.AsyncExitStack() as stack:
        for _ in range(pool.size):
            await stack.enter_async_context(pool.acquire())
        holding.set()
        await asyncio.sleep(seconds)


@exercise(
    "02.fail_fast",
    title="Answer 503 when no connection frees up in time",
    answers=("profile_or_busy",),
    hint=(
        "Only `pool.acquire()` can time out: catch labkit.errors.DatabaseError around taking "
        "the connection (not around the query), return (503, None), and let the pool's "
        "acquire_timeout decide how long to wait."
    ),
    points=1,
    timeout=15.0,
)
async def grade_fail_fast(g: Grader, profile_or_busy: Any) -> None:
    from labkit.db import Pool

    path = g.dataset("tiny")
    rng = rng_for(g.seed, "fail_fast")
    async with Pool(path, readonly=True, size=1) as probe_pool, probe_pool.acquire() as db:
        names = dict(await fetch_all(db, "SELECT id, name FROM users"))
    known = rng.sample(sorted(names), 3)
    missing = max(names) + 1 + g.seed % 50
    wait_s = 0.5  # the pool's acquire timeout: 25× the short hold below

    async with Pool(path, readonly=True, size=2, acquire_timeout=wait_s) as pool:
        for uid in known[:2]:
            got = await g.acall(profile_or_busy, pool, uid)
            g.expect_equal(got, (OK, names[uid]), what=f"profile_or_busy(pool, {uid})")
        got = await g.acall(profile_or_busy, pool, missing)
        g.expect_equal(
            got,
            (NOT_FOUND, None),
            what=f"profile_or_busy(pool, {missing}) for a user that does not exist",
            hint="A missing user is (404, None), not busy: catch only the pool's timeout.",
        )
        # Every connection busy for a moment (well inside the acquire timeout): wait for one.
        holding = asyncio.Event()
        short = asyncio.ensure_future(_hold_all(pool, wait_s / 25, holding))
        await holding.wait()
        got = await g.acall(profile_or_busy, pool, known[2])
        await short
        g.expect_equal(
            got,
            (OK, names[known[2]]),
            what="a request while the pool was busy for a moment (freed well before "
            f"the {wait_s:g} s acquire timeout)",
            hint="Wait for a connection up to the pool's acquire timeout: busy for a moment "
            "is not overloaded.",
        )
        # Every connection busy for far longer than the acquire timeout: answer 503 at once.
        before = dict(pool.stats)
        holding = asyncio.Event()
        long = asyncio.ensure_future(_hold_all(pool, 4 * wait_s, holding))
        await holding.wait()
        got = await g.acall(profile_or_busy, pool, known[0])
        still_held = not long.done()
        await long
        after = dict(pool.stats)
        later = await g.acall(profile_or_busy, pool, known[1])
    g.expect_equal(
        got,
        (BUSY, None),
        what="a request while every connection stayed busy past the acquire timeout",
        hint="When pool.acquire() gives up it raises labkit.errors.DatabaseError: answer "
        "(503, None) instead of waiting longer or failing.",
    )
    g.expect(
        still_held,
        "your answer returned only after the other requests gave their connections back: "
        "let the pool's acquire timeout end the wait",
    )
    g.measure(
        "acquire timeouts the pool counted for the exhausted request",
        after["timeouts"] - before["timeouts"],
        target="1 (it asked the pool, and the pool gave up)",
        ok=after["timeouts"] - before["timeouts"] == 1,
        hint="Ask the pool for a connection and let its acquire timeout decide: do not guess "
        "from pool.stats, and do not retry.",
    )
    g.expect_equal(
        later,
        (OK, names[known[1]]),
        what="the next request once the pool was free again",
        hint="After a 503 the pool must still work: give back every connection you took.",
    )
