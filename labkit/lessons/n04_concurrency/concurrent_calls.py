"""Exercises 04.gather, 04.bounded and 04.timeout: concurrent I/O, counted on a fake service.

The verdicts come from counting the service's calls (in flight at once, still running,
cancelled), never from a stopwatch. The service's own counters are readable (and writable) by
the answer, so each check also keeps a :class:`CallLedger` the answer never receives and
replays it: counters that disagree with it mean the instrument was tampered with. Elapsed time
is shown as a note only.

Every call of the answer gets a fresh service (seeded by the attempt's seed), and each check
calls the answer several times with different inputs, so values typed in from one run, or a
semaphore/service kept in a global, fail.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Sequence
from typing import Any

from labkit.grading import Grader, exercise, reference_answer
from labkit.lessons.n04_concurrency.services import (
    DASHBOARD_LATENCY_MS,
    CallLedger,
    FakeService,
    TamperedCounters,
)

# -- 04.gather: independent calls at once ---------------------------------------------------


@reference_answer
async def fetch_dashboard(service: FakeService, user_id: int) -> dict[str, Any]:
    """Profile, orders and recommendations of one user, fetched concurrently."""
    profile, orders, recommendations = await asyncio.gather(
        service.get_profile(user_id),
        service.get_orders(user_id),
        service.get_recommendations(user_id),
    )
    return {"profile": profile, "orders": orders, "recommendations": recommendations}


async def fetch_dashboard_sequential(service: FakeService, user_id: int) -> dict[str, Any]:
    """The slow version the notebook starts from: each await waits for the previous call."""
    profile = await service.get_profile(user_id)
    orders = await service.get_orders(user_id)
    recommendations = await service.get_recommendations(user_id)
    return {"profile": profile, "orders": orders, "recommendations": recommendations}


def untampered(service: FakeService, ledger: CallLedger) -> None:
    """Raise :class:`TamperedCounters` when the service's counters disagree with the ledger."""
    disagreement = ledger.disagrees_with(service.stats)
    if disagreement is not None:
        raise TamperedCounters(
            f"the service's call counters were changed by the answer ({disagreement}): "
            "leave `service.stats` alone — the check counts the calls themselves"
        )


@exercise(
    "04.gather",
    title="Fetch a dashboard's three independent parts at once",
    answers=("fetch_dashboard",),
    hint="Start all three calls before awaiting any: asyncio.gather(...) or an asyncio.TaskGroup.",
    points=2,
    timeout=15.0,
)
async def grade_gather(g: Grader, fetch_dashboard: Any) -> None:
    rng = random.Random(g.seed)
    user_ids = rng.sample(range(1, 1000), 3)
    slowest = max(DASHBOARD_LATENCY_MS.values())
    total = sum(DASHBOARD_LATENCY_MS.values())
    elapsed = 0.0
    for round_, user_id in enumerate(user_ids):
        # a fresh service per dashboard; the second one is seeded differently, so values
        # remembered from the first call (or from another attempt) are wrong
        ledger = CallLedger()
        service = FakeService(g.seed + round_, ledger=ledger)
        started = time.perf_counter()
        got = await g.acall(fetch_dashboard, service, user_id)
        elapsed = time.perf_counter() - started
        untampered(service, ledger)
        expected = {
            "profile": service.expected("profile", user_id),
            "orders": service.expected("orders", user_id),
            "recommendations": service.expected("recommendations", user_id),
        }
        g.expect_equal(got, expected, what=f"dashboard of user {user_id}")
        g.expect(
            ledger.running == 0,
            f"{ledger.running} service call(s) were still running when fetch_dashboard returned",
            hint="Await the calls you start (gather or a TaskGroup waits for all of them); a "
            "value returned before its call finished did not come from the service.",
        )
        g.expect(
            ledger.calls == 3,
            f"the service was called {ledger.calls} times for one dashboard; "
            "expected 3 (one call per part)",
        )
        peak = ledger.peak_in_flight
        if peak != 3 or round_ == len(user_ids) - 1:
            g.measure(
                "calls in flight at once",
                peak,
                target="3 (all three overlap)",
                ok=peak == 3,
                hint="Each `await` on its own waits for that call to finish before the next "
                "starts. Create all three first, then await them together.",
            )
            if peak != 3:
                return
    g.note(
        f"last dashboard took {1000 * elapsed:.0f} ms; the slowest call alone is {slowest:.0f} ms, "
        f"all three in a row {total:.0f} ms"
    )


# -- 04.bounded: at most `limit` calls in flight -------------------------------------------


@reference_answer
async def fetch_profiles(service: FakeService, user_ids: Sequence[int], limit: int) -> list[Any]:
    """Every profile, in order, with never more than ``limit`` calls in flight."""
    semaphore = asyncio.Semaphore(limit)

    async def one(user_id: int) -> Any:
        async with semaphore:
            return await service.get_profile(user_id)

    return list(await asyncio.gather(*(one(u) for u in user_ids)))


@exercise(
    "04.bounded",
    title="Fetch many profiles with at most `limit` calls in flight",
    answers=("fetch_profiles",),
    hint="An asyncio.Semaphore(limit) created once per call of fetch_profiles, "
    "acquired around each service call.",
    points=2,
    timeout=15.0,
)
async def grade_bounded(g: Grader, fetch_profiles: Any) -> None:
    rng = random.Random(g.seed)
    # (how many ids, limit): limits in an order that defeats a semaphore kept from the last
    # call; a list shorter than its limit (the peak is the list's length); and no ids at all
    runs = [(24, 4), (20, 3), (9, 5), (3, 8), (0, 2)]
    for count, limit in runs:
        user_ids = rng.sample(range(1, 1000), count)
        ledger = CallLedger()
        service = FakeService(g.seed + limit, latency_ms={"profile": 5.0}, ledger=ledger)
        got = await g.acall(fetch_profiles, service, list(user_ids), limit)
        untampered(service, ledger)
        expected = [service.expected("profile", u) for u in user_ids]
        if isinstance(got, tuple):
            got = list(got)
        g.expect_equal(
            got, expected, what=f"profiles of {count} ids (limit={limit})", hint="Keep input order."
        )
        g.expect(
            ledger.calls == len(user_ids),
            f"{ledger.calls} service calls for {len(user_ids)} ids (limit={limit}); "
            "expected one per id",
        )
        g.expect(
            ledger.running == 0,
            f"{ledger.running} service call(s) were still running when fetch_profiles returned "
            f"(limit={limit})",
            hint="Wait for every call you start before returning.",
        )
        if count == 0:
            continue
        peak, want = ledger.peak_in_flight, min(limit, count)
        g.measure(
            f"most calls in flight ({count} ids, limit={limit})",
            peak,
            target=f"exactly {want}",
            ok=peak == want,
            hint=(
                "More calls overlapped than the limit allows: is the semaphore shared by all "
                "tasks of this call (not made anew inside each task, nor kept from an earlier "
                "call with another limit)?"
                if peak > want
                else "Bounded, but not concurrent enough: start up to `limit` calls at once."
            ),
        )
        if peak != want:
            return


# -- 04.timeout: give up on a slow call, and cancel it ------------------------------------


@reference_answer
async def price_or_fallback(
    service: FakeService, product_id: int, timeout_s: float, fallback: int | None = None
) -> int | None:
    """The price, or ``fallback`` when the service takes longer than ``timeout_s``."""
    try:
        return await asyncio.wait_for(service.get_price(product_id), timeout_s)
    except TimeoutError:  # asyncio.TimeoutError is TimeoutError since Python 3.11
        return fallback


@exercise(
    "04.timeout",
    title="Give up on a slow call after a timeout, and cancel it",
    answers=("price_or_fallback",),
    hint="asyncio.wait_for(call, timeout_s) or `async with asyncio.timeout(timeout_s):` both "
    "cancel the call when time is up; catch TimeoutError and return the fallback.",
    points=2,
    timeout=15.0,
)
async def grade_timeout(g: Grader, price_or_fallback: Any) -> None:
    rng = random.Random(g.seed)
    # Three rounds with different timeouts, the slow calls just past the timeout or just
    # within it: no timeout typed in instead of `timeout_s` gets all three right. Fast calls
    # take 10 ms, a twelfth of the shortest timeout, so a stalled machine keeps them fast.
    for timeout_s, slow_ms in ((0.25, 500.0), (0.6, 400.0), (0.12, 300.0)):
        product_ids = rng.sample(range(1, 5000), 6)
        slow = frozenset(rng.sample(product_ids, 2))
        ledger = CallLedger()
        service = FakeService(
            g.seed, latency_ms={"price": 10.0}, slow_keys=slow, slow_ms=slow_ms, ledger=ledger
        )
        try:
            got = await asyncio.gather(
                *(g.acall(price_or_fallback, service, p, timeout_s) for p in product_ids)
            )
            # give a call that was left running (not cancelled) a moment to show up
            await asyncio.sleep(0.01)
            running = ledger.running
            untampered(service, ledger)
        finally:
            await service.cancel_leftovers()
        times_out = slow_ms / 1000 > timeout_s
        expected = [
            None if (p in slow and times_out) else service.expected("price", p) for p in product_ids
        ]
        g.expect_equal(
            list(got),
            expected,
            what=f"prices with a {timeout_s:g} s timeout (None = fallback)",
            hint="A call slower than the timeout must give the fallback (None); one that "
            "finishes within `timeout_s` must give its price — use the timeout you are given.",
        )
        g.measure(
            f"slow calls left running after your function returned (timeout {timeout_s:g} s)",
            running,
            target="0",
            ok=running == 0,
            hint="Stopping to wait is not enough: the call goes on using a connection. "
            "wait_for / asyncio.timeout cancel it; asyncio.wait and shield do not.",
        )
        want_cancelled = len(slow) if times_out else 0
        g.measure(
            f"calls cancelled (timeout {timeout_s:g} s)",
            ledger.cancelled,
            target=f"{want_cancelled}",
            ok=ledger.cancelled == want_cancelled,
        )
