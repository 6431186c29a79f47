"""The asynchronous client: `httpx.AsyncClient` under the same protocol core and flows."""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
import uuid
from typing import Any, AsyncIterator, Mapping

import httpx

from . import _protocol as proto
from ._base import BaseClient, EntityCore
from ._config import Settings, settings_from_env
from ._flow import Failure, Flow, Send, Sleep, request_flow
from ._query import FilterLike
from ._scan import check_page, plan_ranges
from .catalog import Catalog
from .errors import QueryError

__all__ = ["AsyncAutotaskClient", "AsyncEntity", "AsyncTransport"]

log = logging.getLogger("sdk_core.client")


class AsyncTransport:
    """The one I/O seam of the async client: `await send(Request) -> Response`."""

    def __init__(self, timeout: float, pool_size: int = 32):
        self.client = httpx.AsyncClient(timeout=timeout, follow_redirects=False,
                                        limits=httpx.Limits(max_connections=pool_size,
                                                            max_keepalive_connections=pool_size))

    async def send(self, request: proto.Request) -> proto.Response:
        r = await self.client.request(request.method, request.url, headers=dict(request.headers),
                                      content=request.content)
        return proto.Response(r.status_code, r.headers, r.content)

    @staticmethod
    def failure(exc: BaseException) -> Failure | None:
        """Map an `httpx` error; `maybe_sent` is False only when no byte can have left."""
        if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)):
            return Failure(exc, maybe_sent=False)
        if isinstance(exc, httpx.TransportError):
            return Failure(exc, maybe_sent=True)
        return None

    async def close(self) -> None:
        await self.client.aclose()


class AsyncAutotaskClient(BaseClient):
    """The async twin of `AutotaskClient`: the same surface, awaited."""

    def __init__(self, username: str, secret: str, integration_code: str, api_url: str | None = None,
                 impersonation_resource_id: int | None = None, zone_lookup_url: str | None = None,
                 max_api_share: float = 0.5, max_concurrency: int = 3, redis_url: str | None = None,
                 timeout: float = 60.0, max_retries: int = 5, *, cache_dir: str | None = None,
                 max_rate_wait: float = 900.0, max_budget_wait: float | None = None,
                 catalog: Catalog | None = None,
                 transport: Any = None):
        settings = Settings(username=username, secret=secret, integration_code=integration_code,
                            api_url=api_url, impersonation_resource_id=impersonation_resource_id,
                            zone_lookup_url=zone_lookup_url, max_api_share=max_api_share,
                            max_concurrency=max_concurrency, redis_url=redis_url, timeout=timeout,
                            max_retries=max_retries, cache_dir=cache_dir, max_rate_wait=max_rate_wait,
                            max_budget_wait=max_budget_wait)
        super().__init__(settings, catalog)
        self.transport = transport or AsyncTransport(timeout)
        self._entities: dict[str, AsyncEntity] = {}

    @classmethod
    def from_env(cls, **overrides: Any) -> "AsyncAutotaskClient":
        s = settings_from_env(**overrides)
        return cls(s.username, s.secret, s.integration_code, s.api_url, s.impersonation_resource_id,
                   s.zone_lookup_url, s.max_api_share, s.max_concurrency, s.redis_url, s.timeout,
                   s.max_retries, cache_dir=s.cache_dir)

    def entity(self, name: str) -> "AsyncEntity":
        info = self._entity_info(name)
        found = self._entities.get(info.name)
        if found is None:
            found = self._entities[info.name] = AsyncEntity(self, info)
        return found

    def __getattr__(self, name: str) -> "AsyncEntity":
        return self.entity(self._attribute_entity(name).name)

    async def threshold(self) -> dict[str, int]:
        response = await self._run(request_flow(self, lambda root: proto.threshold_request(root, self.credentials)))
        assert response is not None
        value = proto.read_threshold(response)
        self.governor.update_threshold(value)
        return value

    async def close(self) -> None:
        result = self.transport.close()
        if inspect.isawaitable(result):
            await result

    async def __aenter__(self) -> "AsyncAutotaskClient":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # driver ------------------------------------------------------------------------------
    async def _run(self, flow: Flow) -> proto.Response | None:
        outcome: Any = None
        try:
            action = next(flow)
            while True:
                if isinstance(action, Sleep):
                    await asyncio.sleep(action.seconds)
                    outcome = None
                else:
                    outcome = await self._send(action)
                action = flow.send(outcome)
        except StopIteration as stop:
            return stop.value

    async def _send(self, action: Send) -> proto.Response | Failure:
        request = action.request
        if not request.authenticated:
            return await self._transmit(request)
        governor = self.governor
        if request.endpoint != "ThresholdInformation":
            waited = 0.0
            while True:
                await self._refresh_threshold_if_due()
                wait, why = governor.decide()
                if wait <= 0:
                    break
                waited = self._check_budget_wait(waited, wait, why)
                await asyncio.sleep(wait)
        else:
            governor.note_sent_unbudgeted()
        lease = await governor.acquire_async(request.endpoint or "")
        try:
            return await self._transmit(request)
        finally:
            governor.release(lease)

    async def _transmit(self, request: proto.Request) -> proto.Response | Failure:
        self._sent()
        rid = uuid.uuid4().hex[:8]
        started = time.perf_counter()
        try:
            result = self.transport.send(request)
            response = await result if inspect.isawaitable(result) else result
        except Exception as exc:
            failure = self.transport.failure(exc)
            if failure is None:
                raise
            log.debug("request %s %s %s failed: %r", rid, request.method, request.url, exc)
            return failure
        log.debug("request %s %s %s -> %s in %.0f ms", rid, request.method, request.url,
                  response.status_code, (time.perf_counter() - started) * 1000)
        return response

    async def _refresh_threshold_if_due(self) -> None:
        governor = self.governor
        if not governor.claim_threshold_refresh():
            return
        try:
            await self.threshold()
        except Exception as exc:
            log.warning("could not read ThresholdInformation (%s); keeping the known limit", exc)
            governor.keep_threshold_defaults()
        finally:
            governor.done_threshold_refresh()


class AsyncEntity(EntityCore):
    """One Autotask entity, awaited."""

    _client: AsyncAutotaskClient

    async def query(self, filter: FilterLike = None, fields: list[str] | None = None, *,
                    after_id: int | None = None, page_size: int = proto.MAX_PAGE_SIZE,
                    parallel: int = 1) -> AsyncIterator[dict[str, Any]]:
        async for page in self._pages(filter, fields, after_id, page_size, parallel):
            for row in page:
                yield row

    def pages(self, filter: FilterLike = None, fields: list[str] | None = None, *,
              after_id: int | None = None, page_size: int = proto.MAX_PAGE_SIZE) -> AsyncIterator[list[dict[str, Any]]]:
        return self._pages(filter, fields, after_id, page_size, 1)

    async def count(self, filter: FilterLike = None) -> int:
        self._require_query()
        response = await self._client._run(request_flow(self._client, self._count_builder(self._filter(filter))))
        assert response is not None
        return proto.read_count(response)

    async def get(self, id: int, parent_id: int | None = None) -> dict[str, Any] | None:
        response = await self._client._run(request_flow(self._client, self._get_builder(id, parent_id),
                                                        not_found_ok=True))
        return None if response is None else proto.read_item(response)

    async def create(self, data: Mapping[str, Any], parent_id: int | None = None) -> int:
        return await self._write("create", "POST", data, parent_id)

    async def update(self, data: Mapping[str, Any], parent_id: int | None = None) -> int:
        return await self._write("patch", "PATCH", data, parent_id)

    async def replace(self, data: Mapping[str, Any], parent_id: int | None = None) -> int:
        return await self._write("update", "PUT", data, parent_id)

    async def delete(self, id: int, parent_id: int | None = None) -> int:
        response = await self._client._run(request_flow(self._client, self._delete_builder(id, parent_id)))
        return id if response is None else proto.read_item_id(response)

    async def fields(self) -> list[dict[str, Any]]:
        return await self._metadata("fields")

    async def udfs(self) -> list[dict[str, Any]]:
        if not self._info.has_udf_endpoint:
            return []
        return await self._metadata("udfs")

    async def info_live(self) -> dict[str, Any]:  # type: ignore[override]
        return await self._metadata("info")

    # internals ---------------------------------------------------------------------------
    async def _write(self, verb: str, method: str, data: Mapping[str, Any], parent_id: int | None) -> int:
        response = await self._client._run(
            request_flow(self._client, self._write_builder(verb, method, data, parent_id)))
        assert response is not None
        return proto.read_item_id(response)

    async def _metadata(self, kind: str) -> Any:
        client = self._client
        cached = client._cached_metadata(self.name, kind)
        if cached is not None:
            return cached
        response = await client._run(request_flow(client, self._metadata_builder(kind)))
        assert response is not None
        value = proto.read_metadata(response, kind)
        client._store_metadata(self.name, kind, value)
        return value

    async def _fetch(self, compiled: list[dict[str, Any]], include: list[str] | None,
                     after_id: int | None, upper: int | None, page_size: int) -> list[dict[str, Any]]:
        response = await self._client._run(
            request_flow(self._client, self._query_builder(compiled, include, after_id, upper, page_size)))
        assert response is not None
        items, _ = proto.read_query(response)
        check_page(self.name, items, after_id)
        return items

    async def _pages(self, filter: FilterLike, fields: list[str] | None, after_id: int | None,
                     page_size: int, parallel: int) -> AsyncIterator[list[dict[str, Any]]]:
        self._require_query()
        compiled, include = self._filter(filter), self._include(fields)
        page_size = self._page_size(page_size)
        if not isinstance(parallel, int) or not 1 <= parallel <= self._client.settings.max_concurrency:
            raise QueryError(f"parallel must be between 1 and max_concurrency "
                             f"({self._client.settings.max_concurrency}), not {parallel!r}")
        if parallel == 1:
            async for page in self._scan(compiled, include, after_id, None, page_size, True):
                yield page
            return
        async for page in self._parallel_scan(compiled, include, after_id, page_size, parallel):
            yield page

    async def _scan(self, compiled: list[dict[str, Any]], include: list[str] | None,
                    after_id: int | None, upper: int | None, page_size: int,
                    prefetch: bool) -> AsyncIterator[list[dict[str, Any]]]:
        if not prefetch:
            cursor = after_id
            while True:
                items = await self._fetch(compiled, include, cursor, upper, page_size)
                if items:
                    yield items
                if len(items) < page_size:
                    return
                cursor = items[-1]["id"]
        pending: asyncio.Task[list[dict[str, Any]]] | None = asyncio.ensure_future(
            self._fetch(compiled, include, after_id, upper, page_size))
        try:
            while pending is not None:
                items = await pending
                pending = None
                if len(items) >= page_size:
                    pending = asyncio.ensure_future(
                        self._fetch(compiled, include, items[-1]["id"], upper, page_size))
                if items:
                    yield items
        finally:
            if pending is not None:
                pending.cancel()

    async def _parallel_scan(self, compiled: list[dict[str, Any]], include: list[str] | None,
                             after_id: int | None, page_size: int,
                             parallel: int) -> AsyncIterator[list[dict[str, Any]]]:
        """See the sync client: one count plus at most one short page per extra range."""
        count_filter = compiled + ([{"op": "gt", "field": "id", "value": after_id}]
                                   if after_id is not None else [])
        total, first = await asyncio.gather(  # the count overlaps the first page
            self.count(count_filter), self._fetch(compiled, include, after_id, None, page_size))
        if first:
            yield first
        if len(first) < page_size:
            return
        results: asyncio.Queue[Any] = asyncio.Queue(maxsize=2 * parallel)
        done = object()

        async def work(lower: int, upper: int | None) -> None:
            try:
                async for page in self._scan(compiled, include, lower, upper, page_size, False):
                    await results.put(page)
                await results.put(done)
            except Exception as exc:
                await results.put(exc)

        tasks = [asyncio.ensure_future(work(lo, hi)) for lo, hi in plan_ranges(first, total, parallel)]
        finished = 0
        try:
            while finished < len(tasks):
                item = await results.get()
                if item is done:
                    finished += 1
                elif isinstance(item, BaseException):
                    raise item
                else:
                    yield item
        finally:
            for t in tasks:
                t.cancel()
