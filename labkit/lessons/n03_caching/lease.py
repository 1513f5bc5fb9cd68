"""03.lease — write-then-invalidate narrows the stale-read race; a version check closes it.

The race that remains: a reader misses, loads the row, and is slow (a GC pause, a long network
hop); meanwhile a writer updates the row, commits and drops the key; then the reader stores the
row it loaded *before* the write. The cache now holds the old price until the entry expires.
``slow_reader_race`` makes that interleaving happen every time, with events instead of luck.

The fix taught (the idea behind memcached leases): every invalidation bumps a per-key version;
a reader notes the version before it loads and stores only if the version has not moved. The
check drives deterministic interleavings and counts stale entries left behind, hits kept, and
loads.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from cachetools import LRUCache

from labkit.grading import Grader, exercise, reference_answer
from labkit.lessons.n03_caching.workload import Product, product_key

Versions = MutableMapping[str, int]
Read = Callable[[int, MutableMapping[str, Any], Callable[[int], Awaitable[Any]]], Awaitable[Any]]


def invalidate(cache: MutableMapping[str, Any], versions: Versions, product_id: int) -> None:
    """What a writer does after its commit: bump the key's version, then drop the cached copy."""
    key = product_key(product_id)
    versions[key] = versions.get(key, 0) + 1
    cache.pop(key, None)


@reference_answer
async def guarded_get(
    product_id: int,
    cache: MutableMapping[str, Any],
    versions: Versions,
    load: Callable[[int], Awaitable[Product | None]],
) -> tuple[Product | None, str]:
    """Cache-aside read that stores what it loaded only if no invalidation happened meanwhile."""
    key = product_key(product_id)
    product = cache.get(key)
    if product is not None:
        return product, "hit"
    version = versions.get(key, 0)  # noted before the load: the "lease"
    product = await load(product_id)
    if product is not None and versions.get(key, 0) == version:
        cache[key] = product
    return product, "miss"


@dataclass
class RaceOutcome:
    """After one slow-reader interleaving: what the cache holds, and what the database says."""

    reader_got: Any
    cached: Any
    database: Any

    @property
    def stale(self) -> bool:
        return self.cached is not None and self.cached != self.database


async def slow_reader_race(
    read: Callable[[Callable[[int], Awaitable[Any]]], Awaitable[Any]],
    fetch: Callable[[], Awaitable[Any]],
    write: Callable[[], Awaitable[None]],
    cached: Callable[[], Any],
) -> RaceOutcome:
    """Reader loads (old row) → writer writes, commits, invalidates → reader finishes.

    ``read(load)`` runs the reader with a loader that fetches the row with ``fetch()`` and then
    waits until the writer is done; ``write()`` is the whole write path; ``cached()`` reads what
    the cache holds afterwards.
    """
    loaded, written = asyncio.Event(), asyncio.Event()

    async def slow_load(_product_id: int) -> Any:
        row = await fetch()
        loaded.set()
        await written.wait()  # the reader stalls here with the old row in hand
        return row

    async def writer() -> None:
        await loaded.wait()
        await write()
        written.set()

    got, _ = await asyncio.gather(read(slow_load), writer())
    return RaceOutcome(got, cached(), await fetch())


async def _race_one(
    g: Grader,
    guarded_get: Any,
    pid: int,
    cache: MutableMapping[str, Any],
    versions: Versions,
    database: dict[int, Any],
) -> RaceOutcome:
    """One slow reader of ``pid`` against one writer, on the learner's ``guarded_get``."""

    async def fetch() -> Any:
        row = database.get(pid)
        return None if row is None else dict(row)

    async def write() -> None:
        database[pid] = {**database[pid], "price_cents": database[pid]["price_cents"] + 1}
        invalidate(cache, versions, pid)  # committed, then invalidated

    async def read(slow: Any) -> Any:
        return await g.acall(guarded_get, pid, cache, versions, slow)

    return await slow_reader_race(read, fetch, write, lambda: cache.get(product_key(pid)))


@exercise(
    "03.lease",
    title="Close the race a slow reader leaves open: store only if not invalidated meanwhile",
    answers=("guarded_get",),
    hint="Note version = versions.get(key, 0) before you await load(...); after it, store the "
    "product only if versions.get(key, 0) is still that version. Return the product either way.",
    points=2,
    timeout=15.0,
)
async def grade_lease(g: Grader, guarded_get: Any) -> None:
    rng = random.Random(g.seed)
    ids = rng.sample(range(1, 10_000), 8)
    raced, quiet = ids[:4], ids[4:]
    stale: list[str] = []
    wrong: list[str] = []
    loads = 0
    for round_no in range(2):  # two "services", each with its own cache, versions and database
        database = {pid: {"id": pid, "price_cents": rng.randint(100, 99_999)} for pid in ids}
        cache: LRUCache[str, Any] = LRUCache(maxsize=32)
        versions: dict[str, int] = {}

        async def load(pid: int, database: dict[int, Any] = database) -> Any:
            nonlocal loads
            loads += 1
            await asyncio.sleep(0)
            row = database.get(pid)
            return None if row is None else dict(row)

        left_stale: set[int] = set()
        for pid in raced:
            outcome = await _race_one(g, guarded_get, pid, cache, versions, database)
            if outcome.stale:
                left_stale.add(pid)
                stale.append(
                    f"product {pid}: cache holds price {outcome.cached.get('price_cents')}, "
                    f"database {outcome.database['price_cents']}"
                )
        # Quiet keys: no writer. Each is read three times: one load, then two hits.
        loads_before = loads
        for pid in quiet + quiet + quiet:
            result = await g.acall(guarded_get, pid, cache, versions, load)
            product = result[0] if isinstance(result, tuple) and len(result) == 2 else result
            if product != database[pid]:
                wrong.append(f"product {pid}: expected {database[pid]}, got {product!r}")
        quiet_loads = loads - loads_before
        # After a race, the next read must load the new row (and may then cache it).
        for pid in (p for p in raced if p not in left_stale):  # stale ones are counted below
            result = await g.acall(guarded_get, pid, cache, versions, load)
            product = result[0] if isinstance(result, tuple) and len(result) == 2 else result
            if product != database[pid]:
                wrong.append(f"product {pid} after the write: got {product!r}")
        g.expect(
            not wrong,
            f"round {round_no + 1}: {len(wrong)} reads returned the wrong product "
            f"(first: {wrong[0] if wrong else ''})",
            hint="Return the product you loaded (or found in the cache) with its label.",
        )
        g.measure(
            f"round {round_no + 1}: loads for {len(quiet)} quiet products read 3 times each",
            quiet_loads,
            target=f"{len(quiet)} (then hits)",
            ok=quiet_loads == len(quiet),
            hint="When no invalidation happened during the load, store the product under "
            "product_key(product_id) in the cache you were given, so the next read is a hit.",
        )
    g.measure(
        f"stale entries left by {2 * len(raced)} slow readers",
        len(stale),
        target="0",
        ok=not stale,
        hint="The reader loaded the row before the write and finished after the invalidation. "
        "Note versions.get(key, 0) before the load and store only if it has not changed"
        + (f" (first: {stale[0]})." if stale else "."),
    )


__all__ = ["RaceOutcome", "grade_lease", "guarded_get", "invalidate", "slow_reader_race"]
