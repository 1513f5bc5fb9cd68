"""``compare(a, b)`` / ``acompare(a, b)``: two variants timed interleaved; ratio and interval."""

from __future__ import annotations

import math
import time
import warnings as _warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from labkit.display import TextView
from labkit.errors import MeasurementError
from labkit.timing import stats
from labkit.timing.bench import (
    BenchResult,
    Clock,
    Settings,
    acalibrate,
    aone_value,
    aprobe,
    calibrate,
    function_name,
    make_result,
    one_value,
    probe,
)

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

OnDifferent = Literal["warn", "raise", "ignore"]
CONFIDENCE = 0.95
NO_CLEAR_EFFECT = "no clear effect"


def noise_band(low: float, high: float) -> tuple[float, float]:
    """The ratios noise alone reaches, from the interval of a variant timed against itself.

    Folded so it is symmetric around ×1 (×0.8–1.1 gives ×0.8–1.25): noise that can make a run
    look 20% slower can as well make it look 25% faster.
    """
    if math.isnan(low) or math.isnan(high) or low <= 0:
        return (math.nan, math.nan)
    reach = max(high, 1 / low, 1.0)
    return (1 / reach, reach)


def effect_word(
    low: float,
    high: float,
    *,
    noise: tuple[float, float] = (1.0, 1.0),
    higher_is_better: bool = True,
) -> str:
    """ "better", "worse" or "no clear effect" for the interval of ``after / before``.

    The word comes from the interval only, never from the point ratio: an interval that
    reaches ×1, or into the noise band (see ``noise_band``), is "no clear effect". An unknown
    noise band (NaN) counts as no band at all being trusted, so nothing is clear.
    """
    floor, ceiling = noise
    if any(math.isnan(v) for v in (low, high, floor, ceiling)):
        return NO_CLEAR_EFFECT
    floor, ceiling = min(floor, 1.0), max(ceiling, 1.0)
    if low > ceiling:
        return "better" if higher_is_better else "worse"
    if high < floor:
        return "worse" if higher_is_better else "better"
    return NO_CLEAR_EFFECT


class DifferentResultsWarning(UserWarning):
    """The two variants returned different values: they may not do the same work."""


def format_ratio(ratio: float) -> str:
    if math.isnan(ratio):
        return "n/a"
    if ratio >= 100:
        return f"{ratio:.0f}"
    if ratio >= 10:
        return f"{ratio:.1f}"
    return f"{ratio:.2f}"


@dataclass(frozen=True, repr=False)
class Comparison(TextView):
    """``ratio = median(a) / median(b)``: above 1 means b is faster."""

    a: BenchResult
    b: BenchResult
    ratio: float
    low: float
    high: float
    confidence: float = CONFIDENCE
    warnings: list[str] = field(default_factory=list)

    @property
    def significant(self) -> bool:
        """True when the interval leaves out 1 (no difference)."""
        return not (self.low <= 1.0 <= self.high) and not math.isnan(self.low)

    @property
    def faster(self) -> str | None:
        """Name of the faster variant, or None when the difference is not significant."""
        if not self.significant:
            return None
        return self.b.name if self.ratio > 1 else self.a.name

    @property
    def verdict(self) -> str:
        pct = f"{self.confidence:.0%}"
        if not self.significant:
            return (
                f"no significant difference between {self.a.name} and {self.b.name} "
                f"(ratio {format_ratio(self.ratio)}, {pct} interval "
                f"{format_ratio(self.low)}–{format_ratio(self.high)})"
            )
        if self.ratio > 1:
            fast, slow, ratio, low, high = self.b, self.a, self.ratio, self.low, self.high
        else:
            fast, slow = self.a, self.b
            ratio, low, high = 1 / self.ratio, 1 / self.high, 1 / self.low
        return (
            f"{fast.name} is {format_ratio(ratio)}× faster than {slow.name} "
            f"({pct} interval {format_ratio(low)}–{format_ratio(high)}×)"
        )

    def to_frame(self) -> pd.DataFrame:
        """Both results, one row each, plus each one's time relative to the faster median."""
        import pandas as pd

        frame = pd.concat([self.a.to_frame(), self.b.to_frame()])
        fastest = min(self.a.median, self.b.median)
        frame["relative"] = frame["median_s"] / fastest if fastest > 0 else math.nan
        return frame

    def __str__(self) -> str:
        lines = [self.verdict, f"  {self.a.name}: {self.a.headline()}"]
        lines.append(f"  {self.b.name}: {self.b.headline()}")
        for result in (self.a, self.b):
            lines += [f"  warning ({result.name}): {w}" for w in result.warnings]
        lines += [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        from html import escape

        colour = "#1a7f37" if self.significant else "#555"
        notes = "".join(f"<div style='color:#a15c00'>⚠ {escape(w)}</div>" for w in self.warnings)
        return (
            f"<div><div style='font-weight:bold;color:{colour}'>{escape(self.verdict)}</div>"
            f"{notes}<div style='display:flex;gap:2em'>{self.a._repr_html_()}"
            f"{self.b._repr_html_()}</div></div>"
        )


def same_result(x: Any, y: Any) -> bool:
    """Equality that also copes with DataFrames/arrays (whose ``==`` is element-wise)."""
    equals = getattr(x, "equals", None)
    if callable(equals) and type(x) is type(y):
        try:
            return bool(equals(y))
        except Exception:
            return False
    try:
        verdict = x == y
        if isinstance(verdict, bool):
            return verdict
        all_true = getattr(verdict, "all", None)
        return bool(all_true()) if callable(all_true) else bool(verdict)
    except Exception:
        return False


def _check_results(
    names: tuple[str, str], value_a: Any, value_b: Any, on_different: OnDifferent
) -> list[str]:
    if on_different not in ("warn", "raise", "ignore"):
        raise MeasurementError(
            f"on_different_results must be 'warn', 'raise' or 'ignore', got {on_different!r}"
        )
    if on_different == "ignore" or same_result(value_a, value_b):
        return []
    message = (
        f"{names[0]} and {names[1]} returned different results: you may be timing different work"
    )
    if on_different == "raise":
        raise MeasurementError(message)
    _warnings.warn(message, DifferentResultsWarning, stacklevel=3)
    return [message]


def _names(
    a: Callable[..., Any], b: Callable[..., Any], names: tuple[str, str] | None
) -> tuple[str, str]:
    if names is not None:
        if len(names) != 2:
            raise MeasurementError(f"names must be two labels, got {names!r}")
        return str(names[0]), str(names[1])
    first, second = function_name(a), function_name(b)
    return (first, second) if first != second else ("a", "b")


def _comparison(
    result_a: BenchResult, result_b: BenchResult, seed: int, notes: list[str]
) -> Comparison:
    ratio = result_a.median / result_b.median if result_b.median > 0 else math.nan
    low, high = stats.bootstrap_ratio_interval(
        result_a.samples, result_b.samples, confidence=CONFIDENCE, seed=seed
    )
    return Comparison(result_a, result_b, ratio, low, high, CONFIDENCE, notes)


def compare(
    a: Callable[..., Any],
    b: Callable[..., Any],
    *args: Any,
    repeat: int | None = None,
    min_time: float | None = None,
    warmup: int = 1,
    gc: bool = False,
    clock: Clock = time.perf_counter,
    quick: bool = False,
    names: tuple[str, str] | None = None,
    seed: int = 0,
    on_different_results: OnDifferent = "warn",
    **kwargs: Any,
) -> Comparison:
    """Time ``a`` and ``b`` on the same arguments, alternating their values (a b, b a, a b…).

    Interleaving spreads slow drifts of the machine (another program starting, CPU clock
    changes) over both variants instead of penalising whichever ran second. The 95% interval
    of ``median(a) / median(b)`` comes from a seeded bootstrap, so it is reproducible.
    """
    s = Settings.resolve(
        repeat=repeat, min_time=min_time, warmup=warmup, gc=gc, clock=clock, quick=quick
    )
    name_a, name_b = _names(a, b, names)
    started = s.clock()
    notes = _check_results(
        (name_a, name_b),
        probe(name_a, a, args, kwargs),
        probe(name_b, b, args, kwargs),
        on_different_results,
    )
    loops_a = calibrate(name_a, a, args, kwargs, s)
    loops_b = calibrate(name_b, b, args, kwargs, s)
    for _ in range(s.warmup):
        one_value(name_a, a, args, kwargs, loops_a, s)
        one_value(name_b, b, args, kwargs, loops_b, s)
    samples_a: list[float] = []
    samples_b: list[float] = []
    for i in range(s.repeat):
        if i % 2 == 0:
            samples_a.append(one_value(name_a, a, args, kwargs, loops_a, s))
            samples_b.append(one_value(name_b, b, args, kwargs, loops_b, s))
        else:
            samples_b.append(one_value(name_b, b, args, kwargs, loops_b, s))
            samples_a.append(one_value(name_a, a, args, kwargs, loops_a, s))
    elapsed = s.clock() - started
    return _comparison(
        make_result(name_a, samples_a, loops_a, s, elapsed),
        make_result(name_b, samples_b, loops_b, s, elapsed),
        seed,
        notes,
    )


async def acompare(
    a: Callable[..., Any],
    b: Callable[..., Any],
    *args: Any,
    repeat: int | None = None,
    min_time: float | None = None,
    warmup: int = 1,
    gc: bool = False,
    clock: Clock = time.perf_counter,
    quick: bool = False,
    names: tuple[str, str] | None = None,
    seed: int = 0,
    on_different_results: OnDifferent = "warn",
    **kwargs: Any,
) -> Comparison:
    """``await acompare(a, b, ...)``: :func:`compare` for two coroutine functions."""
    s = Settings.resolve(
        repeat=repeat, min_time=min_time, warmup=warmup, gc=gc, clock=clock, quick=quick
    )
    name_a, name_b = _names(a, b, names)
    started = s.clock()
    value_a = await aprobe(name_a, a, args, kwargs)
    value_b = await aprobe(name_b, b, args, kwargs)
    notes = _check_results((name_a, name_b), value_a, value_b, on_different_results)
    loops_a = await acalibrate(name_a, a, args, kwargs, s)
    loops_b = await acalibrate(name_b, b, args, kwargs, s)
    for _ in range(s.warmup):
        await aone_value(name_a, a, args, kwargs, loops_a, s)
        await aone_value(name_b, b, args, kwargs, loops_b, s)
    samples_a: list[float] = []
    samples_b: list[float] = []
    for i in range(s.repeat):
        order = ((a, name_a, loops_a, samples_a), (b, name_b, loops_b, samples_b))
        for fn, label, loops, into in order if i % 2 == 0 else order[::-1]:
            into.append(await aone_value(label, fn, args, kwargs, loops, s))
    elapsed = s.clock() - started
    return _comparison(
        make_result(name_a, samples_a, loops_a, s, elapsed),
        make_result(name_b, samples_b, loops_b, s, elapsed),
        seed,
        notes,
    )
