"""Lesson 00 helpers: the latency budget, the in-process timings, the header generator, the tour."""

from __future__ import annotations

import asyncio
import math
import random
import sqlite3
from pathlib import Path

import matplotlib
import pytest

from labkit.display import alt_text
from labkit.errors import MeasurementError
from labkit.grading import CheckFailed
from labkit.lessons.n00_start.budget import (
    BUDGET_MS,
    asgi_get,
    lifecycle_budget,
    measure_middleware_ms,
    measure_serialisation_ms,
    median_request_timing,
    middleware_stacks,
)
from labkit.lessons.n00_start.server_timing import (
    EDGE_CASES,
    EXAMPLES,
    headers_for,
    random_header,
    read_server_timing_reference,
)
from labkit.lessons.n00_start.top_authors import (
    add_edge_cases,
    posts_per_author,
    top_authors_reference,
)
from labkit.lessons.n00_start.tour import preview_check, progress_place
from labkit.load import RequestTiming
from labkit.timing import parse_server_timing

matplotlib.use("Agg")


def timing(server: dict[str, float] | None = None, **client: float | None) -> RequestTiming:
    phases: dict[str, float | None] = {
        "dns": 0.5, "connect": 1.0, "tls": None, "ttfb": 40.0, "transfer": 2.0,
    }  # fmt: skip
    phases.update(client)
    return RequestTiming(
        url="http://127.0.0.1:1/api/feed?user_id=7",
        status=200,
        client=phases,
        total_ms=43.5,
        server={"db": 30.0, "cache": 1.0, "total": 37.0} if server is None else server,
    )


# ---- lifecycle_budget ---------------------------------------------------------------------------
def test_budget_maps_every_phase_exactly() -> None:
    b = lifecycle_budget(timing(), middleware_ms=0.25, serialisation_ms=2.0)
    assert b.measured_ms == {
        "network": 3.5,  # dns + connect + transfer
        "server/TLS": 3.0,  # no TLS; ttfb 40 - server total 37
        "middleware": 0.25,
        "handler": 4.0,  # total 37 - I/O 31 - serialisation 2
        "I/O": 31.0,  # db + cache
        "serialisation": 2.0,
        "total": 43.5,
    }
    assert b.dominant == "I/O"
    assert b.over_budget == []
    assert list(b.budget_ms) == list(BUDGET_MS)


def test_budget_reads_every_server_phase_from_the_header_when_it_has_them() -> None:
    server = {"db": 30.0, "cache": 1.0, "ser": 0.5, "app": 3.0, "total": 37.0}
    b = lifecycle_budget(timing(server=server))
    assert b.measured_ms["handler"] == 3.0  # app
    assert b.measured_ms["serialisation"] == 0.5  # ser
    assert b.measured_ms["middleware"] == pytest.approx(2.5)  # total - (app + db + cache + ser)
    assert b.how_measured["handler"] == "Server-Timing: app"
    measured = lifecycle_budget(timing(server=server), middleware_ms=0.02)
    assert measured.measured_ms["middleware"] == 0.02
    assert measured.how_measured["middleware"].startswith("in-process")
    with pytest.raises(MeasurementError, match="no ser/app"):
        lifecycle_budget(timing())  # an older header: the in-process figures are needed


def test_budget_counts_tls_and_flags_phases_over_budget() -> None:
    b = lifecycle_budget(
        timing(server={"db": 150.0, "total": 180.0}, tls=12.0, ttfb=181.0),
        middleware_ms=0.0,
        serialisation_ms=6.0,
    )
    assert b.measured_ms["server/TLS"] == 13.0
    assert b.measured_ms["handler"] == 24.0
    assert b.over_budget == ["server/TLS", "handler", "I/O", "serialisation"]


def test_budget_never_shows_negative_phases() -> None:
    # the server's clock and the client's disagree by a hair: clamp, never negative
    b = lifecycle_budget(
        timing(server={"db": 36.9, "total": 37.0}, ttfb=36.5), middleware_ms=0, serialisation_ms=1
    )
    assert b.measured_ms["server/TLS"] == 0.0
    assert b.measured_ms["handler"] == 0.0


def test_budget_needs_server_timing() -> None:
    with pytest.raises(MeasurementError, match="no Server-Timing total"):
        lifecycle_budget(timing(server={}), middleware_ms=0, serialisation_ms=0)
    with pytest.raises(MeasurementError, match="middleware_ms"):
        lifecycle_budget(timing(), middleware_ms=-1, serialisation_ms=0)
    with pytest.raises(MeasurementError, match="serialisation_ms"):
        lifecycle_budget(timing(), middleware_ms=0, serialisation_ms=math.nan)


def test_budget_views() -> None:
    b = lifecycle_budget(timing(), middleware_ms=0.25, serialisation_ms=2.0)
    frame = b.to_frame()
    assert list(frame.index) == list(BUDGET_MS)
    assert frame.loc["I/O", "measured ms"] == "31.000"  # formatted: no float noise in the table
    assert frame.loc["I/O", "share of budget"] == "31%"
    text = str(b)
    assert "largest phase: I/O" in text and "over budget" not in text
    assert "<table" in b._repr_html_()
    ax = b.plot()
    widths = [patch.get_width() for patch in ax.patches]  # type: ignore[attr-defined]
    assert widths == pytest.approx([43.5, 2.0, 31.0, 4.0, 0.25, 3.0, 3.5])  # total first (bottom)
    assert ax.get_xscale() == "log"
    alt = alt_text(ax.figure)  # the chart in words, from the same figures
    assert alt.startswith("Bars per phase of GET /api/feed") and "I/O 31.00 of 100 ms" in alt


# ---- in-process measurements --------------------------------------------------------------------
def test_middleware_stack_runs_the_lab_timing_middleware() -> None:
    sent: list[dict] = []
    bare, stacked = middleware_stacks()

    async def receive() -> dict:
        return {"type": "http.request", "body": b""}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": "/api/feed", "query_string": b"",
             "headers": [], "http_version": "1.1", "scheme": "http", "root_path": ""}  # fmt: skip
    asyncio.run(stacked(scope, receive, send))
    headers = dict(sent[0]["headers"])
    assert b"total;dur=" in headers[b"server-timing"]
    asgi_get(stacked)()  # the driver runs it synchronously, without an event loop
    asgi_get(bare)()


def test_driver_refuses_middleware_that_waits() -> None:
    async def waits(scope: dict, receive: object, send: object) -> None:
        await asyncio.sleep(0)

    with pytest.raises(MeasurementError, match="waited for I/O"):
        asgi_get(waits)()


def test_in_process_measurements_are_non_negative_numbers() -> None:
    assert measure_middleware_ms(repeat=3) >= 0
    assert measure_serialisation_ms(b'{"items": [1, 2, 3]}', repeat=3) > 0
    with pytest.raises(MeasurementError, match="not JSON"):
        measure_serialisation_ms(b"<html>")


def test_median_request_timing_against_a_local_server() -> None:
    served = 0

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal served
        await reader.readuntil(b"\r\n\r\n")
        served += 1
        body = b'{"ok": true}'
        writer.write(
            b"HTTP/1.1 200 OK\r\nServer-Timing: db;dur=%d, total;dur=9\r\n"
            b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (served, len(body), body)
        )
        await writer.drain()
        writer.close()

    async def scenario() -> RequestTiming:
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server:
            return await median_request_timing(f"http://127.0.0.1:{port}/x", repeat=3)

    result = asyncio.run(scenario())
    assert served == 4  # one warm-up, three measured
    assert result.server["total"] == 9.0 and result.server["db"] in (2.0, 3.0, 4.0)
    with pytest.raises(MeasurementError, match="repeat"):
        asyncio.run(median_request_timing("http://127.0.0.1:1/", repeat=0))


# ---- Server-Timing headers ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("", {}),
        ("total;dur=3", {"total": 3.0}),
        ('db;desc="a, b; c";dur=1.5, total; dur = 2', {"db": 1.5, "total": 2.0}),
        ('cache;desc="hit", miss, total;dur=0', {"total": 0.0}),
        ("db;dur=1, db;dur=2", {"db": 1.0}),  # the first occurrence wins, as in browsers
        ("edge.v2;DUR=7;desc=plain", {"edge.v2": 7.0}),
    ],
)
def test_reference_reader(header: str, expected: dict[str, float]) -> None:
    assert read_server_timing_reference(header) == expected
    assert parse_server_timing(header) == expected  # labkit's parser reads it the same way


def test_labkit_parser_gives_the_checks_answers() -> None:
    """One semantics: on every header the check reads (examples, edge cases, generated ones),
    labkit's parser gives the answer the check expects."""
    for seed in range(300):
        for header, expected in headers_for(seed):
            assert parse_server_timing(header) == expected, header


def test_generated_headers_are_seeded_and_plausible() -> None:
    assert headers_for(42) == headers_for(42)
    assert headers_for(42) != headers_for(20_231)
    headers = [h for h, _ in headers_for(7)]
    assert set(EXAMPLES) | set(EDGE_CASES) <= set(headers)  # shuffled in among the generated
    assert headers != [h for h, _ in headers_for(8)]
    rng = random.Random(1)
    for _ in range(200):
        header, phases = random_header(rng)
        assert read_server_timing_reference(header) == phases
        assert "total" in phases
        others = sum(v for k, v in phases.items() if k != "total")
        assert phases["total"] >= others


# ---- top authors --------------------------------------------------------------------------------
@pytest.fixture
def authors_db(tmp_path: Path) -> sqlite3.Connection:
    con = sqlite3.connect(tmp_path / "a.sqlite")
    con.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
    con.execute("CREATE TABLE posts (id INTEGER PRIMARY KEY, author_id INTEGER, status TEXT)")
    con.executemany("INSERT INTO users VALUES (?, ?)", [(1, "Zoe"), (2, "Al"), (3, "Mo")])
    posts = [(3, "published"), (3, "published"), (1, "published"), (2, "published"),
             (2, "draft"), (2, "draft"), (1, "archived")]  # fmt: skip
    con.executemany("INSERT INTO posts (author_id, status) VALUES (?, ?)", posts)
    return con


def test_top_authors_reference_counts_published_and_breaks_ties_by_id(
    authors_db: sqlite3.Connection,
) -> None:
    assert top_authors_reference(authors_db, 3) == [
        {"author_id": 3, "name": "Mo", "posts": 2},
        {"author_id": 1, "name": "Zoe", "posts": 1},
        {"author_id": 2, "name": "Al", "posts": 1},
    ]
    assert list(posts_per_author(authors_db).items()) == [(3, 2), (1, 1), (2, 1)]


def test_edge_cases_put_twins_ties_and_drafts_where_they_separate(tmp_path: Path) -> None:
    from labkit.data import fresh_copy

    con = sqlite3.connect(fresh_copy("tiny", seed=7, dest=tmp_path / "t.sqlite"))
    before = top_authors_reference(con, 7)
    add_edge_cases(con, 6)
    after = top_authors_reference(con, 7)
    names = [row["name"] for row in after]
    assert names.count(before[2]["name"]) == 2  # a twin: same name, same count, larger id
    assert after[5]["posts"] == after[6]["posts"]  # a tie across places 6 and 7
    assert after[5]["author_id"] < after[6]["author_id"]
    (drafts,) = con.execute(
        "SELECT COUNT(*) FROM posts WHERE author_id = ? AND status != 'published'",
        (before[6]["author_id"],),
    ).fetchone()
    assert drafts > after[0]["posts"]  # counting every status would put them first
    con.close()


# ---- the tour -----------------------------------------------------------------------------------
def test_preview_check_neither_records_nor_raises(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("LABKIT_HOME", str(tmp_path))
    monkeypatch.setenv("LABKIT_STRICT", "1")

    def wrong(header: str) -> dict[str, float]:
        return {}

    result = preview_check("00.server_timing", wrong)
    assert not result.passed and "is missing" in result.message
    assert progress_place().attempts == 0
    from labkit import check

    with pytest.raises(CheckFailed):  # the real check, by contrast, records and raises
        check("00.server_timing", wrong)
    assert progress_place().attempts == 1


def test_progress_place_reads_the_store(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LABKIT_HOME", str(tmp_path))
    place = progress_place()
    assert place.home == tmp_path and place.from_env and place.attempts == 0
    assert "LABKIT_HOME" in str(place) and "labkit progress --reset" in str(place)
    from labkit import check

    check("00.server_timing", read_server_timing_reference)
    assert progress_place().attempts == 1


# ---- the server budget exercise -----------------------------------------------------------------
def test_server_budget_reference_and_generated_phases() -> None:
    from labkit.lessons.n00_start.latency_budget import (
        EDGE_CASES,
        phases_for,
        server_budget_reference,
    )

    assert server_budget_reference(
        {"db": 10.0, "cache": 1.0, "ser": 0.5, "app": 3.0, "total": 15.0}
    ) == {"I/O": 11.0, "handler": 3.0, "serialisation": 0.5, "middleware": 0.5}
    assert server_budget_reference({"total": 3.0})["middleware"] == 3.0
    assert server_budget_reference(EDGE_CASES[2])["middleware"] == 0.0  # parts exceed the total
    assert phases_for(5) == phases_for(5) and phases_for(5) != phases_for(6)
    for phases in phases_for(11, n=200):
        assert "total" in phases and all(ms >= 0 for ms in phases.values())
