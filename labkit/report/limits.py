"""The memory a server may use: the cgroup limit when one is set, else the machine's RAM."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import psutil

from labkit.display import TextView
from labkit.errors import ReportError

CGROUP_ROOT = Path("/sys/fs/cgroup")
# cgroup v1 writes "no limit" as a huge page-aligned number (2**63 rounded down to a page).
UNLIMITED_FROM = 2**60


@dataclass(frozen=True, repr=False)
class MemoryLimit(TextView):
    mb: float
    source: str  # "cgroup limit", "total RAM" or "given"

    def __str__(self) -> str:
        return f"{self.mb:,.0f} MiB {self.source}"


def _cgroup_limit_bytes(root: Path) -> int | None:
    """The first limit set in cgroup v2 (``memory.max``) or v1 (``memory.limit_in_bytes``)."""
    for path in (root / "memory.max", root / "memory" / "memory.limit_in_bytes"):
        try:
            text = path.read_text().strip()
        except OSError:
            continue
        if text == "max" or not text.isdigit():
            return None
        value = int(text)
        return value if 0 < value < UNLIMITED_FROM else None
    return None


def memory_limit(given_mb: float | None = None, *, root: Path = CGROUP_ROOT) -> MemoryLimit:
    """``given_mb`` when set; else the cgroup limit when one is set (and below the RAM);
    else total RAM (psutil)."""
    if given_mb is not None:
        if not given_mb > 0:
            raise ReportError(f"memory_limit_mb must be > 0, got {given_mb!r}")
        return MemoryLimit(float(given_mb), "given")
    total = psutil.virtual_memory().total
    limit = _cgroup_limit_bytes(root)
    if limit is not None and limit < total:
        return MemoryLimit(limit / 2**20, "cgroup limit")
    return MemoryLimit(total / 2**20, "total RAM")
