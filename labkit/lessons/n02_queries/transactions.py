"""A transaction helper: commit when the block succeeds, roll back when it raises.

``async with transaction(db): ...`` keeps related writes all-or-nothing (a transfer debits
and credits, or does neither) and never leaves a connection stuck inside a half-finished
transaction that would hold locks and leak into the next request.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from labkit.grading import exercise
from labkit.lessons.n02_queries._scenario import read_rows

if TYPE_CHECKING:
    from labkit.grading import Grader


@asynccontextmanager
async def transaction_reference(db: Any) -> AsyncIterator[Any]:
    """Commit if the block finishes, roll back and re-raise if it fails."""
    try:
        yield db
    except BaseException:
        await db.rollback()
        raise
    else:
        await db.commit()


class BlockFailed(Exception):
    """Raised inside the grader's failing block; it must come out of the helper unchanged."""


def _not_a_context_manager(cm: Any) -> str | None:
    gen = getattr(cm, "gen", None)
    if inspect.iscoroutine(gen):  # an @asynccontextmanager body without `yield` (the stub)
        gen.close()
        return (
            "transaction is not written yet: its body has no `yield` "
            "(an @asynccontextmanager needs exactly one)"
        )
    if not (hasattr(cm, "__aenter__") and hasattr(cm, "__aexit__")):
        return (
            f"transaction(db) returned {type(cm).__name__}, not an async context manager "
            "(decorate it with @asynccontextmanager)"
        )
    return None


async def _run_block(cm: Any, db: Any, user_id: int, name: str, fail: bool) -> str | None:
    """Rename one user inside the learner's helper; return what went wrong, if anything."""
    try:
        async with cm:
            await db.execute("UPDATE users SET name = ? WHERE id = ?", (name, user_id))
            if fail:
                raise BlockFailed("the grader's block failed on purpose")
    except BlockFailed:
        return None if fail else "BlockFailed escaped a block that did not fail"
    except Exception as exc:
        return f"the helper raised {type(exc).__name__}: {exc}"
    return "the exception raised inside the block was swallowed; re-raise it" if fail else None


@exercise(
    "02.transaction",
    title="A transaction helper that commits or rolls back",
    answers=("transaction",),
    hint=(
        "@asynccontextmanager: `try: yield db`, on any exception `await db.rollback()` and "
        "re-raise, otherwise `await db.commit()`."
    ),
    points=1,
    timeout=10.0,
)
def grade_transaction(g: Grader, transaction: Any) -> None:
    from labkit.db import connect

    path = g.dataset("tiny")
    first, second, third = 1 + g.seed % 5, 7 + g.seed % 5, 13 + g.seed % 5

    def name_of(user_id: int) -> str:
        return str(read_rows(path, "SELECT name FROM users WHERE id = ?", (user_id,))[0][0])

    original = name_of(second)

    async def scenario() -> dict[str, Any]:
        out: dict[str, Any] = {}
        async with connect(path) as db:
            cm = await g.acall(transaction, db)
            out["shape"] = _not_a_context_manager(cm)
            if out["shape"]:
                return out
            out["ok_block"] = await _run_block(cm, db, first, "Committed Name", fail=False)
            out["after_ok"] = name_of(first)
            cm = await g.acall(transaction, db)
            out["failing_block"] = await _run_block(cm, db, second, "Half Written", fail=True)
            out["in_transaction"] = bool(db.in_transaction)
            out["after_fail"] = name_of(second)
            cm = await g.acall(transaction, db)
            out["next_block"] = await _run_block(cm, db, third, "Next Request", fail=False)
            out["after_next"] = name_of(third)
        return out

    out = g.run(scenario())
    g.expect(out["shape"] is None, out["shape"] or "")
    g.expect(out["ok_block"] is None, f"a block that succeeds: {out['ok_block']}")
    g.expect(
        out["after_ok"] == "Committed Name",
        "after a block that succeeded, another connection still sees the old data: "
        "commit when the block finishes",
    )
    g.expect(out["failing_block"] is None, f"a block that raises: {out['failing_block']}")
    g.expect(
        out["after_fail"] == original,
        f"after a block that raised, the half-done write was kept (name {out['after_fail']!r}, "
        f"expected {original!r}): roll back on an exception",
    )
    g.expect(
        not out["in_transaction"],
        "after a block that raised, the connection is still inside a transaction: roll it back",
    )
    g.expect(out["next_block"] is None, f"the next block: {out['next_block']}")
    g.expect(
        out["after_next"] == "Next Request",
        "after a failed block, the next successful block was not committed",
    )
    g.note("commit on success, rollback and re-raise on failure, connection clean afterwards")
