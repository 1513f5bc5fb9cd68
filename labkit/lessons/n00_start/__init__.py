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

EXERCISES = ("00.top_authors", "00.server_timing", "00.latency_budget")

__all__ = ["EXERCISES", "latency_budget", "server_timing", "top_authors"]
