"""Exercise 04.shared_limit: a fixed-window limit counted in a store every worker shares.

The answer ``allow(store, client, now, limit, window_s)`` is run by two "workers" at once (two
threads, each with its own handle on one shared store, as two server processes each open the
same diskcache directory or Redis). The check's store has diskcache's small API (``incr``,
``get``, ``set``, ``add``, ``touch``, ``delete``) and makes the race of read-then-write happen
every time: when both workers read a count, neither gets its answer until the other has read
it too — so a ``get`` followed by a ``set`` admits two requests for one count, deterministically.
Only an atomic increment (``incr``) keeps the limit.

Counted: requests admitted per client and window, across both workers, against the limit; and
what was written to the store (a count kept in a module-level dict is per process in a real
server, and the store never sees it). Limit, window, clients and times come from the seed.
"""

from __future__ import annotations

import contextlib
import random
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from labkit.grading import Grader, exercise, reference_answer

_MISSING = object()


class SharedState:
    """What the workers share (the store's contents) and how the check forces the race."""

    def __init__(self) -> None:
        self.values: dict[Any, Any] = {}
        self.lock = threading.Lock()
        self.barrier: threading.Barrier | None = None
        self.writes = 0


class WorkerStore:
    """One worker's handle on the shared store: the subset of ``diskcache.Cache`` a limiter
    uses. Every operation is atomic on its own; a read waits for the other worker's read."""

    def __init__(self, state: SharedState) -> None:
        self._state = state

    def _read(self, key: Any, default: Any) -> Any:
        with self._state.lock:
            value = self._state.values.get(key, default)
        barrier = self._state.barrier
        if barrier is not None:
            # neither worker gets what it read until both have read: the race, every time (a
            # broken barrier: the other worker did not read — an atomic answer — so go on)
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait()
        return value

    def get(self, key: Any, default: Any = None, **_: Any) -> Any:
        return self._read(key, default)

    def __getitem__(self, key: Any) -> Any:
        value = self._read(key, _MISSING)
        if value is _MISSING:
            raise KeyError(key)
        return value

    def __contains__(self, key: Any) -> bool:
        return self._read(key, _MISSING) is not _MISSING

    def set(self, key: Any, value: Any, expire: float | None = None, **_: Any) -> bool:
        with self._state.lock:
            self._state.values[key] = value
            self._state.writes += 1
        return True

    def __setitem__(self, key: Any, value: Any) -> None:
        self.set(key, value)

    def add(self, key: Any, value: Any, expire: float | None = None, **_: Any) -> bool:
        with self._state.lock:
            if key in self._state.values:
                return False
            self._state.values[key] = value
            self._state.writes += 1
            return True

    def incr(self, key: Any, delta: int = 1, default: int | None = 0, **_: Any) -> int:
        with self._state.lock:
            current = self._state.values.get(key, default)
            if current is None:
                raise KeyError(key)  # as diskcache does with default=None
            value = int(current) + delta
            self._state.values[key] = value
            self._state.writes += 1
            return value

    def touch(self, key: Any, expire: float | None = None, **_: Any) -> bool:
        with self._state.lock:
            return key in self._state.values

    def delete(self, key: Any, **_: Any) -> bool:
        with self._state.lock:
            self._state.writes += 1
            return self._state.values.pop(key, _MISSING) is not _MISSING


@reference_answer
def allow_request(store: Any, client: str, now: float, limit: int, window_s: float) -> bool:
    """Fixed window: at most ``limit`` requests per client per window, counted in ``store``."""
    key = f"rl:{client}:{int(now // window_s)}"
    count = int(store.incr(key, 1, default=0))  # atomic: no other worker can slip in between
    if count == 1:
        store.touch(key, expire=2 * window_s)  # keep the store small: old windows expire
    return count <= limit


Pair = tuple[str, float]  # (client, now): one request sent to each of the two workers


def shared_limit_script(seed: int) -> tuple[int, float, list[tuple[str, list[Pair]]]]:
    """The limit, the window and phases of request pairs; each phase overflows its limit."""
    rng = random.Random(f"{seed}:shared-limit")
    limit = rng.choice((4, 5, 6, 8, 10))
    window = rng.choice((10.0, 30.0, 60.0))
    alice, bob = (f"addr:198.51.100.{n}" for n in rng.sample(range(2, 250), 2))
    start = window * rng.randrange(10, 10_000)
    pairs = limit // 2 + rng.randint(2, 4)  # 2 requests a pair: well past the limit
    inside = [start + rng.uniform(0, window * 0.9) for _ in range(pairs)]
    later = [start + window + rng.uniform(0, window * 0.9) for _ in range(pairs)]
    phases = [
        ("one client, one window", [(alice, t) for t in sorted(inside)]),
        ("another client, the same window", [(bob, t) for t in sorted(inside)]),
        ("the first client, the next window", [(alice, t) for t in sorted(later)]),
    ]
    return limit, window, phases


@exercise(
    "04.shared_limit",
    title="A rate limit shared by every worker (atomic counts in a shared store)",
    answers=("allow",),
    hint="key = f'rl:{client}:{int(now // window_s)}'; count = store.incr(key, 1, default=0); "
    "return count <= limit. incr is one atomic step; get + set is two, and another worker can "
    "read between them.",
    points=2,
    timeout=15.0,
)
def grade_shared_limit(g: Grader, allow: Any) -> None:
    limit, window, phases = shared_limit_script(g.seed)
    state = SharedState()
    workers = (WorkerStore(state), WorkerStore(state))
    call: Callable[..., Any] = g.call
    with ThreadPoolExecutor(2, thread_name_prefix="labkit-worker") as threads:
        for name, pairs in phases:
            admitted = 0
            writes_before = state.writes
            for client, now in pairs:
                state.barrier = threading.Barrier(2, timeout=0.25)
                futures = [
                    threads.submit(call, allow, store, client, now, limit, window)
                    for store in workers
                ]
                for future in futures:
                    verdict = future.result(timeout=10)
                    g.expect(
                        isinstance(verdict, bool),
                        f"allow() should return True or False, got {verdict!r}",
                    )
                    admitted += verdict
            state.barrier = None
            # both "workers" are threads of this process, so a module-level dict would look
            # shared here; in a real server each process has its own. The store must count.
            g.measure(
                f"counts written to the shared store — {name}",
                state.writes - writes_before,
                target=f"≥ {2 * len(pairs)} (one per request)",
                ok=state.writes - writes_before >= 2 * len(pairs),
                hint="Count in the `store` you are given (store.incr): a variable or a "
                "module-level dict lives in one worker process, and the other never sees it.",
            )
            g.measure(
                f"requests admitted by 2 workers — {name}",
                admitted,
                target=f"{limit} of {2 * len(pairs)} (limit {limit} per {window:g} s)",
                ok=admitted == limit,
                hint=_hint(admitted, limit, state, name),
            )
            if admitted != limit or state.writes - writes_before < 2 * len(pairs):
                return
    g.note(
        f"2 workers, {sum(2 * len(p) for _, p in phases)} requests in 3 phases; "
        f"{state.writes} writes to the shared store"
    )


def _hint(admitted: int, limit: int, state: SharedState, phase: str) -> str:
    if state.writes == 0:
        return (
            "Nothing was written to the store you were given: a count kept in a variable or a "
            "module-level dict lives in one worker process; count in `store`."
        )
    if admitted > limit:
        return (
            "Both workers admitted requests on the same count: reading the count (get) and "
            "writing it back (set) are two steps, and the other worker reads in between. Use "
            "one atomic step: count = store.incr(key, 1, default=0)."
        )
    if "next window" in phase and admitted == 0:
        return "Put the window in the key (int(now // window_s)): a new window starts from 0."
    return "Allow while the count after this request is <= limit (the limit-th request passes)."
