"""What each uvicorn worker imports: the app, configured through ``LABKIT_APP_*`` variables.

``LabServer`` sets them; uvicorn calls :func:`app_from_env` (``--factory``) in every worker.
"""

from __future__ import annotations

import os
import signal
import threading
import time

from fastapi import FastAPI

from labkit.app.factory import create_app
from labkit.app.limits import DEFAULT_MAX_BODY_BYTES


def app_from_env() -> FastAPI:
    env = os.environ
    app = create_app(
        env["LABKIT_APP_DATASET"],
        optimize=env.get("LABKIT_APP_OPTIMIZE", "none"),
        latency_ms=float(env.get("LABKIT_APP_LATENCY_MS", "0")),
        copy=env.get("LABKIT_APP_COPY", "1") != "0",
        cache_dir=env.get("LABKIT_APP_CACHE_DIR") or None,
        shared_limits=env.get("LABKIT_APP_SHARED_LIMITS", "0") == "1",
        slow_ms=float(env.get("LABKIT_APP_SLOW_MS", "200")),
        max_body_bytes=int(env.get("LABKIT_APP_MAX_BODY_BYTES", str(DEFAULT_MAX_BODY_BYTES))),
    )
    owner = int(env.get("LABKIT_APP_OWNER_PID", "0"))
    if owner:
        _exit_with_owner(owner)
    return app


def _exit_with_owner(owner_pid: int, interval: float = 1.0) -> None:
    """Stop the whole server when the process that started it is gone.

    A notebook kernel that is killed (not shut down) runs no clean-up; without this watch its
    server would keep the port and the CPU. The server runs in its own process group.
    """

    def watch() -> None:
        while True:
            time.sleep(interval)
            try:
                os.kill(owner_pid, 0)
            except ProcessLookupError:
                os.killpg(os.getpgid(0), signal.SIGTERM)
                return
            except PermissionError:  # alive, owned by someone else
                continue

    threading.Thread(target=watch, name="labkit-owner-watch", daemon=True).start()
