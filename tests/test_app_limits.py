"""The limits a real API has: a locked database (503), body size (413), rate-limit keys (429),
Accept-Encoding q-values, strict integers, OPTIONS and the documented responses."""

from __future__ import annotations

import sqlite3
import threading
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import pytest

from labkit.app import create_app
from tests.test_app import build_dataset, run


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_dataset(tmp_path_factory.mktemp("limits") / "lab.sqlite")


async def call(app: Any, method: str, url: str, **kwargs: Any) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://lab") as client:
            return await client.request(method, url, **kwargs)
    finally:
        await app.state.lab.db.aclose()


def working_copy(app: Any) -> Path:
    return Path(app.state.lab.db.path)


# ---------------------------------------------------------------- a locked database


def test_a_write_that_stays_locked_is_503_with_retry_after_then_succeeds(dataset: Path) -> None:
    app = create_app(dataset)
    app.state.lab.db.busy_timeout_ms = 20
    app.state.lab.db.write_attempts = 3
    with closing(sqlite3.connect(working_copy(app), isolation_level=None)) as other:
        other.execute("BEGIN IMMEDIATE")  # another worker holds the write lock
        busy = run(call(app, "PUT", "/api/products/2", json={"stock": 77}))
        other.execute("ROLLBACK")
    assert busy.status_code == 503 and busy.headers["Retry-After"] == "1"
    assert "busy" in busy.json()["detail"]
    assert app.state.lab.counters.snapshot()["db_busy"] == 1
    # The failed attempts were rolled back: the same connection writes and reads afresh.
    done = run(call(app, "PUT", "/api/products/2", json={"stock": 78}))
    assert done.status_code == 200 and done.json()["stock"] == 78
    assert run(call(app, "GET", "/api/products/2")).json()["stock"] == 78


def test_a_lock_released_during_the_retries_is_not_an_error(dataset: Path) -> None:
    app = create_app(dataset)
    app.state.lab.db.busy_timeout_ms = 20  # shorter than the lock: the retries must carry it
    app.state.lab.db.write_attempts = 8
    other = sqlite3.connect(working_copy(app), isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    other.execute("UPDATE products SET stock = 5 WHERE id = 3")
    release = threading.Timer(0.15, other.execute, ("COMMIT",))
    release.start()
    try:
        response = run(call(app, "PUT", "/api/products/3", json={"stock": 6}))
    finally:
        release.join()
        other.close()
    assert response.status_code == 200 and response.json()["stock"] == 6
    assert app.state.lab.counters.snapshot()["db_lock_retries"] >= 1
