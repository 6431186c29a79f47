"""The asynchronous client: `httpx.AsyncClient` under the same protocol core and flows."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any

import httpx

from . import _protocol as proto
from ._base import BaseClient, Call, EntityCore, T
from ._config import Settings
from ._flow import Admit, Failure, Send, Sleep
from ._query import FilterLike
from ._scan import IdRange, ScanPlan, ranges_per_slot
from ._transport import AsyncTransport
from .bulk.methods import AsyncBulkMethods

__all__ = ["AsyncAutotaskClient", "AsyncEntity", "HTTPXTransport"]

Page = list[dict[str, Any]]


class HTTPXTransport:
    """The async client's transport: a pooled `httpx.AsyncClient` (no retries of its own)."""

    def __init__(self, timeout: float, pool_size: int = 32):
        self.client = httpx.AsyncClient(
            timeout=timeout,
            follow_redirects=False,
            limits=httpx.Limits(max_connections=pool_size, max_keepalive_connections=pool_size),
        )

    async def send(self, request: proto.Request) -> proto.Response:
        r = await self.client.request(
            request.method, request.url, headers=dict(request.headers), content=request.content
        )
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

    _entity_class: type[AsyncEntity]
    transport: AsyncTransport

    @staticmethod
    def _default_transport(timeout: float) -> HTTPXTransport:
        return HTTPXTransport(timeout)

    if TYPE_CHECKING:

        @classmethod
        def from_env(cls, **overrides: Any) -> AsyncAutotaskClient: ...
        @classmethod
        def from_settings(cls, settings: Settings, **options: Any) -> AsyncAutotaskClient: ...
        def entity(self, name: str) -> AsyncEntity: ...
        def __getattr__(self, name: str) -> AsyncEntity: ...

    async def threshold(self) -> dict[str, int]:
        """`{"limit", "timeframe", "used"}` (+ `timeframe_minutes`) from ThresholdInformation."""
        return await self._run(self._threshold_flow())

    @property
    def webhooks(self) -> Any:
        """Webhook registration (`sdk_core.webhooks.AsyncWebhooks`), loaded on first use."""
        from .webhooks.registration import AsyncWebhooks

        return AsyncWebhooks(self)

    async def close(self) -> None:
        result = self.transport.close()
        if inspect.isawaitable(result):
            await result
        if self.cache is not None:
            self.cache.close()

    async def __aenter__(self) -> AsyncAutotaskClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # driver ------------------------------------------------------------------------------
    async def _run(self, flow: Call[T]) -> T:
        outcome: Any = None
        try:
            action = next(flow)
            while True:
                if isinstance(action, Sleep):
                    await asyncio.sleep(action.seconds)
                    outcome = None
                elif isinstance(action, Admit):
                    outcome = await self.governor.decide_async()
                else:
                    outcome = await self._send(action)
                action = flow.send(outcome)
        except StopIteration as stop:
            result: T = stop.value
            return result

    async def _send(self, action: Send) -> proto.Response | Failure:
        request = action.request
        if not request.authenticated:
            return await self._transmit(request)
        await self._run(self._admission_flow(request))
        lease = await self.governor.acquire_async(request.endpoint or "")
        try:
            return await self._transmit(request)
        finally:
            await self.governor.release_async(lease)

    async def _transmit(self, request: proto.Request) -> proto.Response | Failure:
        rid, started = self._sending(request)
        try:
            result = self.transport.send(request)
            response = await result if inspect.isawaitable(result) else result
        except Exception as exc:
            return self._failed(request, rid, exc, started)
        return self._received(request, rid, started, response)


class AsyncEntity(AsyncBulkMethods, EntityCore):
    """One Autotask entity, awaited."""

    _client: AsyncAutotaskClient

    async def query(
        self,
        filter: FilterLike = None,
        fields: list[str] | None = None,
        *,
        after_id: int | None = None,
        page_size: int = proto.MAX_PAGE_SIZE,
        parallel: int = 1,
    ) -> AsyncIterator[dict[str, Any]]:
        async for page in self._pages(filter, fields, after_id, page_size, parallel):
            for row in page:
                yield row

    def pages(
        self,
        filter: FilterLike = None,
        fields: list[str] | None = None,
        *,
        after_id: int | None = None,
        page_size: int = proto.MAX_PAGE_SIZE,
    ) -> AsyncIterator[list[dict[str, Any]]]:
        return self._pages(filter, fields, after_id, page_size, 1)

    async def count(self, filter: FilterLike = None) -> int:
        return await self._client._run(self._count_flow(filter))

    async def get(self, id: int, parent_id: int | None = None) -> dict[str, Any] | None:
        return await self._client._run(self._get_flow(id, parent_id))

    async def create(self, data: Mapping[str, Any], parent_id: int | None = None) -> int:
        return await self._client._run(self._write_flow("create", "POST", data, parent_id))

    async def update(self, data: Mapping[str, Any], parent_id: int | None = None) -> int:
        return await self._client._run(self._write_flow("patch", "PATCH", data, parent_id))

    async def replace(self, data: Mapping[str, Any], parent_id: int | None = None) -> int:
        return await self._client._run(self._write_flow("update", "PUT", data, parent_id))

    async def delete(self, id: int, parent_id: int | None = None) -> int:
        return await self._client._run(self._delete_flow(id, parent_id))

    async def fields(self) -> list[dict[str, Any]]:
        return await self._client._run(self._metadata_flow("fields"))

    async def udfs(self) -> list[dict[str, Any]]:
        return await self._client._run(self._metadata_flow("udfs"))

    async def info_live(self) -> dict[str, Any]:  # the awaitable twin of EntityCore.info_live
        return await self._client._run(self._metadata_flow("info"))

    async def to_dataframe(
        self,
        where: FilterLike = None,
        fields: list[Any] | None = None,
        labels: bool = True,
        udfs: str = "columns",
    ) -> Any:
        from .frames import entity_frame_async

        return await entity_frame_async(self, where, fields, labels=labels, udfs=udfs)

    # internals ---------------------------------------------------------------------------
    async def _fetch(
        self,
        compiled: list[dict[str, Any]],
        include: list[str] | None,
        after_id: int | None,
        upper: int | None,
        page_size: int,
    ) -> Page:
        return await self._client._run(self._fetch_flow(compiled, include, after_id, upper, page_size))

    async def _fetch_range(self, plan: ScanPlan, ids: IdRange) -> Page:
        return await self._fetch(plan.compiled, plan.include, ids.cursor, ids.upper, plan.page_size)

    async def _pages(
        self,
        filter: FilterLike,
        fields: list[str] | None,
        after_id: int | None,
        page_size: int,
        parallel: int,
    ) -> AsyncIterator[Page]:
        compiled, include, page_size = self._scan_args(filter, fields, page_size, parallel)
        per_slot = ranges_per_slot(parallel, self._client.governor.slots(self.name).limit)
        plan = ScanPlan(compiled, include, after_id, page_size, parallel, per_slot)
        if parallel == 1:
            source = self._scan(plan, plan.first(), prefetch=True)
        else:
            source = self._parallel_scan(plan)
        cache = self._client.cache
        parts = (compiled, include, after_id, page_size)
        async for page in source if cache is None else cache.apages(self.name, parts, source):
            yield page

    async def _scan(self, plan: ScanPlan, ids: IdRange, prefetch: bool) -> AsyncIterator[Page]:
        """One id range, page by page; with `prefetch`, the next page is read while this one is used."""
        if not prefetch:
            while True:
                items = await self._fetch_range(plan, ids)
                if items:
                    yield items
                if not ids.advance(items, plan.page_size):
                    return
        pending: asyncio.Task[Page] | None = asyncio.ensure_future(self._fetch_range(plan, ids))
        try:
            while pending is not None:
                items = await pending
                pending = None
                if ids.advance(items, plan.page_size):
                    pending = asyncio.ensure_future(self._fetch_range(plan, ids))
                if items:
                    yield items
        finally:
            if pending is not None:
                pending.cancel()

    async def _parallel_scan(self, plan: ScanPlan) -> AsyncIterator[Page]:
        """The first page (with the count beside it), then `plan.split` ranges as tasks."""
        total, first = await asyncio.gather(  # the count overlaps the first page
            self.count(plan.count_filter), self._fetch_range(plan, plan.first())
        )
        if first:
            yield first
        ranges = plan.split(first, total)
        if not ranges:
            return
        results: asyncio.Queue[Any] = asyncio.Queue(maxsize=2 * len(ranges))
        done = object()

        async def work(ids: IdRange) -> None:
            try:
                async for page in self._scan(plan, ids, False):
                    await results.put(page)
                await results.put(done)
            except Exception as exc:
                await results.put(exc)

        tasks = [asyncio.ensure_future(work(ids)) for ids in ranges]
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


AsyncAutotaskClient._entity_class = AsyncEntity
