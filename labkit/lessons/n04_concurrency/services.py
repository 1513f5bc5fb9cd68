"""An instrumented fake backend: simulated latency, seeded values, and counters that grade.

Each call sleeps its latency with ``asyncio.sleep``, as a network round trip would, so calls
that overlap finish together. The service counts calls, how many are in flight at once (the
peak is what tells a concurrent answer from a sequential one, whatever the machine's speed),
and how many were cancelled or are still running.

The counters live on the service, which the answer holds, so an answer could overwrite them.
A check therefore also hands the service a :class:`CallLedger` it keeps itself: the service
reports every start, end and cancellation to it, and the check replays those events to count
the peak independently; counters that disagree with the ledger were tampered with.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field
from typing import Any, cast

from labkit.errors import InstrumentBlinded
from labkit.grading import NotYet

# The latencies behind the claim "190 ms sequential -> 80 ms concurrent": the dashboard needs
# three independent calls of 40, 80 and 70 ms.
DASHBOARD_LATENCY_MS: dict[str, float] = {"profile": 40.0, "orders": 80.0, "recommendations": 70.0}
TIERS = ("free", "basic", "pro")


class TamperedCounters(NotYet, InstrumentBlinded):
    """The answer changed the counters a check reads: "not yet", with what was changed."""


class CallLedger:
    """The grader's own record of a service's calls, in the order they happened."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []  # ("start" | "end" | "cancel", service name)

    def record(self, event: str, name: str) -> None:
        self.events.append((event, name))

    @property
    def calls(self) -> int:
        return sum(1 for event, _ in self.events if event == "start")

    @property
    def cancelled(self) -> int:
        return sum(1 for event, _ in self.events if event == "cancel")

    @property
    def running(self) -> int:
        """Calls started and not yet finished (ended or cancelled)."""
        return self.calls - sum(1 for event, _ in self.events if event != "start")

    @property
    def peak_in_flight(self) -> int:
        """Most calls in flight at once, replayed from the events (no clock involved)."""
        peak = now = 0
        for event, _ in self.events:
            now += 1 if event == "start" else -1
            peak = max(peak, now)
        return peak

    def disagrees_with(self, stats: CallStats) -> str | None:
        """What the service's counters claim that the ledger did not see, if anything."""
        pairs = (
            ("calls", stats.calls, self.calls),
            ("peak_in_flight", stats.peak_in_flight, self.peak_in_flight),
            ("cancelled", stats.cancelled, self.cancelled),
            ("in_flight", stats.in_flight, self.running),
        )
        wrong = [
            f"{name} says {said}, the calls show {seen}"
            for name, said, seen in pairs
            if said != seen
        ]
        return "; ".join(wrong) or None


@dataclass
class CallStats:
    """Counters kept by a :class:`FakeService`."""

    calls: int = 0
    completed: int = 0
    cancelled: int = 0
    in_flight: int = 0
    peak_in_flight: int = 0
    by_name: dict[str, int] = field(default_factory=dict)


class FakeService:
    """Simulated remote services for user ``profile``, ``orders``, ``recommendations``, ``price``.

    Values depend only on ``seed`` and the key, so a reference answer can be recomputed.
    ``slow_keys`` make ``get_price`` take ``slow_ms`` instead of its usual latency.
    """

    def __init__(
        self,
        seed: int = 42,
        *,
        latency_ms: dict[str, float] | None = None,
        slow_keys: frozenset[int] | set[int] = frozenset(),
        slow_ms: float = 1000.0,
        ledger: CallLedger | None = None,
    ) -> None:
        self.seed = seed
        self.latency_ms = {**DASHBOARD_LATENCY_MS, "price": 20.0, **(latency_ms or {})}
        self.slow_keys = frozenset(slow_keys)
        self.slow_ms = slow_ms
        self.stats = CallStats()
        self.timeline: list[tuple[str, float, float]] = []  # (service, start s, end s)
        self._running: set[asyncio.Task[Any]] = set()
        self._ledger = ledger if ledger is not None else CallLedger()

    # -- the services -------------------------------------------------------------------
    async def get_profile(self, user_id: int) -> dict[str, Any]:
        return cast(dict[str, Any], await self._call("profile", self.expected("profile", user_id)))

    async def get_orders(self, user_id: int) -> list[dict[str, int]]:
        return cast(
            list[dict[str, int]], await self._call("orders", self.expected("orders", user_id))
        )

    async def get_recommendations(self, user_id: int) -> list[int]:
        recommended = await self._call("recommendations", self.expected("recommendations", user_id))
        return cast(list[int], recommended)

    async def get_price(self, product_id: int) -> int:
        latency = self.slow_ms if product_id in self.slow_keys else None
        price = await self._call("price", self.expected("price", product_id), latency_ms=latency)
        return cast(int, price)

    # -- plumbing -----------------------------------------------------------------------
    def expected(self, name: str, key: int) -> Any:
        """The value ``get_<name>(key)`` returns, computed without latency or counting."""
        rng = random.Random(f"{self.seed}:{name}:{key}")
        if name == "profile":
            return {
                "id": key,
                "name": f"user{rng.randrange(10_000):04d}",
                "tier": rng.choice(TIERS),
            }
        if name == "orders":
            return [
                {"id": rng.randrange(1, 100_000), "total_cents": rng.randrange(500, 50_000)}
                for _ in range(rng.randrange(0, 4))
            ]
        if name == "recommendations":
            return rng.sample(range(1, 500), 3)
        if name == "price":
            return rng.randrange(100, 10_000)
        raise KeyError(f"no service named {name!r}")

    def still_running(self) -> int:
        return self.stats.in_flight

    async def cancel_leftovers(self) -> None:
        """Cancel calls an answer left running, so the check's loop closes cleanly."""
        tasks = [t for t in self._running if not t.done() and t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _call(self, name: str, value: Any, *, latency_ms: float | None = None) -> Any:
        stats = self.stats
        stats.calls += 1
        stats.by_name[name] = stats.by_name.get(name, 0) + 1
        stats.in_flight += 1
        stats.peak_in_flight = max(stats.peak_in_flight, stats.in_flight)
        self._ledger.record("start", name)
        task = asyncio.current_task()
        if task is not None:
            self._running.add(task)
        started = time.perf_counter()
        try:
            await asyncio.sleep(
                (self.latency_ms[name] if latency_ms is None else latency_ms) / 1000
            )
            stats.completed += 1
            self._ledger.record("end", name)
            return value
        except asyncio.CancelledError:
            stats.cancelled += 1
            self._ledger.record("cancel", name)
            raise
        finally:
            self.timeline.append((name, started, time.perf_counter()))
            stats.in_flight -= 1
            if task is not None:
                self._running.discard(task)
