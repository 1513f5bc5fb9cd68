"""``/api/users``: a list with field selection and ``/api/users/{id}``."""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import APIRouter, Depends, HTTPException, Path, Query
from fastapi.responses import Response

from labkit.app.openapi import error_responses
from labkit.app.state import LabState, lab_state

router = APIRouter(tags=["users"])

# The whitelist: user text picks names from here, and only these constant strings reach SQL.
USER_FIELDS: Final = ("id", "name", "email", "tier", "is_active", "country", "bio", "created_at")
MAX_LIMIT: Final = 100


def parse_fields(fields: str | None) -> tuple[str, ...]:
    """Validate ``fields=id,name`` against the whitelist; ``id`` is always included."""
    if fields is None or not fields.strip():
        return USER_FIELDS
    asked = [name.strip() for name in fields.split(",") if name.strip()]
    unknown = [name for name in asked if name not in USER_FIELDS]
    if unknown:
        raise HTTPException(
            status_code=400,
            detail=f"unknown field(s) {', '.join(unknown)[:200]}; "
            f"allowed: {', '.join(USER_FIELDS)}",
        )
    chosen = {"id", *asked}
    return tuple(name for name in USER_FIELDS if name in chosen)


def user_row(row: dict[str, object]) -> dict[str, object]:
    if "is_active" in row:
        row["is_active"] = bool(row["is_active"])
    return row


@router.get("/api/users", responses=error_responses(400))
async def list_users(
    state: Annotated[LabState, Depends(lab_state)],
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="page size, at most 100")] = 20,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    fields: Annotated[
        str | None, Query(max_length=200, description="comma-separated: " + ",".join(USER_FIELDS))
    ] = None,
) -> Response:
    columns = parse_fields(fields)
    rows = await state.db.fetchall(
        f"SELECT {', '.join(columns)} FROM users ORDER BY id LIMIT ? OFFSET ?",
        (limit + 1, offset),
    )
    items = [user_row(row) for row in rows[:limit]]
    return state.respond(
        {"items": items, "limit": limit, "offset": offset, "has_more": len(rows) > limit}
    )


@router.get("/api/users/{user_id}", responses=error_responses(400, 404))
async def get_user(
    state: Annotated[LabState, Depends(lab_state)],
    user_id: Annotated[int, Path(ge=1, le=2**62)],
    fields: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    columns = parse_fields(fields)
    row = await state.db.fetchone(
        f"SELECT {', '.join(columns)} FROM users WHERE id = ?", (user_id,)
    )
    if row is None:
        raise HTTPException(status_code=404, detail=f"no user with id {user_id}")
    return state.respond(user_row(row))
