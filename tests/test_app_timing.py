"""Server-Timing phases: db, cache, ser, app, total — measured, and absent when they cannot be."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from labkit.app import create_app
from labkit.app.metrics import AppCounters, RequestMetrics
from labkit.app.middleware import InnerTiming, TimingMiddleware, server_timing
from labkit.app.responses import json_response
from labkit.timing import parse_server_timing
from tests.test_app import build_dataset, fetch_all


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_dataset(tmp_path_factory.mktemp("timing") / "lab.sqlite")


async def get(app: Any, url: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://lab") as client:
        return await client.get(url)


def lab_get(app: Any, url: str) -> httpx.Response:
    """One request to a lab app, closing its database afterwards."""
    response: httpx.Response = asyncio.run(fetch_all(app, [("GET", url)]))[0]
    return response


def phases(response: httpx.Response) -> dict[str, float]:
    return parse_server_timing(response.headers["Server-Timing"])


def test_phase_arithmetic() -> None:
    metrics = RequestMetrics(db_seconds=0.004, cache_seconds=0.001, statements=2)
    assert server_timing(metrics, 9.0) == (
        'db;dur=4.00;desc="2 statements", cache;dur=1.00, total;dur=9.00'
    )  # no route ran, nothing encoded: no app, no ser
    metrics.handler_seconds, metrics.serialize_seconds, metrics.serializations = 0.008, 0.0015, 1
    assert parse_server_timing(server_timing(metrics, 9.0)) == {
        "db": 4.0,
        "cache": 1.0,
        "ser": 1.5,
        "app": 1.5,
        "total": 9.0,
    }
    metrics.handler_seconds = 0.003  # overlapping statements: db alone exceeds the route's time
    assert "app;" not in server_timing(metrics, 9.0)


def test_phases_with_a_counting_clock() -> None:
    """Each clock read advances 1 ms, so every phase is an exact count of reads between."""
    ticks = itertools.count(1)
    app = FastAPI()

    @app.get("/x")
    async def x() -> Any:
        return json_response({"a": 1}, fast=True)

    app.add_middleware(InnerTiming)
    app.add_middleware(TimingMiddleware, counters=AppCounters(), clock=lambda: next(ticks) / 1000)
    response = asyncio.run(get(app, "/x"))
    # reads: middleware start 1, app start 2, ser 3-4, app's response start 5, total 6
    assert phases(response) == {"db": 0.0, "cache": 0.0, "ser": 1.0, "app": 2.0, "total": 5.0}


@pytest.mark.parametrize("url", ["/api/users/1", "/api/feed?user_id=2", "/api/posts?limit=5"])
def test_lab_api_phases_fit_inside_total(dataset: Path, url: str) -> None:
    response = lab_get(create_app(dataset), url)
    got = phases(response)
    assert list(got) == ["db", "cache", "ser", "app", "total"]
    assert got["ser"] > 0 and got["db"] > 0
    # db + cache + ser + app is the route's own time, which lies inside total
    # (each figure is rounded to 0.01 ms)
    assert got["db"] + got["cache"] + got["ser"] + got["app"] <= got["total"] + 0.05


def test_streamed_bodies_are_not_in_ser(dataset: Path) -> None:
    streamed = lab_get(create_app(dataset, optimize="streaming"), "/api/export/users.csv")
    assert "ser" not in phases(streamed) and "app" in phases(streamed)
    whole = lab_get(create_app(dataset), "/api/export/users.csv")
    assert phases(whole)["ser"] > 0


def test_not_found_is_routing_work_without_ser_or_db(dataset: Path) -> None:
    missing = lab_get(create_app(dataset), "/api/nothing-here")
    assert missing.status_code == 404
    got = phases(missing)
    assert list(got) == ["db", "cache", "app", "total"] and got["db"] == 0
    assert got["app"] <= got["total"]
