"""Check 04.loader: a DataLoader-style batcher, graded by counting batch calls per tick.

The batch function the check hands to the learner's loader reads user names from the seeded
dataset (loaded once, then served from memory with a small simulated round trip), records every
batch it is asked for, and can be changed between "requests" to catch a loader that keeps
values, or futures, from one request (or one event loop) to the next (aiodataloader #13).
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from labkit.grading import Grader, exercise


class UserNames:
    """An instrumented batch source: ``await names(keys)`` -> names aligned with keys."""

    def __init__(self, names: dict[int, str], latency_s: float = 0.002) -> None:
        self.names = dict(names)
        self.latency_s = latency_s
        self.batches: list[list[Any]] = []

    async def __call__(self, keys: Sequence[Any]) -> list[str | None]:
        keys = list(keys)
        self.batches.append(keys)
        await asyncio.sleep(self.latency_s)  # one round trip per batch, however many keys
        return [self.names.get(k) for k in keys]


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
def grade_loader(g: Grader, BatchLoader: Any) -> None:
    names = read_user_names(g.dataset("tiny"))
    rng = random.Random(g.seed)
    ids = sorted(names)
    first = rng.sample(ids, 20)
    missing = [max(ids) + 1 + i for i in range(3)]
    tick1 = [*first, *first[:8], *missing]  # duplicates and unknown ids included
    rng.shuffle(tick1)
    tick2 = [*rng.sample([i for i in ids if i not in first], 6), *first[:2]]
    source = UserNames(names)

    async def request_one() -> tuple[list[Any], list[Any]]:
        loader = await g.acall(BatchLoader, source)
        got1 = await asyncio.gather(*(g.acall(loader.load, k) for k in tick1))
        got2 = await asyncio.gather(*(g.acall(loader.load, k) for k in tick2))
        return list(got1), list(got2)

    got1, got2 = g.run(request_one())
    g.expect_equal(got1, [names.get(k) for k in tick1], what="first tick's values (None = no user)")
    g.expect_equal(got2, [names.get(k) for k in tick2], what="second tick's values")
    duplicated = [b for b in source.batches if len(b) != len(set(b))]
    g.expect(
        not duplicated,
        f"a batch asked for the same key twice ({len(duplicated[0]) if duplicated else 0} keys, "
        f"{len(set(duplicated[0])) if duplicated else 0} distinct)",
        hint="Send each key once per batch: remember one future per key and share it.",
    )
    batches = len(source.batches)
    g.measure(
        "batch calls for 2 ticks",
        batches,
        target="2 (one per tick)",
        ok=batches == 2,
        hint="Each load() calls batch_fn by itself: that is N+1 again. Queue the key and let one "
        "dispatch per tick send them all."
        if batches > 2
        else "Both ticks were answered by one batch: keys of the second tick must be loaded too.",
    )
    if batches != 2:
        return

    # A second request, on another event loop, after the data changed: a new loader must see
    # the new value and must not reuse futures bound to the first loop.
    changed = first[0]
    source.names[changed] = f"renamed-{g.seed}"
    second = UserNames(source.names)

    async def request_two() -> Any:
        loader = await g.acall(BatchLoader, second)
        return await g.acall(loader.load, changed)

    other_loop = asyncio.new_event_loop()
    try:
        got = other_loop.run_until_complete(request_two())
    finally:
        other_loop.close()
    g.expect_equal(
        got,
        source.names[changed],
        what="a new loader in a second request (on another event loop) after an update",
        hint="Keep the queue and the cache on the instance (self), not on the class or module: "
        "one loader per request, so no request sees another's cache or loop.",
    )
    g.measure(
        "batch calls in the second request",
        len(second.batches),
        target="1",
        ok=len(second.batches) == 1,
    )
