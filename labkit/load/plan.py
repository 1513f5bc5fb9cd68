"""What a load test hits and how hard: the target URL, its endpoints, and the load profiles."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Final
from urllib.parse import urlsplit

from labkit.errors import LoadError

PROFILES: Final[dict[str, tuple[int, float]]] = {
    "low": (10, 10.0),
    "medium": (50, 30.0),
    "high": (200, 60.0),
}
# Bounds a laptop lab can mean: beyond them a typo (1e9 users, an infinite run) hangs the machine.
MAX_VUS: Final = 10_000
MAX_SECONDS: Final = 3_600.0
MAX_RATE: Final = 100_000.0
MAX_REQUESTS: Final = 10_000_000
DEFAULT_ENDPOINTS: Final = (
    "/api/users?limit=20",
    "/api/posts?limit=20",
    "/api/feed?user_id=1",
    "/api/products/1",
)


def resolve_target(target: Any, endpoints: Sequence[str] | None) -> tuple[str, list[str]]:
    """(base URL, endpoint paths) from a LabServer, a base URL or a full URL."""
    url = getattr(target, "url", target)
    if not isinstance(url, str):
        raise LoadError(f"target must be a URL or a LabServer, got {type(target).__name__}")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise LoadError(f"not an http(s) URL: {url!r}")
    base = f"{parts.scheme}://{parts.netloc}"
    if endpoints:
        paths = [_same_host_path(e, parts.netloc) for e in endpoints]
    elif parts.path not in ("", "/"):
        paths = [parts.path + (f"?{parts.query}" if parts.query else "")]
    else:
        paths = list(DEFAULT_ENDPOINTS)
    return base, paths


def _same_host_path(endpoint: str, netloc: str) -> str:
    """An endpoint as a path on the target; a full URL must name the target's own host."""
    endpoint = endpoint.strip()
    if endpoint.startswith(("http://", "https://")):
        found = urlsplit(endpoint)
        if found.netloc != netloc:
            raise LoadError(
                f"endpoint {endpoint!r} is on {found.netloc}, not on the target {netloc}: "
                "give paths such as /api/feed?user_id=1"
            )
        return (found.path or "/") + (f"?{found.query}" if found.query else "")
    if not endpoint or endpoint.startswith("//"):
        raise LoadError(f"not an endpoint path: {endpoint!r} (give e.g. /api/users/1)")
    return endpoint if endpoint.startswith("/") else "/" + endpoint


def choose_shape(
    profile: str | None, vus: int | None, duration: float | None, rate: float | None
) -> tuple[int, float]:
    if profile is not None and profile not in PROFILES:
        raise LoadError(f"unknown load profile {profile!r}: choose {', '.join(PROFILES)}")
    base_vus, base_duration = PROFILES[profile or "low"]
    vus = base_vus if vus is None else vus
    duration = base_duration if duration is None else duration
    if not 1 <= vus <= MAX_VUS:
        raise LoadError(f"--vus must be between 1 and {MAX_VUS:,}, got {vus}")
    if not (math.isfinite(duration) and 0 < duration <= MAX_SECONDS):
        raise LoadError(
            f"--duration must be a number of seconds in (0, {MAX_SECONDS:g}], got {duration}"
        )
    if rate is not None and not (math.isfinite(rate) and 0 < rate <= MAX_RATE):
        raise LoadError(f"--rate must be requests per second in (0, {MAX_RATE:g}], got {rate}")
    return vus, duration


def check_requests(requests: int, rate: float | None) -> int:
    """A closed loop's request count: a whole number from 1 to ``MAX_REQUESTS``."""
    if rate is not None:
        raise LoadError("a request count stops a closed loop; an open loop sends rate × duration")
    if isinstance(requests, bool) or not isinstance(requests, int):
        raise LoadError(f"--requests must be a whole number, got {requests!r}")
    if not 1 <= requests <= MAX_REQUESTS:
        raise LoadError(f"--requests must be between 1 and {MAX_REQUESTS:,}, got {requests:,}")
    return requests


def check_warmup(warmup: float) -> float:
    """Seconds of warm-up: a finite number from 0 to ``MAX_SECONDS``."""
    if not (math.isfinite(warmup) and 0 <= warmup <= MAX_SECONDS):
        raise LoadError(f"--warmup must be seconds in [0, {MAX_SECONDS:g}], got {warmup}")
    return warmup
