"""03.cache_aside — cache-aside for product reads, with an honest hit/miss label.

The check replays two seeded, Zipf-skewed traces, each with a fresh cache and a fresh counting
loader; the second "database" has the same ids with other prices, and its popularity order is
reversed, so an answer that remembers products anywhere but in the cache it is given (a
module-level memo keyed by id) serves the first database's products and is caught.
"""

from __future__ import annotations

import random
from collections.abc import MutableMapping
from typing import Any

from cachetools import LRUCache

from labkit.db import connect
from labkit.grading import Grader, exercise, reference_answer
from labkit.lessons.n03_caching.replay import AsideReplay, replay_aside
from labkit.lessons.n03_caching.workload import (
    Loader,
    Product,
    fetch_product,
    product_key,
    products_by_popularity,
    zipf_trace,
)

ASIDE_REQUESTS = 300
CACHE_SIZES = (24, 17)  # smaller than the ids asked for: entries are evicted and asked again


@reference_answer
async def cached_get(
    product_id: int, cache: MutableMapping[str, Any], load: Loader
) -> tuple[Product | None, str]:
    """Cache-aside read: ``(product, "hit")`` from the cache, else load, store, ``"miss"``."""
    key = product_key(product_id)
    product = cache.get(key)
    if product is not None:
        return product, "hit"
    product = await load(product_id)
    if product is not None:  # an unknown id is not cached: it would pin a None
        cache[key] = product
    return product, "miss"


_reference_get = cached_get


@exercise(
    "03.cache_aside",
    title="Cache-aside for product reads, with an honest hit/miss label",
    answers=("cached_get",),
    hint="Look up product_key(product_id) in the cache you are given; on a hit return "
    "(product, 'hit'); otherwise await load(product_id), store it under the key and return "
    "(product, 'miss').",
    points=2,
    timeout=15.0,
)
async def grade_cache_aside(g: Grader, cached_get: Any) -> None:
    rng = random.Random(g.seed)
    async with connect(g.dataset("tiny")) as db:
        ranked = await products_by_popularity(db)
        first_db = {pid: await fetch_product(db, pid) for pid in ranked}
    # A second database: same ids, other prices, popularity reversed.
    second_db = {
        pid: None
        if row is None
        else {**row, "price_cents": row["price_cents"] + rng.randint(1, 999)}
        for pid, row in first_db.items()
    }
    runs = [
        ("first database", first_db, ranked, CACHE_SIZES[0], g.seed),
        ("second database", second_db, ranked[::-1], CACHE_SIZES[1], g.seed + 1),
    ]

    async def call(pid: int, cache: Any, load: Any) -> Any:
        return await g.acall(cached_get, pid, cache, load)

    hit_rates = []
    for label, truth, order, size, trace_seed in runs:
        trace = zipf_trace(order, ASIDE_REQUESTS, seed=trace_seed, s=1.1)
        got = await replay_aside(call, LRUCache(maxsize=size), truth, trace)
        ref = await replay_aside(_reference_get, LRUCache(maxsize=size), truth, trace)
        _judge(g, label, got, ref, len(set(trace)), len(trace))
        hit_rates.append((got.counter.hit_rate, 1 - got.loads / len(trace)))
    rate, cut = hit_rates[0]
    g.note(f"first database: load cut by {cut:.0%} for a hit rate of {rate:.0%}")


def _judge(
    g: Grader, label: str, got: AsideReplay, ref: AsideReplay, distinct: int, requests: int
) -> None:
    g.expect(
        got.bad_labels == 0,
        f"{label}: {got.bad_labels} of {requests} calls did not return (product, 'hit' or 'miss')",
        hint="Return a pair: the product dict and the string 'hit' or 'miss'.",
    )
    g.expect(
        got.not_stored == 0,
        f"{label}: after {got.not_stored} of {got.loads} loads the cache you were given did "
        "not hold product_key(product_id): store the product in that cache under that key "
        "(writers drop that key to invalidate it).",
    )
    g.expect(
        got.outside_hits == 0,
        f"{label}: {got.outside_hits} reads were answered without calling load() while the "
        "cache you were given did not hold the product: keep products only in that cache "
        "(each check hands over a fresh one), not in a global or a memo of your own.",
    )
    if got.wrong_products:
        asked, returned = got.wrong_products[0]
        detail = (
            f"asked for id {asked}, got another version of it: a product remembered from "
            "another database, outside the cache you were given"
            if asked == returned
            else f"asked for id {asked}, got id {returned}"
        )
        g.expect(
            False,
            f"{label}: {len(got.wrong_products)} of {requests} reads returned the wrong product "
            f"(first: {detail})",
            hint="Key the cache by the product, product_key(product_id), and keep products "
            "only in the cache you are given.",
        )
    g.measure(
        f"{label}: X-Cache labels that lied",
        got.dishonest_labels,
        target="0",
        ok=got.dishonest_labels == 0,
        hint="Say 'hit' only when the value came from the cache without calling load().",
    )
    g.measure(
        f"{label}: hits",
        got.counter.hits,
        target=f"≥ 95% of the reference's {ref.counter.hits} of {requests}",
        ok=got.counter.hits >= 0.95 * ref.counter.hits,
        hint="Store every loaded product in the cache, under a key that does not change "
        "between requests for the same product.",
    )
    g.measure(
        f"{label}: database loads",
        got.loads,
        target=f"= misses ({got.counter.misses}); {distinct} distinct ids",
        ok=got.loads == got.counter.misses,
    )


__all__ = ["cached_get", "grade_cache_aside"]
