"""``/api/search``: a full scan with LIKE (deliberately expensive), rate-limited by tier."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request
from fastapi.responses import Response

from labkit.app.state import LabState, lab_state

router = APIRouter(tags=["search"])


def like_pattern(text: str) -> str:
    """Escape LIKE wildcards so the user's text matches literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def client_tier(state: LabState, request: Request, user_id: int | None) -> tuple[str, str]:
    """(limiter key, tier): a known user by id, else the client address as "anonymous"."""
    if user_id is not None:
        tier = state.user_tiers.get(user_id)
        if tier is None:
            row = await state.db.fetchone("SELECT tier FROM users WHERE id = ?", (user_id,))
            if row is None:
                raise HTTPException(status_code=404, detail=f"no user with id {user_id}")
            tier = state.user_tiers[user_id] = str(row["tier"])
        return f"user:{user_id}", tier
    host = request.client.host if request.client else "unknown"
    return f"addr:{host}", "anonymous"


@router.get("/api/search")
async def search(
    request: Request,
    state: Annotated[LabState, Depends(lab_state)],
    q: Annotated[str, Query(min_length=1, max_length=100)],
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    user_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    x_user_id: Annotated[int | None, Header(ge=1, le=2**62)] = None,
) -> Response:
    headers: dict[str, str] = {}
    if state.limiter is not None:
        key, tier = await client_tier(state, request, user_id or x_user_id)
        verdict = await state.limiter.hit(key, tier)
        headers = verdict.headers()
        if not verdict.allowed:
            state.counters.add("rate_limited")
            return state.respond(
                {
                    "detail": f"rate limit of {verdict.limit} searches per "
                    f"{state.limiter.window:g} s for tier {tier}; "
                    f"retry after {verdict.retry_after} s"
                },
                status_code=429,
                headers=headers,
            )
    pattern = like_pattern(q)
    rows: list[dict[str, Any]] = await state.db.fetchall(
        "SELECT id, author_id, title, created_at FROM posts "
        "WHERE status = 'published' AND (title LIKE ? ESCAPE '\\' OR body LIKE ? ESCAPE '\\') "
        "ORDER BY created_at DESC, id DESC LIMIT ?",
        (pattern, pattern, limit),
    )
    return state.respond({"q": q, "count": len(rows), "items": rows}, headers=headers)
