"""How the report writes a figure: milliseconds, throughput, rates and before → after changes."""

from __future__ import annotations

import math
from typing import Any


def ms(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:,.1f} ms"


def rps(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:,.0f} req/s"


def pct(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.2%}"


SINGLE_RUN = "one run each: no verdict"
FEW_SAMPLES = "too few samples"


def change(before: float, after: float, *, lower_is_better: bool) -> str:
    """The ratio of one run against one run. No better/worse word: one run each gives no
    interval, and a word drawn from a single ratio flips between reruns on a noisy machine
    (see ``labkit.load.interleaved`` for the comparison that earns a word)."""
    if math.isnan(before) or math.isnan(after) or before == 0:
        return "n/a"
    return f"×{after / before:.2f} ({SINGLE_RUN})"


def effect(effect: Any) -> str:
    """An interleaved effect: ``×1.52 [1.31–1.80] better``."""
    return f"{effect.interval()} {effect.word}"


def percentile(value: float, metric: str, count: int) -> str:
    """A percentile in ms, flagged when it rests on too few samples (p99 < 100, p95 < 20)."""
    from labkit.load.interleaved import few_samples

    text = ms(value)
    return f"{text} ({FEW_SAMPLES})" if few_samples(metric, count) and text != "n/a" else text
