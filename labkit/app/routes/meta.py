"""``/api/health`` (answered by a shortcut before any middleware) and ``/api/_stats``."""

from __future__ import annotations

import os
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from labkit.app.state import LabState, lab_state

router = APIRouter(tags=["meta"])


@router.get("/api/health")
async def health() -> dict[str, str]:
    """Only reached when the shortcut is bypassed; the same body either way."""
    return {"status": "ok"}


@router.get("/api/_stats")
async def stats(state: Annotated[LabState, Depends(lab_state)]) -> Response:
    """Counters of this worker process: requests, statements, cache, dedupe, rate limiting."""
    body: dict[str, Any] = {
        "pid": os.getpid(),
        "optimize": state.toggles.label,
        "counters": state.counters.snapshot(),
        "cache_l2": state.store.name if state.store is not None else None,
        "rate_limit_scope": state.limiter.scope if state.limiter is not None else None,
        **state.loop_lag.summary(),
    }
    if state.cache is not None:
        body["cache_l1_size"] = len(state.cache.l1)
    return state.respond(body)
