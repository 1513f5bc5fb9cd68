"""The server profile under load: pyinstrument inside the worker, started and saved by signal."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from labkit.errors import LoadError
from labkit.load.server_profile import profile_path, profile_under_load

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGUSR1/SIGUSR2")


@pytest.fixture(scope="module")
def tiny_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from labkit.data import build

    return build(size="tiny", seed=42, path=tmp_path_factory.mktemp("prof") / "tiny.sqlite").path


@pytest.mark.server
def test_profile_under_load_shows_the_feed_n_plus_one(tiny_dataset: Path) -> None:
    from labkit.app import LabServer

    with LabServer(optimize="none", dataset=tiny_dataset) as server:
        profile = asyncio.run(
            profile_under_load(server, ["/api/feed?user_id=1"], seconds=0.6, vus=2, warmup=0.1)
        )
        pid = server.pid
    assert profile.result.overall.count > 0
    frames = profile.top_frames(20)
    assert frames["file"].str.contains("labkit/app").all()
    assert "feed_n_plus_one" in set(frames["function"])  # the hot path is named
    assert (frames["share"] > 0).all() and (frames["share"] <= 1).all()
    assert "feed" in profile.text()
    assert "<html" in profile.html().lower()
    assert not profile_path(pid).exists()  # no profile file left behind
    everything = profile.top_frames(5, within=None)
    assert list(everything.columns) == ["function", "file", "self_s", "share"]


def test_profile_needs_a_running_server() -> None:
    class Stopped:
        running = False

    with pytest.raises(LoadError, match="start the server"):
        asyncio.run(profile_under_load(Stopped(), ["/"]))
