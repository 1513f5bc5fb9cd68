"""Exercise 04.supervise: one pass of a supervisor that keeps ``want`` workers alive.

What uvicorn's (or gunicorn's) supervisor does between its checks, on fake workers: the answer
``supervise(workers, start, want)`` returns the workers to keep — each dead one replaced by a
new ``start()``, the live ones left alone (restarting a live worker drops the requests it is
serving), and exactly ``want`` of them. The check counts from its own records: workers started,
live workers stopped or dropped, dead ones kept. Crash patterns come from the attempt's seed
and the answer is called over several rounds, each round's result fed into the next.
"""

from __future__ import annotations

import itertools
import random
from typing import Any

from labkit.grading import Grader, exercise, reference_answer


class FakeWorker:
    """A worker process in miniature: ``alive()``, its ``pid``, and ``stop()``."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self._alive = True
        self.stopped_while_alive = False

    def alive(self) -> bool:
        return self._alive

    def crash(self) -> None:
        self._alive = False

    def stop(self) -> None:
        if self._alive:
            self.stopped_while_alive = True
        self._alive = False

    def __repr__(self) -> str:
        return f"FakeWorker(pid={self.pid}, {'alive' if self._alive else 'dead'})"


@reference_answer
def supervise(workers: list[Any], start: Any, want: int) -> list[Any]:
    """Keep the live workers, replace the dead ones, end with exactly ``want`` workers."""
    alive = [worker for worker in workers if worker.alive()]
    while len(alive) < want:
        alive.append(start())
    return alive


@exercise(
    "04.supervise",
    title="Restart crashed workers (and only those)",
    answers=("supervise",),
    hint="alive = [w for w in workers if w.alive()]; start new ones until len(alive) == want; "
    "never stop or replace a live worker.",
    points=1,
    timeout=10.0,
)
def grade_supervise(g: Grader, supervise: Any) -> None:
    rng = random.Random(f"{g.seed}:supervise")
    pids = itertools.count(rng.randrange(1000, 30_000))
    started: list[FakeWorker] = []

    def start() -> FakeWorker:
        worker = FakeWorker(next(pids))
        started.append(worker)
        return worker

    want = rng.choice((2, 3, 4))
    workers: list[Any] = [start() for _ in range(want)]
    initial = len(started)
    crashes = restarts_expected = 0
    # rounds: nothing crashed; one crash; several at once; all of them; a scale-up
    plans = [0, 1, rng.randint(2, want), want, 0]
    for round_, crashing in enumerate(plans):
        if round_ == len(plans) - 1:
            want += 1  # the last round asks for one more worker
            restarts_expected += 1
        for worker in rng.sample(list(workers), crashing):
            worker.crash()
        crashes += crashing
        restarts_expected += crashing
        before = list(workers)
        got = g.call(supervise, list(workers), start, want)
        g.expect(
            isinstance(got, list),
            f"supervise() should return the list of workers, got {got!r}",
        )
        workers = got
        dead_kept = [w for w in workers if not w.alive()]
        g.expect(
            not dead_kept,
            f"round {round_ + 1}: {len(dead_kept)} dead worker(s) kept: {dead_kept}",
            hint="Check each worker with worker.alive() and replace the dead ones.",
        )
        dropped = [w for w in before if w.alive() and w not in workers]
        stopped = [w for w in started if w.stopped_while_alive]
        g.expect(
            not dropped and not stopped,
            f"round {round_ + 1}: live worker(s) {[w.pid for w in dropped or stopped]} were "
            "stopped or dropped — the requests they were serving are lost",
            hint="Restart only the dead: keep every live worker as it is.",
        )
        g.expect(
            len(workers) == want and len({id(w) for w in workers}) == want,
            f"round {round_ + 1}: {len(workers)} workers after supervising; want {want}",
        )
    restarts = len(started) - initial
    g.measure(
        "workers started to replace crashed ones (and one scale-up)",
        restarts,
        target=f"{restarts_expected} (one per crash: {crashes}, plus 1)",
        ok=restarts == restarts_expected,
        hint="Start exactly one new worker per dead one (and to reach `want`).",
    )
