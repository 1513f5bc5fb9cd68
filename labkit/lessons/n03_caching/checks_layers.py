"""Checks for the second half of the lesson: two layers, single flight, warming."""

from __future__ import annotations

import asyncio
import random
from typing import Any

from cachetools import LRUCache

from labkit.db import connect, statement_log
from labkit.grading import Grader, exercise
from labkit.lessons.n03_caching import reference
from labkit.lessons.n03_caching.replay import replay_aside
from labkit.lessons.n03_caching.workload import (
    CountingLoader,
    MemoryL2,
    fetch_product,
    product_key,
    products_by_popularity,
    zipf_trace,
)

LAYER_KEYS = 30
LAYER_REQUESTS = 200


@exercise(
    "03.two_layer",
    title="Two cache layers: L1 in the process, L2 shared, and fail open",
    answers=("two_layer_get",),
    hint="Try l1, then await l2.get (and copy a hit into l1), then await load (and fill both). "
    "Wrap every l2 call in try/except: a broken shared cache is a miss, not an error.",
    points=2,
    timeout=15.0,
)
def grade_two_layer(g: Grader, two_layer_get: Any) -> None:
    rng = random.Random(g.seed)
    source = {
        f"product:{i}": {"id": i, "price_cents": rng.randint(100, 99_999)}
        for i in range(1, LAYER_KEYS + 1)
    }
    ranked = list(source)
    rng.shuffle(ranked)
    trace = zipf_trace(ranked, LAYER_REQUESTS, seed=g.seed, s=1.0)
    distinct = len(set(trace))

    async def worker(l2: MemoryL2) -> tuple[CountingLoader, list[str], int]:
        """One worker process: its own L1, the shared L2, a counting database loader."""
        l1: LRUCache[str, Any] = LRUCache(maxsize=LAYER_KEYS * 2)
        load = CountingLoader(source)
        wrong: list[str] = []
        gets_before = l2.gets
        for key in trace:
            value = await g.acall(two_layer_get, key, l1, l2, load)
            if value != source[key]:
                wrong.append(f"{key}: expected {source[key]}, got {value!r}")
        return load, wrong, l2.gets - gets_before

    async def scenario() -> dict[str, Any]:
        shared = MemoryL2()
        first, wrong_1, _ = await worker(shared)
        second, wrong_2, l2_reads = await worker(shared)
        broken_l2 = MemoryL2(broken=True)
        third, wrong_3, _ = await worker(broken_l2)
        return {
            "wrong": wrong_1 + wrong_2 + wrong_3,
            "loads_first": first.calls,
            "loads_second": second.calls,
            "l2_reads_second": l2_reads,
            "loads_broken": third.calls,
            "errors_seen": broken_l2.errors,
        }

    got = g.run(scenario())
    g.expect(
        not got["wrong"],
        f"{len(got['wrong'])} reads returned the wrong value (first: "
        f"{got['wrong'][0] if got['wrong'] else ''})",
        hint="Return the value itself, whichever layer it came from.",
    )
    g.measure(
        "database loads, first worker",
        got["loads_first"],
        target=f"= {distinct} distinct keys",
        ok=got["loads_first"] == distinct,
        hint="After a load, store the value in L1 so the next read of that key is a hit.",
    )
    g.measure(
        "database loads, second worker (same L2)",
        got["loads_second"],
        target="0",
        ok=got["loads_second"] == 0,
        hint="After a load, also await l2.set(key, value): L2 is what other workers share.",
    )
    g.measure(
        "L2 reads, second worker",
        got["l2_reads_second"],
        target=f"≤ {distinct} (once per key, then L1)",
        ok=got["l2_reads_second"] <= distinct,
        hint="Fill L1 from an L2 hit, so the next read of that key does not go to L2 again.",
    )
    g.measure(
        "database loads with L2 down",
        got["loads_broken"],
        target=f"= {distinct} (L1 still caches)",
        ok=got["loads_broken"] == distinct,
        hint="When L2 fails, still fill L1: the in-process layer is the one that works.",
    )


FLIGHT_CALLERS = 100
FLIGHT_DELAY = 0.02


@exercise(
    "03.single_flight",
    title="Single flight: N concurrent requests for one key, one load",
    answers=("make_single_flight",),
    hint="Keep a dict key -> asyncio.Task (or Future) of the load in progress; later callers "
    "await the same task; remove the entry when it finishes, success or failure.",
    points=2,
    timeout=15.0,
)
def grade_single_flight(g: Grader, make_single_flight: Any) -> None:
    rng = random.Random(g.seed)
    keys = rng.sample(range(1, 1000), 5)
    source = {k: {"id": k, "stock": rng.randint(0, 500)} for k in keys}

    async def burst(get: Any, per_key: dict[Any, int]) -> list[str]:
        calls = [key for key, count in per_key.items() for _ in range(count)]
        results = await asyncio.gather(*(g.acall(get, key) for key in calls))
        return [
            f"key {key}: expected {source.get(key)}, got {value!r}"
            for key, value in zip(calls, results, strict=True)
            if value != source.get(key)
        ]

    async def scenario() -> dict[str, Any]:
        one = CountingLoader(source, delay=FLIGHT_DELAY)
        get = await g.acall(make_single_flight, one)
        wrong = await burst(get, {keys[0]: FLIGHT_CALLERS})
        loads_one = one.calls

        many = CountingLoader(source, delay=FLIGHT_DELAY)
        get_many = await g.acall(make_single_flight, many)
        wrong += await burst(get_many, {k: FLIGHT_CALLERS // len(keys) for k in keys})
        loads_many = many.calls

        # A later request must load again: single flight shares a load, it does not keep it.
        await g.acall(get_many, keys[0])
        later_loads = many.calls_by_key.get(keys[0], 0)

        # A failed load reaches every waiting caller, and the next request tries again.
        failing = CountingLoader(source, delay=FLIGHT_DELAY, fail_keys={keys[1]})
        get_failing = await g.acall(make_single_flight, failing)
        outcomes = await asyncio.gather(
            *(get_failing(keys[1]) for _ in range(10)), return_exceptions=True
        )
        failed = sum(isinstance(o, Exception) for o in outcomes)
        try:
            retry_ok = await get_failing(keys[1]) == source[keys[1]]
        except Exception:  # the failure was kept: the next request cannot recover
            retry_ok = False
        return {
            "wrong": wrong,
            "loads_one": loads_one,
            "loads_many": loads_many,
            "max_running": many.max_running,
            "later_loads": later_loads,
            "failing_loads": failing.calls,
            "failed": failed,
            "retry_ok": retry_ok,
        }

    got = g.run(scenario())
    g.expect(
        not got["wrong"],
        f"{len(got['wrong'])} callers got the wrong value (first: "
        f"{got['wrong'][0] if got['wrong'] else ''})",
        hint="Key the in-flight loads by the requested key, and return the loaded value.",
    )
    g.measure(
        f"loads for {FLIGHT_CALLERS} concurrent callers of one key",
        got["loads_one"],
        target="1",
        ok=got["loads_one"] == 1,
        hint="Record the in-flight load *before* the first await, so callers arriving "
        "during the load find it and wait for it instead of starting their own.",
    )
    g.measure(
        f"loads for {len(keys)} keys requested concurrently",
        got["loads_many"],
        target=f"{len(keys)}",
        ok=got["loads_many"] == len(keys),
    )
    g.measure(
        "loads running at once for different keys",
        got["max_running"],
        target=f"{len(keys)} (keys do not wait for each other)",
        ok=got["max_running"] == len(keys),
        hint="One global lock serialises every key; share a load per key instead.",
    )
    g.measure(
        "loads for a request after the flight landed",
        got["later_loads"],
        target="2 (the flight is forgotten once it lands)",
        ok=got["later_loads"] == 2,
        hint="Remove the key from the in-flight dict when its load finishes: single flight "
        "is not a cache (it has no invalidation).",
    )
    g.measure(
        "failed load: callers told / loads / retry worked",
        f"{got['failed']}/10, {got['failing_loads']}, {got['retry_ok']}",
        target="10/10, 2, True",
        ok=got["failed"] == 10 and got["failing_loads"] == 2 and got["retry_ok"],
        hint="Every waiter must see the failure, and the failed flight must be removed so "
        "the next request can try again.",
    )


WARM_N = 15


@exercise(
    "03.warming",
    title="Warm the cache with the most viewed products, in one query",
    answers=("warm_cache",),
    hint="SELECT the product columns FROM products ORDER BY view_count DESC, id LIMIT ?, then "
    "cache[product_key(row['id'])] = dict(row) for each row.",
    points=1,
    timeout=15.0,
)
def grade_warming(g: Grader, warm_cache: Any) -> None:
    path = g.dataset("tiny")

    async def scenario() -> dict[str, Any]:
        async with connect(path) as db:
            ranked = await products_by_popularity(db)
            truth = {pid: await fetch_product(db, pid) for pid in ranked}
            cache: LRUCache[str, Any] = LRUCache(maxsize=64)
            with statement_log(db) as log:
                returned = await g.acall(warm_cache, db, cache, WARM_N)
            statements = log.count
        keys, values = sorted(cache.keys()), dict(cache.items())
        trace = zipf_trace(ranked, 100, seed=g.seed, s=1.1)
        warm = await replay_aside(reference.cached_get, cache, truth, trace)
        cold = await replay_aside(reference.cached_get, LRUCache(maxsize=64), truth, trace)
        return {
            "keys": keys,
            "values": values,
            "expected": sorted(product_key(pid) for pid in ranked[:WARM_N]),
            "truth": truth,
            "returned": returned,
            "statements": statements,
            "warm": warm.counter.hit_rate,
            "cold": cold.counter.hit_rate,
        }

    got = g.run(scenario())
    missing = [k for k in got["expected"] if k not in got["keys"]]
    extra = [str(k) for k in got["keys"] if k not in got["expected"]]
    g.expect(
        not missing and not extra,
        f"after warming the top {WARM_N} the cache should hold exactly their keys; "
        f"missing {len(missing)} ({', '.join(missing[:3])}{'…' if len(missing) > 3 else ''}), "
        f"unexpected {len(extra)} ({', '.join(extra[:3])}{'…' if len(extra) > 3 else ''})",
        hint="The top products are the ones with the highest view_count (ties: lower id "
        "first), each cached under product_key(id).",
    )
    for key in got["expected"]:
        pid = int(key.split(":")[1])
        g.expect_equal(
            got["values"][key],
            got["truth"][pid],
            what=f"cached value of {key}",
            hint="Cache the whole product row as a dict, as the read path stores it.",
        )
    g.expect(
        got["returned"] == WARM_N,
        f"warm_cache returned {got['returned']!r}; it should return how many products it "
        f"cached ({WARM_N})",
    )
    g.measure(
        "SQL statements to warm",
        got["statements"],
        target="≤ 2",
        ok=got["statements"] <= 2,
        hint="One ORDER BY ... LIMIT query fetches every row you need; no query per product.",
    )
    g.note(f"first 100 requests: hit rate {got['warm']:.0%} warmed vs {got['cold']:.0%} cold")
