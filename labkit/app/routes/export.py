"""``/api/export/users.{csv,json,ndjson}``: the whole users table.

Baseline: read every row, build the whole body in memory, send it. ``streaming``: read 500
rows at a time with a keyset cursor (``WHERE id > last``) and send each batch as it is ready,
so memory stays flat however large the table is. Both produce the same bytes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Final, Literal

from fastapi import APIRouter, Depends
from fastapi.responses import Response, StreamingResponse

from labkit.app.export_format import EXPORT_COLUMNS, csv_lines
from labkit.app.responses import dumps, serializing
from labkit.app.state import LabState, lab_state

router = APIRouter(tags=["export"])

SELECT: Final = f"SELECT {', '.join(EXPORT_COLUMNS)} FROM users"
BATCH: Final = 500
MEDIA_TYPES: Final = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "ndjson": "application/x-ndjson",
}
Format = Literal["csv", "json", "ndjson"]


def encode_batch(rows: list[dict[str, Any]], fmt: Format, *, first: bool, fast: bool) -> bytes:
    """One batch of the export; ``first`` adds the CSV header / opens the JSON array."""
    with serializing():
        return _encode_batch(rows, fmt, first=first, fast=fast)


def _encode_batch(rows: list[dict[str, Any]], fmt: Format, *, first: bool, fast: bool) -> bytes:
    if fmt == "csv":
        return csv_lines(rows, header=first)
    encoded = [dumps(row, fast=fast) for row in rows]
    if fmt == "ndjson":
        return b"".join(line + b"\n" for line in encoded)
    joined = b",".join(encoded)
    if first:
        return b"[" + joined
    return b"," + joined if joined else b""


def closing_bytes(fmt: Format) -> bytes:
    return b"]" if fmt == "json" else b""


async def stream_rows(state: LabState, fmt: Format) -> AsyncIterator[bytes]:
    last_id, first = 0, True
    while True:
        rows = await state.db.fetchall(
            f"{SELECT} WHERE id > ? ORDER BY id LIMIT ?", (last_id, BATCH)
        )
        if not rows:
            break
        yield encode_batch(rows, fmt, first=first, fast=state.fast_json)
        first, last_id = False, rows[-1]["id"]
        state.counters.add("export_batches")
    if first:  # empty table: still a valid document (CSV header, "[]")
        yield encode_batch([], fmt, first=True, fast=state.fast_json)
    yield closing_bytes(fmt)


def export_route(fmt: Format) -> Any:
    async def export(state: LabState = Depends(lab_state)) -> Response:  # noqa: B008
        headers = {"Content-Disposition": f'attachment; filename="users.{fmt}"'}
        if "streaming" in state.toggles:
            return StreamingResponse(
                stream_rows(state, fmt), media_type=MEDIA_TYPES[fmt], headers=headers
            )
        rows = await state.db.fetchall(f"{SELECT} ORDER BY id")
        body = encode_batch(rows, fmt, first=True, fast=state.fast_json) + closing_bytes(fmt)
        return Response(body, media_type=MEDIA_TYPES[fmt], headers=headers)

    export.__name__ = f"export_users_{fmt}"
    return export


def documented(fmt: Format) -> dict[int | str, dict[str, Any]]:
    """The 200 answer in the export's own media type (FastAPI would say application/json)."""
    media = MEDIA_TYPES[fmt].split(";")[0]
    schema: dict[str, Any] = {"type": "string"} if fmt != "json" else {"type": "array"}
    return {200: {"description": f"every user, as {fmt}", "content": {media: {"schema": schema}}}}


for _fmt in ("csv", "json", "ndjson"):
    router.add_api_route(
        f"/api/export/users.{_fmt}",
        export_route(_fmt),
        methods=["GET"],
        response_class=Response,
        responses=documented(_fmt),
    )
