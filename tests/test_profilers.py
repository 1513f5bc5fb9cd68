from __future__ import annotations

import asyncio
import linecache
import tracemalloc
from typing import Any

import pytest

from labkit.errors import MeasurementError
from labkit.profilers import (
    CpuProfile,
    LineProfile,
    MemoryProfile,
    cpu_profile,
    line_profile,
    memory_profile,
)
from labkit.profilers import memory as memory_module


def busy(n: int = 30_000) -> int:
    total = 0
    for i in range(n):
        total += len(str(i))
    return total


def busy_for(seconds: float) -> int:
    import time

    end = time.perf_counter() + seconds
    count = 0
    while time.perf_counter() < end:
        count += busy(2000)
    return count


async def awaits_then_works() -> int:
    await asyncio.sleep(0.02)
    return busy_for(0.05)


# --- cpu ------------------------------------------------------------------------------------


def test_cpu_profile_context_manager() -> None:
    with cpu_profile() as prof:
        busy_for(0.1)
    result = prof.result
    assert isinstance(result, CpuProfile)
    assert result.backend == "pyinstrument"
    assert result.samples > 10
    frame = result.to_frame()
    assert list(frame.columns) == ["function", "location", "self_s", "total_s", "self_%", "total_%"]
    assert "busy" in set(frame["function"])
    assert "busy_for" in result.text
    assert not any("labkit/profilers" in loc for loc in frame["location"])


def test_cpu_profile_html_is_in_an_iframe() -> None:
    _, result = cpu_profile.run(busy_for, 0.02)
    html = result._repr_html_()
    assert "<iframe srcdoc=" in html
    assert "&lt;" in html  # the report is escaped into the attribute
    assert "busy_for" in str(result)


def test_cpu_profile_async_in_the_running_loop() -> None:
    async def main() -> tuple[int, CpuProfile]:
        async with cpu_profile() as prof:
            value = await awaits_then_works()
        return value, prof.result

    value, result = asyncio.run(main())
    assert value > 0
    assert "awaits_then_works" in result.text
    assert "[await]" in result.text


def test_cpu_profile_arun_and_decorator() -> None:
    value, result = asyncio.run(cpu_profile.arun(awaits_then_works))
    assert value > 0 and "awaits_then_works" in result.text

    profiler = cpu_profile()
    wrapped = profiler(busy_for)
    assert wrapped(0.02) > 0
    assert "busy_for" in profiler.result.text


def test_cpu_profile_notes_when_too_short() -> None:
    _, result = cpu_profile(interval=0.5).run(lambda: None)
    assert result.notes and "no samples" in result.notes[0]


def test_cpu_profile_bad_input_and_early_result() -> None:
    with pytest.raises(MeasurementError, match="interval"):
        cpu_profile(interval=0)
    with pytest.raises(MeasurementError, match="no profile yet"):
        _ = cpu_profile().result
    with pytest.raises(MeasurementError, match="is async"):
        cpu_profile.run(awaits_then_works)


def test_cpu_profile_nested_gives_a_clear_message() -> None:
    with cpu_profile(), pytest.raises(MeasurementError, match="cannot start the CPU profiler"):  # noqa: SIM117
        with cpu_profile():
            pass


def test_learner_exception_passes_through_and_profile_is_kept() -> None:
    prof = cpu_profile()
    with pytest.raises(ZeroDivisionError), prof:
        busy_for(0.01)
        _ = 1 / 0
    assert isinstance(prof.result, CpuProfile)


# --- lines ------------------------------------------------------------------------------------

CELL_SOURCE = """\
def cell_function(n):
    squares = []
    for i in range(n):
        squares.append(i * i)
    return sum(squares)


async def cell_coroutine(n):
    await asyncio.sleep(0)
    return cell_function(n)
"""


def _define_in_cell(filename: str, cache: bool) -> dict[str, Any]:
    namespace: dict[str, Any] = {"asyncio": asyncio}
    if cache:  # what IPython does for every cell it runs
        linecache.cache[filename] = (len(CELL_SOURCE), None, CELL_SOURCE.splitlines(True), filename)
    exec(compile(CELL_SOURCE, filename, "exec"), namespace)
    return namespace


def test_line_profile_module_function() -> None:
    with line_profile(busy) as prof:
        busy(500)
    result = prof.result
    assert isinstance(result, LineProfile)
    frame = result.to_frame()
    assert list(frame.columns) == [
        "function",
        "line",
        "hits",
        "time_s",
        "per_hit_s",
        "% time",
        "source",
    ]
    loop_line = frame[frame["source"].str.contains("total += len", regex=False)].iloc[0]
    assert loop_line["hits"] == 500
    assert frame["% time"].sum() == pytest.approx(100)
    assert "def busy" in frame["source"].iloc[0]
    assert "total += len(str(i))" in result.text


def test_line_profile_notebook_cell_source_from_linecache() -> None:
    ns = _define_in_cell("<ipython-input-7-0123456789ab>", cache=True)
    with line_profile(ns["cell_function"]) as prof:
        ns["cell_function"](50)
    frame = prof.result.to_frame()
    append = frame[frame["source"].str.contains("squares.append")].iloc[0]
    assert append["hits"] == 50
    assert prof.result.notes == []


def test_line_profile_degrades_to_line_numbers_without_source() -> None:
    ns = _define_in_cell("<ipython-input-8-nosource>", cache=False)
    value, result = line_profile.run(ns["cell_function"], 20)
    assert value == sum(i * i for i in range(20))
    frame = result.to_frame()
    assert set(frame["source"]) == {""}
    assert 20 in set(frame["hits"])
    assert "no source found for cell_function" in result.notes[0]


def test_line_profile_async_def() -> None:
    ns = _define_in_cell("<ipython-input-9-async>", cache=True)

    async def main() -> LineProfile:
        async with line_profile(ns["cell_coroutine"], ns["cell_function"]) as prof:
            await ns["cell_coroutine"](30)
        return prof.result

    frame = asyncio.run(main()).to_frame()
    assert set(frame["function"]) == {"cell_coroutine", "cell_function"}
    await_line = frame[frame["source"].str.contains("return cell_function")].iloc[0]
    assert await_line["hits"] == 1 and await_line["time_s"] > 0


def test_line_profile_bad_input() -> None:
    with pytest.raises(MeasurementError, match="sorted is built in"):
        line_profile(sorted)
    with pytest.raises(MeasurementError, match="name the functions"), line_profile():
        pass
    _, result = line_profile(busy_for).run(busy, 10)
    assert "busy_for was not called" in result.notes[0]


# --- memory -----------------------------------------------------------------------------------


def allocate(n: int) -> list[bytes]:
    blobs = [bytes(1000) for _ in range(n)]
    return blobs[: n // 10]


@pytest.mark.parametrize("backend", ["memray", "tracemalloc"])
def test_memory_profile_sees_the_peak(backend: str) -> None:
    value, result = memory_profile(backend).run(allocate, 2000)  # type: ignore[arg-type]
    assert isinstance(result, MemoryProfile)
    assert result.backend == backend
    assert len(value) == 200
    assert result.peak_bytes >= 2000 * 1000
    assert result.retained_bytes >= 200 * 1000
    top = result.to_frame().iloc[0]
    assert "test_profilers.py" in top["location"]
    assert "peak" in result.text and "peak" in result._repr_html_()


def test_memray_counts_allocations_and_cleans_its_files() -> None:
    _, result = memory_profile("memray").run(allocate, 1000)
    assert result.allocations >= 1000
    assert result.to_frame().iloc[0]["allocations"] >= 1000
    assert result.notes == []
    directory = memory_module.capture_path().parent
    assert list(directory.glob("*.bin")) == []


def test_tracemalloc_result_says_so_and_restores_state() -> None:
    assert not tracemalloc.is_tracing()
    _, result = memory_profile("tracemalloc").run(allocate, 100)
    assert "tracemalloc keeps no record" in result.notes[0]
    assert not tracemalloc.is_tracing()


def test_memory_falls_back_when_memray_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    real_import = builtins.__import__

    def no_memray(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "memray":
            raise ImportError("No module named 'memray'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_memray)
    _, result = memory_profile().run(allocate, 100)
    assert result.backend == "tracemalloc"
    assert "memray is not available here" in result.notes[0]
    with pytest.raises(MeasurementError, match="memray is not available"):
        memory_profile("memray").run(allocate, 10)


def test_one_memray_tracker_per_process_message() -> None:
    with memory_profile("memray"):  # noqa: SIM117
        with pytest.raises(MeasurementError, match="one per process"), memory_profile("memray"):
            pass


def test_memory_bad_backend() -> None:
    with pytest.raises(MeasurementError, match="memory backend must be"):
        memory_profile("valgrind")  # type: ignore[arg-type]
