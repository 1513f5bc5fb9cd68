"""``run_load``: closed-loop (virtual users) and open-loop (fixed arrival rate) load tests.

This module runs one load test from start to result. The loops are in ``closed_loop`` and
``open_loop``, the client machinery they share (sending, timeouts, recording) in ``client``,
the resource sampling and saturation warnings in ``monitor``, and the target and profiles in
``plan``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urljoin

import aiohttp

from labkit.errors import LoadError
from labkit.load.client import Run, expire_overdue, preflight
from labkit.load.closed_loop import closed_loop
from labkit.load.environment import detect_environment
from labkit.load.monitor import mean, monitor_run, saturation_warnings
from labkit.load.open_loop import open_loop
from labkit.load.plan import (
    MAX_SECONDS,
    check_requests,
    check_warmup,
    choose_shape,
    resolve_target,
)
from labkit.load.result import EndpointLoad, LoadResult

__all__ = ["DEAD_AFTER", "run_load", "run_load_sync"]

# Read when each run starts, so a test can shorten it on this module.
DEAD_AFTER: Final = 2.0  # seconds of nothing but connection failures: the server is gone


async def run_load(
    target: Any,
    endpoints: Sequence[str] | None = None,
    *,
    vus: int | None = None,
    duration: float | None = None,
    rate: float | None = None,
    requests: int | None = None,
    warmup: float = 1.0,
    profile: str | None = None,
    timeout: float = 10.0,
    connections: int | None = None,
    progress: bool = True,
    label: str | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> LoadResult:
    """Load-test ``target`` (a ``LabServer`` or URL) and return what was measured.

    Closed loop by default: ``vus`` virtual users each send the next request as soon as the
    previous one answers, for ``duration`` seconds after ``warmup`` seconds that are not
    recorded. With ``rate`` (requests per second) it is an open loop: requests are due on a
    fixed schedule and latency counts from when each was due, so a stalled server cannot hide
    its queue (coordinated omission). ``profile`` "low"/"medium"/"high" picks VUs × duration
    (10 × 10 s, 50 × 30 s, 200 × 60 s); explicit ``vus``/``duration`` win over it.
    ``requests`` stops a closed loop once that many measured requests have been sent (an
    open loop sends ``rate × duration``); ``duration``, if given, still bounds the run.
    """
    plan = plan_run(
        target, endpoints, vus, duration, rate, requests, warmup, profile, timeout, connections
    )
    samples: dict[str, list[float]] = {k: [] for k in SAMPLED}
    started_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    async with load_session(plan) as session:
        await preflight(session, urljoin(plan.base, plan.paths[0]), min(timeout, 5.0))
        run = start_run(plan, clock)
        outcome = await drive(plan, run, session, target, samples, progress)
    result = summarize(plan, run, outcome, started_at, samples, label)
    await describe_server(result, target, samples)
    result.warnings = saturation_warnings(result, samples)
    if plan.requests is not None and result.overall.count < plan.requests and run.aborted is None:
        result.warnings.append(
            f"stopped at the {plan.duration:g} s limit after {result.overall.count:,} of "
            f"{plan.requests:,} requests"
        )
    if run.errors and result.overall.count == 0 and run.aborted is None:
        result.warnings.append(f"every request failed: {dict(run.errors)}")
    return result


# What the monitor samples during a run (generator and server side).
SAMPLED: Final = ("generator_cpu", "generator_lag", "server_cpu", "server_rss", "server_lag")


@dataclass(frozen=True)
class LoadPlan:
    """One run's checked settings: where, which endpoints, how hard and for how long."""

    base: str
    paths: list[str]
    vus: int
    duration: float
    rate: float | None
    requests: int | None  # a closed loop's stop after this many measured requests
    warmup: float
    timeout: float
    connections: int

    @property
    def request_timeout(self) -> aiohttp.ClientTimeout:
        # Only connecting has an aiohttp timeout (it is rare with keep-alive); the request
        # timeout is the run's watchdog (see labkit.load.client.expire_overdue).
        return aiohttp.ClientTimeout(total=None, sock_connect=self.timeout)


def plan_run(
    target: Any,
    endpoints: Sequence[str] | None,
    vus: int | None,
    duration: float | None,
    rate: float | None,
    requests: int | None,
    warmup: float,
    profile: str | None,
    timeout: float,
    connections: int | None,
) -> LoadPlan:
    """``run_load``'s arguments checked (``LoadError`` naming the first bad one) and resolved."""
    base, paths = resolve_target(target, endpoints)
    if requests is not None:
        check_requests(requests, rate)
        duration = MAX_SECONDS if duration is None else duration
    vus, duration = choose_shape(profile, vus, duration, rate)
    check_warmup(warmup)
    if not (math.isfinite(timeout) and timeout > 0):
        raise LoadError(f"timeout must be a positive number of seconds, got {timeout}")
    # An open loop needs room for the requests a slow server has not answered yet.
    limit = connections or (vus if rate is None else max(vus, 256))
    return LoadPlan(base, paths, vus, duration, rate, requests, warmup, timeout, limit)


@asynccontextmanager
async def load_session(plan: LoadPlan) -> AsyncIterator[aiohttp.ClientSession]:
    """The generator's HTTP session, its connection pool sized to the plan."""
    limit = plan.connections
    connector = aiohttp.TCPConnector(limit=limit, limit_per_host=limit, force_close=False)
    # No decompression: a load client only needs the bytes on the wire (and wrk does not
    # decompress either); bytes_received is then the transferred size. No cookie jar (as
    # wrk): the generator's virtual users share one session, so cookies would be shared too.
    async with aiohttp.ClientSession(
        connector=connector,
        auto_decompress=False,
        timeout=plan.request_timeout,
        cookie_jar=aiohttp.DummyCookieJar(),
        skip_auto_headers=("User-Agent",),  # fewer headers to build and send, as wrk
    ) as session:
        yield session


def start_run(plan: LoadPlan, clock: Callable[[], float]) -> Run:
    """A run starting now: warm-up first, then ``plan.duration`` seconds recorded."""
    began = clock()
    return Run(
        base=plan.base,
        endpoints=plan.paths,
        record_from=began + plan.warmup,
        stop_at=began + plan.warmup + plan.duration,
        began=began,
        clock=clock,
        loads={path: EndpointLoad() for path in plan.paths},
        timeout=plan.timeout,
        dead_after=DEAD_AFTER,
        requests_left=plan.requests,
    )


async def drive(
    plan: LoadPlan,
    run: Run,
    session: aiohttp.ClientSession,
    target: Any,
    samples: dict[str, list[float]],
    progress: bool,
) -> tuple[int, int, float]:
    """Run the plan's loop beside the monitor and the watchdog; (late, dropped, ended at)."""
    bar = None
    if progress:
        from tqdm.auto import tqdm

        if plan.requests is None:
            total, unit = round(plan.warmup + plan.duration, 1), "s"
        else:
            total, unit = plan.requests, "req"
        bar = tqdm(total=total, unit=unit, desc="load", leave=True)
    monitor = asyncio.create_task(monitor_run(run, target, bar, samples))
    watchdog = asyncio.create_task(expire_overdue(run))
    late = dropped = 0
    try:
        # Bounded: nothing can run longer than the plan plus one request timeout.
        async with asyncio.timeout(plan.warmup + plan.duration + plan.timeout + 5):
            if plan.rate is None:
                await closed_loop(run, session, plan.vus, plan.request_timeout)
            else:
                late, dropped = await open_loop(
                    run, session, plan.rate, plan.connections, plan.request_timeout, run.began
                )
    except TimeoutError:
        run.aborted = run.aborted or "the run overran its time budget"
    finally:
        ended = run.clock()
        run.stop.set()
        monitor.cancel()
        watchdog.cancel()
        if bar is not None:
            bar.close()
    return late, dropped, ended


def summarize(
    plan: LoadPlan,
    run: Run,
    outcome: tuple[int, int, float],
    started_at: str,
    samples: dict[str, list[float]],
    label: str | None,
) -> LoadResult:
    """What the run measured, counted from the end of warm-up to the end (or the abort)."""
    late, dropped, ended = outcome
    return LoadResult(
        target=plan.base,
        mode="closed" if plan.rate is None else "open",
        duration=max(0.0, min(ended, run.stop_at) - run.record_from),
        warmup=plan.warmup,
        endpoints=run.loads,
        vus=plan.vus if plan.rate is None else None,
        rate=plan.rate,
        started_at=started_at,
        late=late,
        dropped=dropped,
        aborted=run.aborted,
        generator_cpu_percent=mean(samples["generator_cpu"]),
        label=label,
        environment=detect_environment(),
    )


async def describe_server(result: LoadResult, target: Any, samples: dict[str, list[float]]) -> None:
    """The server side of ``result``: its settings, resource use and app counters."""
    if hasattr(target, "toggles"):
        result.environment["optimize"] = target.toggles.label
        result.environment["workers"] = str(getattr(target, "workers", 1))
    if samples["server_cpu"]:
        result.server = {
            "cpu_percent_mean": mean(samples["server_cpu"]),
            "cpu_percent_max": max(samples["server_cpu"]),
            "rss_mb_max": max(samples["server_rss"]) / 2**20,
            "loop_lag_ms_max": max(samples["server_lag"]) if samples["server_lag"] else None,
        }
    if result.server is not None and hasattr(target, "app_stats"):
        try:  # cache hits, statements, rate-limited requests: since the server started
            counters = (await asyncio.to_thread(target.app_stats)).get("counters", {})
            result.server["counters"] = counters
        except Exception:
            pass


def run_load_sync(target: Any, endpoints: Sequence[str] | None = None, **kwargs: Any) -> LoadResult:
    """``run_load`` for scripts and the CLI (outside a running event loop)."""
    return asyncio.run(run_load(target, endpoints, **kwargs))
