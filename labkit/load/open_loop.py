"""Open loop: requests due on a fixed schedule, latency counted from when each was due, so a
stalled server cannot hide its queue (coordinated omission)."""

from __future__ import annotations

import asyncio
import math
from typing import Final

import aiohttp

from labkit.load.client import Run, account, one_request

LATE_AFTER: Final = 0.010  # an open-loop send more than 10 ms behind schedule is "late"


async def open_loop(
    run: Run,
    session: aiohttp.ClientSession,
    rate: float,
    max_in_flight: int,
    timeout: aiohttp.ClientTimeout,
    start: float,
) -> tuple[int, int]:
    """Send at ``rate`` per second from ``start``; returns (late, dropped)."""
    slots = asyncio.Semaphore(max_in_flight)
    tasks: set[asyncio.Task[None]] = set()
    late = dropped = 0
    # The tolerance absorbs float error in the clock arithmetic (0.7 s × 100/s can come out
    # as 69.999…, which would drop the last due send).
    total = math.floor((run.stop_at - start) * rate + 1e-6)

    async def send(endpoint: str, intended: float) -> None:
        try:
            started = run.clock()
            ok, outcome, size = await one_request(run, session, endpoint, timeout)
            account(run, endpoint, ok, outcome, size, started, intended, run.clock())
        finally:
            slots.release()

    for index in range(total):
        intended = start + index / rate
        wait = intended - run.clock()
        if wait > 0:
            await asyncio.sleep(wait)
        await slots.acquire()  # all connections busy: this send falls behind its schedule
        if run.stop.is_set() or run.clock() > run.stop_at:
            slots.release()
            dropped = total - index
            break
        if run.clock() - intended > LATE_AFTER and intended >= run.record_from:
            late += 1
        task = asyncio.create_task(send(run.endpoints[index % len(run.endpoints)], intended))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    if tasks:
        await asyncio.gather(*tasks)
    return late, dropped
