"""The request-lifecycle latency budget: where one request's time goes, phase by phase.

A request to the lab API is taken apart two ways, each measured, none estimated:

- ``request_timing`` (client side): DNS, connect, TLS, time to first byte, transfer, total;
- the server's ``Server-Timing`` header, which times every server-side phase itself: ``db`` and
  ``cache`` (I/O), ``ser`` (serialising the body), ``app`` (the handler's own Python: routing,
  building the items) and ``total``; what ``total`` holds beyond those four is the middleware.

``lifecycle_budget`` maps these onto the budget a backend team usually works with (network,
server/TLS, middleware, handler, I/O, serialisation, total) and shows measured against budget.
For a server whose header lacks ``ser``/``app``, two in-process benchmarks stand in (the lab
API's middleware stack around an empty endpoint; encoding the body with the baseline's encoder).
``statement_cost`` takes one simulated-latency SQL statement apart (the sleep, aiosqlite's
thread hop, SQLite's own work), each part measured on its own.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from labkit.display import TextView, set_alt_text
from labkit.errors import MeasurementError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from matplotlib.axes import Axes

    from labkit.load import RequestTiming

# Typical budget for an interactive API call (milliseconds), per phase of the request.
BUDGET_MS: Final[dict[str, float]] = {
    "network": 50.0,
    "server/TLS": 10.0,
    "middleware": 5.0,
    "handler": 10.0,
    "I/O": 100.0,
    "serialisation": 5.0,
    "total": 200.0,
}

HOW_MEASURED: Final[dict[str, str]] = {
    "network": "client: DNS + connect + transfer",
    "server/TLS": "client: TLS + (time to first byte − server total)",
    "middleware": "Server-Timing: total − (app + db + cache + ser)",
    "handler": "Server-Timing: app",
    "I/O": "Server-Timing: db + cache",
    "serialisation": "Server-Timing: ser",
    "total": "client: whole request",
}
# without ``ser``/``app`` in the header (another server), in-process measurements stand in
HOW_MEASURED_IN_PROCESS: Final[dict[str, str]] = {
    "middleware": "in-process: lab middleware around an empty endpoint",
    "handler": "server total − I/O − serialisation",
    "serialisation": "in-process: encoding this response's body",
}


@dataclass(frozen=True, repr=False)
class LifecycleBudget(TextView):
    """Measured milliseconds per phase of one request, next to the budget for each."""

    url: str
    measured_ms: dict[str, float]
    budget_ms: dict[str, float]
    how_measured: dict[str, str] = field(default_factory=lambda: dict(HOW_MEASURED))

    @property
    def phases(self) -> list[str]:
        return [p for p in self.budget_ms if p != "total"]

    @property
    def dominant(self) -> str:
        """The phase (total excluded) that took the most time."""
        return max(self.phases, key=lambda p: self.measured_ms[p])

    @property
    def over_budget(self) -> list[str]:
        return [p for p in self.budget_ms if self.measured_ms[p] > self.budget_ms[p]]

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        rows = [
            {
                "phase": phase,
                "measured ms": f"{self.measured_ms[phase]:.3f}",
                "budget ms": self.budget_ms[phase],
                "share of budget": f"{self.measured_ms[phase] / self.budget_ms[phase]:.0%}",
                "how it was measured": self.how_measured.get(phase, ""),
            }
            for phase in self.budget_ms
        ]
        return pd.DataFrame(rows).set_index("phase")

    def plot(self, ax: Axes | None = None) -> Axes:
        """Horizontal bars: measured per phase (log scale), each budget marked with a red tick."""
        import matplotlib.pyplot as plt

        if ax is None:
            figure, ax = plt.subplots(figsize=(8, 3.4))
            set_alt_text(figure, self.alt_text())
        names = list(self.budget_ms)[::-1]  # first phase at the top
        measured = [max(self.measured_ms[p], 1e-3) for p in names]
        colours = [
            "#d1242f" if self.measured_ms[p] > self.budget_ms[p] else "#2f81f7" for p in names
        ]
        ax.barh(names, measured, color=colours, label="measured (red: over budget)")
        for i, phase in enumerate(names):
            budget = self.budget_ms[phase]
            ax.plot([budget, budget], [i - 0.45, i + 0.45], color="#1f2328", linewidth=3)
            ax.annotate(
                f"{self.measured_ms[phase]:.2f} of {budget:g} ms",
                (max(measured[i], budget), i),
                xytext=(6, 0),
                textcoords="offset points",
                va="center",
                fontsize="small",
            )
        ax.plot([], [], color="#1f2328", linewidth=3, label="budget")
        ax.set_xscale("log")
        ax.set_xlim(1e-3, max(max(measured), max(self.budget_ms.values())) * 30)
        ax.set_xlabel("milliseconds (log scale)")
        ax.set_title(f"One request, phase by phase: GET {_path_of(self.url)}")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2, fontsize="small")
        return ax

    def alt_text(self) -> str:
        """The chart in words: each phase's measured milliseconds against its budget."""
        phases = ", ".join(
            f"{phase} {self.measured_ms[phase]:.2f} of {budget:g} ms"
            for phase, budget in self.budget_ms.items()
        )
        return f"Bars per phase of GET {_path_of(self.url)}, measured against budget: {phases}"

    def __str__(self) -> str:
        width = max(len(p) for p in self.budget_ms)
        lines = [f"{self.url}"]
        for phase, budget in self.budget_ms.items():
            value = self.measured_ms[phase]
            flag = "  over budget" if value > budget else ""
            lines.append(f"  {phase:<{width}}  {value:9.3f} ms  (budget < {budget:g} ms){flag}")
        lines.append(f"  largest phase: {self.dominant}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return (
            f"<p>{html.escape(self.url)} — largest phase: <b>{html.escape(self.dominant)}</b></p>"
            + self.to_frame().to_html()
        )


def _path_of(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def lifecycle_budget(
    timing: RequestTiming,
    *,
    middleware_ms: float | None = None,
    serialisation_ms: float | None = None,
    budget_ms: Mapping[str, float] | None = None,
) -> LifecycleBudget:
    """Map one ``request_timing`` result onto the budget.

    The server-side phases come from the ``Server-Timing`` header when it has ``ser`` and
    ``app`` (the lab API's does); the middleware, which the header does not time on its own, is
    ``middleware_ms`` when given (measured in-process) or what ``total`` holds beyond the other
    phases. Without ``ser``/``app``, ``middleware_ms`` and ``serialisation_ms`` must be given
    and the handler is what the server total leaves.
    """
    server = timing.server
    if "total" not in server:
        raise MeasurementError(
            f"{timing.url} sent no Server-Timing total: is it the lab API (labkit.app)?"
        )
    client = timing.client
    server_total = server["total"]
    io = server.get("db", 0.0) + server.get("cache", 0.0)
    if "ser" in server and "app" in server:
        how = dict(HOW_MEASURED)
        if middleware_ms is None:  # by subtraction: below the header's 0.01 ms it reads 0
            middleware_ms = max(0.0, server_total - (server["app"] + io + server["ser"]))
        else:
            how["middleware"] = HOW_MEASURED_IN_PROCESS["middleware"]
        serialisation_ms, handler_ms = server["ser"], server["app"]
    else:
        if middleware_ms is None or serialisation_ms is None:
            raise MeasurementError(
                f"{timing.url}: the Server-Timing header has no ser/app phases; pass "
                "middleware_ms and serialisation_ms measured in-process"
            )
        how = {**HOW_MEASURED, **HOW_MEASURED_IN_PROCESS}
        handler_ms = max(0.0, server_total - io - serialisation_ms)
    for name, value in (("middleware_ms", middleware_ms), ("serialisation_ms", serialisation_ms)):
        if not value >= 0:
            raise MeasurementError(f"{name} must be a number of milliseconds ≥ 0, got {value!r}")
    measured = {
        "network": (client.get("dns") or 0.0)
        + (client.get("connect") or 0.0)
        + (client.get("transfer") or 0.0),
        "server/TLS": (client.get("tls") or 0.0)
        + max(0.0, (client.get("ttfb") or 0.0) - server_total),
        "middleware": middleware_ms,
        "handler": handler_ms,
        "I/O": io,
        "serialisation": serialisation_ms,
        "total": timing.total_ms,
    }
    return LifecycleBudget(timing.url, measured, dict(budget_ms or BUDGET_MS), how)


async def median_request_timing(url: str, *, repeat: int = 3) -> RequestTiming:
    """Time ``repeat`` requests (after one warm-up) and return the one with the median total.

    One request alone can land on a busy moment of the machine; the median of a few is the
    honest "typical request" while each phase still comes from one real request.
    """
    from labkit.load import request_timing

    if repeat < 1:
        raise MeasurementError(f"repeat must be at least 1, got {repeat}")
    await request_timing(url)  # warm-up: first connections, caches, lazy imports
    timings = [await request_timing(url) for _ in range(repeat)]
    return sorted(timings, key=lambda t: t.total_ms)[len(timings) // 2]


# ---- the two in-process measurements ---------------------------------------------------------
def _drive(coroutine: Coroutine[Any, Any, Any]) -> None:
    """Run a coroutine that never waits for anything (an ASGI call with instant send/receive)."""
    try:
        coroutine.send(None)
    except StopIteration:
        return
    coroutine.close()
    raise MeasurementError("the middleware waited for I/O; it cannot be timed in-process")


def _empty_endpoint() -> Callable[..., Coroutine[Any, Any, None]]:
    async def endpoint(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    return endpoint


def middleware_stacks() -> tuple[Any, Any]:
    """(bare endpoint, the lab API's baseline middleware stack around the same endpoint)."""
    from starlette.middleware.errors import ServerErrorMiddleware
    from starlette.middleware.exceptions import ExceptionMiddleware

    from labkit.app.metrics import AppCounters
    from labkit.app.middleware import HealthShortcut, TimingMiddleware

    bare = _empty_endpoint()
    # The order Starlette builds for create_app(): errors, user middleware, exceptions, routes.
    inner = ExceptionMiddleware(_empty_endpoint())
    timed = TimingMiddleware(inner, counters=AppCounters())
    stacked = ServerErrorMiddleware(HealthShortcut(timed))
    return bare, stacked


def asgi_get(app: Any, path: str = "/api/feed") -> Callable[[], None]:
    """A zero-argument function that runs one GET through ``app`` in-process."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"user_id=1",
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        return None

    def one_request() -> None:
        _drive(app(dict(scope), receive, send))

    return one_request


def measure_middleware_ms(*, repeat: int = 7) -> float:
    """Median cost of the lab API's middleware per request, in ms (stack minus bare endpoint)."""
    from labkit.timing import bench

    bare, stacked = middleware_stacks()
    without = bench(asgi_get(bare), repeat=repeat, quick=True, name="endpoint alone")
    with_stack = bench(asgi_get(stacked), repeat=repeat, quick=True, name="with middleware")
    return max(0.0, (with_stack.median - without.median) * 1000)


def measure_serialisation_ms(body: bytes, *, repeat: int = 7) -> float:
    """Median time to encode this JSON body again with the baseline API's encoder, in ms."""
    from labkit.app.responses import dumps
    from labkit.timing import bench

    try:
        data = json.loads(body)
    except ValueError:
        raise MeasurementError("the response body is not JSON") from None
    result = bench(dumps, data, fast=False, repeat=repeat, quick=True, name="encode body")
    return result.median * 1000


# ---- one SQL statement taken apart -----------------------------------------------------------
FEED_STATEMENTS: Final = (
    "SELECT id, name, tier FROM users WHERE id = ?",
    "SELECT COUNT(*) AS n FROM comments WHERE post_id = ?",
)  # the two statements the baseline feed sends once per item


@dataclass(frozen=True, repr=False)
class StatementCost(TextView):
    """Median milliseconds of the parts of a simulated-latency statement, each measured alone.

    ``sqlite_ms`` and ``aiosqlite_ms`` hold one figure per statement of ``FEED_STATEMENTS``.
    """

    latency_ms: float  # the round trip the server was asked to simulate
    sleep_ms: float  # what ``await asyncio.sleep(latency)`` really takes on this event loop
    aiosqlite_ms: tuple[float, ...]  # each statement through aiosqlite, no simulated latency
    sqlite_ms: tuple[float, ...]  # each on a plain sqlite3 connection: SQLite's own work

    @property
    def overshoot_ms(self) -> float:
        return max(0.0, self.sleep_ms - self.latency_ms)

    @property
    def thread_hop_ms(self) -> float:
        """aiosqlite minus plain sqlite3, averaged over the statements."""
        hops = [max(0.0, a - s) for a, s in zip(self.aiosqlite_ms, self.sqlite_ms, strict=True)]
        return sum(hops) / len(hops)

    @property
    def sqlite_mean_ms(self) -> float:
        """SQLite's own work for an average statement of the feed (one of each per item)."""
        return sum(self.sqlite_ms) / len(self.sqlite_ms)

    def to_frame(self) -> Any:
        import pandas as pd

        rows = [
            {
                "statement": sql,
                "SQLite alone ms": f"{lite:.4f}",
                "through aiosqlite ms": f"{aio:.4f}",
            }
            for sql, lite, aio in zip(
                FEED_STATEMENTS, self.sqlite_ms, self.aiosqlite_ms, strict=True
            )
        ]
        return pd.DataFrame(rows).set_index("statement")

    def __str__(self) -> str:
        each = "; ".join(
            f"{sql.split(' FROM ')[1].split()[0]}: {ms:.4f} ms"
            for sql, ms in zip(FEED_STATEMENTS, self.sqlite_ms, strict=True)
        )
        return (
            f"sleep({self.latency_ms:g} ms) takes {self.sleep_ms:.3f} ms "
            f"(overshoot {self.overshoot_ms:.3f} ms); aiosqlite's thread hop "
            f"{self.thread_hop_ms:.3f} ms; SQLite's own work {each}"
        )

    def _repr_html_(self) -> str:
        return f"<p>{html.escape(str(self))}</p>" + str(self.to_frame().to_html())


async def statement_cost(path: Any, *, latency_ms: float, repeat: int = 200) -> StatementCost:
    """Time the feed's per-item statements on sqlite3 and aiosqlite, and the sleep alone."""
    import asyncio
    import sqlite3
    import statistics
    import time

    from labkit.db import connect

    if repeat < 1:
        raise MeasurementError(f"repeat must be at least 1, got {repeat}")
    ids = [(1 + i % 50,) for i in range(repeat)]
    plain: list[float] = []
    hopped: list[float] = []
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        for sql in FEED_STATEMENTS:
            times = []
            for args in ids:
                started = time.perf_counter()
                con.execute(sql, args).fetchall()
                times.append(time.perf_counter() - started)
            plain.append(statistics.median(times) * 1000)
    finally:
        con.close()
    async with connect(path) as db:
        for sql in FEED_STATEMENTS:
            times = []
            for args in ids:
                started = time.perf_counter()
                async with db.execute(sql, args) as cursor:
                    await cursor.fetchall()
                times.append(time.perf_counter() - started)
            hopped.append(statistics.median(times) * 1000)
    sleeps = []
    for _ in range(repeat):
        started = time.perf_counter()
        await asyncio.sleep(latency_ms / 1000)
        sleeps.append(time.perf_counter() - started)
    return StatementCost(
        latency_ms=latency_ms,
        sleep_ms=statistics.median(sleeps) * 1000,
        aiosqlite_ms=tuple(hopped),
        sqlite_ms=tuple(plain),
    )
