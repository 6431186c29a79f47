"""What a cache backend does: bytes under (group, key), with a TTL; a group is dropped at once.

Groups are how invalidation stays cheap: every record and every query result of one entity
lives in that entity's groups, so "drop what may include this record" is one call.
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["Backend"]


class Backend(Protocol):
    evictions: int

    def get(self, group: str, key: str) -> bytes | None:
        """The value, or None when absent or expired."""

    def set(self, group: str, key: str, value: bytes, ttl: float) -> None: ...

    def delete(self, group: str, key: str) -> None: ...

    def drop(self, group: str) -> None:
        """Forget every key of `group`."""

    def clear(self, prefix: str = "") -> None:
        """Forget every group whose name starts with `prefix`."""

    def size(self) -> dict[str, int]:
        """`{"entries": n, "bytes": n}` (-1 where the backend cannot tell cheaply)."""

    def close(self) -> None: ...
