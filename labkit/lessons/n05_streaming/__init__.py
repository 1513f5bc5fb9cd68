"""Notebook 05 — Streaming and payloads: flat-memory reads, keyset batches, streamed exports,
compression, fast typed serialisation and middleware a health check does not pay for.

Importing the package registers the exercises (``05.stream_rows`` ... ``05.selective_middleware``).
"""

# The first import of each exercise module registers its exercises: this order is the
# notebook's, and check_all("05") lists them in it. Hence no sorting here.
from __future__ import annotations  # noqa: I001

from labkit.lessons.n05_streaming import checks_streams, checks_payloads
from labkit.lessons.n05_streaming.middleware_kit import (
    HEALTH_PATHS,
    MIDDLEWARES,
    MiddlewareCounter,
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

__all__ = [
    "HEALTH_PATHS",
    "MIDDLEWARES",
    "USER_COLUMNS",
    "MiddlewareCounter",
    "RowDigest",
    "build_app",
    "checks_payloads",
    "checks_streams",
    "count_fetches",
    "make_users_db",
    "peak_bytes",
    "replay_script",
    "request_script",
]
