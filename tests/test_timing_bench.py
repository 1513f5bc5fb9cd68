from __future__ import annotations

import asyncio
import gc

import pytest

from labkit.errors import MeasurementError
from labkit.timing import BenchResult, abench, bench
from labkit.timing.bench import next_loops, stability_warnings
from tests._fake_clock import FakeClock


@pytest.fixture(autouse=True)
def counted_gc_collect(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count gc.collect() calls without paying for full collections in a big test process."""
    calls: list[int] = []

    def collect(*args: object) -> int:
        calls.append(1)
        return 0

    monkeypatch.setattr(gc, "collect", collect)
    return calls


def test_calibrates_loops_until_one_value_reaches_min_time() -> None:
    clock = FakeClock()
    result = bench(clock.work(0.001), clock=clock, min_time=0.1, repeat=20)
    # 1 loop = 1 ms -> ×10 -> 10 ms -> ×10 -> 100 ms >= min_time
    assert result.loops == 100
    assert result.n == 20
    assert result.samples == pytest.approx([0.001] * 20)
    assert result.median == pytest.approx(0.001)
    assert result.mad == pytest.approx(0, abs=1e-15)
    assert result.std == pytest.approx(0, abs=1e-15)
    assert result.warnings == []


def test_elapsed_counts_probe_calibration_warmup_and_values() -> None:
    clock = FakeClock()
    result = bench(clock.work(0.001), clock=clock, min_time=0.1, repeat=20, warmup=2)
    calls = 1 + (1 + 10 + 100) + 2 * 100 + 20 * 100
    assert result.elapsed == pytest.approx(calls * 0.001)


def test_next_loops_steps() -> None:
    assert next_loops(1, 0.2, 0.1) is None
    assert next_loops(1, 0.0, 0.1) == 10  # clock did not move: grow ×10
    assert next_loops(10, 0.05, 0.1) == 22  # shortfall ×2, 10% head-room
    assert next_loops(1, 0.099, 0.1) == 2  # always at least one more loop
    with pytest.raises(MeasurementError, match="clock does not advance"):
        next_loops(10**5, 0.0, 0.1)


def test_statistics_on_known_samples() -> None:
    # each call of a value takes the same time; values differ: 1,2,...,10 ms (cycled per call)
    clock = FakeClock()
    durations = [0.001 * k for k in range(1, 11)]
    fn = clock.varying(durations)
    result = bench(fn, clock=clock, min_time=0.0005, repeat=10, warmup=0)
    assert result.loops == 1
    # the probe and the calibration value used durations 1 and 2 ms, so values start at 3 ms
    assert result.samples == pytest.approx(
        [0.003, 0.004, 0.005, 0.006, 0.007, 0.008, 0.009, 0.010, 0.001, 0.002]
    )
    assert result.median == pytest.approx(0.0055)
    assert result.mad == pytest.approx(0.0025)
    assert result.min == pytest.approx(0.001)
    assert result.max == pytest.approx(0.010)
    assert result.mean == pytest.approx(0.0055)
    assert result.p5 == pytest.approx(0.001 + 0.45 * 0.001)
    assert result.p95 == pytest.approx(0.009 + 0.55 * 0.001)
    assert any("standard deviation" in w for w in result.warnings)
    assert any("shortest value" in w for w in result.warnings)


def test_str_and_frame() -> None:
    clock = FakeClock()
    result = bench(clock.work(0.00123), clock=clock, min_time=0.1, name="work")
    # MAD is 0 (up to float rounding of the fake clock): shown as 0.00, not 1e-19
    assert str(result).splitlines()[0] == "1.23 ms ± 0.00 ms (median ± MAD, 20 values × 90 loops)"
    frame = result.to_frame()
    assert list(frame.index) == ["work"]
    assert frame.loc["work", "n"] == 20
    assert frame.loc["work", "gc"] == "off"
    html = result._repr_html_()
    assert "work" in html and "median ± MAD" in html


def test_quick_preset_and_defaults() -> None:
    clock = FakeClock()
    quick = bench(clock.work(0.001), clock=clock, quick=True)
    assert (quick.n, quick.loops) == (10, 10)  # 10 values of ≥ 10 ms
    default = bench(clock.work(0.001), clock=clock)
    assert default.n == 20
    assert default.loops * 0.001 >= 0.05


def test_gc_disabled_inside_loop_by_default_and_restored() -> None:
    states: list[bool] = []
    bench(lambda: states.append(gc.isenabled()), repeat=3, min_time=1e-6, warmup=0)
    assert gc.isenabled()
    timed = states[1:]  # the first call is the untimed probe
    assert timed and not any(timed)
    states.clear()
    result = bench(lambda: states.append(gc.isenabled()), repeat=3, min_time=1e-6, gc=True)
    assert all(states) and result.gc_enabled


def test_gc_collect_before_each_value(counted_gc_collect: list[int]) -> None:
    collects = counted_gc_collect
    clock = FakeClock()
    bench(clock.work(0.01), clock=clock, min_time=0.01, repeat=5, warmup=1)
    # 1 calibration value + 1 warm-up + 5 values
    assert len(collects) == 7


def test_args_and_kwargs_are_passed() -> None:
    seen: list[tuple[int, str]] = []
    clock = FakeClock()

    def fn(x: int, *, label: str) -> None:
        seen.append((x, label))
        clock.advance(0.01)

    bench(fn, 3, label="x", clock=clock, min_time=0.01, repeat=2)
    assert set(seen) == {(3, "x")}


def test_short_values_warn() -> None:
    clock = FakeClock()
    result = bench(clock.work(1e-6), clock=clock, min_time=1e-4, repeat=5)
    assert any("< 1 ms" in w for w in result.warnings)


def test_stability_warnings_longest_and_few_values() -> None:
    warnings = stability_warnings((1.0, 1.0, 3.0), 1)
    assert any("longest value" in w for w in warnings)
    assert any("only 3 values" in w for w in warnings)
    assert stability_warnings((1.0,), 1)[0].startswith("only 1 value")


def test_function_that_raises_says_so() -> None:
    def broken() -> None:
        raise KeyError("user 7")

    with pytest.raises(MeasurementError, match=r"broken\(\) raised KeyError: 'user 7'") as info:
        bench(broken)
    assert isinstance(info.value.__cause__, KeyError)


def test_function_that_raises_later_says_so() -> None:
    calls = [0]
    clock = FakeClock()

    def flaky() -> None:
        calls[0] += 1
        clock.advance(0.01)
        if calls[0] == 5:
            raise RuntimeError("boom")

    with pytest.raises(MeasurementError, match="flaky\\(\\) raised RuntimeError: boom"):
        bench(flaky, clock=clock, min_time=0.01)
    assert gc.isenabled()


def test_async_function_given_to_bench() -> None:
    async def fetch() -> int:
        return 1

    with pytest.raises(MeasurementError, match=r"await abench\(fetch\)"):
        bench(fetch)


def test_bad_arguments() -> None:
    with pytest.raises(MeasurementError, match="repeat"):
        bench(lambda: None, repeat=0)
    with pytest.raises(MeasurementError, match="min_time"):
        bench(lambda: None, min_time=-1)
    with pytest.raises(MeasurementError, match="warmup"):
        bench(lambda: None, warmup=-1)
    with pytest.raises(MeasurementError, match="needs a function"):
        bench(42)  # type: ignore[arg-type]


def test_clock_that_never_moves() -> None:
    with pytest.raises(MeasurementError, match="clock does not advance"):
        bench(lambda: None, clock=lambda: 0.0)


def test_abench_with_fake_clock() -> None:
    clock = FakeClock()

    async def handler(n: int) -> int:
        clock.advance(0.002)
        await asyncio.sleep(0)
        return n

    result = asyncio.run(abench(handler, 5, clock=clock, min_time=0.02, repeat=7))
    assert isinstance(result, BenchResult)
    assert result.loops == 10
    assert result.samples == pytest.approx([0.002] * 7)


def test_abench_runs_on_the_callers_loop() -> None:
    loops_seen: set[int] = set()

    async def handler() -> None:
        loops_seen.add(id(asyncio.get_running_loop()))

    async def main() -> int:
        await abench(handler, repeat=2, min_time=1e-5)
        return id(asyncio.get_running_loop())

    assert loops_seen == {asyncio.run(main())}


def test_abench_bad_input() -> None:
    async def broken() -> None:
        raise ValueError("nope")

    with pytest.raises(MeasurementError, match=r"broken\(\) raised ValueError: nope"):
        asyncio.run(abench(broken))
    with pytest.raises(MeasurementError, match=r"not async .* use bench\(sync\)"):

        def sync() -> int:
            return 1

        asyncio.run(abench(sync))  # type: ignore[arg-type]


def test_drift_and_a_busy_machine_are_named_as_reasons() -> None:
    from labkit.timing.result import busy_machine, drift

    steady = (1.0, 1.01, 0.99, 1.0, 1.0, 1.01, 0.99, 1.0)
    slowing = (1.0, 1.0, 1.0, 1.0, 1.2, 1.2, 1.2, 1.2)
    assert abs(drift(steady)) < 0.05
    assert drift(slowing) == pytest.approx(0.2)
    assert any("drifted +20%" in w for w in stability_warnings(slowing, 1000, load=0.0))
    assert not any("drifted" in w for w in stability_warnings(steady, 1000, load=0.0))
    assert busy_machine(load=9.5, cores=2) is not None and "9.5" in str(busy_machine(9.5, 2))
    assert busy_machine(load=1.0, cores=2) is None
