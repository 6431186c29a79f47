"""Redis: one hash per group under the client's tenant prefix, shared by every process.

A value is stored with its expiry time in front, so an entry outlives its TTL only as dead
bytes until its group's key expires (every write renews the key's TTL to the group's TTL).
"""

from __future__ import annotations

import struct
import time
from typing import Any

__all__ = ["RedisBackend"]

_EXPIRY = struct.Struct(">d")


class RedisBackend:
    def __init__(self, url: str, prefix: str):
        import redis  # only when this backend is chosen

        self.evictions = 0  # Redis evicts by its own maxmemory policy and does not tell us
        self.prefix = prefix
        self._redis: Any = redis.Redis.from_url(url)

    def _key(self, group: str) -> str:
        return f"{self.prefix}:{group}"

    def get(self, group: str, key: str) -> bytes | None:
        raw = self._redis.hget(self._key(group), key)
        if raw is None or len(raw) < _EXPIRY.size:
            return None
        if _EXPIRY.unpack_from(raw)[0] <= time.time():
            self._redis.hdel(self._key(group), key)
            return None
        return bytes(raw[_EXPIRY.size :])

    def set(self, group: str, key: str, value: bytes, ttl: float) -> None:
        name = self._key(group)
        pipe = self._redis.pipeline(transaction=False)
        pipe.hset(name, key, _EXPIRY.pack(time.time() + ttl) + value)
        pipe.expire(name, max(1, int(ttl + 1)))
        pipe.execute()

    def delete(self, group: str, key: str) -> None:
        self._redis.hdel(self._key(group), key)

    def drop(self, group: str) -> None:
        self._redis.delete(self._key(group))

    def clear(self, prefix: str = "") -> None:
        names = list(self._redis.scan_iter(match=f"{self.prefix}:{prefix}*", count=500))
        for start in range(0, len(names), 500):
            self._redis.delete(*names[start : start + 500])

    def size(self) -> dict[str, int]:
        return {"entries": -1, "bytes": -1}

    def close(self) -> None:
        self._redis.close()
