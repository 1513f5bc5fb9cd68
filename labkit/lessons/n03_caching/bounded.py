"""03.bounded_cache — choose a cache for a memory budget and a staleness bound.

The notebook's demonstration bounds byte strings with ``getsizeof=len``; the exercise caches
product dicts (where ``len`` counts fields, not bytes) under a stated budget and a stated bound
on how long a changed price may still be served. The check replays seeded reads and writes on a
fake clock and counts: bytes held, reads served past the bound, hits.
"""

from __future__ import annotations

import random
from collections.abc import Callable, MutableMapping
from typing import Any

from cachetools import TTLCache

from labkit.clock import ManualClock
from labkit.grading import Grader, exercise, reference_answer
from labkit.grading.grader import NotYet
from labkit.lessons.n03_caching.replay import ProductReplay, product_workload, replay_products
from labkit.lessons.n03_caching.workload import Product, product_key, product_size

HIT_SHARE_OF_REFERENCE = 0.9  # a cache may keep a little less than the reference and still pass


@reference_answer
def make_product_cache(
    budget_bytes: int, max_stale_s: float, timer: Callable[[], float]
) -> MutableMapping[str, Product]:
    """LRU within ``budget_bytes`` of JSON (``product_size``); nothing served ``max_stale_s``
    after it was cached, so no price is older than the bound."""
    return TTLCache(maxsize=budget_bytes, ttl=max_stale_s, timer=timer, getsizeof=product_size)


def _settings(seed: int) -> list[tuple[int, float, float]]:
    """Two (budget, staleness bound, clock start) settings per attempt, drawn from the seed;
    the larger budget comes second for some seeds and first for others."""
    rng = random.Random(seed * 7 + 3)
    settings = [
        (rng.randrange(8_000, 14_000, 500), rng.randint(12, 20) + 0.5, 1_000.0),
        (rng.randrange(15_000, 24_000, 500), rng.randint(25, 40) + 0.5, 0.0),
    ]
    if rng.random() < 0.5:
        settings.reverse()
    return settings


@exercise(
    "03.bounded_cache",
    title="Choose a cache for a memory budget and a staleness bound",
    answers=("make_product_cache",),
    hint="The budget is in bytes of JSON: give the cache getsizeof=product_size and "
    "maxsize=budget_bytes; a price may be served at most max_stale_s after it changed, so "
    "entries must expire after that long (ttl), measured with timer.",
    points=1,
    timeout=15.0,
)
async def grade_bounded_cache(g: Grader, make_product_cache: Any) -> None:
    made: list[Any] = []
    for index, (budget, max_stale, start) in enumerate(_settings(g.seed)):
        catalogue, events = product_workload(g.seed + 101 * index)
        clock = ManualClock(start)
        cache = await g.acall(make_product_cache, budget, max_stale, clock)
        what = f"make_product_cache({budget:,}, {max_stale:g}, timer)"
        g.expect(
            all(hasattr(cache, name) for name in ("get", "__setitem__", "__contains__")),
            f"{what} should return a mapping (get, [key] = value, in); "
            f"it returned {type(cache).__name__}",
        )
        g.expect(
            all(cache is not earlier for earlier in made),
            f"{what} returned the same cache object as an earlier call: build a new, empty "
            "cache on every call (one per process or per dataset, each with its own settings).",
        )
        made.append(cache)
        got = _replay_learner_cache(what, cache, clock, catalogue, events, max_stale)
        ref_clock = ManualClock(start)
        ref = replay_products(
            _reference_cache(budget, max_stale, ref_clock),
            ref_clock,
            catalogue,
            events,
            max_stale=max_stale,
        )
        _judge(g, what, got, ref, budget, max_stale)
    await _probe_timer(g, make_product_cache, made, _settings(g.seed)[0][0])


_reference_cache = make_product_cache  # the grade function's parameter shadows the name


def _replay_learner_cache(
    what: str,
    cache: Any,
    clock: ManualClock,
    catalogue: dict[str, Product],
    events: list[Any],
    max_stale: float,
) -> ProductReplay:
    try:
        return replay_products(cache, clock, catalogue, events, max_stale=max_stale)
    except Exception as exc:  # the learner's cache object raised while being used
        raise NotYet(
            f"the cache {what} returned raised {type(exc).__name__}: {exc} while the check "
            "read and stored products (cache.get(key), cache[key] = product, key in cache)."
        ) from None


def _judge(
    g: Grader, what: str, got: ProductReplay, ref: ProductReplay, budget: int, max_stale: float
) -> None:
    g.expect(
        got.foreign_hits == 0,
        f"{what} returned a cache that answered {got.foreign_hits} reads for products the check "
        "had not stored in it: the cache must start empty and keep only what is put in it "
        "(no cache shared through a global).",
    )
    g.expect(
        got.wrong_values == 0,
        f"{what}: {got.wrong_values} reads returned a value that was never that product",
        hint="Store and look up each value under its own key.",
    )
    g.measure(
        f"most bytes held, budget {budget:,}",
        got.max_bytes_held,
        target=f"≤ {budget:,}",
        ok=got.max_bytes_held <= budget,
        hint="Count bytes, not entries: len(product) is its number of fields. Size each "
        "entry with product_size and use the budget as the cache's maxsize.",
    )
    g.measure(
        f"reads older than {max_stale:g} s after a price change",
        got.over_stale,
        target=f"0 (worst seen {got.worst_staleness:g} s)",
        ok=got.over_stale == 0,
        hint="Nothing tells this cache about writes, so only a time to live bounds staleness: "
        "an entry may live at most max_stale_s, measured with the timer you were given.",
    )
    g.measure(
        f"hits, budget {budget:,} and {max_stale:g} s",
        got.hits,
        target=f"≥ {HIT_SHARE_OF_REFERENCE:.0%} of the reference's {ref.hits} of {ref.requests}",
        ok=got.hits >= HIT_SHARE_OF_REFERENCE * ref.hits,
        hint="Use the whole budget and the whole staleness bound: a smaller cache or a "
        "shorter time to live only throws hits away.",
    )


async def _probe_timer(g: Grader, make_product_cache: Any, made: list[Any], budget: int) -> None:
    """A cache built on the real clock passes a replay only by luck: probe it directly. The
    probe repeats the first budget with another bound, so a factory memoised by budget shows."""
    clock = ManualClock(5_000.0)
    cache = await g.acall(make_product_cache, budget, 3.5, clock)
    g.expect(
        all(cache is not earlier for earlier in made),
        f"make_product_cache({budget:,}, 3.5, timer) returned the cache an earlier call with "
        "the same budget returned: build a new cache on every call, with the settings given.",
    )
    key = product_key(1)
    cache[key] = {"id": 1, "price_cents": 100}
    clock.advance(60.0)
    kept = cache.get(key) is not None
    g.measure(
        "served 60 s (on the timer given) after caching, bound 3.5 s",
        "yes" if kept else "no",
        target="no",
        ok=not kept,
        hint="Entries must expire, measured with the timer you were given: the check moves "
        "that fake clock, while the real clock hardly moves (timer=timer).",
    )


__all__ = ["grade_bounded_cache", "make_product_cache", "product_size"]
