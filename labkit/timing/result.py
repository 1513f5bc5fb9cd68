"""``BenchResult``: the values one ``bench()`` run measured, their summary and their views.

Text (``__str__``), HTML (``_repr_html_``) and a one-row ``DataFrame`` (``to_frame()``) of the
same figures, plus the pyperf-style warnings that say when the values should not be trusted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from labkit.display import TextView
from labkit.timing import stats
from labkit.timing.stats import format_seconds, pick_unit

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd


@dataclass(frozen=True, repr=False)
class BenchResult(TextView):
    """Seconds per call for ``n`` values of ``loops`` calls each, with summary statistics."""

    name: str
    samples: tuple[float, ...]
    loops: int
    gc_enabled: bool = False
    warnings: list[str] = field(default_factory=list)
    elapsed: float = math.nan  # seconds the whole measurement took, calibration included

    @property
    def n(self) -> int:
        return len(self.samples)

    @property
    def median(self) -> float:
        return stats.median(self.samples)

    @property
    def mad(self) -> float:
        return stats.mad(self.samples)

    @property
    def min(self) -> float:
        return min(self.samples)

    @property
    def max(self) -> float:
        return max(self.samples)

    @property
    def mean(self) -> float:
        return stats.mean(self.samples)

    @property
    def std(self) -> float:
        return stats.stdev(self.samples)

    @property
    def p5(self) -> float:
        return stats.percentile(self.samples, 5)

    @property
    def p95(self) -> float:
        return stats.percentile(self.samples, 95)

    def summary(self) -> dict[str, Any]:
        """The figures as a flat dict (seconds), in a stable order."""
        return {
            "median_s": self.median,
            "mad_s": self.mad,
            "mean_s": self.mean,
            "std_s": self.std,
            "min_s": self.min,
            "p5_s": self.p5,
            "p95_s": self.p95,
            "max_s": self.max,
            "n": self.n,
            "loops": self.loops,
            "gc": "on" if self.gc_enabled else "off",
        }

    def to_frame(self) -> pd.DataFrame:
        """One row, indexed by the function's name (``pd.concat`` several to tabulate them)."""
        import pandas as pd

        return pd.DataFrame([self.summary()], index=pd.Index([self.name], name="name"))

    def headline(self) -> str:
        unit = pick_unit(self.median)
        return (
            f"{format_seconds(self.median, unit)} ± {format_seconds(self.mad, unit)} "
            f"(median ± MAD, {self.n} values × {self.loops} loops)"
        )

    def __str__(self) -> str:
        unit = pick_unit(self.median)
        lines = [
            self.headline(),
            f"  mean {format_seconds(self.mean, unit)} ± {format_seconds(self.std, unit)} std, "
            f"min {format_seconds(self.min, unit)}, p95 {format_seconds(self.p95, unit)}, "
            f"GC {'on' if self.gc_enabled else 'off'} while timing",
        ]
        lines += [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        from html import escape

        unit = pick_unit(self.median)
        fmt = lambda value: format_seconds(value, unit)  # noqa: E731
        gc_state = "on" if self.gc_enabled else "off"
        cells = [
            ("median ± MAD", f"{fmt(self.median)} ± {fmt(self.mad)}"),
            ("mean ± std", f"{fmt(self.mean)} ± {fmt(self.std)}"),
            ("min / p5 / p95 / max", " / ".join(map(fmt, (self.min, self.p5, self.p95, self.max)))),
            ("values × loops", f"{self.n} × {self.loops} (GC {gc_state})"),
        ]
        rows = "".join(
            f"<tr><th style='text-align:left'>{escape(k)}</th><td>{escape(v)}</td></tr>"
            for k, v in cells
        )
        warnings = "".join(f"<div style='color:#a15c00'>⚠ {escape(w)}</div>" for w in self.warnings)
        return (
            f"<div><strong>{escape(self.name)}</strong>"
            f"<table style='margin:0'>{rows}</table>{warnings}</div>"
        )


# --- warnings -------------------------------------------------------------------------------


DRIFT = 0.05  # halves of one run whose medians differ more than this: the machine changed speed


def drift(samples: tuple[float, ...]) -> float:
    """Median of the second half of the values over the first half's, minus 1 (0 = steady)."""
    if len(samples) < 6:
        return 0.0
    half = len(samples) // 2
    first = stats.median(samples[:half])
    return stats.median(samples[half:]) / first - 1 if first > 0 else 0.0


def busy_machine(load: float | None = None, cores: int | None = None) -> str | None:
    """A note when more programs want the CPUs than there are CPUs (1-min load average)."""
    import os

    try:
        load = os.getloadavg()[0] if load is None else load
    except (OSError, AttributeError):
        return None
    cores = cores or os.cpu_count() or 1
    if load <= cores:
        return None
    return (
        f"the machine was busy (load average {load:.1f} on {cores} CPU cores): other programs "
        "took turns on the CPU, so medians can differ by more than 5% between calls — rerun "
        "on a quieter machine, or compare variants with compare() (interleaved)"
    )


def stability_warnings(
    samples: tuple[float, ...], loops: int, *, load: float | None = None, machine: bool = True
) -> list[str]:
    """pyperf-style checks: large spread, outlying min/max, values too short to trust; and
    why a median may not repeat between calls: drift within the run, a busy machine."""
    found: list[str] = []
    if len(samples) < 2:
        return [f"only {len(samples)} value: no spread can be estimated; use repeat ≥ 5"]
    centre = stats.mean(samples)
    if centre <= 0:
        return ["the clock did not advance during the values: the figures mean nothing"]
    spread = stats.stdev(samples)
    if spread / centre >= 0.10:
        found.append(
            f"the standard deviation ({format_seconds(spread)}) is {spread / centre:.0%} of the "
            "mean: the result may be unstable (other programs busy? try more values)"
        )
    if (centre - min(samples)) / centre >= 0.5:
        found.append(f"the shortest value is {(centre - min(samples)) / centre:.0%} below the mean")
    if (max(samples) - centre) / centre >= 0.5:
        found.append(f"the longest value is {(max(samples) - centre) / centre:.0%} above the mean")
    shortest_value = min(samples) * loops
    if shortest_value < 1e-3:
        found.append(
            f"a value lasted only {format_seconds(shortest_value)} (< 1 ms): clock overhead "
            "may dominate; raise min_time"
        )
    if len(samples) < 5:
        found.append(f"only {len(samples)} values: the spread is a rough guess; use repeat ≥ 5")
    moved = drift(samples)
    if abs(moved) > DRIFT:
        found.append(
            f"the values drifted {moved:+.0%} from the first half of the run to the second: "
            "the machine changed speed while measuring (CPU clock, other programs), so the "
            "median of another call may differ by as much"
        )
    busy = busy_machine(load) if machine else None  # not for a test's fake clock
    if busy is not None:
        found.append(busy)
    return found
