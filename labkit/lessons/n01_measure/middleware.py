"""Exercise 01.server_timing: a request-timing middleware with a Server-Timing header and a
slow-request log.

The demo app's handler times its own phases (``cache``, ``db``) and leaves them in
``request.state.phases`` (milliseconds); the middleware adds the request's total, writes the
``Server-Timing`` header and logs requests slower than a threshold, at WARNING (the level an
alert or a log filter set to "warnings and worse" picks up). Graded under a :class:`ManualClock`:
phase costs are scripted per seed, so every duration is known exactly. A log line written at
INFO, to another logger than the one given, or for a fast request fails.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from labkit.clock import ManualClock
from labkit.grading import Grader, exercise, reference_answer
from labkit.timing import parse_server_timing

SLOW_MS = 200.0
Dispatch = Callable[..., Awaitable[Response]]

slow_log = logging.getLogger("labkit.slow_requests")
"""The logger the lesson's middleware writes slow requests to (WARNING level)."""


@reference_answer
async def server_timing_reference(
    request: Request,
    call_next: Callable[[Request], Awaitable[Response]],
    *,
    clock: Callable[[], float] = time.perf_counter,
    logger: logging.Logger = slow_log,
    threshold_ms: float = SLOW_MS,
) -> Response:
    """Time the request; add ``Server-Timing`` (phases + total); log it when slow."""
    start = clock()
    response = await call_next(request)
    total_ms = (clock() - start) * 1000
    phases = getattr(request.state, "phases", {})
    entries = [f"{name};dur={ms:.1f}" for name, ms in phases.items()]
    entries.append(f"total;dur={total_ms:.1f}")
    response.headers["Server-Timing"] = ", ".join(entries)
    if total_ms > threshold_ms:
        logger.warning("slow request %s %s: %.1f ms", request.method, request.url.path, total_ms)
    return response


def phase_demo_app(
    dispatch: Dispatch | None = None,
    *,
    clock: Callable[[], float] = time.perf_counter,
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
) -> Starlette:
    """A stand-in backend: any path; ``?cache=0.5&db=12&render=2`` sets each phase's cost (ms).

    The handler times ``cache`` and ``db`` itself and leaves them in ``request.state.phases``;
    ``render`` (serialisation) is deliberately outside every phase, as in real handlers.
    """

    async def endpoint(request: Request) -> Response:
        phases: dict[str, float] = {}
        request.state.phases = phases
        for name in ("cache", "db"):
            cost_ms = float(request.query_params.get(name, 0))
            if cost_ms > 0:
                started = clock()
                await sleep(cost_ms / 1000)
                phases[name] = (clock() - started) * 1000
        await sleep(float(request.query_params.get("render", 0)) / 1000)
        return JSONResponse({"path": request.url.path, "ok": True})

    middleware = [Middleware(BaseHTTPMiddleware, dispatch=dispatch)] if dispatch else []
    return Starlette(routes=[Route("/{path:path}", endpoint)], middleware=middleware)


async def fetch_all(app: Any, urls: Sequence[str]) -> list[httpx.Response]:
    """GET each URL in turn from an ASGI app, in-process (no sockets)."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://lab") as client:
        return [await client.get(url) for url in urls]


@dataclass(frozen=True)
class ScriptedRequest:
    path: str
    cache_ms: float
    db_ms: float
    render_ms: float

    @property
    def url(self) -> str:
        return f"{self.path}?cache={self.cache_ms}&db={self.db_ms}&render={self.render_ms}"

    @property
    def phases(self) -> dict[str, float]:
        found = {"cache": self.cache_ms, "db": self.db_ms}
        return {name: ms for name, ms in found.items() if ms > 0}

    @property
    def total_ms(self) -> float:
        return self.cache_ms + self.db_ms + self.render_ms


def request_script(seed: int) -> list[ScriptedRequest]:
    """Seven requests: cache hits, misses, a near miss just under 200 ms and 1-2 slow ones."""
    rng = random.Random(f"labkit/01.server_timing/{seed}")

    def ms(low: float, high: float) -> float:
        return round(rng.uniform(low, high), 1)

    uid = rng.randint(1, 60)
    script = [
        ScriptedRequest(f"/users/{uid}", ms(0.3, 0.9), 0.0, ms(0.5, 2.0)),
        ScriptedRequest(f"/users/{uid + 1}", ms(0.3, 0.9), ms(8, 40), ms(0.5, 2.0)),
        ScriptedRequest("/search", 0.0, ms(40, 90), ms(2, 6)),
        ScriptedRequest("/orders", ms(0.3, 0.9), ms(170, 185), ms(5, 12)),  # just under 200
        ScriptedRequest("/reports/monthly", ms(0.3, 0.9), ms(210, 420), ms(5, 20)),
        ScriptedRequest(f"/users/{uid}", ms(0.3, 0.9), 0.0, ms(0.5, 2.0)),
    ]
    if rng.random() < 0.5:
        script.append(ScriptedRequest("/reports/yearly", 0.0, ms(450, 900), ms(10, 30)))
    else:
        script.append(ScriptedRequest("/products", ms(0.3, 0.9), ms(20, 60), ms(1, 4)))
    rng.shuffle(script)
    return script


class _ListHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def _guarded(fn: Dispatch, failures: list[BaseException], **options: Any) -> Dispatch:
    """The learner's dispatch, with any exception kept for the verdict instead of a 500 page."""

    async def dispatch(request: Request, call_next: Any) -> Response:
        try:
            response = await fn(request, call_next, **options)
        except Exception as exc:
            failures.append(exc)
            return PlainTextResponse("middleware failed", status_code=500)
        if not isinstance(response, Response):
            failures.append(TypeError(f"returned {type(response).__name__}, not the response"))
            return PlainTextResponse("middleware returned no response", status_code=500)
        return response

    return dispatch


def _check_callable(g: Grader, fn: object, options: dict[str, Any]) -> None:
    g.expect(callable(fn), "server_timing should be an `async def` function")
    g.expect(
        inspect.iscoroutinefunction(fn),
        "server_timing should be defined with `async def` (it awaits call_next(request))",
    )
    try:
        inspect.signature(fn).bind(object(), object(), **options)  # type: ignore[arg-type]
    except TypeError as exc:
        g.expect(False, f"server_timing cannot be called as server_timing(request, call_next, "
                 f"clock=..., logger=..., threshold_ms=...): {exc}")  # fmt: skip


@exercise(
    "01.server_timing",
    title="Request timing middleware: Server-Timing header and slow-request log",
    answers=("server_timing",),
    hint=(
        "Read the clock before and after `await call_next(request)`; build the header from "
        "request.state.phases plus total (milliseconds); log with logger.warning(...) only when "
        "the total is above threshold_ms."
    ),
    points=2,
    timeout=15.0,
)
async def grade_server_timing(g: Grader, server_timing: Dispatch) -> None:
    clock = ManualClock()
    handler, elsewhere = _ListHandler(), _ListHandler()
    logger = logging.getLogger(f"labkit.lesson01.check.{id(handler)}")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    root = logging.getLogger()
    root.addHandler(elsewhere)  # log lines sent to another logger than the one given
    options: dict[str, Any] = {"clock": clock, "logger": logger, "threshold_ms": SLOW_MS}
    _check_callable(g, server_timing, options)
    failures: list[BaseException] = []
    app = phase_demo_app(
        _guarded(server_timing, failures, **options), clock=clock, sleep=clock.sleep
    )
    script = request_script(g.seed)
    try:
        responses = await fetch_all(app, [r.url for r in script])
    finally:
        logger.removeHandler(handler)
        root.removeHandler(elsewhere)
    if failures:
        exc = failures[0]
        if isinstance(exc, NotImplementedError):
            g.expect(
                False, "server_timing is not written yet: replace `raise NotImplementedError()`"
            )
        g.expect(False, f"your middleware raised {type(exc).__name__}: {exc}")

    for scripted, response in zip(script, responses, strict=True):
        header = response.headers.get("server-timing")
        g.expect(
            header is not None,
            f"GET {scripted.path}: no Server-Timing header in the response",
            hint='response.headers["Server-Timing"] = "cache;dur=0.4, db;dur=12.0, total;dur=13.1"',
        )
        parsed = parse_server_timing(header or "")  # ms; a dur that is no number is left out
        expected = {**scripted.phases, "total": scripted.total_ms}
        g.expect(
            set(parsed) >= set(expected),
            f"GET {scripted.path}: Server-Timing {header!r} should name "
            f"{', '.join(expected)} (missing: {', '.join(sorted(set(expected) - set(parsed)))})",
            hint="Every phase in request.state.phases goes into the header, then total, each "
            "as `name;dur=<milliseconds>` with a plain number (`dur=12.0`, not `dur=12ms`).",
        )
        inside = sum(scripted.phases.values())
        g.expect(
            not (parsed["total"] + 0.05 < inside),
            f"GET {scripted.path}: total is {parsed['total']:.1f} ms in your header, shorter "
            f"than the {inside:.1f} ms of the phases inside it: the request's time passes on "
            "the clock your middleware is given; time it with `clock()`, not "
            "time.perf_counter() or time.time()",
            hint="start = clock(); response = await call_next(request); "
            "total_ms = (clock() - start) * 1000",
        )
        for name, ms in expected.items():
            g.expect(
                abs(parsed[name] - ms) <= 0.051,
                f"GET {scripted.path}: {name} is {parsed[name]:.1f} ms in your header; the "
                f"request measured {ms:.1f} ms",
                hint="Durations are milliseconds with one decimal; time total with the clock "
                "you were given, around `await call_next(request)`.",
            )

    slow_paths = [r.path for r in script if r.total_ms > SLOW_MS]
    warnings = [r for r in handler.records if r.levelno >= logging.WARNING]
    quieter = [r for r in handler.records if r.levelno < logging.WARNING]
    stray = [r for r in elsewhere.records if any(p in r.getMessage() for p in slow_paths)]
    g.expect(
        bool(warnings) or not stray,
        f"your slow-request lines went to the logger {stray[0].name!r}, not to the `logger` "
        "the middleware is given"
        if stray
        else "",
        hint="Log with the `logger` argument: logger.warning(...).",
    )
    g.expect(
        bool(warnings) or not quieter,
        f"your slow-request lines are logged at {quieter[0].levelname if quieter else ''}: "
        "slow requests are logged at WARNING, the level alerts and log filters pick up",
        hint="logger.warning(...), not logger.info(...) or logger.debug(...).",
    )
    messages = [record.getMessage() for record in warnings]
    g.measure(
        "slow-request log lines",
        len(messages),
        target=f"= {len(slow_paths)} (requests over {SLOW_MS:.0f} ms)",
        ok=len(messages) == len(slow_paths),
        hint="Log once per request whose total is above threshold_ms (milliseconds).",
    )
    for path in slow_paths:
        g.expect(
            any(path in message for message in messages),
            f"the slow request {path} is not in the log (log lines: {messages[:3]})",
            hint="Put the request path in the log message: request.url.path",
        )
    g.expect(
        len(messages) == len(slow_paths),
        f"{len(messages)} slow-request log lines, expected {len(slow_paths)}: only "
        f"{', '.join(slow_paths)} took over {SLOW_MS:.0f} ms",
    )
    g.note(f"{len(script)} requests under a scripted clock; slow: {', '.join(slow_paths)}")
