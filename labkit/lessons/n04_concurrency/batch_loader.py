"""Exercise 04.loader: a DataLoader-style batcher, graded by counting batch calls per tick.

The batch function the check hands to the learner's loader reads user names from the seeded
dataset (loaded once, then served from memory with a small simulated round trip), records every
batch it is asked for, and can be changed between "requests" to catch a loader that keeps
values, or futures, from one request (or one event loop) to the next (aiodataloader #13).
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
from collections.abc import Awaitable, Callable, Hashable, Sequence
from pathlib import Path
from typing import Any

from labkit.grading import Grader, exercise, reference_answer

BatchFn = Callable[[list[Any]], Awaitable[Sequence[Any]]]


@reference_answer
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


def batch_source(
    names: dict[Any, str], latency_s: float = 0.002
) -> tuple[Callable[[Sequence[Any]], Awaitable[list[str | None]]], list[list[Any]]]:
    """An instrumented batch function and the list of batches it was asked for.

    The list is the check's: the loader receives only the function, so it cannot reset what
    is counted. ``names`` is read at call time, so the check can change a value between
    requests.
    """
    batches: list[list[Any]] = []

    async def names_for(keys: Sequence[Any]) -> list[str | None]:
        keys = list(keys)
        batches.append(keys)
        await asyncio.sleep(latency_s)  # one round trip per batch, however many keys
        return [names.get(k) for k in keys]

    return names_for, batches


def read_user_names(path: Path) -> dict[int, str]:
    """``{user id: name}`` from a dataset file (read-only)."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        return {int(i): str(n) for i, n in conn.execute("SELECT id, name FROM users")}


@exercise(
    "04.loader",
    title="Batch loads: one query per tick (DataLoader pattern)",
    answers=("BatchLoader",),
    hint="In load(): remember the key and a future; on the first key of a tick schedule one "
    "dispatch with loop.call_soon; the dispatch sends all distinct keys to batch_fn at once.",
    points=3,
    timeout=15.0,
)
async def grade_loader(g: Grader, BatchLoader: Any) -> None:
    names: dict[Any, str] = dict(read_user_names(g.dataset("tiny")))
    rng = random.Random(g.seed)
    ids = sorted(names)
    first = rng.sample(ids, 20)
    missing = [max(ids) + 1 + i for i in range(3)]
    tick1 = [*first, *first[:8], *missing]  # duplicates and unknown ids included
    rng.shuffle(tick1)
    tick2 = [*rng.sample([i for i in ids if i not in first], 6), *first[:2]]
    source, batches = batch_source(names)

    loader = await g.acall(BatchLoader, source)
    got1 = await asyncio.gather(*(g.acall(loader.load, k) for k in tick1))
    got2 = await asyncio.gather(*(g.acall(loader.load, k) for k in tick2))
    g.expect_equal(
        list(got1), [names.get(k) for k in tick1], what="first tick's values (None = no user)"
    )
    g.expect_equal(list(got2), [names.get(k) for k in tick2], what="second tick's values")
    duplicated = [b for b in batches if len(b) != len(set(b))]
    g.expect(
        not duplicated,
        f"a batch asked for the same key twice ({len(duplicated[0]) if duplicated else 0} keys, "
        f"{len(set(duplicated[0])) if duplicated else 0} distinct)",
        hint="Send each key once per batch: remember one future per key and share it.",
    )
    g.measure(
        "batch calls for 2 ticks",
        len(batches),
        target="2 (one per tick)",
        ok=len(batches) == 2,
        hint="Each load() calls batch_fn by itself: that is N+1 again. Queue the key and let one "
        "dispatch per tick send them all."
        if len(batches) > 2
        else "Both ticks were answered by one batch: keys of the second tick must be loaded too.",
    )
    if len(batches) != 2:
        return

    # A second request, on another event loop, after the data changed, with string keys: a
    # new loader must see the new value and must not reuse futures bound to the first loop.
    changed = first[0]
    names[changed] = f"renamed-{g.seed}"
    by_handle = {f"@{names[k]}": names[k] for k in first[:4]}
    second, second_batches = batch_source({changed: names[changed], **by_handle})
    keys = [changed, *by_handle]

    async def second_request() -> list[Any]:
        loader = await g.acall(BatchLoader, second)
        return list(await asyncio.gather(*(g.acall(loader.load, k) for k in keys)))

    got = await asyncio.to_thread(asyncio.run, second_request())
    g.expect_equal(
        got,
        [names[changed], *by_handle.values()],
        what="a new loader in a second request (on another event loop) after an update",
        hint="Keep the queue and the cache on the instance (self), not on the class or module: "
        "one loader per request, so no request sees another's cache or loop.",
    )
    g.measure(
        "batch calls in the second request",
        len(second_batches),
        target="1",
        ok=len(second_batches) == 1,
    )
