"""Small, exact statistics for timing samples (pure Python: no numpy, deterministic)."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence


def median(values: Sequence[float]) -> float:
    """The middle value (mean of the two middle ones for an even count)."""
    if not values:
        raise ValueError("median of no values")
    ordered = sorted(values)
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[mid]
    return (ordered[mid - 1] + ordered[mid]) / 2


def mad(values: Sequence[float]) -> float:
    """Median absolute deviation from the median (unscaled, as pyperf reports it)."""
    centre = median(values)
    return median([abs(v - centre) for v in values])


def mean(values: Sequence[float]) -> float:
    if not values:
        raise ValueError("mean of no values")
    return math.fsum(values) / len(values)


def stdev(values: Sequence[float]) -> float:
    """Sample standard deviation (n - 1), 0.0 for fewer than two values."""
    if len(values) < 2:
        return 0.0
    centre = mean(values)
    return math.sqrt(math.fsum((v - centre) ** 2 for v in values) / (len(values) - 1))


def percentile(values: Sequence[float], pct: float) -> float:
    """Percentile with linear interpolation between closest ranks (numpy's default method)."""
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= pct <= 100:
        raise ValueError(f"percentile must be within 0..100, got {pct}")
    ordered = sorted(values)
    position = (len(ordered) - 1) * pct / 100
    low = math.floor(position)
    high = math.ceil(position)
    if low == high:
        return ordered[low]
    fraction = position - low
    return ordered[low] + (ordered[high] - ordered[low]) * fraction


def bootstrap_ratio_interval(
    a: Sequence[float],
    b: Sequence[float],
    *,
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile-bootstrap interval for ``median(a) / median(b)``.

    A seeded generator makes the interval the same every time for the same samples.
    """
    if not a or not b:
        raise ValueError("bootstrap of no values")
    rng = random.Random(seed)
    ratios: list[float] = []
    for _ in range(resamples):
        resampled_b = median(rng.choices(b, k=len(b)))
        resampled_a = median(rng.choices(a, k=len(a)))
        if resampled_b > 0:
            ratios.append(resampled_a / resampled_b)
    if not ratios:
        return math.nan, math.nan
    tail = (1 - confidence) / 2 * 100
    return percentile(ratios, tail), percentile(ratios, 100 - tail)


_UNITS = (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9))


def pick_unit(seconds: float) -> tuple[str, float]:
    """The largest unit in which ``seconds`` is at least 1 (ns at the bottom)."""
    for name, scale in _UNITS:
        if abs(seconds) >= scale:
            return name, scale
    return _UNITS[-1]


def format_seconds(seconds: float, unit: tuple[str, float] | None = None) -> str:
    """``0.00123`` -> ``'1.23 ms'`` (three significant figures).

    With a fixed ``unit`` (to print a spread beside its median), values below 1 in that unit
    keep two significant figures: ``'± 0.0031 ms'`` rather than a misleading ``'± 0.00 ms'``.
    """
    if math.isnan(seconds):
        return "n/a"
    name, scale = unit or pick_unit(seconds)
    value = seconds / scale
    if 1e-6 <= abs(value) < 0.01:
        decimals = min(12, 1 - math.floor(math.log10(abs(value))))
        return f"{value:.{decimals}f} {name}"
    if abs(value) >= 100:
        text = f"{value:.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.2f}"
    return f"{text} {name}"
