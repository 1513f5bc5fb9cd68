"""Run a check on a worker thread with a deadline; stop (or abandon) code that does not finish.

The worker thread owns a private event loop, so a check works the same in a script and inside a
notebook whose own loop is already running. On expiry the worker gets an asynchronous exception
(``PyThreadState_SetAsyncExc``) and its running task is cancelled; code blocked in C (a long
``time.sleep``) cannot be interrupted that way, so after a grace period the daemon thread is
abandoned and the caller carries on.
"""

from __future__ import annotations

import contextlib
import ctypes
import io
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

OUTPUT_LIMIT = 4_000
"""Characters of the learner's printed output kept for the result card."""


class CheckTimeout(BaseException):
    """Raised inside the worker thread when the check's time is up.

    A ``BaseException`` so that a learner's ``except Exception:`` cannot swallow it.
    """


class ExcludedTime:
    """Time that does not count against a check's limit (building a dataset on first use).

    Used from the worker thread (``with excluded.pause(): ...``) and read by the waiting thread.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._total = 0.0
        self._since: float | None = None
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def pause(self) -> Iterator[None]:
        with self._lock:
            outer = self._since is not None
            if not outer:
                self._since = self.clock()
        try:
            yield
        finally:
            if not outer:
                with self._lock:
                    assert self._since is not None
                    self._total += self.clock() - self._since
                    self._since = None

    def seconds(self) -> float:
        with self._lock:
            running = self.clock() - self._since if self._since is not None else 0.0
            return self._total + running


@dataclass
class RunOutcome:
    error: BaseException | None = None
    timed_out: bool = False
    abandoned: bool = False


def run_with_deadline(
    target: Callable[[], None],
    timeout: float,
    *,
    on_timeout: Callable[[], None] = lambda: None,
    grace: float = 1.0,
    name: str = "labkit-check",
    excluded: ExcludedTime | None = None,
) -> RunOutcome:
    """Run ``target()`` on a daemon thread; give up on it after ``timeout`` seconds of its
    time (time spent inside ``excluded.pause()`` does not count)."""
    outcome = RunOutcome()
    excluded = excluded or ExcludedTime()

    def work() -> None:
        try:
            target()
        except BaseException as exc:  # everything is reported to the caller, nothing escapes
            outcome.error = exc

    worker = threading.Thread(target=work, name=name, daemon=True)
    started = excluded.clock()
    worker.start()
    while worker.is_alive():
        used = excluded.clock() - started - excluded.seconds()
        if used >= timeout:
            break
        worker.join(timeout - used)
    if not worker.is_alive():
        return outcome
    outcome.timed_out = True
    with contextlib.suppress(Exception):
        on_timeout()
    attempts = 5
    for _ in range(attempts):
        if not worker.is_alive():
            break
        _raise_in_thread(worker, CheckTimeout)
        worker.join(grace / attempts)
    outcome.abandoned = worker.is_alive()
    return outcome


def _raise_in_thread(thread: threading.Thread, exc_type: type[BaseException]) -> None:
    ident = thread.ident
    if ident is None or not thread.is_alive():
        return
    done = ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(ident), ctypes.py_object(exc_type)
    )
    if done > 1:  # never expected: undo rather than hit other threads
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(ident), None)


class CappedOutput(io.TextIOBase):
    """A text stream that keeps the first ``limit`` characters and counts the rest."""

    def __init__(self, limit: int = OUTPUT_LIMIT) -> None:
        super().__init__()
        self.limit = limit
        self.total = 0
        self._kept: list[str] = []
        self._kept_chars = 0
        self._lock = threading.Lock()

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        text = str(text)
        with self._lock:
            self.total += len(text)
            room = self.limit - self._kept_chars
            if room > 0:
                piece = text[:room]
                self._kept.append(piece)
                self._kept_chars += len(piece)
        return len(text)

    def text(self) -> str:
        kept = "".join(self._kept)
        if self.total > self._kept_chars:
            kept += f"\n… {self.total - self._kept_chars:,} more characters not shown"
        return kept


@contextlib.contextmanager
def captured_output(limit: int = OUTPUT_LIMIT) -> Iterator[CappedOutput]:
    """Send stdout and stderr to one capped buffer while a check runs (the caller is blocked)."""
    buffer = CappedOutput(limit)
    old_out, old_err = sys.stdout, sys.stderr
    sys.stdout = sys.stderr = buffer
    try:
        yield buffer
    finally:
        sys.stdout, sys.stderr = old_out, old_err
