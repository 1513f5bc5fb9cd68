"""Pagination: OFFSET reads and discards every earlier row; a keyset cursor starts where it stopped.

``OFFSET 5000 LIMIT 20`` makes the database walk 5,020 rows to return 20, so page 250 is
about 250 times the work of page 1. A keyset (cursor) page says ``WHERE id > :last_seen``
and jumps straight there through the primary key: every page costs the same. Fetching
``limit + 1`` rows tells whether another page exists without a COUNT(*), and a cap on
``limit`` keeps one request from asking for the whole table.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from labkit.grading import exercise
from labkit.lessons.n02_queries._scenario import fetch_all
from labkit.query_cost import vm_steps

if TYPE_CHECKING:
    from labkit.grading import Grader

MAX_PAGE_SIZE = 100
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
        async with vm_steps(db) as by_keyset:
            await list_posts_keyset(db, limit, cursor)
        rows.append({"page": page, "offset": by_offset.count, "keyset": by_keyset.count})
    return pd.DataFrame(rows).set_index("page")


async def walk_pages(
    db: Any, list_posts: Any, limit: int, call: Any, max_pages: int = 40
) -> tuple[list[Page], list[int]]:
    """Follow ``next_cursor`` from the first page; return the pages and VM steps per page."""
    pages: list[Page] = []
    steps: list[int] = []
    cursor = None
    for _ in range(max_pages):
        async with vm_steps(db) as counter:
            page = await call(list_posts, db, limit, cursor)
        pages.append(page)
        steps.append(counter.count)
        if (
            not isinstance(page, dict)
            or not page.get("has_more")
            or page.get("next_cursor") is None
        ):
            break
        cursor = page["next_cursor"]
    return pages, steps


def _shape_problem(pages: list[Page]) -> str | None:
    for n, page in enumerate(pages, 1):
        if not isinstance(page, dict) or not {"items", "has_more", "next_cursor"} <= set(page):
            return (
                f"page {n}: expected a dict with items, has_more and next_cursor, got {page!r:.80}"
            )
    return None


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
def grade_keyset_page(g: Grader, list_posts: Any) -> None:
    from labkit.db import connect

    path = g.dataset("tiny")
    odd_limit = 60 + g.seed % 17  # a page size that does not divide the table

    async def scenario() -> dict[Any, Any]:
        async def learner(fn: Any, *args: Any) -> Any:
            return await g.acall(fn, *args)

        async def reference(fn: Any, *args: Any) -> Any:
            return await fn(*args)

        async with connect(path, readonly=True) as db:
            out: dict[Any, Any] = {}
            for limit in (50, odd_limit):
                out[limit] = await walk_pages(db, list_posts, limit, learner)
                out[("ref", limit)] = await walk_pages(db, list_posts_keyset, limit, reference)
            out["capped"] = await g.acall(list_posts, db, 500, None)
        return out

    out = g.run(scenario())
    for limit in (50, odd_limit):
        pages, _ = out[limit]
        expected, _ = out[("ref", limit)]
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
    capped = out["capped"]
    size = len(capped.get("items", ())) if isinstance(capped, dict) else -1
    g.measure(
        "items returned for limit=500",
        size,
        target=f"{MAX_PAGE_SIZE} (the cap)",
        ok=size == MAX_PAGE_SIZE,
        hint="Cap the page size: limit = min(limit, 100).",
    )
    _, steps = out[50]
    _, ref_steps = out[("ref", 50)]
    growth = steps[-1] / max(1, steps[0])
    g.measure(
        "VM steps, last page ÷ first page",
        round(growth, 2),
        target="≤ 2 (flat)",
        ok=growth <= 2,
        hint="A deep page costs more than the first: OFFSET walks past every earlier row. "
        "Start from the cursor instead (WHERE id > ?).",
    )
    limit = 3 * ref_steps[-1]
    g.measure(
        "VM steps for the last page",
        steps[-1],
        target=f"≤ {limit:,} (3× a keyset page)",
        ok=steps[-1] <= limit,
        hint="Each page reads far more rows than it returns: let SQL do the LIMIT, "
        "don't fetch everything and slice in Python.",
    )
