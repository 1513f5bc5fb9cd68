"""Database helpers: connections with simulated latency, statement logs, plans, a pool, retries.

>>> async with connect(path, latency_ms=1) as db:
...     with statement_log(db) as log:
...         await db.execute_fetchall("SELECT * FROM users WHERE id = ?", (1,))
...     log.count
1
"""

from __future__ import annotations

from labkit.db.connection import LabConnection, SyncLabConnection, connect, sync_connect
from labkit.db.plans import Plan, explain
from labkit.db.pool import Pool
from labkit.db.query_cost import (
    StepCounter,
    TransactionCount,
    count_transactions,
    query_timeout,
    vm_steps,
)
from labkit.db.recorder import Statement
from labkit.db.sql_text import LimitClause, is_write, limit_clause, limit_clauses, statement_kind
from labkit.db.statements import (
    SlowStatementLog,
    StatementLog,
    normalise_sql,
    slow_statement_log,
    statement_log,
)
from labkit.db.transactions import DatabaseBusy, retry_locked, write_transaction

__all__ = [
    "DatabaseBusy",
    "LabConnection",
    "LimitClause",
    "Plan",
    "Pool",
    "SlowStatementLog",
    "Statement",
    "StatementLog",
    "StepCounter",
    "SyncLabConnection",
    "TransactionCount",
    "connect",
    "count_transactions",
    "explain",
    "is_write",
    "limit_clause",
    "limit_clauses",
    "normalise_sql",
    "query_timeout",
    "retry_locked",
    "slow_statement_log",
    "statement_kind",
    "statement_log",
    "sync_connect",
    "vm_steps",
    "write_transaction",
]
