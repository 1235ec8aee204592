"""An in-memory ResultCache: TTL per entry, bounded size (least recently used goes first)."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable


class MemoryResultCache:
    def __init__(self, max_entries: int = 10_000, *, clock: Callable[[], float] = time.monotonic) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be positive")
        self._max = max_entries
        self._clock = clock
        self._entries: OrderedDict[tuple[str, str], tuple[float, bytes]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    async def get(self, tenant: str, key: str) -> bytes | None:
        entry = self._entries.get((tenant, key))
        if entry is None:
            return None
        expires_at, payload = entry
        if expires_at <= self._clock():
            del self._entries[(tenant, key)]
            return None
        self._entries.move_to_end((tenant, key))
        return payload

    async def put(self, tenant: str, key: str, payload: bytes, ttl_s: float) -> None:
        if ttl_s <= 0:
            return
        self._entries[(tenant, key)] = (self._clock() + ttl_s, payload)
        self._entries.move_to_end((tenant, key))
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)
