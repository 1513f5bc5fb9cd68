"""``/api/search``: a full scan with LIKE (deliberately expensive), rate-limited by tier."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request
from fastapi.responses import Response

from labkit.app.openapi import error_responses
from labkit.app.state import LabState, lab_state

router = APIRouter(tags=["search"])


def like_pattern(text: str) -> str:
    """Escape LIKE wildcards so the user's text matches literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def client_tier(state: LabState, request: Request, user_id: int | None) -> tuple[str, str]:
    """(limiter key, tier). The key is always the client's address: a user id is the caller's
    own claim, so a new id per request must not open a new bucket. The id only picks the tier,
    i.e. how many requests that address may make in a window."""
    host = request.client.host if request.client else "unknown"
    if user_id is None:
        return f"addr:{host}", "anonymous"
    tier = state.user_tiers.get(user_id)
    if tier is None:
        row = await state.db.fetchone("SELECT tier FROM users WHERE id = ?", (user_id,))
        if row is None:
            raise HTTPException(status_code=404, detail=f"no user with id {user_id}")
        tier = state.user_tiers[user_id] = str(row["tier"])
    return f"addr:{host}", tier


@router.get("/api/search", responses=error_responses(404, 429))
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
