"""Reference answers for the caching exercises; the checks compare learners' answers with these.

Storage comes from well-kept libraries (cachetools for the in-process cache); the cache-aside
logic, the invalidation and the single flight are the lesson, so they are written out here.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import aiosqlite
from cachetools import TTLCache

from labkit.lessons.n03_caching.workload import PRODUCT_COLUMNS, Loader, Product, product_key


def make_product_cache(
    max_bytes: int, ttl: float, timer: Callable[[], float]
) -> MutableMapping[str, bytes]:
    """An LRU cache of byte strings: at most ``max_bytes`` bytes, entries expire after ``ttl``."""
    return TTLCache(maxsize=max_bytes, ttl=ttl, timer=timer, getsizeof=len)


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


async def update_product_price(
    db: aiosqlite.Connection, cache: MutableMapping[str, Any], product_id: int, price_cents: int
) -> None:
    """Write first, then drop the cached copy, so the next read loads the new row."""
    await db.execute(
        "UPDATE products SET price_cents = ? WHERE id = ?", (int(price_cents), int(product_id))
    )
    await db.commit()
    cache.pop(product_key(product_id), None)


async def delete_product(
    db: aiosqlite.Connection, cache: MutableMapping[str, Any], product_id: int
) -> None:
    """Delete the row, then drop the cached copy."""
    await db.execute("DELETE FROM products WHERE id = ?", (int(product_id),))
    await db.commit()
    cache.pop(product_key(product_id), None)


async def two_layer_get(
    key: str, l1: MutableMapping[str, Any], l2: Any, load: Callable[[str], Awaitable[Any]]
) -> Any:
    """L1, then L2 (filling L1), then the loader (filling both); an L2 error is a miss."""
    value = l1.get(key)
    if value is not None:
        return value
    try:
        value = await l2.get(key)
    except Exception:  # fail open: a broken shared cache must not fail the request
        value = None
    if value is not None:
        l1[key] = value
        return value
    value = await load(key)
    if value is not None:
        l1[key] = value
        with contextlib.suppress(Exception):  # fail open on writes too
            await l2.set(key, value)
    return value


def make_single_flight(
    load: Callable[[Any], Awaitable[Any]],
) -> Callable[[Any], Awaitable[Any]]:
    """``get(key)``: concurrent callers of one key share one ``load(key)``; later ones load anew."""
    in_flight: dict[Any, asyncio.Future[Any]] = {}

    async def get(key: Any) -> Any:
        future = in_flight.get(key)
        if future is None:
            future = asyncio.ensure_future(load(key))
            in_flight[key] = future
            # Forget the flight once it lands, success or failure: single flight is not a cache.
            future.add_done_callback(lambda _: in_flight.pop(key, None))
        # shield: one caller being cancelled must not cancel the load the others wait for
        return await asyncio.shield(future)

    return get


async def warm_cache(db: aiosqlite.Connection, cache: MutableMapping[str, Any], n: int) -> int:
    """Cache the ``n`` most viewed products (ties by id) with one query; return how many."""
    async with db.execute(
        f"SELECT {PRODUCT_COLUMNS} FROM products ORDER BY view_count DESC, id LIMIT ?", (int(n),)
    ) as cursor:
        rows = list(await cursor.fetchall())
    for row in rows:
        cache[product_key(row["id"])] = dict(row)
    return len(rows)
