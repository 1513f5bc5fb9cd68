"""A clock that moves only when told to, for exact and instant timing logic.

Timing code in labkit takes a ``clock`` argument (``time.perf_counter`` by default); tests,
checks and notebooks pass a ``ManualClock`` instead and assert exact numbers.
"""

from __future__ import annotations


class ManualClock:
    """``clock()`` returns the current time in seconds; ``advance(s)`` moves it forward.

    Time is kept in integer nanoseconds so that sums of durations are exact (no float drift),
    and ``reads`` counts how often the clock was read. ``now`` reads or sets the time directly,
    for scripts of events at given instants.
    """

    def __init__(self, start: float = 0.0) -> None:
        self.ns = round(start * 1e9)
        self.reads = 0

    def __call__(self) -> float:
        self.reads += 1
        return self.ns / 1e9

    @property
    def now(self) -> float:
        return self.ns / 1e9

    @now.setter
    def now(self, seconds: float) -> None:
        self.ns = round(seconds * 1e9)

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a clock cannot go backwards")
        self.ns += round(seconds * 1e9)

    async def sleep(self, seconds: float) -> None:
        """An ``asyncio.sleep`` stand-in that takes no real time."""
        self.advance(seconds)

    def __repr__(self) -> str:
        return f"ManualClock(t={self.ns / 1e9:.6f}s, reads={self.reads})"
