"""Notebook 00 — start here: the environment, the dataset, one request's latency budget, and
the first two checks. Importing the package registers, in the notebook's order:

- ``00.top_authors``    the most prolific authors, right, in ≤ 2 SQL statements (statement log)
- ``00.server_timing``  a ``Server-Timing`` header read into ``{phase: ms}`` (seeded headers)

``budget`` holds the request-lifecycle budget (measured phases of one request vs targets).
"""

from __future__ import annotations

import importlib

# Imported one by one, in notebook order: check_all("00") lists exercises in registration order.
_EXERCISE_MODULES = ("top_authors", "server_timing")

for _name in _EXERCISE_MODULES:
    importlib.import_module(f"{__name__}.{_name}")
