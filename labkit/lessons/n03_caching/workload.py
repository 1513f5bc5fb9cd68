"""What the caching lesson caches: product reads, a seeded request trace, and counting doubles.

Real traffic is skewed: a few products get most of the views. The trace below draws product ids
with a Zipf-like popularity (rank ``r`` is requested with weight ``1 / r**s``), ranking products
by their ``view_count`` in the seeded dataset, so the trace depends on the seed twice: through
the data and through the random draws.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import aiosqlite
import orjson

from labkit.display import TextView

Product = dict[str, Any]
Loader = Callable[[int], Awaitable[Product | None]]
K = TypeVar("K")

PRODUCT_COLUMNS = (
    "id, category_id, name, description, price_cents, stock, view_count, sales_count, updated_at"
)


def product_key(product_id: int) -> str:
    """The one cache key for a product; readers and writers must both use it."""
    return f"product:{int(product_id)}"


def product_size(product: Product) -> int:
    """What a cached product weighs for a memory budget: the bytes of its JSON (what the API
    sends). ``len(product)`` is its number of fields, not its size."""
    return len(orjson.dumps(product))


async def fetch_product(db: aiosqlite.Connection, product_id: int) -> Product | None:
    """One product as a plain dict (one SQL statement), or None when there is no such id."""
    async with db.execute(
        f"SELECT {PRODUCT_COLUMNS} FROM products WHERE id = ?", (int(product_id),)
    ) as cursor:
        row = await cursor.fetchone()
    return None if row is None else dict(row)


async def products_by_popularity(db: aiosqlite.Connection) -> list[int]:
    """Every product id, most viewed first (ties by id): the order the trace draws from."""
    async with db.execute("SELECT id FROM products ORDER BY view_count DESC, id") as cursor:
        rows = await cursor.fetchall()
    return [int(row[0]) for row in rows]


def zipf_trace(ranked_ids: Sequence[K], n: int, *, seed: int, s: float = 1.0) -> list[K]:
    """``n`` requested ids; the id at rank ``r`` (0-based) is drawn with weight ``1/(r+1)**s``."""
    if n < 0 or not ranked_ids:
        raise ValueError("zipf_trace needs n >= 0 and at least one id")
    weights = [1.0 / (rank + 1) ** s for rank in range(len(ranked_ids))]
    return random.Random(seed).choices(list(ranked_ids), weights=weights, k=n)


@dataclass(repr=False)
class HitCounter(TextView):
    """Hit and miss counts for a cache, with the hit rate (0 when nothing was asked)."""

    hits: int = 0
    misses: int = 0

    def record(self, status: str) -> None:
        if status == "hit":
            self.hits += 1
        else:
            self.misses += 1

    @property
    def requests(self) -> int:
        return self.hits + self.misses

    @property
    def hit_rate(self) -> float:
        return self.hits / self.requests if self.requests else 0.0

    def __str__(self) -> str:
        return f"{self.hits} hits, {self.misses} misses: hit rate {self.hit_rate:.0%}"


@dataclass
class CountingLoader:
    """An async loader that counts its calls and how many run at once.

    ``source`` maps a key to its value (a missing key loads as None); ``delay`` seconds of
    ``asyncio.sleep`` stand in for a database round trip so concurrent calls overlap.
    """

    source: dict[Any, Any]
    delay: float = 0.0
    fail_keys: set[Any] = field(default_factory=set)
    calls: int = 0
    calls_by_key: dict[Any, int] = field(default_factory=dict)
    running: int = 0
    max_running: int = 0

    async def __call__(self, key: Any) -> Any:
        self.calls += 1
        self.calls_by_key[key] = self.calls_by_key.get(key, 0) + 1
        self.running += 1
        self.max_running = max(self.max_running, self.running)
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
            else:
                await asyncio.sleep(0)
            if key in self.fail_keys:
                self.fail_keys.discard(key)  # fails once, then the database is back
                raise ConnectionError(f"database unavailable while loading {key!r}")
            return self.source.get(key)
        finally:
            self.running -= 1


class MemoryL2:
    """A shared-cache double with the L2 interface (``await get/set/delete``) and counters.

    Stands in for the on-disk or Redis L2 in checks: two L1 caches over one ``MemoryL2`` behave
    like two worker processes over one shared cache. ``broken=True`` makes every call raise,
    as a Redis that is down would.
    """

    def __init__(self, *, broken: bool = False) -> None:
        self.data: dict[str, Any] = {}
        self.broken = broken
        self.gets = 0
        self.hits = 0
        self.sets = 0
        self.errors = 0

    def _maybe_fail(self) -> None:
        if self.broken:
            self.errors += 1
            raise ConnectionError("shared cache unreachable (connection refused)")

    async def get(self, key: str) -> Any:
        self.gets += 1
        self._maybe_fail()
        await asyncio.sleep(0)
        value = self.data.get(key)
        if value is not None:
            self.hits += 1
        return value

    async def set(self, key: str, value: Any, ttl: float | None = None) -> None:
        self.sets += 1
        self._maybe_fail()
        await asyncio.sleep(0)
        self.data[key] = value

    async def delete(self, key: str) -> None:
        self._maybe_fail()
        self.data.pop(key, None)
