"""Per-request measurements (database and cache time, statement count) and app-wide counters.

The timing middleware opens a :class:`RequestMetrics` for each request in a context variable;
the database and cache layers add to it wherever they run, so no handler has to pass it along.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field


@dataclass
class RequestMetrics:
    """What one request spent, read by the timing middleware for ``Server-Timing``."""

    db_seconds: float = 0.0
    statements: int = 0
    cache_seconds: float = 0.0
    cache_status: str | None = None  # "hit" / "miss", set by cached endpoints
    # From the application's entry (below the middleware) to its response start, set by
    # InnerTiming; None when the application never answered.
    handler_seconds: float | None = None
    serialize_seconds: float = 0.0  # encoding response bodies before the headers went out
    serializations: int = 0
    clock: Callable[[], float] = time.perf_counter


current_request: ContextVar[RequestMetrics | None] = ContextVar("labkit_request", default=None)


def request_metrics() -> RequestMetrics:
    """The current request's metrics; a throw-away one outside a request (tests, warm-up)."""
    metrics = current_request.get()
    return metrics if metrics is not None else RequestMetrics()


@dataclass
class AppCounters:
    """Counts since the app started, served by ``/api/_stats`` (per worker process)."""

    counts: Counter[str] = field(default_factory=Counter)

    def add(self, name: str, amount: int = 1) -> None:
        self.counts[name] += amount

    def __getitem__(self, name: str) -> int:
        return self.counts[name]

    def snapshot(self) -> dict[str, int]:
        return dict(sorted(self.counts.items()))
