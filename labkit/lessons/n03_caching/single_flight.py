"""03.single_flight — N concurrent requests for one key, one load.

Each attempt builds several ``get`` functions from fresh counting loaders. Two of them serve the
same keys from *different* databases at the same moment, so an in-flight table (or a memo) kept
in a global lets one loader's callers join the other's flight and get the other database's value.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import Any

from labkit.grading import Grader, exercise, reference_answer
from labkit.lessons.n03_caching.workload import CountingLoader

FLIGHT_CALLERS = 100
FLIGHT_DELAY = 0.02


@reference_answer
def make_single_flight(
    load: Callable[[Any], Awaitable[Any]],
) -> Callable[[Any], Awaitable[Any]]:
    """``get(key)``: concurrent callers of one key share one ``load(key)``; later ones load anew.

    The technique written out, as the exercise asks of the learner; the library's own is
    ``labkit.single_flight.SingleFlight`` (the same semantics, per event loop).
    """
    in_flight: dict[Any, asyncio.Future[Any]] = {}

    async def get(key: Any) -> Any:
        future = in_flight.get(key)
        if future is None:
            future = asyncio.ensure_future(load(key))
            in_flight[key] = future
            # Forget the flight once it lands, success or failure: single flight is not a cache.
            future.add_done_callback(lambda _: in_flight.pop(key, None))
        # shield: one caller being cancelled must not cancel the load the others wait for
        return await asyncio.shield(future)

    return get


@exercise(
    "03.single_flight",
    title="Single flight: N concurrent requests for one key, one load",
    answers=("make_single_flight",),
    hint="Keep a dict key -> asyncio.Task (or Future) of the load in progress inside "
    "make_single_flight; later callers await the same task; remove the entry when it "
    "finishes, success or failure.",
    points=2,
    timeout=15.0,
)
async def grade_single_flight(g: Grader, make_single_flight: Any) -> None:
    rng = random.Random(g.seed)
    keys = rng.sample(range(1, 1000), 5)
    source = {k: {"id": k, "stock": rng.randint(0, 500)} for k in keys}
    other_source = {k: {**v, "stock": v["stock"] + 1000} for k, v in source.items()}

    async def burst(get: Any, per_key: dict[Any, int], db: dict[Any, Any]) -> list[str]:
        calls = [key for key, count in per_key.items() for _ in range(count)]
        results = await asyncio.gather(*(g.acall(get, key) for key in calls))
        return [
            f"key {key}: expected {db.get(key)}, got {value!r}"
            for key, value in zip(calls, results, strict=True)
            if value != db.get(key)
        ]

    # Two services at once over the same keys, each with its own loader (and database).
    one = CountingLoader(source, delay=FLIGHT_DELAY)
    other = CountingLoader(other_source, delay=FLIGHT_DELAY)
    get_one = await g.acall(make_single_flight, one)
    get_other = await g.acall(make_single_flight, other)
    crossed = await asyncio.gather(
        burst(get_one, {keys[0]: FLIGHT_CALLERS}, source),
        burst(get_other, {keys[0]: FLIGHT_CALLERS // 2}, other_source),
    )
    g.expect(
        not crossed[1] and other.calls >= 1,
        f"two get functions built from two different loaders shared their loads: the second "
        f"loader ran {other.calls} time(s) and {len(crossed[1])} of its callers got the first "
        f"loader's value ({crossed[1][0] if crossed[1] else ''}). Keep the in-flight table "
        "inside make_single_flight, one per call, not in a global.",
    )
    wrong = crossed[0]
    loads_one = one.calls

    many = CountingLoader(source, delay=FLIGHT_DELAY)
    get_many = await g.acall(make_single_flight, many)
    wrong += await burst(get_many, {k: FLIGHT_CALLERS // len(keys) for k in keys}, source)
    loads_many = many.calls

    # A later request must load again: single flight shares a load, it does not keep it.
    await g.acall(get_many, keys[0])
    later_loads = many.calls_by_key.get(keys[0], 0)

    # A failed load reaches every waiting caller, and the next request tries again.
    failing = CountingLoader(source, delay=FLIGHT_DELAY, fail_keys={keys[1]})
    get_failing = await g.acall(make_single_flight, failing)
    outcomes = await asyncio.gather(
        *(get_failing(keys[1]) for _ in range(10)), return_exceptions=True
    )
    failed = sum(isinstance(o, Exception) for o in outcomes)
    try:
        retry_ok = await get_failing(keys[1]) == source[keys[1]]
    except Exception:  # the failure was kept: the next request cannot recover
        retry_ok = False

    g.expect(
        not wrong,
        f"{len(wrong)} callers got the wrong value (first: {wrong[0] if wrong else ''})",
        hint="Key the in-flight loads by the requested key, and return the loaded value.",
    )
    g.measure(
        f"loads for {FLIGHT_CALLERS} concurrent callers of one key",
        loads_one,
        target="1",
        ok=loads_one == 1,
        hint="Record the in-flight load *before* the first await, so callers arriving "
        "during the load find it and wait for it instead of starting their own.",
    )
    g.measure(
        f"loads for {FLIGHT_CALLERS // 2} concurrent callers, a second get at the same time",
        other.calls,
        target="1",
        ok=other.calls == 1,
    )
    g.measure(
        f"loads for {len(keys)} keys requested concurrently",
        loads_many,
        target=f"{len(keys)}",
        ok=loads_many == len(keys),
    )
    g.measure(
        "loads running at once for different keys",
        many.max_running,
        target=f"{len(keys)} (keys do not wait for each other)",
        ok=many.max_running == len(keys),
        hint="One global lock serialises every key; share a load per key instead.",
    )
    g.measure(
        "loads for a request after the flight landed",
        later_loads,
        target="2 (the flight is forgotten once it lands)",
        ok=later_loads == 2,
        hint="Remove the key from the in-flight dict when its load finishes: single flight "
        "is not a cache (it has no invalidation).",
    )
    g.measure(
        "failed load: callers told / loads / retry worked",
        f"{failed}/10, {failing.calls}, {retry_ok}",
        target="10/10, 2, True",
        ok=failed == 10 and failing.calls == 2 and retry_ok,
        hint="Every waiter must see the failure, and the failed flight must be removed so "
        "the next request can try again.",
    )


__all__ = ["grade_single_flight", "make_single_flight"]
