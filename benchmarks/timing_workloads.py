"""The three reference workloads shared by labkit's bench and pyperf in bench_timing.py."""

from __future__ import annotations

import asyncio

SMALL = list(range(200))  # sum() of 200 ints: about a microsecond
LARGE = list(range(30_000))


def about_1us() -> int:
    """Roughly a microsecond of pure-Python work."""
    return sum(SMALL)


def about_1ms() -> int:
    """Roughly a millisecond of pure-Python work."""
    total = 0
    for value in LARGE:
        total += value
    return total


async def awaits_1ms_sleep() -> None:
    await asyncio.sleep(0.001)


WORKLOADS = {"1us": about_1us, "1ms": about_1ms, "async_sleep_1ms": awaits_1ms_sleep}
