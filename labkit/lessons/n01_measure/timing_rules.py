"""Exercise 01.measure: time a function the right way (warm-up, repeats, median and MAD).

Graded under a scripted clock: the function being timed "takes" durations chosen for the
attempt's seed (three slow cold-start calls, occasional garbage-collector spikes), so the expected
median and spread are known exactly and no real time passes. The sizes include an even
``repeat`` (the median of an even count is the mean of the middle two, not ``sorted(s)[n // 2]``)
and a ``repeat`` of 2, where only a true median is right.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable
from typing import Any

from labkit.clock import ManualClock
from labkit.grading import Grader, exercise, reference_answer

COLD_CALLS = 3  # the first calls are slow: imports, caches and allocators warming up


@reference_answer
def measure_reference(
    fn: Callable[[], Any],
    *,
    repeat: int = 15,
    warmup: int = 2,
    clock: Callable[[], float] = time.perf_counter,
) -> tuple[float, float]:
    """Median and median absolute deviation (seconds) of ``repeat`` timed calls after warm-up."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeat):
        start = clock()
        fn()
        samples.append(clock() - start)
    median = statistics.median(samples)
    return median, statistics.median(abs(s - median) for s in samples)


def scripted_durations(seed: int, calls: int) -> list[float]:
    """Seconds each successive call takes: cold calls first, then ~1 ms with rare GC spikes."""
    rng = random.Random(f"labkit/01.measure/{seed}")
    durations = []
    for i in range(calls):
        if i < COLD_CALLS:
            durations.append(rng.uniform(0.020, 0.090) / (i + 1))
        elif rng.random() < 0.12:
            durations.append(rng.uniform(0.015, 0.040))  # a garbage-collector pause
        else:
            durations.append(rng.uniform(0.0009, 0.0014))
    return durations


class ScriptedWork:
    """A zero-argument function whose n-th call advances ``clock`` by the n-th scripted duration."""

    def __init__(self, clock: ManualClock, durations: list[float]) -> None:
        self.clock = clock
        self.durations = durations
        self.calls = 0

    def __call__(self) -> int:
        index = min(self.calls, len(self.durations) - 1)
        self.clock.advance(self.durations[index])
        self.calls += 1
        return index


def _to_ns(got: float, expected: float) -> float:
    """``expected`` itself when ``got`` is within a nanosecond of it (float rounding of a sum
    taken in another order), else ``got`` rounded to the nanosecond, for the message."""
    return expected if abs(got - expected) <= 1e-9 else round(got, 9)


def _as_pair(value: object) -> tuple[float, float] | None:
    if isinstance(value, (tuple, list)) and len(value) == 2:
        try:
            return float(value[0]), float(value[1])
        except (TypeError, ValueError):
            return None
    return None


@exercise(
    "01.measure",
    title="Time a function properly: warm-up, repeats, median and spread",
    answers=("measure",),
    hint=(
        "Call fn `warmup` times without timing it, then time each of `repeat` calls on its own "
        "(clock() before and after each call) and return (median, median absolute deviation)."
    ),
    points=1,
    timeout=10.0,
)
async def grade_measure(g: Grader, measure: Callable[..., Any]) -> None:
    for repeat, warmup in ((15, 3), (10, 2), (9, 1), (2, 1)):
        clock = ManualClock()
        durations = scripted_durations(g.seed + repeat, warmup + repeat + 5)
        work = ScriptedWork(clock, durations)
        got = await g.acall(measure, work, repeat=repeat, warmup=warmup, clock=clock)
        g.measure(
            f"calls to fn (repeat={repeat}, warmup={warmup})",
            work.calls,
            target=f"= {warmup + repeat} ({warmup} warm-up + {repeat} timed)",
            ok=work.calls == warmup + repeat,
            hint="Every call counts: warm-up calls run fn but are not timed.",
        )
        pair = _as_pair(got)
        g.expect(
            pair is not None,
            f"measure should return (median_seconds, mad_seconds), got {got!r:.80}",
        )
        assert pair is not None
        samples = durations[warmup : warmup + repeat]
        median = statistics.median(samples)
        mad = statistics.median(abs(s - median) for s in samples)
        g.expect(
            not (abs(pair[0]) < min(samples) / 10),
            f"your median is {pair[0] * 1e6:.1f} µs, but every timed call took at least "
            f"{min(samples) * 1e3:.2f} ms on the clock you were given: read `clock()` before "
            "and after each call, not time.perf_counter() or time.time()",
            hint="measure(fn, ..., clock=...) is called with a scripted clock: use it.",
        )
        g.expect_equal(
            _to_ns(pair[0], median),
            median,
            what=f"median (repeat={repeat}, warmup={warmup})",
            hint=(
                "Time each call separately with the clock you were given, skip the warm-up "
                "calls, and take the median, not the mean: one GC pause must not move it."
            ),
        )
        g.expect_equal(
            _to_ns(pair[1], mad),
            mad,
            what=f"median absolute deviation (repeat={repeat}, warmup={warmup})",
            hint="MAD = median of |sample - median| over the timed samples.",
        )
        if repeat == 10:
            g.note(
                f"Here the mean would be {statistics.fmean(samples) * 1e3:.2f} ms against a "
                f"median of {median * 1e3:.2f} ms: the GC pauses pull the mean, not the median."
            )
