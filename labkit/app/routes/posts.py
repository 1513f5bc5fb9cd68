"""``/api/posts``: published posts, newest first, by offset or by opaque cursor.

The cursor is opaque to clients. Without the ``keyset`` toggle it carries an offset (so a deep
page still makes SQLite walk past every earlier row); with it, it carries the last row's
``(created_at, id)`` and the next page starts right there. Either server accepts either kind.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any, Final, cast

import orjson
from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import Response

from labkit.app.openapi import error_responses
from labkit.app.state import LabState, lab_state

router = APIRouter(tags=["posts"])

MAX_LIMIT: Final = 100
COLUMNS: Final = "id, author_id, title, view_count, created_at"
ORDER: Final = "ORDER BY created_at DESC, id DESC"


def encode_cursor(data: dict[str, int]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(data)).decode().rstrip("=")


def decode_cursor(cursor: str) -> dict[str, int]:
    """{"o": offset} or {"c": created_at, "i": id}; anything else is a 400."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = orjson.loads(raw)
    except (binascii.Error, ValueError, orjson.JSONDecodeError):
        raise HTTPException(status_code=400, detail="malformed cursor") from None
    valid = isinstance(data, dict) and (
        (set(data) == {"o"} and _is_int(data["o"], 0))
        or (set(data) == {"c", "i"} and _is_int(data["c"]) and _is_int(data["i"]))
    )
    if not valid:
        raise HTTPException(status_code=400, detail="malformed cursor")
    return cast(dict[str, int], data)


def _is_int(value: Any, minimum: int = -(2**62)) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and minimum <= value < 2**62


@router.get("/api/posts", responses=error_responses(400))
async def list_posts(
    state: Annotated[LabState, Depends(lab_state)],
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="page size, at most 100")] = 20,
    offset: Annotated[int | None, Query(ge=0, le=10_000_000)] = None,
    cursor: Annotated[
        str | None, Query(max_length=200, description="next_cursor of a page")
    ] = None,
    author_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
) -> Response:
    if offset is not None and cursor is not None:
        raise HTTPException(status_code=400, detail="give either offset or cursor, not both")
    where = ["status = 'published'"]
    params: list[int] = []
    if author_id is not None:
        where.append("author_id = ?")
        params.append(author_id)
    start = offset or 0
    position = decode_cursor(cursor) if cursor else None
    if position is not None and "o" in position:
        start = position["o"]
    elif position is not None:
        where.append("(created_at, id) < (?, ?)")
        params += [position["c"], position["i"]]
    sql = f"SELECT {COLUMNS} FROM posts WHERE {' AND '.join(where)} {ORDER} LIMIT ?"
    params.append(limit + 1)
    if start:
        sql += " OFFSET ?"
        params.append(start)
    rows = await state.db.fetchall(sql, params)
    items, has_more = rows[:limit], len(rows) > limit
    next_cursor = None
    if has_more:
        if "keyset" in state.toggles:
            last = items[-1]
            next_cursor = encode_cursor({"c": last["created_at"], "i": last["id"]})
        else:
            next_cursor = encode_cursor({"o": start + limit})
    body: dict[str, Any] = {"items": items, "limit": limit, "has_more": has_more}
    body["next_cursor"] = next_cursor
    return state.respond(body)
