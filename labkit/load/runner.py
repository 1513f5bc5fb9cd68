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
from collections.abc import Callable, Sequence
from typing import Any, Final
from urllib.parse import urljoin

import aiohttp

from labkit.errors import LoadError
from labkit.load.client import Run, expire_overdue, preflight
from labkit.load.closed_loop import closed_loop
from labkit.load.environment import detect_environment
from labkit.load.monitor import mean, monitor_run, saturation_warnings
from labkit.load.open_loop import open_loop
from labkit.load.plan import check_warmup, choose_shape, resolve_target
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
    """
    base, paths = resolve_target(target, endpoints)
    vus, duration = choose_shape(profile, vus, duration, rate)
    check_warmup(warmup)
    if not (math.isfinite(timeout) and timeout > 0):
        raise LoadError(f"timeout must be a positive number of seconds, got {timeout}")
    limit = connections or (vus if rate is None else max(vus, 256))
    connector = aiohttp.TCPConnector(limit=limit, limit_per_host=limit, force_close=False)
    # Only connecting has an aiohttp timeout (it is rare with keep-alive); the request
    # timeout is the run's watchdog (see labkit.load.client.expire_overdue).
    request_timeout = aiohttp.ClientTimeout(total=None, sock_connect=timeout)
    samples: dict[str, list[float]] = {
        k: [] for k in ("generator_cpu", "generator_lag", "server_cpu", "server_rss", "server_lag")
    }
    started_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    bar = None
    # No decompression: a load client only needs the bytes on the wire (and wrk does not
    # decompress either); bytes_received is then the transferred size. No cookie jar (as
    # wrk): the generator's virtual users share one session, so cookies would be shared too.
    async with aiohttp.ClientSession(
        connector=connector,
        auto_decompress=False,
        timeout=request_timeout,
        cookie_jar=aiohttp.DummyCookieJar(),
        skip_auto_headers=("User-Agent",),  # fewer headers to build and send, as wrk
    ) as session:
        await preflight(session, urljoin(base, paths[0]), min(timeout, 5.0))
        began = clock()
        run = Run(
            base=base,
            endpoints=paths,
            record_from=began + warmup,
            stop_at=began + warmup + duration,
            began=began,
            clock=clock,
            loads={path: EndpointLoad() for path in paths},
            timeout=timeout,
            dead_after=DEAD_AFTER,
        )
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=round(warmup + duration, 1), unit="s", desc="load", leave=True)
        monitor = asyncio.create_task(monitor_run(run, target, bar, samples))
        watchdog = asyncio.create_task(expire_overdue(run))
        late = dropped = 0
        try:
            # Bounded: nothing can run longer than the plan plus one request timeout.
            async with asyncio.timeout(warmup + duration + timeout + 5):
                if rate is None:
                    await closed_loop(run, session, vus, request_timeout)
                else:
                    late, dropped = await open_loop(
                        run, session, rate, limit, request_timeout, began
                    )
        except TimeoutError:
            run.aborted = run.aborted or "the run overran its time budget"
        finally:
            ended = clock()
            run.stop.set()
            monitor.cancel()
            watchdog.cancel()
            if bar is not None:
                bar.close()

    measured = max(0.0, min(ended, run.stop_at) - run.record_from)
    result = LoadResult(
        target=base,
        mode="closed" if rate is None else "open",
        duration=measured,
        warmup=warmup,
        endpoints=run.loads,
        vus=vus if rate is None else None,
        rate=rate,
        started_at=started_at,
        late=late,
        dropped=dropped,
        aborted=run.aborted,
        generator_cpu_percent=mean(samples["generator_cpu"]),
        label=label,
        environment=detect_environment(),
    )
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
    result.warnings = saturation_warnings(result, samples)
    if run.errors and result.overall.count == 0 and run.aborted is None:
        result.warnings.append(f"every request failed: {dict(run.errors)}")
    return result


def run_load_sync(target: Any, endpoints: Sequence[str] | None = None, **kwargs: Any) -> LoadResult:
    """``run_load`` for scripts and the CLI (outside a running event loop)."""
    return asyncio.run(run_load(target, endpoints, **kwargs))
