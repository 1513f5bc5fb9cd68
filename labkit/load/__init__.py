"""Load generation: ``run_load`` (closed or open loop), ``breaking_point`` and
``request_timing`` (one request taken apart).

>>> result = await run_load(server, ["/api/feed?user_id=1"], vus=10, duration=5)
>>> result.to_frame(); result.plot()
"""

from __future__ import annotations

from labkit.load.breaking import BreakingPoint, breaking_point
from labkit.load.phases import RequestTiming, parse_server_timing, request_timing
from labkit.load.result import EndpointLoad, LoadResult
from labkit.load.runner import DEFAULT_ENDPOINTS, PROFILES, run_load, run_load_sync

__all__ = [
    "DEFAULT_ENDPOINTS",
    "PROFILES",
    "BreakingPoint",
    "EndpointLoad",
    "LoadResult",
    "RequestTiming",
    "breaking_point",
    "parse_server_timing",
    "request_timing",
    "run_load",
    "run_load_sync",
]
