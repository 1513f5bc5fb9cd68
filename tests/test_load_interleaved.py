"""Interleaved step comparisons: verdict words come from intervals and the noise floor, never
from a single ratio — proven on a fake source of noisy runs (no server)."""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Mapping, Sequence

import pytest

from labkit.errors import LoadError
from labkit.load.interleaved import (
    NOISE_RUN,
    InterleavedComparison,
    compare_steps,
    merge_runs,
    schedule,
)
from labkit.load.result import EndpointLoad, LoadResult
from labkit.report import build_report
from labkit.timing.compare import NO_CLEAR_EFFECT, effect_word, noise_band


def run(rps: float, p95_ms: float, *, duration: float = 1.0, label: str = "x") -> LoadResult:
    """A recorded run with ``rps`` requests per second, all but 5% at p95_ms / 2."""
    count = max(1, round(rps * duration))
    load = EndpointLoad()
    slow = max(1, count // 20)
    for index in range(count):
        load.response.record((p95_ms if index < slow + 1 else p95_ms / 2) / 1000)
    load.ok = count
    load.statuses["200"] = count
    return LoadResult(
        target="http://127.0.0.1:1",
        mode="closed",
        duration=duration,
        warmup=0.0,
        endpoints={"/api/x": load},
        vus=8,
        label=label,
        environment={"optimize": label, "workers": "1"},
    )


def recorded(series: Mapping[str, Sequence[float]], p95: float = 100.0) -> InterleavedComparison:
    """A comparison over recorded throughputs (one list per configuration)."""

    async def measure(name: str, repetition: int) -> LoadResult:
        return run(series[name][repetition], p95, label=name)

    names = [name for name in series if name != NOISE_RUN]
    repeats = len(series[names[0]])
    return asyncio.run(compare_steps(measure, names, repeats=repeats))


def test_effect_word_comes_from_the_interval_only() -> None:
    assert effect_word(1.2, 1.5) == "better"
    assert effect_word(0.5, 0.8) == "worse"
    assert effect_word(0.5, 0.8, higher_is_better=False) == "better"
    assert effect_word(0.9, 1.6) == NO_CLEAR_EFFECT  # straddles ×1
    assert effect_word(1.1, 1.2, noise=noise_band(0.8, 1.25)) == NO_CLEAR_EFFECT  # in the noise
    assert effect_word(1.3, 1.5, noise=noise_band(0.8, 1.25)) == "better"
    assert effect_word(math.nan, math.nan) == NO_CLEAR_EFFECT  # one run: no interval, no word
    assert noise_band(0.8, 1.1) == pytest.approx((0.8, 1.25))


def test_schedule_alternates_the_order() -> None:
    order = schedule(["a", "b", "c"], 3)
    assert [name for _, name in order] == ["a", "b", "c", "c", "b", "a", "a", "b", "c"]
    assert [rep for rep, _ in order] == [0, 0, 0, 1, 1, 1, 2, 2, 2]


def test_no_clear_effect_when_the_interval_straddles_one_even_with_a_big_point_ratio() -> None:
    comparison = recorded(
        {
            "baseline": [100, 60, 140, 90, 110],
            NOISE_RUN: [95, 70, 130, 100, 105],
            # median ×1.27 over the baseline, but the runs overlap it: no clear effect
            "+noisy": [60, 150, 127, 80, 170],
            "+real": [400, 390, 420, 380, 410],  # ×3 beyond any noise
        }
    )
    noisy, real = comparison.effect("+noisy"), comparison.effect("+real")
    assert noisy.ratio == pytest.approx(127 / 127 * 1.27 / 1.27 * 127 / 100, rel=0.02)
    assert noisy.low <= 1 <= noisy.high
    assert noisy.word == NO_CLEAR_EFFECT  # a single-ratio rule would say "better"
    assert real.word == "better" and real.low > comparison.noise["rps"][1]
    assert comparison.effect("+real", "p95_ms").word == NO_CLEAR_EFFECT  # same latency


def test_inside_the_noise_floor_is_no_clear_effect() -> None:
    comparison = recorded(
        {
            "baseline": [100, 101, 99, 100, 100],
            NOISE_RUN: [130, 128, 132, 129, 131],  # the same server measured ×1.3 apart
            "+small": [115, 116, 114, 115, 115],  # interval leaves ×1 out, but not the noise
        }
    )
    effect = comparison.effect("+small")
    assert effect.low > 1  # a plain significance test would call it better
    assert effect.word == NO_CLEAR_EFFECT
    assert comparison.noise_text().startswith("×0.7")


def test_largest_contribution_only_when_it_clears_the_others() -> None:
    overlapping = recorded(
        {
            "baseline": [100, 100, 100, 100, 100],
            NOISE_RUN: [101, 99, 100, 100, 100],
            "+a": [300, 250, 350, 280, 320],
            "+b": [900, 700, 1100, 850, 950],  # ×3 again, overlapping +a's gain
        }
    )
    assert overlapping.effect("+a").word == overlapping.effect("+b").word == "better"
    assert overlapping.largest_contribution() is None
    clear = recorded(
        {
            "baseline": [100, 100, 100, 100, 100],
            NOISE_RUN: [101, 99, 100, 100, 100],
            "+a": [500, 490, 510, 505, 495],
            "+b": [600, 590, 610, 605, 595],
        }
    )
    assert clear.largest_contribution() == "+a"


def test_a_null_step_is_never_called_better_in_one_run_and_worse_in_another() -> None:
    words = set()
    for seed in range(12):
        rng = random.Random(seed)

        def noisy(rng: random.Random = rng) -> list[float]:
            return [100 * rng.lognormvariate(0, 0.3) for _ in range(5)]

        comparison = recorded({"baseline": noisy(), NOISE_RUN: noisy(), "+nothing": noisy()})
        words.add(comparison.effect("+nothing").word)
    assert not {"better", "worse"} <= words


def test_merged_runs_keep_every_sample_and_the_summed_time() -> None:
    merged = merge_runs([run(100, 50), run(300, 50)], "m")
    assert merged.overall.count == 400
    assert merged.duration == 2.0
    assert merged.rps == 200
    assert merged.environment["runs"] == "2"
    with pytest.raises(LoadError):
        merge_runs([], "m")


def test_compare_steps_rejects_too_few_repeats() -> None:
    async def measure(name: str, repetition: int) -> LoadResult:
        return run(100, 10)

    with pytest.raises(LoadError):
        asyncio.run(compare_steps(measure, ["baseline"], repeats=1))


def test_report_words_come_from_the_intervals() -> None:
    comparison = recorded(
        {
            "baseline": [10, 6, 14, 9, 11],
            NOISE_RUN: [9.5, 7, 13, 10, 10.5],
            "+noisy": [6, 15, 12.7, 8, 17],
            "+real": [40, 39, 42, 38, 41],
        },
        p95=200.0,
    )
    report = build_report(
        comparison.baseline, comparison.after, steps=comparison.steps, comparison=comparison,
        plots=False,
    )  # fmt: skip
    steps = report.markdown.split("## Optimisations, one at a time")[1].split("\n## ")[0]
    noisy = next(line for line in steps.splitlines() if line.startswith("| +noisy"))
    real = next(line for line in steps.splitlines() if line.startswith("| +real"))
    assert NO_CLEAR_EFFECT in noisy and "better" not in noisy and "worse" not in noisy
    assert "better" in real and "5+5 runs" in real
    summary = report.markdown.split("## Executive summary")[1].split("\n## ")[0]
    assert "Noise floor" in summary and "Largest contribution" in summary
    assert "load average" in report.markdown
    # 5 runs of ~10 requests: the p99 rests on too few samples and says so (greyed in HTML)
    assert "too few samples" in report.markdown
    assert "color:#999" in report.html


def test_single_runs_get_no_verdict_word() -> None:
    base, after = run(100, 50), run(300, 20)
    report = build_report(base, after, steps=[("+x", after)], plots=False)
    steps = report.markdown.split("## Optimisations, one at a time")[1].split("\n## ")[0]
    assert "better" not in steps and "worse" not in steps
    assert "no verdict" in steps
