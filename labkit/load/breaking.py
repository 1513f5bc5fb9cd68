"""``breaking_point``: raise the arrival rate step by step until p99 or errors cross a bound."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import pandas as pd

from labkit.display import TextView
from labkit.errors import LoadError
from labkit.load.result import LoadResult
from labkit.load.runner import run_load

KEEPING_UP: Final = 0.9
"""An open-loop step whose achieved rate falls below this share of the offered rate did not
keep up: the sends it missed are load the server never had to answer (coordinated omission)."""


@dataclass(repr=False)
class BreakingPoint(TextView):
    """Each step's offered rate and what the server did with it."""

    p99_bound_ms: float
    error_bound: float
    steps: list[LoadResult] = field(default_factory=list)
    sustainable_rate: float | None = None  # last offered rate inside both bounds
    broke_at: float | None = None
    reason: str | None = None

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            [
                {
                    "offered_rps": step.rate,
                    "achieved_rps": step.rps,
                    "p50_ms": step.p50,
                    "p99_ms": step.p99,
                    "error_rate": step.error_rate,
                    "late": step.late,
                    "dropped": step.dropped,
                }
                for step in self.steps
            ]
        )

    def plot(self, ax: Any = None) -> Any:
        from labkit.plots import scaling_curve

        return scaling_curve(
            self.to_frame(),
            x="offered_rps",
            y="p99_ms",
            ax=ax,
            bound=self.p99_bound_ms,
            title="p99 as the offered rate grows",
        )

    def __str__(self) -> str:
        head = (
            f"sustainable up to {self.sustainable_rate:g} req/s"
            if self.sustainable_rate is not None
            else "not sustainable even at the first step"
        )
        if self.broke_at is not None:
            head += f"; broke at {self.broke_at:g} req/s ({self.reason})"
        else:
            head += " (the bound was never crossed)"
        return head + "\n" + self.to_frame().to_string(index=False, float_format="{:,.2f}".format)

    def _repr_html_(self) -> str:
        return f"<p><b>{html.escape(str(self).splitlines()[0])}</b></p>" + self.to_frame().to_html(
            index=False, float_format="{:,.2f}".format
        )


def crossed(step: LoadResult, p99_ms: float, max_error_rate: float) -> str | None:
    """Why this step is past the breaking point, or None."""
    if step.overall.count == 0:
        return "no request completed"
    if step.error_rate > max_error_rate:
        return f"error rate {step.error_rate:.1%} > {max_error_rate:.1%}"
    if step.p99 > p99_ms:
        return f"p99 {step.p99:.0f} ms > {p99_ms:g} ms"
    if step.rate and step.rps < KEEPING_UP * step.rate:
        return f"achieved {step.rps:.0f} of {step.rate:g} req/s offered"
    return None


async def breaking_point(
    target: Any,
    endpoints: Sequence[str] | None = None,
    *,
    start_rate: float = 50.0,
    factor: float = 1.5,
    max_rate: float = 5000.0,
    step_duration: float = 3.0,
    p99_ms: float = 500.0,
    max_error_rate: float = 0.01,
    warmup: float = 0.5,
    progress: bool = False,
) -> BreakingPoint:
    """Open-loop steps at ``start_rate``, × ``factor`` each step, until a bound is crossed."""
    if start_rate <= 0 or factor <= 1 or max_rate < start_rate:
        raise LoadError("need start_rate > 0, factor > 1 and max_rate >= start_rate")
    found = BreakingPoint(p99_bound_ms=p99_ms, error_bound=max_error_rate)
    rate = start_rate
    while rate <= max_rate:
        step = await run_load(
            target,
            endpoints,
            rate=rate,
            duration=step_duration,
            warmup=warmup,
            progress=progress,
            label=f"{rate:g} req/s",
        )
        found.steps.append(step)
        reason = crossed(step, p99_ms, max_error_rate)
        if reason is not None:
            found.broke_at, found.reason = rate, reason
            break
        found.sustainable_rate = rate
        rate = round(rate * factor, 1)
    return found
