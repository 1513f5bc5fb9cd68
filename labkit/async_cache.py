"""Memoise ``async def`` functions in a cachetools cache, caching results, not coroutines.

``cachetools.cached`` on an ``async def`` stores the *coroutine object* the call returns; the
first caller awaits it and every later caller gets ``RuntimeError: cannot reuse already awaited
coroutine`` (cachetools #92). ``async_cached`` awaits the call and stores its result, and
concurrent callers of one key share one call (``labkit.single_flight``), so a burst of misses for
the same key runs the function once.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Awaitable, Callable, Hashable, MutableMapping
from typing import Any, ParamSpec, TypeVar, cast

from cachetools.keys import hashkey

from labkit.single_flight import SingleFlight

P = ParamSpec("P")
T = TypeVar("T")


def async_cached(
    cache: MutableMapping[Any, Any],
    key: Callable[..., Hashable] = hashkey,
) -> Callable[[Callable[P, Awaitable[T]]], Callable[P, Awaitable[T]]]:
    """Decorator: cache the awaited result of an ``async def`` in ``cache`` under ``key(*args)``.

    Example::

        @async_cached(TTLCache(maxsize=1024, ttl=60))
        async def product(product_id: int) -> dict: ...

    ``wrapper.cache`` is the cache; ``wrapper.calls`` counts real calls of the function.
    """

    def decorate(fn: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
        def count_call() -> None:
            wrapper.calls += 1  # type: ignore[attr-defined]

        flight: SingleFlight[Hashable, T] = SingleFlight(on_load=count_call)

        @functools.wraps(fn)
        async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
            k = key(*args, **kwargs)
            with contextlib.suppress(KeyError):
                return cast(T, cache[k])

            async def load() -> T:
                value = await fn(*args, **kwargs)
                # Stored before the flight lands, so no caller falls between the two; a failure
                # is not stored, and a value too large for a size-bounded cache is not cached.
                with contextlib.suppress(ValueError):
                    cache[k] = value
                return value

            return await flight.run(k, load)

        wrapper.cache = cache  # type: ignore[attr-defined]
        wrapper.calls = 0  # type: ignore[attr-defined]
        return wrapper

    return decorate
