"""Checks for the first half of the lesson: a bounded TTL cache, cache-aside, invalidation."""

from __future__ import annotations

import random
from typing import Any

from cachetools import LRUCache

from labkit.db import connect
from labkit.grading import Grader, exercise
from labkit.lessons.n03_caching import reference
from labkit.lessons.n03_caching.replay import blob_workload, replay_aside, replay_bytes
from labkit.lessons.n03_caching.workload import (
    FakeClock,
    fetch_product,
    product_key,
    products_by_popularity,
    zipf_trace,
)

BOUND_BYTES = 32_000
BLOB_TTL = 25.0
ASIDE_CACHE_SIZE = 24
ASIDE_REQUESTS = 400


@exercise(
    "03.bounded_cache",
    title="A bounded LRU cache: size in bytes and a time to live",
    answers=("make_product_cache",),
    hint="cachetools.TTLCache(maxsize=max_bytes, ttl=ttl, timer=timer, getsizeof=len) "
    "bounds the bytes, evicts the least recently used and expires old entries.",
    points=1,
    timeout=15.0,
)
def grade_bounded_cache(g: Grader, make_product_cache: Any) -> None:
    values, trace = blob_workload(g.seed)
    clock = FakeClock()
    cache = g.call(make_product_cache, BOUND_BYTES, BLOB_TTL, clock)
    g.expect(
        all(hasattr(cache, name) for name in ("get", "__setitem__", "__contains__")),
        f"make_product_cache should return a mapping (get, [key] = value, in); "
        f"it returned {type(cache).__name__}",
    )
    got = g.call(replay_bytes, cache, clock, values, trace, ttl=BLOB_TTL)
    ref_clock = FakeClock()
    ref = replay_bytes(
        reference.make_product_cache(BOUND_BYTES, BLOB_TTL, ref_clock),
        ref_clock,
        values,
        trace,
        ttl=BLOB_TTL,
    )
    g.expect(
        got.wrong_values == 0,
        f"{got.wrong_values} reads returned another key's bytes",
        hint="Store and look up each value under its own key.",
    )
    g.measure(
        "most bytes held",
        got.max_bytes_held,
        target=f"≤ {BOUND_BYTES:,}",
        ok=got.max_bytes_held <= BOUND_BYTES,
        hint="Bound the size in bytes, not the number of entries: give the cache "
        "getsizeof=len and maxsize=max_bytes.",
    )
    g.measure(
        "expired entries served",
        got.expired_served,
        target="0",
        ok=got.expired_served == 0,
        hint=f"An entry older than ttl={BLOB_TTL:g} s must not be served. Use a TTL cache, "
        "and pass it the timer you were given (the check moves that clock, not the real one).",
    )
    g.measure(
        "hit rate on the seeded trace",
        round(got.hit_rate, 3),
        target=f"≥ 90% of the reference's {ref.hit_rate:.0%}",
        ok=got.hits >= 0.9 * ref.hits,
        hint="Keep recently used entries and evict the least recently used one when full.",
    )


@exercise(
    "03.cache_aside",
    title="Cache-aside for product reads, with an honest hit/miss label",
    answers=("cached_get",),
    hint="Look up product_key(product_id); on a hit return (product, 'hit'); otherwise "
    "await load(product_id), store it under the key and return (product, 'miss').",
    points=2,
    timeout=15.0,
)
def grade_cache_aside(g: Grader, cached_get: Any) -> None:
    path = g.dataset("tiny")

    async def scenario() -> tuple[Any, Any, int, int]:
        async with connect(path) as db:
            ranked = await products_by_popularity(db)
            truth = {}
            for pid in ranked:
                truth[pid] = await fetch_product(db, pid)
        trace = zipf_trace(ranked, ASIDE_REQUESTS, seed=g.seed, s=1.1)

        async def call(pid: int, cache: Any, load: Any) -> Any:
            return await g.acall(cached_get, pid, cache, load)

        got = await replay_aside(call, LRUCache(maxsize=ASIDE_CACHE_SIZE), truth, trace)
        ref = await replay_aside(
            reference.cached_get, LRUCache(maxsize=ASIDE_CACHE_SIZE), truth, trace
        )
        return got, ref, len(set(trace)), len(trace)

    got, ref, distinct, requests = g.run(scenario())
    g.expect(
        got.bad_labels == 0,
        f"{got.bad_labels} of {requests} calls did not return (product, 'hit' or 'miss')",
        hint="Return a pair: the product dict and the string 'hit' or 'miss'.",
    )
    if got.wrong_products:
        asked, returned = got.wrong_products[0]
        g.expect(
            False,
            f"{len(got.wrong_products)} of {requests} reads returned the wrong product "
            f"(first: asked for id {asked}, got id {returned})",
            hint="Key the cache by the product: product_key(product_id).",
        )
    g.measure(
        "X-Cache labels that lied",
        got.dishonest_labels,
        target="0",
        ok=got.dishonest_labels == 0,
        hint="Say 'hit' only when the value came from the cache without calling load().",
    )
    g.measure(
        "hit rate on the seeded trace",
        round(got.counter.hit_rate, 3),
        target=f"≥ {0.95 * ref.counter.hit_rate:.0%} (reference {ref.counter.hit_rate:.0%})",
        ok=got.counter.hits >= 0.95 * ref.counter.hits,
        hint="Store every loaded product in the cache, under a key that does not change "
        "between requests for the same product.",
    )
    g.measure(
        "database loads",
        got.loads,
        target=f"= misses ({got.counter.misses}), {requests} requests, {distinct} distinct ids",
        ok=got.loads == got.counter.misses,
    )
    g.note(
        f"database load cut by {1 - got.loads / requests:.0%} for a hit rate of "
        f"{got.counter.hit_rate:.0%}"
    )


INVALIDATION_WARM = 12


@exercise(
    "03.invalidation",
    title="Invalidate on write: no stale product after an update or a delete",
    answers=("update_product_price", "delete_product"),
    hint="Write to the database and commit, then cache.pop(product_key(product_id), None). "
    "Drop only that key: the rest of the cache is still good.",
    points=2,
    timeout=15.0,
)
def grade_invalidation(g: Grader, update_product_price: Any, delete_product: Any) -> None:
    path = g.dataset("tiny")
    rng = random.Random(g.seed)

    async def scenario() -> dict[str, Any]:
        async with connect(path) as db:
            ranked = await products_by_popularity(db)
            chosen = rng.sample(ranked, INVALIDATION_WARM)
            cache: LRUCache[str, Any] = LRUCache(maxsize=64)

            async def load(pid: int) -> Any:
                return await fetch_product(db, pid)

            for pid in chosen:
                await reference.cached_get(pid, cache, load)
            updated, deleted, kept = chosen[:3], chosen[3:5], chosen[5:]
            stale: list[str] = []
            not_written: list[str] = []
            for pid in updated:
                before = await fetch_product(db, pid)
                assert before is not None
                new_price = int(before["price_cents"]) + rng.randint(101, 999)
                await g.acall(update_product_price, db, cache, pid, new_price)
                product, _ = await reference.cached_get(pid, cache, load)
                row = await fetch_product(db, pid)
                if row is None or row["price_cents"] != new_price:
                    not_written.append(f"update of product {pid}")
                if product is None or product["price_cents"] != new_price:
                    shown = None if product is None else product["price_cents"]
                    stale.append(f"product {pid}: price {shown}, expected {new_price}")
            for pid in deleted:
                await g.acall(delete_product, db, cache, pid)
                product, _ = await reference.cached_get(pid, cache, load)
                if await fetch_product(db, pid) is not None:
                    not_written.append(f"delete of product {pid}")
                if product is not None:
                    stale.append(f"product {pid}: deleted but still served")
            dropped = [pid for pid in kept if product_key(pid) not in cache]
            return {"stale": stale, "not_written": not_written, "dropped": dropped, "kept": kept}

    got = g.run(scenario())
    g.expect(
        not got["not_written"],
        f"the database was not changed: {got['not_written'][0] if got['not_written'] else ''}",
        hint="Run the UPDATE / DELETE on db and await db.commit().",
    )
    g.measure(
        "stale reads after a write",
        len(got["stale"]),
        target="0",
        ok=not got["stale"],
        hint="A stale read is a failure, not a speed-up: drop product_key(product_id) "
        "from the cache on every update and every delete"
        + (f" (first: {got['stale'][0]})." if got["stale"] else "."),
    )
    g.measure(
        "unrelated entries dropped",
        len(got["dropped"]),
        target=f"0 of {len(got['kept'])}",
        ok=not got["dropped"],
        hint="Invalidate only the key you wrote; clearing the whole cache throws hits away.",
    )
