"""Rate limiting inside worker processes: in-process counts vs counts in a shared store.

Runs in the lesson's worker processes (``pools.worker_pools``), which stand for two server
workers behind a load balancer. Each request is decided by the lab API's own fixed-window
limiter (``labkit.app.ratelimit.RateLimiter``, ``limit`` requests per ``window_s``), counting
either in the process — one count per process, as the API's limiter does without
``shared_limits`` — or in an on-disk diskcache directory every process sees, with an atomic
increment (``shared_limits``). The time is passed in, so a replay is exact.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from labkit.app.cache import DiskStore
from labkit.app.ratelimit import RateLimiter

# One limiter per (store, limit, window) in this process: a limiter made per request would
# start from zero every time.
_limiters: dict[tuple[str | None, int, float], RateLimiter] = {}


def search_in_worker(
    store_dir: str | None, key: str, now: float, *, limit: int = 10, window_s: float = 10.0
) -> bool:
    """One request handled by this worker process: allowed by the fixed window, or not."""
    limiter = _limiters.get((store_dir, limit, window_s))
    if limiter is None:
        store = DiskStore(Path(store_dir)) if store_dir is not None else None
        limiter = RateLimiter({"anonymous": limit}, window=window_s, store=store)
        _limiters[(store_dir, limit, window_s)] = limiter
    return asyncio.run(limiter.hit(key, "anonymous", now=now)).allowed
