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
from labkit.lessons.n02_queries.fields import PUBLIC_USER_FIELDS
from labkit.lessons.n02_queries.indexes import (
    AUTHOR_FEED,
    COMMENTS_OF_POST,
    plan_lines,
    query_steps,
)
from labkit.lessons.n02_queries.n_plus_one import (
    users_with_posts_batched,
    users_with_posts_join,
    users_with_posts_n_plus_one,
)
from labkit.lessons.n02_queries.pagination import page_cost_by_depth
from labkit.lessons.n02_queries.partial_index import DRAFT_QUEUE
from labkit.lessons.n02_queries.query_budget import COUNT_TO, POSTS_BY_AUTHOR
from labkit.lessons.n02_queries.writes import (
    INSERT_COMMENT,
    insert_comments_per_row,
    new_comment_rows,
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

# The exercise modules, and what the notebook uses.
__all__ = [
    "AUTHOR_FEED",
    "COMMENTS_OF_POST",
    "COUNT_TO",
    "DRAFT_QUEUE",
    "EXERCISES",
    "INSERT_COMMENT",
    "POSTS_BY_AUTHOR",
    "PUBLIC_USER_FIELDS",
    "fields",
    "indexes",
    "insert_comments_per_row",
    "latest_posts",
    "n_plus_one",
    "new_comment_rows",
    "page_cost_by_depth",
    "pagination",
    "partial_index",
    "plan_lines",
    "pooling",
    "query_budget",
    "query_steps",
    "slow_log",
    "statement_budget",
    "transactions",
    "users_with_posts_batched",
    "users_with_posts_join",
    "users_with_posts_n_plus_one",
    "writes",
]
