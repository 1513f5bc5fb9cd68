"""Load generation: ``run_load`` (closed or open loop), ``breaking_point`` and
``request_timing`` (one request taken apart).

>>> result = await run_load(server, ["/api/feed?user_id=1"], vus=10, duration=5)
>>> result.to_frame(); result.plot()
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from labkit.lazy import lazy_attribute

if TYPE_CHECKING:  # pragma: no cover
    from labkit.load.breaking import BreakingPoint, breaking_point
    from labkit.load.optimization import optimize
    from labkit.load.phases import RequestTiming, request_timing
    from labkit.load.plan import DEFAULT_ENDPOINTS, PROFILES
    from labkit.load.result import EndpointLoad, LoadResult
    from labkit.load.runner import run_load, run_load_sync
    from labkit.load.server_profile import profile_under_load

# aiohttp and pandas load on first use: `labkit --help` and the light modules of this package
# (plan, k6) do not pay for them.
_LAZY = {
    "BreakingPoint": "labkit.load.breaking",
    "breaking_point": "labkit.load.breaking",
    "RequestTiming": "labkit.load.phases",
    "request_timing": "labkit.load.phases",
    "DEFAULT_ENDPOINTS": "labkit.load.plan",
    "PROFILES": "labkit.load.plan",
    "EndpointLoad": "labkit.load.result",
    "LoadResult": "labkit.load.result",
    "run_load": "labkit.load.runner",
    "run_load_sync": "labkit.load.runner",
    "optimize": "labkit.load.optimization",
    "profile_under_load": "labkit.load.server_profile",
}


def __getattr__(name: str) -> Any:
    return lazy_attribute(__name__, _LAZY, name)


__all__ = [
    "DEFAULT_ENDPOINTS",
    "PROFILES",
    "BreakingPoint",
    "EndpointLoad",
    "LoadResult",
    "RequestTiming",
    "breaking_point",
    "optimize",
    "profile_under_load",
    "request_timing",
    "run_load",
    "run_load_sync",
]
