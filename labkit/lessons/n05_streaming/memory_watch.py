"""Peak memory measured where an answer cannot reset it unnoticed.

tracemalloc counts the bytes Python allocates on every thread, so the figure is the same run
after run (the process's resident size is not). An answer can stop it, restart it or reset its
peak, so the watch re-starts it for each measurement and verifies afterwards:

- it is still tracing, in the same session: an object allocated just before the answer ran
  still has its traceback (a stop/start forgets every earlier allocation);
- its peak was never reset: the sink samples the traced total while rows arrive, and the peak
  can only be at least every value sampled.
"""

from __future__ import annotations

import gc
import tracemalloc
from dataclasses import dataclass, field
from typing import Final

from labkit.errors import InstrumentBlinded

MARKER_BYTES: Final = 64 * 1024


@dataclass
class MemoryWatch:
    baseline: int = 0
    peak: int = 0  # bytes above the baseline
    highest_sample: int = 0  # highest traced total the sink saw, above the baseline
    samples: int = 0
    stopped_seen: bool = False  # the sink found tracemalloc off
    _marker: bytearray | None = field(default=None, repr=False)

    def start(self) -> None:
        if tracemalloc.is_tracing():
            tracemalloc.stop()  # a fresh session per measurement: nothing carried over
        gc.collect()  # garbage left by earlier work must not be freed (or counted) mid-run
        tracemalloc.start(1)
        self._marker = bytearray(MARKER_BYTES)
        tracemalloc.reset_peak()
        self.baseline = tracemalloc.get_traced_memory()[0]

    def sample(self) -> None:
        """Called while rows arrive (from the sink)."""
        if not tracemalloc.is_tracing():
            self.stopped_seen = True
            return
        self.samples += 1
        current = tracemalloc.get_traced_memory()[0] - self.baseline
        self.highest_sample = max(self.highest_sample, current)

    def finish(self) -> None:
        """Read the peak and verify nobody stopped, restarted or reset the instrument."""
        tracing = tracemalloc.is_tracing()
        same_session = tracing and tracemalloc.get_object_traceback(self._marker) is not None
        current, peak = tracemalloc.get_traced_memory() if tracing else (0, 0)
        tracemalloc.stop()
        self._marker = None
        if self.stopped_seen or not tracing:
            raise InstrumentBlinded(
                "tracemalloc was switched off while your answer ran: the check measures memory "
                "with it. Leave tracemalloc alone."
            )
        if not same_session or current < self.baseline - MARKER_BYTES:
            raise InstrumentBlinded(
                "tracemalloc was restarted while your answer ran (earlier allocations were "
                "forgotten): the check measures memory with it. Leave tracemalloc alone."
            )
        self.peak = max(0, peak - self.baseline)
        if self.peak < self.highest_sample:
            raise InstrumentBlinded(
                "tracemalloc's peak was reset while your answer ran (it is lower than memory "
                "already seen in use): the check measures memory with it. Leave it alone."
            )

    def stop_quietly(self) -> None:
        """The answer failed: stop measuring without judging."""
        if tracemalloc.is_tracing():
            tracemalloc.stop()
        self._marker = None
