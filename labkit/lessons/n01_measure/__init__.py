"""Notebook 01 — measure first: timing done right, request timing, profiling, memory, algorithms.

Importing this package registers the notebook's exercises:

- ``01.measure``        warm-up, repeats, median and MAD (scripted clock)
- ``01.server_timing``  request-timing middleware: Server-Timing header, slow-request log
- ``01.enrich_users``   users joined with their orders; operations must grow linearly
- ``01.top_k``          top-k products; comparisons per item counted
- ``01.memoize``        a memoising decorator with a key function; calls per key counted
- ``01.bounded_lru``    the leak fixed: retained entries and traced memory after N and 4N requests
"""

# The first import of each exercise module registers its exercises: this order is the
# notebook's, and check_all("01") lists them in it. Hence no sorting here.
from __future__ import annotations  # noqa: I001

from labkit.lessons.n01_measure import timing_rules, middleware, enrich, top_k, memo, leak

__all__ = ["enrich", "leak", "memo", "middleware", "timing_rules", "top_k"]
