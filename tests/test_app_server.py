"""LabServer for real: a few short runs on 127.0.0.1."""

from __future__ import annotations

import asyncio
import urllib.request
from pathlib import Path

import psutil
import pytest

from labkit.app import LabServer
from labkit.errors import ServerError
from labkit.load import request_timing, run_load
from tests.test_app import build_dataset

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_dataset(tmp_path_factory.mktemp("server") / "lab.sqlite")


def test_start_measure_stop(dataset: Path) -> None:
    with LabServer(optimize="all", dataset=dataset) as server:
        assert server.url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(server.url + "/api/products/1") as response:
            assert response.headers["X-Cache"] == "miss"
        result = asyncio.run(
            run_load(
                server,
                ["/api/products/1", "/api/feed?user_id=2"],
                vus=4,
                duration=1.0,
                warmup=0.2,
                progress=False,
            )
        )
        timing = asyncio.run(request_timing(server.url + "/api/feed?user_id=2"))
        stats = server.stats()
        pid = server.pid
    assert result.complete and result.error_rate == 0 and result.overall.count > 0
    assert result.server is not None and result.server["counters"]["cache_hits_l1"] > 0
    assert result.environment["optimize"] == "all"
    assert {"db", "cache", "total"} <= set(timing.server)
    assert stats.rss_bytes > 0 and stats.processes >= 1
    assert pid is not None and not psutil.pid_exists(pid)
    assert not server.running


def test_several_workers_and_interrupt(dataset: Path) -> None:
    server = LabServer(workers=2, dataset=dataset)
    with pytest.raises(KeyboardInterrupt), server:
        assert server.stats().processes >= 3  # the supervisor and two workers
        children = [p.pid for p in psutil.Process(server.pid).children(recursive=True)]
        raise KeyboardInterrupt
    assert not server.running
    assert not any(psutil.pid_exists(pid) for pid in children)


def test_server_stopped_mid_run_gives_partial_results(
    dataset: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from labkit.load import runner

    monkeypatch.setattr(runner, "DEAD_AFTER", 0.3)

    async def scenario(server: LabServer) -> object:
        async def stop_soon() -> None:
            await asyncio.sleep(0.8)
            await asyncio.to_thread(server.stop)

        stopper = asyncio.create_task(stop_soon())
        result = await run_load(
            server, ["/api/users/1"], vus=2, duration=20, warmup=0.2, progress=False
        )
        await stopper
        return result

    with LabServer(dataset=dataset) as server:
        result = asyncio.run(scenario(server))
    assert result.aborted is not None  # type: ignore[attr-defined]
    assert result.overall.ok > 0  # type: ignore[attr-defined]


def test_bad_dataset_fails_before_starting(tmp_path: Path) -> None:
    with pytest.raises(ServerError, match="dataset not found"), LabServer(dataset=tmp_path / "x"):
        pass
