"""03.invalidation — invalidate on write: no stale product after an update or a delete.

Three kinds of evidence, each out of the answer's reach:

- the write is read back through a **fresh connection**, so a write that never commits fails;
- while the answer runs, **another request reads the product** (on its own connection, through
  the same cache) just before each write statement and just before the commit. An answer that
  drops the key before writing lets that reader cache the old row again, and is caught
  deterministically — the race made to happen every time instead of once a week;
- after the write the product is read through the cache and compared with the **whole row**,
  so a write-through that caches a partial dict fails.

Two rounds per attempt, each with a fresh copy of the database and a fresh cache.
"""

from __future__ import annotations

import random
import re
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import aiosqlite
from cachetools import LRUCache

from labkit.db import connect
from labkit.errors import InstrumentBlinded
from labkit.grading import Grader, exercise, reference_answer
from labkit.grading.references import grader_side
from labkit.lessons.n03_caching.aside import cached_get as reference_cached_get
from labkit.lessons.n03_caching.workload import fetch_product, product_key, products_by_popularity

WARMED = 12
_WRITE = re.compile(r"^\s*(update|delete|insert|replace|with)\b", re.IGNORECASE)


@reference_answer
async def update_product_price(
    db: aiosqlite.Connection, cache: MutableMapping[str, Any], product_id: int, price_cents: int
) -> None:
    """Write and commit first, then drop the cached copy, so the next read loads the new row."""
    await db.execute(
        "UPDATE products SET price_cents = ? WHERE id = ?", (int(price_cents), int(product_id))
    )
    await db.commit()
    cache.pop(product_key(product_id), None)


@reference_answer
async def delete_product(
    db: aiosqlite.Connection, cache: MutableMapping[str, Any], product_id: int
) -> None:
    """Delete the row and commit, then drop the cached copy."""
    await db.execute("DELETE FROM products WHERE id = ?", (int(product_id),))
    await db.commit()
    cache.pop(product_key(product_id), None)


class _Deferred:
    """What ``db.execute(...)`` returns (awaitable and ``async with``), after a reader ran."""

    def __init__(self, before: Callable[[], Awaitable[None]], start: Callable[[], Any]) -> None:
        self.before, self.start, self.inner = before, start, None

    def __await__(self) -> Any:
        return self._run().__await__()

    async def _run(self) -> Any:
        await self.before()
        return await self.start()

    async def __aenter__(self) -> Any:
        await self.before()
        self.inner = self.start()
        return await self.inner.__aenter__()  # type: ignore[attr-defined]

    async def __aexit__(self, *exc: object) -> Any:
        return await self.inner.__aexit__(*exc)  # type: ignore[attr-defined]


@contextmanager
def _reader_before_writes(
    db: aiosqlite.Connection, read: Callable[[], Awaitable[None]]
) -> Iterator[list[int]]:
    """While the block runs, ``read()`` runs just before each write statement and each commit
    on ``db``; yields a list holding how many times it ran."""
    ran = [0]
    execute, commit = db.execute, db.commit

    async def before() -> None:
        ran[0] += 1
        await read()

    def patched_execute(sql: str, *args: Any, **kwargs: Any) -> Any:
        if isinstance(sql, str) and _WRITE.match(sql):
            return _Deferred(before, lambda: execute(sql, *args, **kwargs))
        return execute(sql, *args, **kwargs)

    async def patched_commit() -> None:
        await before()
        await commit()

    db.execute = patched_execute  # type: ignore[method-assign]
    db.commit = patched_commit  # type: ignore[method-assign]
    try:
        yield ran
    finally:
        replaced = db.__dict__.get("execute") is not patched_execute or (
            db.__dict__.get("commit") is not patched_commit
        )
        db.__dict__.pop("execute", None)  # the instance attributes go; the class's are back
        db.__dict__.pop("commit", None)
    if replaced:
        raise InstrumentBlinded(
            "db.execute or db.commit was replaced while your function ran: the check watches "
            "them to let another request in between your write and your invalidation. Call "
            "them; do not reassign them."
        )


async def _prices(path: Path) -> dict[int, int]:
    """Every product's price as a fresh connection sees it."""
    async with connect(path) as fresh, fresh.execute("SELECT id, price_cents FROM products") as c:
        return {int(row[0]): int(row[1]) for row in await c.fetchall()}


async def _row(path: Path, product_id: int) -> dict[str, Any] | None:
    """The product as a fresh connection sees it: only committed writes."""
    async with connect(path) as fresh:
        return await fetch_product(fresh, product_id)


@exercise(
    "03.invalidation",
    title="Invalidate on write: no stale product after an update or a delete",
    answers=("update_product_price", "delete_product"),
    hint="Write to the database and commit, then cache.pop(product_key(product_id), None). "
    "Drop only that key: the rest of the cache is still good.",
    points=2,
    timeout=20.0,
)
async def grade_invalidation(g: Grader, update_product_price: Any, delete_product: Any) -> None:
    rng = random.Random(g.seed)
    problems: dict[str, list[str]] = {
        "not_committed": [],
        "stale": [],
        "partial": [],
        "dropped": [],
        "collateral": [],
    }
    kept_total = 0
    for round_no in range(2):
        path = g.dataset("tiny")
        async with connect(path) as db, connect(path) as reader_db:
            ranked = await products_by_popularity(db)
            expected = await _prices(path)  # the table as it should be after the writes
            # A first read on the reader's connection ends the statement left open when it was
            # opened (labkit.db reads the schema version), which would hold a lock on the file.
            await products_by_popularity(reader_db)
            chosen = rng.sample(ranked, WARMED)
            cache: LRUCache[str, Any] = LRUCache(maxsize=64)

            async def load(pid: int, conn: aiosqlite.Connection = db) -> Any:
                return await fetch_product(conn, pid)

            async def load_other(pid: int) -> Any:
                return await fetch_product(reader_db, pid)

            for pid in chosen:
                await reference_cached_get(pid, cache, load)
            updated, deleted, kept = chosen[:3], chosen[3:5], chosen[5:]
            kept_total += len(kept)
            # Round 2 deletes before it updates: order must not matter to a right answer.
            steps = [("update", p) for p in updated] + [("delete", p) for p in deleted]
            if round_no == 1:
                steps.reverse()
            for action, pid in steps:
                reloaded: list[str] = []

                async def other_request(
                    pid: int = pid, cache: Any = cache, reloaded: list[str] = reloaded
                ) -> None:
                    with grader_side():  # another request, not the learner's code
                        _, status = await reference_cached_get(pid, cache, load_other)
                    if status == "miss":
                        reloaded.append(status)

                with _reader_before_writes(db, other_request) as ran:
                    if action == "update":
                        before = await fetch_product(db, pid)
                        if before is None:  # an earlier write of the answer removed it
                            problems["collateral"].append(f"product {pid}: deleted")
                            continue
                        new_price = int(before["price_cents"]) + rng.randint(101, 999)
                        await g.acall(update_product_price, db, cache, pid, new_price)
                        expected[pid] = new_price
                    else:
                        await g.acall(delete_product, db, cache, pid)
                        expected.pop(pid, None)
                row = await _row(path, pid)
                changed = (
                    row is None
                    if action == "delete"
                    else row is not None and (row["price_cents"] == new_price)
                )
                g.expect(
                    ran[0] > 0 or not changed,
                    f"your {'update_product_price' if action == 'update' else 'delete_product'} "
                    "changed the database without calling db.commit() on the connection it was "
                    "given: write through db and commit with await db.commit().",
                )
                served, _ = await reference_cached_get(pid, cache, load)
                stale_before = len(problems["stale"])
                _compare(
                    action, pid, row, served, new_price if action == "update" else None, problems
                )
                if reloaded and len(problems["stale"]) > stale_before:
                    problems["stale"][-1] += (
                        " — another request read it while your function ran, after the key was "
                        "dropped and before the commit, and cached the old row again"
                    )
            problems["dropped"] += [f"product {p}" for p in kept if product_key(p) not in cache]
            actual = await _prices(path)
            problems["collateral"] += [
                f"product {p}: price {actual.get(p, 'deleted')}, "
                f"expected {expected.get(p, 'deleted')}"
                for p in sorted(set(actual) | set(expected))
                if actual.get(p) != expected.get(p)
            ]
    first = {name: (found[0] if found else "") for name, found in problems.items()}
    g.expect(
        not problems["not_committed"],
        f"another connection does not see the write: {first['not_committed']}",
        hint="Run the UPDATE / DELETE on db and await db.commit(): until the commit, no other "
        "request can see the change.",
    )
    g.expect(
        not problems["collateral"],
        f"the writes changed {len(problems['collateral'])} products they were not asked to "
        f"change (first: {first['collateral']})",
        hint="Limit the statement to the one product: WHERE id = ?, with product_id bound.",
    )
    g.measure(
        "stale reads after a write",
        len(problems["stale"]),
        target="0",
        ok=not problems["stale"],
        hint="A stale read is a failure, not a speed-up. Drop product_key(product_id) from the "
        "cache you were given after the write has committed: a request that reads between a "
        "drop and the commit caches the old row again"
        + (f" (first: {first['stale']})." if problems["stale"] else "."),
    )
    g.measure(
        "cached products that differ from their row",
        len(problems["partial"]),
        target="0",
        ok=not problems["partial"],
        hint="Whatever you put in the cache must be the whole row, as a read would load it — "
        "or simply drop the key and let the next read load it"
        + (f" (first: {first['partial']})." if problems["partial"] else "."),
    )
    g.measure(
        "unrelated entries dropped",
        len(problems["dropped"]),
        target=f"0 of {kept_total}",
        ok=not problems["dropped"],
        hint="Invalidate only the key you wrote; clearing the whole cache throws hits away.",
    )


def _compare(
    action: str,
    pid: int,
    row: dict[str, Any] | None,
    served: dict[str, Any] | None,
    new_price: int | None,
    problems: dict[str, list[str]],
) -> None:
    if action == "update":
        if row is None or row["price_cents"] != new_price:
            problems["not_committed"].append(f"update of product {pid} to {new_price}")
            return
        if served is None or served.get("price_cents") != new_price:
            shown = None if served is None else served.get("price_cents")
            problems["stale"].append(f"product {pid}: price {shown}, expected {new_price}")
        elif served != row:
            missing = sorted(set(row) - set(served))
            problems["partial"].append(
                f"product {pid}: cached {sorted(served)}"
                + (f", missing {missing}" if missing else "")
            )
        return
    if row is not None:
        problems["not_committed"].append(f"delete of product {pid}")
    elif served is not None:
        problems["stale"].append(f"product {pid}: deleted but still served")


__all__ = ["delete_product", "grade_invalidation", "update_product_price"]
