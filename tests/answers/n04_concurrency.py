"""Discrimination cases for notebook 04: stubs, wrong answers, references, other correct answers."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any

from labkit.cpu_work import count_primes
from labkit.lessons.n04_concurrency import reference as ref
from labkit.lessons.n04_concurrency.reference import ENDPOINT_COST, TIER_PER_MINUTE, ApiRequest
from tests.answers import Case

# -- 04.gather -------------------------------------------------------------------------------


async def gather_stub(service: Any, user_id: int) -> Any:
    raise NotImplementedError()


async def gather_task_group(service: Any, user_id: int) -> Any:
    async with asyncio.TaskGroup() as tg:
        profile = tg.create_task(service.get_profile(user_id))
        orders = tg.create_task(service.get_orders(user_id))
        recommendations = tg.create_task(service.get_recommendations(user_id))
    return {
        "profile": profile.result(),
        "orders": orders.result(),
        "recommendations": recommendations.result(),
    }


async def gather_two_then_one(service: Any, user_id: int) -> Any:
    profile, orders = await asyncio.gather(
        service.get_profile(user_id), service.get_orders(user_id)
    )
    recommendations = await service.get_recommendations(user_id)
    return {"profile": profile, "orders": orders, "recommendations": recommendations}


async def gather_mixed_up(service: Any, user_id: int) -> Any:
    orders, profile, recommendations = await asyncio.gather(
        service.get_profile(user_id),
        service.get_orders(user_id),
        service.get_recommendations(user_id),
    )
    return {"profile": profile, "orders": orders, "recommendations": recommendations}


# -- 04.bounded ------------------------------------------------------------------------------


async def bounded_stub(service: Any, user_ids: list[int], limit: int) -> Any:
    raise NotImplementedError()


async def bounded_workers(service: Any, user_ids: list[int], limit: int) -> Any:
    """A fixed set of `limit` workers taking ids from a queue."""
    results: list[Any] = [None] * len(user_ids)
    queue: asyncio.Queue[tuple[int, int]] = asyncio.Queue()
    for item in enumerate(user_ids):
        queue.put_nowait(item)

    async def worker() -> None:
        while not queue.empty():
            index, user_id = queue.get_nowait()
            results[index] = await service.get_profile(user_id)

    await asyncio.gather(*(worker() for _ in range(limit)))
    return results


async def bounded_unbounded(service: Any, user_ids: list[int], limit: int) -> Any:
    return list(await asyncio.gather(*(service.get_profile(u) for u in user_ids)))


async def bounded_semaphore_per_task(service: Any, user_ids: list[int], limit: int) -> Any:
    async def one(user_id: int) -> Any:
        async with asyncio.Semaphore(limit):  # a new semaphore each time bounds nothing
            return await service.get_profile(user_id)

    return list(await asyncio.gather(*(one(u) for u in user_ids)))


async def bounded_sequential(service: Any, user_ids: list[int], limit: int) -> Any:
    return [await service.get_profile(u) for u in user_ids]


# -- 04.timeout ------------------------------------------------------------------------------


async def timeout_stub(service: Any, product_id: int, timeout_s: float) -> Any:
    raise NotImplementedError()


async def timeout_context_manager(service: Any, product_id: int, timeout_s: float) -> Any:
    try:
        async with asyncio.timeout(timeout_s):
            return await service.get_price(product_id)
    except TimeoutError:
        return None


async def timeout_none(service: Any, product_id: int, timeout_s: float) -> Any:
    return await service.get_price(product_id)


async def timeout_not_cancelled(service: Any, product_id: int, timeout_s: float) -> Any:
    task = asyncio.ensure_future(service.get_price(product_id))
    done, _ = await asyncio.wait({task}, timeout=timeout_s)
    return task.result() if done else None


async def timeout_shielded(service: Any, product_id: int, timeout_s: float) -> Any:
    try:
        return await asyncio.wait_for(asyncio.shield(service.get_price(product_id)), timeout_s)
    except TimeoutError:
        return None


# -- 04.loader -------------------------------------------------------------------------------


class LoaderStub:
    def __init__(self, batch_fn: Any) -> None:
        raise NotImplementedError()


class LoaderSleepZero:
    """Collects keys, then a task that yields once (sleep(0)) sends the batch; no cache."""

    def __init__(self, batch_fn: Any) -> None:
        self.batch_fn = batch_fn
        self.pending: dict[Any, asyncio.Future[Any]] = {}
        self.tasks: set[asyncio.Task[None]] = set()

    async def load(self, key: Any) -> Any:
        if key in self.pending:
            return await self.pending[key]
        first = not self.pending
        future = asyncio.get_running_loop().create_future()
        self.pending[key] = future
        if first:
            task = asyncio.ensure_future(self._flush())
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        return await future

    async def _flush(self) -> None:
        await asyncio.sleep(0)
        batch, self.pending = self.pending, {}
        values = await self.batch_fn(list(batch))
        for future, value in zip(batch.values(), values, strict=True):
            future.set_result(value)


class LoaderOnePerKey:
    """The N+1 version: correct values, one batch call per key."""

    def __init__(self, batch_fn: Any) -> None:
        self.batch_fn = batch_fn

    async def load(self, key: Any) -> Any:
        return (await self.batch_fn([key]))[0]


class LoaderNoDedupe:
    """Batches per tick but sends duplicated keys."""

    def __init__(self, batch_fn: Any) -> None:
        self.batch_fn = batch_fn
        self.keys: list[Any] = []
        self.futures: list[asyncio.Future[Any]] = []

    async def load(self, key: Any) -> Any:
        loop = asyncio.get_running_loop()
        if not self.keys:
            loop.call_soon(lambda: asyncio.ensure_future(self._flush()))
        future = loop.create_future()
        self.keys.append(key)
        self.futures.append(future)
        return await future

    async def _flush(self) -> None:
        keys, futures = self.keys, self.futures
        self.keys, self.futures = [], []
        for future, value in zip(futures, await self.batch_fn(keys), strict=True):
            future.set_result(value)


class LoaderSharedCache(ref.BatchLoader):
    """Right per tick, but its cache lives on the class: shared by every request and loop."""

    _shared: dict[Any, asyncio.Future[Any]] = {}  # noqa: RUF012 - the bug on purpose

    def __init__(self, batch_fn: Any) -> None:
        super().__init__(batch_fn)
        self._cache = LoaderSharedCache._shared


# -- 04.offload ------------------------------------------------------------------------------


async def offload_stub(pool: Executor, limit: int) -> int:
    raise NotImplementedError()


async def offload_wrap_future(pool: Executor, limit: int) -> int:
    return await asyncio.wrap_future(pool.submit(count_primes, limit))


async def offload_blocking(pool: Executor, limit: int) -> int:
    return count_primes(limit)


async def offload_waits_blocking(pool: Executor, limit: int) -> int:
    return pool.submit(count_primes, limit).result()  # in the pool, but the loop waits blocked


async def offload_thread(pool: Executor, limit: int) -> int:
    return await asyncio.to_thread(count_primes, limit)


async def offload_default_executor(pool: Executor, limit: int) -> int:
    return await asyncio.get_running_loop().run_in_executor(None, count_primes, limit)


# -- 04.token_bucket -------------------------------------------------------------------------


class BucketStub:
    def __init__(self, capacity: float, refill_per_s: float, clock: Callable[[], float]) -> None:
        raise NotImplementedError()


class BucketGcra:
    """GCRA: a theoretical arrival time per key — the same verdicts as a token bucket."""

    def __init__(self, capacity: float, refill_per_s: float, clock: Callable[[], float]) -> None:
        self.interval = 1 / refill_per_s
        self.burst = capacity * self.interval
        self.clock = clock
        self.tat: dict[Any, float] = {}

    def check(self, key: Any, cost: float = 1) -> tuple[bool, float]:
        now = self.clock()
        tat = max(self.tat.get(key, now), now) + cost * self.interval
        if tat - now <= self.burst:
            self.tat[key] = tat
            return True, 0.0
        return False, tat - now - self.burst


class BucketUncapped(ref.RateLimiter):
    """Forgets to cap the refill: a long idle spell allows a huge burst."""

    def check(self, key: Any, cost: float = 1) -> tuple[bool, float]:
        now = self.clock()
        tokens, last = self._buckets.get(key, (self.capacity, now))
        tokens += (now - last) * self.refill_per_s
        if tokens >= cost:
            self._buckets[key] = (tokens - cost, now)
            return True, 0.0
        self._buckets[key] = (tokens, now)
        return False, (cost - tokens) / self.refill_per_s


class BucketFixedWindow:
    """A fixed window of capacity/refill seconds: different verdicts at the window edges."""

    def __init__(self, capacity: float, refill_per_s: float, clock: Callable[[], float]) -> None:
        self.capacity, self.window, self.clock = capacity, capacity / refill_per_s, clock
        self.counts: dict[tuple[Any, int], float] = {}

    def check(self, key: Any, cost: float = 1) -> tuple[bool, float]:
        now = self.clock()
        window = int(now // self.window)
        used = self.counts.get((key, window), 0)
        if used + cost <= self.capacity:
            self.counts[(key, window)] = used + cost
            return True, 0.0
        return False, (window + 1) * self.window - now


class BucketOneForAll(ref.RateLimiter):
    """One bucket for everyone: keys are ignored."""

    def check(self, key: Any, cost: float = 1) -> tuple[bool, float]:
        return super().check("everyone", cost)


# -- 04.guard --------------------------------------------------------------------------------


def guard_stub(clock: Callable[[], float]) -> Any:
    raise NotImplementedError()


def guard_gcra(clock: Callable[[], float]) -> Any:
    limiters = {t: BucketGcra(n, n / 60, clock) for t, n in TIER_PER_MINUTE.items()}

    def guard(request: ApiRequest) -> tuple[int, dict[str, str]]:
        tier = request.tier if request.user_id is not None else "free"
        key = (
            ("user", request.user_id) if request.user_id is not None else ("ip", request.client_ip)
        )
        allowed, wait = limiters[tier].check(key, ENDPOINT_COST.get(request.path, 1))
        return (200, {}) if allowed else (429, {"Retry-After": str(math.ceil(wait))})

    return guard


def guard_limiter_per_request(clock: Callable[[], float]) -> Any:
    def guard(request: ApiRequest) -> tuple[int, dict[str, str]]:
        per_minute = TIER_PER_MINUTE[request.tier if request.user_id else "free"]
        limiter = ref.RateLimiter(per_minute, per_minute / 60, clock)  # the bug: new every time
        key = request.user_id or request.client_ip
        allowed, wait = limiter.check(key, ENDPOINT_COST.get(request.path, 1))
        return (200, {}) if allowed else (429, {"Retry-After": str(math.ceil(wait))})

    return guard


def guard_by_address(clock: Callable[[], float]) -> Any:
    limiters = {t: ref.RateLimiter(n, n / 60, clock) for t, n in TIER_PER_MINUTE.items()}

    def guard(request: ApiRequest) -> tuple[int, dict[str, str]]:
        tier = request.tier if request.user_id is not None else "free"
        allowed, wait = limiters[tier].check(request.client_ip, ENDPOINT_COST.get(request.path, 1))
        return (200, {}) if allowed else (429, {"Retry-After": str(math.ceil(wait))})

    return guard


def guard_flat_cost(clock: Callable[[], float]) -> Any:
    limiters = {t: ref.RateLimiter(n, n / 60, clock) for t, n in TIER_PER_MINUTE.items()}

    def guard(request: ApiRequest) -> tuple[int, dict[str, str]]:
        tier = request.tier if request.user_id is not None else "free"
        key = f"user:{request.user_id}" if request.user_id is not None else request.client_ip
        allowed, wait = limiters[tier].check(key, 1)
        return (200, {}) if allowed else (429, {"Retry-After": str(math.ceil(wait))})

    return guard


def guard_float_retry_after(clock: Callable[[], float]) -> Any:
    limiters = {t: ref.RateLimiter(n, n / 60, clock) for t, n in TIER_PER_MINUTE.items()}

    def guard(request: ApiRequest) -> tuple[int, dict[str, str]]:
        tier = request.tier if request.user_id is not None else "free"
        key = f"user:{request.user_id}" if request.user_id is not None else request.client_ip
        allowed, wait = limiters[tier].check(key, ENDPOINT_COST.get(request.path, 1))
        return (200, {}) if allowed else (429, {"Retry-After": f"{wait:.1f}"})

    return guard


CASES = {
    "04.gather": Case(
        stub=(gather_stub,),
        reference=(ref.fetch_dashboard,),
        alternatives=[(gather_task_group,)],
        wrong={
            "sequential awaits": (ref.fetch_dashboard_sequential,),
            "two at once, then one": (gather_two_then_one,),
            "results mixed up": (gather_mixed_up,),
        },
    ),
    "04.bounded": Case(
        stub=(bounded_stub,),
        reference=(ref.fetch_profiles,),
        alternatives=[(bounded_workers,)],
        wrong={
            "unbounded gather": (bounded_unbounded,),
            "semaphore made per task": (bounded_semaphore_per_task,),
            "sequential": (bounded_sequential,),
        },
    ),
    "04.timeout": Case(
        stub=(timeout_stub,),
        reference=(ref.price_or_fallback,),
        alternatives=[(timeout_context_manager,)],
        wrong={
            "no timeout": (timeout_none,),
            "stops waiting, never cancels": (timeout_not_cancelled,),
            "shielded call": (timeout_shielded,),
        },
    ),
    "04.loader": Case(
        stub=(LoaderStub,),
        reference=(ref.BatchLoader,),
        alternatives=[(LoaderSleepZero,)],
        wrong={
            "one batch per key (N+1)": (LoaderOnePerKey,),
            "duplicate keys in a batch": (LoaderNoDedupe,),
            "cache shared across requests": (LoaderSharedCache,),
        },
    ),
    "04.offload": Case(
        stub=(offload_stub,),
        reference=(ref.count_primes_offloaded,),
        alternatives=[(offload_wrap_future,)],
        wrong={
            "blocks the loop": (offload_blocking,),
            "pool, but a blocking .result()": (offload_waits_blocking,),
            "a thread (GIL)": (offload_thread,),
            "default thread executor": (offload_default_executor,),
        },
    ),
    "04.token_bucket": Case(
        stub=(BucketStub,),
        reference=(ref.RateLimiter,),
        alternatives=[(BucketGcra,)],
        wrong={
            "refill not capped": (BucketUncapped,),
            "fixed window": (BucketFixedWindow,),
            "one bucket for all keys": (BucketOneForAll,),
        },
    ),
    "04.guard": Case(
        stub=(guard_stub,),
        reference=(ref.make_guard,),
        alternatives=[(guard_gcra,)],
        wrong={
            "limiter created per request": (guard_limiter_per_request,),
            "keyed by address only": (guard_by_address,),
            "every endpoint costs 1": (guard_flat_cost,),
            "Retry-After not whole seconds": (guard_float_retry_after,),
        },
    ),
}
