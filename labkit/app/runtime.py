"""The server runtime: which event loop and HTTP parser uvicorn runs the lab API on.

``uvloop`` (libuv's event loop) with ``httptools`` (llhttp, Node's parser) is what
``uvicorn[standard]`` installs and production deployments run; ``asyncio`` with ``h11`` is the
pure-Python fallback uvicorn uses when those are missing. Both run the same app: the runtime
changes how sockets are polled and how request bytes are parsed, not the GIL, the database or the
handler's own work — which is why its effect shows on cheap, cached endpoints and fades on slow
ones.
"""

from __future__ import annotations

import importlib.util
from typing import Final

from labkit.errors import ConfigurationError, quoted_choices

RUNTIMES: Final = {
    "uvloop": ("uvloop", "httptools"),
    "asyncio": ("asyncio", "h11"),
}
"""Runtime name → (uvicorn ``--loop``, uvicorn ``--http``)."""


def available(runtime: str) -> bool:
    """Whether this machine has the runtime's packages (uvloop does not exist on Windows)."""
    loop, http = RUNTIMES[runtime]
    needed = [name for name in (loop, http) if name not in ("asyncio", "h11")]
    return all(importlib.util.find_spec(name) is not None for name in needed)


def default_runtime() -> str:
    """``uvloop`` where it is installed (the production stack), else ``asyncio``."""
    return "uvloop" if available("uvloop") else "asyncio"


def resolve(runtime: str | None) -> str:
    """The runtime to use for ``runtime`` (``None`` → the default); a clear error otherwise."""
    if runtime is None:
        return default_runtime()
    name = str(runtime).strip().lower()
    if name not in RUNTIMES:
        raise ConfigurationError(
            f"unknown runtime {runtime!r}: choose {quoted_choices(sorted(RUNTIMES))}"
        )
    if not available(name):
        raise ConfigurationError(
            f"the {name} runtime needs uvloop and httptools, which are not installed here "
            "(pip install uvloop httptools); use --runtime asyncio"
        )
    return name


def uvicorn_arguments(runtime: str) -> list[str]:
    """The uvicorn command-line arguments that select ``runtime``."""
    loop, http = RUNTIMES[runtime]
    return ["--loop", loop, "--http", http]


__all__ = ["RUNTIMES", "available", "default_runtime", "resolve", "uvicorn_arguments"]
