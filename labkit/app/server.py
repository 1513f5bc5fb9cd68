"""``LabServer``: the lab API under uvicorn in a subprocess on a free 127.0.0.1 port.

>>> with LabServer(optimize="all", workers=2) as server:
...     print(server.url, server.stats())

The server runs in its own process group, so stopping it takes every worker with it; it is
stopped on ``with`` exit, on ``stop()``, when the object is collected, at interpreter exit, and
(by a watch inside the server) when the process that started it dies.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import weakref
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import psutil

from labkit.app.database import prepare_working_copy
from labkit.app.factory import default_dataset
from labkit.app.limits import DEFAULT_MAX_BODY_BYTES
from labkit.app.preflight import (
    check_dataset,
    check_host,
    check_latency,
    check_port,
    check_port_free,
    check_workers,
)
from labkit.app.runtime import resolve as resolve_runtime
from labkit.app.runtime import uvicorn_arguments
from labkit.app.toggles import Toggles
from labkit.data.scratch import owned_temp_dir
from labkit.display import TextView
from labkit.errors import ConfigurationError, ServerError


@dataclass(frozen=True, repr=False)
class ServerStats(TextView):
    """Resource use of the server's processes at one moment (all workers added up)."""

    cpu_percent: float  # of one core, since the previous sample; can exceed 100 with workers
    rss_bytes: int
    processes: int
    loop_lag_ms: float | None  # max recent lag reported by the worker that answered
    requests: int | None

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([asdict(self)])

    def __str__(self) -> str:
        lag = "n/a" if self.loop_lag_ms is None else f"{self.loop_lag_ms:.1f} ms"
        return (
            f"CPU {self.cpu_percent:.0f}% · RSS {self.rss_bytes / 2**20:.0f} MiB · "
            f"{self.processes} process(es) · event-loop lag {lag}"
        )

    def _repr_html_(self) -> str:
        return f"<code>{self}</code>"


def free_port(host: str = "127.0.0.1") -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _terminate(proc: subprocess.Popen[bytes], workdir: str) -> None:
    """Stop the server's process group (TERM, then KILL) and every worker, then remove files."""
    try:
        workers = psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        workers = []
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
    # Workers outlive the supervisor by a moment while they finish shutting down.
    _, alive = psutil.wait_procs(workers, timeout=5)
    for worker in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            worker.kill()
    shutil.rmtree(workdir, ignore_errors=True)


class LabServer:
    """Run the lab API (``create_app``) under uvicorn on 127.0.0.1.

    ``workers > 1`` uses ``uvicorn --workers N`` (not the deprecated ``uvicorn.workers``,
    uvicorn #2302). ``shared_limits`` (default: on with several workers) keeps rate-limit
    counts in the shared store; turn it off to see each worker count on its own. ``runtime``
    picks uvicorn's event loop and HTTP parser (``labkit.app.runtime``): ``"uvloop"``
    (uvloop + httptools, the default where installed) or ``"asyncio"`` (asyncio + h11).
    """

    def __init__(
        self,
        optimize: str | Iterable[str] | Toggles | None = "none",
        workers: int = 1,
        dataset: str | Path | None = None,
        latency_ms: float = 0.0,
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        shared_limits: bool | None = None,
        slow_ms: float = 200.0,
        startup_timeout: float = 30.0,
        runtime: str | None = None,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    ) -> None:
        self.runtime = resolve_runtime(runtime)
        if max_body_bytes < 0:
            raise ConfigurationError(f"--max-body-bytes must be >= 0, got {max_body_bytes}")
        self.max_body_bytes = max_body_bytes
        check_workers(workers)
        check_port(port)
        latency_ms = check_latency(latency_ms)
        self.toggles = Toggles.parse(optimize)
        self.workers = workers
        self.dataset = Path(dataset) if dataset is not None else None
        self.latency_ms = latency_ms
        self.host = host
        self.port = port
        self.shared_limits = workers > 1 if shared_limits is None else shared_limits
        self.slow_ms = slow_ms
        self.startup_timeout = startup_timeout
        self._proc: subprocess.Popen[bytes] | None = None
        self._workdir: str | None = None
        self._finalizer: weakref.finalize[Any, Any] | None = None
        self._watched: dict[int, psutil.Process] = {}

    # ------------------------------------------------------------------ lifecycle
    @property
    def url(self) -> str:
        if self.port is None:
            raise ServerError("the server is not started: use `with LabServer() as server:`")
        host = f"[{self.host}]" if ":" in self.host else self.host  # an IPv6 literal
        return f"http://{host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> LabServer:
        if self.running:
            return self
        # Everything that can be refused is checked before anything is created.
        check_host(self.host)
        if self.port is not None:
            check_port_free(self.host, self.port)
        source = check_dataset(self.dataset if self.dataset is not None else default_dataset())
        workdir = str(owned_temp_dir("server"))
        self._workdir = workdir
        try:
            # One working copy for all workers, so a write in one is seen by the others.
            working = prepare_working_copy(source, Path(workdir), indexes="indexes" in self.toggles)
            self.port = self.port or free_port(self.host)
        except BaseException:
            shutil.rmtree(workdir, ignore_errors=True)
            raise
        env = {
            **os.environ,
            "LABKIT_APP_DATASET": str(working),
            "LABKIT_APP_COPY": "0",
            "LABKIT_APP_OPTIMIZE": self.toggles.label,
            "LABKIT_APP_LATENCY_MS": str(self.latency_ms),
            "LABKIT_APP_CACHE_DIR": str(Path(workdir) / "l2"),
            "LABKIT_APP_SHARED_LIMITS": "1" if self.shared_limits else "0",
            "LABKIT_APP_SLOW_MS": str(self.slow_ms),
            "LABKIT_APP_MAX_BODY_BYTES": str(self.max_body_bytes),
            "LABKIT_APP_OWNER_PID": str(os.getpid()),
        }
        command = [
            sys.executable, "-m", "labkit.app.launch", "labkit.app.entry:app_from_env", "--factory",
            "--host", self.host, "--port", str(self.port), "--workers", str(self.workers),
            "--log-level", "warning", "--no-access-log", "--timeout-graceful-shutdown", "3",
            *uvicorn_arguments(self.runtime),
        ]  # fmt: skip
        log = open(Path(workdir) / "server.log", "wb")  # noqa: SIM115 - handed to the child
        try:
            self._proc = subprocess.Popen(
                command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        finally:
            log.close()
        self._finalizer = weakref.finalize(self, _terminate, self._proc, workdir)
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        self._prime_stats()
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        assert self._proc is not None
        # With several workers, a worker process that exists may not accept connections yet;
        # a load test started then would put every keep-alive connection on the first worker.
        # Ready means every worker has answered a request (each urlopen is a new connection).
        serving: set[int] = set()
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise ServerError(
                    f"the lab API exited during start-up (code {self._proc.returncode}): "
                    f"{self.log_tail() or 'no output'}"
                )
            try:
                if self.workers == 1:
                    # Ours, not another server that holds the port: its pid is in our tree.
                    with urllib.request.urlopen(f"{self.url}/api/_stats", timeout=1) as response:
                        pid = int(json.loads(response.read())["pid"])
                    if pid in {proc.pid for proc in self._processes()}:
                        return
                    raise ServerError(f"another server answers on {self.url}: choose another port")
                elif self._all_workers_up():
                    with urllib.request.urlopen(f"{self.url}/api/_stats", timeout=1) as response:
                        serving.add(int(json.loads(response.read())["pid"]))
                    if len(serving) >= self.workers:
                        return
                    continue  # ask again at once: another connection may reach another worker
            except (urllib.error.URLError, OSError, ValueError, KeyError):
                pass
            time.sleep(0.05)
        raise ServerError(
            f"the lab API did not answer on {self.url} within {self.startup_timeout:g} s: "
            f"{self.log_tail() or 'no output'}"
        )

    def _all_workers_up(self) -> bool:
        if self.workers == 1:
            return True
        return len(self._processes()) >= self.workers + 1

    def log_tail(self, lines: int = 5) -> str:
        """The last lines the server printed (start-up errors, slow-request warnings)."""
        if self._workdir is None:
            return ""
        path = Path(self._workdir) / "server.log"
        if not path.exists():
            return ""
        text = path.read_text(errors="replace").strip().splitlines()
        return " | ".join(text[-lines:])

    def stop(self) -> None:
        if self._finalizer is not None:
            self._finalizer()  # runs _terminate once
            self._finalizer = None
        self._watched.clear()

    def __enter__(self) -> LabServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = f"running at {self.url}" if self.running else "stopped"
        return (
            f"<LabServer optimize={self.toggles.label} workers={self.workers} "
            f"runtime={self.runtime} {state}>"
        )

    # ------------------------------------------------------------------ measurements
    def _processes(self) -> list[psutil.Process]:
        if self._proc is None:
            return []
        try:
            root = psutil.Process(self._proc.pid)
            return [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def _prime_stats(self) -> None:
        for proc in self._processes():
            if proc.pid not in self._watched:
                self._watched[proc.pid] = proc
                proc.cpu_percent(None)  # the first call only sets the starting point

    def app_stats(self) -> dict[str, Any]:
        """``/api/_stats`` of whichever worker answers: counters and event-loop lag."""
        try:
            with urllib.request.urlopen(f"{self.url}/api/_stats", timeout=2) as response:
                data: dict[str, Any] = json.loads(response.read())
                return data
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise ServerError(f"cannot read stats from {self.url}: {exc}") from exc

    def stats(self) -> ServerStats:
        """CPU % (since the previous call), RSS and event-loop lag of the running server."""
        if not self.running:
            raise ServerError("the lab API is not running")
        self._prime_stats()
        cpu, rss, alive = 0.0, 0, 0
        for pid, proc in list(self._watched.items()):
            try:
                cpu += proc.cpu_percent(None)
                rss += proc.memory_info().rss
                alive += 1
            except psutil.NoSuchProcess:
                del self._watched[pid]
        try:
            app = self.app_stats()
        except ServerError:
            app = {}
        return ServerStats(
            cpu_percent=cpu,
            rss_bytes=rss,
            processes=alive,
            loop_lag_ms=app.get("loop_lag_ms_max"),
            requests=app.get("counters", {}).get("requests"),
        )
