"""Fixed-window rate limiting with tiers, counted in-process or in the shared store.

The limiter is created once per app (a limiter made per request starts from zero every time
and silently allows everything). In-process counts are per worker process: with N uvicorn
workers a client gets up to N times its limit, unless the counts live in the shared store.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from labkit.app.cache import SharedStore

# Requests per window for the expensive search endpoint, by tier. Every client is counted by
# its address; the tier (from the user id it gives) only sets that address's limit.
SEARCH_LIMITS: Final[dict[str, int]] = {"anonymous": 10, "free": 20, "basic": 50, "pro": 200}
WINDOW_SECONDS: Final = 10.0


@dataclass(frozen=True)
class Verdict:
    """One limiter decision; ``retry_after`` is whole seconds until the window resets."""

    allowed: bool
    limit: int
    remaining: int
    retry_after: int

    def headers(self) -> dict[str, str]:
        headers = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.retry_after)
        return headers


class RateLimiter:
    """Fixed window: at most ``limits[tier]`` requests per ``window`` seconds per client key."""

    def __init__(
        self,
        limits: dict[str, int] | None = None,
        *,
        window: float = WINDOW_SECONDS,
        store: SharedStore | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.limits = dict(limits or SEARCH_LIMITS)
        self.window = window
        self.store = store
        self.clock = clock
        self._counts: dict[tuple[str, int], int] = {}

    @property
    def scope(self) -> str:
        return "shared" if self.store is not None else "per-process"

    async def hit(self, key: str, tier: str, *, now: float | None = None) -> Verdict:
        """Count one request of ``key`` at ``now`` (default: the limiter's clock)."""
        limit = self.limits.get(tier, self.limits["anonymous"])
        now = self.clock() if now is None else now
        window_index = int(now // self.window)
        reset_in = max(1, math.ceil((window_index + 1) * self.window - now))
        if self.store is not None:
            try:
                count = await self.store.incr(f"rl:{key}:{window_index}", self.window * 2)
            except Exception:
                count = self._count_locally(key, window_index)  # fail open to local counting
        else:
            count = self._count_locally(key, window_index)
        return Verdict(
            allowed=count <= limit,
            limit=limit,
            remaining=max(0, limit - count),
            retry_after=reset_in,
        )

    def _count_locally(self, key: str, window_index: int) -> int:
        if len(self._counts) > 10_000:  # drop old windows so memory stays bounded
            self._counts = {k: v for k, v in self._counts.items() if k[1] >= window_index}
        slot = (key, window_index)
        self._counts[slot] = self._counts.get(slot, 0) + 1
        return self._counts[slot]
