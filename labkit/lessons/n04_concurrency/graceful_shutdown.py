"""Exercise 04.graceful_shutdown: stop accepting, finish what is in flight, cancel the rest.

What a worker does on ``SIGTERM`` (uvicorn's own shutdown, in miniature): the answer
``shutdown(listener, in_flight, grace_s)`` gets the worker's listener and the set of tasks
serving requests. The check counts, from its own records:

* requests accepted after the shutdown began (clients keep arriving meanwhile) — must be 0;
* in-flight requests that could finish within the grace period — all must complete, none may be
  cancelled (cancelling everything at once drops requests a client is waiting for);
* requests still running past the grace period — all must be cancelled, and none may still be
  running when ``shutdown`` returns.

Durations are seeded and far from the grace period (finishing ones take at most a quarter of it,
stuck ones take many times it), so a loaded machine does not change any count. The answer is
called twice, with different grace periods and requests.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

from labkit.grading import Grader, exercise, reference_answer


class Listener:
    """A worker's listening socket in miniature: ``close()`` stops it accepting."""

    def __init__(self) -> None:
        self.open = True
        self.accepted_after_close = 0
        self.refused = 0

    def close(self) -> None:
        self.open = False

    def offer(self, shutting_down: bool) -> bool:
        """A client connects: accepted while open (counted when the shutdown had begun)."""
        if not self.open:
            self.refused += 1
            return False
        if shutting_down:
            self.accepted_after_close += 1
        return True


@reference_answer
async def shutdown(listener: Listener, in_flight: set[asyncio.Task[Any]], grace_s: float) -> None:
    """Stop accepting, let in-flight requests finish for up to ``grace_s``, cancel the rest."""
    listener.close()
    if not in_flight:
        return
    _, stuck = await asyncio.wait(set(in_flight), timeout=grace_s)
    for task in stuck:
        task.cancel()
    await asyncio.gather(*stuck, return_exceptions=True)  # let each cancellation finish


class Requests:
    """The check's record of the requests a worker serves."""

    def __init__(self) -> None:
        self.completed: set[int] = set()
        self.cancelled: set[int] = set()
        self.tasks: dict[int, asyncio.Task[Any]] = {}

    async def serve(self, number: int, seconds: float) -> int:
        try:
            await asyncio.sleep(seconds)
        except asyncio.CancelledError:
            self.cancelled.add(number)
            raise
        self.completed.add(number)
        return number

    def start(self, number: int, seconds: float) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(self.serve(number, seconds))
        self.tasks[number] = task
        return task


async def clients_keep_coming(listener: Listener) -> None:
    """While the worker shuts down, a new client connects every 10 ms."""
    while True:
        await asyncio.sleep(0.01)
        listener.offer(shutting_down=True)


@exercise(
    "04.graceful_shutdown",
    title="Graceful shutdown: stop accepting, finish in-flight requests, cancel the stuck ones",
    answers=("shutdown",),
    hint="listener.close() first; then done, stuck = await asyncio.wait(in_flight, "
    "timeout=grace_s); cancel each stuck task and await them (asyncio.gather(..., "
    "return_exceptions=True)).",
    points=2,
    timeout=15.0,
)
async def grade_graceful_shutdown(g: Grader, shutdown: Any) -> None:
    rng = random.Random(f"{g.seed}:shutdown")
    for grace_s in (0.4, 0.25):
        listener, requests = Listener(), Requests()
        finishing = rng.randint(3, 6)
        stuck = rng.randint(1, 3)
        durations = [rng.uniform(0.02, grace_s / 4) for _ in range(finishing)]
        durations += [grace_s * rng.uniform(8, 12) for _ in range(stuck)]
        rng.shuffle(durations)
        in_flight = {requests.start(n, d) for n, d in enumerate(durations)}
        will_finish = {n for n, d in enumerate(durations) if d < grace_s}
        await asyncio.sleep(0.005)  # every request has started
        arrivals = asyncio.get_running_loop().create_task(clients_keep_coming(listener))
        try:
            await g.acall(shutdown, listener, in_flight, grace_s)
        finally:
            arrivals.cancel()
        still_running = sorted(n for n, task in requests.tasks.items() if not task.done())
        for task in requests.tasks.values():
            task.cancel()  # the check's own clean-up, after counting
        label = f"(grace {grace_s:g} s, {len(durations)} requests in flight)"
        g.measure(
            f"new connections accepted during the shutdown {label}",
            listener.accepted_after_close,
            target="0",
            ok=listener.accepted_after_close == 0,
            hint="Close the listener first (listener.close()), so no new request starts while "
            "you drain the old ones.",
        )
        completed = len(requests.completed & will_finish)
        g.measure(
            f"in-flight requests completed {label}",
            completed,
            target=f"{len(will_finish)} (every one that finishes within the grace period)",
            ok=completed == len(will_finish),
            hint="Wait for the in-flight requests before cancelling anything: "
            "asyncio.wait(in_flight, timeout=grace_s).",
        )
        stuck_cancelled = len(requests.cancelled - will_finish)
        g.measure(
            f"stuck requests cancelled after the grace period {label}",
            stuck_cancelled,
            target=f"{stuck}",
            ok=stuck_cancelled == stuck and not still_running,
            hint=(
                f"{len(still_running)} request(s) were still running when shutdown returned: "
                "cancel the ones left after the grace period and await them."
                if still_running
                else "Cancel the requests still running after the grace period."
            ),
        )
        if not all(m.ok for m in g.measurements):
            return
