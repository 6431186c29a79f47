"""In-process LRU with per-entry TTL, bounded by the bytes its values take."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

__all__ = ["MemoryBackend"]

_ENTRY_OVERHEAD = 96  # bytes of bookkeeping counted per entry beside its key and value


class MemoryBackend:
    def __init__(self, max_bytes: int, clock: Callable[[], float] = time.monotonic):
        self.max_bytes = max_bytes
        self.clock = clock
        self.evictions = 0
        self._entries: OrderedDict[tuple[str, str], tuple[float, bytes]] = OrderedDict()
        self._groups: dict[str, set[str]] = {}
        self._bytes = 0
        self._lock = threading.Lock()

    @staticmethod
    def _cost(group: str, key: str, value: bytes) -> int:
        return len(value) + len(group) + len(key) + _ENTRY_OVERHEAD

    def get(self, group: str, key: str) -> bytes | None:
        with self._lock:
            entry = self._entries.get((group, key))
            if entry is None:
                return None
            if entry[0] <= self.clock():
                self._remove(group, key)
                return None
            self._entries.move_to_end((group, key))
            return entry[1]

    def set(self, group: str, key: str, value: bytes, ttl: float) -> None:
        cost = self._cost(group, key, value)
        if cost > self.max_bytes:
            return  # larger than the whole cache: not worth evicting everything for
        with self._lock:
            self._remove(group, key)
            self._entries[(group, key)] = (self.clock() + ttl, value)
            self._groups.setdefault(group, set()).add(key)
            self._bytes += cost
            while self._bytes > self.max_bytes:
                (g, k), _ = next(iter(self._entries.items()))
                self._remove(g, k)
                self.evictions += 1

    def delete(self, group: str, key: str) -> None:
        with self._lock:
            self._remove(group, key)

    def drop(self, group: str) -> None:
        with self._lock:
            for key in list(self._groups.get(group, ())):
                self._remove(group, key)

    def clear(self, prefix: str = "") -> None:
        with self._lock:
            for group in [g for g in self._groups if g.startswith(prefix)]:
                for key in list(self._groups.get(group, ())):
                    self._remove(group, key)

    def size(self) -> dict[str, int]:
        with self._lock:
            return {"entries": len(self._entries), "bytes": self._bytes}

    def close(self) -> None:
        self.clear()

    def _remove(self, group: str, key: str) -> None:
        entry = self._entries.pop((group, key), None)
        if entry is None:
            return
        self._bytes -= self._cost(group, key, entry[1])
        keys = self._groups.get(group)
        if keys is not None:
            keys.discard(key)
            if not keys:
                del self._groups[group]
