"""Two cache layers, sharing loads through ``labkit.single_flight``.

L1 is in-process (cachetools TTL + LRU bound); L2 is shared between worker processes: an
on-disk diskcache by default, Redis when ``LABKIT_REDIS_URL`` is set. A failing L2 never fails
the request: it is counted and skipped (fail open).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
import weakref
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Protocol

import orjson
from cachetools import TTLCache

from labkit.app.metrics import AppCounters, request_metrics
from labkit.errors import ServerError
from labkit.single_flight import SingleFlight

log = logging.getLogger("labkit.app")


class SharedStore(Protocol):
    """What L2 (and the shared rate limiter) needs from a store shared between processes."""

    name: str

    async def get(self, key: str) -> bytes | None: ...
    async def set(self, key: str, value: bytes, ttl: float) -> None: ...
    async def delete(self, key: str) -> None: ...
    async def incr(self, key: str, ttl: float) -> int: ...
    async def counter(self, key: str) -> int: ...


class DiskStore:
    """diskcache on a local directory: SQLite underneath, safe across processes."""

    name = "disk"

    def __init__(self, directory: Path) -> None:
        import diskcache

        self.directory = Path(directory)
        self._cache = diskcache.Cache(str(self.directory))

    # diskcache calls are synchronous local SQLite operations taking microseconds; running them
    # on the loop is cheaper than a hop to a thread.
    async def get(self, key: str) -> bytes | None:
        value = self._cache.get(key)
        return value if isinstance(value, bytes) else None

    async def set(self, key: str, value: bytes, ttl: float) -> None:
        self._cache.set(key, value, expire=ttl)

    async def delete(self, key: str) -> None:
        self._cache.delete(key)

    async def counter(self, key: str) -> int:
        """The value ``incr`` has counted to (0 before the first)."""
        return int(self._cache.get(key, 0))

    async def incr(self, key: str, ttl: float) -> int:
        with self._cache.transact():
            value = int(self._cache.incr(key, 1, default=0))
            if value == 1:
                self._cache.touch(key, expire=ttl)
        return value

    def close(self) -> None:
        self._cache.close()


class RedisStore:
    """Redis via redis.asyncio (``pip install 'labkit[redis]'``)."""

    name = "redis"

    def __init__(self, url: str) -> None:
        try:
            import redis.asyncio as redis_asyncio
        except ImportError as exc:  # pragma: no cover - depends on the extra
            raise ServerError(
                "LABKIT_REDIS_URL is set but the redis package is missing: "
                "install labkit[redis] or unset LABKIT_REDIS_URL"
            ) from exc
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = (
            weakref.WeakKeyDictionary()
        )
        self._factory = lambda: redis_asyncio.from_url(url, socket_timeout=0.5)

    def _client(self) -> Any:
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            client = self._clients[loop] = self._factory()
        return client

    async def get(self, key: str) -> bytes | None:
        value = await self._client().get(key)
        return value if isinstance(value, bytes) else None

    async def set(self, key: str, value: bytes, ttl: float) -> None:
        await self._client().set(key, value, px=int(ttl * 1000))

    async def delete(self, key: str) -> None:
        await self._client().delete(key)

    async def counter(self, key: str) -> int:
        return int(await self._client().get(key) or 0)

    async def incr(self, key: str, ttl: float) -> int:
        pipe = self._client().pipeline()
        pipe.incr(key)
        pipe.pexpire(key, int(ttl * 1000), nx=True)
        value, _ = await pipe.execute()
        return int(value)


def shared_store(directory: Path) -> SharedStore:
    """Redis when ``LABKIT_REDIS_URL`` is set, else diskcache in ``directory``."""
    url = os.environ.get("LABKIT_REDIS_URL")
    if url:
        return RedisStore(url)
    return DiskStore(directory)


GENERATION_TTL = 24 * 3600.0
"""Seconds a key's shared generation number lives: far longer than any cached value, so a
generation never restarts while a value stored under an older one could still be read."""


class LayeredCache:
    """Cache-aside over L1 (in-process) and L2 (shared), with invalidation on write that every
    worker process honours.

    Each key has a generation number kept in the shared store (``gen:<key>``), raised by every
    invalidation. L2 values are stored under the generation they were loaded in
    (``<key>@<generation>``) and L1 entries remember theirs; every read first asks the shared
    store for the key's current generation, so after an acknowledged write no worker serves a
    value from before it — not from its own L1, not from L2. A load that started before the
    write stores its value under the old generation, where nobody reads it (versioned keys).
    If the shared store cannot be read, the cache is bypassed (fail open: the request is served
    from the database, never from an L1 that may be stale).
    """

    def __init__(
        self,
        store: SharedStore | None,
        *,
        counters: AppCounters,
        l1_size: int = 1024,
        l1_ttl: float = 30.0,
        ttl: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.l1: TTLCache[str, tuple[int, Any]] = TTLCache(maxsize=l1_size, ttl=l1_ttl, timer=clock)
        self.l2 = store
        self.ttl = ttl
        self.counters = counters
        self._local_generation: dict[str, int] = {}  # without a shared store: one process

    async def generation(self, key: str) -> int | None:
        """The key's current generation; ``None`` when the shared store cannot say."""
        if self.l2 is None:
            return self._local_generation.get(key, 0)
        found = await self._l2_call(self.l2.counter(f"gen:{key}"), failed=None)
        return found if isinstance(found, int) else None

    async def get(self, key: str) -> tuple[Any, str | None, int | None]:
        """(value, layer, generation): layer "l1", "l2" or None for a miss; generation ``None``
        when freshness cannot be checked (then the caller must not use or fill the cache)."""
        started = time.perf_counter()
        try:
            generation = await self.generation(key)
            if generation is None:
                return None, None, None
            entry = self.l1.get(key)
            if entry is not None:
                if entry[0] == generation:
                    return entry[1], "l1", generation
                self.l1.pop(key, None)  # invalidated by a write, maybe in another worker
                self.counters.add("cache_l1_outdated")
            if self.l2 is not None:
                raw = await self._l2_call(self.l2.get(f"{key}@{generation}"))
                if raw is not None:
                    value = orjson.loads(raw)
                    self.l1[key] = (generation, value)  # L1 filled from L2
                    return value, "l2", generation
            return None, None, generation
        finally:
            request_metrics().cache_seconds += time.perf_counter() - started

    async def set(self, key: str, value: Any, generation: int) -> None:
        """Store a value loaded while ``generation`` was current (a value loaded before a later
        invalidation lands under the old generation and is never read)."""
        if self.l2 is None and generation != self._local_generation.get(key, 0):
            self.counters.add("cache_stale_writes_skipped")
            return
        self.l1[key] = (generation, value)
        if self.l2 is not None:
            await self._l2_call(self.l2.set(f"{key}@{generation}", orjson.dumps(value), self.ttl))

    async def invalidate(self, key: str) -> None:
        """Make every layer of every worker forget ``key`` (called after every committed write
        to what it caches, before the write is acknowledged)."""
        self.l1.pop(key, None)
        if self.l2 is None:
            self._local_generation[key] = self._local_generation.get(key, 0) + 1
        else:
            await self._l2_call(self.l2.incr(f"gen:{key}", GENERATION_TTL))
        self.counters.add("cache_invalidations")

    async def _l2_call(self, call: Awaitable[Any], failed: Any = None) -> Any:
        try:
            return await call
        except Exception as exc:  # fail open: a broken shared cache must not fail the request
            self.counters.add("cache_errors")
            if self.counters["cache_errors"] == 1:
                log.warning("shared cache unavailable, serving without it: %s", exc)
            return failed

    async def get_or_load(
        self, key: str, load: Callable[[], Awaitable[Any]], flight: SingleFlight[str, Any] | None
    ) -> tuple[Any, str]:
        """Cache-aside: (value, "hit" | "miss" | "bypass"); ``load`` runs on a miss, shared via
        ``flight``."""
        value, layer, generation = await self.get(key)
        if layer is not None:
            self.counters.add(f"cache_hits_{layer}")
            request_metrics().cache_status = "hit"
            return value, "hit"
        if generation is None:
            self.counters.add("cache_bypassed")
            request_metrics().cache_status = "bypass"
            return await load(), "bypass"
        self.counters.add("cache_misses")
        request_metrics().cache_status = "miss"
        flight_key = f"{key}@{generation}"  # a load from before a write is not shared after it
        value = await (flight.run(flight_key, load) if flight is not None else load())
        if value is not None:
            await self.set(key, value, generation)
        return value, "miss"


def counted_flight(counters: AppCounters) -> SingleFlight[str, Any]:
    """Single flight for the ``dedupe`` toggle, counted in ``/api/_stats``."""
    return SingleFlight(
        on_load=lambda: counters.add("dedupe_loads"),
        on_join=lambda: counters.add("dedupe_shared"),
    )
