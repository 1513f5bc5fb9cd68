"""Check 04.offload: CPU-bound work leaves the event loop free (missed heartbeat ticks)."""

from __future__ import annotations

import random
from typing import Any

from labkit.cpu_work import count_primes
from labkit.grading import Grader, exercise
from labkit.lessons.n04_concurrency.pools import CountingExecutor, lesson_pool
from labkit.loop_lag import Heartbeat

HEARTBEAT_S = 0.005
MIN_TICKS = 3


@exercise(
    "04.offload",
    title="Move CPU-bound work to a process pool",
    answers=("count_primes_offloaded",),
    hint="await loop.run_in_executor(pool, count_primes, limit), with "
    "loop = asyncio.get_running_loop() and count_primes imported from labkit.cpu_work.",
    points=2,
    timeout=20.0,
)
def grade_offload(g: Grader, count_primes_offloaded: Any) -> None:
    limit = 120_000 + random.Random(g.seed).randrange(10_000)
    pool = CountingExecutor(lesson_pool())
    # warm the worker first: its start-up is not the learner's to pay for
    pool.inner.submit(count_primes, 10).result(timeout=15)

    async def scenario() -> tuple[Any, Heartbeat]:
        async with Heartbeat(HEARTBEAT_S) as heartbeat:
            got = await g.acall(count_primes_offloaded, pool, limit)
        return got, heartbeat

    got, heartbeat = g.run(scenario())
    expected = pool.inner.submit(count_primes, limit).result(timeout=15)
    g.expect_equal(got, expected, what=f"count_primes({limit})")
    lag = heartbeat.result
    assert lag is not None
    g.measure(
        "jobs sent to the process pool",
        len(pool.submitted),
        target="1",
        ok=len(pool.submitted) == 1,
        hint="The work ran in this process (directly, or in a thread: under the GIL a thread "
        "running Python competes with the event loop). Send it to the pool you are given.",
    )
    # While a coroutine computes (or blocks on a future's .result()), no callback runs: the
    # heartbeat cannot tick at all. Offloaded, it ticks many times even on a loaded machine, so
    # "at least 3 ticks" separates the two without any millisecond threshold.
    g.measure(
        "heartbeat ticks while the work ran",
        lag.ticks,
        target=f"≥ {MIN_TICKS} (a blocked loop ticks 0 times)",
        ok=lag.ticks >= MIN_TICKS,
        hint="The event loop could not run while your function worked: is something waiting "
        "without `await` (a direct call, or future.result())?",
    )
    g.note(f"event loop during the work: {lag}")
