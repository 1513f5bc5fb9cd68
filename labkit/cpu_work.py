"""CPU-bound work that a process-pool worker can import.

A function defined in a notebook cell lives in ``__main__`` of the kernel, which a
``ProcessPoolExecutor`` worker cannot import, so sending it to the pool fails (cpython #137118).
The course's CPU-bound examples therefore live here, in an ordinary module: pickling sends
``labkit.cpu_work.count_primes`` by name and the worker imports it.

Everything here is deliberately pure Python: that is the case where threads do not help,
because only one thread at a time may run Python bytecode (the GIL).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any


def count_primes(limit: int) -> int:
    """How many primes are below ``limit``, by trial division (slow on purpose: pure Python)."""
    if not isinstance(limit, int) or isinstance(limit, bool):
        raise TypeError(f"limit must be an int, not {type(limit).__name__}")
    count = 0
    for n in range(2, limit):
        divisor = 2
        while divisor * divisor <= n:
            if n % divisor == 0:
                break
            divisor += 1
        else:
            count += 1
    return count


def count_primes_where(limit: int) -> tuple[int, int]:
    """``count_primes(limit)`` and the id of the process that computed it."""
    return count_primes(limit), os.getpid()


def run_recorded(
    fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[Any, int, float]:
    """``fn(*args, **kwargs)`` in a pool worker, with the worker's pid and the CPU seconds the
    call used there: how a check sees that the work really was done in the pool process."""
    started = time.process_time()
    value = fn(*args, **kwargs)
    return value, os.getpid(), time.process_time() - started
