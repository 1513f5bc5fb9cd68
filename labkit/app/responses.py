"""JSON responses: the standard encoder (baseline) or orjson (``fast_json``).

FastAPI's ``ORJSONResponse`` is deprecated (fastapi #14964); a plain ``Response`` with
orjson bytes is what it recommends.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson
from fastapi.encoders import jsonable_encoder
from fastapi.responses import Response

from labkit.app.metrics import current_request


def dumps(data: Any, *, fast: bool) -> bytes:
    """Encode ``data``; both paths give the same JSON value, in compact form."""
    if fast:
        return orjson.dumps(data)
    # What returning a dict from a FastAPI route costs: jsonable_encoder walks the whole
    # structure, then the standard library encodes it.
    return json.dumps(jsonable_encoder(data), ensure_ascii=False, separators=(",", ":")).encode()


@contextmanager
def serializing() -> Iterator[None]:
    """Adds the time inside to the request's ``ser`` phase (Server-Timing)."""
    metrics = current_request.get()
    if metrics is None:
        yield
        return
    started = metrics.clock()
    try:
        yield
    finally:
        metrics.serialize_seconds += metrics.clock() - started
        metrics.serializations += 1


def timed_dumps(data: Any, *, fast: bool) -> bytes:
    """``dumps``, counted in the request's ``ser`` phase."""
    with serializing():
        return dumps(data, fast=fast)


def json_response(
    data: Any, *, fast: bool, status_code: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(
        timed_dumps(data, fast=fast),
        status_code=status_code,
        media_type="application/json",
        headers=headers,
    )
