"""What a load test hits and how hard: the target URL, its endpoints, and the load profiles."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final
from urllib.parse import urlsplit

from labkit.errors import LoadError

PROFILES: Final[dict[str, tuple[int, float]]] = {
    "low": (10, 10.0),
    "medium": (50, 30.0),
    "high": (200, 60.0),
}
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
        paths = [e if e.startswith(("/", "http")) else "/" + e for e in endpoints]
    elif parts.path not in ("", "/"):
        paths = [parts.path + (f"?{parts.query}" if parts.query else "")]
    else:
        paths = list(DEFAULT_ENDPOINTS)
    return base, paths


def choose_shape(
    profile: str | None, vus: int | None, duration: float | None, rate: float | None
) -> tuple[int, float]:
    if profile is not None and profile not in PROFILES:
        raise LoadError(f"unknown load profile {profile!r}: choose {', '.join(PROFILES)}")
    base_vus, base_duration = PROFILES[profile or "low"]
    vus = base_vus if vus is None else vus
    duration = base_duration if duration is None else duration
    if vus < 1 or duration <= 0 or (rate is not None and rate <= 0):
        raise LoadError("vus must be >= 1, duration > 0 and rate > 0")
    return vus, duration
