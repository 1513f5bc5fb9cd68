from __future__ import annotations

import asyncio
import gc

import pandas as pd
import pytest

from labkit.errors import MeasurementError
from labkit.timing import Comparison, DifferentResultsWarning, acompare, compare
from labkit.timing.compare import same_result
from labkit.timing.stats import bootstrap_ratio_interval
from tests._fake_clock import FakeClock


@pytest.fixture(autouse=True)
def cheap_gc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gc, "collect", lambda *args: 0)


def test_ratio_and_verdict_when_b_is_faster() -> None:
    clock = FakeClock()
    slow = clock.work(0.004, result=42)
    fast = clock.work(0.001, result=42)
    result = compare(slow, fast, clock=clock, min_time=0.01, names=("slow", "fast"))
    assert isinstance(result, Comparison)
    assert result.ratio == pytest.approx(4.0)
    assert result.low == pytest.approx(4.0) and result.high == pytest.approx(4.0)
    assert result.significant
    assert result.faster == "fast"
    assert result.verdict == "fast is 4.00× faster than slow (95% interval 4.00–4.00×)"
    assert result.warnings == []


def test_verdict_when_a_is_faster_inverts_the_interval() -> None:
    clock = FakeClock()
    result = compare(clock.work(0.001), clock.work(0.002), clock=clock, min_time=0.01)
    # both fns are called "fn": the variants are named a and b
    assert result.verdict == "a is 2.00× faster than b (95% interval 2.00–2.00×)"
    assert result.ratio == pytest.approx(0.5)


def test_no_significant_difference() -> None:
    clock = FakeClock()
    a = clock.varying([0.001, 0.0012, 0.0009, 0.0011])
    b = clock.varying([0.0011, 0.0009, 0.0012, 0.001])
    result = compare(a, b, clock=clock, min_time=0.0005, repeat=20, warmup=0)
    assert not result.significant
    assert result.faster is None
    assert result.verdict.startswith("no significant difference between a and b (ratio ")


def test_values_are_interleaved() -> None:
    order: list[str] = []
    clock = FakeClock()

    def a() -> None:
        order.append("a")
        clock.advance(0.01)

    def b() -> None:
        order.append("b")
        clock.advance(0.01)

    compare(a, b, clock=clock, min_time=0.009, repeat=4, warmup=0)
    # probes (a, b), one calibration value each (a, b), then a b | b a | a b | b a
    assert "".join(order) == "abab" + "ab" + "ba" + "ab" + "ba"


def test_interval_is_deterministic() -> None:
    a = [1.0, 1.1, 0.9, 1.2, 1.05, 0.95, 1.0, 1.3]
    b = [0.5, 0.55, 0.45, 0.6, 0.52, 0.48, 0.5, 0.7]
    assert bootstrap_ratio_interval(a, b) == bootstrap_ratio_interval(a, b)
    low, high = bootstrap_ratio_interval(a, b)
    assert low < 2.0 < high
    assert bootstrap_ratio_interval(a, b, seed=1) != (low, high)


def test_different_results_warn() -> None:
    clock = FakeClock()
    with pytest.warns(DifferentResultsWarning, match="you may be timing different work"):
        result = compare(clock.work(0.001, 1), clock.work(0.001, 2), clock=clock, min_time=0.01)
    assert result.warnings == [
        "a and b returned different results: you may be timing different work"
    ]
    assert "you may be timing different work" in str(result)
    assert "you may be timing different work" in result._repr_html_()


def test_different_results_raise_or_ignore() -> None:
    clock = FakeClock()
    with pytest.raises(MeasurementError, match="returned different results"):
        compare(clock.work(0.001, 1), clock.work(0.001, 2), on_different_results="raise")
    result = compare(
        clock.work(0.001, 1),
        clock.work(0.001, 2),
        clock=clock,
        min_time=0.01,
        on_different_results="ignore",
    )
    assert result.warnings == []
    with pytest.raises(MeasurementError, match="on_different_results"):
        compare(clock.work(0.001), clock.work(0.001), on_different_results="shout")  # type: ignore[arg-type]


def test_same_result_handles_frames_and_unequal_types() -> None:
    frame = pd.DataFrame({"x": [1, 2]})
    assert same_result(frame, frame.copy())
    assert not same_result(frame, frame.assign(x=[1, 3]))
    assert same_result([1, 2], [1, 2])
    assert not same_result(frame, [1, 2])


def test_a_variant_that_raises_is_named() -> None:
    def good() -> int:
        return 1

    def bad() -> int:
        raise ZeroDivisionError("division by zero")

    with pytest.raises(MeasurementError, match=r"bad\(\) raised ZeroDivisionError"):
        compare(good, bad)


def test_frame_and_str() -> None:
    clock = FakeClock()
    result = compare(
        clock.work(0.003), clock.work(0.001), clock=clock, min_time=0.01, names=("old", "new")
    )
    frame = result.to_frame()
    assert list(frame.index) == ["old", "new"]
    assert frame.loc["old", "relative"] == pytest.approx(3.0)
    text = str(result)
    assert text.splitlines()[0].startswith("new is 3.00× faster than old")
    assert "old: 3.00 ms" in text
    assert "new is 3.00× faster" in result._repr_html_()


def test_acompare_with_fake_clock() -> None:
    clock = FakeClock()

    async def sequential() -> list[int]:
        clock.advance(0.002)
        return [1, 2]

    async def gathered() -> list[int]:
        clock.advance(0.001)
        return [1, 2]

    result = asyncio.run(acompare(sequential, gathered, clock=clock, min_time=0.01))
    assert result.ratio == pytest.approx(2.0)
    assert result.verdict.startswith("gathered is 2.00× faster than sequential")


def test_acompare_bad_input() -> None:
    async def fine() -> int:
        return 1

    def not_async() -> int:
        return 1

    with pytest.raises(MeasurementError, match="not async"):
        asyncio.run(acompare(fine, not_async))
