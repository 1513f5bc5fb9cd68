"""The lab API through httpx.ASGITransport: endpoints, toggles, equivalence, bad input."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
import sqlite3
from collections.abc import AsyncIterator
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import pytest

from labkit.app import OPTIMIZATIONS, create_app
from labkit.app.database import INDEXES
from labkit.app.routes import export
from labkit.app.toggles import Toggles
from labkit.data.schema import EPOCH, POST_STATUSES, SCHEMA, TIERS
from labkit.errors import ConfigurationError, ServerError


def build_dataset(path: Path, *, users: int = 80, posts: int = 600, seed: int = 7) -> Path:
    """A small seeded database in the course schema, independent of the data generator."""
    rnd = random.Random(seed)
    countries = ["DE", "FR", "NL"]
    with closing(sqlite3.connect(path)) as db:
        db.executescript(SCHEMA)
        db.executemany(
            "INSERT INTO categories VALUES (?, ?, NULL)",
            [(i, f"Category {i}") for i in range(1, 6)],
        )
        db.executemany(
            "INSERT INTO users VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (i, f"Ünïcode User {i}", f"user{i}@example.org", rnd.choice(TIERS),
                 rnd.randint(0, 1), rnd.choice(countries), "bio " * rnd.randint(5, 40), EPOCH + i)
                for i in range(1, users + 1)
            ],
        )  # fmt: skip
        db.executemany(
            "INSERT INTO products VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (i, rnd.randint(1, 5), f"Product {i}", "a long description " * 80,
                 rnd.randint(100, 9999), rnd.randint(0, 50), rnd.randint(0, 999),
                 rnd.randint(0, 99), EPOCH + i)
                for i in range(1, 41)
            ],
        )  # fmt: skip
        db.executemany(
            "INSERT INTO posts VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (i, rnd.randint(1, users), f"Post {i}: 100% useful_notes", "words " * 30,
                 rnd.choice(POST_STATUSES), rnd.randint(0, 999),
                 EPOCH + rnd.randint(0, 5000))  # few distinct times: ties exercise the id order
                for i in range(1, posts + 1)
            ],
        )  # fmt: skip
        db.executemany(
            "INSERT INTO comments VALUES (?, ?, ?, ?, ?)",
            [
                (i, rnd.randint(1, posts), rnd.randint(1, users), "ok", EPOCH + i)
                for i in range(1, 2001)
            ],
        )
        db.commit()
    return path


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_dataset(tmp_path_factory.mktemp("app") / "lab.sqlite")


async def _client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://lab") as client:
        yield client
    await app.state.lab.db.aclose()


def run(coro: Any) -> Any:
    return asyncio.run(coro)


async def fetch_all(app: Any, requests: list[tuple[str, str]]) -> list[httpx.Response]:
    out = []
    async for client in _client(app):
        for method, url in requests:
            out.append(await client.request(method, url))
    return out


def decoded(response: httpx.Response) -> Any:
    """The body's meaning: JSON decoded; an opaque cursor reduced to "there is one"."""
    if response.headers.get("content-type", "").startswith("application/json"):
        body = response.json()
        if isinstance(body, dict) and body.get("next_cursor"):
            body["next_cursor"] = "<cursor>"  # walked page by page in walk_posts
        return body
    return response.text


# ---------------------------------------------------------------- endpoints (baseline)

READS = [
    "/api/health",
    "/api/users?limit=5",
    "/api/users?limit=3&offset=10&fields=name,tier",
    "/api/users/7",
    "/api/users/7?fields=email",
    "/api/posts?limit=7",
    "/api/posts?limit=5&offset=20",
    "/api/posts?limit=5&author_id=3",
    "/api/feed?user_id=4",
    "/api/feed?user_id=4&limit=5",
    "/api/products/3",
    "/api/search?q=useful",
    "/api/search?q=100%25",
    "/api/export/users.csv",
    "/api/export/users.json",
    "/api/export/users.ndjson",
]


def test_every_endpoint_answers_in_the_baseline(dataset: Path) -> None:
    responses = run(fetch_all(create_app(dataset), [("GET", url) for url in READS]))
    assert [r.status_code for r in responses] == [200] * len(READS)
    by_url = dict(zip(READS, responses, strict=True))
    assert by_url["/api/health"].json() == {"status": "ok"}
    users = by_url["/api/users?limit=5"].json()
    assert [u["id"] for u in users["items"]] == [1, 2, 3, 4, 5] and users["has_more"] is True
    assert set(by_url["/api/users?limit=3&offset=10&fields=name,tier"].json()["items"][0]) == {
        "id", "name", "tier"
    }  # fmt: skip
    assert set(by_url["/api/users/7?fields=email"].json()) == {"id", "email"}
    posts = by_url["/api/posts?limit=7"].json()
    assert len(posts["items"]) == 7 and posts["has_more"] and posts["next_cursor"]
    keys = [(p["created_at"], p["id"]) for p in posts["items"]]
    assert keys == sorted(keys, reverse=True)
    feed = by_url["/api/feed?user_id=4&limit=5"].json()
    assert len(feed["items"]) == 5
    assert {"author", "comment_count", "title"} <= set(feed["items"][0])
    assert by_url["/api/products/3"].json()["category"]["name"].startswith("Category")
    assert all("100%" in item["title"] for item in by_url["/api/search?q=100%25"].json()["items"])
    csv_lines = by_url["/api/export/users.csv"].text.splitlines()
    assert csv_lines[0].startswith("id,name,email") and len(csv_lines) == 81
    assert len(by_url["/api/export/users.json"].json()) == 80
    assert len(by_url["/api/export/users.ndjson"].text.splitlines()) == 80


def test_feed_comment_counts_match_the_database(dataset: Path) -> None:
    (response,) = run(fetch_all(create_app(dataset), [("GET", "/api/feed?user_id=4")]))
    with closing(sqlite3.connect(dataset)) as db:
        for item in response.json()["items"]:
            (count,) = db.execute(
                "SELECT COUNT(*) FROM comments WHERE post_id = ?", (item["id"],)
            ).fetchone()
            assert item["comment_count"] == count


# ---------------------------------------------------------------- toggles keep the meaning

EQUIVALENCE_REQUESTS = [("GET", url) for url in READS if not url.startswith("/api/export")] + [
    ("GET", "/api/export/users.csv"),
    ("GET", "/api/export/users.json"),
    ("GET", "/api/export/users.ndjson"),
    ("GET", "/api/products/3"),  # second read: a cache hit where the cache is on
    ("GET", "/api/feed?user_id=4"),
]


async def walk_posts(app: Any, limit: int = 9) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    async for client in _client(app):
        url = f"/api/posts?limit={limit}"
        while True:
            page = (await client.get(url)).json()
            items += page["items"]
            if not page["has_more"]:
                break
            url = f"/api/posts?limit={limit}&cursor={page['next_cursor']}"
    return items


@pytest.mark.parametrize("toggle", [*OPTIMIZATIONS, "all"])
def test_each_toggle_returns_what_the_baseline_returns(dataset: Path, toggle: str) -> None:
    headers = {"Accept-Encoding": "gzip, br"}

    async def both() -> tuple[list[Any], list[Any]]:
        out = []
        for optimize in ("none", toggle):
            app = create_app(dataset, optimize=optimize)
            async for client in _client(app):
                out.append(
                    [
                        decoded(await client.request(m, u, headers=headers))
                        for m, u in EQUIVALENCE_REQUESTS
                    ]
                )
        return out[0], out[1]

    baseline, tuned = run(both())
    for (_, url), want, got in zip(EQUIVALENCE_REQUESTS, baseline, tuned, strict=True):
        assert got == want, url
    assert run(walk_posts(create_app(dataset, optimize=toggle))) == run(
        walk_posts(create_app(dataset))
    )


def test_parse_optimize_accepts_names_and_rejects_typos() -> None:
    assert Toggles.parse("all").label == "all"
    assert Toggles.parse("none").label == "none"
    assert Toggles.parse(["indexes", "cache"]).label == "cache,indexes"
    assert Toggles.parse("cache, dedupe").enabled == {"cache", "dedupe"}
    with pytest.raises(
        ConfigurationError, match=r"unknown optimisation cahce \(did you mean 'cache'\?\)"
    ):
        Toggles.parse("cahce")
    with pytest.raises(ConfigurationError, match=r"unknown optimisation zzz; choose from"):
        Toggles.parse("cache,zzz")


# ---------------------------------------------------------------- each toggle is measurable


def query_count(response: httpx.Response) -> int:
    return int(response.headers["X-Query-Count"])


def test_eager_loading_turns_1_plus_2n_statements_into_3(dataset: Path) -> None:
    url = "/api/feed?user_id=4&limit=10"
    (slow,) = run(fetch_all(create_app(dataset), [("GET", url)]))
    (fast,) = run(fetch_all(create_app(dataset, optimize="eager_loading"), [("GET", url)]))
    assert len(slow.json()["items"]) == 10
    assert query_count(slow) == 2 + 2 * 10
    assert query_count(fast) == 3


def test_cache_hit_after_miss_and_update_invalidates(dataset: Path) -> None:
    async def scenario() -> list[httpx.Response]:
        app = create_app(dataset, optimize="cache")
        out = []
        async for client in _client(app):
            out.append(await client.get("/api/products/5"))
            out.append(await client.get("/api/products/5"))
            out.append(await client.put("/api/products/5", json={"price_cents": 4321}))
            out.append(await client.get("/api/products/5"))
        return out

    miss, hit, update, after = run(scenario())
    assert miss.headers["X-Cache"] == "miss" and query_count(miss) == 1
    assert hit.headers["X-Cache"] == "hit" and query_count(hit) == 0
    assert update.status_code == 200 and update.json()["price_cents"] == 4321
    assert after.headers["X-Cache"] == "miss" and after.json()["price_cents"] == 4321


def test_writes_never_touch_the_shared_dataset(dataset: Path) -> None:
    before = hashlib.sha256(dataset.read_bytes()).hexdigest()
    run(fetch_all(create_app(dataset, optimize="all"), [("GET", "/api/products/2")]))
    app = create_app(dataset)

    async def write() -> None:
        async for client in _client(app):
            assert (await client.put("/api/products/2", json={"stock": 1})).status_code == 200

    run(write())
    assert hashlib.sha256(dataset.read_bytes()).hexdigest() == before


def test_l2_is_shared_between_apps_and_fills_l1(dataset: Path, tmp_path: Path) -> None:
    first = create_app(dataset, optimize="cache", cache_dir=tmp_path)
    second = create_app(dataset, optimize="cache", cache_dir=tmp_path)
    (miss,) = run(fetch_all(first, [("GET", "/api/products/9")]))
    from_l2, from_l1 = run(fetch_all(second, [("GET", "/api/products/9")] * 2))
    assert miss.headers["X-Cache"] == "miss"
    assert from_l2.headers["X-Cache"] == from_l1.headers["X-Cache"] == "hit"
    assert query_count(from_l2) == query_count(from_l1) == 0
    counts = second.state.lab.counters
    assert counts["cache_hits_l2"] == 1 and counts["cache_hits_l1"] == 1


def test_a_failing_shared_cache_fails_open(dataset: Path) -> None:
    class Broken:
        name = "broken"

        async def get(self, key: str) -> bytes | None:
            raise ConnectionError("down")

        async def set(self, key: str, value: bytes, ttl: float) -> None:
            raise ConnectionError("down")

        async def delete(self, key: str) -> None:
            raise ConnectionError("down")

        async def incr(self, key: str, ttl: float) -> int:
            raise ConnectionError("down")

        async def counter(self, key: str) -> int:
            raise ConnectionError("down")

    app = create_app(dataset, optimize="cache")
    assert app.state.lab.cache is not None
    app.state.lab.cache.l2 = Broken()
    responses = run(fetch_all(app, [("GET", "/api/products/4")] * 2))
    assert [r.status_code for r in responses] == [200, 200]
    # Without the shared generation, L1 cannot know whether another worker wrote: the cache is
    # bypassed (served from the database), never served possibly stale.
    assert [r.headers["X-Cache"] for r in responses] == ["bypass", "bypass"]
    assert app.state.lab.counters["cache_errors"] >= 2


@pytest.mark.parametrize(("optimize", "loads"), [("cache", 25), ("cache,dedupe", 1)])
def test_dedupe_collapses_concurrent_misses_into_one_load(
    dataset: Path, optimize: str, loads: int
) -> None:
    app = create_app(dataset, optimize=optimize, latency_ms=20)

    async def burst() -> list[httpx.Response]:
        async for client in _client(app):
            return list(await asyncio.gather(*(client.get("/api/products/11") for _ in range(25))))
        raise AssertionError("unreachable")

    responses = run(burst())
    assert {r.status_code for r in responses} == {200}
    assert len({r.content for r in responses}) == 1
    assert app.state.lab.counters["db_statements"] == loads


def test_compression_threshold_encodings_and_opt_out(dataset: Path) -> None:
    app = create_app(dataset, optimize="compression")

    async def scenario() -> dict[str, httpx.Response]:
        out = {}
        async for client in _client(app):
            big = "/api/users?limit=50"
            out["gzip"] = await client.get(big, headers={"Accept-Encoding": "gzip"})
            out["br"] = await client.get(big, headers={"Accept-Encoding": "gzip, br"})
            out["identity"] = await client.get(big, headers={"Accept-Encoding": "identity"})
            out["opt_out"] = await client.get(
                big, headers={"Accept-Encoding": "gzip", "X-No-Compression": "1"}
            )
            out["small"] = await client.get(
                "/api/users/1?fields=name", headers={"Accept-Encoding": "gzip"}
            )
        return out

    r = run(scenario())
    assert r["gzip"].headers["Content-Encoding"] == "gzip"
    assert r["br"].headers["Content-Encoding"] == "br"
    for name in ("identity", "opt_out", "small"):
        assert "Content-Encoding" not in r[name].headers, name
    assert r["gzip"].json() == r["identity"].json() == r["br"].json()
    # the wire size really shrank
    assert int(r["gzip"].headers["Content-Length"]) < len(r["identity"].content) / 2


def test_streaming_export_goes_out_in_keyset_batches(
    dataset: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(export, "BATCH", 25)
    app = create_app(dataset, optimize="streaming,compression")
    (streamed,) = run(fetch_all(app, [("GET", "/api/export/users.ndjson")]))  # gzip accepted
    assert "content-length" not in streamed.headers  # chunked, not built whole
    assert "content-encoding" not in streamed.headers  # never buffered for compression
    assert app.state.lab.counters["export_batches"] == 4  # 80 rows / 25 per batch
    assert len(streamed.text.splitlines()) == 80
    (whole,) = run(fetch_all(create_app(dataset), [("GET", "/api/export/users.ndjson")]))
    assert whole.headers["content-length"] and whole.content == streamed.content


def test_keyset_cursor_points_at_the_last_row(dataset: Path) -> None:
    from labkit.app.routes.posts import decode_cursor

    (offset_page,) = run(fetch_all(create_app(dataset), [("GET", "/api/posts?limit=5")]))
    (keyset_page,) = run(
        fetch_all(create_app(dataset, optimize="keyset"), [("GET", "/api/posts?limit=5")])
    )
    assert decode_cursor(offset_page.json()["next_cursor"]) == {"o": 5}
    last = keyset_page.json()["items"][-1]
    assert decode_cursor(keyset_page.json()["next_cursor"]) == {
        "c": last["created_at"],
        "i": last["id"],
    }


def test_indexes_are_built_on_the_apps_copy_only(dataset: Path) -> None:
    app = create_app(dataset, optimize="indexes")
    with closing(sqlite3.connect(app.state.lab.db.path)) as db:
        names = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    assert set(INDEXES) <= names
    with closing(sqlite3.connect(dataset)) as db:
        assert not db.execute("SELECT name FROM sqlite_master WHERE type='index'").fetchall()


def test_rate_limit_answers_429_with_retry_after_and_tiers(dataset: Path) -> None:
    app = create_app(dataset, optimize="rate_limit")
    limiter = app.state.lab.limiter
    limiter.clock = lambda: 1_000.0  # frozen inside one window
    with closing(sqlite3.connect(dataset)) as db:
        pro = db.execute("SELECT id FROM users WHERE tier = 'pro' LIMIT 1").fetchone()[0]

    async def scenario() -> tuple[list[int], httpx.Response, list[int]]:
        async for client in _client(app):
            anon = [(await client.get("/api/search?q=x")).status_code for _ in range(11)]
            limited = await client.get("/api/search?q=x")
            pros = [
                (await client.get("/api/search?q=x", headers={"X-User-Id": str(pro)})).status_code
                for _ in range(30)
            ]
            return anon, limited, pros
        raise AssertionError("unreachable")

    anon, limited, pros = run(scenario())
    assert anon == [200] * 10 + [429]
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "10"
    assert "rate limit" in limited.json()["detail"]
    assert pros == [200] * 30  # pro tier: 200 per window
    limiter.clock = lambda: 1_010.0  # next window
    (again,) = run(fetch_all(app, [("GET", "/api/search?q=x")]))
    assert again.status_code == 200


@pytest.mark.parametrize(("shared", "expected"), [(False, [200, 200]), (True, [200, 429])])
def test_rate_limit_counts_per_process_unless_shared(
    dataset: Path, tmp_path: Path, shared: bool, expected: list[int]
) -> None:
    workers = [
        create_app(dataset, optimize="rate_limit", cache_dir=tmp_path, shared_limits=shared)
        for _ in range(2)
    ]
    for app in workers:
        app.state.lab.limiter.clock = lambda: 5_000.0
        app.state.lab.limiter.limits["anonymous"] = 1
    got = [run(fetch_all(app, [("GET", "/api/search?q=x")]))[0].status_code for app in workers]
    assert got == expected


# ---------------------------------------------------------------- middleware


def test_server_timing_and_health_skips_middleware(dataset: Path) -> None:
    health, feed = run(
        fetch_all(create_app(dataset), [("GET", "/api/health"), ("GET", "/api/feed?user_id=2")])
    )
    assert "server-timing" not in health.headers
    timing = feed.headers["Server-Timing"]
    for phase in ("db;dur=", "cache;dur=", "total;dur="):
        assert phase in timing


def test_slow_requests_are_logged(dataset: Path, caplog: pytest.LogCaptureFixture) -> None:
    app = create_app(dataset, slow_ms=0.0)
    with caplog.at_level(logging.WARNING, logger="labkit.app"):
        run(fetch_all(app, [("GET", "/api/users/1"), ("GET", "/api/health")]))
    slow = [r.getMessage() for r in caplog.records if "slow request" in r.getMessage()]
    assert len(slow) == 1 and "/api/users/1" in slow[0] and "1 statements" in slow[0]


def server_timing_db(response: httpx.Response) -> tuple[float, str]:
    """(milliseconds, description) of the ``db`` entry of ``Server-Timing``."""
    entry = next(p for p in response.headers["Server-Timing"].split(", ") if p.startswith("db;"))
    fields = dict(part.split("=", 1) for part in entry.split(";")[1:])
    return float(fields["dur"]), fields["desc"].strip('"')


async def read_then_write(app: Any, product: int, stock: int) -> list[httpx.Response]:
    """GET /api/users/1, the feed of user 4, then PUT a product's stock."""
    async for client in _client(app):
        return [
            await client.get("/api/users/1"),
            await client.get("/api/feed?user_id=4"),
            await client.put(f"/api/products/{product}", json={"stock": stock}),
        ]
    raise AssertionError("unreachable")


def test_statements_counted_are_those_sqlite_ran(dataset: Path) -> None:
    app = create_app(dataset)
    read, feed, write = run(read_then_write(app, 6, 9))
    assert query_count(read) == 1 and server_timing_db(read)[1] == "1 statements"
    # BEGIN IMMEDIATE, UPDATE, COMMIT (one transaction), then the SELECT of the new row
    assert write.status_code == 200
    assert query_count(write) == 4 and server_timing_db(write)[1] == "4 statements"
    assert app.state.lab.counters["db_statements"] == 1 + query_count(feed) + 4


def test_simulated_latency_is_paid_once_per_round_trip(dataset: Path) -> None:
    app = create_app(dataset, latency_ms=40)
    read, feed, write = run(read_then_write(app, 7, 10))
    assert server_timing_db(read)[0] >= 40  # one statement
    assert server_timing_db(feed)[0] >= 40 * query_count(feed)
    assert server_timing_db(write)[0] >= 2 * 40  # the transaction in one trip, then the read


# ---------------------------------------------------------------- bad input

BAD = [
    "/api/users?limit=-1",
    "/api/users?limit=101",
    "/api/users?limit=99999999999999999999",
    "/api/users?offset=-5",
    "/api/users?fields=password",
    "/api/users?fields=id;DROP TABLE users",
    "/api/users/0",
    "/api/users/abc",
    "/api/users/999999",
    "/api/posts?cursor=not-a-cursor",
    "/api/posts?cursor=eyJvIjotMX0",  # {"o":-1}
    "/api/posts?cursor=eyJjIjoiMScsImkiOjF9",  # {"c":"1',"i":1}: wrong type
    "/api/posts?offset=3&cursor=eyJvIjozfQ",
    "/api/feed",
    "/api/feed?user_id=1 OR 1=1",
    "/api/feed?user_id=999999",
    "/api/products/-3",
    "/api/products/424242",
    "/api/search",
    "/api/search?q=",
    "/api/search?q=" + "x" * 101,
]


@pytest.mark.parametrize("optimize", ["none", "all"])
def test_bad_input_is_a_4xx_json_error(dataset: Path, optimize: str) -> None:
    responses = run(fetch_all(create_app(dataset, optimize=optimize), [("GET", u) for u in BAD]))
    for url, response in zip(BAD, responses, strict=True):
        assert 400 <= response.status_code < 500, (url, response.status_code)
        assert "detail" in response.json(), url


def test_bad_updates_are_rejected(dataset: Path) -> None:
    app = create_app(dataset, optimize="cache")

    async def scenario() -> list[int]:
        async for client in _client(app):
            return [
                (await client.put("/api/products/1", json=body)).status_code
                for body in ({}, {"price_cents": -1}, {"id": 5}, {"name": ""}, {"stock": "many"})
            ] + [(await client.put("/api/products/999", json={"stock": 1})).status_code]
        raise AssertionError("unreachable")

    assert run(scenario()) == [400, 422, 422, 422, 422, 404]


def test_sql_in_search_text_is_matched_literally(dataset: Path) -> None:
    (r,) = run(fetch_all(create_app(dataset), [("GET", "/api/search?q=' OR 1=1 --")]))
    assert r.status_code == 200 and r.json()["count"] == 0


def test_missing_dataset_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ServerError, match="dataset not found"):
        create_app(tmp_path / "nope.sqlite")
