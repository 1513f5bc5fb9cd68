"""The lab's backend: a FastAPI app with optimisation toggles, and a server to run it.

>>> app = create_app(optimize="all")                    # drive with httpx.ASGITransport
>>> with LabServer(optimize="none") as server: ...      # a real uvicorn on 127.0.0.1
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from labkit.app.toggles import DESCRIPTIONS, OPTIMIZATIONS, Toggles
from labkit.lazy import lazy_attribute

if TYPE_CHECKING:  # pragma: no cover
    from labkit.app.factory import create_app
    from labkit.app.ratelimit import RateLimiter
    from labkit.app.server import LabServer

__all__ = [
    "DESCRIPTIONS",
    "OPTIMIZATIONS",
    "LabServer",
    "RateLimiter",
    "Toggles",
    "create_app",
]

# FastAPI (the app) and psutil (the server runner) load on first use, so light modules of this
# package (runtime, toggles) — and `labkit --help` — do not pay for them.
_LAZY = {
    "create_app": "labkit.app.factory",
    "LabServer": "labkit.app.server",
    "RateLimiter": "labkit.app.ratelimit",
}


def __getattr__(name: str) -> Any:
    return lazy_attribute(__name__, _LAZY, name)
