"""``/api/feed``: recent posts by people in the user's country, with authors and comment counts.

The baseline loads each post's author and comment count one statement at a time (1 + 1 + 2N
statements: the N+1 pattern); ``eager_loading`` joins the authors and counts the comments of
every post in one batched statement (3 statements, whatever N is).
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import Response

from labkit.app.database import Database
from labkit.app.openapi import error_responses
from labkit.app.state import LabState, lab_state

router = APIRouter(tags=["feed"])

MAX_LIMIT: Final = 50
RECENT_POSTS: Final = (
    "SELECT p.id, p.author_id, p.title, p.view_count, p.created_at FROM posts p "
    "JOIN users u ON u.id = p.author_id "
    "WHERE p.status = 'published' AND u.country = ? "
    "ORDER BY p.created_at DESC, p.id DESC LIMIT ?"
)
RECENT_POSTS_WITH_AUTHORS: Final = (
    "SELECT p.id, p.author_id, p.title, p.view_count, p.created_at, "
    "u.name AS author_name, u.tier AS author_tier FROM posts p "
    "JOIN users u ON u.id = p.author_id "
    "WHERE p.status = 'published' AND u.country = ? "
    "ORDER BY p.created_at DESC, p.id DESC LIMIT ?"
)


def feed_item(post: dict[str, Any], author: dict[str, Any], comments: int) -> dict[str, Any]:
    return {
        "id": post["id"],
        "title": post["title"],
        "view_count": post["view_count"],
        "created_at": post["created_at"],
        "author": author,
        "comment_count": comments,
    }


async def feed_n_plus_one(db: Database, country: str, limit: int) -> list[dict[str, Any]]:
    posts = await db.fetchall(RECENT_POSTS, (country, limit))
    items = []
    for post in posts:
        author = await db.fetchone(
            "SELECT id, name, tier FROM users WHERE id = ?", (post["author_id"],)
        )
        count = await db.fetchone(
            "SELECT COUNT(*) AS n FROM comments WHERE post_id = ?", (post["id"],)
        )
        items.append(feed_item(post, author or {}, count["n"] if count else 0))
    return items


async def feed_eager(db: Database, country: str, limit: int) -> list[dict[str, Any]]:
    posts = await db.fetchall(RECENT_POSTS_WITH_AUTHORS, (country, limit))
    if not posts:
        return []
    ids = [post["id"] for post in posts]
    marks = ", ".join("?" for _ in ids)  # placeholders only; the ids travel as parameters
    counts = await db.fetchall(
        f"SELECT post_id, COUNT(*) AS n FROM comments WHERE post_id IN ({marks}) GROUP BY post_id",
        ids,
    )
    by_post = {row["post_id"]: row["n"] for row in counts}
    return [
        feed_item(
            post,
            {"id": post["author_id"], "name": post["author_name"], "tier": post["author_tier"]},
            by_post.get(post["id"], 0),
        )
        for post in posts
    ]


@router.get("/api/feed", responses=error_responses(404))
async def feed(
    state: Annotated[LabState, Depends(lab_state)],
    user_id: Annotated[int, Query(ge=1, le=2**62)],
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="posts, at most 50")] = 20,
) -> Response:
    async def load() -> dict[str, Any] | None:
        user = await state.db.fetchone("SELECT id, country FROM users WHERE id = ?", (user_id,))
        if user is None:
            return None
        build = feed_eager if "eager_loading" in state.toggles else feed_n_plus_one
        items = await build(state.db, user["country"], limit)
        return {"user_id": user_id, "country": user["country"], "items": items}

    body, cache_status = await state.cached(f"feed:{user_id}:{limit}", load)
    if body is None:
        raise HTTPException(status_code=404, detail=f"no user with id {user_id}")
    headers = {"X-Cache": cache_status} if cache_status else None
    return state.respond(body, headers=headers)
