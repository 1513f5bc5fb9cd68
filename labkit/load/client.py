"""The load generator's client side, shared by both loops: one run's state, sending one
request, the timeout watchdog, and recording each answer.

aiohttp with an explicit connection limit: its connector silently caps concurrency at 100 by
default, and httpx is over 10x slower at this job (httpx #3215).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import urljoin

import aiohttp
from yarl import URL

from labkit.errors import LoadError
from labkit.load.result import EndpointLoad

CONNECTION_ERRORS: Final = (aiohttp.ClientConnectionError, ConnectionError)


@dataclass
class Run:
    """Shared state of one run (the recordings and the stop signal)."""

    base: str
    endpoints: list[str]
    record_from: float
    stop_at: float
    began: float
    clock: Callable[[], float]
    loads: dict[str, EndpointLoad]
    # Seconds of nothing but connection failures after which the server counts as gone
    # (``labkit.load.runner.DEAD_AFTER``).
    dead_after: float
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
    # Measured requests a closed loop may still send (``run_load(requests=...)``); None: no count.
    requests_left: int | None = None

    def may_send(self, now: float) -> bool:
        """Whether a request sent at ``now`` fits the request count (warm-up ones do not count).

        A request counts when it is sent, as ``account`` records it by its send time, so the
        run records exactly the count (answered, failed or timed out alike).
        """
        if self.requests_left is None or now < self.record_from:
            return True
        if self.requests_left == 0:
            return False
        self.requests_left -= 1
        return True

    def url(self, endpoint: str) -> URL:
        # Parsed once per endpoint: re-parsing a URL string per request costs the generator
        # CPU that the server, on the same machine, would otherwise get.
        url = self.urls.get(endpoint)
        if url is None:
            url = self.urls[endpoint] = URL(urljoin(self.base, endpoint), encoded=True)
        return url


async def preflight(session: aiohttp.ClientSession, url: str, timeout: float) -> None:
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


async def one_request(
    run: Run, session: aiohttp.ClientSession, endpoint: str, timeout: aiohttp.ClientTimeout
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


async def expire_overdue(run: Run) -> None:
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


def account(
    run: Run,
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
        if done - run.failing_since > run.dead_after and not run.stop.is_set():
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
