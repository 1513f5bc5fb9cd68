"""Closed loop: virtual users that each send the next request once the previous one answers."""

from __future__ import annotations

import asyncio

import aiohttp

from labkit.load.client import Run, account, one_request


async def closed_loop(
    run: Run, session: aiohttp.ClientSession, vus: int, timeout: aiohttp.ClientTimeout
) -> None:
    async def virtual_user(index: int) -> None:
        turn = index
        while not run.stop.is_set() and run.clock() < run.stop_at:
            endpoint = run.endpoints[turn % len(run.endpoints)]
            turn += 1
            started = run.clock()
            if not run.may_send(started):
                break  # the request count is spent
            ok, outcome, size = await one_request(run, session, endpoint, timeout)
            account(run, endpoint, ok, outcome, size, started, started, run.clock())
            if not ok and not outcome.isdigit():
                await asyncio.sleep(0.01)  # a refused connection returns at once: don't spin

    await asyncio.gather(*(virtual_user(i) for i in range(vus)))
