"""A slow-query log: which statement shapes cross a time budget, how often, for how long.

Databases and ORMs can log every statement slower than a threshold (PostgreSQL's
``log_min_duration_statement``, MySQL's slow query log); a digest then groups them by shape —
literals replaced by ``?`` — so one bad query with a thousand different ids shows as one line.
The check grades the digest on statements whose durations it fixes (seeded, with ties, an
execution exactly at the threshold and untimed ones), so no clock decides the verdict, and
reads the log records the answer writes: a slow query is a WARNING, not INFO.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from labkit.db import Statement, normalise_sql
from labkit.grading import exercise, reference_answer
from labkit.lessons.n02_queries.fixtures import rng_for

if TYPE_CHECKING:
    from labkit.grading import Grader

SlowShape = dict[str, Any]


@reference_answer
def slow_queries_reference(
    statements: Sequence[Statement], threshold_ms: float, logger: logging.Logger
) -> list[SlowShape]:
    """Shapes with executions taking ≥ ``threshold_ms``: count and total of those executions."""
    digest: dict[str, SlowShape] = {}
    for statement in statements:
        ms = statement.duration_ms
        if math.isnan(ms) or ms < threshold_ms:
            continue
        shape = normalise_sql(statement.sql)
        entry = digest.setdefault(shape, {"shape": shape, "count": 0, "total_ms": 0.0})
        entry["count"] += 1
        entry["total_ms"] += ms
    ordered = sorted(digest.values(), key=lambda e: (-e["total_ms"], e["shape"]))
    for entry in ordered:
        logger.warning(
            "slow query: %s (%d × ≥ %g ms, %.1f ms in all)",
            entry["shape"],
            entry["count"],
            threshold_ms,
            entry["total_ms"],
        )
    return ordered


_TEMPLATES = (
    "SELECT id, title FROM posts WHERE author_id = {n}",
    "SELECT * FROM comments WHERE post_id = {n} ORDER BY created_at",
    "SELECT id, name FROM users WHERE id IN ({n}, {m}, {k})",
    "UPDATE users SET name = 'user {n}' WHERE id = {m}",
    "SELECT count(*) FROM orders WHERE user_id = {n} AND status = 'paid'",
    "SELECT id FROM products WHERE category_id = {n} LIMIT {m}",
)


def statements_for(seed: int, threshold_ms: float, salt: str) -> list[Statement]:
    """A seeded statement log: fast and slow executions of six shapes, with edge cases."""
    rng = rng_for(seed, f"slow_log:{salt}")
    out: list[Statement] = []
    for _ in range(60):
        template = rng.choice(_TEMPLATES)
        sql = template.format(n=rng.randint(1, 999), m=rng.randint(1, 99), k=rng.randint(1, 9))
        slow = rng.random() < 0.3
        ms = threshold_ms * (rng.uniform(1.05, 4.0) if slow else rng.uniform(0.05, 0.9))
        out.append(Statement(sql, (), round(ms, 3) / 1000.0))
    # an execution exactly at the threshold counts as slow; untimed statements never do
    out.append(Statement(_TEMPLATES[5].format(n=7, m=20), (), threshold_ms / 1000.0))
    out.append(Statement(_TEMPLATES[1].format(n=3), (), math.nan))
    # two shapes that are not otherwise slow, tied on their total: ordered by shape
    out.append(Statement("SELECT id FROM categories WHERE name = 'x'", (), 2 * threshold_ms / 1000))
    out.append(Statement("SELECT id FROM orders WHERE status = 'x'", (), 2 * threshold_ms / 1000))
    rng.shuffle(out)
    return out


class Records(logging.Handler):
    """Keeps every record a logger emits, for the check to read."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def fresh_logger(name: str) -> tuple[logging.Logger, Records]:
    logger = logging.getLogger(f"labkit.check.slow_log.{name}")
    logger.handlers.clear()
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    records = Records()
    logger.addHandler(records)
    return logger, records


def _rounded(entries: Any) -> Any:
    if not isinstance(entries, list):
        return entries
    out = []
    for entry in entries:
        if isinstance(entry, dict) and isinstance(entry.get("total_ms"), int | float):
            entry = {**entry, "total_ms": round(float(entry["total_ms"]), 3)}
        out.append(entry)
    return out


@exercise(
    "02.slow_query_log",
    title="A slow-query log, digested by shape",
    answers=("slow_queries",),
    hint=(
        "Skip untimed statements (NaN) and those under the threshold (≥ counts as slow), group "
        "the rest by normalise_sql(sql), sort by total ms (descending, then by shape), and "
        "log each shape with logger.warning(...)."
    ),
    points=2,
    timeout=10.0,
)
async def grade_slow_query_log(g: Grader, slow_queries: Any) -> None:
    # Two logs with different thresholds, each with its own logger: nothing carries over.
    for n, threshold in enumerate((50.0 + g.seed % 40, 5.0 + g.seed % 7), 1):
        statements = statements_for(g.seed, threshold, str(n))
        quiet, _ = fresh_logger(f"expected{n}")
        expected = slow_queries_reference(statements, threshold, quiet)
        logger, records = fresh_logger(f"answer{n}")
        got = await g.acall(slow_queries, list(statements), threshold, logger)
        g.expect_equal(
            _rounded(got),
            _rounded(expected),
            what=f"slow shapes for a threshold of {threshold:g} ms",
            hint="One entry per shape (normalise_sql) with the count and total ms of its "
            "executions at or over the threshold; untimed (NaN) statements are never slow.",
        )
        warned = {
            entry["shape"]
            for entry in expected
            for r in records.records
            if r.levelno >= logging.WARNING and entry["shape"] in r.getMessage()
        }
        below = sum(1 for r in records.records if r.levelno < logging.WARNING)
        g.measure(
            f"slow shapes logged as WARNING (threshold {threshold:g} ms)",
            len(warned),
            target=f"{len(expected)} (every slow shape, none below WARNING)",
            ok=len(warned) == len(expected) and below == 0,
            hint="A slow query is something to act on: log each slow shape with "
            "logger.warning(...) and its shape in the message (INFO is filtered out in "
            "production).",
        )
