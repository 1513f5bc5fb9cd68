"""Live measurements for the notebook: the capstone's endpoints, raw samples, and the
optimisations turned on one at a time, compared by repeated, interleaved runs."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
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
from labkit.load.interleaved import InterleavedComparison
from labkit.load.steps import measure_steps

__all__ = [
    "DEEP_PAGE",
    "ORDER",
    "capstone_endpoints",
    "collect_samples",
    "one_at_a_time",
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


async def one_at_a_time(
    order: Sequence[str] = ORDER,
    *,
    repeats: int = 5,
    vus: int = 8,
    duration: float = 0.3,
    warmup: float = 0.05,
    dataset: str | Path | None = None,
    latency_ms: float = 0.0,
    depth: int = DEEP_PAGE,
    endpoints: Sequence[str] = CORE_ENDPOINTS,
    say: Callable[[str], None] | None = None,
    progress: bool = True,
) -> InterleavedComparison:
    """Baseline, then each optimisation added to the ones before, each configuration run
    ``repeats`` times for ``duration`` s, interleaved (A A' B C …, then back), on servers kept
    up throughout; A' is the baseline on a second server (the noise floor).

    ``comparison.baseline`` and ``comparison.steps`` (``[("+eager_loading", result), ...]``,
    every run of a configuration merged) are the shapes ``build_report`` takes.
    """
    return await measure_steps(
        order,
        endpoints,
        repeats=repeats,
        vus=vus,
        duration=duration,
        warmup=warmup,
        prime=0.2,
        dataset=dataset,
        latency_ms=latency_ms,
        depth=depth,
        progress=progress,
        say=say,
    )
