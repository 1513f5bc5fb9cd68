"""Worker processes for notebook 04, started once and reused.

Starting a process costs tens of milliseconds (more on a laptop), so the lesson keeps two
single-worker pools for the whole kernel: one is "the process pool" of the CPU exercise, and the
pair stands for two server worker processes in the rate-limit demonstration, where a request
must go to a chosen worker (a shared pool would pick one for us).

Workers are started with "spawn" (a fresh interpreter): forking a kernel that runs threads can
deadlock, and spawn behaves the same on Linux, macOS and Windows. A spawned worker imports the
functions it runs by module name, which is why they live in modules such as labkit.cpu_work.
"""

from __future__ import annotations

import atexit
import multiprocessing
import signal
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from labkit.cpu_work import run_recorded

_lock = threading.Lock()
_workers: list[ProcessPoolExecutor] = []


def worker_pools(count: int = 2) -> list[ProcessPoolExecutor]:
    """``count`` single-process pools, created on first use and shut down at exit."""
    with _lock:
        while len(_workers) < count:
            _workers.append(
                ProcessPoolExecutor(
                    max_workers=1,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=ignore_interrupts,
                )
            )
        return _workers[:count]


def ignore_interrupts() -> None:
    """Runs in each worker: Ctrl-C (or a kernel interrupt sent to the whole process group) is
    for the kernel, not for an idle worker, which would die with a traceback and break the pool."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def lesson_pool() -> ProcessPoolExecutor:
    """The process pool the CPU-bound exercise sends work to."""
    return worker_pools(1)[0]


def shutdown_workers() -> None:
    with _lock:
        for pool in _workers:
            pool.shutdown(wait=False, cancel_futures=True)
        _workers.clear()


atexit.register(shutdown_workers)


@dataclass(frozen=True)
class PoolJob:
    """One job a :class:`RecordingPool` ran: what was sent, where it ran, what it cost there."""

    function: str
    args: tuple[Any, ...]
    value: Any = None
    pid: int | None = None
    cpu_s: float = 0.0
    error: str | None = None


class RecordingPool(Executor):
    """Wraps a pool; every job runs under ``cpu_work.run_recorded`` in the worker, so the check
    learns from the worker itself which process ran it, what it returned and the CPU it used.

    The records are the check's (``jobs``): the answer gets the pool, and a dummy job sent to
    it while the real work runs elsewhere shows up as a job with the wrong value and no CPU.
    """

    def __init__(self, inner: Executor) -> None:
        self._inner = inner
        self.jobs: list[PoolJob] = []
        self.pending: list[Future[Any]] = []

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        name = function_name(fn)
        outer: Future[Any] = Future()
        inner = self._inner.submit(run_recorded, fn, args, kwargs)
        self.pending.append(inner)

        def finished(done: Future[Any]) -> None:
            if done.cancelled():
                self.jobs.append(PoolJob(name, args, error="cancelled"))
                outer.cancel()
                return
            error = done.exception()
            if error is not None:
                self.jobs.append(PoolJob(name, args, error=repr(error)))
                if outer.set_running_or_notify_cancel():
                    outer.set_exception(error)
                return
            value, pid, cpu_s = done.result()
            self.jobs.append(PoolJob(name, args, value, pid, cpu_s))
            if outer.set_running_or_notify_cancel():
                outer.set_result(value)

        inner.add_done_callback(finished)
        return outer

    def wait(self, timeout: float = 30.0) -> None:
        """Wait for every job sent so far (an answer may return before its job finished)."""
        wait(self.pending, timeout=timeout)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        # the lesson's pool is shared and long-lived: a learner's shutdown() must not stop it
        return None


def function_name(fn: Any) -> str:
    """``count_primes`` for the function, a ``functools.partial`` of it, or a bound method."""
    inner = getattr(fn, "func", fn)
    return str(getattr(inner, "__qualname__", None) or repr(inner))
