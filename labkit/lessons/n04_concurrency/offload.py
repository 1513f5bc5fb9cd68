"""Exercise 04.offload: CPU-bound work in a process pool while the event loop keeps ticking.

Three independent pieces of evidence, none of which the answer can reach:
* the pool reports each job from the worker itself (``cpu_work.run_recorded``): the process that
  ran it, the value it computed and the CPU seconds it used there — so a dummy job sent to the
  pool while the real work runs on the loop or a thread is seen for what it is;
* this process's own CPU time during the call: the work done here instead of in the pool shows
  up as CPU spent here (CPU seconds, not wall time: a busy machine does not change them much);
* a heartbeat on the event loop: a blocked loop ticks not at all.
The answer is called twice, with different limits, so a remembered result fails.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from concurrent.futures import Executor
from typing import Any

from labkit.cpu_work import count_primes, run_recorded
from labkit.grading import Grader, exercise, reference_answer
from labkit.lessons.n04_concurrency.pools import RecordingPool, lesson_pool
from labkit.loop_lag import Heartbeat

HEARTBEAT_S = 0.005
MIN_TICKS = 3
# the work must cost this process less than this share of what it cost the worker
MAX_LOCAL_CPU_SHARE = 0.5
# the job the answer sent must have used at least this share of a reference job's CPU
MIN_JOB_CPU_SHARE = 0.5


@reference_answer
async def count_primes_offloaded(pool: Executor, limit: int) -> int:
    """``count_primes(limit)`` computed in ``pool`` while the event loop keeps serving."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(pool, count_primes, limit)


@exercise(
    "04.offload",
    title="Move CPU-bound work to a process pool",
    answers=("count_primes_offloaded",),
    hint="await loop.run_in_executor(pool, count_primes, limit), with "
    "loop = asyncio.get_running_loop() and count_primes imported from labkit.cpu_work.",
    points=2,
    timeout=30.0,
)
async def grade_offload(g: Grader, count_primes_offloaded: Any) -> None:
    rng = random.Random(g.seed)
    limits = (100_000 + rng.randrange(10_000), 60_000 + rng.randrange(10_000))
    worker = lesson_pool()
    # warm the worker first: its start-up is not the learner's to pay for
    await asyncio.wrap_future(worker.submit(count_primes, 10))
    for limit in limits:
        pool = RecordingPool(worker)
        cpu_before = time.process_time()
        async with Heartbeat(HEARTBEAT_S) as heartbeat:
            got = await g.acall(count_primes_offloaded, pool, limit)
        local_cpu_s = time.process_time() - cpu_before
        await asyncio.to_thread(pool.wait)
        # the reference job, in the same worker, after the answer's: what the work costs there
        expected, _, reference_cpu_s = await asyncio.wrap_future(
            worker.submit(run_recorded, count_primes, (limit,), {})
        )
        g.expect_equal(got, expected, what=f"count_primes({limit})")
        lag = heartbeat.result
        assert lag is not None
        jobs = pool.jobs
        g.measure(
            f"jobs sent to the process pool (limit {limit})",
            len(jobs),
            target="1",
            ok=len(jobs) == 1,
            hint="The work ran in this process (directly, or in a thread: under the GIL a thread "
            "running Python competes with the event loop). Send it to the pool you are given."
            if not jobs
            else "Send one job, the real one: count_primes(limit) itself.",
        )
        if len(jobs) != 1:
            return
        job = jobs[0]
        g.expect(
            job.error is None and job.pid is not None and job.pid != os.getpid(),
            f"the job sent to the pool ({job.function}) did not complete in a worker process "
            f"({job.error})",
        )
        g.expect(
            job.value == expected and job.cpu_s >= MIN_JOB_CPU_SHARE * reference_cpu_s,
            f"the job sent to the pool was {job.function}{job.args!r}: it returned "
            f"{job.value!r} using {1000 * job.cpu_s:.0f} ms of CPU in the worker, while "
            f"count_primes({limit}) returns {expected} using about "
            f"{1000 * reference_cpu_s:.0f} ms there — the real work was done somewhere else",
            hint="Send the real computation to the pool: run_in_executor(pool, count_primes, "
            "limit), and return what it computed.",
        )
        g.measure(
            f"CPU used in this process during the call (limit {limit})",
            f"{1000 * local_cpu_s:.0f} ms (worker: {1000 * job.cpu_s:.0f} ms)",
            target=f"< {MAX_LOCAL_CPU_SHARE:.0%} of the worker's",
            ok=local_cpu_s < MAX_LOCAL_CPU_SHARE * job.cpu_s,
            hint="This process did the work too (on the loop or a thread): the pool's job "
            "should be the only place count_primes runs.",
        )
        # While a coroutine computes (or blocks on a future's .result()), no callback runs: the
        # heartbeat cannot tick at all. Offloaded, it ticks many times even on a loaded machine,
        # so "at least 3 ticks" separates the two without any millisecond threshold.
        g.measure(
            f"heartbeat ticks while the work ran (limit {limit})",
            lag.ticks,
            target=f"≥ {MIN_TICKS} (a blocked loop ticks 0 times)",
            ok=lag.ticks >= MIN_TICKS,
            hint="The event loop could not run while your function worked: is something waiting "
            "without `await` (a direct call, or future.result())?",
        )
        g.note(f"event loop during count_primes({limit}): {lag}")
