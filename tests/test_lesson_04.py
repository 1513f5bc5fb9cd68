"""Lesson 04 helpers: the fake service's counters, the heartbeat, references, limits scripts."""

from __future__ import annotations

import asyncio
import math
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from labkit.clock import ManualClock
from labkit.cpu_work import count_primes, count_primes_where
from labkit.errors import MeasurementError
from labkit.lessons.n04_concurrency import batch_loader, concurrent_calls, offload
from labkit.lessons.n04_concurrency import guard as guards
from labkit.lessons.n04_concurrency.graceful_shutdown import Listener, Requests
from labkit.lessons.n04_concurrency.graceful_shutdown import shutdown as shutdown_reference
from labkit.lessons.n04_concurrency.guard import ApiRequest, guard_script, make_guard
from labkit.lessons.n04_concurrency.interleaved import effect
from labkit.lessons.n04_concurrency.pools import RecordingPool, lesson_pool, worker_pools
from labkit.lessons.n04_concurrency.services import CallLedger, FakeService
from labkit.lessons.n04_concurrency.shared_limit import SharedState, WorkerStore, allow_request
from labkit.lessons.n04_concurrency.token_bucket import (
    TokenBucket,
    bucket_scripts,
    reference_verdicts,
    seeded_script,
)
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
        await concurrent_calls.fetch_dashboard(service, 5)
        await concurrent_calls.fetch_dashboard_sequential(service, 5)

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
            await concurrent_calls.price_or_fallback(service, 9, 0.01),
            await concurrent_calls.price_or_fallback(service, 8, 1.0),
        ]

    slow, fast = asyncio.run(run())
    assert slow is None and fast == service.expected("price", 8)
    assert service.stats.cancelled == 1 and service.stats.in_flight == 0


def test_bounded_reference_respects_the_limit() -> None:
    service = FakeService(3, latency_ms={"profile": 1.0})
    got = asyncio.run(concurrent_calls.fetch_profiles(service, list(range(20)), 5))
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
        loader = batch_loader.BatchLoader(double)
        values = await asyncio.gather(*(loader.load(k) for k in [1, 2, 2, 3]))
        broken = batch_loader.BatchLoader(failing)
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


def test_ledger_replays_the_peak_and_sees_tampered_counters() -> None:
    ledger = CallLedger()
    fast = {"profile": 1.0, "orders": 1.0, "recommendations": 1.0}
    service = FakeService(1, latency_ms=fast, ledger=ledger)
    asyncio.run(concurrent_calls.fetch_dashboard_sequential(service, 3))
    assert ledger.calls == 3 and ledger.peak_in_flight == 1 and ledger.running == 0
    assert ledger.disagrees_with(service.stats) is None
    service.stats.peak_in_flight = 3
    assert "peak_in_flight says 3" in str(ledger.disagrees_with(service.stats))


def test_recording_pool_reports_the_worker_and_survives_shutdown() -> None:
    pool = RecordingPool(lesson_pool())
    assert asyncio.run(offload.count_primes_offloaded(pool, 5_000)) == count_primes(5_000)
    pool.shutdown()
    pool.wait()
    (job,) = pool.jobs
    assert job.function == "count_primes" and job.args == (5_000,)
    assert job.pid is not None and job.pid != os.getpid() and job.cpu_s > 0
    assert lesson_pool().submit(count_primes, 10).result(timeout=60) == 4


def test_token_bucket_scripts_refuse_and_refill_on_every_seed() -> None:
    for seed in (1, 7, 42, 20_231, 2**31 - 1, *range(100, 130)):
        for index in (0, 1):
            script = seeded_script(seed, index)
            verdicts = reference_verdicts(script)
            refused = [i for i, (allowed, _) in enumerate(verdicts) if not allowed]
            assert len(refused) >= 5, (seed, index)
            # a key refused, then allowed again later: the refill is exercised
            back = [
                i
                for i in refused
                if any(
                    verdicts[j][0] and script.steps[j][1] == script.steps[i][1]
                    for j in range(i + 1, len(verdicts))
                )
            ]
            assert back, (seed, index)
    assert seeded_script(42, 0) != seeded_script(7, 0)


def test_token_bucket_edge_cases_are_exact() -> None:
    burst, fractional, jump, refusal = bucket_scripts(42)[:4]
    assert reference_verdicts(burst)[:6] == [(True, 0.0)] * 4 + [(False, 0.5), (True, 0.0)]
    assert reference_verdicts(fractional) == [
        (True, 0.0), (False, 0.25), (True, 0.0), (True, 0.0), (False, 0.5)
    ]  # fmt: skip
    assert [a for a, _ in reference_verdicts(jump)] == [True] * 4 + [False] + [True] * 5 + [False]
    assert [a for a, _ in reference_verdicts(refusal)] == [True, False, True, False, False]
    clock = ManualClock()
    bucket = TokenBucket(4, 2.0, clock)
    assert [bucket.check("k")[0] for _ in range(5)] == [True] * 4 + [False]


def test_guard_reference_keys_tiers_and_costs() -> None:
    clock = ManualClock()
    guard = make_guard(clock)
    office = ApiRequest("/posts", "10.0.0.1", user_id=1, tier="free")
    assert [guard(office)[0] for _ in range(16)] == [200] * 15 + [429]
    assert guard(ApiRequest("/posts", "10.0.0.1", user_id=2))[0] == 200
    exports = [guard(ApiRequest("/export", "10.0.0.2")) for _ in range(4)]
    assert [s for s, _ in exports] == [200, 200, 200, 429]
    assert exports[-1][1] == {"Retry-After": "20"}  # 5 tokens at 0.25/s
    clock.advance(20)
    assert guard(ApiRequest("/export", "10.0.0.2"))[0] == 200


def test_guard_scripts_refuse_on_every_seed_and_need_rounding_up() -> None:
    for seed in (1, 7, 42, 20_231, *range(200, 220)):
        steps = guard_script(seed)
        responses = guards.expected_responses(steps)
        statuses = [status for status, _ in responses]
        assert statuses.count(429) >= 5 and statuses.count(200) >= 20, seed
        waits = {headers["Retry-After"] for _, headers in responses if headers}
        assert "4" in waits, seed  # the 3.25 s wait, rounded up
        # a guard made per request never refuses: the bug the check catches
        fresh = [make_guard(ManualClock())(request)[0] for _, request in steps]
        assert 429 not in fresh
    assert guard_script(42) != guard_script(7)


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


def test_effect_words_come_from_the_interval_and_the_noise_floor() -> None:
    steady = [1.0, 1.01, 0.99, 1.0, 1.02, 0.98, 1.0, 1.01]
    # twice as fast, every run: beyond the floor
    clear = effect("seq", "procs", steady, [x / 2 for x in steady], higher_is_better=False)
    assert clear.verdict == "better" and "faster" in clear.sentence()
    assert 1.9 < clear.ratio < 2.1
    # runs that straddle the baseline: the interval includes ×1
    straddle = effect(
        "seq", "threads", steady, [0.7, 1.3, 0.8, 1.25, 1.0, 1.4], higher_is_better=False
    )
    assert straddle.verdict == "no clear effect"
    assert "no clear effect" in straddle.sentence() and "faster" not in straddle.sentence()
    # a small gain inside a noisy baseline's own spread: no clear effect either
    noisy = [1.0, 1.5, 0.7, 1.4, 0.8, 1.45, 0.75, 1.3]
    inside = effect(
        "1 worker", "2", noisy, [x * 1.1 for x in [1.0, 1.02, 1.01, 0.99]], higher_is_better=True
    )
    assert inside.verdict == "no clear effect"
    # throughput: higher is better
    more = effect("1 worker", "2", steady, [x * 1.8 for x in steady], higher_is_better=True)
    assert more.verdict == "better" and more.ratio > 1.7
    less = effect("1 worker", "2", steady, [x * 0.5 for x in steady], higher_is_better=True)
    assert less.verdict == "worse" and "slower" in less.sentence()
    with pytest.raises(ValueError):
        effect("a", "b", [1.0, 2.0], [1.0], higher_is_better=True)


def test_worker_store_makes_read_then_write_race_every_time() -> None:
    state = SharedState()
    stores = (WorkerStore(state), WorkerStore(state))

    def read_then_write(store: WorkerStore) -> int:
        count = int(store.get("k", 0)) + 1
        store.set("k", count)
        return count

    with ThreadPoolExecutor(2) as pair:
        for _ in range(3):
            state.barrier = threading.Barrier(2, timeout=1)
            assert list(pair.map(read_then_write, stores)) == [state.values["k"]] * 2
        state.barrier = threading.Barrier(2, timeout=0.05)
        counts = list(pair.map(lambda s: s.incr("n", 1, default=0), stores))
    assert sorted(counts) == [1, 2] and state.values["k"] == 3  # 6 requests, counted 3
    assert allow_request(stores[0], "c", 5.0, 1, 10.0) and not allow_request(
        stores[1], "c", 6.0, 1, 10.0
    )


def test_graceful_shutdown_reference_drains_then_cancels() -> None:
    async def run() -> tuple[set[int], set[int], bool]:
        requests, listener = Requests(), Listener()
        tasks = {requests.start(0, 0.01), requests.start(1, 5.0)}
        await shutdown_reference(listener, tasks, 0.1)
        return requests.completed, requests.cancelled, listener.offer(shutting_down=True)

    completed, cancelled, accepted = asyncio.run(run())
    assert completed == {0} and cancelled == {1} and not accepted
