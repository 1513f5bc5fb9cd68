"""The lesson's L2: JSON values over the lab API's shared store (diskcache, or Redis).

The shared stores keep bytes (``labkit.app.cache``); the exercises pass dicts around, so this
adapter encodes with orjson on the way in and decodes on the way out.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from labkit.app.cache import SharedStore, shared_store
from labkit.data.scratch import owned_temp_dir


class JsonL2:
    """``await get(key)`` (None on a miss), ``await set(key, value)``, ``await delete(key)``."""

    def __init__(self, store: SharedStore, *, ttl: float = 300.0) -> None:
        self.store = store
        self.ttl = ttl

    @property
    def name(self) -> str:
        return self.store.name

    async def get(self, key: str) -> Any:
        raw = await self.store.get(key)
        return None if raw is None else orjson.loads(raw)

    async def set(self, key: str, value: Any, ttl: float | None = None) -> None:
        await self.store.set(key, orjson.dumps(value), self.ttl if ttl is None else ttl)

    async def delete(self, key: str) -> None:
        await self.store.delete(key)


def open_l2(directory: str | Path | None = None, *, ttl: float = 300.0) -> JsonL2:
    """Redis when ``LABKIT_REDIS_URL`` is set, else diskcache in ``directory`` (a temp dir)."""
    path = Path(directory) if directory is not None else owned_temp_dir("lesson")
    return JsonL2(shared_store(path), ttl=ttl)
