"""Event-loop lag, measured as missed ticks of a heartbeat.

A heartbeat task asks to wake every ``interval_s``. While the loop is free it wakes on time;
while something blocks the loop (CPU work in a coroutine, a sync database call) it cannot, and
the wake-ups that should have happened are *missed*. Counting missed ticks is sturdier than a
millisecond threshold: a busy machine makes every wake-up a little late, which costs no tick,
while a loop blocked for 100 ms misses about 100 / interval ticks whatever the machine.

    async with Heartbeat(interval_s=0.005) as hb:
        await handler()
    hb.result.missed_ticks, hb.result.max_gap_ms
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from labkit.display import TextView
from labkit.errors import MeasurementError


@dataclass(frozen=True, repr=False)
class LoopLag(TextView):
    """What a heartbeat saw: ticks that happened, ticks missed and the longest gap."""

    interval_s: float
    elapsed_s: float
    ticks: int
    missed_ticks: int
    gaps_s: tuple[float, ...] = field(repr=False)

    @property
    def max_gap_ms(self) -> float:
        return 1000 * max(self.gaps_s, default=0.0)

    @property
    def lag_ms(self) -> float:
        """The worst wake-up delay: longest gap minus the interval asked for."""
        return max(0.0, self.max_gap_ms - 1000 * self.interval_s)

    def to_frame(self) -> Any:
        import pandas as pd

        return pd.DataFrame(
            [
                {
                    "elapsed ms": round(1000 * self.elapsed_s, 1),
                    "ticks": self.ticks,
                    "missed ticks": self.missed_ticks,
                    "worst lag ms": round(self.lag_ms, 1),
                }
            ]
        )

    def __str__(self) -> str:
        return (
            f"{self.ticks} ticks, {self.missed_ticks} missed in {1000 * self.elapsed_s:.0f} ms "
            f"(worst lag {self.lag_ms:.1f} ms, heartbeat every {1000 * self.interval_s:g} ms)"
        )

    def _repr_html_(self) -> str:
        return f"<code>{self}</code>"


class Heartbeat:
    """Async context manager: counts heartbeat ticks while the body runs on the same loop."""

    def __init__(
        self, interval_s: float = 0.005, *, clock: Callable[[], float] = time.perf_counter
    ) -> None:
        if not interval_s > 0:
            raise MeasurementError(f"interval_s must be > 0 seconds, not {interval_s!r}")
        self.interval_s = float(interval_s)
        self._clock = clock
        self._gaps: list[float] = []
        self._task: asyncio.Task[None] | None = None
        self._start = 0.0
        self._last = 0.0
        self.result: LoopLag | None = None

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            now = self._clock()
            self._gaps.append(now - self._last)
            self._last = now

    async def __aenter__(self) -> Heartbeat:
        self._gaps = []
        self._start = self._last = self._clock()
        self._task = asyncio.get_running_loop().create_task(self._beat())
        # let the heartbeat schedule its first wake-up before the body starts
        await asyncio.sleep(0)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        end = self._clock()
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self.result = summarise(self._gaps, tail_s=end - self._last, interval_s=self.interval_s)


def summarise(gaps_s: list[float], *, tail_s: float, interval_s: float) -> LoopLag:
    """Missed ticks from the gaps between ticks (plus the time since the last tick)."""
    missed = sum(max(0, math.floor(gap / interval_s) - 1) for gap in gaps_s)
    missed += max(0, math.floor(tail_s / interval_s) - 1) if tail_s > 0 else 0
    all_gaps = (*gaps_s, tail_s)
    return LoopLag(
        interval_s=interval_s,
        elapsed_s=sum(all_gaps),
        ticks=len(gaps_s),
        missed_ticks=missed,
        gaps_s=tuple(all_gaps),
    )
