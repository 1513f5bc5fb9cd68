"""Notebook 03 — Caching: memoisation, bounded TTL/LRU caches, cache-aside, invalidation,
two layers, single flight and warming.

Importing the package registers the exercises (``03.bounded_cache`` ... ``03.warming``).
"""

from __future__ import annotations

from labkit.lessons.n03_caching import checks_aside, checks_layers
from labkit.lessons.n03_caching.workload import (
    CountingLoader,
    FakeClock,
    HitCounter,
    MemoryL2,
    fetch_product,
    product_key,
    products_by_popularity,
    zipf_trace,
)

__all__ = [
    "CountingLoader",
    "FakeClock",
    "HitCounter",
    "MemoryL2",
    "checks_aside",
    "checks_layers",
    "fetch_product",
    "product_key",
    "products_by_popularity",
    "zipf_trace",
]
