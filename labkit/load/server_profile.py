"""A pyinstrument profile of the lab server's worker while a load test runs.

Two halves. Inside the server process, ``listen_for_profile_signals`` (installed by
``labkit.app.launch``) starts pyinstrument on SIGUSR1 and, on SIGUSR2, stops it and saves the
session next to the process (``profile_path(pid)``). Outside, ``profile_under_load`` sends the
signals around a ``run_load`` and reads the session back as a ``ServerProfile``: the call tree
as text, and the hottest frames as a table (time spent in each function itself, summed).

The sampler runs on the worker's event-loop thread (where the request handlers, JSON encoding
and compression run); time the loop spends waiting — for the database thread or the network —
shows as the loop's ``select``.
"""

from __future__ import annotations

import asyncio
import os
import signal
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from labkit.display import TextView
from labkit.errors import LoadError
from labkit.load.result import LoadResult

START_SIGNAL = getattr(signal, "SIGUSR1", None)
STOP_SIGNAL = getattr(signal, "SIGUSR2", None)
INTERVAL_S = 0.001
APP_CODE = os.path.join("labkit", "app", "")  # the lab API's own files


def profile_path(pid: int) -> Path:
    return Path(tempfile.gettempdir()) / f"labkit-profile-{pid}.json"


def listen_for_profile_signals() -> None:
    """In the server process: SIGUSR1 starts a pyinstrument profile, SIGUSR2 saves it."""
    if START_SIGNAL is None or STOP_SIGNAL is None:  # not on Windows
        return
    state: dict[str, Any] = {}

    def start(signum: int, frame: Any) -> None:
        from pyinstrument import Profiler

        if "profiler" not in state:
            profiler = Profiler(interval=INTERVAL_S, async_mode="disabled")
            profiler.start()
            state["profiler"] = profiler

    def stop(signum: int, frame: Any) -> None:
        profiler = state.pop("profiler", None)
        if profiler is None:
            return
        session = profiler.stop()
        target = profile_path(os.getpid())
        partial = target.with_suffix(".partial")
        session.save(str(partial))
        partial.replace(target)  # the reader never sees half a file

    signal.signal(START_SIGNAL, start)
    signal.signal(STOP_SIGNAL, stop)


@dataclass(repr=False)
class ServerProfile(TextView):
    """What the server's worker did during the load: the pyinstrument session and the run."""

    session: Any  # pyinstrument.session.Session
    result: LoadResult

    def text(self, *, show_all: bool = False, max_lines: int = 60) -> str:
        """The call tree, as pyinstrument prints it (time per frame, nested)."""
        from pyinstrument.renderers import ConsoleRenderer

        rendered = ConsoleRenderer(
            unicode=True, color=False, show_all=show_all, short_mode=False
        ).render(self.session)
        lines = str(rendered).splitlines()
        return "\n".join(lines[:max_lines] + ([" …"] if len(lines) > max_lines else []))

    def html(self) -> str:
        from pyinstrument.renderers import HTMLRenderer

        return str(HTMLRenderer().render(self.session))

    def top_frames(self, n: int = 10, *, within: str | None = APP_CODE) -> pd.DataFrame:
        """The hottest functions: time inside each (its callees included), summed over every
        place it was called from, with its share of the profile. ``within`` keeps the
        functions whose file path contains it (default: the lab API's own code, where a fix
        can go); ``None`` lists every function by the time spent in it itself."""
        root = self.session.root_frame()
        totals: dict[tuple[str, str], float] = {}
        stack = [(root, frozenset[tuple[str, str]]())] if root is not None else []
        while stack:
            frame, above = stack.pop()
            name = frame.function or "?"
            if frame.class_name:
                name = f"{frame.class_name}.{name}"
            key = (name, frame.file_path_short or "")
            stack.extend((child, above | {key}) for child in frame.children)
            if frame.is_synthetic:
                continue
            if within is None:
                seconds = frame.total_self_time
            elif within in (frame.file_path or "") and key not in above:  # recursion once
                seconds = frame.time
            else:
                continue
            if seconds > 0:
                totals[key] = totals.get(key, 0.0) + seconds
        duration = self.session.duration or 1.0
        column = "self_s" if within is None else "time_s"
        rows = [
            {"function": function, "file": path, column: seconds, "share": seconds / duration}
            for (function, path), seconds in sorted(totals.items(), key=lambda kv: -kv[1])[:n]
        ]
        return pd.DataFrame(rows, columns=["function", "file", column, "share"])

    def __str__(self) -> str:
        return self.text()

    def _repr_html_(self) -> str:
        import html

        return (
            f"<p><b>Server profile under load</b> — {html.escape(self.result.headline())}</p>"
            f"<pre style='font-size:85%'>{html.escape(self.text(max_lines=40))}</pre>"
            + self.top_frames().to_html(float_format=lambda v: f"{v:,.3f}", index=False)
        )


def _worker_pids(server: Any) -> list[int]:
    processes = server._processes() if hasattr(server, "_processes") else []
    pids = [p.pid for p in processes]
    if len(pids) > 1 and server.pid in pids:  # several workers: profile the workers
        pids.remove(server.pid)
    return pids or ([server.pid] if server.pid else [])


async def profile_under_load(
    server: Any,
    endpoints: Sequence[str] | None = None,
    *,
    seconds: float = 2.0,
    vus: int = 8,
    warmup: float = 0.3,
    timeout: float = 10.0,
) -> ServerProfile:
    """Load ``server`` (a running ``LabServer``) for ``seconds`` while pyinstrument samples
    its worker; the profile covers the measured part of the run only."""
    from pyinstrument.session import Session

    from labkit.load.runner import run_load

    if START_SIGNAL is None or STOP_SIGNAL is None:
        raise LoadError("profiling the server needs SIGUSR1/SIGUSR2 (not on Windows)")
    if not getattr(server, "running", False):
        raise LoadError("start the server first: profile_under_load needs a running LabServer")
    pids = _worker_pids(server)
    for pid in pids:
        profile_path(pid).unlink(missing_ok=True)

    async def signal_after(delay: float, signum: int) -> None:
        await asyncio.sleep(delay)
        for pid in pids:
            os.kill(pid, signum)

    starter = asyncio.create_task(signal_after(warmup, START_SIGNAL))
    result = await run_load(
        server, endpoints, vus=vus, duration=seconds, warmup=warmup, progress=False
    )
    await starter
    await signal_after(0.0, STOP_SIGNAL)
    sessions = []
    deadline = time.monotonic() + timeout
    try:
        for pid in pids:
            path = profile_path(pid)
            while not path.exists():
                if time.monotonic() > deadline:
                    raise LoadError(
                        "the server wrote no profile: is it a LabServer started by this labkit "
                        "(labkit.app.launch listens for the profile signals)?"
                    )
                await asyncio.sleep(0.05)
            sessions.append(Session.load(str(path)))
    finally:
        for pid in pids:
            profile_path(pid).unlink(missing_ok=True)
    session = sessions[0]
    for other in sessions[1:]:
        session = Session.combine(session, other)
    return ServerProfile(session=session, result=result)
