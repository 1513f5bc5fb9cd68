"""03.two_layer — an in-process L1 in front of a shared L2, failing open when L2 is down.

Three "workers" per attempt, each with a fresh L1 and a fresh counting loader: two share one
L2, the third has an L2 that is down and a database whose values differ, so an answer that
keeps values anywhere but in the layers it is given is caught.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from cachetools import LRUCache

from labkit.grading import Grader, exercise, reference_answer
from labkit.lessons.n03_caching.workload import CountingLoader, MemoryL2, zipf_trace

LAYER_KEYS = 30
LAYER_REQUESTS = 200


@reference_answer
async def two_layer_get(
    key: str, l1: MutableMapping[str, Any], l2: Any, load: Callable[[str], Awaitable[Any]]
) -> Any:
    """L1, then L2 (filling L1), then the loader (filling both); an L2 error is a miss."""
    value = l1.get(key)
    if value is not None:
        return value
    try:
        value = await l2.get(key)
    except Exception:  # fail open: a broken shared cache must not fail the request
        value = None
    if value is not None:
        l1[key] = value
        return value
    value = await load(key)
    if value is not None:
        l1[key] = value
        with contextlib.suppress(Exception):  # fail open on writes too
            await l2.set(key, value)
    return value


@exercise(
    "03.two_layer",
    title="Two cache layers: L1 in the process, L2 shared, and fail open",
    answers=("two_layer_get",),
    hint="Try l1, then await l2.get (and copy a hit into l1), then await load (and fill both). "
    "Wrap every l2 call in try/except: a broken shared cache is a miss, not an error.",
    points=2,
    timeout=15.0,
)
async def grade_two_layer(g: Grader, two_layer_get: Any) -> None:
    rng = random.Random(g.seed)
    source = {
        f"product:{i}": {"id": i, "price_cents": rng.randint(100, 99_999)}
        for i in range(1, LAYER_KEYS + 1)
    }
    # The third worker's database has other prices: values remembered elsewhere show up.
    changed = {k: {**v, "price_cents": v["price_cents"] + 1} for k, v in source.items()}
    ranked = list(source)
    rng.shuffle(ranked)
    trace = zipf_trace(ranked, LAYER_REQUESTS, seed=g.seed, s=1.0)
    distinct = len(set(trace))

    async def worker(l2: MemoryL2, db: dict[str, Any]) -> tuple[CountingLoader, list[str], int]:
        """One worker process: its own L1, the given L2, a counting database loader."""
        l1: LRUCache[str, Any] = LRUCache(maxsize=LAYER_KEYS * 2)
        load = CountingLoader(db)
        wrong: list[str] = []
        gets_before = l2.gets
        for key in trace:
            value = await g.acall(two_layer_get, key, l1, l2, load)
            if value != db[key]:
                wrong.append(f"{key}: expected {db[key]}, got {value!r}")
        unfilled.append(len([key for key in set(trace) if key not in l1]))
        return load, wrong, l2.gets - gets_before

    unfilled: list[int] = []  # per worker: keys read but missing from the L1 it was given
    shared = MemoryL2()
    first, wrong_1, _ = await worker(shared, source)
    second, wrong_2, l2_reads = await worker(shared, source)
    broken_l2 = MemoryL2(broken=True)
    third, wrong_3, _ = await worker(broken_l2, changed)
    wrong = wrong_1 + wrong_2 + wrong_3
    g.expect(
        not wrong,
        f"{len(wrong)} reads returned the wrong value (first: {wrong[0] if wrong else ''})",
        hint="Return the value itself, whichever layer it came from, and keep values only in "
        "the l1 and l2 you are given: the third worker's database has other prices, so a value "
        "remembered anywhere else shows up as an old price.",
    )
    for who, missing, fix in zip(
        ("first worker", "second worker (L2 already filled)", "worker with L2 down"),
        unfilled,
        (
            "store each loaded value in the l1 you were given",
            "copy an L2 hit into l1",
            "fill l1 after a load even when L2 fails",
        ),
        strict=True,
    ):
        g.expect(
            not missing,
            f"{who}: after {len(trace)} reads the L1 it was given lacks {missing} of the "
            f"{distinct} keys read: {fix} (each worker has its own l1; keep values there, "
            "not in a global).",
        )
    g.measure(
        "database loads, first worker",
        first.calls,
        target=f"= {distinct} distinct keys",
        ok=first.calls == distinct,
        hint="After a load, store the value in L1 so the next read of that key is a hit.",
    )
    g.measure(
        "database loads, second worker (same L2)",
        second.calls,
        target="0",
        ok=second.calls == 0,
        hint="After a load, also await l2.set(key, value): L2 is what other workers share.",
    )
    g.measure(
        "L2 reads, second worker",
        l2_reads,
        target=f"≤ {distinct} (once per key, then L1)",
        ok=l2_reads <= distinct,
        hint="Fill L1 from an L2 hit, so the next read of that key does not go to L2 again.",
    )
    g.measure(
        "database loads with L2 down",
        third.calls,
        target=f"= {distinct} (L1 still caches)",
        ok=third.calls == distinct,
        hint="When L2 fails, still fill L1: the in-process layer is the one that works.",
    )


__all__ = ["grade_two_layer", "two_layer_get"]
