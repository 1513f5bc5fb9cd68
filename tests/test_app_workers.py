"""The lab API under two real uvicorn workers: no stale read after an acknowledged write, no 5xx.

Each product has one writer that PUTs an increasing ``stock`` one request at a time; readers
GET the same products on fresh connections meanwhile. A GET that starts after a PUT's response
arrived must see that PUT's value or a newer one, whichever worker answers it.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from labkit.app import LabServer
from tests.test_app import build_dataset

pytestmark = pytest.mark.server

PRODUCTS = (1, 2, 3)
WRITES_PER_PRODUCT = 40
READERS = 6


@dataclass
class Run:
    """What the clients saw: acknowledged writes, reads, and the 5xx answers."""

    acked: dict[int, list[tuple[float, int]]] = field(default_factory=dict)  # id -> (t, stock)
    reads: list[tuple[int, float, int]] = field(default_factory=list)  # (id, started, stock)
    server_errors: list[str] = field(default_factory=list)
    writes_done: int = 0

    def stale_reads(self) -> int:
        stale = 0
        for product, started, stock in self.reads:
            seen = [value for acked_at, value in self.acked.get(product, []) if acked_at < started]
            if seen and stock < max(seen):
                stale += 1
        return stale


def fresh_client() -> httpx.AsyncClient:
    # No keep-alive: every request opens its own connection, so the kernel spreads them over
    # both workers as it would for independent clients.
    limits = httpx.Limits(max_keepalive_connections=0)
    return httpx.AsyncClient(limits=limits, timeout=30)


async def write_product(url: str, product: int, run: Run) -> None:
    async with fresh_client() as client:
        for step in range(1, WRITES_PER_PRODUCT + 1):
            stock = 1000 + step
            response = await client.put(f"{url}/api/products/{product}", json={"stock": stock})
            if response.status_code >= 500:
                run.server_errors.append(f"PUT {response.status_code} {response.text[:80]}")
                continue
            assert response.status_code == 200, response.text
            run.acked.setdefault(product, []).append((time.monotonic(), stock))
    run.writes_done += 1


async def read_products(url: str, run: Run) -> None:
    async with fresh_client() as client:
        turn = 0
        while run.writes_done < len(PRODUCTS):
            product = PRODUCTS[turn % len(PRODUCTS)]
            turn += 1
            started = time.monotonic()
            response = await client.get(f"{url}/api/products/{product}")
            if response.status_code >= 500:
                run.server_errors.append(f"GET {response.status_code} {response.text[:80]}")
                continue
            run.reads.append((product, started, int(response.json()["stock"])))


async def write_and_read(url: str) -> Run:
    run = Run()
    await asyncio.gather(
        *(write_product(url, product, run) for product in PRODUCTS),
        *(read_products(url, run) for _ in range(READERS)),
    )
    return run


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_dataset(tmp_path_factory.mktemp("workers") / "lab.sqlite")


@pytest.mark.parametrize("optimize", ["all", "none"])
def test_two_workers_no_stale_read_no_5xx(dataset: Path, optimize: str) -> None:
    with LabServer(optimize=optimize, workers=2, dataset=dataset) as server:
        run = asyncio.run(write_and_read(server.url))
    assert sum(len(v) for v in run.acked.values()) == len(PRODUCTS) * WRITES_PER_PRODUCT
    assert len(run.reads) >= 100, "too few reads to say anything"
    assert run.server_errors == []
    assert run.stale_reads() == 0, f"{run.stale_reads()} of {len(run.reads)} reads were stale"
