"""Notebook 00 — start here: the environment, the dataset, one request's latency budget, and
the first two checks, in the notebook's order:

- ``00.top_authors``    the most prolific authors, right, in ≤ 2 SQL statements (statement log)
- ``00.server_timing``  a ``Server-Timing`` header read into ``{phase: ms}`` (seeded headers)
- ``00.latency_budget`` the server's budget phases (I/O, handler, serialisation, middleware)
  from those phases (seeded phase sets, missing phases, totals a hair short)

``budget`` holds the request-lifecycle budget (measured phases of one request vs targets);
``tour`` the dry-run card and the progress folder the notebook shows.
"""

from __future__ import annotations

from labkit.lessons.n00_start import latency_budget, server_timing, top_authors
from labkit.lessons.n00_start.budget import (
    lifecycle_budget,
    measure_middleware_ms,
    median_request_timing,
    statement_cost,
)
from labkit.lessons.n00_start.top_authors import posts_per_author
from labkit.lessons.n00_start.tour import preview_check, progress_place

EXERCISES = ("00.top_authors", "00.server_timing", "00.latency_budget")

# The exercise modules, and what the notebook uses.
__all__ = [
    "EXERCISES",
    "latency_budget",
    "lifecycle_budget",
    "measure_middleware_ms",
    "median_request_timing",
    "posts_per_author",
    "preview_check",
    "progress_place",
    "server_timing",
    "statement_cost",
    "top_authors",
]
