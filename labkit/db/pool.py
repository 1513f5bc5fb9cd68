"""A minimal connection pool for the pooling lesson: a size limit, an acquire timeout, counters."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from labkit.db.connection import LabConnection, Sleep, connect
from labkit.errors import DatabaseError


class Pool:
    """Up to ``size`` connections opened on demand and reused; ``acquire()`` waits for a free one.

    ``connect_latency_ms`` is paid once per connection opened, ``latency_ms`` per statement,
    ``timeout`` and ``autocommit`` mean what they mean for ``connect``; ``acquire_timeout=None``
    waits as long as it takes. A connection comes back with no transaction open: one left open
    is rolled back, and one that cannot be rolled back is closed. ``pool.stats`` counts what
    happened.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        size: int = 5,
        acquire_timeout: float | None = 1.0,
        latency_ms: float = 0.0,
        connect_latency_ms: float = 0.0,
        *,
        readonly: bool = False,
        timeout: float = 5.0,
        autocommit: bool = False,
        sleep: Sleep | None = None,
    ) -> None:
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise DatabaseError(f"pool size must be a whole number ≥ 1, got {size!r}")
        if acquire_timeout is not None and (
            isinstance(acquire_timeout, bool)
            or not isinstance(acquire_timeout, int | float)
            or not acquire_timeout > 0
        ):
            raise DatabaseError(
                "acquire_timeout must be a number of seconds > 0 (or None), "
                f"got {acquire_timeout!r}"
            )
        self.path = path
        self.size = size
        self.acquire_timeout = acquire_timeout
        self._options: dict[str, Any] = {
            "latency_ms": latency_ms,
            "connect_latency_ms": connect_latency_ms,
            "readonly": readonly,
            "timeout": timeout,
            "autocommit": autocommit,
            "sleep": sleep,
        }
        connect(path, **self._options)  # check the arguments now (opens nothing)
        self._slots: asyncio.Semaphore | None = None
        self._idle: list[LabConnection] = []
        self._open: list[LabConnection] = []
        self._closed = False
        self._in_use = 0
        self._counts = {"created": 0, "acquired": 0, "waited": 0, "timeouts": 0}
        self._wait_s = 0.0

    @property
    def stats(self) -> dict[str, Any]:
        """created, acquired, waited (had to wait), timeouts, in_use, idle, size, wait_s."""
        return {
            **self._counts,
            "in_use": self._in_use,
            "idle": len(self._idle),
            "size": self.size,
            "wait_s": self._wait_s,
        }

    def __repr__(self) -> str:
        s = self.stats
        return (
            f"Pool(size={self.size}, created={s['created']}, acquired={s['acquired']}, "
            f"waited={s['waited']}, timeouts={s['timeouts']}, in_use={s['in_use']})"
        )

    @asynccontextmanager
    async def acquire(self) -> AsyncIterator[LabConnection]:
        """``async with pool.acquire() as db:`` — a connection, returned to the pool afterwards."""
        if self._closed:
            raise DatabaseError("the pool is closed")
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.size)
        slots = self._slots
        loop = asyncio.get_running_loop()
        started = loop.time()
        if not slots.locked():
            await slots.acquire()  # a free slot: taken at once, without suspending
        else:
            self._counts["waited"] += 1
            try:
                await asyncio.wait_for(slots.acquire(), self.acquire_timeout)
            except TimeoutError:
                self._counts["timeouts"] += 1
                raise DatabaseError(
                    f"no free connection after {self.acquire_timeout:g} s: all {self.size} are "
                    "in use (release them sooner, enlarge the pool, or raise acquire_timeout)"
                ) from None
            finally:
                self._wait_s += loop.time() - started
        try:
            db = self._idle.pop() if self._idle else await self._new_connection()
        except BaseException:
            slots.release()
            raise
        self._counts["acquired"] += 1
        self._in_use += 1
        try:
            yield db
        finally:
            self._in_use -= 1
            try:
                await self._give_back(db)
            finally:
                slots.release()  # even when giving back failed: the slot is free again

    async def _new_connection(self) -> LabConnection:
        db = connect(self.path, **self._options)
        await db
        self._counts["created"] += 1
        self._open.append(db)
        return db

    async def _give_back(self, db: LabConnection) -> None:
        if db._connection is None:  # closed by the borrower: forget it
            self._open.remove(db)
            return
        if self._closed:
            await self._discard(db)
            return
        if db.in_transaction:  # never hand the next borrower someone else's transaction
            try:
                await db.rollback()
            except BaseException:
                await self._discard(db)
                raise
        self._idle.append(db)

    async def _discard(self, db: LabConnection) -> None:
        if db in self._open:
            self._open.remove(db)
        await db.close()

    async def close(self) -> None:
        """Close idle connections now and borrowed ones when they come back."""
        self._closed = True
        idle, self._idle = self._idle, []
        for db in idle:
            await self._discard(db)

    async def __aenter__(self) -> Pool:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
