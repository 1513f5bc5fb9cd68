"""Profiler wrappers behind one small result type: CPU, line-level and memory.

Each is a context manager (``with cpu_profile() as prof:``; ``async with`` for async code in the
running loop), a function wrapper (``value, result = cpu_profile.run(fn, *args)``; ``await
cpu_profile.arun(coro_fn)``) and a decorator; ``prof.result`` has ``to_frame()``, ``text`` and an
HTML view for notebooks.
"""

from __future__ import annotations

from labkit.profilers.base import ProfileResult
from labkit.profilers.cpu import CpuProfile, cpu_profile
from labkit.profilers.lines import LineProfile, line_profile
from labkit.profilers.memory import MemoryProfile, memory_profile

__all__ = [
    "CpuProfile",
    "LineProfile",
    "MemoryProfile",
    "ProfileResult",
    "cpu_profile",
    "line_profile",
    "memory_profile",
]
