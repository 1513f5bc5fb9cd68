"""Work an answer leaves running after it returns: threads still busy, tasks still pending.

A check measures while the answer runs; work that goes on afterwards (a thread that keeps
sending rows, a task scheduled to run later) escapes the measurement, so it is a "not yet",
whatever the core grader does about it.
"""

from __future__ import annotations

import asyncio
import inspect
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Final

GRACE_S: Final = 0.5  # a thread that is just finishing gets this long to end
_IDLE_POOL_FILES: Final = ("concurrent/futures/thread.py", "concurrent\\futures\\thread.py")


@dataclass
class Snapshot:
    """Threads and tasks that existed before the answer ran (they are not its leftovers)."""

    threads: set[int] = field(default_factory=set)
    tasks: set[asyncio.Task[object]] = field(default_factory=set)


def snapshot() -> Snapshot:
    """What is running now (call it from the check's event loop, before the answer)."""
    return Snapshot(
        threads={t.ident for t in threading.enumerate() if t.ident is not None},
        tasks=set(asyncio.all_tasks()),
    )


def _idle_pool_worker(ident: int) -> bool:
    """A thread-pool worker waiting for its next job (``asyncio.to_thread`` keeps them): its
    innermost Python frame is the pool's own loop, blocked in the queue's C ``get``."""
    frame = sys._current_frames().get(ident)
    return frame is not None and frame.f_code.co_filename.endswith(_IDLE_POOL_FILES)


async def left_running(before: Snapshot) -> list[str]:
    """Threads and tasks started since ``before`` that are still working (tasks are cancelled)."""
    for _ in range(3):  # let tasks that end at once end (closing an abandoned generator)
        await asyncio.sleep(0)
    pending = [t for t in asyncio.all_tasks() - before.tasks if not t.done()]
    # an async generator left early is closed by a task asyncio itself starts: not work
    pending = [
        t for t in pending if t is not asyncio.current_task() and inspect.iscoroutine(t.get_coro())
    ]
    for task in pending:
        task.cancel()
    deadline = time.monotonic() + GRACE_S
    threads = [t for t in threading.enumerate() if t.ident not in before.threads]
    busy = []
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
        if thread.is_alive() and thread.ident is not None and not _idle_pool_worker(thread.ident):
            busy.append(f"thread {thread.name!r}")
    return [f"task {t.get_coro()!r}" for t in pending] + busy
