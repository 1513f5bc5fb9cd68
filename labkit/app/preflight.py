"""Checks made before a lab server starts, so a bad option is one clear sentence, not a
flattened server traceback, a server that never answers, or a message about someone else's."""

from __future__ import annotations

import contextlib
import math
import socket
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Final

from labkit.errors import ConfigurationError, ServerError

MAX_LATENCY_MS: Final = 10_000.0  # a simulated round trip longer than 10 s is a typo
MAX_WORKERS: Final = 64
# What the app reads; a dataset without them would answer 500 on every data endpoint.
APP_TABLES: Final = ("users", "posts", "comments", "products", "categories")


def check_latency(latency_ms: float) -> float:
    if not isinstance(latency_ms, int | float) or not math.isfinite(latency_ms):
        raise ConfigurationError(f"--latency-ms must be a finite number, got {latency_ms!r}")
    if not 0 <= latency_ms <= MAX_LATENCY_MS:
        raise ConfigurationError(
            f"--latency-ms must be between 0 and {MAX_LATENCY_MS:g}, got {latency_ms:g}"
        )
    return float(latency_ms)


def check_workers(workers: int) -> int:
    if not 1 <= workers <= MAX_WORKERS:
        raise ConfigurationError(f"--workers must be between 1 and {MAX_WORKERS}, got {workers}")
    return workers


def check_port(port: int | None) -> int | None:
    if port is not None and not 1 <= port <= 65535:
        raise ConfigurationError(f"--port must be between 1 and 65535, got {port}")
    return port


def check_host(host: str) -> str:
    """A host this machine can listen on (an address or a name that resolves to one)."""
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise ServerError(f"cannot listen on host {host!r}: {exc.args[-1]}") from None
    for family, kind, proto, _, address in infos:
        with contextlib.suppress(OSError), socket.socket(family, kind, proto) as probe:
            probe.bind((address[0], 0))
            return host
    raise ServerError(f"cannot listen on host {host!r}: no local interface has that address")


def check_port_free(host: str, port: int) -> None:
    """Refuse a port another server listens on (SO_REUSEADDR as uvicorn sets it)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise ServerError(
                f"port {port} on {host} is in use ({exc.strerror}): choose another --port "
                "or leave it out for a free one"
            ) from None


def check_dataset(path: Path) -> Path:
    """A readable SQLite file holding the tables the app reads (refused before anything starts)."""
    if not path.is_file():
        raise ServerError(f"dataset not found: {path} (build one with `labkit data build`)")
    if path.stat().st_size == 0:
        raise ServerError(f"dataset {path} is empty (0 bytes): rebuild it with `labkit data build`")
    try:
        with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as conn:
            names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
            missing = [table for table in APP_TABLES if table not in names]
            if not missing:
                conn.execute("SELECT id FROM users LIMIT 1").fetchall()
    except sqlite3.DatabaseError as exc:
        raise ServerError(f"dataset {path} cannot be read ({exc}): rebuild it") from None
    if missing:
        raise ServerError(f"dataset {path} lacks the table(s) {', '.join(missing)}")
    return path
