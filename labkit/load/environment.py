"""Versions of what was measured, detected at run time (for the report's context header)."""

from __future__ import annotations

import os
import platform
from importlib import metadata


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def detect_environment() -> dict[str, str]:
    import sqlite3

    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(terse=True),
        "cpu_cores": str(os.cpu_count() or 0),
        "framework": f"FastAPI {_version('fastapi')} (Starlette {_version('starlette')})",
        "server": f"uvicorn {_version('uvicorn')}",
        "database": f"SQLite {sqlite3.sqlite_version} via aiosqlite {_version('aiosqlite')}",
        "load_client": f"aiohttp {_version('aiohttp')}",
        "labkit": _version("labkit"),
    }
