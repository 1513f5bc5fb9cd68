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
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from typing import Any

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


class CountingExecutor(Executor):
    """Wraps a pool and counts what is submitted to it (how a check sees where work went)."""

    def __init__(self, inner: Executor) -> None:
        self.inner = inner
        self.submitted: list[str] = []

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        self.submitted.append(getattr(fn, "__qualname__", repr(fn)))
        return self.inner.submit(fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        # the lesson's pool is shared and long-lived: a learner's shutdown() must not stop it
        return None
