"""Helpers for the tests that start a real JupyterLab or JupyterHub: free ports, waiting."""

from __future__ import annotations

import shutil
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")

# Chromium's own connections (updates, sync, safe browsing) are refused on a closed network,
# many at a time; these flags keep it to the page under test.
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def chromium() -> str | None:
    """The system Chromium (Playwright's own browser download cannot work offline)."""
    for candidate in CHROMIUM_CANDIDATES:
        if Path(candidate).exists():
            return candidate
    return shutil.which("chromium")


def wait_until(ready: Callable[[], bool], *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return
        time.sleep(0.25)
    raise TimeoutError(f"{what} not ready within {timeout:g} s")


def answers(url: str, *, ok: tuple[int, ...] = (200,)) -> bool:
    """Whether ``url`` answers with one of the ``ok`` statuses now."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return int(response.status) in ok
    except urllib.error.HTTPError as exc:
        return exc.code in ok
    except OSError:
        return False
