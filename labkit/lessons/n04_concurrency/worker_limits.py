"""Rate limiting inside worker processes: in-process counts vs counts in a shared store.

Runs in the lesson's worker processes (``pools.worker_pools``), which stand for two server
workers behind a load balancer. A fixed window (``limit`` requests per ``window_s``) is counted
either in a module global — one count per process, as an app's in-process limiter keeps — or
in an on-disk diskcache directory that every process sees, with an atomic increment (the same
idea as the lab API's ``shared_limits``). The clock is passed in, so a replay is exact.
"""

from __future__ import annotations

from typing import Any

_local_counts: dict[tuple[str, int], int] = {}
_stores: dict[str, Any] = {}


def search_in_worker(
    store_dir: str | None, key: str, now: float, *, limit: int = 10, window_s: float = 10.0
) -> bool:
    """One request handled by this worker process: allowed by the fixed window, or not."""
    slot = (key, int(now // window_s))
    if store_dir is None:
        count = _local_counts[slot] = _local_counts.get(slot, 0) + 1
        return count <= limit
    store = _stores.get(store_dir)
    if store is None:
        import diskcache

        store = _stores[store_dir] = diskcache.Cache(store_dir)
    # incr is atomic across processes (an SQLite transaction); the expiry keeps the store small
    count = int(store.incr(f"rl:{slot[0]}:{slot[1]}", 1, default=0))
    if count == 1:
        store.touch(f"rl:{slot[0]}:{slot[1]}", expire=2 * window_s)
    return count <= limit
