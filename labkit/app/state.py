"""Everything a request handler needs, built once per app by the factory."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from labkit.app.cache import LayeredCache, SharedStore
from labkit.app.database import Database
from labkit.app.metrics import AppCounters
from labkit.app.ratelimit import RateLimiter
from labkit.app.responses import json_response
from labkit.app.toggles import Toggles
from labkit.single_flight import SingleFlight


class LoopLagMonitor:
    """Samples event-loop lag: how late a timer that should fire every ``interval`` fires."""

    def __init__(self, interval: float = 0.05, keep: int = 200) -> None:
        self.interval = interval
        self.samples: deque[float] = deque(maxlen=keep)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def _run(self) -> None:
        while True:
            started = time.perf_counter()
            await asyncio.sleep(self.interval)
            self.samples.append(max(0.0, time.perf_counter() - started - self.interval))

    def summary(self) -> dict[str, float | None]:
        if not self.samples:
            return {"loop_lag_ms_mean": None, "loop_lag_ms_max": None, "loop_lag_ms_last": None}
        values = list(self.samples)
        return {
            "loop_lag_ms_mean": 1000 * sum(values) / len(values),
            "loop_lag_ms_max": 1000 * max(values),
            "loop_lag_ms_last": 1000 * values[-1],
        }


@dataclass
class LabState:
    toggles: Toggles
    db: Database
    counters: AppCounters
    source: Path
    cache: LayeredCache | None = None
    flight: SingleFlight[str, Any] | None = None
    limiter: RateLimiter | None = None
    store: SharedStore | None = None
    loop_lag: LoopLagMonitor = field(default_factory=LoopLagMonitor)
    user_tiers: dict[int, str] = field(default_factory=dict)

    @property
    def fast_json(self) -> bool:
        return "fast_json" in self.toggles

    def respond(
        self, data: Any, *, status_code: int = 200, headers: dict[str, str] | None = None
    ) -> Response:
        return json_response(data, fast=self.fast_json, status_code=status_code, headers=headers)

    async def cached(self, key: str, load: Any) -> tuple[Any, str | None]:
        """Cache-aside when the ``cache`` toggle is on; (value, "hit"|"miss"|None)."""
        if self.cache is None:
            value = await (self.flight.run(key, load) if self.flight is not None else load())
            return value, None
        return await self.cache.get_or_load(key, load, self.flight)


def lab_state(request: Request) -> LabState:
    """FastAPI dependency: the app's state."""
    state: LabState = request.app.state.lab
    return state
