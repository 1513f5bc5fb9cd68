"""Claimed vs measured: figures quoted elsewhere set beside what this run measured."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Final

from labkit.errors import ReportError
from labkit.load.result import LoadResult
from labkit.report.blocks import Table
from labkit.timing.compare import NO_CLEAR_EFFECT

# metric -> (label, unit)
CLAIMABLE: Final[dict[str, tuple[str, str]]] = {
    "rps": ("throughput", "req/s"),
    "p50_ms": ("p50 latency", "ms"),
    "p95_ms": ("p95 latency", "ms"),
    "p99_ms": ("p99 latency", "ms"),
    "error_rate": ("error rate", "%"),
}
Claim = tuple[float, float] | float  # (before, after), or only the figure after
COLUMNS: Final = ("figure", "claimed", "measured here", "same direction")


def _show(value: float, unit: str) -> str:
    if math.isnan(value):
        return "n/a"
    if unit == "%":
        return f"{value:.2%}"
    return f"{value:,.1f} {unit}" if abs(value) < 100 else f"{value:,.0f} {unit}"


def _pair(before: float, after: float, unit: str) -> str:
    ratio = after / before if before and not math.isnan(before) else math.nan
    shown = f" (×{ratio:.2f})" if not math.isnan(ratio) else ""
    return f"{_show(before, unit)} → {_show(after, unit)}{shown}"


def _normalise(claims: Mapping[str, Claim]) -> dict[str, tuple[float | None, float]]:
    out: dict[str, tuple[float | None, float]] = {}
    for metric, claim in claims.items():
        if metric not in CLAIMABLE:
            raise ReportError(f"unknown claimed figure {metric!r}: use {', '.join(CLAIMABLE)}")
        try:
            if isinstance(claim, tuple | list):
                before, after = (float(v) for v in claim)
                out[metric] = (before, after)
            else:
                out[metric] = (None, float(claim))
        except (TypeError, ValueError):
            raise ReportError(
                f"claim for {metric!r} must be a number or (before, after), got {claim!r}"
            ) from None
    return out


def _agrees(said: float, saw: float, word: str | None) -> str:
    """Does the measured change go the claimed way? Only an interval's word can say so."""
    if math.isnan(saw):
        return "n/a"
    if word is None:
        return "not tested (no interval)"
    if word == NO_CLEAR_EFFECT:
        return "unclear (within the noise)"
    return "yes" if said * saw > 0 else "no"


def claims_table(
    baseline: LoadResult,
    after: LoadResult,
    claims: Mapping[str, Claim],
    words: Mapping[str, str] | None = None,
) -> tuple[Table, dict[str, float]]:
    """The table, and the figures it shows (``claim.<metric>.before/after/measured_ratio``).

    ``words`` (metric → better / worse / no clear effect, from interleaved runs) decide the
    "same direction" column; without them it says the direction was not tested.
    """
    rows, figures = [], {}
    for metric, (claimed_before, claimed_after) in _normalise(claims).items():
        label, unit = CLAIMABLE[metric]
        before, now = baseline.figure(metric), after.figure(metric)
        if claimed_before is None:
            claimed = _show(claimed_after, unit)
            agrees = "n/a"
        else:
            claimed = _pair(claimed_before, claimed_after, unit)
            figures[f"claim.{metric}.before"] = claimed_before
            # the direction (up or down) the claim says, and the one measured here
            said, saw = claimed_after - claimed_before, now - before
            agrees = _agrees(said, saw, (words or {}).get(metric))
        figures[f"claim.{metric}.after"] = claimed_after
        figures[f"claim.{metric}.measured_ratio"] = now / before if before else math.nan
        rows.append((label, claimed, _pair(before, now, unit), agrees))
    return Table(COLUMNS, tuple(rows)), figures
