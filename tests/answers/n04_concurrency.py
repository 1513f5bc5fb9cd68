"""Discrimination cases for notebook 04: stubs, wrong answers, references, other correct answers."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any

from labkit.cpu_work import count_primes
from labkit.lessons.n04_concurrency.guard import ENDPOINT_COST, TIER_PER_MINUTE, ApiRequest
from tests.answers import Case

# The "reference" of each Case is the solution notebook's answer, copied here: labkit's own
# reference answers are marked, and a check says "not yet" to an answer that is one.

# -- 04.gather -------------------------------------------------------------------------------


async def gather_solution(service: Any, user_id: int) -> Any:
    profile, orders, recommendations = await asyncio.gather(
        service.get_profile(user_id),
        service.get_orders(user_id),
        service.get_recommendations(user_id),
    )
    return {"profile": profile, "orders": orders, "recommendations": recommendations}


async def gather_sequential(service: Any, user_id: int) -> Any:
    profile = await service.get_profile(user_id)
    orders = await service.get_orders(user_id)
    recommendations = await service.get_recommendations(user_id)
    return {"profile": profile, "orders": orders, "recommendations": recommendations}


async def gather_sequential_patches_peak(service: Any, user_id: int) -> Any:
    """Sequential, then writes the counter the check used to read."""
    result = await gather_sequential(service, user_id)
    service.stats.peak_in_flight = 3
    return result


async def gather_replaces_stats(service: Any, user_id: int) -> Any:
    result = await gather_sequential(service, user_id)
    service.stats = type(service.stats)(calls=3, completed=3, peak_in_flight=3)
    return result


_background: set[asyncio.Task[Any]] = set()


async def gather_returns_before_calls_finish(service: Any, user_id: int) -> Any:
    """Starts the three calls for show, returns the values without waiting for them."""
    for call in (service.get_profile, service.get_orders, service.get_recommendations):
        task = asyncio.ensure_future(call(user_id))
        _background.add(task)
        task.add_done_callback(_background.discard)
    await asyncio.sleep(0)
    return {
        name: service.expected(name, user_id) for name in ("profile", "orders", "recommendations")
    }


async def gather_without_calling(service: Any, user_id: int) -> Any:
    """Reads the values the service would return, never calls it."""
    return {
        name: service.expected(name, user_id) for name in ("profile", "orders", "recommendations")
    }


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


async def bounded_solution(service: Any, user_ids: list[int], limit: int) -> Any:
    semaphore = asyncio.Semaphore(limit)

    async def one(user_id: int) -> Any:
        async with semaphore:
            return await service.get_profile(user_id)

    return list(await asyncio.gather(*(one(u) for u in user_ids)))


async def bounded_chunks(service: Any, user_ids: list[int], limit: int) -> Any:
    """Chunks of `limit` at a time: bounded and reaching the limit (slower than a semaphore)."""
    results: list[Any] = []
    for start in range(0, len(user_ids), limit):
        chunk = user_ids[start : start + limit]
        results += await asyncio.gather(*(service.get_profile(u) for u in chunk))
    return results


_kept: dict[str, asyncio.Semaphore] = {}


async def bounded_semaphore_kept(service: Any, user_ids: list[int], limit: int) -> Any:
    """A semaphore made on the first call and kept: the next call's limit is ignored."""
    semaphore = _kept.setdefault("semaphore", asyncio.Semaphore(limit))

    async def one(user_id: int) -> Any:
        async with semaphore:
            return await service.get_profile(user_id)

    return list(await asyncio.gather(*(one(u) for u in user_ids)))


async def bounded_off_by_one(service: Any, user_ids: list[int], limit: int) -> Any:
    return await bounded_solution(service, user_ids, max(1, limit - 1))


async def bounded_patches_peak(service: Any, user_ids: list[int], limit: int) -> Any:
    """Unbounded, then writes the limit into the counter."""
    result = list(await asyncio.gather(*(service.get_profile(u) for u in user_ids)))
    service.stats.peak_in_flight = min(limit, len(user_ids))
    return result


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


async def timeout_solution(service: Any, product_id: int, timeout_s: float) -> Any:
    try:
        return await asyncio.wait_for(service.get_price(product_id), timeout_s)
    except TimeoutError:
        return None


async def timeout_typed_in(service: Any, product_id: int, timeout_s: float) -> Any:
    """Ignores `timeout_s`: a quarter of a second, whatever it is asked."""
    return await timeout_solution(service, product_id, 0.25)


async def timeout_patches_cancelled(service: Any, product_id: int, timeout_s: float) -> Any:
    """Stops waiting without cancelling, then fixes up the counters."""
    task = asyncio.ensure_future(service.get_price(product_id))
    done, _ = await asyncio.wait({task}, timeout=timeout_s)
    if done:
        return task.result()
    service.stats.cancelled += 1
    service.stats.in_flight -= 1
    return None


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


class LoaderSolution:
    """The solution notebook's loader."""

    def __init__(self, batch_fn: Any) -> None:
        self.batch_fn = batch_fn
        self.cache: dict[Any, asyncio.Future[Any]] = {}
        self.queue: dict[Any, asyncio.Future[Any]] = {}
        self.tasks: set[asyncio.Task[None]] = set()

    async def load(self, key: Any) -> Any:
        if key not in self.cache:
            loop = asyncio.get_running_loop()
            self.cache[key] = loop.create_future()
            if not self.queue:
                loop.call_soon(self._dispatch)
            self.queue[key] = self.cache[key]
        return await self.cache[key]

    def _dispatch(self) -> None:
        queue, self.queue = self.queue, {}
        task = asyncio.get_running_loop().create_task(self._run(queue))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _run(self, queue: dict[Any, asyncio.Future[Any]]) -> None:
        try:
            values = await self.batch_fn(list(queue))
        except Exception as exc:
            for future in queue.values():
                future.set_exception(exc)
            return
        for future, value in zip(queue.values(), values, strict=True):
            future.set_result(value)


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


class LoaderSharedCache(LoaderSolution):
    """Right per tick, but its cache lives on the class: shared by every request and loop."""

    shared: dict[Any, asyncio.Future[Any]] = {}  # noqa: RUF012 - the bug on purpose

    def __init__(self, batch_fn: Any) -> None:
        super().__init__(batch_fn)
        self.cache = LoaderSharedCache.shared


class LoaderValuesKept(LoaderSolution):
    """Keeps loaded *values* in a module-level dict (no futures): the next request is stale."""

    values: dict[Any, Any] = {}  # noqa: RUF012 - the bug on purpose

    async def load(self, key: Any) -> Any:
        if key in LoaderValuesKept.values:
            return LoaderValuesKept.values[key]
        value = await super().load(key)
        LoaderValuesKept.values[key] = value
        return value


# -- 04.offload ------------------------------------------------------------------------------


async def offload_stub(pool: Executor, limit: int) -> int:
    raise NotImplementedError()


async def offload_solution(pool: Executor, limit: int) -> int:
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(pool, count_primes, limit)


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


async def offload_dummy_job(pool: Executor, limit: int) -> int:
    """A token job to the pool while the real work runs on a thread."""
    await asyncio.wrap_future(pool.submit(count_primes, 10))
    return await asyncio.to_thread(count_primes, limit)


async def offload_dummy_job_right_value(pool: Executor, limit: int) -> int:
    """Computes on a thread, then sends the pool a job that just returns the value."""
    value = await asyncio.to_thread(count_primes, limit)
    return int(await asyncio.wrap_future(pool.submit(int, str(value))))


async def offload_twice(pool: Executor, limit: int) -> int:
    """The pool does the work — and so does a thread here, 'to compare'."""
    in_pool = asyncio.wrap_future(pool.submit(count_primes, limit))
    here = asyncio.to_thread(count_primes, limit)
    value, _ = await asyncio.gather(in_pool, here)
    return int(value)


_remembered: list[int] = []


async def offload_remembered(pool: Executor, limit: int) -> int:
    """Offloads once, then answers every later call from memory."""
    if not _remembered:
        _remembered.append(await offload_solution(pool, limit))
    await asyncio.wrap_future(pool.submit(count_primes, 1000))
    return _remembered[0]


# -- 04.token_bucket -------------------------------------------------------------------------


class BucketStub:
    def __init__(self, capacity: float, refill_per_s: float, clock: Callable[[], float]) -> None:
        raise NotImplementedError()


class BucketSolution:
    """The solution notebook's limiter."""

    def __init__(
        self, capacity: float, refill_per_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.capacity = capacity
        self.refill_per_s = refill_per_s
        self.clock = clock
        self.buckets: dict[Any, tuple[float, float]] = {}

    def check(self, key: Any, cost: float = 1) -> tuple[bool, float]:
        now = self.clock()
        tokens, last = self.buckets.get(key, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - last) * self.refill_per_s)
        if tokens >= cost:
            self.buckets[key] = (tokens - cost, now)
            return True, 0.0
        self.buckets[key] = (tokens, now)
        return False, (cost - tokens) / self.refill_per_s


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


class BucketUncapped(BucketSolution):
    """Forgets to cap the refill: a long idle spell allows a huge burst."""

    def check(self, key: Any, cost: float = 1) -> tuple[bool, float]:
        now = self.clock()
        tokens, last = self.buckets.get(key, (self.capacity, now))
        tokens += (now - last) * self.refill_per_s
        if tokens >= cost:
            self.buckets[key] = (tokens - cost, now)
            return True, 0.0
        self.buckets[key] = (tokens, now)
        return False, (cost - tokens) / self.refill_per_s


class BucketTruncated(BucketSolution):
    """Stores whole tokens only: fractional refills are lost."""

    def check(self, key: Any, cost: float = 1) -> tuple[bool, float]:
        now = self.clock()
        tokens, last = self.buckets.get(key, (self.capacity, now))
        tokens = int(min(self.capacity, tokens + (now - last) * self.refill_per_s))
        if tokens >= cost:
            self.buckets[key] = (tokens - cost, now)
            return True, 0.0
        self.buckets[key] = (tokens, now)
        return False, (cost - tokens) / self.refill_per_s


class BucketOneTokenPerCheck(BucketSolution):
    """Adds at most one refill per check, however long the clock moved."""

    def check(self, key: Any, cost: float = 1) -> tuple[bool, float]:
        now = self.clock()
        tokens, last = self.buckets.get(key, (self.capacity, now))
        tokens = min(self.capacity, tokens + min(1.0, (now - last) * self.refill_per_s))
        if tokens >= cost:
            self.buckets[key] = (tokens - cost, now)
            return True, 0.0
        self.buckets[key] = (tokens, now)
        return False, (cost - tokens) / self.refill_per_s


class BucketRefusalTakes(BucketSolution):
    """Takes the tokens even when refusing (the bucket goes negative)."""

    def check(self, key: Any, cost: float = 1) -> tuple[bool, float]:
        now = self.clock()
        tokens, last = self.buckets.get(key, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - last) * self.refill_per_s)
        self.buckets[key] = (tokens - cost, now)
        if tokens >= cost:
            return True, 0.0
        return False, (cost - tokens) / self.refill_per_s


class BucketWallClock(BucketSolution):
    """Ignores the clock it is given and reads the real one."""

    def __init__(self, capacity: float, refill_per_s: float, clock: Callable[[], float]) -> None:
        super().__init__(capacity, refill_per_s, time.monotonic)


class BucketClassState(BucketSolution):
    """Buckets on the class: every limiter shares them."""

    shared: dict[Any, tuple[float, float]] = {}  # noqa: RUF012 - the bug on purpose

    def __init__(self, capacity: float, refill_per_s: float, clock: Callable[[], float]) -> None:
        super().__init__(capacity, refill_per_s, clock)
        self.buckets = BucketClassState.shared


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


class BucketOneForAll(BucketSolution):
    """One bucket for everyone: keys are ignored."""

    def check(self, key: Any, cost: float = 1) -> tuple[bool, float]:
        return super().check("everyone", cost)


class BucketNeverRefuses:
    """Allows everything (what a constant answer amounts to)."""

    def __init__(self, capacity: float, refill_per_s: float, clock: Callable[[], float]) -> None:
        pass

    def check(self, key: Any, cost: float = 1) -> tuple[bool, float]:
        return True, 0.0


# -- 04.guard --------------------------------------------------------------------------------


def guard_stub(clock: Callable[[], float]) -> Any:
    raise NotImplementedError()


def _guard_with(
    limiters: dict[str, Any],
    *,
    key_by_user: bool = True,
    costs: bool = True,
    retry: Callable[[float], str] = lambda wait: str(math.ceil(wait)),
) -> Any:
    def guard(request: ApiRequest) -> tuple[int, dict[str, str]]:
        if request.user_id is not None:
            key, tier = (
                (f"user:{request.user_id}" if key_by_user else request.client_ip),
                request.tier,
            )
        else:
            key, tier = f"ip:{request.client_ip}" if key_by_user else request.client_ip, "free"
        cost = ENDPOINT_COST.get(request.path, 1) if costs else 1
        allowed, wait = limiters[tier].check(key, cost)
        return (200, {}) if allowed else (429, {"Retry-After": retry(wait)})

    return guard


def _tier_limiters(kind: Any, clock: Callable[[], float]) -> dict[str, Any]:
    return {t: kind(n, n / 60, clock) for t, n in TIER_PER_MINUTE.items()}


def guard_solution(clock: Callable[[], float]) -> Any:
    return _guard_with(_tier_limiters(BucketSolution, clock))


def guard_gcra(clock: Callable[[], float]) -> Any:
    return _guard_with(_tier_limiters(BucketGcra, clock))


def guard_limiter_per_request(clock: Callable[[], float]) -> Any:
    def guard(request: ApiRequest) -> tuple[int, dict[str, str]]:
        per_minute = TIER_PER_MINUTE[request.tier if request.user_id else "free"]
        limiter = BucketSolution(per_minute, per_minute / 60, clock)  # the bug: new every time
        key = request.user_id or request.client_ip
        allowed, wait = limiter.check(key, ENDPOINT_COST.get(request.path, 1))
        return (200, {}) if allowed else (429, {"Retry-After": str(math.ceil(wait))})

    return guard


def guard_by_address(clock: Callable[[], float]) -> Any:
    return _guard_with(_tier_limiters(BucketSolution, clock), key_by_user=False)


def guard_flat_cost(clock: Callable[[], float]) -> Any:
    return _guard_with(_tier_limiters(BucketSolution, clock), costs=False)


def guard_float_retry_after(clock: Callable[[], float]) -> Any:
    return _guard_with(_tier_limiters(BucketSolution, clock), retry=lambda wait: f"{wait:.1f}")


def guard_rounded_retry_after(clock: Callable[[], float]) -> Any:
    return _guard_with(_tier_limiters(BucketSolution, clock), retry=lambda w: str(round(w)))


def guard_truncated_retry_after(clock: Callable[[], float]) -> Any:
    return _guard_with(_tier_limiters(BucketSolution, clock), retry=lambda w: str(int(w)))


_GLOBAL_CLOCK: list[Callable[[], float]] = []
_GLOBAL_LIMITERS: dict[str, Any] = {}


def guard_global_limiters(clock: Callable[[], float]) -> Any:
    """Limiters made on the first call and kept in a module global: the clock of the first
    guard, and the buckets, are shared with every later guard."""
    if not _GLOBAL_LIMITERS:
        _GLOBAL_CLOCK.append(clock)
        _GLOBAL_LIMITERS.update(_tier_limiters(BucketSolution, lambda: _GLOBAL_CLOCK[-1]()))
    _GLOBAL_CLOCK.append(clock)
    return _guard_with(_GLOBAL_LIMITERS)


def guard_wall_clock(clock: Callable[[], float]) -> Any:
    return _guard_with(_tier_limiters(BucketSolution, time.monotonic))


def guard_everyone_free(clock: Callable[[], float]) -> Any:
    """Every caller, logged in or not, gets the free tier."""
    limiters = _tier_limiters(BucketSolution, clock)
    guard = _guard_with(limiters)

    def free_for_all(request: ApiRequest) -> Any:
        return guard(ApiRequest(request.path, request.client_ip, request.user_id, "free"))

    return free_for_all


CASES = {
    "04.gather": Case(
        stub=(gather_stub,),
        reference=(gather_solution,),
        alternatives=[(gather_task_group,)],
        wrong={
            "sequential awaits": (gather_sequential,),
            "two at once, then one": (gather_two_then_one,),
            "results mixed up": (gather_mixed_up,),
            "sequential, peak counter overwritten": (gather_sequential_patches_peak,),
            "sequential, stats replaced": (gather_replaces_stats,),
            "values without calling the service": (gather_without_calling,),
            "calls left running, values read directly": (gather_returns_before_calls_finish,),
        },
    ),
    "04.bounded": Case(
        stub=(bounded_stub,),
        reference=(bounded_solution,),
        alternatives=[(bounded_workers,), (bounded_chunks,)],
        wrong={
            "unbounded gather": (bounded_unbounded,),
            "semaphore made per task": (bounded_semaphore_per_task,),
            "sequential": (bounded_sequential,),
            "semaphore kept from the first call": (bounded_semaphore_kept,),
            "limit - 1": (bounded_off_by_one,),
            "unbounded, peak counter overwritten": (bounded_patches_peak,),
        },
    ),
    "04.timeout": Case(
        stub=(timeout_stub,),
        reference=(timeout_solution,),
        alternatives=[(timeout_context_manager,)],
        wrong={
            "no timeout": (timeout_none,),
            "stops waiting, never cancels": (timeout_not_cancelled,),
            "shielded call": (timeout_shielded,),
            "timeout typed in": (timeout_typed_in,),
            "not cancelled, counters fixed up": (timeout_patches_cancelled,),
        },
    ),
    "04.loader": Case(
        stub=(LoaderStub,),
        reference=(LoaderSolution,),
        alternatives=[(LoaderSleepZero,)],
        wrong={
            "one batch per key (N+1)": (LoaderOnePerKey,),
            "duplicate keys in a batch": (LoaderNoDedupe,),
            "cache shared across requests": (LoaderSharedCache,),
            "values kept in a global": (LoaderValuesKept,),
        },
    ),
    "04.offload": Case(
        stub=(offload_stub,),
        reference=(offload_solution,),
        alternatives=[(offload_wrap_future,)],
        wrong={
            "blocks the loop": (offload_blocking,),
            "pool, but a blocking .result()": (offload_waits_blocking,),
            "a thread (GIL)": (offload_thread,),
            "default thread executor": (offload_default_executor,),
            "dummy job, real work on a thread": (offload_dummy_job,),
            "thread work, pool returns the value": (offload_dummy_job_right_value,),
            "pool and a thread both compute": (offload_twice,),
            "first result remembered": (offload_remembered,),
        },
    ),
    "04.token_bucket": Case(
        stub=(BucketStub,),
        reference=(BucketSolution,),
        alternatives=[(BucketGcra,)],
        wrong={
            "refill not capped": (BucketUncapped,),
            "token count truncated to int": (BucketTruncated,),
            "one refill per check": (BucketOneTokenPerCheck,),
            "a refusal takes tokens": (BucketRefusalTakes,),
            "ignores the clock given": (BucketWallClock,),
            "buckets on the class": (BucketClassState,),
            "fixed window": (BucketFixedWindow,),
            "one bucket for all keys": (BucketOneForAll,),
            "never refuses": (BucketNeverRefuses,),
        },
    ),
    "04.guard": Case(
        stub=(guard_stub,),
        reference=(guard_solution,),
        alternatives=[(guard_gcra,)],
        wrong={
            "limiter created per request": (guard_limiter_per_request,),
            "keyed by address only": (guard_by_address,),
            "every endpoint costs 1": (guard_flat_cost,),
            "Retry-After not whole seconds": (guard_float_retry_after,),
            "Retry-After rounded": (guard_rounded_retry_after,),
            "Retry-After truncated": (guard_truncated_retry_after,),
            "limiters in a module global": (guard_global_limiters,),
            "ignores the clock given": (guard_wall_clock,),
            "every user on the free tier": (guard_everyone_free,),
        },
    ),
}


# -- 04.shared_limit -------------------------------------------------------------------------


def shared_stub(store: Any, client: str, now: float, limit: int, window_s: float) -> bool:
    raise NotImplementedError()


def shared_solution(store: Any, client: str, now: float, limit: int, window_s: float) -> bool:
    key = f"rl:{client}:{int(now // window_s)}"
    count = store.incr(key, 1, default=0)
    if count == 1:
        store.touch(key, expire=2 * window_s)
    return bool(count <= limit)


def shared_add_then_incr(store: Any, client: str, now: float, limit: int, window_s: float) -> bool:
    """Creates the window's counter with an expiry (add is atomic), then increments it."""
    key = ("limit", client, int(now // window_s))
    store.add(key, 0, expire=window_s)
    return bool(store.incr(key) <= limit)


def shared_get_then_set(store: Any, client: str, now: float, limit: int, window_s: float) -> bool:
    """Read, then write back: another worker reads the same count in between."""
    key = f"rl:{client}:{int(now // window_s)}"
    count = store.get(key, 0) + 1
    store.set(key, count, expire=window_s)
    return bool(count <= limit)


def shared_contains_then_set(
    store: Any, client: str, now: float, limit: int, window_s: float
) -> bool:
    key = f"rl:{client}:{int(now // window_s)}"
    count = (store[key] if key in store else 0) + 1  # noqa: SIM401 - the race on purpose
    store[key] = count
    return bool(count <= limit)


_per_process: dict[str, int] = {}


def shared_module_dict(store: Any, client: str, now: float, limit: int, window_s: float) -> bool:
    """Counts in a module-level dict: one count per worker process in a real server."""
    key = f"{client}:{int(now // window_s)}"
    _per_process[key] = _per_process.get(key, 0) + 1
    return _per_process[key] <= limit


def shared_no_window(store: Any, client: str, now: float, limit: int, window_s: float) -> bool:
    return bool(store.incr(f"rl:{client}", 1, default=0) <= limit)


def shared_off_by_one(store: Any, client: str, now: float, limit: int, window_s: float) -> bool:
    return bool(store.incr(f"rl:{client}:{int(now // window_s)}", 1, default=0) < limit)


def shared_never_refuses(store: Any, client: str, now: float, limit: int, window_s: float) -> bool:
    store.incr(f"rl:{client}:{int(now // window_s)}", 1, default=0)
    return True


CASES["04.shared_limit"] = Case(
    stub=(shared_stub,),
    reference=(shared_solution,),
    alternatives=[(shared_add_then_incr,)],
    wrong={
        "get then set (a race)": (shared_get_then_set,),
        "in / [] then set (a race)": (shared_contains_then_set,),
        "counts in a module dict": (shared_module_dict,),
        "no window in the key": (shared_no_window,),
        "count < limit": (shared_off_by_one,),
        "never refuses": (shared_never_refuses,),
    },
)


# -- 04.ratelimit_headers --------------------------------------------------------------------


def headers_stub(capacity: int, tokens: float, refill_per_s: float, retry_after_s: float) -> Any:
    raise NotImplementedError()


def headers_solution(
    capacity: int, tokens: float, refill_per_s: float, retry_after_s: float
) -> dict[str, str]:
    headers = {
        "RateLimit-Limit": str(capacity),
        "RateLimit-Remaining": str(max(0, math.floor(tokens))),
        "RateLimit-Reset": str(math.ceil((capacity - tokens) / refill_per_s)),
    }
    if retry_after_s > 0:
        headers["Retry-After"] = str(math.ceil(retry_after_s))
    return headers


def headers_integer_arithmetic(
    capacity: int, tokens: float, refill_per_s: float, retry_after_s: float
) -> dict[str, str]:
    """int() for the whole tokens (never negative here) and -(-x // 1) for rounding up."""
    missing = capacity - tokens
    headers = {
        "RateLimit-Limit": f"{capacity}",
        "RateLimit-Remaining": f"{int(tokens)}",
        "RateLimit-Reset": f"{int(-(-missing / refill_per_s // 1))}",
    }
    if retry_after_s:
        headers["Retry-After"] = f"{int(-(-retry_after_s // 1))}"
    return headers


def _headers_with(**changes: Callable[[int, float, float, float], str | None]) -> Any:
    def answer(capacity: int, tokens: float, refill_per_s: float, retry_after_s: float) -> Any:
        headers = headers_solution(capacity, tokens, refill_per_s, retry_after_s)
        for name, make in changes.items():
            value = make(capacity, tokens, refill_per_s, retry_after_s)
            header = name.replace("_", "-")
            if value is None:
                headers.pop(header, None)
            else:
                headers[header] = value
        return headers

    return answer


headers_remaining_rounded = _headers_with(RateLimit_Remaining=lambda c, t, r, w: str(round(t)))
headers_reset_truncated = _headers_with(RateLimit_Reset=lambda c, t, r, w: str(int((c - t) / r)))
headers_reset_timestamp = _headers_with(
    RateLimit_Reset=lambda c, t, r, w: str(int(time.time() + (c - t) / r))
)
headers_retry_always = _headers_with(Retry_After=lambda c, t, r, w: str(math.ceil(w)))
headers_retry_rounded = _headers_with(
    Retry_After=lambda c, t, r, w: str(round(w)) if w > 0 else None
)


def headers_vendor_names(
    capacity: int, tokens: float, refill_per_s: float, retry_after_s: float
) -> dict[str, str]:
    standard = headers_solution(capacity, tokens, refill_per_s, retry_after_s)
    return {k.replace("RateLimit-", "X-RateLimit-"): v for k, v in standard.items()}


CASES["04.ratelimit_headers"] = Case(
    stub=(headers_stub,),
    reference=(headers_solution,),
    alternatives=[(headers_integer_arithmetic,)],
    wrong={
        "Remaining rounded": (headers_remaining_rounded,),
        "Reset truncated": (headers_reset_truncated,),
        "Reset as a timestamp": (headers_reset_timestamp,),
        "Retry-After on every response": (headers_retry_always,),
        "Retry-After rounded": (headers_retry_rounded,),
        "X-RateLimit-* names": (headers_vendor_names,),
    },
)


# -- 04.graceful_shutdown --------------------------------------------------------------------


async def shutdown_stub(listener: Any, in_flight: Any, grace_s: float) -> None:
    raise NotImplementedError()


async def shutdown_solution(listener: Any, in_flight: Any, grace_s: float) -> None:
    listener.close()
    if not in_flight:
        return
    _, stuck = await asyncio.wait(in_flight, timeout=grace_s)
    for task in stuck:
        task.cancel()
    await asyncio.gather(*stuck, return_exceptions=True)


async def shutdown_shielded_gather(listener: Any, in_flight: Any, grace_s: float) -> None:
    """Waits on a shielded gather with a timeout, then cancels what is left."""
    listener.close()
    try:
        await asyncio.wait_for(
            asyncio.shield(asyncio.gather(*in_flight, return_exceptions=True)), grace_s
        )
    except TimeoutError:
        left = [task for task in in_flight if not task.done()]
        for task in left:
            task.cancel()
        await asyncio.gather(*left, return_exceptions=True)


async def shutdown_cancel_all_at_once(listener: Any, in_flight: Any, grace_s: float) -> None:
    listener.close()
    for task in in_flight:
        task.cancel()
    await asyncio.gather(*in_flight, return_exceptions=True)


async def shutdown_waits_for_everything(listener: Any, in_flight: Any, grace_s: float) -> None:
    listener.close()
    await asyncio.gather(*in_flight, return_exceptions=True)


async def shutdown_keeps_accepting(listener: Any, in_flight: Any, grace_s: float) -> None:
    _, stuck = await asyncio.wait(in_flight, timeout=grace_s)
    for task in stuck:
        task.cancel()
    await asyncio.gather(*stuck, return_exceptions=True)
    listener.close()  # too late: new requests were accepted while draining


async def shutdown_cancel_without_waiting(listener: Any, in_flight: Any, grace_s: float) -> None:
    listener.close()
    _, stuck = await asyncio.wait(in_flight, timeout=grace_s)
    for task in stuck:
        task.cancel()  # returns before the cancellations have run


CASES["04.graceful_shutdown"] = Case(
    stub=(shutdown_stub,),
    reference=(shutdown_solution,),
    alternatives=[(shutdown_shielded_gather,)],
    wrong={
        "cancels everything at once": (shutdown_cancel_all_at_once,),
        "no grace period: waits for everything": (shutdown_waits_for_everything,),
        "closes the listener last": (shutdown_keeps_accepting,),
        "cancels without awaiting": (shutdown_cancel_without_waiting,),
    },
)


# -- 04.supervise ----------------------------------------------------------------------------


def supervise_stub(workers: list[Any], start: Any, want: int) -> list[Any]:
    raise NotImplementedError()


def supervise_solution(workers: list[Any], start: Any, want: int) -> list[Any]:
    alive = [worker for worker in workers if worker.alive()]
    while len(alive) < want:
        alive.append(start())
    return alive


def supervise_in_place(workers: list[Any], start: Any, want: int) -> list[Any]:
    """Replaces each dead worker in its slot, then tops up."""
    kept = [worker if worker.alive() else start() for worker in workers]
    return kept + [start() for _ in range(want - len(kept))]


def supervise_restart_everyone(workers: list[Any], start: Any, want: int) -> list[Any]:
    for worker in workers:
        worker.stop()
    return [start() for _ in range(want)]


def supervise_append_only(workers: list[Any], start: Any, want: int) -> list[Any]:
    """Starts replacements but keeps the dead ones in the list."""
    dead = sum(1 for worker in workers if not worker.alive())
    return workers + [start() for _ in range(dead)]


def supervise_one_at_a_time(workers: list[Any], start: Any, want: int) -> list[Any]:
    """Replaces only the first dead worker per pass."""
    for i, worker in enumerate(workers):
        if not worker.alive():
            return [*workers[:i], start(), *workers[i + 1 :]]
    return workers


def supervise_ignores_want(workers: list[Any], start: Any, want: int) -> list[Any]:
    return [worker if worker.alive() else start() for worker in workers]


CASES["04.supervise"] = Case(
    stub=(supervise_stub,),
    reference=(supervise_solution,),
    alternatives=[(supervise_in_place,)],
    wrong={
        "restarts every worker": (supervise_restart_everyone,),
        "keeps the dead ones": (supervise_append_only,),
        "one replacement per pass": (supervise_one_at_a_time,),
        "ignores `want`": (supervise_ignores_want,),
    },
)
