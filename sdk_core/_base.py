"""What the sync and async clients share: settings, zone state, caches, routes, and every
multi-step call written once as a flow (see `_flow`).

Nothing here does I/O except the disk cache; the two clients add only their drivers (how to
send, sleep and run a flow), as httpx's BaseClient does for its Client and AsyncClient.
"""

from __future__ import annotations

import difflib
import hashlib
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Generator, Iterator, Mapping
from typing import Any, TypeVar

from . import _protocol as proto
from ._cache import DiskCache
from ._config import Settings, client_options, mask_url, settings_from_env
from ._flow import Admit, Failure, RetryPolicy, Sleep, request_flow
from ._governor import Governor, get_governor
from ._query import FilterLike, Q, compile_filter
from ._scan import check_page
from ._transport import AsyncTransport, Transport
from .cache import CacheConfig, open_cache, publish_write
from .catalog import Catalog, EntityInfo, load_catalog
from .errors import (
    ConfigurationError,
    QueryError,
    RateLimitedError,
    UnknownEntityError,
    UnsupportedOperationError,
)
from .health.recorder import RequestStats

__all__ = ["BaseClient", "EntityCore", "LiveEntityInfo", "Call"]

log = logging.getLogger("sdk_core.client")

T = TypeVar("T")
Call = Generator[Any, Any, T]  # a flow that returns the call's value (see `_flow.Flow`)
ClientT = TypeVar("ClientT", bound="BaseClient")

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

    _entity_class: type[EntityCore]

    def __init__(
        self,
        username: str,
        secret: str,
        integration_code: str,
        api_url: str | None = None,
        impersonation_resource_id: int | None = None,
        zone_lookup_url: str | None = None,
        max_api_share: float = 0.5,
        max_concurrency: int = 3,
        redis_url: str | None = None,
        timeout: float = 60.0,
        max_retries: int = 5,
        *,
        cache_dir: str | None = None,
        max_rate_wait: float = 900.0,
        max_budget_wait: float | None = None,
        catalog: Catalog | None = None,
        transport: Transport | AsyncTransport | None = None,
        cache: CacheConfig | None = None,
    ):
        settings = Settings(
            username=username,
            secret=secret,
            integration_code=integration_code,
            api_url=api_url,
            impersonation_resource_id=impersonation_resource_id,
            zone_lookup_url=zone_lookup_url,
            max_api_share=max_api_share,
            max_concurrency=max_concurrency,
            redis_url=redis_url,
            timeout=timeout,
            max_retries=max_retries,
            cache_dir=cache_dir,
            max_rate_wait=max_rate_wait,
            max_budget_wait=max_budget_wait,
        )
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
        self._entities: dict[str, Any] = {}
        self.transport: Any = transport or self._default_transport(settings.timeout)
        self.request_stats = RequestStats()
        self.cache = open_cache(
            cache,
            catalog=self.catalog,
            api_host=proto.api_host(self.root or self.lookup_root),
            username=self.username,
            redis_url=settings.redis_url,
            default_dir=self.disk.directory,
        )

    @staticmethod
    def _default_transport(timeout: float) -> Any:
        raise NotImplementedError

    @classmethod
    def from_settings(cls: type[ClientT], settings: Settings, **options: Any) -> ClientT:
        """A client of `settings` (validated when they were made); `options` are the constructor's
        other keywords (`catalog=`, `transport=`, ...)."""
        if not isinstance(settings, Settings):
            raise ConfigurationError(f"from_settings takes a Settings, not {type(settings).__name__}")
        client = cls(**client_options(settings), **options)
        client.settings = settings  # the same values, with the cache lifetimes the constructor lacks
        return client

    @classmethod
    def from_env(cls: type[ClientT], **overrides: Any) -> ClientT:
        """From AUTOTASK_USERNAME, AUTOTASK_SECRET, AUTOTASK_INTEGRATION_CODE (+ optional ones);
        keywords override settings, and the constructor's other keywords pass through."""
        options = {k: overrides.pop(k) for k in list(overrides) if k not in Settings.names()}
        return cls.from_settings(settings_from_env(**overrides), **options)

    def entity(self, name: str) -> Any:
        """The entity by URL name (`Tickets`), snake name (`ticket_notes`) or internal name."""
        info = self._entity_info(name)
        found = self._entities.get(info.name)
        if found is None:
            found = self._entities[info.name] = self._entity_class(self, info)
        return found

    def __getattr__(self, name: str) -> Any:
        return self.entity(self._attribute_entity(name).name)

    def exporter(self, **options: Any) -> Any:
        """An export builder: `client.exporter().add("Tickets", since=...).include_related().to("x.xlsx")`.

        It lives with the tap (`tap_autotask.commands.exporter`), found through the
        `autotask.exporter` entry point so that sdk_core imports nothing of ours.
        """
        from importlib.metadata import entry_points

        found = list(entry_points(group="autotask.exporter", name="default"))
        if not found:
            raise ConfigurationError("exports need the tap: pip install 'autotask-liberator[tap]'")
        return found[0].load()(self, **options)

    def cache_stats(self) -> dict[str, Any]:
        """Cache counters: hits, misses, evictions, stores, invalidations, hit_rate, entries, bytes."""
        return self.cache.stats() if self.cache is not None else {"hits": 0, "misses": 0, "evictions": 0}

    def _cached_pages(
        self, entity: str, parts: tuple[Any, ...], source: Iterator[list[dict[str, Any]]]
    ) -> Iterator[list[dict[str, Any]]]:
        return source if self.cache is None else self.cache.pages(entity, parts, source)

    # flows shared by both drivers ----------------------------------------------------------
    def _threshold_flow(self) -> Call[dict[str, int]]:
        response = yield from request_flow(self, lambda root: proto.threshold_request(root, self.credentials))
        value = proto.read_threshold(_present(response))
        self.governor.update_threshold(value)
        return {"limit": value["limit"], "timeframe": value["timeframe_minutes"], **value}

    def _refresh_threshold_flow(self) -> Call[None]:
        """Re-read ThresholdInformation when due (one caller at a time); failures keep the known values."""
        governor = self.governor
        if not governor.claim_threshold_refresh():
            return None
        try:
            yield from self._threshold_flow()
        except Exception as exc:  # the governor keeps what it knew; the call proceeds
            log.warning("could not read ThresholdInformation (%s); keeping the known limit", exc)
            governor.keep_threshold_defaults()
        finally:
            governor.done_threshold_refresh()
        return None

    def _admission_flow(self, request: proto.Request) -> Call[None]:
        """Wait (Sleep actions) until the governor's budget and pacing let `request` go."""
        governor = self.governor
        if request.endpoint == "ThresholdInformation":
            governor.note_sent_unbudgeted()
            return None
        waited = 0.0
        while True:
            yield from self._refresh_threshold_flow()
            wait, why = yield Admit()
            if wait <= 0:
                return None
            waited = self._check_budget_wait(waited, wait, why)
            yield Sleep(wait, why)

    def _sending(self, request: proto.Request) -> tuple[str, float]:
        self._sent()
        return uuid.uuid4().hex[:8], time.perf_counter()

    def _failed(self, request: proto.Request, rid: str, exc: Exception, started: float = 0.0) -> Failure:
        failure: Failure | None = self.transport.failure(exc)
        if failure is None:
            raise exc
        log.debug("request %s %s %s failed: %r", rid, request.method, request.shown_url, exc)
        self.request_stats.record(request, None, started)
        return failure

    def _received(
        self, request: proto.Request, rid: str, started: float, response: proto.Response
    ) -> proto.Response:
        log.debug(
            "request %s %s %s -> %s in %.0f ms",
            rid,
            request.method,
            request.shown_url,
            response.status_code,
            (time.perf_counter() - started) * 1000,
        )
        self.request_stats.record(request, response.status_code, started, response.content)
        return response

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
        """The governor of this tenant and these limits, shared by the process's clients with
        the same settings (known once the zone is)."""
        gov = self._governor
        if gov is None:
            host = proto.api_host(self.root or self.lookup_root)
            gov = self._governor = get_governor(
                host,
                self.settings.integration_code,
                max_concurrency=self.settings.max_concurrency,
                max_api_share=self.settings.max_api_share,
                redis_url=self.settings.redis_url,
            )
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
                retry_after=wait,
            )
        return waited + wait

    def _entity_info(self, name: str) -> EntityInfo:
        return self.catalog.get(name)

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
            except UnknownEntityError as exc:
                raise AttributeError(str(exc)) from None
        assert found is not None
        return found

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} user={self.username!r} "
            f"api_url={mask_url(self.root) or '(zone lookup)'!r}>"
        )


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

    def _include(self, fields: list[Any] | tuple[Any, ...] | None) -> list[str] | None:
        """IncludeFields, checked against the catalog; a user-defined field must be named as
        `Q("name", udf=True)` or be among the entity's UDFs already read with `.udfs()`."""
        if fields is None:
            return None
        if isinstance(fields, str):
            raise QueryError(f"fields must be a list of names, e.g. [{fields!r}], not a string")
        out, seen = ["id"], {"id"}
        for item in fields:
            udf = isinstance(item, Q) and item.udf
            name = item.field if isinstance(item, Q) else item
            if not isinstance(name, str) or not name:
                raise QueryError(f"fields must hold field names (or Q(name, udf=True)), not {item!r}")
            known = None if udf else self._info.field(name)
            if known is not None:
                name = known.name
            elif not (udf or name.lower() in self._known_udfs()):
                raise QueryError(self._unknown_field(name))
            elif not self._info.has_udfs:
                raise QueryError(f"{self.name} has no user-defined fields, so fields cannot name {name!r}.")
            if name.lower() not in seen:
                seen.add(name.lower())
                out.append(name)
        return out

    def _known_udfs(self) -> set[str]:
        """UDF names from the metadata cache (no request is made to find them)."""
        cached = self._client._cached_metadata(self.name, "udfs") if self._info.has_udf_endpoint else None
        return {str(u.get("name", "")).lower() for u in cached or () if isinstance(u, dict)}

    def _unknown_field(self, name: str) -> str:
        close = difflib.get_close_matches(name, self._info.field_names, n=1)
        hint = f' Did you mean "{close[0]}"?' if close else ""
        udf = (
            f" For a user-defined field, pass Q({name!r}, udf=True) in fields." if self._info.has_udfs else ""
        )
        return f"{self.name} has no field {name!r}.{hint}{udf}"

    def _require_query(self) -> None:
        if not self._info.queryable:
            raise UnsupportedOperationError(f"{self.name} cannot be queried in Autotask.")

    @staticmethod
    def _page_size(page_size: int) -> int:
        if not 1 <= page_size <= proto.MAX_PAGE_SIZE:
            raise QueryError(f"page_size must be between 1 and {proto.MAX_PAGE_SIZE}, not {page_size}")
        return page_size

    def _scan_args(
        self, filter: FilterLike, fields: list[str] | None, page_size: int, parallel: int
    ) -> tuple[list[dict[str, Any]], list[str] | None, int]:
        self._require_query()
        compiled, include = self._filter(filter), self._include(fields)
        page_size = self._page_size(page_size)
        limit = self._client.settings.max_concurrency
        if isinstance(parallel, bool) or not isinstance(parallel, int) or not 1 <= parallel <= limit:
            raise QueryError(f"parallel must be between 1 and max_concurrency ({limit}), not {parallel!r}")
        return compiled, include, page_size

    # flows shared by both drivers ----------------------------------------------------------
    def _count_flow(self, filter: FilterLike) -> Call[int]:
        """The count, from the cache under its normalized query when one is configured."""
        self._require_query()
        compiled = self._filter(filter)
        cache = self._client.cache
        key = cache.count_key(self.name, compiled) if cache is not None else None
        token = cache.token(self.name) if cache is not None else 0
        if cache is not None and key is not None and (hit := cache.lookup_count(self.name, key)) is not None:
            return hit
        response = yield from request_flow(self._client, self._count_builder(compiled))
        total = proto.read_count(_present(response))
        if cache is not None and key is not None:
            cache.store_count(self.name, key, total, token)
        return total

    def _get_flow(self, id: int, parent_id: int | None) -> Call[dict[str, Any] | None]:
        cache = self._client.cache
        if cache is not None and (hit := cache.lookup(self.name, id)) is not None:
            return hit
        token = cache.token(self.name) if cache is not None else 0
        response = yield from request_flow(self._client, self._get_builder(id, parent_id), not_found_ok=True)
        item = None if response is None else proto.read_item(response)
        if cache is not None:
            cache.store(self.name, id, item, token)
        return item

    def _write_flow(
        self, verb: str, method: str, data: Mapping[str, Any], parent_id: int | None
    ) -> Call[int]:
        builder, item_id = self._write_builder(verb, method, data, parent_id), data.get("id")
        try:
            response = yield from request_flow(self._client, builder)
            item_id = proto.read_item_id(_present(response))
            return item_id
        finally:  # also when the outcome is unknown: the record may have changed
            self._changed(verb, item_id, data, parent_id)

    def _delete_flow(self, id: int, parent_id: int | None) -> Call[int]:
        builder = self._delete_builder(id, parent_id)
        try:
            response = yield from request_flow(self._client, builder)
            return id if response is None else proto.read_item_id(response)
        finally:
            self._changed("delete", id, None, parent_id)

    def _changed(self, verb: str, id: Any, data: Mapping[str, Any] | None, parent_id: int | None) -> None:
        """Tell every cache in the process (ours included) that this record changed."""
        cache = self._client.cache
        publish_write(self._info, verb, id, data, parent_id, cache.tenant if cache is not None else None)

    def _metadata_flow(self, kind: str) -> Call[Any]:
        client = self._client
        if kind == "udfs" and not self._info.has_udf_endpoint:
            return []
        cached = client._cached_metadata(self.name, kind)
        if cached is not None:
            return cached
        response = yield from request_flow(client, self._metadata_builder(kind))
        value = proto.read_metadata(_present(response), kind)
        client._store_metadata(self.name, kind, value)
        return value

    def _fetch_flow(
        self,
        compiled: list[dict[str, Any]],
        include: list[str] | None,
        after_id: int | None,
        upper: int | None,
        page_size: int,
    ) -> Call[list[dict[str, Any]]]:
        builder = self._query_builder(compiled, include, after_id, upper, page_size)
        response = yield from request_flow(self._client, builder)
        items, _ = proto.read_query(_present(response))
        check_page(self.name, items, after_id)
        return items

    # builders ----------------------------------------------------------------------------
    def _query_builder(
        self,
        compiled: list[dict[str, Any]],
        include: list[str] | None,
        after_id: int | None,
        upper: int | None,
        page_size: int,
    ) -> Callable[[str], proto.Request]:
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
        path, creds = self._item_path("get", id, parent_id), self._client.credentials
        return lambda root: proto.get_request(root, creds, self.name, path)

    def _item_path(self, verb: str, id: int, parent_id: int | None) -> str:
        """`Tickets/5`, or under the parent route (`Tickets/1/Notes/5`) when the entity needs one."""
        _check_id(id)
        if parent_id is None and self._info.can(verb):
            return f"{self.name}/{id}"
        route = self._route(verb, parent_id)
        return f"{route.path.format(parentId=parent_id).lstrip('/')}/{id}"

    def _write_builder(
        self, verb: str, method: str, data: Mapping[str, Any], parent_id: int | None
    ) -> Callable[[str], proto.Request]:
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
        path, creds = self._item_path("delete", id, parent_id), self._client.credentials
        return lambda root: proto.delete_request(root, creds, self.name, path)

    def _metadata_builder(self, kind: str) -> Callable[[str], proto.Request]:
        if kind == "udfs" and not self._info.has_udf_endpoint:
            raise UnsupportedOperationError(f"{self.name} has no userDefinedFields endpoint.")
        creds = self._client.credentials
        return lambda root: proto.metadata_request(root, creds, self.name, kind)

    _VERB_WORDS = {
        "create": "created",
        "update": "replaced (PUT)",
        "patch": "updated (PATCH)",
        "delete": "deleted",
        "get": "read by id",
    }

    def _route(self, verb: str, parent_id: int | None) -> Any:
        info = self._info
        route = info.parent_route(verb)
        word = self._VERB_WORDS.get(verb, verb)
        if route is None:
            allowed = ", ".join(info.root_verbs) or "nothing"
            raise UnsupportedOperationError(
                f"{self.name} cannot be {word} through the API (it allows: {allowed})."
            )
        if parent_id is None:
            raise UnsupportedOperationError(
                f"{self.name} are {word} under their parent: pass parent_id=<{route.parent} id> "
                f"(the request goes to {route.path})."
            )
        _check_id(parent_id)
        return route


def _present(response: proto.Response | None) -> proto.Response:
    """The response of a call that cannot end absent (only `not_found_ok` and DELETE can)."""
    if response is None:
        raise AssertionError("a request flow ended without a response where one is required")
    return response


def _check_id(value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise QueryError(f"an id must be an integer, not {value!r}")


def snake_case(name: str) -> str:
    return _SNAKE.sub("_", name).lower()
