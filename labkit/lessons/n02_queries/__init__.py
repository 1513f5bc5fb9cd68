"""Notebook 02 — query tuning: N+1, field selection, indexes, pagination, batching, transactions.

One module per technique: its fixtures, its reference answer(s) marked ``@reference_answer``
and its grade function. The exercises, in the notebook's order:

- ``02.n_plus_one``     users with their posts in ≤ 2 statements (statement log, rows, lock-out)
- ``02.statement_budget_test`` a regression test asserting ≤ 2 statements (run on 7 loaders)
- ``02.latest_posts``   each user's k newest posts (statements, rows fetched, ties)
- ``02.select_fields``  whitelisted field selection, no user text in SQL (statement log, probes)
- ``02.index``          an index that turns a SCAN into a SEARCH (query plan)
- ``02.feed_index``     composite/partial index: no scan, no sort (query plan, VM steps)
- ``02.partial_index``  a partial index for the moderation queue (query plan, index entries)
- ``02.keyset_page``    keyset pagination: flat cost with depth (VM steps, SQL sent, rows fetched)
- ``02.batch_insert``   many rows, one transaction (SQLite's transaction state, total_changes)
- ``02.pool_release``   borrow a pooled connection only for the query (pool counters)
- ``02.fail_fast``      503 when no connection frees up within the acquire timeout (pool counters)
- ``02.query_timeout``  stop a statement past a VM-step budget (rows reached, handler removed)
- ``02.transaction``    commit-or-rollback helper (data seen by another connection)
- ``02.slow_query_log`` a slow-query digest by shape, logged as WARNING (fixed durations)

``fixtures`` holds what several checks share.
"""

from __future__ import annotations

from labkit.lessons.n02_queries import (
    fields,
    indexes,
    latest_posts,
    n_plus_one,
    pagination,
    partial_index,
    pooling,
    query_budget,
    slow_log,
    statement_budget,
    transactions,
    writes,
)

EXERCISES = (
    "02.n_plus_one",
    "02.statement_budget_test",
    "02.latest_posts",
    "02.select_fields",
    "02.index",
    "02.feed_index",
    "02.partial_index",
    "02.keyset_page",
    "02.batch_insert",
    "02.pool_release",
    "02.fail_fast",
    "02.query_timeout",
    "02.transaction",
    "02.slow_query_log",
)

__all__ = [
    "EXERCISES",
    "fields",
    "indexes",
    "latest_posts",
    "n_plus_one",
    "pagination",
    "partial_index",
    "pooling",
    "query_budget",
    "slow_log",
    "statement_budget",
    "transactions",
    "writes",
]
