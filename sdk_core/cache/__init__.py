"""Opt-in caching of reads: `AutotaskClient(..., cache=CacheConfig(backend="memory"))`.

Records (`get(id)`), query results and counts (by normalized query) are kept in memory (LRU
with TTL, bounded in bytes), in Redis (shared by processes, keys partitioned by tenant) or on
disk (SQLite, survives restarts). Our own writes and webhook change signals
(`sdk_core.change_signals`) invalidate the record and every cached query and count of its
entity; TTLs, per entity, bound everything else. Entity metadata keeps its own cache
(`sdk_core._cache`).
"""

from __future__ import annotations

import hashlib
from typing import Any

from .config import CacheConfig
from .layer import ClientCache, open_backend
from .writes import publish_write

__all__ = ["CacheConfig", "ClientCache", "open_cache", "publish_write", "tenant_key"]


def tenant_key(api_host: str, username: str) -> str:
    """A stable, secret-free name for a tenant partition: a hash of the API host and user."""
    return hashlib.sha256(f"{api_host.lower()}\x1f{username.lower()}".encode()).hexdigest()[:16]


def open_cache(
    config: CacheConfig | None,
    *,
    catalog: Any,
    api_host: str,
    username: str,
    redis_url: str | None,
    default_dir: Any,
) -> ClientCache | None:
    """The client's cache, or None when caching is off."""
    if config is None:
        return None
    if not isinstance(config, CacheConfig):
        from ..errors import ConfigurationError

        raise ConfigurationError(f"cache= takes a CacheConfig(backend=...), not {type(config).__name__}")
    tenant = config.tenant or tenant_key(api_host, username)
    return ClientCache(config, open_backend(config, redis_url, default_dir), catalog, tenant)
