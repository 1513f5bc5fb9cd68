"""Replaying request traces through a cache and counting what happened.

Used by the checks (the learner's cache and the reference replay the same seeded trace) and by
the notebook's demonstrations.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any

from labkit.lessons.n03_caching.workload import FakeClock, HitCounter, Loader, Product, zipf_trace


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
    clock: FakeClock,
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


@dataclass
class AsideReplay:
    """What a cache-aside read function did on a product trace."""

    counter: HitCounter
    loads: int
    wrong_products: list[tuple[int, int | None]]  # (requested id, id returned)
    dishonest_labels: int  # said "hit" but loaded, or "miss" without loading
    bad_labels: int  # neither "hit" nor "miss"


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
    dishonest = bad = 0
    for product_id in trace:
        before = loads
        result = await call(product_id, cache, load)
        product, status = _split_result(result)
        loaded = loads > before
        if status not in ("hit", "miss"):
            bad += 1
        elif (status == "hit") == loaded:
            dishonest += 1
        counter.record("miss" if loaded else "hit")
        if product != truth.get(product_id):
            got_id = product.get("id") if isinstance(product, dict) else None
            wrong.append((product_id, got_id))
    return AsideReplay(counter, loads, wrong, dishonest, bad)


def _split_result(result: Any) -> tuple[Any, Any]:
    if isinstance(result, tuple) and len(result) == 2:
        return result[0], result[1]
    return result, None
