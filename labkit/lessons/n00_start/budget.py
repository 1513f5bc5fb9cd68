"""The request-lifecycle latency budget: where one request's time goes, phase by phase.

A request to the lab API is taken apart three ways, each measured, none estimated:

- ``request_timing`` (client side): DNS, connect, TLS, time to first byte, transfer, total;
- the server's ``Server-Timing`` header: time in the database (I/O), in the cache, in total;
- two small in-process benchmarks: the lab API's middleware stack around an endpoint that does
  nothing, and encoding the response body with the encoder the baseline API uses.

``lifecycle_budget`` maps these onto the budget a backend team usually works with (network,
server/TLS, middleware, handler, I/O, serialisation, total) and shows measured against budget.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from labkit.display import TextView
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
    "middleware": "in-process: lab middleware around an empty endpoint",
    "handler": "server total − I/O − serialisation",
    "I/O": "Server-Timing: db + cache",
    "serialisation": "in-process: encoding this response's body",
    "total": "client: whole request",
}


@dataclass(frozen=True)
class LifecycleBudget(TextView):
    """Measured milliseconds per phase of one request, next to the budget for each."""

    url: str
    measured_ms: dict[str, float]
    budget_ms: dict[str, float]

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
                "measured ms": round(self.measured_ms[phase], 3),
                "budget ms": self.budget_ms[phase],
                "share of budget": f"{self.measured_ms[phase] / self.budget_ms[phase]:.0%}",
                "how it was measured": HOW_MEASURED.get(phase, ""),
            }
            for phase in self.budget_ms
        ]
        return pd.DataFrame(rows).set_index("phase")

    def plot(self, ax: Axes | None = None) -> Axes:
        """Horizontal bars: measured per phase (log scale), each budget marked with a red tick."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(8, 3.4))
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
    middleware_ms: float,
    serialisation_ms: float,
    budget_ms: Mapping[str, float] | None = None,
) -> LifecycleBudget:
    """Map one ``request_timing`` result and the two in-process figures onto the budget."""
    if "total" not in timing.server:
        raise MeasurementError(
            f"{timing.url} sent no Server-Timing total: is it the lab API (labkit.app)?"
        )
    for name, value in (("middleware_ms", middleware_ms), ("serialisation_ms", serialisation_ms)):
        if not value >= 0:
            raise MeasurementError(f"{name} must be a number of milliseconds ≥ 0, got {value!r}")
    client = timing.client
    server_total = timing.server["total"]
    io = timing.server.get("db", 0.0) + timing.server.get("cache", 0.0)
    measured = {
        "network": (client.get("dns") or 0.0)
        + (client.get("connect") or 0.0)
        + (client.get("transfer") or 0.0),
        "server/TLS": (client.get("tls") or 0.0)
        + max(0.0, (client.get("ttfb") or 0.0) - server_total),
        "middleware": middleware_ms,
        "handler": max(0.0, server_total - io - serialisation_ms),
        "I/O": io,
        "serialisation": serialisation_ms,
        "total": timing.total_ms,
    }
    return LifecycleBudget(timing.url, measured, dict(budget_ms or BUDGET_MS))


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
