"""``bench()`` / ``abench()``: calibrated, repeated timing of one function.

The method follows pyperf and IPython's ``%timeit``: a first untimed call (which also catches a
function that raises), calibration of the loop count until one value lasts at least ``min_time``,
warm-up values that are thrown away, then ``repeat`` values, each preceded by ``gc.collect()``
and, by default, timed with the garbage collector switched off.
"""

from __future__ import annotations

import gc as _gc
import inspect
import itertools
import math
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from labkit.errors import MeasurementError

# Re-exported: ``from labkit.timing.bench import BenchResult`` was its home before result.py.
from labkit.timing.result import BenchResult as BenchResult
from labkit.timing.result import stability_warnings as stability_warnings
from labkit.timing.stats import format_seconds

Clock = Callable[[], float]

DEFAULT_REPEAT = 20
# 20 values of 50 ms each: about 1.2 s per bench including calibration and warm-up.
DEFAULT_MIN_TIME = 0.05
# ``quick=True``: for notebook cells that only need the order of magnitude (about 0.2 s).
QUICK_REPEAT = 10
QUICK_MIN_TIME = 0.01
MAX_LOOPS = 10**9
# A real clock ticks in nanoseconds: this many calls in zero time means the clock is stuck.
STILL_CLOCK_LOOPS = 10**5


@dataclass(frozen=True)
class Settings:
    """How one run is measured (resolved from the keyword arguments)."""

    repeat: int = DEFAULT_REPEAT
    min_time: float = DEFAULT_MIN_TIME
    warmup: int = 1
    keep_gc: bool = False
    clock: Clock = time.perf_counter

    @classmethod
    def resolve(
        cls,
        *,
        repeat: int | None,
        min_time: float | None,
        warmup: int,
        gc: bool,
        clock: Clock,
        quick: bool,
    ) -> Settings:
        if repeat is None:
            repeat = QUICK_REPEAT if quick else DEFAULT_REPEAT
        if min_time is None:
            min_time = QUICK_MIN_TIME if quick else DEFAULT_MIN_TIME
        if isinstance(repeat, bool) or not isinstance(repeat, int) or repeat < 1:
            raise MeasurementError(f"repeat must be a whole number ≥ 1, got {repeat!r}")
        if not isinstance(min_time, int | float) or not min_time > 0:
            raise MeasurementError(f"min_time must be a number of seconds > 0, got {min_time!r}")
        if isinstance(warmup, bool) or not isinstance(warmup, int) or warmup < 0:
            raise MeasurementError(f"warmup must be a whole number ≥ 0, got {warmup!r}")
        if not callable(clock):
            raise MeasurementError(f"clock must be a function returning seconds, got {clock!r}")
        return cls(repeat, float(min_time), warmup, bool(gc), clock)


def function_name(fn: Callable[..., Any]) -> str:
    """``Class.method`` or ``fn``, without the ``outer.<locals>.`` prefix of nested functions."""
    name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None)
    if name is None and hasattr(fn, "func"):  # functools.partial
        return f"partial({function_name(fn.func)})"
    return str(name or type(fn).__name__).rpartition("<locals>.")[2]


# --- the timed loops (sync and async twins) ------------------------------------------------


def _collect_then_pause_gc(keep_gc: bool) -> bool:
    _gc.collect()
    was_enabled = _gc.isenabled()
    if not keep_gc:
        _gc.disable()
    return was_enabled


def time_loops(
    fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], loops: int, s: Settings
) -> float:
    """Seconds taken by ``loops`` calls (the loop has the same shape as pyperf's bench_func)."""
    clock = s.clock
    iterations = itertools.repeat(None, loops)
    was_enabled = _collect_then_pause_gc(s.keep_gc)
    try:
        if args or kwargs:
            start = clock()
            for _ in iterations:
                fn(*args, **kwargs)
            end = clock()
        else:
            start = clock()
            for _ in iterations:
                fn()
            end = clock()
    finally:
        if was_enabled:
            _gc.enable()
    return end - start


async def atime_loops(
    fn: Callable[..., Awaitable[Any]],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    loops: int,
    s: Settings,
) -> float:
    clock = s.clock
    iterations = itertools.repeat(None, loops)
    was_enabled = _collect_then_pause_gc(s.keep_gc)
    try:
        start = clock()
        for _ in iterations:
            await fn(*args, **kwargs)
        end = clock()
    finally:
        if was_enabled:
            _gc.enable()
    return end - start


def next_loops(loops: int, elapsed: float, min_time: float) -> int | None:
    """Calibration step: ``None`` when ``loops`` calls last ≥ ``min_time``, else more loops.

    Grows by the measured shortfall (at most ×10 per step, so one noisy short value cannot
    overshoot wildly), with 10% head-room so the next try usually lands above ``min_time``.
    """
    if elapsed >= min_time:
        return None
    if elapsed <= 0 and loops >= STILL_CLOCK_LOOPS:
        raise MeasurementError(
            f"{loops:,} calls took no time at all: the clock does not advance, so nothing "
            "can be measured"
        )
    factor = 10.0 if elapsed <= 0 else min(10.0, 1.1 * min_time / elapsed)
    grown = max(loops + 1, math.ceil(loops * factor))
    if grown > MAX_LOOPS:
        raise MeasurementError(
            f"{MAX_LOOPS:,} calls took {format_seconds(max(elapsed, 0.0))}: the clock does not "
            "advance, so nothing can be measured"
        )
    return grown


def _raised(name: str, exc: BaseException) -> MeasurementError:
    what = f"{name}()" if re.fullmatch(r"[\w.<>]+", name) else f"`{name}`"
    return MeasurementError(
        f"{what} raised {type(exc).__name__}: {exc} — fix it (or pass the right arguments) "
        "before timing it"
    )


def probe(name: str, fn: Callable[..., Any], args: tuple[Any, ...], kw: dict[str, Any]) -> Any:
    """One untimed call: returns its value, or a one-line MeasurementError about their code."""
    if not callable(fn):
        raise MeasurementError(f"bench() needs a function to call, got {type(fn).__name__}")
    if inspect.iscoroutinefunction(fn):
        raise MeasurementError(f"{name} is an async function: time it with `await abench({name})`")
    try:
        value = fn(*args, **kw)
    except Exception as exc:
        raise _raised(name, exc) from exc
    if inspect.isawaitable(value):
        if inspect.iscoroutine(value):
            value.close()  # never awaited: close it so Python does not warn later
        raise MeasurementError(
            f"{name}() returned an awaitable: time async code with `await abench({name})`"
        )
    return value


async def aprobe(
    name: str, fn: Callable[..., Any], args: tuple[Any, ...], kw: dict[str, Any]
) -> Any:
    if not callable(fn):
        raise MeasurementError(f"abench() needs an async function, got {type(fn).__name__}")
    try:
        value = fn(*args, **kw)
        if not inspect.isawaitable(value):
            raise MeasurementError(
                f"{name}() is not async (it returned {type(value).__name__}): use bench({name})"
            )
        return await value
    except MeasurementError:
        raise
    except Exception as exc:
        raise _raised(name, exc) from exc


def calibrate(
    name: str, fn: Callable[..., Any], args: tuple[Any, ...], kw: dict[str, Any], s: Settings
) -> int:
    loops = 1
    while True:
        try:
            elapsed = time_loops(fn, args, kw, loops, s)
        except Exception as exc:
            raise _raised(name, exc) from exc
        grown = next_loops(loops, elapsed, s.min_time)
        if grown is None:
            return loops
        loops = grown


async def acalibrate(
    name: str, fn: Callable[..., Any], args: tuple[Any, ...], kw: dict[str, Any], s: Settings
) -> int:
    loops = 1
    while True:
        try:
            elapsed = await atime_loops(fn, args, kw, loops, s)
        except Exception as exc:
            raise _raised(name, exc) from exc
        grown = next_loops(loops, elapsed, s.min_time)
        if grown is None:
            return loops
        loops = grown


def one_value(
    name: str,
    fn: Callable[..., Any],
    args: tuple[Any, ...],
    kw: dict[str, Any],
    loops: int,
    s: Settings,
) -> float:
    try:
        return time_loops(fn, args, kw, loops, s) / loops
    except Exception as exc:
        raise _raised(name, exc) from exc


async def aone_value(
    name: str,
    fn: Callable[..., Any],
    args: tuple[Any, ...],
    kw: dict[str, Any],
    loops: int,
    s: Settings,
) -> float:
    try:
        return await atime_loops(fn, args, kw, loops, s) / loops
    except Exception as exc:
        raise _raised(name, exc) from exc


def make_result(
    name: str, samples: list[float], loops: int, s: Settings, elapsed: float
) -> BenchResult:
    values = tuple(samples)
    return BenchResult(
        name=name,
        samples=values,
        loops=loops,
        gc_enabled=s.keep_gc,
        warnings=stability_warnings(values, loops, machine=s.clock is time.perf_counter),
        elapsed=elapsed,
    )


# --- public API ------------------------------------------------------------------------------


def bench(
    fn: Callable[..., Any],
    *args: Any,
    repeat: int | None = None,
    min_time: float | None = None,
    warmup: int = 1,
    gc: bool = False,
    clock: Clock = time.perf_counter,
    quick: bool = False,
    name: str | None = None,
    **kwargs: Any,
) -> BenchResult:
    """Time ``fn(*args, **kwargs)``: median and spread of ``repeat`` calibrated values.

    ``repeat`` values (default 20; 10 with ``quick=True``) of ``loops`` calls each, where
    ``loops`` is calibrated so one value lasts ≥ ``min_time`` seconds (default 0.05; 0.01 with
    ``quick=True``). ``warmup`` values are measured and thrown away. ``gc=True`` keeps the
    garbage collector running while timing (fairer for allocation-heavy code).

    >>> bench(sorted, list(range(1000)))          # doctest: +SKIP
    5.71 µs ± 0.04 µs (median ± MAD, 20 values × 9680 loops)
    """
    s = Settings.resolve(
        repeat=repeat, min_time=min_time, warmup=warmup, gc=gc, clock=clock, quick=quick
    )
    label = name or function_name(fn)
    started = s.clock()
    probe(label, fn, args, kwargs)
    loops = calibrate(label, fn, args, kwargs, s)
    for _ in range(s.warmup):
        one_value(label, fn, args, kwargs, loops, s)
    samples = [one_value(label, fn, args, kwargs, loops, s) for _ in range(s.repeat)]
    return make_result(label, samples, loops, s, s.clock() - started)


async def abench(
    fn: Callable[..., Awaitable[Any]],
    *args: Any,
    repeat: int | None = None,
    min_time: float | None = None,
    warmup: int = 1,
    gc: bool = False,
    clock: Clock = time.perf_counter,
    quick: bool = False,
    name: str | None = None,
    **kwargs: Any,
) -> BenchResult:
    """``await abench(coro_fn, ...)``: like :func:`bench`, awaiting each call on the running loop.

    Runs in the caller's event loop (the notebook kernel's), so objects bound to that loop,
    such as an open aiosqlite connection, keep working.
    """
    s = Settings.resolve(
        repeat=repeat, min_time=min_time, warmup=warmup, gc=gc, clock=clock, quick=quick
    )
    label = name or function_name(fn)
    started = s.clock()
    await aprobe(label, fn, args, kwargs)
    loops = await acalibrate(label, fn, args, kwargs, s)
    for _ in range(s.warmup):
        await aone_value(label, fn, args, kwargs, loops, s)
    samples = [await aone_value(label, fn, args, kwargs, loops, s) for _ in range(s.repeat)]
    return make_result(label, samples, loops, s, s.clock() - started)
