"""A clock that only moves when told to: timing tests assert exact numbers, instantly."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from itertools import cycle

from labkit.clock import ManualClock


class FakeClock(ManualClock):
    """``labkit.clock.ManualClock`` plus functions that 'take' a scripted time per call."""

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
