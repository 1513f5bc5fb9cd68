"""Exercise 01.bounded_lru: fix a memory leak (an unbounded dict used as a cache).

The service keeps every profile it ever loaded: memory grows with the number of distinct users
seen, until the process is killed. A bounded LRU keeps at most ``maxsize`` entries and still
serves the hot keys from memory. The check counts live cached objects after N and 4N requests,
compares traced memory (tracemalloc) between the two, and counts loader calls on a trace with
hot keys, against an exact LRU model. ``get``/``put`` must be plain methods (the service calls
them without ``await``); an answer that stops, restarts or clears tracemalloc is caught by a
sentinel allocation whose trace must survive every call.
"""

from __future__ import annotations

import gc
import inspect
import logging
import random
import tracemalloc
import weakref
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from labkit.errors import InstrumentBlinded
from labkit.grading import Grader, exercise, reference_answer

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

PAYLOAD_BYTES = 2048
MAX_MEMORY_RATIO = 1.5

memory_log = logging.getLogger("labkit.memory")


class Profile:
    """What the service caches: a user's rendered profile (about 2 KB)."""

    __slots__ = ("__weakref__", "body", "user_id")

    def __init__(self, user_id: int) -> None:
        self.user_id = user_id
        self.body = bytearray(PAYLOAD_BYTES)


class ProfileLoader:
    """Builds profiles (the expensive part); counts calls and tracks which profiles are alive."""

    def __init__(self, *, track: bool = True) -> None:
        self.calls = 0
        self.track = track  # tracking costs a weak reference per profile: off for demos
        self._alive: weakref.WeakSet[Profile] = weakref.WeakSet()

    def __call__(self, user_id: int) -> Profile:
        self.calls += 1
        profile = Profile(user_id)
        if self.track:
            self._alive.add(profile)
        return profile

    def alive(self) -> int:
        """Profiles still referenced by anything (after a full garbage collection)."""
        gc.collect()
        return len(self._alive)


class UnboundedCache:
    """The leak: a dict that only ever grows."""

    def __init__(self) -> None:
        self._data: dict[Any, Any] = {}

    def get(self, key: Any, default: Any = None) -> Any:
        return self._data.get(key, default)

    def put(self, key: Any, value: Any) -> None:
        self._data[key] = value

    def __len__(self) -> int:
        return len(self._data)


@reference_answer
class BoundedLRUReference:
    """At most ``maxsize`` entries; ``get`` refreshes a key, ``put`` evicts the least recent."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._data: OrderedDict[Any, Any] = OrderedDict()

    def get(self, key: Any, default: Any = None) -> Any:
        if key not in self._data:
            return default
        self._data.move_to_end(key)
        return self._data[key]

    def put(self, key: Any, value: Any) -> None:
        self._data[key] = value
        self._data.move_to_end(key)
        while len(self._data) > self.maxsize:
            self._data.popitem(last=False)

    def __len__(self) -> int:
        return len(self._data)


class ProfileService:
    """Cache-aside: look in the cache, load on a miss, remember the result."""

    def __init__(self, cache: Any, loader: Callable[[int], Profile]) -> None:
        self.cache = cache
        self.loader = loader

    def get_profile(self, user_id: int) -> Profile:
        profile = self.cache.get(user_id)
        if profile is None:
            profile = self.loader(user_id)
            self.cache.put(user_id, profile)
        return cast(Profile, profile)


def hot_and_cold_trace(seed: int, requests: int = 600, hot: int = 10) -> list[int]:
    """Every other request is one of a few hot users; the rest are users seen once."""
    rng = random.Random(f"labkit/01.bounded_lru/{seed}")
    hot_ids = rng.sample(range(1, 1_000), hot)
    cold = iter(range(10_000, 10_000 + requests))
    return [hot_ids[i // 2 % hot] if i % 2 == 0 else next(cold) for i in range(requests)]


def growth_report(
    before: tracemalloc.Snapshot, after: tracemalloc.Snapshot, limit: int = 5
) -> pd.DataFrame:
    """The heap-snapshot diff: the source lines whose live memory grew most between snapshots."""
    import pandas as pd

    ignore = [
        tracemalloc.Filter(False, tracemalloc.__file__),
        tracemalloc.Filter(False, "<frozen importlib._bootstrap*>"),
    ]
    stats = after.filter_traces(ignore).compare_to(before.filter_traces(ignore), "lineno")
    rows = [
        {
            "where": f"{stat.traceback[0].filename.rsplit('/', 1)[-1]}:{stat.traceback[0].lineno}",
            "grew KiB": round(stat.size_diff / 1024, 1),
            "new blocks": stat.count_diff,
            "live KiB": round(stat.size / 1024, 1),
        }
        for stat in stats[:limit]
    ]
    return pd.DataFrame(rows)


class RssWatch:
    """Log the process's resident memory, with a warning once it passes a threshold."""

    def __init__(
        self,
        threshold_mb: float,
        *,
        logger: logging.Logger = memory_log,
        read_rss: Callable[[], int] | None = None,
    ) -> None:
        self.threshold_mb = threshold_mb
        self.logger = logger
        self.read_rss = read_rss or process_rss_bytes
        self.samples: list[tuple[str, float]] = []
        self.warnings = 0

    def sample(self, label: str = "") -> float:
        """Read RSS now (MiB); log at INFO, or WARNING above the threshold."""
        mb = self.read_rss() / 2**20
        self.samples.append((label, mb))
        if mb > self.threshold_mb:
            self.warnings += 1
            self.logger.warning("RSS %.1f MiB > %.0f MiB %s", mb, self.threshold_mb, label)
        else:
            self.logger.info("RSS %.1f MiB %s", mb, label)
        return mb


def process_rss_bytes() -> int:
    """This process's resident memory (RSS), in bytes."""
    import psutil

    return int(psutil.Process().memory_info().rss)


class _TraceWatch:
    """Proof that tracemalloc kept tracing, untouched, while the learner's code ran.

    A sentinel allocated after tracing started has a traceback as long as nobody stopped,
    restarted or cleared the traces; checked after every call into the answer.
    """

    def __init__(self) -> None:
        self.sentinel: bytearray | None = None

    def arm(self) -> None:
        self.sentinel = bytearray(4096)

    def verify(self) -> None:
        if self.sentinel is None:
            return
        if not tracemalloc.is_tracing() or tracemalloc.get_object_traceback(self.sentinel) is None:
            self.sentinel = None
            raise InstrumentBlinded(
                "your cache stopped, restarted or cleared tracemalloc while the check measured "
                "memory with it: leave tracemalloc alone, the check needs it to see the leak."
            )


class _Guarded:
    """The learner's cache, with every method call going through ``g.call``."""

    def __init__(self, g: Grader, cache: Any, watch: _TraceWatch | None = None) -> None:
        self.g = g
        self.cache = cache
        self.watch = watch or _TraceWatch()

    def get(self, key: Any) -> Any:
        try:
            return self.g.call(self.cache.get, key)
        finally:
            self.watch.verify()

    def put(self, key: Any, value: Any) -> None:
        try:
            self.g.call(self.cache.put, key, value)
        finally:
            self.watch.verify()


def _plain_methods(g: Grader, cache_class: type) -> None:
    """get and put are called without await: coroutine methods would never run their body."""
    for name in ("get", "put"):
        method = getattr(cache_class, name, None)
        g.expect(
            callable(method),
            f"BoundedLRU has no `{name}` method: write `def {name}(self, ...)` in the class",
        )
        g.expect(
            not (inspect.iscoroutinefunction(method) or inspect.isasyncgenfunction(method)),
            f"BoundedLRU.{name} is `async def`, but the service calls it without await "
            f"(`cache.{name}(...)`), as every caller of a dict-like cache does: in-memory "
            "work has nothing to wait for. Write it as a plain `def`.",
        )


def _semantics(g: Grader, cache_class: type) -> None:
    rng = random.Random(f"labkit/01.bounded_lru/ops/{g.seed}")
    mine, model = _Guarded(g, g.call(cache_class, 4)), BoundedLRUReference(4)
    for step in range(300):
        key = rng.randrange(8)
        if rng.random() < 0.55:
            got, expected = mine.get(key), model.get(key)
            g.expect_equal(
                got,
                expected,
                what=f"step {step + 1}: get({key}) on a cache with maxsize=4",
                hint="get() makes a key the most recently used; put() on a full cache evicts "
                "the least recently used key; a missing key gives None.",
            )
        else:
            value = f"v{key}.{step}"
            mine.put(key, value)
            model.put(key, value)


def _retained(g: Grader, cache_class: type, maxsize: int, n: int) -> tuple[list[int], list[int]]:
    """Live profiles and traced bytes after n and 4n distinct-user requests."""
    started_here = not tracemalloc.is_tracing()
    if started_here:
        tracemalloc.start()
    watch = _TraceWatch()
    try:
        loader = ProfileLoader()
        gc.collect()
        watch.arm()
        baseline = tracemalloc.get_traced_memory()[0]
        cache = g.call(cache_class, maxsize)
        watch.verify()
        service = ProfileService(_Guarded(g, cache, watch), loader)
        alive, traced = [], []
        user = 0
        for total in (n, 4 * n):
            while user < total:
                user += 1
                service.get_profile(user)
            alive.append(loader.alive())
            traced.append(max(tracemalloc.get_traced_memory()[0] - baseline, 1))
        watch.verify()
        return alive, traced
    finally:
        if started_here and tracemalloc.is_tracing():
            tracemalloc.stop()


@exercise(
    "01.bounded_lru",
    title="Fix the leak: a bounded LRU cache",
    answers=("BoundedLRU",),
    hint=(
        "Keep entries in an OrderedDict (or a dict, which remembers insertion order): get() "
        "moves the key to the end, put() appends and then evicts from the front while "
        "len > maxsize."
    ),
    points=2,
    timeout=20.0,
)
def grade_bounded_lru(g: Grader, BoundedLRU: type) -> None:
    g.expect(isinstance(BoundedLRU, type), "BoundedLRU should be a class: `class BoundedLRU:`")
    _plain_methods(g, BoundedLRU)
    _semantics(g, BoundedLRU)

    trace = hot_and_cold_trace(g.seed)
    loads: list[int] = []
    for cache in (BoundedLRUReference(50), g.call(BoundedLRU, 50)):
        loader = ProfileLoader()
        service = ProfileService(cache if not loads else _Guarded(g, cache), loader)
        for user_id in trace:
            service.get_profile(user_id)
        loads.append(loader.calls)
    g.measure(
        f"loads for {len(trace)} requests (half to 10 hot users, maxsize=50)",
        loads[1],
        target=f"= {loads[0]} (hot users stay cached)",
        ok=loads[1] == loads[0],
        hint="A recently used key must survive: evict the least recently *used* entry, not "
        "the oldest inserted one, and never clear the whole cache.",
    )

    maxsize, n = 100, 300
    try:
        alive, traced = _retained(g, BoundedLRU, maxsize, n)
    except InstrumentBlinded as exc:  # a "not yet" with the message, whatever the grader's age
        g.expect(False, str(exc))
        raise
    g.measure(
        f"profiles retained after {n} → {4 * n} requests (maxsize={maxsize})",
        f"{alive[0]} → {alive[1]}",
        target=f"≤ {maxsize} both times",
        ok=max(alive) <= maxsize,
        hint="The cache keeps every user it has seen: that is the leak. Evict when full.",
    )
    ratio = traced[1] / traced[0]
    g.measure(
        f"traced memory {4 * n} vs {n} requests",
        f"{ratio:.2f}× ({traced[0] / 1024:.0f} → {traced[1] / 1024:.0f} KiB)",
        target=f"≤ {MAX_MEMORY_RATIO}× (flat once the cache is full)",
        ok=ratio <= MAX_MEMORY_RATIO,
    )
