"""The load generator against a small in-process aiohttp server on 127.0.0.1.

Assertions count requests or rely on lower bounds that sleeps guarantee; none depends on how
fast this machine is.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from labkit.app.server import free_port
from labkit.errors import LoadError
from labkit.load import EndpointLoad, LoadResult, request_timing, run_load
from labkit.load import runner as runner_module
from labkit.load.histogram import LatencyRecorder
from labkit.load.plan import DEFAULT_ENDPOINTS, choose_shape, resolve_target


@asynccontextmanager
async def tiny_server(
    handler: Callable[[web.Request], Any],
) -> AsyncIterator[tuple[str, web.AppRunner]]:
    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}", runner
    finally:
        await runner.cleanup()


def counting_handler(counts: dict[str, int], stall: dict[int, float] | None = None) -> Any:
    async def handle(request: web.Request) -> web.Response:
        counts[request.path] = counts.get(request.path, 0) + 1
        total = sum(counts.values())
        if stall and total in stall:
            await asyncio.sleep(stall[total])
        status = 503 if request.path == "/fail" else 200
        return web.Response(
            text="x" * 10, status=status, headers={"Server-Timing": "db;dur=1.5, total;dur=2"}
        )

    return handle


def test_closed_loop_records_every_answered_request_per_endpoint() -> None:
    counts: dict[str, int] = {}

    async def scenario() -> LoadResult:
        async with tiny_server(counting_handler(counts)) as (url, _):
            return await run_load(
                url, ["/a", "/fail"], vus=4, duration=0.4, warmup=0.1, progress=False
            )

    result = asyncio.run(scenario())
    a, fail = result.endpoints["/a"], result.endpoints["/fail"]
    assert a.count > 0 and a.errors == 0 and fail.errors == fail.count > 0
    assert fail.statuses == {"503": fail.count}
    # every recorded request reached the server (warm-up and the pre-flight ones too)
    assert a.count + fail.count <= sum(counts.values()) - 1
    assert result.error_rate == pytest.approx(fail.count / (a.count + fail.count))
    assert result.mode == "closed" and result.vus == 4


def test_open_loop_sends_exactly_the_schedule_and_skips_warmup() -> None:
    async def scenario() -> LoadResult:
        async with tiny_server(counting_handler({})) as (url, _):
            return await run_load(url, ["/a"], rate=100, duration=0.5, warmup=0.2, progress=False)

    result = asyncio.run(scenario())
    # 70 sends are due in 0.7 s; the first 20 fall in the warm-up
    assert result.overall.count + result.dropped == 50
    assert result.mode == "open" and result.rate == 100


def test_open_loop_counts_queueing_that_a_closed_loop_would_hide() -> None:
    async def scenario() -> LoadResult:
        # the 30th request stalls 300 ms; one connection, so sends behind it must wait
        async with tiny_server(counting_handler({}, stall={30: 0.3})) as (url, _):
            return await run_load(
                url, ["/a"], rate=100, duration=0.8, warmup=0.1, connections=1, progress=False
            )

    result = asyncio.run(scenario())
    slow_response = sum(c for v, c in result.overall.response.values_ms() if v >= 100)
    slow_service = sum(c for v, c in result.overall.service.values_ms() if v >= 100)
    assert result.overall.response.max_seconds >= 0.3
    assert slow_response >= 10  # those queued behind the stall, timed from when they were due
    assert slow_service < slow_response  # service time alone would hide the queue
    assert result.late >= 10


def test_unreachable_server_is_a_clear_error() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(LoadError, match=r"cannot reach .* is the server running"):
        asyncio.run(run_load(url, ["/"], vus=1, duration=0.2, progress=False))


def test_server_dying_mid_run_keeps_partial_results(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner_module, "DEAD_AFTER", 0.2)

    async def scenario() -> LoadResult:
        async with tiny_server(counting_handler({})) as (url, runner):

            async def kill_soon() -> None:
                await asyncio.sleep(0.4)
                await runner.cleanup()

            killer = asyncio.create_task(kill_soon())
            result = await run_load(url, ["/a"], vus=2, duration=30, warmup=0.1, progress=False)
            await killer
            return result

    result = asyncio.run(scenario())
    assert result.aborted is not None and "stopped answering" in result.aborted
    assert result.endpoints["/a"].ok > 0  # what was measured before it died is kept
    assert result.duration < 30
    assert "partial results" in str(result)


@pytest.mark.parametrize(
    ("target", "endpoints", "expected"),
    [
        ("http://h:1", ["/x", "y"], ("http://h:1", ["/x", "/y"])),
        ("http://h:1/api/feed?user_id=2", None, ("http://h:1", ["/api/feed?user_id=2"])),
        ("http://h:1/", None, ("http://h:1", list(DEFAULT_ENDPOINTS))),
    ],
)
def test_resolve_target(target: str, endpoints: list[str] | None, expected: Any) -> None:
    assert resolve_target(target, endpoints) == expected


def test_bad_arguments_are_load_errors() -> None:
    with pytest.raises(LoadError, match="not an http"):
        resolve_target("ftp://x", None)
    with pytest.raises(LoadError, match="unknown load profile"):
        choose_shape("extreme", None, None, None)
    with pytest.raises(LoadError, match="vus must be"):
        choose_shape(None, 0, 1.0, None)
    assert choose_shape("medium", None, None, None) == (50, 30.0)
    assert choose_shape("high", 5, None, None) == (5, 60.0)


def test_percentiles_come_from_the_histogram_within_a_tenth_of_a_percent() -> None:
    recorder = LatencyRecorder()
    for ms in range(1, 1001):
        recorder.record(ms / 1000)
    summary = recorder.summary()
    for got, exact in [
        (summary.p50, 500),
        (summary.p95, 950),
        (summary.p99, 990),
        (summary.p999, 999),
    ]:
        assert math.isclose(got, exact, rel_tol=1e-3)
    assert summary.max == 1000 and summary.count == 1000


def test_result_json_round_trip(tmp_path: Path) -> None:
    async def scenario() -> LoadResult:
        async with tiny_server(counting_handler({})) as (url, _):
            return await run_load(
                url, ["/a", "/b"], vus=2, duration=0.3, warmup=0.0, progress=False
            )

    result = asyncio.run(scenario())
    path = tmp_path / "r.json"
    result.to_json(path)
    again = LoadResult.from_json(path)
    assert again.to_frame().equals(result.to_frame())
    assert "p95_ms" in result._repr_html_() and "/a" in str(result)
    with pytest.raises(LoadError, match="cannot read load result"):
        LoadResult.from_json(tmp_path / "missing.json")


def test_request_timing_reports_client_and_server_phases() -> None:
    async def scenario() -> Any:
        async with tiny_server(counting_handler({})) as (url, _):
            return await request_timing(url + "/a")

    timing = asyncio.run(scenario())
    assert timing.status == 200 and timing.bytes_received == 10
    assert set(timing.client) == {"dns", "connect", "tls", "ttfb", "transfer"}
    assert timing.client["tls"] is None
    assert timing.server == {"db": 1.5, "total": 2.0}
    parts = sum(v for v in timing.client.values() if v is not None)
    assert math.isclose(parts, timing.total_ms, rel_tol=1e-9)
    assert set(timing.to_frame()["side"]) == {"client", "server"}


def recorded_result(endpoints: dict[str, list[float]], **kw: Any) -> LoadResult:
    """A closed-loop result from given latencies (seconds) per endpoint; no server needed."""
    loads = {}
    for name, latencies in endpoints.items():
        load = EndpointLoad()
        for seconds in latencies:
            load.response.record(seconds)
            load.ok += 1
            load.statuses["200"] += 1
        loads[name] = load
    return LoadResult(
        target="http://h:1", mode="closed", duration=2.0, warmup=0.0, endpoints=loads, vus=3, **kw
    )


def test_repr_is_one_headline_line() -> None:
    result = recorded_result({"/a": [0.001] * 6, "/b": [0.003] * 4}, label="base")
    text = repr(result)
    assert "\n" not in text and len(text) < 200
    assert text == f"<LoadResult: {result.headline()}>"
    assert text.startswith("<LoadResult: base: 3 VUs × 2.0 s")
    assert "5 req/s" in text and "p50 1.0 ms" in text and "p99 3.0 ms" in text
    assert "errors 0.0%" in text and "LatencyRecorder" not in text
    result.aborted = "gone"
    assert repr(result).endswith(" (partial run)>")


def test_renamed_is_a_consistent_copy() -> None:
    result = recorded_result({"/a?x=1": [0.001] * 6, "/b": [0.003] * 4})
    assert result.figure("requests", "/a?x=1") == 6  # caches the rows under the old names
    renamed = result.renamed({"/a?x=1": "/a"})
    assert list(renamed.endpoints) == ["/a", "/b"]
    assert renamed.figure("requests", "/a") == 6 and renamed.figure("requests") == 10
    assert renamed.to_frame().index.tolist() == ["/a", "/b", "overall"]
    # the original is untouched, and the copy shares no recordings with it
    assert list(result.endpoints) == ["/a?x=1", "/b"]
    assert result.figure("requests", "/a?x=1") == 6
    renamed.endpoints["/a"].response.record(1.0)
    assert result.endpoints["/a?x=1"].response.count == 6
    renamed.warnings.append("only on the copy")
    assert result.warnings == []


def test_renamed_merges_and_refuses_bad_names() -> None:
    result = recorded_result({"/a?p=1": [0.001] * 2, "/a?p=2": [0.002] * 3, "/b": [0.004]})
    merged = result.renamed(lambda name: name.split("?")[0])
    assert merged.figure("requests", "/a") == 5 and merged.figure("p99_ms", "/a") == pytest.approx(
        2.0, rel=1e-3
    )
    assert merged.overall.count == 6
    with pytest.raises(LoadError, match="total row"):
        result.renamed({"/b": "overall"})
    with pytest.raises(LoadError, match="need a name"):
        result.renamed({"/b": ""})


def test_a_stalled_request_times_out_and_the_user_goes_on() -> None:
    counts: dict[str, int] = {}

    async def scenario() -> LoadResult:
        # the 3rd request (after the preflight and one more) stalls 1.5 s, five times the timeout
        async with tiny_server(counting_handler(counts, stall={3: 1.5})) as (url, _):
            return await run_load(
                url, ["/a"], vus=1, duration=1.0, warmup=0.0, timeout=0.3, progress=False
            )

    result = asyncio.run(scenario())
    load = result.endpoints["/a"]
    assert load.statuses["Timeout"] == 1 and load.errors == 1
    assert load.ok >= 1 and counts["/a"] >= 4  # the virtual user went on after the timeout
    assert result.aborted is None


def test_buffered_recordings_are_folded_in_before_any_read(monkeypatch: pytest.MonkeyPatch) -> None:
    from labkit.load import histogram

    monkeypatch.setattr(histogram, "PENDING_LIMIT", 4)
    recorder = LatencyRecorder()
    for seconds in (0.001, 0.001, 0.002, 0.003, 0.004, 0.005):
        recorder.record(seconds)
    assert len(recorder._pending) == 2  # four folded in at the limit
    copy = LatencyRecorder.decode(recorder.encode(), recorder.max_seconds)
    merged = LatencyRecorder.merged([recorder, copy])
    assert recorder.count == 6 and copy.count == 6 and merged.count == 12
    assert merged.summary().p50 == pytest.approx(2.0, rel=1e-3) and merged.summary().max == 5.0


def test_redirects_are_counted_not_followed() -> None:
    seen: dict[str, int] = {}

    async def handle(request: web.Request) -> web.Response:
        seen[request.path] = seen.get(request.path, 0) + 1
        if request.path == "/moved":
            return web.Response(status=302, headers={"Location": "/elsewhere"})
        return web.Response(text="ok")

    async def scenario() -> LoadResult:
        async with tiny_server(handle) as (url, _):
            return await run_load(url, ["/moved"], vus=1, duration=0.2, warmup=0.0, progress=False)

    result = asyncio.run(scenario())
    assert set(result.endpoints["/moved"].statuses) == {"302"} and "/elsewhere" not in seen
