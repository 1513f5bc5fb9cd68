"""``labkit doctor``: is this machine ready for the course? One row per check, with advice."""

from __future__ import annotations

import html
import importlib.metadata
import importlib.util
import os
import socket
import sqlite3
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from labkit.data import DEFAULT_SEED, data_dir, find_problem, read_dataset
from labkit.data.generator import GENERATOR_VERSION
from labkit.data.location import dataset_filename, expected_fingerprint
from labkit.display import TextView
from labkit.errors import LabkitError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

# distribution names the lessons import (see pyproject.toml)
PACKAGES = (
    "jupyterlab", "ipywidgets", "ipykernel", "pandas", "aiosqlite", "pyinstrument",
    "line-profiler", "fastapi", "uvicorn", "httpx", "aiohttp", "hdrhistogram", "psutil",
    "cachetools", "diskcache", "orjson", "msgspec", "brotli", "matplotlib", "tqdm",
    "nbformat", "nbclient", "pyyaml",
)  # fmt: skip

MIN_PYTHON = (3, 11)
STATUS_MARK = {"ok": "✓", "warn": "!", "fail": "✗"}


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # "ok" | "warn" | "fail"
    detail: str
    advice: str = ""


@dataclass(frozen=True, repr=False)
class DoctorReport(TextView):
    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        return all(c.status != "fail" for c in self.checks)

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(
            [(c.name, c.status, c.detail, c.advice) for c in self.checks],
            columns=["check", "status", "detail", "advice"],
        )

    def __str__(self) -> str:
        width = max(len(c.name) for c in self.checks)
        lines = []
        for c in self.checks:
            lines.append(f"{STATUS_MARK[c.status]} {c.name:<{width}}  {c.detail}")
            if c.advice and c.status != "ok":
                lines.append(f"  {'':<{width}}  → {c.advice}")
        verdict = "ready" if self.ok else "not ready: fix the ✗ lines above"
        lines.append(f"labkit doctor: {verdict}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        colour = {"ok": "#1a7f37", "warn": "#9a6700", "fail": "#cf222e"}
        rows = "".join(
            f"<tr><td style='color:{colour[c.status]}'>{STATUS_MARK[c.status]}</td>"
            f"<td>{html.escape(c.name)}</td><td>{html.escape(c.detail)}</td>"
            f"<td>{html.escape(c.advice if c.status != 'ok' else '')}</td></tr>"
            for c in self.checks
        )
        return (
            f"<table><tr><th></th><th>check</th><th>detail</th><th>advice</th></tr>{rows}</table>"
        )


def check_python() -> Check:
    version = ".".join(map(str, sys.version_info[:3]))
    if tuple(sys.version_info[:2]) >= MIN_PYTHON:
        return Check("python", "ok", f"Python {version} ({sys.executable})")
    return Check("python", "fail", f"Python {version}", "install Python 3.11 or newer")


def check_packages() -> Check:
    missing, found = [], 0
    for name in PACKAGES:
        try:
            importlib.metadata.version(name)
            found += 1
        except importlib.metadata.PackageNotFoundError:
            missing.append(name)
    if missing:
        return Check(
            "packages",
            "fail",
            f"missing: {', '.join(missing)}",
            "run `make lab` (or `pip install -e .`) in the course folder",
        )
    return Check("packages", "ok", f"all {found} course packages installed")


def check_sqlite() -> Check:
    version = sqlite3.sqlite_version
    if sqlite3.sqlite_version_info >= (3, 35, 0):
        return Check("sqlite", "ok", f"SQLite {version}")
    return Check("sqlite", "warn", f"SQLite {version}", "SQLite 3.35+ is needed for RETURNING")


def check_dataset(size: str = "small", seed: int = DEFAULT_SEED) -> Check:
    name = f"dataset ({size})"
    try:
        folder = data_dir()
    except LabkitError as exc:
        return Check(name, "fail", str(exc), "set LABKIT_DATA to a writable folder")
    path = folder / dataset_filename(size, seed)
    problem = find_problem(path, size, seed)
    advice = f"run `labkit data build --size {size}` (or `make lab`)"
    if problem is not None:
        return Check(name, "fail", f"{path} {problem}", advice)
    ds = read_dataset(path)
    expected = expected_fingerprint(size, seed, GENERATOR_VERSION)
    if expected is not None and expected != ds.fingerprint:
        return Check(
            name,
            "fail",
            f"fingerprint {ds.fingerprint[:12]}… differs from the manifest's {expected[:12]}…",
            advice,
        )
    note = "matches the manifest" if expected else "no manifest to compare with"
    return Check(name, "ok", f"{ds.rows:,} rows, fingerprint {ds.fingerprint[:12]}… ({note})")


def check_profilers() -> Check:
    available = [m for m in ("pyinstrument", "line_profiler") if importlib.util.find_spec(m)]
    missing = [m for m in ("pyinstrument", "line_profiler") if m not in available]
    if missing:
        return Check("profilers", "fail", f"missing: {', '.join(missing)}", "run `make lab`")
    if sys.platform == "win32":
        return Check(
            "profilers",
            "warn",
            "pyinstrument, line_profiler; memray does not run on Windows",
            "memory lessons fall back to tracemalloc (fewer details); WSL gives you memray",
        )
    if importlib.util.find_spec("memray") is None:
        return Check(
            "profilers",
            "warn",
            "pyinstrument, line_profiler; memray not installed",
            "memory lessons fall back to tracemalloc; `pip install memray` for more detail",
        )
    return Check("profilers", "ok", "pyinstrument, line_profiler, memray")


def check_port() -> Check:
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
    except OSError as exc:
        return Check(
            "network", "fail", f"cannot listen on 127.0.0.1 ({exc})", "the lab API needs loopback"
        )
    return Check("network", "ok", f"127.0.0.1 can listen (free port {port} found)")


def check_data_folder() -> Check:
    try:
        folder = data_dir()
    except LabkitError as exc:
        return Check("data folder", "fail", str(exc), "set LABKIT_DATA to a writable folder")
    if not os.access(folder, os.W_OK):
        return Check("data folder", "fail", f"{folder} is read-only", "set LABKIT_DATA")
    return Check("data folder", "ok", str(folder))


CHECKS: tuple[Callable[[], Check], ...] = (
    check_python,
    check_packages,
    check_sqlite,
    check_data_folder,
    check_dataset,
    check_profilers,
    check_port,
)


def run_checks() -> DoctorReport:
    """Run every check (a few milliseconds each); display the result in a notebook or print it."""
    results = []
    for check in CHECKS:
        try:
            results.append(check())
        except Exception as exc:  # a broken check must not hide the others
            results.append(Check(check.__name__.removeprefix("check_"), "fail", repr(exc)))
    return DoctorReport(tuple(results))
