"""`CacheConfig`: which backend holds cached reads, for how long, and how much of it."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from ..errors import ConfigurationError

__all__ = ["CacheConfig", "BACKENDS"]

BACKENDS = ("memory", "redis", "disk")


@dataclass(frozen=True)
class CacheConfig:
    """Opt-in cache of `get(id)` and query results for one client.

    ``ttl`` maps entity names (``"Tickets"`` or ``"tickets"``) to seconds; other entities use
    ``default_ttl``; 0 turns caching off for an entity. ``max_bytes`` bounds the memory and
    disk backends (Redis is bounded by its own ``maxmemory``). Values larger than
    ``compress_over`` bytes are stored zlib-compressed. Query results with more than
    ``max_query_rows`` rows are not kept (a full scan is not a cache entry). ``tenant`` names
    this client's tenant as webhook events name it; changes for other tenants are ignored, and
    it partitions Redis keys (default: a hash of the API host and user name).
    """

    backend: str = "memory"
    default_ttl: float = 300.0
    ttl: Mapping[str, float] = field(default_factory=dict)
    max_bytes: int = 64 * 1024 * 1024
    compress_over: int = 4096
    max_query_rows: int = 10_000
    queries: bool = True
    redis_url: str | None = field(default=None, repr=False)
    key_prefix: str = "autotask-liberator:cache"
    directory: str | None = None
    tenant: str | None = None

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ConfigurationError(
                f"CacheConfig(backend={self.backend!r}): use one of {', '.join(BACKENDS)}"
            )
        if self.default_ttl < 0 or any(not isinstance(v, (int, float)) or v < 0 for v in self.ttl.values()):
            raise ConfigurationError("CacheConfig: TTLs are seconds >= 0 (0 turns caching off)")
        if self.max_bytes < 1024:
            raise ConfigurationError(f"CacheConfig(max_bytes={self.max_bytes}): allow at least 1024 bytes")
        if self.max_query_rows < 0 or self.compress_over < 0:
            raise ConfigurationError("CacheConfig: max_query_rows and compress_over must be >= 0")

    def resolved_redis_url(self, client_url: str | None) -> str:
        """This config's URL, else the client's `redis_url`, else `AUTOTASK_REDIS_URL`."""
        url = self.redis_url or client_url or os.environ.get("AUTOTASK_REDIS_URL")
        if not url:
            raise ConfigurationError(
                "CacheConfig(backend='redis') needs a server: pass redis_url='redis://host:6379/0' "
                "to CacheConfig or the client, or set AUTOTASK_REDIS_URL"
            )
        return url
