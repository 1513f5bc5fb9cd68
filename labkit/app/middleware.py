"""Pure ASGI middleware: health shortcut, request timing (Server-Timing) and compression.

Pure ASGI (not ``BaseHTTPMiddleware``) so streaming responses pass through unbuffered and the
per-request context variable stays visible to the handler. Each middleware lets the health
check and the stats endpoint through untouched: a probe should not pay for the rest.
"""

from __future__ import annotations

import gzip
import logging
import re
import time
from collections.abc import Callable
from typing import Final

import brotli
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from labkit.app.metrics import AppCounters, RequestMetrics, current_request

log = logging.getLogger("labkit.app")

HEALTH_PATH: Final = "/api/health"
SKIP_PATHS: Final = frozenset({HEALTH_PATH, "/api/_stats"})
HEALTH_BODY: Final = b'{"status":"ok"}'
COMPRESSIBLE: Final = ("application/json", "text/", "application/x-ndjson")


class HealthShortcut:
    """Answer ``GET /api/health`` before any other middleware or routing runs."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == HEALTH_PATH and scope["method"] == "GET":
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(HEALTH_BODY)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": HEALTH_BODY})
            return
        await self.app(scope, receive, send)


class TimingMiddleware:
    """Adds ``Server-Timing`` and ``X-Query-Count``; logs slow requests.

    Phases, in milliseconds, all measured in this process for this request:

    - ``db``: time awaiting SQLite statements (with their simulated latency), summed;
    - ``cache``: time in the cache layers, summed;
    - ``ser``: encoding JSON bodies before the headers are sent (``json_response``). A body
      encoded while it streams is encoded after the header left, so it is not in it: ``ser``
      is absent when nothing was encoded in time;
    - ``app``: the application below the middleware (routing, dependencies, handler, ``ser``)
      up to its response start, minus db, cache and ser: the application's own Python. Absent
      for a request the application never saw, and when
      db + cache + ser exceed the route's wall time (statements run concurrently with
      ``asyncio.gather`` overlap, so their sum is not a share of the route's time) — a
      negative or clamped figure would not be a measurement;
    - (compression, in its middleware, is in ``total`` only);
    - ``total``: from this middleware's entry to the response start, so it also holds routing,
      the other middleware (compression included) and the wait for the event loop.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        counters: AppCounters,
        slow_ms: float = 200.0,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.app = app
        self.counters = counters
        self.slow_ms = slow_ms
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in SKIP_PATHS:
            await self.app(scope, receive, send)
            return
        metrics = RequestMetrics(clock=self.clock)
        token = current_request.set(metrics)
        started = self.clock()
        status = 0

        async def send_with_timing(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                total_ms = (self.clock() - started) * 1000
                headers = MutableHeaders(scope=message)
                headers.append("Server-Timing", server_timing(metrics, total_ms))
                headers["X-Query-Count"] = str(metrics.statements)
            await send(message)

        try:
            await self.app(scope, receive, send_with_timing)
        finally:
            current_request.reset(token)
            elapsed_ms = (self.clock() - started) * 1000
            self.counters.add("requests")
            if elapsed_ms > self.slow_ms:
                self.counters.add("slow_requests")
                query = scope.get("query_string", b"").decode("latin-1")
                target = scope["path"] + (f"?{query}" if query else "")
                log.warning(
                    "slow request: %s %s -> %s in %.0f ms (db %.0f ms, %d statements)",
                    scope["method"],
                    target,
                    status,
                    elapsed_ms,
                    metrics.db_seconds * 1000,
                    metrics.statements,
                )


def server_timing(metrics: RequestMetrics, total_ms: float) -> str:
    db_ms = metrics.db_seconds * 1000
    cache_ms = metrics.cache_seconds * 1000
    parts = [
        f'db;dur={db_ms:.2f};desc="{metrics.statements} statements"',
        f"cache;dur={cache_ms:.2f}",
    ]
    ser_ms = metrics.serialize_seconds * 1000
    if metrics.serializations:
        parts.append(f"ser;dur={ser_ms:.2f}")
    if metrics.handler_seconds is not None:
        app_ms = metrics.handler_seconds * 1000 - db_ms - cache_ms - ser_ms
        if app_ms >= 0:
            parts.append(f"app;dur={app_ms:.2f}")
    parts.append(f"total;dur={total_ms:.2f}")
    return ", ".join(parts)


class InnerTiming:
    """Times the application below the lab's middleware, from entry to its response start.

    ``create_app`` adds it innermost, so the time covers routing, dependencies, the handler
    and its serialisation, but not compression or the other middleware; the timing middleware
    turns it into the ``app`` phase. (Wrapping each route instead would depend on FastAPI
    internals: included routes are dispatched through a per-include context, not ``route.app``.)
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        metrics = current_request.get()
        if metrics is None:
            await self.app(scope, receive, send)
            return
        started = metrics.clock()
        stopped = False

        async def send_and_stop(message: Message) -> None:
            nonlocal stopped
            if not stopped and message["type"] == "http.response.start":
                stopped = True
                metrics.handler_seconds = metrics.clock() - started
            await send(message)

        await self.app(scope, receive, send_and_stop)


# RFC 9110 §12.4.2: qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )
QVALUE: Final = re.compile(r"(?:0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?)")


def accept_encoding_weights(header: str) -> dict[str, float]:
    """Coding -> weight from an Accept-Encoding header (RFC 9110 §12.5.3).

    A member whose q-value is not a valid qvalue (``q=-1``, ``q=abc``, ``q=2``) is ignored, as
    if it were absent; the first mention of a coding counts.
    """
    weights: dict[str, float] = {}
    for member in header.split(","):
        name, *params = (part.strip() for part in member.split(";"))
        if not name:
            continue
        weight: float | None = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                value = value.strip()
                weight = float(value) if QVALUE.fullmatch(value) else None
        if weight is not None:
            weights.setdefault(name.lower(), weight)
    return weights


def choose_encoding(accept_encoding: str) -> str | None:
    """ "br" or "gzip" when the client accepts it (weight > 0, RFC 9110), brotli on a tie;
    None (identity) when neither is acceptable or the client prefers identity."""
    weights = accept_encoding_weights(accept_encoding)
    wildcard = weights.get("*", 0.0)

    def weight(coding: str) -> float:
        return weights.get(coding, wildcard)

    best = max(("br", "gzip"), key=weight)  # max keeps the first of equals: brotli
    if weight(best) <= 0 or weights.get("identity", 0.0) > weight(best):
        return None
    return best


class CompressionMiddleware:
    """gzip / brotli for complete responses of at least ``minimum_size`` bytes.

    Streaming responses (no Content-Length) pass through: compressing them here would buffer
    the whole stream, as Starlette's GZipMiddleware does (starlette #2753). A client opts out
    with ``Accept-Encoding: identity`` or ``X-No-Compression: 1``.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        counters: AppCounters,
        minimum_size: int = 1024,
        gzip_level: int = 6,
        brotli_quality: int = 4,
    ) -> None:
        self.app = app
        self.counters = counters
        self.minimum_size = minimum_size
        self.gzip_level = gzip_level
        self.brotli_quality = brotli_quality

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in SKIP_PATHS:
            await self.app(scope, receive, send)
            return
        request_headers = Headers(scope=scope)
        encoding = choose_encoding(request_headers.get("accept-encoding", ""))
        if encoding is None or request_headers.get("x-no-compression", "") not in ("", "0"):
            await self.app(scope, receive, send)
            return

        start: Message | None = None
        passthrough = False
        chunks: list[bytes] = []

        async def send_compressed(message: Message) -> None:
            nonlocal start, passthrough
            if message["type"] == "http.response.start":
                headers = Headers(raw=message["headers"])
                content_type = headers.get("content-type", "")
                if (
                    "content-encoding" in headers
                    or "content-length" not in headers
                    or not content_type.startswith(COMPRESSIBLE)
                ):
                    passthrough = True
                    await send(message)
                else:
                    start = message
                return
            if passthrough or message["type"] != "http.response.body" or start is None:
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = b"".join(chunks)
            headers = MutableHeaders(scope=start)
            headers.append("Vary", "Accept-Encoding")
            if len(body) >= self.minimum_size:
                body = self._compress(body, encoding)
                headers["Content-Encoding"] = encoding
                headers["Content-Length"] = str(len(body))
                self.counters.add(f"compressed_{encoding}")
            await send(start)
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, send_compressed)

    def _compress(self, body: bytes, encoding: str) -> bytes:
        if encoding == "br":
            return bytes(brotli.compress(body, quality=self.brotli_quality))
        return gzip.compress(body, compresslevel=self.gzip_level, mtime=0)
