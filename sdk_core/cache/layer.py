"""The cache as the client sees it: records by id, query results and counts by normalized query.

Keys are partitioned by tenant (``<tenant>:rec:<Entity>`` and ``<tenant>:q:<Entity>`` groups),
so invalidating an entity is two group drops. A read that was in flight while the entity was
invalidated is not stored (a per-entity generation is compared), so a value read before our
own write can never be served after it. Cache failures (Redis down, disk full) are logged and
counted and the call goes to the API as if nothing were cached.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import weakref
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import orjson

from .. import change_signals
from ..catalog import Catalog
from .codec import decode, encode
from .config import CacheConfig

__all__ = ["ClientCache", "open_backend"]

log = logging.getLogger("sdk_core.cache")


def open_backend(config: CacheConfig, client_redis_url: str | None, default_dir: Path) -> Any:
    if config.backend == "memory":
        from .memory import MemoryBackend

        return MemoryBackend(config.max_bytes)
    if config.backend == "redis":
        from .redis_backend import RedisBackend

        return RedisBackend(config.resolved_redis_url(client_redis_url), config.key_prefix)
    from .disk import DiskBackend

    directory = Path(config.directory) if config.directory else default_dir
    return DiskBackend(directory / "records.sqlite", config.max_bytes)


class ClientCache:
    """One client's cache: lookups, stores, invalidation and counters."""

    def __init__(self, config: CacheConfig, backend: Any, catalog: Catalog, tenant: str):
        self.config = config
        self.backend = backend
        self.catalog = catalog
        self.tenant = tenant
        self._lock = threading.Lock()
        self._generation: dict[str, int] = {}
        self._counters = {
            "hits": 0,
            "misses": 0,
            "stores": 0,
            "invalidations": 0,
            "errors": 0,
            "skipped_stale": 0,
        }
        self._ttl = {self._entity_name(k): float(v) for k, v in config.ttl.items()}
        ref = weakref.ref(self)

        def listener(change: change_signals.Change) -> None:
            cache = ref()
            if cache is None:
                unsubscribe()
            else:
                cache.on_change(change)

        unsubscribe = change_signals.subscribe(listener)
        self._unsubscribe = unsubscribe

    # configuration ---------------------------------------------------------------------
    def _entity_name(self, name: str) -> str:
        found = self.catalog.find(name)
        return found.name if found is not None else name

    def ttl(self, entity: str) -> float:
        return self._ttl.get(entity, self.config.default_ttl)

    def _group(self, kind: str, entity: str) -> str:
        return f"{self.tenant}:{kind}:{entity}"

    def token(self, entity: str) -> int:
        """The entity's generation now; a store with an older token is refused."""
        return self._generation.get(entity, 0)

    # records ---------------------------------------------------------------------------
    def lookup(self, entity: str, id: int) -> dict[str, Any] | None:
        """The cached record (a fresh copy), or None on a miss."""
        if self.ttl(entity) <= 0:
            return None
        blob = self._guard(lambda: self.backend.get(self._group("rec", entity), str(id)))
        return self._counted(blob)

    def store(self, entity: str, id: int, value: Any, token: int) -> None:
        ttl = self.ttl(entity)
        if value is None or ttl <= 0:
            return
        self._put(entity, "rec", str(id), value, ttl, token)

    # queries ---------------------------------------------------------------------------
    def query_key(self, parts: Iterable[Any]) -> str:
        """The same query however it was written: conditions (ANDed or ORed) and fields in any order."""
        raw = orjson.dumps(_normalized(list(parts)), option=orjson.OPT_SORT_KEYS)
        return hashlib.sha256(raw).hexdigest()[:32]

    def pages(
        self, entity: str, parts: Iterable[Any], source: Iterator[list[dict[str, Any]]]
    ) -> Iterator[list[dict[str, Any]]]:
        """The cached pages of this query, else `source`'s pages, kept when complete and small."""
        if not self.config.queries or self.ttl(entity) <= 0:
            yield from source
            return
        key = self.query_key(parts)
        cached = self._counted(self._guard(lambda: self.backend.get(self._group("q", entity), key)))
        if cached is not None:
            yield from cached
            return
        token, rows = self.token(entity), 0
        kept: list[list[dict[str, Any]]] | None = []
        for page in source:
            if kept is not None:
                rows += len(page)
                kept = kept if rows <= self.config.max_query_rows else None
                if kept is not None:
                    kept.append(page)
            yield page
        if kept is not None:
            self._put(entity, "q", key, kept, self.ttl(entity), token)

    async def apages(
        self, entity: str, parts: Iterable[Any], source: AsyncIterator[list[dict[str, Any]]]
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """`pages` for the async client."""
        if not self.config.queries or self.ttl(entity) <= 0:
            async for page in source:
                yield page
            return
        key = self.query_key(parts)
        cached = self._counted(self._guard(lambda: self.backend.get(self._group("q", entity), key)))
        if cached is not None:
            for page in cached:
                yield page
            return
        token, rows = self.token(entity), 0
        kept: list[list[dict[str, Any]]] | None = []
        async for page in source:
            if kept is not None:
                rows += len(page)
                kept = kept if rows <= self.config.max_query_rows else None
                if kept is not None:
                    kept.append(page)
            yield page
        if kept is not None:
            self._put(entity, "q", key, kept, self.ttl(entity), token)

    # counts ----------------------------------------------------------------------------
    def count_key(self, entity: str, compiled: list[dict[str, Any]]) -> str | None:
        """A count's key in the entity's query group (so it is invalidated with its queries), or None
        when the entity's queries are not cached."""
        if not self.config.queries or self.ttl(entity) <= 0:
            return None
        return self.query_key(("count", compiled))

    def lookup_count(self, entity: str, key: str) -> int | None:
        """The cached count, or None on a miss (a count of 0 is a hit)."""
        value = self._counted(self._guard(lambda: self.backend.get(self._group("q", entity), key)))
        return value if isinstance(value, int) else None

    def store_count(self, entity: str, key: str, value: int, token: int) -> None:
        self._put(entity, "q", key, value, self.ttl(entity), token)

    # invalidation ----------------------------------------------------------------------
    def on_change(self, change: change_signals.Change) -> None:
        """A record changed (our write or a webhook): drop it and every query of its entity."""
        if change.tenant is not None and change.tenant != self.tenant:
            return
        self.invalidate(self._entity_name(change.entity), change.entity_id)

    def invalidate(self, entity: str, id: int | None = None) -> None:
        with self._lock:
            self._generation[entity] = self._generation.get(entity, 0) + 1
            self._counters["invalidations"] += 1
        if id is None:
            self._guard(lambda: self.backend.drop(self._group("rec", entity)))
        else:
            self._guard(lambda: self.backend.delete(self._group("rec", entity), str(id)))
        self._guard(lambda: self.backend.drop(self._group("q", entity)))

    def clear(self) -> None:
        """Forget everything cached for this tenant."""
        with self._lock:
            for entity in list(self._generation):
                self._generation[entity] += 1
        self._guard(lambda: self.backend.clear(f"{self.tenant}:"))

    # counters --------------------------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        with self._lock:
            out: dict[str, Any] = dict(self._counters)
        out["evictions"] = self.backend.evictions
        lookups = out["hits"] + out["misses"]
        out["hit_rate"] = round(out["hits"] / lookups, 4) if lookups else 0.0
        out["backend"] = self.config.backend
        out.update(self._guard(self.backend.size) or {"entries": -1, "bytes": -1})
        return out

    def close(self) -> None:
        self._unsubscribe()
        self._guard(self.backend.close)

    # internals -------------------------------------------------------------------------
    def _put(self, entity: str, kind: str, key: str, value: Any, ttl: float, token: int) -> None:
        if self.token(entity) != token:
            self._count("skipped_stale")  # invalidated while the read was in flight
            return
        blob = encode(value, self.config.compress_over)
        self._guard(lambda: self.backend.set(self._group(kind, entity), key, blob, ttl))
        if self.token(entity) != token:  # invalidated while storing: take it back
            self._guard(lambda: self.backend.delete(self._group(kind, entity), key))
            self._count("skipped_stale")
            return
        self._count("stores")

    def _counted(self, blob: bytes | None) -> Any | None:
        value = None
        if blob is not None:
            try:
                value = decode(blob)
            except Exception as exc:  # a damaged entry is a miss
                log.warning("cache: unreadable entry dropped (%s)", exc)
        self._count("hits" if value is not None else "misses")
        return value

    def _count(self, name: str) -> None:
        with self._lock:
            self._counters[name] += 1

    def _guard(self, call: Callable[[], Any]) -> Any:
        try:
            return call()
        except Exception as exc:
            self._count("errors")
            log.warning(
                "cache %s backend failed (%s: %s); going to the API",
                self.config.backend,
                type(exc).__name__,
                exc,
            )
            return None


def _normalized(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _normalized(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        items = [_normalized(v) for v in value]
        if items and all(isinstance(v, (dict, str)) for v in items):  # conditions or field names
            items.sort(key=lambda v: orjson.dumps(v, option=orjson.OPT_SORT_KEYS))
        return items
    return value
