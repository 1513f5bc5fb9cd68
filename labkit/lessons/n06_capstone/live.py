"""Live measurements for the notebook: the capstone's endpoints, the optimisations it turns on
one at a time (measured by ``labkit.load.optimization``), raw samples, where reports are saved."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any, Final

import aiohttp

from labkit.load import LoadResult
from labkit.load.endpoints import (
    CORE_ENDPOINTS,
    DEEP_PAGE,
    endpoints_for,
    page_cursor,
    short_name,
    stable_names,
)

__all__ = [
    "CORE_ENDPOINTS",
    "DEEP_PAGE",
    "ORDER",
    "capstone_endpoints",
    "collect_samples",
    "page_cursor",
    "relabel",
    "reports_dir",
    "short_name",
]

# The six optimisations of the capstone, in the order the SYLLABUS lists them. The steps are
# cumulative, so each one's measured contribution depends on what is already on.
ORDER: Final = ("eager_loading", "cache", "compression", "keyset", "fast_json", "indexes")


def capstone_endpoints(server: Any, depth: int = DEEP_PAGE) -> list[str]:
    """What a client does most: users, a deep page of posts, its feed, a product."""
    return endpoints_for(server, CORE_ENDPOINTS, depth=depth)


def relabel(result: LoadResult) -> LoadResult:
    """A copy of the result under stable endpoint names (see ``short_name``)."""
    return stable_names(result)


def reports_dir() -> Path:
    """Where the notebook saves reports and results: ``$LABKIT_HOME/reports``."""
    from labkit.grading.progress_store import labkit_home

    path = labkit_home() / "reports"
    path.mkdir(parents=True, exist_ok=True)
    return path


async def collect_samples(
    base_url: str, endpoint: str, *, requests: int = 200, concurrency: int = 4
) -> list[tuple[float, str]]:
    """Raw (latency ms, outcome) for ``requests`` requests, ``concurrency`` at a time.

    The outcome is the status code as text, or the exception's name when there was no answer.
    """
    samples: list[tuple[float, str]] = []
    remaining = requests
    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def user() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                started = time.perf_counter()
                try:
                    async with session.get(base_url + endpoint) as response:
                        await response.read()
                        outcome = str(response.status)
                except (aiohttp.ClientError, TimeoutError) as exc:
                    outcome = type(exc).__name__
                samples.append(((time.perf_counter() - started) * 1000, outcome))

        await asyncio.gather(*(user() for _ in range(concurrency)))
    return samples
