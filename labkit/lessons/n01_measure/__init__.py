"""Notebook 01 — measure first: timing done right, request timing, profiling, memory, algorithms.

Importing this package registers the notebook's exercises (ids ``01.*``); the notebook imports
the demo helpers it shows from the submodules.
"""

from __future__ import annotations

from labkit.lessons.n01_measure import middleware, timing_rules

__all__ = ["middleware", "timing_rules"]
