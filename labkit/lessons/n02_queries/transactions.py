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

from labkit.grading import exercise, reference_answer
from labkit.lessons.n02_queries.fixtures import read_rows

if TYPE_CHECKING:
    from labkit.grading import Grader


# marked under @asynccontextmanager, on the function labkit wrote (either order is recognised)
@asynccontextmanager
@reference_answer
async def transaction_reference(db: Any) -> AsyncIterator[Any]:
    """Commit if the block finishes, roll back and re-raise if it fails."""
    try:
        yield db
    except BaseException:
        await db.rollback()
        raise
    else:
        await db.commit()


SHAPE_HINT = (
    "@asynccontextmanager: `try: yield db`; `except BaseException: await db.rollback()` and "
    "`raise`; `else: await db.commit()`."
)


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
    # Shown on any "not yet", the untouched stub included: the code itself is in the hints of
    # the failures below, after an attempt.
    hint=(
        "Three outcomes of the block to handle: it finishes (keep its writes), it raises (undo "
        "them), and in that case the caller must still see the exception."
    ),
    points=1,
    timeout=10.0,
)
async def grade_transaction(g: Grader, transaction: Any) -> None:
    from labkit.db import connect

    path = g.dataset("tiny")
    first, second, third = 1 + g.seed % 5, 7 + g.seed % 5, 13 + g.seed % 5

    def name_of(user_id: int) -> str:
        return str(read_rows(path, "SELECT name FROM users WHERE id = ?", (user_id,))[0][0])

    original = name_of(second)
    async with connect(path) as db:
        cm = await g.acall(transaction, db)
        shape = _not_a_context_manager(cm)
        g.expect(shape is None, shape or "")
        ok_block = await _run_block(cm, db, first, "Committed Name", fail=False)
        g.expect(ok_block is None, f"a block that succeeds: {ok_block}", hint=SHAPE_HINT)
        g.expect(
            name_of(first) == "Committed Name",
            "after a block that succeeded, another connection still sees the old data: "
            "commit when the block finishes",
            hint="After `yield db` returns normally: `await db.commit()`.",
        )
        cm = await g.acall(transaction, db)
        failing_block = await _run_block(cm, db, second, "Half Written", fail=True)
        still_open = bool(db.in_transaction)
        g.expect(failing_block is None, f"a block that raises: {failing_block}", hint=SHAPE_HINT)
        after_fail = name_of(second)
        g.expect(
            after_fail == original,
            f"after a block that raised, the half-done write was kept (name {after_fail!r}, "
            f"expected {original!r}): roll back on an exception",
            hint=SHAPE_HINT,
        )
        g.expect(
            not still_open,
            "after a block that raised, the connection is still inside a transaction: roll it back",
            hint=SHAPE_HINT,
        )
        # The next request brings another connection (the first one still open): the helper
        # must commit the one it is given.
        async with connect(path) as other:
            cm = await g.acall(transaction, other)
            next_block = await _run_block(cm, other, third, "Next Request", fail=False)
            g.expect(
                next_block is None,
                f"the next block, on another connection: {next_block}",
                hint=SHAPE_HINT,
            )
            g.expect(
                name_of(third) == "Next Request",
                "a block on a second connection was not committed: commit the `db` passed to "
                "transaction(db), not one kept from an earlier call",
            )
    g.note("commit on success, rollback and re-raise on failure, connection clean afterwards")
