"""Trustworthy timing: ``bench``/``abench``, ``compare``/``acompare`` and ``Phases``.

One concern per module: :mod:`.bench` (calibrated repeated timing), :mod:`.compare` (two
variants interleaved, ratio with a bootstrap interval), :mod:`.phases` (Server-Timing style
breakdown) and :mod:`.stats` (the small statistics they share).
"""

from __future__ import annotations

from labkit.timing.bench import BenchResult, abench, bench
from labkit.timing.compare import (
    NO_CLEAR_EFFECT,
    Comparison,
    DifferentResultsWarning,
    acompare,
    compare,
    effect_word,
    noise_band,
)
from labkit.timing.phases import Phases, parse_server_timing

__all__ = [
    "NO_CLEAR_EFFECT",
    "BenchResult",
    "Comparison",
    "DifferentResultsWarning",
    "Phases",
    "abench",
    "acompare",
    "bench",
    "compare",
    "effect_word",
    "noise_band",
    "parse_server_timing",
]
