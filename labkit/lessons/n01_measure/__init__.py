"""Notebook 01 — measure first: timing done right, request timing, profiling, memory, algorithms.

The notebook's exercises, in its order (``EXERCISES``):

- ``01.measure``        warm-up, repeats, median and MAD (scripted clock)
- ``01.server_timing``  request-timing middleware: Server-Timing header, slow-request log
- ``01.enrich_users``   users joined with their orders; operations must grow linearly
- ``01.top_k``          top-k products; comparisons per item counted
- ``01.memoize``        a memoising decorator with a key function; calls per key counted
- ``01.bounded_lru``    the leak fixed: retained entries and traced memory after N and 4N requests

Helpers: ``rows`` (the lesson's rows from a seeded dataset), ``clock`` (the scripted clock).
"""

from __future__ import annotations

from labkit.lessons.n01_measure import enrich, leak, memo, middleware, timing_rules, top_k

EXERCISES = (
    "01.measure",
    "01.server_timing",
    "01.enrich_users",
    "01.top_k",
    "01.memoize",
    "01.bounded_lru",
)

__all__ = ["EXERCISES", "enrich", "leak", "memo", "middleware", "timing_rules", "top_k"]
