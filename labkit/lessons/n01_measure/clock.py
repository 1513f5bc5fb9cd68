"""A clock that moves only when the code under test says so: exact, instant timing checks."""

from __future__ import annotations


class ManualClock:
    """``clock()`` returns the current time in seconds; ``advance(s)`` moves it forward.

    Time is kept in integer nanoseconds so that sums of durations are exact, and ``reads``
    counts how often the clock was read (a timing function that reads it twice per call is
    measuring each call separately).
    """

    def __init__(self) -> None:
        self.ns = 0
        self.reads = 0

    def __call__(self) -> float:
        self.reads += 1
        return self.ns / 1e9

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a clock cannot go backwards")
        self.ns += round(seconds * 1e9)

    async def sleep(self, seconds: float) -> None:
        """An ``asyncio.sleep`` stand-in that takes no real time."""
        self.advance(seconds)

    def __repr__(self) -> str:
        return f"ManualClock(t={self.ns / 1e9:.6f}s, reads={self.reads})"
