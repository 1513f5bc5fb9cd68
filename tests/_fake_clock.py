"""A clock that only moves when told to: timing tests assert exact numbers, instantly."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from itertools import cycle


class FakeClock:
    """``clock()`` returns the current fake time; the code under test advances it.

    Times are kept as integer nanoseconds so sums are exact (no float drift).
    """

    def __init__(self) -> None:
        self.ns = 0
        self.reads = 0

    def __call__(self) -> float:
        self.reads += 1
        return self.ns / 1e9

    def advance(self, seconds: float) -> None:
        self.ns += round(seconds * 1e9)

    def work(self, seconds: float, result: object = None) -> Callable[[], object]:
        """A function that 'takes' ``seconds`` per call and returns ``result``."""

        def fn() -> object:
            self.advance(seconds)
            return result

        return fn

    def varying(self, durations: Iterable[float]) -> Callable[[], None]:
        """A function whose successive calls take the given durations (cycled)."""
        source: Iterator[float] = cycle(list(durations))

        def fn() -> None:
            self.advance(next(source))

        return fn
