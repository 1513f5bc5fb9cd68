"""Lesson 04 helpers: the fake service's counters, the heartbeat, references, limits scripts."""

from __future__ import annotations

import asyncio
import math
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from labkit.cpu_work import count_primes, count_primes_where
from labkit.errors import MeasurementError
from labkit.lessons.n04_concurrency import reference as ref
from labkit.lessons.n04_concurrency.checks_limits import bucket_script, guard_script, run_bucket
from labkit.lessons.n04_concurrency.pools import CountingExecutor, worker_pools
from labkit.lessons.n04_concurrency.services import FakeService
from labkit.lessons.n04_concurrency.worker_limits import search_in_worker
from labkit.loop_lag import Heartbeat, summarise


def test_count_primes_small_values() -> None:
    assert [count_primes(n) for n in (0, 2, 3, 10, 100)] == [0, 0, 1, 4, 25]
    assert count_primes_where(10)[0] == 4
    with pytest.raises(TypeError):
        count_primes(10.5)  # type: ignore[arg-type]


def test_fake_service_counts_peak_and_values_are_seeded() -> None:
    service = FakeService(42, latency_ms={"profile": 1.0, "orders": 1.0, "recommendations": 1.0})

    async def both() -> None:
        await ref.fetch_dashboard(service, 5)
        await ref.fetch_dashboard_sequential(service, 5)

    asyncio.run(both())
    assert service.stats.calls == 6 and service.stats.completed == 6
    assert service.stats.peak_in_flight == 3 and service.stats.in_flight == 0
    assert FakeService(42).expected("profile", 5) == service.expected("profile", 5)
    assert FakeService(7).expected("orders", 5) != FakeService(42).expected("orders", 5) or (
        FakeService(7).expected("profile", 5) != FakeService(42).expected("profile", 5)
    )


def test_timeout_reference_cancels_the_slow_call() -> None:
    service = FakeService(1, slow_keys={9}, slow_ms=5_000)

    async def run() -> list[int | None]:
        return [
            await ref.price_or_fallback(service, 9, 0.01),
            await ref.price_or_fallback(service, 8, 1.0),
        ]

    slow, fast = asyncio.run(run())
    assert slow is None and fast == service.expected("price", 8)
    assert service.stats.cancelled == 1 and service.stats.in_flight == 0


def test_bounded_reference_respects_the_limit() -> None:
    service = FakeService(3, latency_ms={"profile": 1.0})
    got = asyncio.run(ref.fetch_profiles(service, list(range(20)), 5))
    assert got == [service.expected("profile", i) for i in range(20)]
    assert service.stats.peak_in_flight == 5


def test_batch_loader_one_batch_per_tick_and_errors_reach_every_caller() -> None:
    batches: list[list[int]] = []

    async def double(keys: list[int]) -> list[int]:
        batches.append(keys)
        return [2 * k for k in keys]

    async def failing(keys: list[int]) -> list[int]:
        raise LookupError("down")

    async def run() -> tuple[list[int], list[BaseException | int]]:
        loader = ref.BatchLoader(double)
        values = await asyncio.gather(*(loader.load(k) for k in [1, 2, 2, 3]))
        broken = ref.BatchLoader(failing)
        errors = await asyncio.gather(broken.load(1), broken.load(2), return_exceptions=True)
        return list(values), list(errors)

    values, errors = asyncio.run(run())
    assert values == [2, 4, 4, 6] and batches == [[1, 2, 3]]
    assert all(isinstance(e, LookupError) for e in errors)


def test_summarise_counts_missed_ticks_from_gaps() -> None:
    lag = summarise([0.005, 0.0051, 0.052, 0.005], tail_s=0.002, interval_s=0.005)
    assert lag.ticks == 4
    assert lag.missed_ticks == 9  # the 52 ms gap held 10 intervals: 9 ticks never happened
    assert math.isclose(lag.max_gap_ms, 52.0)
    assert "missed" in str(lag) and "missed ticks" in lag.to_frame().columns


def test_heartbeat_sees_a_blocked_loop() -> None:
    async def run() -> tuple[int, int]:
        async with Heartbeat(0.005) as free:
            await asyncio.sleep(0.03)
        async with Heartbeat(0.005) as blocked:
            time.sleep(0.06)  # blocks the loop: no tick can happen
        assert free.result is not None and blocked.result is not None
        return free.result.ticks, blocked.result.missed_ticks

    ticks_free, missed_blocked = asyncio.run(run())
    assert ticks_free >= 1
    assert missed_blocked >= 5
    with pytest.raises(MeasurementError):
        Heartbeat(0)


def test_counting_executor_counts_and_survives_shutdown() -> None:
    with ThreadPoolExecutor(1) as inner:
        pool = CountingExecutor(inner)
        assert asyncio.run(ref.count_primes_offloaded(pool, 50)) == 15
        pool.shutdown()
        assert pool.submitted == ["count_primes"]
        assert inner.submit(count_primes, 10).result() == 4


def test_token_bucket_reference_on_the_script_is_exact() -> None:
    clock = ref.FakeClock()
    verdicts = run_bucket(ref.RateLimiter(4, 2.0, clock), clock, bucket_script(42))
    assert verdicts[:7] == [(True, 0.0)] * 4 + [(False, 0.5)] * 2 + [(True, 0.0)]
    assert verdicts[7:10] == [(True, 0.0), (True, 0.0), (False, 0.5)]
    assert bucket_script(42) != bucket_script(7)


def test_guard_reference_keys_tiers_and_costs() -> None:
    clock = ref.FakeClock()
    guard = ref.make_guard(clock)
    office = ref.ApiRequest("/posts", "10.0.0.1", user_id=1, tier="free")
    assert [guard(office)[0] for _ in range(16)] == [200] * 15 + [429]
    assert guard(ref.ApiRequest("/posts", "10.0.0.1", user_id=2))[0] == 200
    exports = [guard(ref.ApiRequest("/export", "10.0.0.2")) for _ in range(4)]
    assert [s for s, _ in exports] == [200, 200, 200, 429]
    assert exports[-1][1] == {"Retry-After": "20"}  # 5 tokens at 0.25/s
    clock.advance(20)
    assert guard(ref.ApiRequest("/export", "10.0.0.2"))[0] == 200
    statuses = [s for _, r in guard_script(42) for s, _ in [ref.make_guard(ref.FakeClock())(r)]]
    assert 429 not in statuses  # a guard made per request never refuses: the bug the check catches


def test_search_in_worker_counts_per_process_or_in_the_shared_store(tmp_path: Path) -> None:
    # in this process: the fixed window allows `limit` per window and key
    local = [search_in_worker(None, "client-a", 100.0, limit=3) for _ in range(5)]
    assert local == [True] * 3 + [False] * 2
    assert search_in_worker(None, "client-a", 110.0, limit=3)  # next window
    # two worker processes behind a round-robin balancer
    workers = worker_pools(2)
    for store_dir, expected in ((None, 6), (str(tmp_path / "shared"), 3)):
        verdicts = [
            workers[i % 2]
            .submit(search_in_worker, store_dir, "client-b", 50.0, limit=3)
            .result(timeout=60)
            for i in range(10)
        ]
        assert sum(verdicts) == expected
