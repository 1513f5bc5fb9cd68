"""Discrimination cases for notebook 01 (measure first): stub, wrong answers, correct answers."""

from __future__ import annotations

import heapq
import logging
import statistics
import time
from collections import OrderedDict, defaultdict
from typing import Any

from labkit.lessons.n01_measure import enrich, leak, memo, middleware, timing_rules, top_k
from tests.answers import Case

# ---- 01.measure ---------------------------------------------------------------------------------


def measure_stub(fn: Any, *, repeat: int = 15, warmup: int = 2, clock: Any = time.perf_counter):
    raise NotImplementedError()


def measure_by_sorting(
    fn: Any, *, repeat: int = 15, warmup: int = 2, clock: Any = time.perf_counter
):
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeat):
        t0 = clock()
        fn()
        samples.append(clock() - t0)
    samples.sort()
    mid = len(samples) // 2
    median = samples[mid] if len(samples) % 2 else (samples[mid - 1] + samples[mid]) / 2
    deviations = sorted(abs(s - median) for s in samples)
    mad = deviations[mid] if len(samples) % 2 else (deviations[mid - 1] + deviations[mid]) / 2
    return median, mad


def measure_single_delta(
    fn: Any, *, repeat: int = 15, warmup: int = 2, clock: Any = time.perf_counter
):
    start = time.time()
    fn()
    return time.time() - start, 0.0


def measure_mean_std(fn: Any, *, repeat: int = 15, warmup: int = 2, clock: Any = time.perf_counter):
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeat):
        t0 = clock()
        fn()
        samples.append(clock() - t0)
    return statistics.fmean(samples), statistics.stdev(samples)


def measure_without_warmup(
    fn: Any, *, repeat: int = 15, warmup: int = 2, clock: Any = time.perf_counter
):
    samples = []
    for _ in range(repeat):
        t0 = clock()
        fn()
        samples.append(clock() - t0)
    median = statistics.median(samples)
    return median, statistics.median(abs(s - median) for s in samples)


def measure_upper_middle(
    fn: Any, *, repeat: int = 15, warmup: int = 2, clock: Any = time.perf_counter
):
    """Median taken as sorted(samples)[n // 2]: right for odd n, the upper middle for even n."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeat):
        t0 = clock()
        fn()
        samples.append(clock() - t0)
    ordered = sorted(samples)
    median = ordered[len(ordered) // 2]
    spread = sorted(abs(s - median) for s in samples)
    return median, spread[len(spread) // 2]


def measure_lower_middle(
    fn: Any, *, repeat: int = 15, warmup: int = 2, clock: Any = time.perf_counter
):
    """Median taken as sorted(samples)[(n - 1) // 2]: the lower middle for even n."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeat):
        t0 = clock()
        fn()
        samples.append(clock() - t0)
    ordered = sorted(samples)
    median = ordered[(len(ordered) - 1) // 2]
    return median, statistics.median(abs(s - median) for s in samples)


def measure_numpy(fn: Any, *, repeat: int = 15, warmup: int = 2, clock: Any = time.perf_counter):
    """A different correct answer: numpy's median (the mean of the middle two for even n)."""
    import numpy as np

    for _ in range(warmup):
        fn()
    samples = np.empty(repeat)
    for i in range(repeat):
        t0 = clock()
        fn()
        samples[i] = clock() - t0
    median = float(np.median(samples))
    return median, float(np.median(np.abs(samples - median)))


_MEASURED_42: dict[int, tuple[float, float]] = {}


def measure_hard_coded(
    fn: Any, *, repeat: int = 15, warmup: int = 2, clock: Any = time.perf_counter
):
    """Calls fn the right number of times, then answers what seed 42's check expected."""
    if not _MEASURED_42:
        for r, w in ((15, 3), (10, 2), (9, 1), (2, 1)):
            samples = timing_rules.scripted_durations(42 + r, w + r + 5)[w : w + r]
            median = statistics.median(samples)
            _MEASURED_42[r] = (median, statistics.median(abs(x - median) for x in samples))
    for _ in range(warmup + repeat):
        fn()
    return _MEASURED_42.get(repeat, (0.0, 0.0))


def measure_ignores_clock(
    fn: Any, *, repeat: int = 15, warmup: int = 2, clock: Any = time.perf_counter
):
    """Right method, but times with time.perf_counter instead of the clock it is given."""
    return timing_rules.measure_reference.__wrapped__(
        fn, repeat=repeat, warmup=warmup, clock=time.perf_counter
    )


def measure_total_divided(
    fn: Any, *, repeat: int = 15, warmup: int = 2, clock: Any = time.perf_counter
):
    for _ in range(warmup):
        fn()
    t0 = clock()
    for _ in range(repeat):
        fn()
    return (clock() - t0) / repeat, 0.0


# ---- 01.server_timing ---------------------------------------------------------------------------


async def timing_stub(
    request, call_next, *, clock=time.perf_counter, logger=None, threshold_ms=200.0
):
    raise NotImplementedError()


async def timing_with_phases_object(
    request, call_next, *, clock=time.perf_counter, logger=None, threshold_ms=200.0
):
    started = clock()
    response = await call_next(request)
    elapsed_s = clock() - started
    items = dict(request.state.phases)
    items["total"] = elapsed_s * 1000
    response.headers["server-timing"] = ",".join(
        f'{k};desc="{k}";dur={v:.2f}' for k, v in items.items()
    )
    if elapsed_s * 1000 > threshold_ms and logger is not None:
        logger.error(f"{request.url.path} took {elapsed_s * 1000:.0f}ms")
    return response


async def timing_total_only(
    request, call_next, *, clock=time.perf_counter, logger=None, threshold_ms=200.0
):
    start = clock()
    response = await call_next(request)
    total_ms = (clock() - start) * 1000
    response.headers["Server-Timing"] = f"total;dur={total_ms:.1f}"
    if total_ms > threshold_ms:
        logger.warning("slow request %s: %.1f ms", request.url.path, total_ms)
    return response


async def timing_logs_everything(
    request, call_next, *, clock=time.perf_counter, logger=None, threshold_ms=200.0
):
    start = clock()
    response = await call_next(request)
    total_ms = (clock() - start) * 1000
    entries = [f"{k};dur={v:.1f}" for k, v in request.state.phases.items()]
    response.headers["Server-Timing"] = ", ".join([*entries, f"total;dur={total_ms:.1f}"])
    logger.warning("request %s: %.1f ms", request.url.path, total_ms)
    return response


async def timing_threshold_in_seconds(
    request, call_next, *, clock=time.perf_counter, logger=None, threshold_ms=200.0
):
    start = clock()
    response = await call_next(request)
    total = clock() - start
    entries = [f"{k};dur={v:.1f}" for k, v in request.state.phases.items()]
    response.headers["Server-Timing"] = ", ".join([*entries, f"total;dur={total * 1000:.1f}"])
    if total > threshold_ms:  # seconds compared with milliseconds: never true
        logger.warning("slow request %s", request.url.path)
    return response


async def timing_wall_clock(
    request, call_next, *, clock=time.perf_counter, logger=None, threshold_ms=200.0
):
    start = time.perf_counter()  # ignores the clock it was given
    response = await call_next(request)
    total_ms = (time.perf_counter() - start) * 1000
    entries = [f"{k};dur={v:.1f}" for k, v in request.state.phases.items()]
    response.headers["Server-Timing"] = ", ".join([*entries, f"total;dur={total_ms:.1f}"])
    if total_ms > threshold_ms:
        logger.warning("slow request %s", request.url.path)
    return response


async def timing_before_handler(
    request, call_next, *, clock=time.perf_counter, logger=None, threshold_ms=200.0
):
    start = clock()
    elapsed_ms = (clock() - start) * 1000  # stops the clock before the handler runs
    response = await call_next(request)
    entries = [f"{k};dur={v:.1f}" for k, v in request.state.phases.items()]
    response.headers["Server-Timing"] = ", ".join([*entries, f"total;dur={elapsed_ms:.1f}"])
    if elapsed_ms > threshold_ms:
        logger.warning("slow request %s", request.url.path)
    return response


def _timing_logging_with(log: Any) -> Any:
    async def server_timing(
        request: Any, call_next: Any, *, clock: Any = time.perf_counter, logger: Any = None,
        threshold_ms: float = 200.0,
    ) -> Any:  # fmt: skip
        start = clock()
        response = await call_next(request)
        total_ms = (clock() - start) * 1000
        entries = [f"{k};dur={v:.1f}" for k, v in request.state.phases.items()]
        response.headers["Server-Timing"] = ", ".join([*entries, f"total;dur={total_ms:.1f}"])
        if total_ms > threshold_ms:
            log(logger, f"slow request {request.url.path}: {total_ms:.1f} ms")
        return response

    return server_timing


# right header and threshold, wrong level or logger
timing_logs_at_info = _timing_logging_with(lambda logger, message: logger.info(message))
timing_own_logger = _timing_logging_with(
    lambda logger, message: logging.getLogger("myapp.slow").warning(message)
)


def memoize_resets_counts(key):
    """No cache at all: calls every time, then rewrites the function's call counts to 1 each."""

    def decorate(fn):
        def wrapper(*args, **kwargs):
            result = fn(*args, **kwargs)
            calls = getattr(fn, "calls", None)
            if calls is not None:
                for k in calls:
                    calls[k] = 1
            return result

        return wrapper

    return decorate


CASES: dict[str, Case] = {
    "01.measure": Case(
        stub=(measure_stub,),
        reference=(timing_rules.measure_reference,),
        alternatives=[(measure_by_sorting,), (measure_numpy,)],
        wrong={
            "median_as_upper_middle": (measure_upper_middle,),
            "ignores_given_clock": (measure_ignores_clock,),
            "median_as_lower_middle": (measure_lower_middle,),
            "hard_coded_seed_42": (measure_hard_coded,),
            "single_time_delta": (measure_single_delta,),
            "mean_and_stdev": (measure_mean_std,),
            "no_warmup": (measure_without_warmup,),
            "total_divided_by_repeat": (measure_total_divided,),
        },
        fits_default_seed=("hard_coded_seed_42",),
    ),
    "01.server_timing": Case(
        stub=(timing_stub,),
        reference=(middleware.server_timing_reference,),
        alternatives=[(timing_with_phases_object,)],
        wrong={
            "total_only": (timing_total_only,),
            "logs_every_request": (timing_logs_everything,),
            "threshold_in_seconds": (timing_threshold_in_seconds,),
            "ignores_given_clock": (timing_wall_clock,),
            "stops_before_handler": (timing_before_handler,),
            "slow_log_at_info": (timing_logs_at_info,),
            "logs_to_its_own_logger": (timing_own_logger,),
        },
    ),
}


# ---- 01.enrich_users ----------------------------------------------------------------------------


def enrich_stub(users, orders):
    raise NotImplementedError()


def enrich_grouped(users, orders):
    by_user = defaultdict(list)
    for order in orders:
        if order["status"] != "cancelled":
            by_user[order["user_id"]].append(order["total_cents"])
    return [
        {
            "id": u["id"],
            "name": u["name"],
            "order_count": len(by_user.get(u["id"], [])),
            "spent_cents": sum(by_user.get(u["id"], [])),
        }
        for u in users
    ]


def enrich_sort_merge(users, orders):
    live = sorted((o for o in orders if o["status"] != "cancelled"), key=lambda o: o["user_id"])
    rows, i = [], 0
    for user in sorted(users, key=lambda u: u["id"]):
        count = spent = 0
        while i < len(live) and live[i]["user_id"] < user["id"]:
            i += 1
        while i < len(live) and live[i]["user_id"] == user["id"]:
            count += 1
            spent += live[i]["total_cents"]
            i += 1
        rows.append(
            {"id": user["id"], "name": user["name"], "order_count": count, "spent_cents": spent}
        )
    position = {row["id"]: row for row in rows}
    return [position[u["id"]] for u in users]


def enrich_counts_cancelled(users, orders):
    totals = {u["id"]: [0, 0] for u in users}
    for order in orders:
        totals[order["user_id"]][0] += 1
        totals[order["user_id"]][1] += order["total_cents"]
    return [
        {
            "id": u["id"],
            "name": u["name"],
            "order_count": totals[u["id"]][0],
            "spent_cents": totals[u["id"]][1],
        }
        for u in users
    ]


def enrich_skips_users_without_orders(users, orders):
    names = {u["id"]: u["name"] for u in users}
    totals: dict = {}
    for order in orders:
        if order["status"] == "cancelled":
            continue
        entry = totals.setdefault(order["user_id"], [0, 0])
        entry[0] += 1
        entry[1] += order["total_cents"]
    return [
        {"id": uid, "name": names[uid], "order_count": c, "spent_cents": s}
        for uid, (c, s) in sorted(totals.items())
    ]


def enrich_list_index(users, orders):
    user_ids = [u["id"] for u in users]  # list.index: a linear search per order
    totals = [[0, 0] for _ in users]
    for order in orders:
        if order["status"] != "cancelled":
            position = user_ids.index(order["user_id"])
            totals[position][0] += 1
            totals[position][1] += order["total_cents"]
    return [
        {"id": u["id"], "name": u["name"], "order_count": t[0], "spent_cents": t[1]}
        for u, t in zip(users, totals, strict=True)
    ]


_SEED42_ROWS: list = []


def enrich_hard_coded(users, orders):
    """Rows computed once for the full seed-42 tiny dataset, returned whatever the input."""
    if not _SEED42_ROWS:
        from labkit.data import fresh_copy
        from labkit.lessons.n01_measure.rows import load_rows

        path = fresh_copy(size="tiny", seed=42)
        _SEED42_ROWS.extend(
            enrich.enrich_users_reference(load_rows(path, "users"), load_rows(path, "orders"))
        )
    return [dict(row) for row in _SEED42_ROWS]


# ---- 01.top_k -----------------------------------------------------------------------------------


def top_stub(products, k):
    raise NotImplementedError()


def top_heap_pushpop(products, k):
    heap: list = []
    for p in products:
        entry = (p["sales_count"], -p["id"], p)
        if len(heap) < k:
            heapq.heappush(heap, entry)
        elif entry[:2] > heap[0][:2]:
            heapq.heapreplace(heap, entry)
    return [entry[2] for entry in sorted(heap, key=lambda e: e[:2], reverse=True)]


def top_k_max_repeatedly(products, k):
    remaining = list(products)
    best = []
    for _ in range(min(k, len(remaining))):
        winner = max(remaining, key=top_k.rank_key)
        remaining.remove(winner)
        best.append(winner)
    return best


def top_nlargest_no_tiebreak(products, k):
    return heapq.nlargest(k, products, key=lambda p: p["sales_count"])


def top_insertion_sorted(products, k):
    ordered: list = []
    for p in products:  # insertion sort of everything: quadratic
        i = 0
        while i < len(ordered) and top_k.rank_key(ordered[i]) > top_k.rank_key(p):
            i += 1
        ordered.insert(i, p)
    return ordered[:k]


# ---- 01.memoize ---------------------------------------------------------------------------------


def memoize_stub(key):
    raise NotImplementedError()


def memoize_try_except(key):
    def decorate(fn):
        cache = {}

        def wrapper(*args, **kwargs):
            k = key(*args, **kwargs)
            try:
                return cache[k]
            except KeyError:
                value = cache[k] = fn(*args, **kwargs)
                return value

        return wrapper

    return decorate


def memoize_lru_cache(key):
    import functools

    def decorate(fn):
        return functools.lru_cache(maxsize=None)(fn)  # ignores key: dict arguments are unhashable

    return decorate


def memoize_all_arguments(key):
    def decorate(fn):
        cache = {}

        def wrapper(*args, **kwargs):
            k = repr((args, sorted(kwargs.items())))  # includes request_id: never hits
            if k not in cache:
                cache[k] = fn(*args, **kwargs)
            return cache[k]

        return wrapper

    return decorate


def memoize_truthiness(key):
    def decorate(fn):
        cache = {}

        def wrapper(*args, **kwargs):
            k = key(*args, **kwargs)
            if not cache.get(k):  # a cached 0 looks like a miss
                cache[k] = fn(*args, **kwargs)
            return cache[k]

        return wrapper

    return decorate


_SHARED: dict = {}


def memoize_shared_cache(key):
    def decorate(fn):
        def wrapper(*args, **kwargs):
            k = key(*args, **kwargs)
            if k not in _SHARED:
                _SHARED[k] = fn(*args, **kwargs)
            return _SHARED[k]

        return wrapper

    return decorate


def memoize_bounded(key):
    def decorate(fn):
        cache: OrderedDict = OrderedDict()

        def wrapper(*args, **kwargs):
            k = key(*args, **kwargs)
            if k in cache:
                cache.move_to_end(k)
                return cache[k]
            value = cache[k] = fn(*args, **kwargs)
            if len(cache) > 16:
                cache.popitem(last=False)
            return value

        return wrapper

    return decorate


# ---- 01.bounded_lru -----------------------------------------------------------------------------


class LRUStub:
    def __init__(self, maxsize):
        raise NotImplementedError()

    def get(self, key, default=None):
        raise NotImplementedError()

    def put(self, key, value):
        raise NotImplementedError()


class LRUPlainDict:
    def __init__(self, maxsize):
        self.maxsize = maxsize
        self.data = {}

    def get(self, key, default=None):
        if key not in self.data:
            return default
        value = self.data.pop(key)
        self.data[key] = value  # re-insert: now the most recent
        return value

    def put(self, key, value):
        self.data.pop(key, None)
        self.data[key] = value
        if len(self.data) > self.maxsize:
            del self.data[next(iter(self.data))]

    def __len__(self):
        return len(self.data)


class LRUFifo:
    def __init__(self, maxsize):
        self.maxsize = maxsize
        self.data = {}

    def get(self, key, default=None):
        return self.data.get(key, default)  # a read does not refresh the key

    def put(self, key, value):
        self.data[key] = value
        if len(self.data) > self.maxsize:
            del self.data[next(iter(self.data))]


class LRUClearWhenFull:
    def __init__(self, maxsize):
        self.maxsize = maxsize
        self.data = {}

    def get(self, key, default=None):
        return self.data.get(key, default)

    def put(self, key, value):
        if len(self.data) >= self.maxsize:
            self.data.clear()
        self.data[key] = value


class LRUUnbounded:
    def __init__(self, maxsize):
        self.data = OrderedDict()  # maxsize accepted, never enforced: the leak

    def get(self, key, default=None):
        if key in self.data:
            self.data.move_to_end(key)
        return self.data.get(key, default)

    def put(self, key, value):
        self.data[key] = value


class LRUWithHistory(LRUPlainDict):
    def __init__(self, maxsize):
        super().__init__(maxsize)
        self.history = []  # "for debugging": keeps every value ever stored, the classic leak

    def put(self, key, value):
        self.history.append(value)
        super().put(key, value)


# ---- answers that hide work from the counters, or keep state ------------------------------------
def enrich_scan_over_int_keys(users, orders):
    """The quadratic scan again, with every id converted by int() before it is compared."""
    enriched = []
    for user in users:
        uid = int(user["id"])
        mine = [o for o in orders if int(o["user_id"]) == uid and o["status"] != "cancelled"]
        enriched.append({"id": user["id"], "name": user["name"], "order_count": len(mine),
                         "spent_cents": sum(o["total_cents"] for o in mine)})  # fmt: skip
    return enriched


def enrich_scan_over_str_keys(users, orders):
    """The quadratic scan over ids turned into strings once, then compared in C."""
    order_ids = [(str(o["user_id"]), o) for o in orders if o["status"] != "cancelled"]
    enriched = []
    for user in users:
        uid = str(user["id"])
        mine = [o for key, o in order_ids if key == uid]
        enriched.append({"id": user["id"], "name": user["name"], "order_count": len(mine),
                         "spent_cents": sum(o["total_cents"] for o in mine)})  # fmt: skip
    return enriched


def enrich_pandas(users, orders):
    """Right rows through pandas: the ids become plain int64, so no work can be counted."""
    import pandas as pd

    frame = pd.DataFrame(orders)
    frame = frame[frame["status"] != "cancelled"]
    totals = frame.groupby("user_id")["total_cents"].agg(["count", "sum"])
    rows = []
    for user in users:
        count, spent = totals.loc[user["id"]] if user["id"] in totals.index else (0, 0)
        rows.append({"id": user["id"], "name": user["name"], "order_count": int(count),
                     "spent_cents": int(spent)})  # fmt: skip
    return rows


_ENRICHED_BY_SIZE: dict[int, list[dict[str, Any]]] = {}


def enrich_memo_by_size(users, orders):
    """Linear and right, but remembers its answer by the number of users it was given."""
    if len(users) not in _ENRICHED_BY_SIZE:
        _ENRICHED_BY_SIZE[len(users)] = enrich.enrich_users_reference(users, orders)
    return _ENRICHED_BY_SIZE[len(users)]


def enrich_counter_and_defaultdict(users, orders):
    """A different correct answer: a Counter of orders and a defaultdict of spend."""
    from collections import Counter

    live = [o for o in orders if o["status"] != "cancelled"]
    counts = Counter(o["user_id"] for o in live)
    spent: defaultdict[Any, int] = defaultdict(int)
    for o in live:
        spent[o["user_id"]] += o["total_cents"]
    return [{"id": u["id"], "name": u["name"], "order_count": counts[u["id"]],
             "spent_cents": spent[u["id"]]} for u in users]  # fmt: skip


def top_sorted_int_keys(products, k):
    """A full sort whose key converts each count with int(): the comparisons are hidden."""
    return sorted(products, key=lambda p: (-int(p["sales_count"]), int(p["id"])))[:k]


def top_resorted_buffer_int_keys(products, k):
    """The re-sorted buffer over int() keys: about k hidden comparisons per product."""
    best: list[Any] = []
    for product in products:
        best.append(product)
        best.sort(key=lambda p: (-int(p["sales_count"]), p["id"]))
        del best[k:]
    return best


def top_pandas_sort_values(products, k):
    """pandas sort_values: a full sort of every product, out of the counter's sight."""
    import pandas as pd

    frame = pd.DataFrame(products).sort_values(["sales_count", "id"], ascending=[False, True])
    return frame.head(k).to_dict("records")


def top_heap_manual(products, k):
    """A different correct answer: a hand-written size-k min-heap with heapreplace."""
    heap: list[Any] = []
    for product in products:
        item = (product["sales_count"], -product["id"], product)
        if len(heap) < k:
            heapq.heappush(heap, item)
        elif item[:2] > heap[0][:2]:
            heapq.heapreplace(heap, item)
    return [entry[2] for entry in sorted(heap, key=lambda e: e[:2], reverse=True)]


class LRUAsync(LRUPlainDict):
    """Right eviction, but get and put are coroutines: the service never awaits them."""

    async def get(self, key, default=None):  # type: ignore[override]
        return LRUPlainDict.get(self, key, default)

    async def put(self, key, value):  # type: ignore[override]
        LRUPlainDict.put(self, key, value)


class LRUStopsTracing(LRUUnbounded):
    """The leak, with tracemalloc stopped on the first put so the memory ratio reads flat."""

    def put(self, key, value):
        import tracemalloc

        tracemalloc.stop()
        super().put(key, value)


class LRUClearsTraces(LRUWithHistory):
    """Bounded, but keeps every value in a history list and clears tracemalloc's traces."""

    def put(self, key, value):
        import tracemalloc

        tracemalloc.clear_traces()
        super().put(key, value)


CASES.update(
    {
        "01.enrich_users": Case(
            stub=(enrich_stub,),
            reference=(enrich.enrich_users_reference,),
            alternatives=[
                (enrich_grouped,),
                (enrich_sort_merge,),
                (enrich_counter_and_defaultdict,),
            ],
            wrong={
                "scan_over_int_keys": (enrich_scan_over_int_keys,),
                "scan_over_str_keys": (enrich_scan_over_str_keys,),
                "pandas_uncounted": (enrich_pandas,),
                "memo_by_size": (enrich_memo_by_size,),
                "quadratic_scan": (enrich.enrich_users_slow,),
                "list_index_search": (enrich_list_index,),
                "counts_cancelled": (enrich_counts_cancelled,),
                "skips_users_without_orders": (enrich_skips_users_without_orders,),
                "hard_coded_seed_42": (enrich_hard_coded,),
            },
        ),
        "01.top_k": Case(
            stub=(top_stub,),
            reference=(top_k.top_products_reference,),
            alternatives=[(top_heap_pushpop,), (top_heap_manual,)],
            wrong={
                "sorted_int_keys": (top_sorted_int_keys,),
                "resorted_buffer_int_keys": (top_resorted_buffer_int_keys,),
                "pandas_sort_values": (top_pandas_sort_values,),
                "full_sort": (top_k.top_products_sorted,),
                "resorted_buffer": (top_k.top_products_resorted_buffer,),
                "max_k_times": (top_k_max_repeatedly,),
                "no_tie_break": (top_nlargest_no_tiebreak,),
                "insertion_sort": (top_insertion_sorted,),
            },
        ),
        "01.memoize": Case(
            stub=(memoize_stub,),
            reference=(memo.memoize_reference,),
            alternatives=[(memoize_try_except,)],
            wrong={
                "lru_cache_ignores_key": (memoize_lru_cache,),
                "keys_on_all_arguments": (memoize_all_arguments,),
                "truthiness_test": (memoize_truthiness,),
                "one_cache_for_all_functions": (memoize_shared_cache,),
                "bounded_to_16": (memoize_bounded,),
                "resets_call_counts": (memoize_resets_counts,),
            },
        ),
        "01.bounded_lru": Case(
            stub=(LRUStub,),
            reference=(leak.BoundedLRUReference,),
            alternatives=[(LRUPlainDict,)],
            wrong={
                "fifo_eviction": (LRUFifo,),
                "clear_when_full": (LRUClearWhenFull,),
                "never_evicts": (LRUUnbounded,),
                "keeps_history_list": (LRUWithHistory,),
                "async_get_put": (LRUAsync,),
                "stops_tracemalloc": (LRUStopsTracing,),
                "clears_traces": (LRUClearsTraces,),
            },
        ),
    }
)
