"""The lab's backend: a FastAPI app with optimisation toggles, and a server to run it.

>>> app = create_app(optimize="all")                    # drive with httpx.ASGITransport
>>> with LabServer(optimize="none") as server: ...      # a real uvicorn on 127.0.0.1
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from labkit.app.factory import create_app
from labkit.app.toggles import DESCRIPTIONS, OPTIMIZATIONS, Toggles

if TYPE_CHECKING:  # pragma: no cover
    from labkit.app.server import LabServer

__all__ = ["DESCRIPTIONS", "OPTIMIZATIONS", "LabServer", "Toggles", "create_app"]


def __getattr__(name: str) -> Any:
    # The server runner pulls in psutil and subprocess handling: load it on first use.
    if name == "LabServer":
        from labkit.app.server import LabServer

        return LabServer
    raise AttributeError(f"module 'labkit.app' has no attribute {name!r}")
