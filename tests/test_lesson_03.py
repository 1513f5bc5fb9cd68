"""Lesson 03 helpers: seeded traces, replays, counting doubles, async memo, L2 adapter."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Any

import cachetools
import pytest

from labkit.async_cache import async_cached
from labkit.clock import ManualClock
from labkit.data import fresh_copy
from labkit.db import connect
from labkit.lessons.n03_caching.aside import cached_get
from labkit.lessons.n03_caching.bounded import make_product_cache
from labkit.lessons.n03_caching.invalidation import _reader_before_writes
from labkit.lessons.n03_caching.lease import guarded_get, invalidate, slow_reader_race
from labkit.lessons.n03_caching.replay import (
    blob_workload,
    product_workload,
    replay_aside,
    replay_bytes,
    replay_products,
)
from labkit.lessons.n03_caching.single_flight import make_single_flight
from labkit.lessons.n03_caching.stores import JsonL2, open_l2
from labkit.lessons.n03_caching.warming import make_ties
from labkit.lessons.n03_caching.workload import (
    CountingLoader,
    HitCounter,
    MemoryL2,
    fetch_product,
    product_key,
    zipf_trace,
)


def test_zipf_trace_is_seeded_and_skewed() -> None:
    ids = list(range(100, 200))
    a = zipf_trace(ids, 2000, seed=42)
    assert a == zipf_trace(ids, 2000, seed=42)
    assert a != zipf_trace(ids, 2000, seed=7)
    counts = Counter(a)
    assert counts.most_common(1)[0][0] == 100  # rank 0 is the most requested
    assert counts[100] > 5 * counts[150]
    with pytest.raises(ValueError):
        zipf_trace([], 10, seed=1)


def test_hit_counter() -> None:
    counter = HitCounter()
    assert counter.hit_rate == 0.0
    for status in ("hit", "miss", "hit", "hit"):
        counter.record(status)
    assert (counter.hits, counter.misses, counter.hit_rate) == (3, 1, 0.75)
    assert "75%" in str(counter)


def test_replay_bytes_counts_bound_and_expiry() -> None:
    values, trace = blob_workload(3, keys=40, n=300)
    clock = ManualClock()
    bounded = replay_bytes(
        cachetools.TTLCache(maxsize=10_000, ttl=20, timer=clock, getsizeof=len),
        clock,
        values,
        trace,
        ttl=20,
    )
    assert bounded.max_bytes_held <= 10_000
    assert bounded.expired_served == 0 and bounded.wrong_values == 0
    assert 0 < bounded.hits < len(trace)
    clock = ManualClock()
    unbounded = replay_bytes({}, clock, values, trace, ttl=20)
    assert unbounded.max_bytes_held > 10_000
    assert unbounded.expired_served > 0


def test_replay_aside_labels_and_loads() -> None:
    truth = {i: {"id": i} for i in range(1, 11)}
    trace = [1, 2, 1, 1, 3, 2]
    got = asyncio.run(replay_aside(cached_get, {}, truth, trace))
    assert (got.counter.hits, got.loads, got.dishonest_labels, got.wrong_products) == (3, 3, 0, [])

    async def lying(pid: int, cache: Any, load: Any) -> tuple[object, str]:
        product, _ = await cached_get(pid, cache, load)
        return product, "hit"

    lied = asyncio.run(replay_aside(lying, {}, truth, trace))
    assert lied.dishonest_labels == 3


def test_counting_loader_counts_concurrency_and_fails_once() -> None:
    load = CountingLoader({"a": 1}, delay=0.001, fail_keys={"b"})

    async def scenario() -> list[object]:
        return await asyncio.gather(load("a"), load("a"), load("b"), return_exceptions=True)

    results = asyncio.run(scenario())
    assert results[:2] == [1, 1] and isinstance(results[2], ConnectionError)
    assert (load.calls, load.max_running) == (3, 3)
    assert asyncio.run(load("b")) is None  # the failure happens once


def test_memory_l2_counts_and_breaks() -> None:
    l2 = MemoryL2()
    asyncio.run(l2.set("k", {"v": 1}))
    assert asyncio.run(l2.get("k")) == {"v": 1}
    assert (l2.gets, l2.hits, l2.sets) == (1, 1, 1)
    broken = MemoryL2(broken=True)
    with pytest.raises(ConnectionError):
        asyncio.run(broken.get("k"))
    assert broken.errors == 1


def test_reference_single_flight_shares_one_load() -> None:
    load = CountingLoader({7: "seven"}, delay=0.005)

    async def scenario() -> list[object]:
        get = make_single_flight(load)
        return list(await asyncio.gather(*(get(7) for _ in range(100))))

    assert asyncio.run(scenario()) == ["seven"] * 100
    assert load.calls == 1


def test_cachetools_decorator_caches_the_coroutine_pitfall() -> None:
    """The pitfall the lesson teaches (cachetools #92): still true of the installed version."""

    @cachetools.cached(cachetools.LRUCache(maxsize=8))
    async def double(x: int) -> int:
        return 2 * x

    async def scenario() -> None:
        assert await double(2) == 4
        with pytest.raises(RuntimeError, match="already awaited"):
            await double(2)

    asyncio.run(scenario())


def test_async_cached_stores_results_and_dedupes() -> None:
    calls = 0

    @async_cached(cachetools.TTLCache(maxsize=8, ttl=60))
    async def double(x: int) -> int:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.001)
        return 2 * x

    async def scenario() -> list[int]:
        first = await asyncio.gather(*(double(3) for _ in range(20)))
        return [*first, await double(3), await double(4)]

    assert asyncio.run(scenario()) == [6] * 21 + [8]
    assert calls == 2
    assert double.calls == 2  # type: ignore[attr-defined]


def test_async_cached_does_not_cache_failures() -> None:
    attempts = 0

    @async_cached({})
    async def flaky() -> str:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise ConnectionError("down")
        return "up"

    async def scenario() -> str:
        with pytest.raises(ConnectionError):
            await flaky()
        return await flaky()

    assert asyncio.run(scenario()) == "up"


def test_json_l2_round_trip_on_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LABKIT_REDIS_URL", raising=False)
    l2 = open_l2(tmp_path / "l2")
    assert isinstance(l2, JsonL2) and l2.name == "disk"

    async def scenario() -> tuple[object, object, object]:
        missing = await l2.get(product_key(1))
        await l2.set(product_key(1), {"id": 1, "price_cents": 990})
        found = await l2.get(product_key(1))
        await l2.delete(product_key(1))
        return missing, found, await l2.get(product_key(1))

    assert asyncio.run(scenario()) == (None, {"id": 1, "price_cents": 990}, None)
    # a second handle on the same directory sees the same entries: that is what "shared" means
    other = open_l2(tmp_path / "l2")
    asyncio.run(l2.set("k", [1, 2]))
    assert asyncio.run(other.get("k")) == [1, 2]


def test_replay_products_counts_budget_staleness_and_foreign_hits() -> None:
    catalogue, events = product_workload(5)
    assert sum(kind == "write" for kind, _ in events) > 10  # writes happen on every seed
    clock = ManualClock()
    ok = replay_products(
        make_product_cache(12_000, 15.5, clock), clock, catalogue, events, max_stale=15.5
    )
    assert ok.max_bytes_held <= 12_000 and ok.over_stale == 0 and ok.wrong_values == 0
    assert 0 < ok.hits < ok.requests
    clock = ManualClock()
    by_fields: Any = cachetools.TTLCache(maxsize=12_000, ttl=15.5, timer=clock, getsizeof=len)
    assert (
        replay_products(by_fields, clock, catalogue, events, max_stale=15.5).max_bytes_held > 12_000
    )
    clock = ManualClock()
    too_long = make_product_cache(12_000, 40, clock)
    assert replay_products(too_long, clock, catalogue, events, max_stale=15.5).over_stale > 0
    clock = ManualClock()
    prefilled: dict[str, object] = dict(catalogue)
    assert replay_products(prefilled, clock, catalogue, events, max_stale=15.5).foreign_hits > 0  # type: ignore[arg-type]


def test_replay_aside_sees_answers_that_ignore_the_cache() -> None:
    truth = {i: {"id": i} for i in range(1, 6)}
    mine: dict[int, object] = {}

    async def own_memo(pid: int, cache: Any, load: Any) -> tuple[object, str]:
        if pid not in mine:
            mine[pid] = await load(pid)
            return mine[pid], "miss"
        return mine[pid], "hit"

    got = asyncio.run(replay_aside(own_memo, {}, truth, [1, 2, 1, 2]))
    assert (got.outside_hits, got.not_stored) == (2, 2)


def test_slow_reader_race_leaves_a_stale_entry_unless_versions_guard_it() -> None:
    async def scenario(guarded: bool) -> bool:
        database = {7: {"id": 7, "price_cents": 100}}
        cache: dict[str, Any] = {}
        versions: dict[str, int] = {}

        async def fetch() -> Any:
            return dict(database[7])

        async def write() -> None:
            database[7] = {"id": 7, "price_cents": 200}
            invalidate(cache, versions, 7)

        async def read(slow: Any) -> Any:
            if guarded:
                return await guarded_get(7, cache, versions, slow)
            return await cached_get(7, cache, slow)

        outcome = await slow_reader_race(read, fetch, write, lambda: cache.get(product_key(7)))
        assert outcome.reader_got[0] == {"id": 7, "price_cents": 100}  # true when it was read
        return outcome.stale

    assert asyncio.run(scenario(guarded=False)) is True
    assert asyncio.run(scenario(guarded=True)) is False


def test_reader_runs_before_each_write_and_commit(tmp_path: Path) -> None:
    path = fresh_copy(size="tiny", seed=3, dest=tmp_path / "t.sqlite")

    async def scenario() -> tuple[int, int, Any]:
        async with connect(path) as db:
            seen: list[int] = []

            async def reader() -> None:
                seen.append(1)

            with _reader_before_writes(db, reader) as ran:
                await (await db.execute("SELECT 1")).close()  # a read: no reader
                async with db.execute("UPDATE products SET stock = 1 WHERE id = 1"):
                    pass
                await db.commit()
            assert "execute" not in db.__dict__ and "commit" not in db.__dict__
            return ran[0], len(seen), await fetch_product(db, 1)

    ran, seen, row = asyncio.run(scenario())
    assert (ran, seen) == (2, 2) and row is not None and row["stock"] == 1


def test_tie_fixture_cuts_inside_a_tie_group(tmp_path: Path) -> None:
    path = fresh_copy(size="tiny", seed=11, dest=tmp_path / "t.sqlite")
    n = asyncio.run(make_ties(path, 11))

    async def views() -> list[int]:
        async with (
            connect(path) as db,
            db.execute("SELECT view_count FROM products ORDER BY view_count DESC, id") as cursor,
        ):
            return [int(row[0]) for row in await cursor.fetchall()]

    ordered = asyncio.run(views())
    assert 0 < n < len(ordered) and ordered[n - 1] == ordered[n]  # the tie straddles the cut


@pytest.mark.parametrize(
    ("exercise_id", "wrong"),
    [
        ("03.cache_aside", "memo_by_id"),
        ("03.cache_aside", "global_cache"),
        ("03.bounded_cache", "one_global_cache"),
        ("03.two_layer", "global_l1"),
        ("03.warming", "memo_by_n"),
    ],
)
def test_state_kept_across_calls_fails_the_first_and_the_second_check(
    exercise_id: str, wrong: str
) -> None:
    """One answer object (its global state kept) checked twice in a row: neither check passes."""
    from labkit.grading import run_check
    from labkit.grading.registry import get_exercise
    from tests.answers import materialise
    from tests.answers.n03_caching import CASES

    answers = materialise(CASES[exercise_id].wrong[wrong])  # made once: state survives
    verdicts = [run_check(get_exercise(exercise_id), answers, seed=s).passed for s in (42, 43)]
    assert verdicts == [False, False]
