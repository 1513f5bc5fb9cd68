"""Checks 04.gather, 04.bounded and 04.timeout: concurrent I/O, counted on a fake service.

The verdicts come from the service's counters (calls in flight at once, calls still running,
calls cancelled), never from a stopwatch. Elapsed time is shown as a note only: under
simulated latency it illustrates the point, but a busy machine must not change the verdict.
"""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any

from labkit.grading import Grader, exercise
from labkit.lessons.n04_concurrency.services import DASHBOARD_LATENCY_MS, FakeService


@exercise(
    "04.gather",
    title="Fetch a dashboard's three independent parts at once",
    answers=("fetch_dashboard",),
    hint="Start all three calls before awaiting any: asyncio.gather(...) or an asyncio.TaskGroup.",
    points=2,
    timeout=15.0,
)
def grade_gather(g: Grader, fetch_dashboard: Any) -> None:
    rng = random.Random(g.seed)
    user_ids = rng.sample(range(1, 1000), 2)
    slowest = max(DASHBOARD_LATENCY_MS.values())
    total = sum(DASHBOARD_LATENCY_MS.values())
    for user_id in user_ids:
        service = FakeService(g.seed)

        async def scenario(service: FakeService = service, user_id: int = user_id) -> Any:
            started = time.perf_counter()
            got = await g.acall(fetch_dashboard, service, user_id)
            return got, time.perf_counter() - started

        got, elapsed = g.run(scenario())
        expected = {
            "profile": service.expected("profile", user_id),
            "orders": service.expected("orders", user_id),
            "recommendations": service.expected("recommendations", user_id),
        }
        g.expect_equal(got, expected, what=f"dashboard of user {user_id}")
        g.expect(
            service.stats.calls == 3,
            f"the service was called {service.stats.calls} times for one dashboard; "
            "expected 3 (one call per part)",
        )
    peak = service.stats.peak_in_flight
    g.measure(
        "calls in flight at once",
        peak,
        target="3 (all three overlap)",
        ok=peak == 3,
        hint="Each `await` on its own waits for that call to finish before the next starts. "
        "Create all three first, then await them together.",
    )
    g.note(
        f"last dashboard took {1000 * elapsed:.0f} ms; the slowest call alone is {slowest:.0f} ms, "
        f"all three in a row {total:.0f} ms"
    )


@exercise(
    "04.bounded",
    title="Fetch many profiles with at most `limit` calls in flight",
    answers=("fetch_profiles",),
    hint="An asyncio.Semaphore(limit) created once per call of fetch_profiles, "
    "acquired around each service call.",
    points=2,
    timeout=15.0,
)
def grade_bounded(g: Grader, fetch_profiles: Any) -> None:
    rng = random.Random(g.seed)
    for limit in (4, 3):
        user_ids = rng.sample(range(1, 1000), 24)
        service = FakeService(g.seed, latency_ms={"profile": 5.0})
        got = g.run(g.acall(fetch_profiles, service, user_ids, limit))
        expected = [service.expected("profile", u) for u in user_ids]
        if isinstance(got, tuple):
            got = list(got)
        g.expect_equal(got, expected, what=f"profiles (limit={limit})", hint="Keep input order.")
        g.expect(
            service.stats.calls == len(user_ids),
            f"{service.stats.calls} service calls for {len(user_ids)} ids; expected one per id",
        )
        peak = service.stats.peak_in_flight
        g.measure(
            f"most calls in flight (limit={limit})",
            peak,
            target=f"exactly {limit}",
            ok=peak == limit,
            hint=(
                "More calls overlapped than the limit allows: is the semaphore shared by all "
                "tasks, or made anew inside each one?"
                if peak > limit
                else "Bounded, but not concurrent enough: start up to `limit` calls at once."
            ),
        )
        if peak != limit:
            return


@exercise(
    "04.timeout",
    title="Give up on a slow call after a timeout, and cancel it",
    answers=("price_or_fallback",),
    hint="asyncio.wait_for(call, timeout_s) or `async with asyncio.timeout(timeout_s):` both "
    "cancel the call when time is up; catch TimeoutError and return the fallback.",
    points=2,
    timeout=15.0,
)
def grade_timeout(g: Grader, price_or_fallback: Any) -> None:
    rng = random.Random(g.seed)
    product_ids = rng.sample(range(1, 5000), 6)
    slow = frozenset(rng.sample(product_ids, 2))
    # fast calls take 20 ms: a timeout 12x longer keeps them fast even on a stalled machine
    service = FakeService(g.seed, slow_keys=slow, slow_ms=1200.0)
    timeout_s = 0.25

    async def scenario() -> tuple[list[Any], int]:
        try:
            got = await asyncio.gather(
                *(g.acall(price_or_fallback, service, p, timeout_s) for p in product_ids)
            )
            # give a call that was left running (not cancelled) a moment to show up
            await asyncio.sleep(0.01)
            return list(got), service.still_running()
        finally:
            await service.cancel_leftovers()

    got, running = g.run(scenario())
    expected = [None if p in slow else service.expected("price", p) for p in product_ids]
    g.expect_equal(
        got,
        expected,
        what=f"prices with a {timeout_s:g} s timeout (None = fallback)",
        hint="A call slower than the timeout must give the fallback (None).",
    )
    g.measure(
        "slow calls left running after your function returned",
        running,
        target="0",
        ok=running == 0,
        hint="Stopping to wait is not enough: the call goes on using a connection. "
        "wait_for / asyncio.timeout cancel it; asyncio.wait and shield do not.",
    )
    g.measure(
        "slow calls cancelled",
        service.stats.cancelled,
        target=f"{len(slow)}",
        ok=service.stats.cancelled == len(slow),
    )
