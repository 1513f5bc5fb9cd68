"""Run a learner's async generator to the end, noting how far the database had been read
when each item arrived (a generator that reads everything before its first ``yield`` is not
streaming, whatever it yields)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

import aiosqlite

from labkit.errors import InstrumentBlinded
from labkit.grading import Grader
from labkit.lessons.n05_streaming import leftovers
from labkit.lessons.n05_streaming.tables import FetchCounter, count_fetches

MIN_SHARE_BEFORE_END: Final = 0.5  # streamed batch by batch, this is (batches - 1) / batches


@dataclass
class Yielded:
    """What the generator yielded, and the rows fetched from the database before each item."""

    items: list[Any] = field(default_factory=list)
    fetched_before: list[int] = field(default_factory=list)

    def share_before_end(self, sizes: list[int], table_rows: int) -> float:
        """Share of the output (``sizes`` per item) yielded before the table's last rows were
        read: near 1 when each batch goes out as it is read, 0 when everything waits for the end
        (even after a first chunk sent early)."""
        total = sum(sizes)
        early = sum(n for n, f in zip(sizes, self.fetched_before, strict=True) if f < table_rows)
        return early / total if total else 1.0


async def drain(
    g: Grader, fn: Any, name: str, *args: Any, rows_fetched: Callable[[], int] = lambda: 0
) -> Yielded:
    """Call the learner's async generator function and collect what it yields.

    Iterating runs the learner's code, so it goes through ``g.acall`` too: an exception in
    their generator is reported as theirs.
    """
    produced = await g.acall(fn, *args)
    g.expect(
        not isinstance(produced, list | tuple),
        f"{name} returned a whole {type(produced).__name__}: everything was in memory at once",
        hint="Make it an async generator: `yield` each batch as soon as you have it.",
    )
    g.expect(
        hasattr(produced, "__aiter__"),
        f"{name} should be an async generator (an `async def` with `yield`), but calling it "
        f"returned {type(produced).__name__}",
        hint="Write `async def ...:` and `yield` each batch instead of returning a list.",
    )
    out = Yielded()

    async def collect() -> None:
        async for item in produced:
            out.items.append(item)
            out.fetched_before.append(rows_fetched())

    collect.__name__ = name
    await g.acall(collect)
    return out


async def drain_counted(
    g: Grader, answer: Any, name: str, db: aiosqlite.Connection, *args: Any
) -> tuple[Yielded, FetchCounter]:
    """Drain the answer with a fresh fetch counter; refuse tampering and leftover work."""
    before = leftovers.snapshot()
    with count_fetches(db) as fetches:
        got = await drain(g, answer, name, db, *args, rows_fetched=lambda: fetches.rows)
        if not fetches.still_counting(db):
            raise InstrumentBlinded(
                "the connection's operations no longer go through the check's counter: your "
                "answer replaced db._execute. Use the connection as it is given."
            )
    running = await leftovers.left_running(before)
    g.expect(not running, f"{name} left work running after its last batch: {running[0]}"
             if running else "", hint="Await everything inside the generator.")  # fmt: skip
    return got, fetches
