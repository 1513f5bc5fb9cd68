"""Notebook 04 — Concurrency: gather, bounded concurrency, timeouts, batching loads,
CPU work off the event loop, rate limiting.

Exercise modules, in notebook order: ``concurrent_calls`` (04.gather, 04.bounded, 04.timeout),
``batch_loader`` (04.loader), ``offload`` (04.offload), ``supervisor`` (04.supervise),
``graceful_shutdown`` (04.graceful_shutdown), ``token_bucket`` (04.token_bucket), ``guard``
(04.guard), ``ratelimit_headers`` (04.ratelimit_headers), ``shared_limit`` (04.shared_limit).
Helpers: ``services`` (the instrumented fake backend), ``pools`` (worker processes),
``worker_limits`` (rate limits counted per worker or shared), ``figures``.
"""

from __future__ import annotations

from labkit.lessons.n04_concurrency import (
    batch_loader,
    concurrent_calls,
    graceful_shutdown,
    guard,
    offload,
    ratelimit_headers,
    shared_limit,
    supervisor,
    token_bucket,
)
from labkit.lessons.n04_concurrency.figures import plot_curve, plot_timelines
from labkit.lessons.n04_concurrency.guard import ENDPOINT_COST, TIER_PER_MINUTE, ApiRequest
from labkit.lessons.n04_concurrency.interleaved import effect, effect_of
from labkit.lessons.n04_concurrency.pools import worker_pools
from labkit.lessons.n04_concurrency.services import FakeService
from labkit.lessons.n04_concurrency.worker_limits import search_in_worker

EXERCISES = (
    "04.gather",
    "04.bounded",
    "04.timeout",
    "04.loader",
    "04.offload",
    "04.supervise",
    "04.graceful_shutdown",
    "04.token_bucket",
    "04.guard",
    "04.ratelimit_headers",
    "04.shared_limit",
)

# The exercise modules, and what the notebook uses.
__all__ = [
    "ENDPOINT_COST",
    "EXERCISES",
    "TIER_PER_MINUTE",
    "ApiRequest",
    "FakeService",
    "batch_loader",
    "concurrent_calls",
    "effect",
    "effect_of",
    "graceful_shutdown",
    "guard",
    "offload",
    "plot_curve",
    "plot_timelines",
    "ratelimit_headers",
    "search_in_worker",
    "shared_limit",
    "supervisor",
    "token_bucket",
    "worker_pools",
]
