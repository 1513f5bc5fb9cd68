"""Figures as they are printed: a number, the precision it was shown with, and its unit.

A printed figure is rounded, so every comparison between printed figures allows for the
rounding: ``1.59`` stands for anything in ``[1.585, 1.595)``. Checks built on these bounds only
report what no rounding of the true values could explain.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# a printed number: 1,234 / 0.95 / 4077 / 1e-09 (thousands separators allowed, sign optional)
NUMBER = r"[-+−]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:e[-+]?\d+)?"


@dataclass(frozen=True)
class Shown:
    """A printed number: its value and how far the true value may lie from it."""

    value: float
    tolerance: float

    @property
    def low(self) -> float:
        return self.value - self.tolerance

    @property
    def high(self) -> float:
        return self.value + self.tolerance


def shown(text: str) -> Shown:
    """``"1.59"`` → 1.59 ± 0.005; ``"1,001"`` → 1001 ± 0.5."""
    clean = text.replace(",", "").replace("−", "-").lstrip("+")
    mantissa, _, exponent = clean.lower().partition("e")
    decimals = len(mantissa.partition(".")[2])
    scale = 10.0 ** int(exponent) if exponent else 1.0
    return Shown(float(clean), 0.5 * 10.0**-decimals * scale)


def ratio_bounds(top: Shown, bottom: Shown) -> tuple[float, float]:
    """The range ``top / bottom`` can take given both roundings (both positive)."""
    if bottom.low <= 0:
        return (top.low / bottom.high if bottom.high > 0 else 0.0, float("inf"))
    return (max(top.low, 0.0) / bottom.high, top.high / bottom.low)


def overlaps(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return a[0] <= b[1] and b[0] <= a[1]


def numbers_in(text: str) -> list[Shown]:
    return [shown(m.group()) for m in re.finditer(NUMBER, text)]
