"""The shared L2 on a real Redis server: used when LABKIT_REDIS_URL is set.

A throw-away ``redis-server`` is started on a free loopback port (CI installs the Debian
package); without one these tests are skipped with the reason shown.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from labkit.app import create_app
from labkit.app.cache import RedisStore, shared_store
from labkit.app.server import free_port
from tests.test_app import _client, build_dataset, fetch_all, query_count


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if os.environ.get("LABKIT_REDIS_URL"):
        yield os.environ["LABKIT_REDIS_URL"]
        return
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("no redis-server here (apt-get install redis-server runs these tests)")
    port = free_port()
    workdir = tmp_path_factory.mktemp("redis")
    server = subprocess.Popen(
        [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no",
         "--dir", str(workdir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("redis-server did not answer within 10 s")
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_dataset(tmp_path_factory.mktemp("redis-data") / "lab.sqlite")


def test_redis_store_round_trip_ttl_and_counter(redis_url: str) -> None:
    store = RedisStore(redis_url)

    async def scenario() -> tuple[bytes | None, bytes | None, bytes | None, list[int]]:
        await store.set("labkit-test:a", b"one", ttl=30)
        kept = await store.get("labkit-test:a")
        await store.set("labkit-test:short", b"gone soon", ttl=0.05)
        await asyncio.sleep(0.2)
        expired = await store.get("labkit-test:short")
        await store.delete("labkit-test:a")
        deleted = await store.get("labkit-test:a")
        counts = [await store.incr("labkit-test:n", ttl=30) for _ in range(3)]
        return kept, expired, deleted, counts

    kept, expired, deleted, counts = asyncio.run(scenario())
    assert (kept, expired, deleted) == (b"one", None, None)
    assert counts == [1, 2, 3]


def test_the_url_selects_redis(
    redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LABKIT_REDIS_URL", redis_url)
    assert shared_store(tmp_path).name == "redis"
    monkeypatch.delenv("LABKIT_REDIS_URL")
    assert shared_store(tmp_path).name != "redis"


def test_two_apps_share_the_redis_l2(
    redis_url: str, dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LABKIT_REDIS_URL", redis_url)
    # separate disk folders: only Redis can carry the value from one app to the other
    first = create_app(dataset, optimize="cache", cache_dir=tmp_path / "a")
    second = create_app(dataset, optimize="cache", cache_dir=tmp_path / "b")
    assert first.state.lab.store.name == second.state.lab.store.name == "redis"
    (miss,) = asyncio.run(fetch_all(first, [("GET", "/api/products/11")]))
    from_l2, from_l1 = asyncio.run(fetch_all(second, [("GET", "/api/products/11")] * 2))
    assert miss.headers["X-Cache"] == "miss"
    assert from_l2.headers["X-Cache"] == from_l1.headers["X-Cache"] == "hit"
    assert query_count(from_l2) == 0
    assert from_l2.json() == miss.json()
    counts = second.state.lab.counters
    assert counts["cache_hits_l2"] == 1 and counts["cache_hits_l1"] == 1


def test_a_write_drops_the_redis_entry_for_every_app(
    redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LABKIT_REDIS_URL", redis_url)
    # two workers of one service: one database file, one Redis, separate in-process caches
    shared_db = build_dataset(tmp_path / "shared.sqlite")
    writer = create_app(shared_db, optimize="cache", cache_dir=tmp_path / "w", copy=False)
    reader = create_app(shared_db, optimize="cache", cache_dir=tmp_path / "r", copy=False)

    async def write() -> int:
        async for client in _client(writer):
            await client.get("/api/products/12")  # cached in L1 and Redis
            response = await client.put("/api/products/12", json={"stock": 7})
        return response.status_code

    assert asyncio.run(write()) == 200
    (after,) = asyncio.run(fetch_all(reader, [("GET", "/api/products/12")]))
    assert after.headers["X-Cache"] == "miss"  # no stale copy left in the shared layer
    assert after.json()["stock"] == 7
