"""``run_load``: closed-loop (virtual users) and open-loop (fixed arrival rate) load tests.

aiohttp with an explicit connection limit: its connector silently caps concurrency at 100 by
default, and httpx is over 10x slower at this job (httpx #3215).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import urljoin, urlsplit

import aiohttp
import psutil
from yarl import URL

from labkit.errors import LoadError
from labkit.load.environment import detect_environment
from labkit.load.result import EndpointLoad, LoadResult

PROFILES: Final[dict[str, tuple[int, float]]] = {
    "low": (10, 10.0),
    "medium": (50, 30.0),
    "high": (200, 60.0),
}
DEFAULT_ENDPOINTS: Final = (
    "/api/users?limit=20",
    "/api/posts?limit=20",
    "/api/feed?user_id=1",
    "/api/products/1",
)
LATE_AFTER: Final = 0.010  # an open-loop send more than 10 ms behind schedule is "late"
DEAD_AFTER: Final = 2.0  # seconds of nothing but connection failures: the server is gone
CONNECTION_ERRORS: Final = (aiohttp.ClientConnectionError, ConnectionError)


@dataclass
class _Run:
    """Shared state of one run (the recordings and the stop signal)."""

    base: str
    endpoints: list[str]
    record_from: float
    stop_at: float
    began: float
    clock: Callable[[], float]
    loads: dict[str, EndpointLoad]
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    errors: Counter[str] = field(default_factory=Counter)
    last_success: float = 0.0
    failing_since: float | None = None
    aborted: str | None = None
    completed: int = 0

    urls: dict[str, URL] = field(default_factory=dict)
    # Requests in flight (their task -> when sent) and those the watchdog stopped.
    timeout: float = 10.0
    in_flight: dict[asyncio.Task[Any], float] = field(default_factory=dict)
    expired: set[asyncio.Task[Any]] = field(default_factory=set)

    def url(self, endpoint: str) -> URL:
        # Parsed once per endpoint: re-parsing a URL string per request costs the generator
        # CPU that the server, on the same machine, would otherwise get.
        url = self.urls.get(endpoint)
        if url is None:
            url = self.urls[endpoint] = URL(urljoin(self.base, endpoint), encoded=True)
        return url


def resolve_target(target: Any, endpoints: Sequence[str] | None) -> tuple[str, list[str]]:
    """(base URL, endpoint paths) from a LabServer, a base URL or a full URL."""
    url = getattr(target, "url", target)
    if not isinstance(url, str):
        raise LoadError(f"target must be a URL or a LabServer, got {type(target).__name__}")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise LoadError(f"not an http(s) URL: {url!r}")
    base = f"{parts.scheme}://{parts.netloc}"
    if endpoints:
        paths = [e if e.startswith(("/", "http")) else "/" + e for e in endpoints]
    elif parts.path not in ("", "/"):
        paths = [parts.path + (f"?{parts.query}" if parts.query else "")]
    else:
        paths = list(DEFAULT_ENDPOINTS)
    return base, paths


def choose_shape(
    profile: str | None, vus: int | None, duration: float | None, rate: float | None
) -> tuple[int, float]:
    if profile is not None and profile not in PROFILES:
        raise LoadError(f"unknown load profile {profile!r}: choose {', '.join(PROFILES)}")
    base_vus, base_duration = PROFILES[profile or "low"]
    vus = base_vus if vus is None else vus
    duration = base_duration if duration is None else duration
    if vus < 1 or duration <= 0 or (rate is not None and rate <= 0):
        raise LoadError("vus must be >= 1, duration > 0 and rate > 0")
    return vus, duration


async def _preflight(session: aiohttp.ClientSession, url: str, timeout: float) -> None:
    try:
        async with session.get(
            url, timeout=aiohttp.ClientTimeout(total=timeout), allow_redirects=False
        ) as response:
            await response.read()
    except TimeoutError:
        raise LoadError(f"{url} did not answer within {timeout:g} s") from None
    except aiohttp.ClientError as exc:
        raise LoadError(
            f"cannot reach {url}: {exc.__class__.__name__} — is the server running? "
            "(start one with `labkit serve` or LabServer)"
        ) from None


async def _one_request(
    run: _Run, session: aiohttp.ClientSession, endpoint: str, timeout: aiohttp.ClientTimeout
) -> tuple[bool, str, int]:
    """(ok, outcome, bytes): outcome is the status code or the exception's name."""
    task = asyncio.current_task()
    assert task is not None
    run.in_flight[task] = run.clock()
    try:
        # Redirects are answers to count, not to follow (as wrk does).
        async with session.get(run.url(endpoint), allow_redirects=False) as response:
            body = await response.read()
            ok = 200 <= response.status < 400
            outcome = str(response.status)
            size = len(body)
    except CONNECTION_ERRORS as exc:
        return False, exc.__class__.__name__, 0
    except TimeoutError:
        return False, "Timeout", 0
    except aiohttp.ClientError as exc:
        return False, exc.__class__.__name__, 0
    except asyncio.CancelledError:
        if task not in run.expired:
            raise  # the run itself is being cancelled
        run.expired.discard(task)
        task.uncancel()
        return False, "Timeout", 0
    finally:
        del run.in_flight[task]
    return ok, outcome, size


async def _watchdog(run: _Run) -> None:
    """Stop requests in flight for longer than ``run.timeout`` (they count as "Timeout").

    One timer for the whole run instead of aiohttp's per-request timeout, which schedules
    and cancels a timer handle for every request: CPU the generator would take from the
    server. A request is stopped between ``timeout`` and ``timeout`` plus one check interval.
    """
    interval = min(0.5, run.timeout / 10)
    while not run.stop.is_set():
        await asyncio.sleep(interval)
        now = run.clock()
        for task, sent in list(run.in_flight.items()):
            if now - sent > run.timeout and task not in run.expired:
                run.expired.add(task)
                task.cancel()


def _account(
    run: _Run,
    endpoint: str,
    ok: bool,
    outcome: str,
    size: int,
    started: float,
    intended: float,
    done: float,
) -> None:
    run.completed += 1
    if ok or outcome.isdigit():  # the server answered, even if with an error status
        run.last_success = done
        run.failing_since = None
    else:
        run.failing_since = run.failing_since or done
        if done - run.failing_since > DEAD_AFTER and not run.stop.is_set():
            run.aborted = (
                f"the server stopped answering ({outcome}) after "
                f"{max(0.0, run.failing_since - run.record_from):.1f} s of measurement"
            )
            run.stop.set()
    if intended < run.record_from:
        return  # warm-up
    load = run.loads[endpoint]
    load.statuses[outcome] += 1
    if not ok:
        load.errors += 1
        run.errors[outcome] += 1
    else:
        load.ok += 1
    load.bytes_received += size
    load.response.record(done - intended)
    if intended != started:
        load.service.record(done - started)


async def _closed_loop(
    run: _Run, session: aiohttp.ClientSession, vus: int, timeout: aiohttp.ClientTimeout
) -> None:
    async def virtual_user(index: int) -> None:
        turn = index
        while not run.stop.is_set() and run.clock() < run.stop_at:
            endpoint = run.endpoints[turn % len(run.endpoints)]
            turn += 1
            started = run.clock()
            ok, outcome, size = await _one_request(run, session, endpoint, timeout)
            _account(run, endpoint, ok, outcome, size, started, started, run.clock())
            if not ok and not outcome.isdigit():
                await asyncio.sleep(0.01)  # a refused connection returns at once: don't spin

    await asyncio.gather(*(virtual_user(i) for i in range(vus)))


async def _open_loop(
    run: _Run,
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
            ok, outcome, size = await _one_request(run, session, endpoint, timeout)
            _account(run, endpoint, ok, outcome, size, started, intended, run.clock())
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


async def _monitor(
    run: _Run, server: Any, bar: Any, samples: dict[str, list[float]], interval: float = 0.5
) -> None:
    """Progress bar, generator CPU and loop lag, and the server's resource use."""
    me = psutil.Process()
    me.cpu_percent(None)
    next_server_sample = 0.0
    while not run.stop.is_set():
        before = time.perf_counter()
        await asyncio.sleep(interval)
        samples["generator_lag"].append(time.perf_counter() - before - interval)
        now = run.clock()
        if now >= run.record_from:
            samples["generator_cpu"].append(me.cpu_percent(None))
        if server is not None and hasattr(server, "stats") and now >= next_server_sample:
            next_server_sample = now + 1.0
            try:
                stats = await asyncio.to_thread(server.stats)
            except Exception:  # the server may be gone; the run itself reports that
                stats = None
            if stats is not None and now >= run.record_from:
                samples["server_cpu"].append(stats.cpu_percent)
                samples["server_rss"].append(stats.rss_bytes)
                if stats.loop_lag_ms is not None:
                    samples["server_lag"].append(stats.loop_lag_ms)
        if bar is not None:
            bar.n = round(min(now, run.stop_at) - run.began, 1)
            bar.set_postfix(requests=run.completed, errors=sum(run.errors.values()), refresh=False)
            bar.refresh()


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


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
    if warmup < 0 or timeout <= 0:
        raise LoadError("warmup must be >= 0 and timeout > 0")
    limit = connections or (vus if rate is None else max(vus, 256))
    connector = aiohttp.TCPConnector(limit=limit, limit_per_host=limit, force_close=False)
    # Only connecting has an aiohttp timeout (it is rare with keep-alive); the request
    # timeout is the run's watchdog (see _watchdog).
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
        await _preflight(session, urljoin(base, paths[0]), min(timeout, 5.0))
        began = clock()
        run = _Run(
            base=base,
            endpoints=paths,
            record_from=began + warmup,
            stop_at=began + warmup + duration,
            began=began,
            clock=clock,
            loads={path: EndpointLoad() for path in paths},
            timeout=timeout,
        )
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=round(warmup + duration, 1), unit="s", desc="load", leave=True)
        monitor = asyncio.create_task(_monitor(run, target, bar, samples))
        watchdog = asyncio.create_task(_watchdog(run))
        late = dropped = 0
        try:
            # Bounded: nothing can run longer than the plan plus one request timeout.
            async with asyncio.timeout(warmup + duration + timeout + 5):
                if rate is None:
                    await _closed_loop(run, session, vus, request_timeout)
                else:
                    late, dropped = await _open_loop(
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
        generator_cpu_percent=_mean(samples["generator_cpu"]),
        label=label,
        environment=detect_environment(),
    )
    if hasattr(target, "toggles"):
        result.environment["optimize"] = target.toggles.label
        result.environment["workers"] = str(getattr(target, "workers", 1))
    if samples["server_cpu"]:
        result.server = {
            "cpu_percent_mean": _mean(samples["server_cpu"]),
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


def saturation_warnings(result: LoadResult, samples: dict[str, list[float]]) -> list[str]:
    """Say when the numbers may describe the load generator rather than the server."""
    warnings = []
    cpu = _mean(samples["generator_cpu"])
    if cpu is not None and cpu >= 90:
        warnings.append(
            f"the load generator used {cpu:.0f}% of a core: it may be the bottleneck "
            "(fewer VUs, or run it in its own process)"
        )
    lag = max(samples["generator_lag"], default=0.0)
    if lag > 0.05:
        warnings.append(f"the load generator's event loop lagged {lag * 1000:.0f} ms")
    sent = result.overall.count + result.dropped
    if result.mode == "open" and sent and (result.late + result.dropped) / sent > 0.05:
        warnings.append(
            f"{result.late} late and {result.dropped} dropped of {sent} scheduled requests: "
            "the offered rate was not achieved (the server, or the generator, is saturated)"
        )
    return warnings


def run_load_sync(target: Any, endpoints: Sequence[str] | None = None, **kwargs: Any) -> LoadResult:
    """``run_load`` for scripts and the CLI (outside a running event loop)."""
    return asyncio.run(run_load(target, endpoints, **kwargs))
