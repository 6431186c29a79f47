"""What the sync and async clients share: settings, zone state, caches, routes and request builders.

Nothing here does I/O except the disk cache; the two clients add only their drivers.
"""

from __future__ import annotations

import hashlib
import re
import threading
from typing import Any, Callable, Mapping

from . import _protocol as proto
from ._cache import DiskCache
from ._config import Settings, mask_url
from ._flow import RetryPolicy
from ._governor import Governor, get_governor
from ._query import FilterLike, compile_filter
from .catalog import Catalog, EntityInfo, UnknownEntityError as _CatalogUnknown, load_catalog
from .errors import QueryError, RateLimitedError, UnknownEntityError, UnsupportedOperationError

__all__ = ["BaseClient", "EntityCore", "LiveEntityInfo"]

_SNAKE = re.compile(r"(?<!^)(?=[A-Z])")


class LiveEntityInfo(EntityInfo):
    """The catalog's EntityInfo; calling it (`ent.info()`) fetches live `entityInformation`."""

    _live: Callable[[], Any]

    def __call__(self) -> Any:
        return self._live()


def _live_info(info: EntityInfo, live: Callable[[], Any]) -> LiveEntityInfo:
    obj = object.__new__(LiveEntityInfo)
    obj.__dict__.update(info.__dict__)
    object.__setattr__(obj, "_live", live)
    return obj


class BaseClient:
    """Zone state, governor, caches and counters; the `FlowContext` of every request flow."""

    def __init__(self, settings: Settings, catalog: Catalog | None = None):
        self.settings = settings
        self.catalog = catalog or load_catalog()
        self.credentials = settings.credentials
        self.username = settings.username
        self.lookup_root = settings.zone_lookup_url or proto.DEFAULT_ZONE_LOOKUP_URL
        self.root: str | None = settings.api_url
        self.zone_detected = False
        self.policy = RetryPolicy(max_retries=settings.max_retries, max_rate_wait=settings.max_rate_wait)
        self.disk = DiskCache(settings.cache_dir)
        self._memory: dict[tuple[str, ...], Any] = {}
        self._lock = threading.Lock()
        self._request_count = 0
        self._governor: Governor | None = None
        self._code_hash = hashlib.sha256(settings.integration_code.encode()).hexdigest()[:16]

    # FlowContext -------------------------------------------------------------------------
    def _zone_key(self) -> tuple[str, ...]:
        return (self.lookup_root.lower(), self.username.lower())

    def cached_zone(self) -> str | None:
        return self.disk.get("zones", self._zone_key(), self.settings.zone_ttl)

    def remember_zone(self, root: str) -> None:
        self.disk.set("zones", self._zone_key(), root)
        self._governor = None  # the tenant's host may have changed

    def forget_zone(self) -> None:
        self.disk.delete("zones", self._zone_key())

    def count(self, name: str) -> None:
        if self._governor is not None:
            self._governor.count(name)

    # state -------------------------------------------------------------------------------
    @property
    def governor(self) -> Governor:
        """The process-wide governor of this tenant (known once the zone is)."""
        gov = self._governor
        if gov is None:
            host = proto.api_host(self.root or self.lookup_root)
            gov = self._governor = get_governor(
                host, self.settings.integration_code, max_concurrency=self.settings.max_concurrency,
                max_api_share=self.settings.max_api_share, redis_url=self.settings.redis_url)
        return gov

    @property
    def request_count(self) -> int:
        """HTTP requests this client sent (every attempt, zone and threshold reads included)."""
        return self._request_count

    def _sent(self) -> None:
        with self._lock:
            self._request_count += 1

    def _check_budget_wait(self, waited: float, wait: float, why: str = "") -> float:
        """Refuse to wait past `max_budget_wait` for the budget (None: wait as needed)."""
        limit = self.settings.max_budget_wait
        if limit is not None and waited + wait > limit:
            raise RateLimitedError(
                f"The governor holds requests back: {why or 'budget used up'}; the next request "
                f"may go in {wait:.0f}s. Raise max_api_share or max_budget_wait, or run later.",
                retry_after=wait)
        return waited + wait

    def _entity_info(self, name: str) -> EntityInfo:
        try:
            return self.catalog.get(name)
        except _CatalogUnknown as exc:
            raise UnknownEntityError(str(exc)) from None

    def _metadata_key(self, entity: str, kind: str) -> tuple[str, ...]:
        host = proto.api_host(self.root or self.lookup_root)
        return (host.lower(), self._code_hash, entity.lower(), kind)

    def _cached_metadata(self, entity: str, kind: str) -> Any | None:
        key = self._metadata_key(entity, kind)
        if key in self._memory:
            return self._memory[key]
        value = self.disk.get("metadata", key, self.settings.metadata_ttl)
        if value is not None:
            self._memory[key] = value
        return value

    def _store_metadata(self, entity: str, kind: str, value: Any) -> None:
        key = self._metadata_key(entity, kind)
        self._memory[key] = value
        self.disk.set("metadata", key, value)

    def _attribute_entity(self, name: str) -> EntityInfo:
        if name.startswith("_") or "catalog" not in self.__dict__:
            raise AttributeError(name)
        found = self.catalog.find(name)
        if found is None:
            try:
                self.catalog.get(name)
            except _CatalogUnknown as exc:
                raise AttributeError(str(exc)) from None
        assert found is not None
        return found

    def __repr__(self) -> str:
        return (f"<{type(self).__name__} user={self.username!r} "
                f"api_url={mask_url(self.root) or '(zone lookup)'!r}>")


class EntityCore:
    """Routes and request builders for one entity; validation happens before any request."""

    def __init__(self, client: BaseClient, info: EntityInfo):
        self._client = client
        self._info = info
        self.name = info.name

    @property
    def info(self) -> LiveEntityInfo:
        return _live_info(self._info, self.info_live)

    def info_live(self) -> Any:  # overridden by the clients
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"

    # validation --------------------------------------------------------------------------
    def _filter(self, filter: FilterLike) -> list[dict[str, Any]]:
        return compile_filter(filter, self._info)

    def _include(self, fields: list[str] | tuple[str, ...] | None) -> list[str] | None:
        if fields is None:
            return None
        if isinstance(fields, str):
            raise QueryError(f"fields must be a list of names, e.g. [{fields!r}], not a string")
        out, seen = ["id"], {"id"}
        for name in fields:
            known = self._info.field(name)
            if known is None and not self._info.has_udfs:
                import difflib

                close = difflib.get_close_matches(name, self._info.field_names, n=1)
                hint = f' Did you mean "{close[0]}"?' if close else ""
                raise QueryError(f"{self.name} has no field {name!r}.{hint}")
            canonical = known.name if known else name
            if canonical.lower() not in seen:
                seen.add(canonical.lower())
                out.append(canonical)
        return out

    def _require_query(self) -> None:
        if not self._info.queryable:
            raise UnsupportedOperationError(f"{self.name} cannot be queried in Autotask.")

    @staticmethod
    def _page_size(page_size: int) -> int:
        if not 1 <= page_size <= proto.MAX_PAGE_SIZE:
            raise QueryError(f"page_size must be between 1 and {proto.MAX_PAGE_SIZE}, not {page_size}")
        return page_size

    # builders ----------------------------------------------------------------------------
    def _query_builder(self, compiled: list[dict[str, Any]], include: list[str] | None,
                       after_id: int | None, upper: int | None, page_size: int) -> Callable[[str], proto.Request]:
        filt = list(compiled)
        if after_id is not None:
            filt.append({"op": "gt", "field": "id", "value": after_id})
        if upper is not None:
            filt.append({"op": "lte", "field": "id", "value": upper})
        creds = self._client.credentials
        return lambda root: proto.query_request(root, creds, self.name, filt, include, page_size)

    def _count_builder(self, compiled: list[dict[str, Any]]) -> Callable[[str], proto.Request]:
        creds = self._client.credentials
        return lambda root: proto.count_request(root, creds, self.name, compiled)

    def _get_builder(self, id: int, parent_id: int | None = None) -> Callable[[str], proto.Request]:
        _check_id(id)
        if self._info.can("get") and parent_id is None:
            path = f"{self.name}/{id}"
        else:
            route = self._route("get", parent_id)
            path = f"{route.path.format(parentId=parent_id).lstrip('/')}/{id}"
        creds = self._client.credentials
        return lambda root: proto.get_request(root, creds, self.name, path)

    def _write_builder(self, verb: str, method: str, data: Mapping[str, Any],
                       parent_id: int | None) -> Callable[[str], proto.Request]:
        if not isinstance(data, Mapping):
            raise QueryError(f"{self.name}: data must be a dict of field values, not {type(data).__name__}")
        if verb in ("update", "patch") and "id" not in data:
            raise QueryError(f"{self.name}: an update needs the record's id in data")
        if parent_id is None and self._info.can(verb):
            path = self.name
        else:
            path = self._route(verb, parent_id).path.format(parentId=parent_id).lstrip("/")
        creds = self._client.credentials
        return lambda root: proto.write_request(root, creds, self.name, method, path, data)

    def _delete_builder(self, id: int, parent_id: int | None) -> Callable[[str], proto.Request]:
        _check_id(id)
        if parent_id is None and self._info.can("delete"):
            path = f"{self.name}/{id}"
        else:
            route = self._route("delete", parent_id)
            path = f"{route.path.format(parentId=parent_id).lstrip('/')}/{id}"
        creds = self._client.credentials
        return lambda root: proto.delete_request(root, creds, self.name, path)

    def _metadata_builder(self, kind: str) -> Callable[[str], proto.Request]:
        if kind == "udfs" and not self._info.has_udf_endpoint:
            raise UnsupportedOperationError(f"{self.name} has no userDefinedFields endpoint.")
        creds = self._client.credentials
        return lambda root: proto.metadata_request(root, creds, self.name, kind)

    _VERB_WORDS = {"create": "created", "update": "replaced (PUT)", "patch": "updated (PATCH)",
                   "delete": "deleted", "get": "read by id"}

    def _route(self, verb: str, parent_id: int | None) -> Any:
        info = self._info
        route = info.parent_route(verb)
        word = self._VERB_WORDS.get(verb, verb)
        if route is None:
            allowed = ", ".join(info.root_verbs) or "nothing"
            raise UnsupportedOperationError(
                f"{self.name} cannot be {word} through the API (it allows: {allowed}).")
        if parent_id is None:
            raise UnsupportedOperationError(
                f"{self.name} are {word} under their parent: pass parent_id=<{route.parent} id> "
                f"(the request goes to {route.path}).")
        _check_id(parent_id)
        return route


def _check_id(value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise QueryError(f"an id must be an integer, not {value!r}")


def snake_case(name: str) -> str:
    return _SNAKE.sub("_", name).lower()
