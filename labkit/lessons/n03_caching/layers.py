"""03.two_layer — an in-process L1 in front of a shared L2, failing open when L2 is down.

Three "workers" per attempt, each with a fresh L1 and a fresh counting loader: two share one
L2, the third has an L2 that is down and a database whose values differ, so an answer that
keeps values anywhere but in the layers it is given is caught.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
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
    source, changed, trace = layer_workload(g.seed)
    shared = MemoryL2()
    workers = [
        await run_worker(g, two_layer_get, trace, shared, source),
        await run_worker(g, two_layer_get, trace, shared, source),
        await run_worker(g, two_layer_get, trace, MemoryL2(broken=True), changed),
    ]
    expect_right_values(g, workers)
    expect_l1_filled(g, workers, trace)
    measure_layer_traffic(g, workers, distinct=len(set(trace)))


def layer_workload(seed: int) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    """(the database, the third worker's database with other prices, the keys read)."""
    rng = random.Random(seed)
    source = {
        f"product:{i}": {"id": i, "price_cents": rng.randint(100, 99_999)}
        for i in range(1, LAYER_KEYS + 1)
    }
    # The third worker's database has other prices: values remembered elsewhere show up.
    changed = {k: {**v, "price_cents": v["price_cents"] + 1} for k, v in source.items()}
    ranked = list(source)
    rng.shuffle(ranked)
    return source, changed, zipf_trace(ranked, LAYER_REQUESTS, seed=seed, s=1.0)


@dataclass
class WorkerRun:
    """What one worker's reads showed: its database loader, wrong values, L2 reads, unfilled L1."""

    loader: CountingLoader  # its calls are read when measured, after every worker has run
    wrong: list[str]
    l2_reads: int
    unfilled: int  # keys read but missing from the L1 it was given


async def run_worker(
    g: Grader, two_layer_get: Any, trace: list[str], l2: MemoryL2, db: dict[str, Any]
) -> WorkerRun:
    """One worker process: its own L1, the given L2, a counting database loader."""
    l1: LRUCache[str, Any] = LRUCache(maxsize=LAYER_KEYS * 2)
    load = CountingLoader(db)
    wrong: list[str] = []
    gets_before = l2.gets
    for key in trace:
        value = await g.acall(two_layer_get, key, l1, l2, load)
        if value != db[key]:
            wrong.append(f"{key}: expected {db[key]}, got {value!r}")
    unfilled = len([key for key in set(trace) if key not in l1])
    return WorkerRun(load, wrong, l2.gets - gets_before, unfilled)


def expect_right_values(g: Grader, workers: list[WorkerRun]) -> None:
    wrong = [line for worker in workers for line in worker.wrong]
    g.expect(
        not wrong,
        f"{len(wrong)} reads returned the wrong value (first: {wrong[0] if wrong else ''})",
        hint="Return the value itself, whichever layer it came from, and keep values only in "
        "the l1 and l2 you are given: the third worker's database has other prices, so a value "
        "remembered anywhere else shows up as an old price.",
    )


def expect_l1_filled(g: Grader, workers: list[WorkerRun], trace: list[str]) -> None:
    for who, worker, fix in zip(
        ("first worker", "second worker (L2 already filled)", "worker with L2 down"),
        workers,
        (
            "store each loaded value in the l1 you were given",
            "copy an L2 hit into l1",
            "fill l1 after a load even when L2 fails",
        ),
        strict=True,
    ):
        g.expect(
            not worker.unfilled,
            f"{who}: after {len(trace)} reads the L1 it was given lacks {worker.unfilled} of "
            f"the {len(set(trace))} keys read: {fix} (each worker has its own l1; keep values "
            "there, not in a global).",
        )


def measure_layer_traffic(g: Grader, workers: list[WorkerRun], distinct: int) -> None:
    first, second, down = workers
    g.measure(
        "database loads, first worker",
        first.loader.calls,
        target=f"= {distinct} distinct keys",
        ok=first.loader.calls == distinct,
        hint="After a load, store the value in L1 so the next read of that key is a hit.",
    )
    g.measure(
        "database loads, second worker (same L2)",
        second.loader.calls,
        target="0",
        ok=second.loader.calls == 0,
        hint="After a load, also await l2.set(key, value): L2 is what other workers share.",
    )
    g.measure(
        "L2 reads, second worker",
        second.l2_reads,
        target=f"≤ {distinct} (once per key, then L1)",
        ok=second.l2_reads <= distinct,
        hint="Fill L1 from an L2 hit, so the next read of that key does not go to L2 again.",
    )
    g.measure(
        "database loads with L2 down",
        down.loader.calls,
        target=f"= {distinct} (L1 still caches)",
        ok=down.loader.calls == distinct,
        hint="When L2 fails, still fill L1: the in-process layer is the one that works.",
    )


__all__ = ["grade_two_layer", "two_layer_get"]
