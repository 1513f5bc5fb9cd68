"""How the report writes a figure: milliseconds, throughput, rates and before → after changes."""

from __future__ import annotations

import math


def ms(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:,.1f} ms"


def rps(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:,.0f} req/s"


def pct(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.2%}"


def change(before: float, after: float, *, lower_is_better: bool) -> str:
    if math.isnan(before) or math.isnan(after) or before == 0:
        return "n/a"
    ratio = after / before
    better = ratio < 1 if lower_is_better else ratio > 1
    word = "better" if better else ("same" if ratio == 1 else "worse")
    return f"×{ratio:.2f} ({word})"
