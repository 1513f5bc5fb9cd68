"""Pagination: OFFSET reads and discards every earlier row; a keyset cursor starts where it stopped.

``OFFSET 5000 LIMIT 20`` makes the database walk 5,020 rows to return 20, so page 250 is
about 250 times the work of page 1. A keyset (cursor) page says ``WHERE id > :last_seen``
and jumps straight there through the primary key: every page costs the same. Fetching
``limit + 1`` rows tells whether another page exists without a COUNT(*), and a cap on
``limit`` keeps one request from asking for the whole table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from labkit.db.query_cost import vm_steps
from labkit.db.sql_text import limit_clauses, statement_kind
from labkit.grading import exercise, reference_answer
from labkit.lessons.n02_queries.fixtures import fetch_all, rng_for, trusted_instruments

if TYPE_CHECKING:
    from labkit.grading import Grader

MAX_PAGE_SIZE = 100
KEYSET_PAGE = "SELECT id, title FROM posts WHERE id > ? ORDER BY id LIMIT ?"
Page = dict[str, Any]


def clamp_limit(limit: int) -> int:
    return max(1, min(int(limit), MAX_PAGE_SIZE))


async def list_posts_offset(db: Any, limit: int = 20, cursor: int | None = None) -> Page:
    """Correct pages, growing cost: the cursor is an OFFSET the database must walk past."""
    limit = clamp_limit(limit)
    offset = int(cursor or 0)
    rows = await fetch_all(
        db, "SELECT id, title FROM posts ORDER BY id LIMIT ? OFFSET ?", (limit + 1, offset)
    )
    has_more = len(rows) > limit
    items = [{"id": r[0], "title": r[1]} for r in rows[:limit]]
    return {
        "items": items,
        "has_more": has_more,
        "next_cursor": offset + limit if has_more else None,
    }


@reference_answer
async def list_posts_keyset(db: Any, limit: int = 20, cursor: int | None = None) -> Page:
    """Keyset pagination: the cursor is the last id seen; every page costs the same."""
    limit = clamp_limit(limit)
    after = 0 if cursor is None else int(cursor)
    rows = await fetch_all(
        db, "SELECT id, title FROM posts WHERE id > ? ORDER BY id LIMIT ?", (after, limit + 1)
    )
    has_more = len(rows) > limit
    items = [{"id": r[0], "title": r[1]} for r in rows[:limit]]
    return {
        "items": items,
        "has_more": has_more,
        "next_cursor": items[-1]["id"] if has_more else None,
    }


async def page_cost_by_depth(db: Any, pages: list[int], limit: int = 20) -> pd.DataFrame:
    """VM steps to fetch page ``n`` (1-based) with OFFSET and with a keyset cursor."""
    rows = []
    for page in pages:
        offset = (page - 1) * limit
        cursor = None
        if offset:
            found = await fetch_all(
                db, "SELECT id FROM posts ORDER BY id LIMIT 1 OFFSET ?", (offset - 1,)
            )
            cursor = found[0][0] if found else None
        async with vm_steps(db) as by_offset:
            await list_posts_offset(db, limit, offset)
        async with vm_steps(db) as by_keyset:  # the keyset query itself, not the answer
            await fetch_all(db, KEYSET_PAGE, (cursor or 0, limit + 1))
        rows.append({"page": page, "offset": by_offset.count, "keyset": by_keyset.count})
    return pd.DataFrame(rows).set_index("page")


@dataclass
class PageCall:
    """One page as an answer returned it, and what it cost."""

    page: Any
    steps: int
    rows_fetched: int
    statements: list[str]


async def walk_pages(
    db: Any, list_posts: Any, limit: int, call: Any, max_pages: int = 40
) -> list[PageCall]:
    """Follow ``next_cursor`` from the first page, counting VM steps, rows and statements."""
    from labkit.db import statement_log

    calls: list[PageCall] = []
    cursor = None
    for _ in range(max_pages):
        with trusted_instruments():
            with statement_log(db) as log:
                async with vm_steps(db) as counter:
                    page = await call(list_posts, db, limit, cursor)
            calls.append(PageCall(page, counter.count, log.rows_fetched or 0, [s.sql for s in log]))
        if (
            not isinstance(page, dict)
            or not page.get("has_more")
            or page.get("next_cursor") is None
        ):
            break
        cursor = page["next_cursor"]
    return calls


def _shape_problem(pages: list[Any]) -> str | None:
    for n, page in enumerate(pages, 1):
        if not isinstance(page, dict) or not {"items", "has_more", "next_cursor"} <= set(page):
            return (
                f"page {n}: expected a dict with items, has_more and next_cursor, got {page!r:.80}"
            )
    return None


def sql_problem(statements: list[str], limit: int) -> str | None:
    """What is wrong with the SQL one page sent (judged on the text SQLite ran)."""
    wanted = clamp_limit(limit) + 1
    limited = False
    for sql in statements:
        if statement_kind(sql) not in ("SELECT", "VALUES"):
            continue
        for clause in limit_clauses(sql):
            if clause.skips_rows:
                return (
                    f"`{sql[:90]}` skips rows (LIMIT … OFFSET, or LIMIT skip, count): the "
                    "database still walks past every skipped row"
                )
            if clause.limit is not None and (clause.limit < 0 or clause.limit > wanted):
                return (
                    f"`{sql[:90]}` asks the database for up to {clause.limit} rows to return "
                    f"{clamp_limit(limit)}: put the page size in the LIMIT"
                )
            limited = limited or clause.limit is not None
    if not limited:
        return "no statement had a LIMIT: the database prepares every remaining row"
    return None


async def trim_posts(db: Any, seed: int, multiple: int) -> None:
    """Punch seeded gaps into the ids and leave a post count that is a multiple of ``multiple``.

    Gaps break answers that compute the next page by arithmetic on ids; an exact multiple
    makes the last page full, where guessing has_more from a full page goes wrong.
    """
    ids = [row[0] for row in await fetch_all(db, "SELECT id FROM posts ORDER BY id")]
    rng = rng_for(seed, "keyset_page")
    gaps = set(rng.sample(ids[1:-1], 7 + seed % 9))
    kept = [i for i in ids if i not in gaps]
    extra = len(kept) % multiple
    gone = sorted(gaps) + (kept[-extra:] if extra else [])
    await db.executemany("DELETE FROM posts WHERE id = ?", [(i,) for i in gone])
    await db.commit()


@exercise(
    "02.keyset_page",
    title="Keyset pagination with has_more and a capped limit",
    answers=("list_posts",),
    hint=(
        "Use the last id of the page as the cursor (WHERE id > ? ORDER BY id), fetch limit + 1 "
        "rows to learn has_more, and cap limit at 100."
    ),
    points=2,
    timeout=15.0,
)
async def grade_keyset_page(g: Grader, list_posts: Any) -> None:
    from labkit.db import connect

    async def learner(fn: Any, *args: Any) -> Any:
        return await g.acall(fn, *args)

    async def reference(fn: Any, *args: Any) -> Any:
        return await fn(*args)

    path = g.dataset("tiny")
    full_pages = 50  # the last page is exactly full
    odd_limit = 60 + g.seed % 17  # a page size that does not divide the table
    async with connect(path) as db:
        await trim_posts(db, g.seed, full_pages)
    walks: dict[int, tuple[list[PageCall], list[PageCall]]] = {}
    for limit in (odd_limit, full_pages):
        async with connect(path, readonly=True) as db:  # a fresh connection per walk
            walks[limit] = (
                await walk_pages(db, list_posts, limit, learner),
                await walk_pages(db, list_posts_keyset, limit, reference),
            )
    async with connect(path, readonly=True) as db:
        capped = await walk_pages(db, list_posts, 500, learner, max_pages=1)

    for limit, (calls, expected_calls) in walks.items():
        pages = [c.page for c in calls]
        expected = [c.page for c in expected_calls]
        problem = _shape_problem(pages)
        g.expect(problem is None, problem or "")
        g.expect(
            len(pages) == len(expected),
            f"following next_cursor with limit={limit} gave {len(pages)} pages; expected "
            f"{len(expected)} (has_more must be False on the last page)",
            hint="has_more is True only when another row exists: fetch limit + 1 rows and look.",
        )
        g.expect_equal(
            [p["items"] for p in pages],
            [p["items"] for p in expected],
            what=f"pages of {limit} posts, following next_cursor",
        )
        g.expect_equal(
            [p["has_more"] for p in pages],
            [p["has_more"] for p in expected],
            what=f"has_more on each page of {limit}",
            hint="has_more is True only when another row exists: fetch limit + 1 rows and look.",
        )
        g.expect(
            pages[-1]["next_cursor"] is None,
            f"the last page of {limit} should have next_cursor None",
        )
        for n, call in enumerate(calls, 1):
            g.expect(
                call.steps > 0 and call.statements,
                f"page {n} of {limit} ran nothing on the `db` it was given: query that "
                "connection (no cached or copied rows)",
            )
            problem = sql_problem(call.statements, limit)
            g.expect(problem is None, f"page {n} of {limit}: {problem}")

    page = capped[0].page
    size = len(page.get("items", ())) if isinstance(page, dict) else -1
    g.measure(
        "items returned for limit=500",
        size,
        target=f"{MAX_PAGE_SIZE} (the cap)",
        ok=size == MAX_PAGE_SIZE,
        hint="Cap the page size: limit = min(limit, 100).",
    )
    problem = sql_problem(capped[0].statements, 500)
    fetched = capped[0].rows_fetched
    g.measure(
        "rows fetched for limit=500",
        fetched,
        target=f"≤ {MAX_PAGE_SIZE + 2}",
        ok=fetched <= MAX_PAGE_SIZE + 2 and problem is None,
        hint=problem
        or "Cap the limit before the query: fetching 501 rows to return 100 does "
        "the work the cap is there to prevent.",
    )
    calls, reference_calls = walks[full_pages]
    steps = [c.steps for c in calls]
    growth = steps[-1] / max(1, steps[0])
    g.measure(
        "VM steps, last page ÷ first page",
        round(growth, 2),
        target="≤ 2 (flat)",
        ok=growth <= 2,
        hint="A deep page costs more than the first: OFFSET walks past every earlier row. "
        "Start from the cursor instead (WHERE id > ?).",
    )
    most_rows = max(c.rows_fetched for c in calls)
    g.measure(
        f"most rows fetched for one page of {full_pages}",
        most_rows,
        target=f"≤ {full_pages + 2}",
        ok=most_rows <= full_pages + 2,
        hint="Each page reads far more rows than it returns: let SQL do the LIMIT, "
        "don't fetch everything and slice in Python.",
    )
    allowed = 3 * reference_calls[-1].steps
    g.measure(
        "VM steps for the last page",
        steps[-1],
        target=f"≤ {allowed:,} (3× a keyset page)",
        ok=steps[-1] <= allowed,
        hint="Each page does far more work than a keyset page: start from the cursor "
        "(WHERE id > ?) and let SQL do the LIMIT.",
    )
