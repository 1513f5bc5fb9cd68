"""Notebook 03 — caching: memoisation, bounded TTL/LRU caches, cache-aside, invalidation,
two layers, single flight and warming.

One module per exercise (its fixtures, its reference answer, its grade function), in the
notebook's order:

- ``03.bounded_cache``  a cache for a memory budget and a staleness bound (bytes held, stale
                        reads, hits on a fake clock)               — ``bounded``
- ``03.cache_aside``    cache-aside read with an honest hit/miss label (hits, loads, labels)
                                                                   — ``aside``
- ``03.invalidation``   write, commit, then invalidate (fresh connection, a reader between the
                        write and the invalidation, whole-row comparison) — ``invalidation``
- ``03.lease``          store only if not invalidated during the load: the slow-reader race
                        write-then-invalidate leaves open (stale entries, hits, loads) — ``lease``
- ``03.two_layer``      L1 in front of a shared L2, failing open (loads per worker) — ``layers``
- ``03.single_flight``  one load for concurrent callers of a key (loads, overlap)
                                                                   — ``single_flight``
- ``03.warming``        the top-n products in one query, ties by id (keys, rows, statements)
                                                                   — ``warming``

Shared helpers: ``workload`` (product reads, traces, counting doubles), ``replay`` (replaying
traces through a cache and counting), ``stores`` (the L2 over the lab API's shared store).
"""

from __future__ import annotations

from labkit.lessons.n03_caching import (
    aside,
    bounded,
    invalidation,
    layers,
    lease,
    single_flight,
    warming,
)
from labkit.lessons.n03_caching.lease import invalidate, slow_reader_race
from labkit.lessons.n03_caching.replay import blob_workload, replay_aside, replay_bytes
from labkit.lessons.n03_caching.stores import open_l2
from labkit.lessons.n03_caching.workload import (
    CountingLoader,
    HitCounter,
    MemoryL2,
    fetch_product,
    product_key,
    product_size,
    products_by_popularity,
    zipf_trace,
)

EXERCISES = (
    "03.bounded_cache",
    "03.cache_aside",
    "03.invalidation",
    "03.lease",
    "03.two_layer",
    "03.single_flight",
    "03.warming",
)

# The exercise modules, and what the notebook uses.
__all__ = [
    "EXERCISES",
    "CountingLoader",
    "HitCounter",
    "MemoryL2",
    "aside",
    "blob_workload",
    "bounded",
    "fetch_product",
    "invalidate",
    "invalidation",
    "layers",
    "lease",
    "open_l2",
    "product_key",
    "product_size",
    "products_by_popularity",
    "replay_aside",
    "replay_bytes",
    "single_flight",
    "slow_reader_race",
    "warming",
    "zipf_trace",
]
