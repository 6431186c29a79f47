"""The synchronous client: `requests` under the shared protocol core and flows."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import requests
import urllib3
from requests.adapters import HTTPAdapter

from . import _protocol as proto
from ._base import BaseClient, Call, EntityCore, T
from ._config import Settings
from ._flow import Admit, Failure, Send, Sleep
from ._query import FilterLike
from ._scan import IdRange, ScanPlan, ranges_per_slot
from ._transport import Transport
from .bulk.methods import BulkMethods

__all__ = ["AutotaskClient", "Entity", "RequestsTransport", "SyncTransport"]

Page = list[dict[str, Any]]


class RequestsTransport:
    """The sync client's transport: a pooled `requests.Session` (no retries of its own)."""

    def __init__(self, timeout: float, pool_size: int = 32):
        self.timeout = timeout
        self.session = requests.Session()
        adapter = HTTPAdapter(pool_connections=8, pool_maxsize=pool_size, max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def send(self, request: proto.Request) -> proto.Response:
        r = self.session.request(
            request.method,
            request.url,
            headers=dict(request.headers),
            data=request.content,
            timeout=self.timeout,
            allow_redirects=False,
        )
        return proto.Response(r.status_code, r.headers, r.content)

    @staticmethod
    def failure(exc: BaseException) -> Failure | None:
        """Map a `requests` error; `maybe_sent` is False only for a failed connect."""
        if isinstance(exc, requests.exceptions.ConnectTimeout):
            return Failure(exc, maybe_sent=False)
        if isinstance(exc, requests.exceptions.ConnectionError):
            reason = exc.args[0] if exc.args else None
            reason = getattr(reason, "reason", reason)  # urllib3's MaxRetryError wraps the cause
            never_sent = isinstance(reason, urllib3.exceptions.ConnectTimeoutError) or any(
                s in repr(exc) for s in ("NewConnectionError", "Connection refused", "Failed to resolve")
            )
            return Failure(exc, maybe_sent=not never_sent)
        if isinstance(
            exc,
            (
                requests.exceptions.Timeout,
                requests.exceptions.ChunkedEncodingError,
                requests.exceptions.ContentDecodingError,
            ),
        ):
            return Failure(exc, maybe_sent=True)
        return None

    def close(self) -> None:
        self.session.close()


SyncTransport = RequestsTransport  # its former name


class AutotaskClient(BaseClient):
    """Autotask REST client. Entities: `client.entity("Tickets")`, `client.tickets`, `client.ticket_notes`."""

    _entity_class: type[Entity]
    transport: Transport

    @staticmethod
    def _default_transport(timeout: float) -> RequestsTransport:
        return RequestsTransport(timeout)

    if TYPE_CHECKING:

        @classmethod
        def from_env(cls, **overrides: Any) -> AutotaskClient: ...
        @classmethod
        def from_settings(cls, settings: Settings, **options: Any) -> AutotaskClient: ...
        def entity(self, name: str) -> Entity: ...
        def __getattr__(self, name: str) -> Entity: ...

    def threshold(self) -> dict[str, int]:
        """`{"limit", "timeframe", "used"}` (+ `timeframe_minutes`) from ThresholdInformation."""
        return self._run(self._threshold_flow())

    @property
    def webhooks(self) -> Any:
        """Webhook registration (`sdk_core.webhooks.Webhooks`), loaded on first use."""
        from .webhooks.registration import Webhooks

        return Webhooks(self)

    def close(self) -> None:
        self.transport.close()
        if self.cache is not None:
            self.cache.close()

    def __enter__(self) -> AutotaskClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # driver ------------------------------------------------------------------------------
    def _run(self, flow: Call[T]) -> T:
        outcome: Any = None
        try:
            action = next(flow)
            while True:
                if isinstance(action, Sleep):
                    time.sleep(action.seconds)
                    outcome = None
                elif isinstance(action, Admit):
                    outcome = self.governor.decide()
                else:
                    outcome = self._send(action)
                action = flow.send(outcome)
        except StopIteration as stop:
            result: T = stop.value
            return result

    def _send(self, action: Send) -> proto.Response | Failure:
        request = action.request
        if not request.authenticated:
            return self._transmit(request)
        self._run(self._admission_flow(request))
        lease = self.governor.acquire(request.endpoint or "")
        try:
            return self._transmit(request)
        finally:
            self.governor.release(lease)

    def _transmit(self, request: proto.Request) -> proto.Response | Failure:
        rid, started = self._sending(request)
        try:
            response = self.transport.send(request)
        except Exception as exc:
            return self._failed(request, rid, exc, started)
        return self._received(request, rid, started, response)


class Entity(BulkMethods, EntityCore):
    """One Autotask entity: queries, counts, reads, writes and metadata."""

    _client: AutotaskClient

    def query(
        self,
        filter: FilterLike = None,
        fields: list[str] | None = None,
        *,
        after_id: int | None = None,
        page_size: int = proto.MAX_PAGE_SIZE,
        parallel: int = 1,
    ) -> Iterator[dict[str, Any]]:
        """Every matching row, lazily, in ascending id order (per id range when parallel > 1)."""
        for page in self._pages(filter, fields, after_id, page_size, parallel):
            yield from page

    def pages(
        self,
        filter: FilterLike = None,
        fields: list[str] | None = None,
        *,
        after_id: int | None = None,
        page_size: int = proto.MAX_PAGE_SIZE,
    ) -> Iterator[list[dict[str, Any]]]:
        """One list per API page, ascending ids, so a caller can checkpoint after each."""
        return self._pages(filter, fields, after_id, page_size, 1)

    def count(self, filter: FilterLike = None) -> int:
        return self._client._run(self._count_flow(filter))

    def get(self, id: int, parent_id: int | None = None) -> dict[str, Any] | None:
        return self._client._run(self._get_flow(id, parent_id))

    def create(self, data: Mapping[str, Any], parent_id: int | None = None) -> int:
        return self._client._run(self._write_flow("create", "POST", data, parent_id))

    def update(self, data: Mapping[str, Any], parent_id: int | None = None) -> int:
        """PATCH: only the fields in `data` change (`id` required)."""
        return self._client._run(self._write_flow("patch", "PATCH", data, parent_id))

    def replace(self, data: Mapping[str, Any], parent_id: int | None = None) -> int:
        """PUT: writable fields left out of `data` become null."""
        return self._client._run(self._write_flow("update", "PUT", data, parent_id))

    def delete(self, id: int, parent_id: int | None = None) -> int:
        return self._client._run(self._delete_flow(id, parent_id))

    def fields(self) -> list[dict[str, Any]]:
        """Raw `entityInformation/fields` items (picklists included), cached in memory and on disk."""
        return self._client._run(self._metadata_flow("fields"))

    def udfs(self) -> list[dict[str, Any]]:
        """Raw `entityInformation/userDefinedFields` items, cached ([] when the entity has none)."""
        return self._client._run(self._metadata_flow("udfs"))

    def info_live(self) -> dict[str, Any]:
        """Raw `entityInformation` "info", cached."""
        return self._client._run(self._metadata_flow("info"))

    def to_dataframe(
        self,
        where: FilterLike = None,
        fields: list[Any] | None = None,
        labels: bool = True,
        udfs: str = "columns",
    ) -> Any:
        """A pandas DataFrame of the matching rows (typed columns; see `sdk_core.frames`)."""
        from .frames import entity_frame

        return entity_frame(self, where, fields, labels=labels, udfs=udfs)

    # internals ---------------------------------------------------------------------------
    def _fetch(
        self,
        compiled: list[dict[str, Any]],
        include: list[str] | None,
        after_id: int | None,
        upper: int | None,
        page_size: int,
    ) -> Page:
        return self._client._run(self._fetch_flow(compiled, include, after_id, upper, page_size))

    def _fetch_range(self, plan: ScanPlan, ids: IdRange) -> Page:
        return self._fetch(plan.compiled, plan.include, ids.cursor, ids.upper, plan.page_size)

    def _pages(
        self,
        filter: FilterLike,
        fields: list[str] | None,
        after_id: int | None,
        page_size: int,
        parallel: int,
    ) -> Iterator[Page]:
        compiled, include, page_size = self._scan_args(filter, fields, page_size, parallel)
        per_slot = ranges_per_slot(parallel, self._client.governor.slots(self.name).limit)
        plan = ScanPlan(compiled, include, after_id, page_size, parallel, per_slot)
        if parallel == 1:
            source = self._scan(plan, plan.first(), prefetch=True)
        else:
            source = self._parallel_scan(plan)
        return self._client._cached_pages(self.name, (compiled, include, after_id, page_size), source)

    def _scan(
        self, plan: ScanPlan, ids: IdRange, prefetch: bool, stop: threading.Event | None = None
    ) -> Iterator[Page]:
        """One id range, page by page; with `prefetch`, the next page is read while this one is used."""
        if not prefetch:
            while stop is None or not stop.is_set():
                items = self._fetch_range(plan, ids)
                if items:
                    yield items
                if not ids.advance(items, plan.page_size):
                    return
            return
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"autotask-{self.name}")
        pending: Future[Page] | None = executor.submit(self._fetch_range, plan, ids)
        try:
            while pending is not None:
                items = pending.result()
                pending = None
                if ids.advance(items, plan.page_size):
                    pending = executor.submit(self._fetch_range, plan, ids)
                if items:
                    yield items
        finally:
            if pending is not None:
                pending.cancel()
            executor.shutdown(wait=False, cancel_futures=True)

    def _parallel_scan(self, plan: ScanPlan) -> Iterator[Page]:
        """The first page (with the count beside it), then `plan.split` ranges on threads.

        Pages arrive as they complete: ids ascend within a range, not across ranges.
        """
        with ThreadPoolExecutor(max_workers=1) as probe:  # the count overlaps the first page
            counting = probe.submit(self.count, plan.count_filter)
            first = self._fetch_range(plan, plan.first())
            total = counting.result()
        if first:
            yield first
        ranges = plan.split(first, total)
        if not ranges:
            return
        results: queue.Queue[Any] = queue.Queue(maxsize=2 * len(ranges))
        stop = threading.Event()
        done = object()

        def work(ids: IdRange) -> None:
            try:
                for page in self._scan(plan, ids, False, stop):
                    while not stop.is_set():
                        try:
                            results.put(page, timeout=0.1)
                            break
                        except queue.Full:
                            continue
                results.put(done)
            except BaseException as exc:  # handed to the consumer, raised there
                results.put(exc)

        threads = [
            threading.Thread(target=work, args=(ids,), daemon=True, name=f"autotask-{self.name}-range{i}")
            for i, ids in enumerate(ranges)
        ]
        for t in threads:
            t.start()
        finished = 0
        try:
            while finished < len(threads):
                item = results.get()
                if item is done:
                    finished += 1
                elif isinstance(item, BaseException):
                    raise item
                else:
                    yield item
        finally:
            stop.set()
            while True:  # unblock workers waiting on a full queue
                try:
                    results.get_nowait()
                except queue.Empty:
                    break


AutotaskClient._entity_class = Entity
