"""03.warming — warm the cache with the most viewed products, in one query.

Three calls per attempt, each with a fresh cache: the seeded dataset; a copy of it whose view
counts are rewritten into tie groups, with the cut at ``n`` falling inside a group and an index on
``view_count`` (so an ``ORDER BY`` without the ``id`` tie-break returns ties highest id first);
and ``n = 0``. The same ``n`` is used on two different databases, so an answer memoised by ``n``
serves the wrong products.
"""

from __future__ import annotations

import random
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import aiosqlite
from cachetools import LRUCache

from labkit.db import connect, statement_log
from labkit.errors import InstrumentBlinded
from labkit.grading import Grader, exercise, reference_answer
from labkit.lessons.n03_caching.workload import PRODUCT_COLUMNS, fetch_product, product_key

MAX_STATEMENTS = 2


@reference_answer
async def warm_cache(db: aiosqlite.Connection, cache: MutableMapping[str, Any], n: int) -> int:
    """Cache the ``n`` most viewed products (ties by id) with one query; return how many."""
    async with db.execute(
        f"SELECT {PRODUCT_COLUMNS} FROM products ORDER BY view_count DESC, id LIMIT ?", (int(n),)
    ) as cursor:
        rows = list(await cursor.fetchall())
    for row in rows:
        cache[product_key(row["id"])] = dict(row)
    return len(rows)


async def make_ties(path: Path, seed: int) -> int:
    """Rewrite the view counts into groups of equal counts and index them; return an ``n``
    whose cut falls inside a group, so the tie-break decides which products are in the top."""
    rng = random.Random(seed * 31 + 5)
    async with aiosqlite.connect(path) as db:
        ids = [row[0] for row in await (await db.execute("SELECT id FROM products")).fetchall()]
        rng.shuffle(ids)
        counts: list[tuple[int, int]] = []
        views, position, cut = 10_000, 0, 0
        while position < len(ids):
            size = rng.randint(4, 7)
            group = ids[position : position + size]
            counts += [(views, pid) for pid in group]
            if not cut and position + size > 12:  # the first group that crosses rank 12
                cut = position + rng.randint(1, len(group) - 1)
            position += size
            views -= rng.randint(1, 50)
        await db.executemany("UPDATE products SET view_count = ? WHERE id = ?", counts)
        await db.execute("CREATE INDEX products_by_views ON products(view_count)")
        await db.commit()
    return cut


async def _top(path: Path, n: int) -> dict[str, dict[str, Any]]:
    async with connect(path) as db:
        async with db.execute(
            "SELECT id FROM products ORDER BY view_count DESC, id LIMIT ?", (n,)
        ) as cursor:
            ids = [int(row[0]) for row in await cursor.fetchall()]
        return {product_key(pid): dict(await fetch_product(db, pid) or {}) for pid in ids}


@exercise(
    "03.warming",
    title="Warm the cache with the most viewed products, in one query",
    answers=("warm_cache",),
    hint="SELECT the product columns FROM products ORDER BY view_count DESC, id LIMIT ?, then "
    "cache[product_key(row['id'])] = dict(row) for each row.",
    points=1,
    timeout=15.0,
)
async def grade_warming(g: Grader, warm_cache: Any) -> None:
    seeded = g.dataset("tiny")
    tied = g.dataset("tiny")
    n = await make_ties(tied, g.seed)
    runs = [("the seeded dataset", seeded, n), ("a dataset with tied view counts", tied, n)]
    runs.append(("n = 0", seeded, 0))
    for label, path, count in runs:
        expected = await _top(path, count)
        cache: LRUCache[str, Any] = LRUCache(maxsize=256)
        async with connect(path) as db:
            with statement_log(db) as log:
                returned = await g.acall(warm_cache, db, cache, count)
                statements = log.count
                async with db.execute("SELECT 1") as probe:
                    await probe.fetchall()
                if log.count != statements + 1:
                    raise InstrumentBlinded(
                        "the statement log stopped recording while warm_cache ran (the "
                        "connection's trace callback was replaced): leave db's tracing alone."
                    )
        _judge(g, label, count, expected, dict(cache.items()), returned, statements)


def _judge(
    g: Grader,
    label: str,
    n: int,
    expected: dict[str, dict[str, Any]],
    cached: dict[Any, Any],
    returned: Any,
    statements: int,
) -> None:
    missing = [k for k in expected if k not in cached]
    extra = [str(k) for k in cached if k not in expected]
    g.expect(
        not missing and not extra,
        f"{label}: after warming the top {n} the cache should hold exactly their keys; "
        f"missing {len(missing)} ({', '.join(missing[:3])}{'…' if len(missing) > 3 else ''}), "
        f"unexpected {len(extra)} ({', '.join(extra[:3])}{'…' if len(extra) > 3 else ''})",
        hint="The top products are the ones with the highest view_count, ties broken by the "
        "lower id (ORDER BY view_count DESC, id), each cached under product_key(id).",
    )
    for key, row in expected.items():
        value = cached[key]
        g.expect(
            isinstance(value, dict),
            f"{label}: {key} is cached as {type(value).__module__}.{type(value).__name__}, "
            "not a dict: a database row object is not what the read path caches (it compares "
            "unequal to the dict fetch_product returns, and JSON cannot encode it). Store "
            "dict(row).",
        )
        g.expect_equal(
            value,
            row,
            what=f"{label}: cached value of {key}",
            hint="Cache the whole product row as a dict, as the read path stores it.",
        )
    g.expect(
        returned == n,
        f"{label}: warm_cache returned {returned!r}; it should return how many products it "
        f"cached ({n})",
    )
    g.measure(
        f"SQL statements to warm, {label}",
        statements,
        target=f"≤ {MAX_STATEMENTS}",
        ok=statements <= MAX_STATEMENTS,
        hint="One ORDER BY ... LIMIT query fetches every row you need; no query per product.",
    )


__all__ = ["grade_warming", "make_ties", "warm_cache"]
