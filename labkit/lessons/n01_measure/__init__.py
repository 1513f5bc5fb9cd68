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
from labkit.lessons.n01_measure.enrich import counted_copy, enrich_users_slow
from labkit.lessons.n01_measure.leak import (
    ProfileLoader,
    ProfileService,
    RssWatch,
    UnboundedCache,
    growth_report,
    process_rss_bytes,
)
from labkit.lessons.n01_measure.memo import CountedQuote, call_script, product_key
from labkit.lessons.n01_measure.middleware import fetch_all, phase_demo_app, slow_log
from labkit.lessons.n01_measure.rows import load_rows
from labkit.lessons.n01_measure.top_k import (
    synthetic_products,
    top_products_resorted_buffer,
    top_products_sorted,
)

EXERCISES = (
    "01.measure",
    "01.server_timing",
    "01.enrich_users",
    "01.top_k",
    "01.memoize",
    "01.bounded_lru",
)

# The exercise modules, and what the notebook uses.
__all__ = [
    "EXERCISES",
    "CountedQuote",
    "ProfileLoader",
    "ProfileService",
    "RssWatch",
    "UnboundedCache",
    "call_script",
    "counted_copy",
    "enrich",
    "enrich_users_slow",
    "fetch_all",
    "growth_report",
    "leak",
    "load_rows",
    "memo",
    "middleware",
    "phase_demo_app",
    "process_rss_bytes",
    "product_key",
    "slow_log",
    "synthetic_products",
    "timing_rules",
    "top_k",
    "top_products_resorted_buffer",
    "top_products_sorted",
]
