"""Replaying request traces through a cache and counting what happened.

Used by the checks (the learner's cache and the reference replay the same seeded trace) and by
the notebook's demonstrations.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any

from labkit.clock import ManualClock
from labkit.lessons.n03_caching.workload import (
    HitCounter,
    Loader,
    Product,
    product_key,
    product_size,
    zipf_trace,
)


@dataclass
class BoundedReplay:
    """What a byte-bounded TTL cache did on a trace: hits, and the rules it broke."""

    requests: int
    hits: int
    wrong_values: int
    expired_served: int
    max_bytes_held: int

    @property
    def hit_rate(self) -> float:
        return self.hits / self.requests if self.requests else 0.0


def blob_workload(
    seed: int, *, keys: int = 150, n: int = 800, sizes: tuple[int, int] = (200, 4000)
) -> tuple[dict[str, bytes], list[str]]:
    """Seeded byte values of varied sizes and a Zipf-like trace of their keys."""
    rng = random.Random(seed)
    names = [f"page:{i}" for i in range(1, keys + 1)]
    values = {k: f"{k}|".encode().ljust(rng.randint(*sizes), b"#") for k in names}
    ranked = names[:]
    rng.shuffle(ranked)
    return values, zipf_trace(ranked, n, seed=seed + 1, s=1.0)


def replay_bytes(
    cache: MutableMapping[str, bytes],
    clock: ManualClock,
    values: dict[str, bytes],
    trace: list[str],
    *,
    ttl: float,
    tick: float = 1.0,
) -> BoundedReplay:
    """Read-through replay: get, and on a miss store the value; one ``tick`` between requests.

    After every store, the bytes held are summed over the keys the cache says it holds
    (``key in cache`` does not touch recency, so the measurement does not change the LRU order).
    """
    stored_at: dict[str, float] = {}
    hits = wrong = expired = held_max = 0
    for key in trace:
        clock.advance(tick)
        value = cache.get(key)
        if value is not None:
            hits += 1
            if value != values[key]:
                wrong += 1
            elif clock() - stored_at[key] >= ttl:
                expired += 1
            continue
        cache[key] = values[key]
        stored_at[key] = clock()
        held = sum(len(v) for k, v in values.items() if k in cache)
        held_max = max(held_max, held)
    return BoundedReplay(len(trace), hits, wrong, expired, held_max)


# ---- products under a memory budget and a staleness bound ----------------------------------
Event = tuple[str, str]  # ("read" | "write", key)


def product_workload(
    seed: int, *, products: int = 120, n: int = 700, write_share: float = 0.08
) -> tuple[dict[str, Product], list[Event]]:
    """Seeded product dicts of varied JSON size, and a trace of reads and price writes.

    Reads and writes both follow a Zipf-like popularity. The trace ends with a fixed probe: a
    popular product is read (so it is cached), written in the same second, then read every
    second for a while, so a cache that keeps entries longer than the staleness bound serves
    the old price past the bound on every seed.
    """
    rng = random.Random(seed)
    catalogue = {
        product_key(i): {
            "id": i,
            "name": f"Product {i}",
            "description": "x" * rng.randint(60, 2600),
            "price_cents": rng.randint(100, 99_999),
            "stock": rng.randint(0, 500),
        }
        for i in range(1, products + 1)
    }
    ranked = list(catalogue)
    rng.shuffle(ranked)
    keys = zipf_trace(ranked, n, seed=seed + 1, s=1.0)
    events: list[Event] = [("write" if rng.random() < write_share else "read", k) for k in keys]
    probe = ranked[0]
    events += [("read", probe), ("write-now", probe)] + [("read", probe)] * 60
    return catalogue, events


@dataclass
class ProductReplay:
    """What a budgeted cache did on a product trace: hits, and the rules it broke."""

    requests: int
    hits: int
    max_bytes_held: int
    over_stale: int  # reads served longer than the bound after a newer price was written
    worst_staleness: float
    wrong_values: int  # a value that never was this product
    foreign_hits: int  # a hit on a key this replay never stored in this cache

    @property
    def hit_rate(self) -> float:
        return self.hits / self.requests if self.requests else 0.0


def replay_products(
    cache: MutableMapping[str, Product],
    clock: ManualClock,
    catalogue: Mapping[str, Product],
    events: list[Event],
    *,
    max_stale: float,
    tick: float = 1.0,
) -> ProductReplay:
    """Read-through replay with writes; one ``tick`` of the fake clock per event.

    A write changes the product's price in the "database" (the replay's own copy) without
    telling the cache: only the cache's time to live can bound how stale a read is. After every
    store the bytes held are summed (``product_size``) over the keys the cache says it holds.
    """
    versions: dict[str, list[tuple[float, Product]]] = {
        key: [(clock(), dict(value))] for key, value in catalogue.items()
    }
    stored: dict[str, Product] = {}
    sizes: dict[str, int] = {}  # bytes of what this replay stored, per key
    requests = hits = over = wrong = foreign = held_max = 0
    worst = 0.0
    price = 1
    for kind, key in events:
        if kind != "write-now":
            clock.advance(tick)
        if kind in ("write", "write-now"):
            price += 1
            current = dict(
                versions[key][-1][1], price_cents=versions[key][-1][1]["price_cents"] + price
            )
            versions[key].append((clock(), current))
            continue
        requests += 1
        value = cache.get(key)
        if value is None:
            fresh = dict(versions[key][-1][1])
            cache[key] = fresh
            stored[key] = fresh
            sizes[key] = product_size(fresh)
            held = sum(size for k, size in sizes.items() if k in cache)
            held_max = max(held_max, held)
            continue
        hits += 1
        if key not in stored:
            foreign += 1
            continue
        history = versions[key]
        matching = [i for i, (_, v) in enumerate(history) if v == value]
        if not matching:
            wrong += 1
            continue
        newer = matching[-1] + 1
        if newer < len(history):
            staleness = clock() - history[newer][0]
            worst = max(worst, staleness)
            if staleness > max_stale:
                over += 1
    return ProductReplay(requests, hits, held_max, over, worst, wrong, foreign)


@dataclass
class AsideReplay:
    """What a cache-aside read function did on a product trace."""

    counter: HitCounter
    loads: int
    wrong_products: list[tuple[int, int | None]]  # (requested id, id returned)
    dishonest_labels: int  # said "hit" but loaded, or "miss" without loading
    bad_labels: int  # neither "hit" nor "miss"
    outside_hits: int = 0  # answered without loading while the given cache lacked the key
    not_stored: int = 0  # loaded a product but left product_key(id) out of the given cache


async def replay_aside(
    call: Callable[[int, MutableMapping[str, Any], Loader], Awaitable[Any]],
    cache: MutableMapping[str, Any],
    truth: Mapping[int, Product | None],
    trace: list[int],
) -> AsideReplay:
    """Call ``call(product_id, cache, load)`` per id; ``load`` reads ``truth`` and is counted.

    ``call`` is expected to return ``(product, "hit" | "miss")``.
    """
    loads = 0

    async def load(product_id: int) -> Product | None:
        nonlocal loads
        loads += 1
        found = truth.get(product_id)
        return None if found is None else dict(found)

    counter = HitCounter()
    wrong: list[tuple[int, int | None]] = []
    dishonest = bad = outside = not_stored = 0
    for product_id in trace:
        before = loads
        key = product_key(product_id)
        present = key in cache  # `in` does not touch an LRU's recency
        result = await call(product_id, cache, load)
        product, status = _split_result(result)
        loaded = loads > before
        if not loaded and not present:
            outside += 1
        if loaded and product is not None and key not in cache:
            not_stored += 1
        if status not in ("hit", "miss"):
            bad += 1
        elif (status == "hit") == loaded:
            dishonest += 1
        counter.record("miss" if loaded else "hit")
        if product != truth.get(product_id):
            got_id = product.get("id") if isinstance(product, dict) else None
            wrong.append((product_id, got_id))
    return AsideReplay(counter, loads, wrong, dishonest, bad, outside, not_stored)


def _split_result(result: Any) -> tuple[Any, Any]:
    if isinstance(result, tuple) and len(result) == 2:
        return result[0], result[1]
    return result, None
