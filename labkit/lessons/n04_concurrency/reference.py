"""Reference answers for notebook 04: what each check compares the learner's answer against.

Kept apart from the grade functions so the notebook, the tests and the checks share one copy.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Hashable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

from labkit.clock import ManualClock
from labkit.cpu_work import count_primes
from labkit.lessons.n04_concurrency.services import FakeService

# -- 04.gather: independent calls at once ---------------------------------------------------


async def fetch_dashboard(service: FakeService, user_id: int) -> dict[str, Any]:
    """Profile, orders and recommendations of one user, fetched concurrently."""
    profile, orders, recommendations = await asyncio.gather(
        service.get_profile(user_id),
        service.get_orders(user_id),
        service.get_recommendations(user_id),
    )
    return {"profile": profile, "orders": orders, "recommendations": recommendations}


async def fetch_dashboard_sequential(service: FakeService, user_id: int) -> dict[str, Any]:
    """The slow version: each await waits for the previous call to finish."""
    profile = await service.get_profile(user_id)
    orders = await service.get_orders(user_id)
    recommendations = await service.get_recommendations(user_id)
    return {"profile": profile, "orders": orders, "recommendations": recommendations}


# -- 04.bounded: at most `limit` calls in flight -------------------------------------------


async def fetch_profiles(service: FakeService, user_ids: Sequence[int], limit: int) -> list[Any]:
    """Every profile, in order, with never more than ``limit`` calls in flight."""
    semaphore = asyncio.Semaphore(limit)

    async def one(user_id: int) -> Any:
        async with semaphore:
            return await service.get_profile(user_id)

    return list(await asyncio.gather(*(one(u) for u in user_ids)))


# -- 04.timeout: give up on a slow call, and cancel it ------------------------------------


async def price_or_fallback(
    service: FakeService, product_id: int, timeout_s: float, fallback: int | None = None
) -> int | None:
    """The price, or ``fallback`` when the service takes longer than ``timeout_s``."""
    try:
        return await asyncio.wait_for(service.get_price(product_id), timeout_s)
    except TimeoutError:  # asyncio.TimeoutError is TimeoutError since Python 3.11
        return fallback


# -- 04.loader: one batch per tick -----------------------------------------------------------

BatchFn = Callable[[list[Any]], Awaitable[Sequence[Any]]]


class BatchLoader:
    """DataLoader pattern: ``load(key)`` calls made in one tick become one ``batch_fn(keys)``.

    ``batch_fn`` takes a list of distinct keys and returns the values in the same order.
    Create one loader per request (it caches, and its futures belong to the running loop).
    """

    def __init__(self, batch_fn: BatchFn) -> None:
        self.batch_fn = batch_fn
        self._cache: dict[Hashable, asyncio.Future[Any]] = {}
        self._queue: dict[Hashable, asyncio.Future[Any]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def load(self, key: Hashable) -> Any:
        if key not in self._cache:
            loop = asyncio.get_running_loop()
            future: asyncio.Future[Any] = loop.create_future()
            self._cache[key] = future
            if not self._queue:
                # runs after every task already scheduled in this tick has asked for its key
                loop.call_soon(self._dispatch)
            self._queue[key] = future
        return await self._cache[key]

    def _dispatch(self) -> None:
        queue, self._queue = self._queue, {}
        task = asyncio.get_running_loop().create_task(self._run(queue))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, queue: dict[Hashable, asyncio.Future[Any]]) -> None:
        keys = list(queue)
        try:
            values = list(await self.batch_fn(keys))
            if len(values) != len(keys):
                raise ValueError(f"batch_fn returned {len(values)} values for {len(keys)} keys")
        except Exception as exc:
            for future in queue.values():
                if not future.done():
                    future.set_exception(exc)
            return
        for future, value in zip(queue.values(), values, strict=True):
            if not future.done():
                future.set_result(value)


# -- 04.offload: CPU work off the event loop -------------------------------------------------


async def count_primes_offloaded(pool: Executor, limit: int) -> int:
    """``count_primes(limit)`` computed in ``pool`` while the event loop keeps serving."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(pool, count_primes, limit)


# -- 04.token_bucket and 04.guard: rate limiting ---------------------------------------------


class RateLimiter:
    """A token bucket per key: ``capacity`` tokens, refilled at ``refill_per_s``.

    ``check(key, cost)`` returns ``(allowed, retry_after_s)``; ``retry_after_s`` is 0.0 when
    allowed, else how long until ``cost`` tokens are back.
    """

    def __init__(
        self,
        capacity: float,
        refill_per_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.capacity = float(capacity)
        self.refill_per_s = float(refill_per_s)
        self.clock = clock
        self._buckets: dict[Hashable, tuple[float, float]] = {}

    def check(self, key: Hashable, cost: float = 1) -> tuple[bool, float]:
        now = self.clock()
        tokens, last = self._buckets.get(key, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - last) * self.refill_per_s)
        if tokens >= cost:
            self._buckets[key] = (tokens - cost, now)
            return True, 0.0
        self._buckets[key] = (tokens, now)
        return False, (cost - tokens) / self.refill_per_s


@dataclass(frozen=True)
class ApiRequest:
    """What a rate-limit guard sees of a request."""

    path: str
    client_ip: str
    user_id: int | None = None
    tier: str = "free"


# requests per minute (also the burst size) per tier; anonymous callers are "free". The
# per-second rates (0.25, 0.5, 2) are exact in binary, so every implementation agrees exactly.
TIER_PER_MINUTE: dict[str, int] = {"free": 15, "basic": 30, "pro": 120}
# expensive endpoints take more tokens per request
ENDPOINT_COST: dict[str, int] = {"/export": 5, "/search": 2}

GuardResponse = tuple[int, dict[str, str]]


def make_guard(
    clock: Callable[[], float] = time.monotonic,
) -> Callable[[ApiRequest], GuardResponse]:
    """A guard for every request: ``(200, {})`` or ``(429, {"Retry-After": "<whole seconds>"})``.

    Limiters are made once, here, and shared by every request the guard sees.
    """
    limiters = {
        tier: RateLimiter(per_minute, per_minute / 60, clock)
        for tier, per_minute in TIER_PER_MINUTE.items()
    }

    def guard(request: ApiRequest) -> GuardResponse:
        if request.user_id is not None:
            key: str = f"user:{request.user_id}"
            tier = request.tier
        else:
            key, tier = f"ip:{request.client_ip}", "free"
        cost = ENDPOINT_COST.get(request.path, 1)
        allowed, retry_after = limiters[tier].check(key, cost)
        if allowed:
            return 200, {}
        return 429, {"Retry-After": str(math.ceil(retry_after))}

    return guard


# A clock the test moves by hand (``clock.now = 3.5`` or ``clock.advance(0.5)``).
FakeClock = ManualClock
