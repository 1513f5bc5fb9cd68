"""Repeated, interleaved comparisons for notebook 04, and the sentence each one allows.

A single run of "variant vs baseline" on a laptop shared with other programs can come out ×1.6
one time and ×1.0 the next. So the notebook measures each comparison as several short runs
alternating baseline and variant (A B B A A B …), takes the median ratio with a bootstrap
interval, and measures the **noise floor** by comparing the baseline with itself (its
alternate runs against each other). The words — faster, slower, no clear effect — come from
the interval and the floor, never from one ratio, so the prose cannot contradict the figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from labkit.display import TextView
from labkit.timing import Comparison
from labkit.timing.compare import NO_CLEAR_EFFECT, effect_word, noise_band
from labkit.timing.stats import bootstrap_ratio_interval, median

CONFIDENCE = 0.95


@dataclass(frozen=True, repr=False)
class Effect(TextView):
    """``ratio``: how many times better the variant is than the baseline (> 1 is better),
    the median of repeated interleaved runs, with its interval and the machine's noise floor
    (the same ratio of the baseline against itself)."""

    baseline: str
    variant: str
    ratio: float
    low: float
    high: float
    floor_low: float
    floor_high: float
    runs: int

    @property
    def verdict(self) -> str:
        """ "better", "worse" or "no clear effect": the course's one rule
        (``labkit.timing.compare.effect_word``), from the interval and the noise floor only."""
        return effect_word(self.low, self.high, noise=noise_band(self.floor_low, self.floor_high))

    @property
    def beyond_noise(self) -> bool:
        """The interval leaves out ×1 and the noise floor's band."""
        return self.verdict != NO_CLEAR_EFFECT

    def interval_text(self) -> str:
        return (
            f"×{self.ratio:.2f} (95% interval ×{self.low:.2f}–×{self.high:.2f}, "
            f"{self.runs} runs each)"
        )

    def floor_text(self) -> str:
        return f"×{self.floor_low:.2f}–×{self.floor_high:.2f}"

    def sentence(self, *, better: str = "faster", worse: str = "slower") -> str:
        """One sentence that says what the measurement supports, and no more."""
        if self.verdict == NO_CLEAR_EFFECT:
            return (
                f"{self.variant} vs {self.baseline}: {self.interval_text()} — no clear effect: "
                f"the interval includes ×1 or lies inside the noise floor "
                f"({self.baseline} against itself: {self.floor_text()})."
            )
        word = better if self.verdict == "better" else worse
        return (
            f"{self.variant} is {word} than {self.baseline}: {self.interval_text()}, which "
            f"leaves out ×1 and the noise floor ({self.baseline} against itself: "
            f"{self.floor_text()})."
        )

    def __str__(self) -> str:
        return self.sentence()


def effect(
    baseline: str,
    variant: str,
    baseline_values: Sequence[float],
    variant_values: Sequence[float],
    *,
    higher_is_better: bool,
    seed: int = 0,
) -> Effect:
    """The effect from per-run values (times: lower is better; throughput: higher is better)."""
    if len(baseline_values) < 4 or not variant_values:
        raise ValueError("an effect needs at least 4 baseline runs and 1 variant run")
    a, b = list(baseline_values), list(variant_values)
    top, bottom = (b, a) if higher_is_better else (a, b)
    ratio = median(top) / median(bottom)
    low, high = bootstrap_ratio_interval(top, bottom, confidence=CONFIDENCE, seed=seed)
    # the floor: the baseline's alternate runs against each other (same work, same machine)
    first, second = a[0::2], a[1::2]
    floor_low, floor_high = bootstrap_ratio_interval(
        first, second, confidence=CONFIDENCE, seed=seed + 1
    )
    return Effect(baseline, variant, ratio, low, high, floor_low, floor_high, min(len(a), len(b)))


def effect_of(comparison: Comparison) -> Effect:
    """An :class:`Effect` from ``compare(baseline, variant)``: seconds, so lower is better."""
    return effect(
        comparison.a.name,
        comparison.b.name,
        comparison.a.samples,
        comparison.b.samples,
        higher_is_better=False,
    )
