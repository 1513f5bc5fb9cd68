"""Notebook 02 — query tuning: N+1, field selection, indexes, pagination, batching, transactions.

Each module holds one technique: its reference implementations (used by the checks and the
notebook's demonstrations) and its graded exercise. Importing the package registers, in the
notebook's order:

- ``02.n_plus_one``     users with their posts in ≤ 2 statements (statement log)
- ``02.select_fields``  whitelisted field selection, no user text in SQL (statement log, probes)
- ``02.index``          an index that turns a SCAN into a SEARCH (query plan)
- ``02.feed_index``     composite/partial index: no scan, no sort (query plan, VM steps)
- ``02.keyset_page``    keyset pagination: flat cost with depth (VM steps), has_more, cap
- ``02.batch_insert``   many rows, one transaction (transactions in the statement log)
- ``02.transaction``    commit-or-rollback helper (data seen by another connection)
"""

from __future__ import annotations

import importlib

# Imported one by one, in notebook order: check_all("02") lists exercises in registration order.
_EXERCISE_MODULES = ("n_plus_one", "fields", "indexes", "pagination", "writes", "transactions")

for _name in _EXERCISE_MODULES:
    importlib.import_module(f"{__name__}.{_name}")
