"""The asynchronous client: `httpx.AsyncClient` under the same protocol core and flows."""

from __future__ import annotations

import asyncio
import inspect
from typing import TYPE_CHECKING, Any, AsyncIterator, Mapping

import httpx

from . import _protocol as proto
from ._base import BaseClient, Call, EntityCore
from ._flow import Failure, Send, Sleep
from ._query import FilterLike
from ._scan import plan_ranges

__all__ = ["AsyncAutotaskClient", "AsyncEntity", "AsyncTransport"]


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

    _entity_class: type["AsyncEntity"]

    @staticmethod
    def _default_transport(timeout: float) -> AsyncTransport:
        return AsyncTransport(timeout)

    if TYPE_CHECKING:
        @classmethod
        def from_env(cls, **overrides: Any) -> "AsyncAutotaskClient": ...
        def entity(self, name: str) -> "AsyncEntity": ...
        def __getattr__(self, name: str) -> "AsyncEntity": ...

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

    async def __aenter__(self) -> "AsyncAutotaskClient":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # driver ------------------------------------------------------------------------------
    async def _run(self, flow: Call) -> Any:
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
        await self._run(self._admission_flow(request))
        lease = await self.governor.acquire_async(request.endpoint or "")
        try:
            return await self._transmit(request)
        finally:
            self.governor.release(lease)

    async def _transmit(self, request: proto.Request) -> proto.Response | Failure:
        rid, started = self._sending(request)
        try:
            result = self.transport.send(request)
            response = await result if inspect.isawaitable(result) else result
        except Exception as exc:
            return self._failed(request, rid, exc)
        return self._received(request, rid, started, response)


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

    async def info_live(self) -> dict[str, Any]:  # type: ignore[override]
        return await self._client._run(self._metadata_flow("info"))

    # internals ---------------------------------------------------------------------------
    async def _fetch(self, compiled: list[dict[str, Any]], include: list[str] | None,
                     after_id: int | None, upper: int | None, page_size: int) -> list[dict[str, Any]]:
        return await self._client._run(self._fetch_flow(compiled, include, after_id, upper, page_size))

    async def _pages(self, filter: FilterLike, fields: list[str] | None, after_id: int | None,
                     page_size: int, parallel: int) -> AsyncIterator[list[dict[str, Any]]]:
        compiled, include, page_size = self._scan_args(filter, fields, page_size, parallel)
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
                if len(items) < page_size or (upper is not None and items[-1]["id"] >= upper):
                    return  # a full page ending on the range's bound: nothing is left in it
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

        tasks = [asyncio.ensure_future(work(lo, hi)) for lo, hi in plan_ranges(first, total, parallel, page_size)]
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
