"""Discrimination cases for notebook 03 (caching): stubs, references, other correct answers,
and the plausible wrong answers each check must reject."""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from collections.abc import MutableMapping
from typing import Any

from cachetools import LRUCache, TLRUCache, TTLCache

from labkit.lessons.n03_caching import reference
from labkit.lessons.n03_caching.workload import PRODUCT_COLUMNS, product_key
from tests.answers import Case

# ---- 03.bounded_cache ---------------------------------------------------------------------------


def bounded_stub(max_bytes: int, ttl: float, timer: Any) -> Any:
    raise NotImplementedError()


class HandWrittenLRU(MutableMapping[str, bytes]):
    """LRU by bytes with a TTL, without cachetools: an OrderedDict of (value, expires)."""

    def __init__(self, max_bytes: int, ttl: float, timer: Any) -> None:
        self.max_bytes, self.ttl, self.timer = max_bytes, ttl, timer
        self.entries: OrderedDict[str, tuple[bytes, float]] = OrderedDict()
        self.size = 0

    def __getitem__(self, key: str) -> bytes:
        value, expires = self.entries[key]
        if self.timer() >= expires:
            del self[key]
            raise KeyError(key)
        self.entries.move_to_end(key)
        return value

    def __setitem__(self, key: str, value: bytes) -> None:
        if key in self.entries:
            del self[key]
        self.entries[key] = (value, self.timer() + self.ttl)
        self.size += len(value)
        while self.size > self.max_bytes:
            _, (old, _) = self.entries.popitem(last=False)
            self.size -= len(old)

    def __delitem__(self, key: str) -> None:
        value, _ = self.entries.pop(key)
        self.size -= len(value)

    def __contains__(self, key: object) -> bool:
        found = self.entries.get(key)  # type: ignore[call-overload]
        return found is not None and self.timer() < found[1]

    def __iter__(self) -> Any:
        return iter(list(self.entries))

    def __len__(self) -> int:
        return len(self.entries)


def bounded_hand_written(max_bytes: int, ttl: float, timer: Any) -> Any:
    return HandWrittenLRU(max_bytes, ttl, timer)


def bounded_tlru(max_bytes: int, ttl: float, timer: Any) -> Any:
    return TLRUCache(
        maxsize=max_bytes, ttu=lambda _k, _v, now: now + ttl, timer=timer, getsizeof=len
    )


def bounded_unbounded(max_bytes: int, ttl: float, timer: Any) -> Any:
    return {}


def bounded_by_count(max_bytes: int, ttl: float, timer: Any) -> Any:
    return TTLCache(maxsize=64, ttl=ttl, timer=timer)  # 64 entries, whatever their size


def bounded_no_ttl(max_bytes: int, ttl: float, timer: Any) -> Any:
    return LRUCache(maxsize=max_bytes, getsizeof=len)


def bounded_real_clock(max_bytes: int, ttl: float, timer: Any) -> Any:
    return TTLCache(maxsize=max_bytes, ttl=ttl, getsizeof=len)  # ignores the clock it was given


# ---- 03.cache_aside -----------------------------------------------------------------------------


async def aside_stub(product_id: int, cache: Any, load: Any) -> Any:
    raise NotImplementedError()


async def aside_try_except(product_id: int, cache: Any, load: Any) -> Any:
    try:
        return cache[("product", product_id)], "hit"
    except KeyError:
        product = await load(product_id)
        cache[("product", product_id)] = product
        return product, "miss"


async def aside_no_cache(product_id: int, cache: Any, load: Any) -> Any:
    return await load(product_id), "miss"


async def aside_keyed_wrongly(product_id: int, cache: Any, load: Any) -> Any:
    if "product" in cache:  # one key for every product
        return cache["product"], "hit"
    product = await load(product_id)
    cache["product"] = product
    return product, "miss"


async def aside_always_hit_label(product_id: int, cache: Any, load: Any) -> Any:
    product, _ = await reference.cached_get(product_id, cache, load)
    return product, "hit"


_requests_seen = 0


async def aside_key_per_request(product_id: int, cache: Any, load: Any) -> Any:
    global _requests_seen
    _requests_seen += 1
    key = f"product:{product_id}:{_requests_seen}"  # a key that never repeats
    if key in cache:
        return cache[key], "hit"
    product = await load(product_id)
    cache[key] = product
    return product, "miss"


# ---- 03.invalidation ----------------------------------------------------------------------------


async def update_stub(db: Any, cache: Any, product_id: int, price_cents: int) -> None:
    raise NotImplementedError()


async def delete_stub(db: Any, cache: Any, product_id: int) -> None:
    raise NotImplementedError()


async def update_write_through(db: Any, cache: Any, product_id: int, price_cents: int) -> None:
    await db.execute("UPDATE products SET price_cents = ? WHERE id = ?", (price_cents, product_id))
    await db.commit()
    key = product_key(product_id)
    if key in cache:  # refresh the cached copy instead of dropping it
        cache[key] = {**cache[key], "price_cents": price_cents}


async def delete_with_del(db: Any, cache: Any, product_id: int) -> None:
    await db.execute("DELETE FROM products WHERE id = ?", (product_id,))
    await db.commit()
    if product_key(product_id) in cache:
        del cache[product_key(product_id)]


async def update_no_invalidation(db: Any, cache: Any, product_id: int, price_cents: int) -> None:
    await db.execute("UPDATE products SET price_cents = ? WHERE id = ?", (price_cents, product_id))
    await db.commit()


async def delete_no_invalidation(db: Any, cache: Any, product_id: int) -> None:
    await db.execute("DELETE FROM products WHERE id = ?", (product_id,))
    await db.commit()


async def update_wrong_key(db: Any, cache: Any, product_id: int, price_cents: int) -> None:
    await reference.update_product_price(db, {}, product_id, price_cents)
    cache.pop(product_id, None)  # the int id, not product_key(product_id)


async def delete_wrong_key(db: Any, cache: Any, product_id: int) -> None:
    await reference.delete_product(db, {}, product_id)
    cache.pop(product_id, None)


async def update_clear_all(db: Any, cache: Any, product_id: int, price_cents: int) -> None:
    await reference.update_product_price(db, {}, product_id, price_cents)
    cache.clear()


async def delete_clear_all(db: Any, cache: Any, product_id: int) -> None:
    await reference.delete_product(db, {}, product_id)
    cache.clear()


async def update_cache_only(db: Any, cache: Any, product_id: int, price_cents: int) -> None:
    cache.pop(product_key(product_id), None)  # forgot the database


# ---- 03.two_layer -------------------------------------------------------------------------------


async def layers_stub(key: str, l1: Any, l2: Any, load: Any) -> Any:
    raise NotImplementedError()


async def layers_alternative(key: str, l1: Any, l2: Any, load: Any) -> Any:
    if key in l1:
        return l1[key]
    found = None
    l2_ok = True
    try:
        found = await l2.get(key)
    except Exception:
        l2_ok = False
    if found is None:
        found = await load(key)
        if l2_ok:
            with contextlib.suppress(Exception):
                await l2.set(key, found)
    l1[key] = found
    return found


async def layers_fail_closed(key: str, l1: Any, l2: Any, load: Any) -> Any:
    if key in l1:
        return l1[key]
    value = await l2.get(key)
    if value is None:
        value = await load(key)
        await l2.set(key, value)
    l1[key] = value
    return value


async def layers_no_l1_fill(key: str, l1: Any, l2: Any, load: Any) -> Any:
    if key in l1:
        return l1[key]
    try:
        value = await l2.get(key)
    except Exception:
        value = None
    if value is not None:
        return value  # L1 never learns about an L2 hit
    value = await load(key)
    l1[key] = value
    with contextlib.suppress(Exception):
        await l2.set(key, value)
    return value


async def layers_l1_only(key: str, l1: Any, l2: Any, load: Any) -> Any:
    if key not in l1:
        l1[key] = await load(key)  # L2 never written: other workers load again
    return l1[key]


async def layers_none_on_error(key: str, l1: Any, l2: Any, load: Any) -> Any:
    if key in l1:
        return l1[key]
    try:
        value = await l2.get(key)
        if value is None:
            value = await load(key)
            await l2.set(key, value)
    except Exception:
        return None  # "fail open" by answering nothing
    l1[key] = value
    return value


# ---- 03.single_flight ---------------------------------------------------------------------------


def flight_stub(load: Any) -> Any:
    raise NotImplementedError()


def flight_with_events(load: Any) -> Any:
    """Waiters wait on an Event; the first caller loads and publishes the outcome."""
    waiting: dict[Any, tuple[asyncio.Event, dict[str, Any]]] = {}

    async def get(key: Any) -> Any:
        if key in waiting:
            event, outcome = waiting[key]
            await event.wait()
        else:
            event, outcome = asyncio.Event(), {}
            waiting[key] = (event, outcome)
            try:
                outcome["value"] = await load(key)
            except Exception as exc:
                outcome["error"] = exc
            finally:
                del waiting[key]
                event.set()
        if "error" in outcome:
            raise outcome["error"]
        return outcome["value"]

    return get


def flight_check_then_load(load: Any) -> Any:
    results: dict[Any, Any] = {}

    async def get(key: Any) -> Any:
        if key in results:
            return results.pop(key)
        value = await load(key)  # every caller arriving meanwhile loads too
        return value

    return get


def flight_global_lock(load: Any) -> Any:
    lock = asyncio.Lock()
    results: dict[Any, Any] = {}

    async def get(key: Any) -> Any:
        async with lock:  # one lock for all keys: different keys queue behind each other
            if key not in results:
                results[key] = await load(key)
            return results[key]

    return get


def flight_never_forgets(load: Any) -> Any:
    tasks: dict[Any, asyncio.Task[Any]] = {}

    async def get(key: Any) -> Any:
        if key not in tasks:
            tasks[key] = asyncio.ensure_future(load(key))  # kept forever: a cache with no expiry
        return await tasks[key]

    return get


def flight_one_future(load: Any) -> Any:
    current: list[asyncio.Future[Any]] = []

    async def get(key: Any) -> Any:
        if not current or current[0].done():
            current[:] = [asyncio.ensure_future(load(key))]
        return await current[0]  # whichever key started the flight

    return get


# ---- 03.warming ---------------------------------------------------------------------------------


async def warm_stub(db: Any, cache: Any, n: int) -> int:
    raise NotImplementedError()


async def warm_rank_in_python(db: Any, cache: Any, n: int) -> int:
    async with db.execute(f"SELECT {PRODUCT_COLUMNS} FROM products") as cursor:
        rows = [dict(r) for r in await cursor.fetchall()]
    rows.sort(key=lambda r: (-r["view_count"], r["id"]))
    for row in rows[:n]:
        cache[product_key(row["id"])] = row
    return len(rows[:n])


async def _warm_ordered(db: Any, cache: Any, n: int, order: str) -> int:
    async with db.execute(
        f"SELECT {PRODUCT_COLUMNS} FROM products ORDER BY {order} LIMIT ?", (n,)
    ) as cursor:
        rows = await cursor.fetchall()
    for row in rows:
        cache[product_key(row["id"])] = dict(row)
    return len(rows)


async def warm_by_id(db: Any, cache: Any, n: int) -> int:
    return await _warm_ordered(db, cache, n, "id")


async def warm_by_sales(db: Any, cache: Any, n: int) -> int:
    return await _warm_ordered(db, cache, n, "sales_count DESC, id")


async def warm_least_viewed(db: Any, cache: Any, n: int) -> int:
    return await _warm_ordered(db, cache, n, "view_count, id")


async def warm_n_plus_one(db: Any, cache: Any, n: int) -> int:
    async with db.execute(
        "SELECT id FROM products ORDER BY view_count DESC, id LIMIT ?", (n,)
    ) as cursor:
        ids = [row[0] for row in await cursor.fetchall()]
    for pid in ids:  # one more query per product
        async with db.execute(f"SELECT {PRODUCT_COLUMNS} FROM products WHERE id = ?", (pid,)) as c:
            cache[product_key(pid)] = dict(await c.fetchone())
    return len(ids)


# The top 15 of the tiny dataset for seed 42, typed in: right for that seed only.
_TOP_15_SEED_42 = (23, 51, 7, 72, 62, 98, 101, 31, 35, 99, 48, 112, 96, 26, 120)


async def warm_hard_coded(db: Any, cache: Any, n: int) -> int:
    marks = ", ".join("?" for _ in _TOP_15_SEED_42)
    async with db.execute(
        f"SELECT {PRODUCT_COLUMNS} FROM products WHERE id IN ({marks})", _TOP_15_SEED_42
    ) as cursor:
        rows = await cursor.fetchall()
    for row in rows:
        cache[product_key(row["id"])] = dict(row)
    return len(rows)


CASES = {
    "03.bounded_cache": Case(
        stub=(bounded_stub,),
        reference=(reference.make_product_cache,),
        alternatives=[(bounded_hand_written,), (bounded_tlru,)],
        wrong={
            "unbounded_dict": (bounded_unbounded,),
            "bounded_by_count": (bounded_by_count,),
            "no_ttl": (bounded_no_ttl,),
            "ignores_timer": (bounded_real_clock,),
        },
    ),
    "03.cache_aside": Case(
        stub=(aside_stub,),
        reference=(reference.cached_get,),
        alternatives=[(aside_try_except,)],
        wrong={
            "no_cache": (aside_no_cache,),
            "keyed_wrongly": (aside_keyed_wrongly,),
            "key_per_request": (aside_key_per_request,),
            "label_always_hit": (aside_always_hit_label,),
        },
    ),
    "03.invalidation": Case(
        stub=(update_stub, delete_stub),
        reference=(reference.update_product_price, reference.delete_product),
        alternatives=[(update_write_through, delete_with_del)],
        wrong={
            "no_invalidation": (update_no_invalidation, delete_no_invalidation),
            "keyed_wrongly": (update_wrong_key, delete_wrong_key),
            "clears_everything": (update_clear_all, delete_clear_all),
            "delete_not_invalidated": (reference.update_product_price, delete_no_invalidation),
            "cache_only": (update_cache_only, reference.delete_product),
        },
    ),
    "03.two_layer": Case(
        stub=(layers_stub,),
        reference=(reference.two_layer_get,),
        alternatives=[(layers_alternative,)],
        wrong={
            "fail_closed": (layers_fail_closed,),
            "l1_not_filled_from_l2": (layers_no_l1_fill,),
            "l2_never_written": (layers_l1_only,),
            "none_when_l2_down": (layers_none_on_error,),
        },
    ),
    "03.single_flight": Case(
        stub=(flight_stub,),
        reference=(reference.make_single_flight,),
        alternatives=[(flight_with_events,)],
        wrong={
            "lets_callers_through": (flight_check_then_load,),
            "global_lock": (flight_global_lock,),
            "never_forgets": (flight_never_forgets,),
            "one_flight_for_all_keys": (flight_one_future,),
        },
    ),
    "03.warming": Case(
        stub=(warm_stub,),
        reference=(reference.warm_cache,),
        alternatives=[(warm_rank_in_python,)],
        wrong={
            "first_ids": (warm_by_id,),
            "by_sales": (warm_by_sales,),
            "least_viewed": (warm_least_viewed,),
            "n_plus_one": (warm_n_plus_one,),
            "hard_coded_ids": (warm_hard_coded,),
        },
        fits_default_seed=("hard_coded_ids",),
    ),
}
