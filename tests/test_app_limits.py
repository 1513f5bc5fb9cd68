"""The limits a real API has: a locked database (503), body size (413), rate-limit keys (429),
Accept-Encoding q-values, strict integers, OPTIONS and the documented responses."""

from __future__ import annotations

import socket
import sqlite3
import threading
import time
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import pytest

from labkit.app import LabServer, create_app
from labkit.app.middleware import choose_encoding
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
    app.state.lab.db.write_attempts = 50
    other = sqlite3.connect(working_copy(app), isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    other.execute("UPDATE products SET stock = 5 WHERE id = 3")
    counters = app.state.lab.counters

    def commit_after_a_retry() -> None:  # the lock goes away while the write is retrying
        deadline = time.monotonic() + 10
        while not counters.snapshot().get("db_lock_retries") and time.monotonic() < deadline:
            time.sleep(0.005)
        other.execute("COMMIT")

    release = threading.Thread(target=commit_after_a_retry)
    release.start()
    try:
        response = run(call(app, "PUT", "/api/products/3", json={"stock": 6}))
    finally:
        release.join()
        other.close()
    assert response.status_code == 200 and response.json()["stock"] == 6
    assert app.state.lab.counters.snapshot()["db_lock_retries"] >= 1


# ---------------------------------------------------------------- request-body limit


def test_a_declared_body_over_the_limit_is_413_before_the_app_reads_it(dataset: Path) -> None:
    app = create_app(dataset, max_body_bytes=1000)
    reads = 0

    async def scenario() -> httpx.Response:
        async def body() -> Any:
            nonlocal reads
            for _ in range(100):
                reads += 1
                yield b" " * 1000

        headers = {"Content-Length": str(100 * 1000), "Content-Type": "application/json"}
        return await call(app, "PUT", "/api/products/1", content=body(), headers=headers)

    response = run(scenario())
    assert response.status_code == 413 and "1000 bytes" in response.json()["detail"]
    assert reads <= 1  # httpx may start the body; the app never asked for it


def test_a_chunked_body_is_counted_and_refused_once_past_the_limit(dataset: Path) -> None:
    app = create_app(dataset, max_body_bytes=1000)
    sent = 0

    async def chunks() -> Any:
        nonlocal sent
        for _ in range(100):
            sent += 1
            yield b'{"name": "' + b"x" * 300

    response = run(call(app, "PUT", "/api/products/1", content=chunks()))
    assert response.status_code == 413
    small = run(call(app, "PUT", "/api/products/1", json={"stock": 3}))
    assert small.status_code == 200  # under the limit: untouched


# ---------------------------------------------------------------- rate-limit key


def test_new_user_ids_from_one_address_share_its_bucket(dataset: Path) -> None:
    app = create_app(dataset, optimize="rate_limit")
    app.state.lab.limiter.clock = lambda: 2_000.0
    with closing(sqlite3.connect(dataset)) as db:
        free = [row[0] for row in db.execute("SELECT id FROM users WHERE tier = 'free'")]
    assert len(free) >= 21

    async def scenario() -> list[int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://lab") as client:
            codes = [
                (await client.get(f"/api/search?q=x&user_id={uid}")).status_code
                for uid in free[:25]
            ]
        await app.state.lab.db.aclose()
        return codes

    codes = run(scenario())
    limit = app.state.lab.limiter.limits["free"]
    assert codes == [200] * limit + [429] * (25 - limit)


def test_each_address_has_its_own_bucket(dataset: Path) -> None:
    app = create_app(dataset, optimize="rate_limit")
    app.state.lab.limiter.clock = lambda: 3_000.0
    app.state.lab.limiter.limits["anonymous"] = 1

    async def from_address(host: str) -> int:
        transport = httpx.ASGITransport(app=app, client=(host, 1234))
        async with httpx.AsyncClient(transport=transport, base_url="http://lab") as client:
            return (await client.get("/api/search?q=x")).status_code

    async def scenario() -> list[int]:
        codes = [await from_address(h) for h in ("10.0.0.1", "10.0.0.1", "10.0.0.2")]
        await app.state.lab.db.aclose()
        return codes

    assert run(scenario()) == [200, 429, 200]


# ---------------------------------------------------------------- Accept-Encoding


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("gzip", "gzip"),
        ("gzip, br", "br"),
        ("br;q=0.5, gzip;q=0.9", "gzip"),
        ("br;q=0, gzip", "gzip"),
        ("gzip;q=0", None),
        ("gzip;q=0.000", None),
        ("br;q=-1", None),  # invalid q-value: the member is ignored
        ("gzip;q=abc", None),
        ("gzip;q=2", None),
        ("gzip;q=1.5", None),
        ("gzip;q=0.0001", None),
        ("br;q=-1, gzip", "gzip"),
        ("*", "br"),
        ("*;q=0", None),
        ("*, br;q=0", "gzip"),
        ("identity", None),
        ("identity;q=1, gzip;q=0.5", None),
        ("GZIP ; Q=0.8", "gzip"),
        ("", None),
    ],
)
def test_accept_encoding_per_rfc_9110(header: str, expected: str | None) -> None:
    assert choose_encoding(header) == expected


def test_invalid_q_values_get_identity_from_the_app(dataset: Path) -> None:
    app = create_app(dataset, optimize="compression")
    for header in ("br;q=-1", "gzip;q=abc", "gzip;q=0"):
        response = run(call(app, "GET", "/api/users?limit=50", headers={"Accept-Encoding": header}))
        assert response.status_code == 200 and "content-encoding" not in response.headers
    gz = run(call(app, "GET", "/api/users?limit=50", headers={"Accept-Encoding": "gzip"}))
    assert gz.headers["content-encoding"] == "gzip"


# ---------------------------------------------------------------- strict input, methods, docs


@pytest.mark.parametrize(
    "body",
    [
        {"stock": False},
        {"stock": True},
        {"stock": 1.5},
        {"stock": "3"},
        {"name": 5},
        {"stock": None},
    ],
)
def test_put_rejects_values_that_are_not_of_the_field_type(dataset: Path, body: Any) -> None:
    app = create_app(dataset)
    assert run(call(app, "PUT", "/api/products/1", json=body)).status_code == 422
    assert run(call(app, "PUT", "/api/products/1", json={})).status_code == 400
    # JSON Schema's integer includes 7.0: accepted, stored as 7.
    assert run(call(app, "PUT", "/api/products/1", json={"stock": 7.0})).json()["stock"] == 7


def test_options_and_405_list_every_allowed_method(dataset: Path) -> None:
    app = create_app(dataset)
    options = run(call(app, "OPTIONS", "/api/products/1"))
    assert options.status_code == 204
    assert options.headers["Allow"] == "GET, OPTIONS, PUT"
    wrong = run(call(app, "DELETE", "/api/products/1"))
    assert wrong.status_code == 405 and wrong.headers["Allow"] == "GET, OPTIONS, PUT"
    assert run(call(app, "PUT", "/api/users/1")).headers["Allow"] == "GET, OPTIONS"
    assert run(call(app, "OPTIONS", "/api/nowhere")).status_code == 404


def test_openapi_documents_errors_and_media_types(dataset: Path) -> None:
    paths = create_app(dataset).openapi()["paths"]
    for path, codes in {
        "/api/users": {"400", "413", "503"},
        "/api/products/{product_id}": {"404", "413", "503"},
        "/api/search": {"404", "413", "429", "503"},
    }.items():
        assert codes <= set(paths[path]["get"]["responses"])
    assert {"400", "404"} <= set(paths["/api/products/{product_id}"]["put"]["responses"])
    assert "Retry-After" in paths["/api/search"]["get"]["responses"]["429"]["headers"]
    media = {
        path: set(paths[path]["get"]["responses"]["200"]["content"])
        for path in ("/api/export/users.csv", "/api/export/users.ndjson")
    }
    assert media == {
        "/api/export/users.csv": {"text/csv"},
        "/api/export/users.ndjson": {"application/x-ndjson"},
    }


@pytest.mark.server
def test_a_real_server_answers_413_to_a_huge_declared_body_without_waiting_for_it(
    dataset: Path,
) -> None:
    with LabServer(dataset=dataset, max_body_bytes=4096) as server:
        assert server.port is not None
        with socket.create_connection((server.host, server.port), timeout=10) as conn:
            # 300 MB announced, not one byte of it sent: the answer must come anyway.
            conn.sendall(
                b"PUT /api/products/1 HTTP/1.1\r\nHost: lab\r\nContent-Type: application/json\r\n"
                b"Content-Length: 300000000\r\n\r\n"
            )
            head = conn.recv(4096).decode("latin-1")
    assert head.startswith("HTTP/1.1 413"), head
