"""Single flight: concurrent callers of one key share one run of its load (request coalescing).

The load runs as a task of its own and every caller, the first included, awaits it through
``asyncio.shield``: a caller that is cancelled (a client that hung up) leaves the load running for
the others. A flight is forgotten as soon as it lands, success or failure: single flight shares a
load in progress, it is not a cache (a later caller loads anew, a failure is not kept). Flights
are kept per event loop, because a future belongs to the loop that made it: one ``SingleFlight``
serves both a notebook's loop and the private loop ``check()`` runs answers on.

The app's cache (``labkit.app.cache``) and ``labkit.async_cache.async_cached`` both share loads
through this class.
"""

from __future__ import annotations

import asyncio
import functools
import weakref
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")


def _nothing() -> None:
    return None


class SingleFlight(Generic[K, T]):
    """``await flight.run(key, load)``: callers of ``key`` while a load is running share it.

    ``on_load`` is called when a caller starts a load, ``on_join`` when one joins a load already
    running (the app counts both); ``loads`` and ``joins`` count them too.
    """

    def __init__(
        self,
        *,
        on_load: Callable[[], object] = _nothing,
        on_join: Callable[[], object] = _nothing,
    ) -> None:
        self.on_load = on_load
        self.on_join = on_join
        self.loads = 0
        self.joins = 0
        self._flights: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, dict[K, asyncio.Future[T]]
        ] = weakref.WeakKeyDictionary()

    async def run(self, key: K, load: Callable[[], Awaitable[T]]) -> T:
        """The value of ``load()``, shared with every caller of ``key`` while it runs."""
        flights = self._flights.setdefault(asyncio.get_running_loop(), {})
        future = flights.get(key)
        if future is None:
            self.loads += 1
            self.on_load()
            # Recorded before the first await, so callers arriving during the load find it.
            future = asyncio.ensure_future(load())
            flights[key] = future
            future.add_done_callback(functools.partial(_land, flights, key))
        else:
            self.joins += 1
            self.on_join()
        return await asyncio.shield(future)

    def running(self) -> int:
        """How many loads are in flight on the running loop."""
        return len(self._flights.get(asyncio.get_running_loop(), {}))


def _land(flights: dict[K, asyncio.Future[T]], key: K, done: asyncio.Future[T]) -> None:
    if flights.get(key) is done:
        del flights[key]


__all__ = ["SingleFlight"]
