"""Memory profiling: memray (peak, allocation count, top sites) with a tracemalloc fallback.

memray allows one ``Tracker`` per process and refuses to overwrite an existing file, so the
capture goes to a temporary directory this module owns (``FileDestination(overwrite=True)``)
and is deleted once read. memray runs on Linux and macOS only; elsewhere (or on request) the
same result type is filled from tracemalloc, and the result says so.
"""

from __future__ import annotations

import itertools
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from labkit.errors import MeasurementError
from labkit.profilers.base import ProfileResult, Profiling

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

Backend = Literal["auto", "memray", "tracemalloc"]
SITE_COLUMNS = ["function", "location", "bytes", "allocations"]
_OWN_FILES = ("labkit/profilers/", "labkit/magics/", "tracemalloc.py")

_capture_dir: tempfile.TemporaryDirectory[str] | None = None
_capture_numbers = itertools.count(1)


def capture_path() -> Path:
    """A fresh file name in labkit's own temp dir (removed when the process exits)."""
    global _capture_dir
    if _capture_dir is None:
        _capture_dir = tempfile.TemporaryDirectory(prefix="labkit-memray-")
    return Path(_capture_dir.name) / f"capture-{next(_capture_numbers)}.bin"


def format_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"  # pragma: no cover


def _own(path: str) -> bool:
    path = path.replace("\\", "/")
    return any(part in path for part in _OWN_FILES)


def _sites(entries: list[tuple[str, str, int, int]]) -> list[dict[str, Any]]:
    """Group (function, location, bytes, count) entries by site, largest first."""
    grouped: dict[tuple[str, str], list[int]] = {}
    for function, location, size, count in entries:
        slot = grouped.setdefault((function, location), [0, 0])
        slot[0] += size
        slot[1] += count
    rows = [
        {"function": f, "location": loc, "bytes": size, "allocations": count}
        for (f, loc), (size, count) in grouped.items()
    ]
    return sorted(rows, key=lambda r: (-r["bytes"], -r["allocations"]))


@dataclass(frozen=True, repr=False)
class MemoryProfile(ProfileResult):
    """Peak heap growth, allocations and the sites holding memory at the peak."""

    peak_bytes: int = 0
    allocations: int = 0
    retained_bytes: int = 0
    sites: list[dict[str, Any]] = field(default_factory=list)
    retained_sites: list[dict[str, Any]] = field(default_factory=list)

    kind = "memory"

    def to_frame(self, top: int = 10) -> pd.DataFrame:
        """Top allocation sites at the peak: function, location, bytes, allocations."""
        import pandas as pd

        return pd.DataFrame(self.sites[:top], columns=SITE_COLUMNS)

    def retained_frame(self, top: int = 10) -> pd.DataFrame:
        """Sites whose memory was still allocated when profiling stopped (leak hunting)."""
        import pandas as pd

        return pd.DataFrame(self.retained_sites[:top], columns=SITE_COLUMNS)

    @property
    def text(self) -> str:
        lines = [
            f"memory ({self.backend}): peak {format_bytes(self.peak_bytes)}, "
            f"{self.allocations:,} allocations, {format_bytes(self.retained_bytes)} still "
            f"allocated at the end, in {self.seconds:.3f} s"
        ]
        for site in self.sites[:5]:
            lines.append(
                f"  {format_bytes(site['bytes']):>10}  {site['allocations']:>8,}  "
                f"{site['function']}  {site['location']}"
            )
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        from html import escape

        frame = self.to_frame().assign(bytes=lambda f: f["bytes"].map(format_bytes))
        return (
            f"{self.notes_html()}<div><strong>peak {escape(format_bytes(self.peak_bytes))}"
            f"</strong>, {self.allocations:,} allocations, "
            f"{escape(format_bytes(self.retained_bytes))} still allocated at the end "
            f"<span style='color:#777'>({escape(self.backend)})</span></div>"
            f"{frame.to_html(index=False)}"
        )


class memory_profile(Profiling[MemoryProfile]):
    """Track allocations while the block runs.

    ``backend="auto"`` uses memray where it is available and tracemalloc elsewhere;
    ``python_allocators=True`` makes memray see every Python object allocation (not only the
    allocator's arenas), so counts mean "objects created".
    """

    def __init__(self, backend: Backend = "auto", *, python_allocators: bool = True) -> None:
        super().__init__()
        if backend not in ("auto", "memray", "tracemalloc"):
            raise MeasurementError(
                f"memory backend must be 'auto', 'memray' or 'tracemalloc', got {backend!r}"
            )
        self.requested = backend
        self.python_allocators = python_allocators
        self._notes: list[str] = []
        self._impl: Any = None
        self._started = 0.0

    def _start(self) -> None:
        self._notes = []
        backend = self.requested
        if backend in ("auto", "memray"):
            try:
                import memray  # noqa: F401
            except ImportError as exc:
                if backend == "memray":
                    raise MeasurementError(
                        f"memray is not available here ({exc}); use backend='tracemalloc'"
                    ) from None
                self._notes.append(
                    "memray is not available here (it runs on Linux and macOS): measured "
                    "with tracemalloc, which sees Python allocations only"
                )
                backend = "tracemalloc"
            else:
                backend = "memray"
        self._impl = _Memray(self.python_allocators) if backend == "memray" else _Tracemalloc()
        self._impl.start()
        self._started = time.perf_counter()

    def _stop(self) -> MemoryProfile:
        seconds = time.perf_counter() - self._started
        fields = self._impl.stop()
        return MemoryProfile(
            backend=self._impl.name, seconds=seconds, notes=self._notes + fields.pop("notes"),
            **fields,
        )  # fmt: skip


class _Memray:
    name = "memray"

    def __init__(self, python_allocators: bool) -> None:
        self.python_allocators = python_allocators
        self.path = capture_path()
        self.tracker: Any = None

    def start(self) -> None:
        import memray

        self.tracker = memray.Tracker(
            destination=memray.FileDestination(self.path, overwrite=True),
            trace_python_allocators=self.python_allocators,
            file_format=memray.FileFormat.ALL_ALLOCATIONS,
        )
        try:
            self.tracker.__enter__()
        except RuntimeError as exc:  # "No more than one Tracker instance can be active..."
            raise MeasurementError(
                f"memray cannot start: {exc} (memray allows one per process; finish the other "
                "memory profile first, or use backend='tracemalloc')"
            ) from None

    def stop(self) -> dict[str, Any]:
        import memray

        self.tracker.__exit__(None, None, None)
        try:
            reader = memray.FileReader(self.path)
            meta = reader.metadata
            peak = self._entries(reader.get_high_watermark_allocation_records(merge_threads=True))
            kept = self._entries(reader.get_leaked_allocation_records(merge_threads=True))
            reader.close()
        finally:
            self.path.unlink(missing_ok=True)
        return {
            "peak_bytes": meta.peak_memory,
            "allocations": meta.total_allocations,
            "retained_bytes": sum(e[2] for e in kept),
            "sites": _sites(peak),
            "retained_sites": _sites(kept),
            "notes": [],
        }

    @staticmethod
    def _entries(records: Any) -> list[tuple[str, str, int, int]]:
        entries = []
        for record in records:
            stack = record.stack_trace(max_stacks=1)
            if stack:
                function, filename, line = stack[0]
                if _own(filename):
                    continue
                location = f"{filename}:{line}"
            else:
                function, location = "(no Python frame)", ""
            entries.append((function, location, record.size, record.n_allocations))
        return entries


class _Tracemalloc:
    name = "tracemalloc"

    def __init__(self) -> None:
        self.started_tracing = False
        self.baseline = 0
        self.before: Any = None

    def start(self) -> None:
        import tracemalloc

        if not tracemalloc.is_tracing():
            tracemalloc.start(1)
            self.started_tracing = True
        tracemalloc.reset_peak()
        self.baseline = tracemalloc.get_traced_memory()[0]
        self.before = tracemalloc.take_snapshot()

    def stop(self) -> dict[str, Any]:
        import tracemalloc

        current, peak = tracemalloc.get_traced_memory()
        after = tracemalloc.take_snapshot()
        if self.started_tracing:
            tracemalloc.stop()
        ignore = [tracemalloc.Filter(False, f"*{part}*") for part in _OWN_FILES]
        diffs = after.filter_traces(ignore).compare_to(self.before.filter_traces(ignore), "lineno")
        entries = []
        for diff in diffs:
            if diff.size_diff <= 0:
                continue
            frame = diff.traceback[0]
            location = f"{frame.filename}:{frame.lineno}"
            entries.append(("", location, diff.size_diff, diff.count_diff))  # no function names
        retained = _sites(entries)
        return {
            "peak_bytes": max(0, peak - self.baseline),
            "allocations": sum(r["allocations"] for r in retained),
            "retained_bytes": max(0, current - self.baseline),
            "sites": retained,
            "retained_sites": retained,
            "notes": [
                "tracemalloc keeps no record of each allocation: 'allocations' and the sites "
                "are the blocks still allocated at the end (the peak figure is exact)"
            ],
        }
