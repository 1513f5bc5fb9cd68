"""Notebook 05 — Streaming and payloads: flat-memory reads, keyset batches, streamed exports,
compression, fast typed serialisation and middleware a health check does not pay for.

Exercises, in the notebook's order (one module each):

- ``05.stream_rows``           ``stream_rows``: peak memory N vs 4N (verified tracemalloc),
                               rows fetched, trips per batch, nothing left running
- ``05.keyset_batches``        ``keyset``: batches, rows read before the first batch, the SQL
                               text sent (no offset), VM steps flat with depth
- ``05.export_stream``         ``export``: JSON/NDJSON/CSV documents, chunks yielded as produced
- ``05.compress_response``     ``compression``: threshold, opt-out, brotli first, decoded payloads
- ``05.schema_encoder``        ``schema_encoder``: public fields and types, no stdlib json on any
                               thread, validation
- ``05.selective_middleware``  ``selective_middleware``: middleware runs per path

Helpers: ``tables`` (exact users tables, a row digest, a fetch counter, peak memory),
``memory_watch``, ``statement_cost``, ``collect``, ``leftovers``, ``middleware_kit`` (the
counting app), ``figures`` (what the notebook plots).
"""

from __future__ import annotations

import importlib

from labkit.lessons.n05_streaming.figures import (
    compression_levels,
    memory_by_rows,
    plot_compression,
    plot_memory,
    plot_serialisers,
)
from labkit.lessons.n05_streaming.gzip_probe import probe_gzip_streaming
from labkit.lessons.n05_streaming.middleware_kit import (
    HEALTH_PATHS,
    MIDDLEWARES,
    MiddlewareCounter,
    asgi_get,
    build_app,
    replay_script,
    request_script,
)
from labkit.lessons.n05_streaming.tables import (
    USER_COLUMNS,
    RowDigest,
    count_fetches,
    make_users_db,
    peak_bytes,
)

EXERCISES = (
    "05.stream_rows",
    "05.keyset_batches",
    "05.export_stream",
    "05.compress_response",
    "05.schema_encoder",
    "05.selective_middleware",
)
_EXERCISE_MODULES = (
    "stream_rows",
    "keyset",
    "export",
    "compression",
    "schema_encoder",
    "selective_middleware",
)

for _name in _EXERCISE_MODULES:
    importlib.import_module(f"{__name__}.{_name}")

# What the notebook uses (the exercise modules are imported above, for their checks).
__all__ = [
    "EXERCISES",
    "HEALTH_PATHS",
    "MIDDLEWARES",
    "USER_COLUMNS",
    "MiddlewareCounter",
    "RowDigest",
    "asgi_get",
    "build_app",
    "compression_levels",
    "count_fetches",
    "make_users_db",
    "memory_by_rows",
    "peak_bytes",
    "plot_compression",
    "plot_memory",
    "plot_serialisers",
    "probe_gzip_streaming",
    "replay_script",
    "request_script",
]
