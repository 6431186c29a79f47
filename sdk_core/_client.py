"""The synchronous client: `requests` under the shared protocol core and flows."""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable, Iterator, Mapping

import requests
import urllib3
from requests.adapters import HTTPAdapter

from . import _protocol as proto
from ._base import BaseClient, EntityCore
from ._config import Settings, settings_from_env
from ._flow import Failure, Flow, Send, Sleep, request_flow
from ._query import FilterLike
from ._scan import check_page, plan_ranges
from .catalog import Catalog
from .errors import QueryError

__all__ = ["AutotaskClient", "Entity", "SyncTransport"]

log = logging.getLogger("sdk_core.client")


class SyncTransport:
    """The one I/O seam of the sync client: `send(Request) -> Response`."""

    def __init__(self, timeout: float, pool_size: int = 32):
        self.timeout = timeout
        self.session = requests.Session()
        adapter = HTTPAdapter(pool_connections=8, pool_maxsize=pool_size, max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def send(self, request: proto.Request) -> proto.Response:
        r = self.session.request(request.method, request.url, headers=dict(request.headers),
                                 data=request.content, timeout=self.timeout, allow_redirects=False)
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
                s in repr(exc) for s in ("NewConnectionError", "Connection refused", "Failed to resolve"))
            return Failure(exc, maybe_sent=not never_sent)
        if isinstance(exc, (requests.exceptions.Timeout, requests.exceptions.ChunkedEncodingError,
                            requests.exceptions.ContentDecodingError)):
            return Failure(exc, maybe_sent=True)
        return None

    def close(self) -> None:
        self.session.close()


class AutotaskClient(BaseClient):
    """Autotask REST client. Entities: `client.entity("Tickets")`, `client.tickets`, `client.ticket_notes`."""

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
        self.transport = transport or SyncTransport(timeout)
        self._entities: dict[str, Entity] = {}

    @classmethod
    def from_env(cls, **overrides: Any) -> "AutotaskClient":
        """From AUTOTASK_USERNAME, AUTOTASK_SECRET, AUTOTASK_INTEGRATION_CODE (+ optional ones)."""
        s = settings_from_env(**overrides)
        return cls(s.username, s.secret, s.integration_code, s.api_url, s.impersonation_resource_id,
                   s.zone_lookup_url, s.max_api_share, s.max_concurrency, s.redis_url, s.timeout,
                   s.max_retries, cache_dir=s.cache_dir)

    def entity(self, name: str) -> "Entity":
        info = self._entity_info(name)
        found = self._entities.get(info.name)
        if found is None:
            found = self._entities[info.name] = Entity(self, info)
        return found

    def __getattr__(self, name: str) -> "Entity":
        return self.entity(self._attribute_entity(name).name)

    def threshold(self) -> dict[str, int]:
        """`{"limit", "timeframe_minutes", "used"}` from ThresholdInformation (one request)."""
        response = self._run(request_flow(self, lambda root: proto.threshold_request(root, self.credentials)))
        assert response is not None
        value = proto.read_threshold(response)
        self.governor.update_threshold(value)
        return value

    def close(self) -> None:
        self.transport.close()

    def __enter__(self) -> "AutotaskClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # driver ------------------------------------------------------------------------------
    def _run(self, flow: Flow) -> proto.Response | None:
        outcome: Any = None
        try:
            action = next(flow)
            while True:
                if isinstance(action, Sleep):
                    time.sleep(action.seconds)
                    outcome = None
                else:
                    outcome = self._send(action)
                action = flow.send(outcome)
        except StopIteration as stop:
            return stop.value

    def _send(self, action: Send) -> proto.Response | Failure:
        request = action.request
        if not request.authenticated:
            return self._transmit(request)
        governor = self.governor
        if request.endpoint != "ThresholdInformation":
            waited = 0.0
            while True:
                self._refresh_threshold_if_due()
                wait, why = governor.decide()
                if wait <= 0:
                    break
                waited = self._check_budget_wait(waited, wait, why)
                time.sleep(wait)
        else:
            governor.note_sent_unbudgeted()
        lease = governor.acquire(request.endpoint or "")
        try:
            return self._transmit(request)
        finally:
            governor.release(lease)

    def _transmit(self, request: proto.Request) -> proto.Response | Failure:
        self._sent()
        rid = uuid.uuid4().hex[:8]
        started = time.perf_counter()
        try:
            response = self.transport.send(request)
        except Exception as exc:
            failure = self.transport.failure(exc)
            if failure is None:
                raise
            log.debug("request %s %s %s failed: %r", rid, request.method, request.url, exc)
            return failure
        log.debug("request %s %s %s -> %s in %.0f ms", rid, request.method, request.url,
                  response.status_code, (time.perf_counter() - started) * 1000)
        return response

    def _refresh_threshold_if_due(self) -> None:
        governor = self.governor
        if not governor.claim_threshold_refresh():
            return
        try:
            self.threshold()
        except Exception as exc:  # the governor keeps what it knew; the call proceeds
            log.warning("could not read ThresholdInformation (%s); keeping the known limit", exc)
            governor.keep_threshold_defaults()
        finally:
            governor.done_threshold_refresh()


class Entity(EntityCore):
    """One Autotask entity: queries, counts, reads, writes and metadata."""

    _client: AutotaskClient

    def query(self, filter: FilterLike = None, fields: list[str] | None = None, *,
              after_id: int | None = None, page_size: int = proto.MAX_PAGE_SIZE,
              parallel: int = 1) -> Iterator[dict[str, Any]]:
        """Every matching row, lazily, in ascending id order (per id range when parallel > 1)."""
        for page in self._pages(filter, fields, after_id, page_size, parallel):
            yield from page

    def pages(self, filter: FilterLike = None, fields: list[str] | None = None, *,
              after_id: int | None = None, page_size: int = proto.MAX_PAGE_SIZE) -> Iterator[list[dict[str, Any]]]:
        """One list per API page, ascending ids, so a caller can checkpoint after each."""
        return self._pages(filter, fields, after_id, page_size, 1)

    def count(self, filter: FilterLike = None) -> int:
        self._require_query()
        response = self._client._run(request_flow(self._client, self._count_builder(self._filter(filter))))
        assert response is not None
        return proto.read_count(response)

    def get(self, id: int, parent_id: int | None = None) -> dict[str, Any] | None:
        response = self._client._run(request_flow(self._client, self._get_builder(id, parent_id),
                                                  not_found_ok=True))
        return None if response is None else proto.read_item(response)

    def create(self, data: Mapping[str, Any], parent_id: int | None = None) -> int:
        return self._write("create", "POST", data, parent_id)

    def update(self, data: Mapping[str, Any], parent_id: int | None = None) -> int:
        """PATCH: only the fields in `data` change (`id` required)."""
        return self._write("patch", "PATCH", data, parent_id)

    def replace(self, data: Mapping[str, Any], parent_id: int | None = None) -> int:
        """PUT: writable fields left out of `data` become null."""
        return self._write("update", "PUT", data, parent_id)

    def delete(self, id: int, parent_id: int | None = None) -> int:
        response = self._client._run(request_flow(self._client, self._delete_builder(id, parent_id)))
        return id if response is None else proto.read_item_id(response)

    def fields(self) -> list[dict[str, Any]]:
        """Raw `entityInformation/fields` items (picklists included), cached in memory and on disk."""
        return self._metadata("fields")

    def udfs(self) -> list[dict[str, Any]]:
        """Raw `entityInformation/userDefinedFields` items, cached ([] when the entity has none)."""
        if not self._info.has_udf_endpoint:
            return []
        return self._metadata("udfs")

    def info_live(self) -> dict[str, Any]:
        """Raw `entityInformation` "info", cached."""
        return self._metadata("info")

    # internals ---------------------------------------------------------------------------
    def _write(self, verb: str, method: str, data: Mapping[str, Any], parent_id: int | None) -> int:
        response = self._client._run(request_flow(self._client, self._write_builder(verb, method, data, parent_id)))
        assert response is not None
        return proto.read_item_id(response)

    def _metadata(self, kind: str) -> Any:
        client = self._client
        cached = client._cached_metadata(self.name, kind)
        if cached is not None:
            return cached
        builder = self._metadata_builder(kind)
        response = client._run(request_flow(client, builder))
        assert response is not None
        value = proto.read_metadata(response, kind)
        client._store_metadata(self.name, kind, value)
        return value

    def _fetch(self, compiled: list[dict[str, Any]], include: list[str] | None, after_id: int | None,
               upper: int | None, page_size: int) -> list[dict[str, Any]]:
        builder = self._query_builder(compiled, include, after_id, upper, page_size)
        response = self._client._run(request_flow(self._client, builder))
        assert response is not None
        items, _ = proto.read_query(response)
        check_page(self.name, items, after_id)
        return items

    def _pages(self, filter: FilterLike, fields: list[str] | None, after_id: int | None,
               page_size: int, parallel: int) -> Iterator[list[dict[str, Any]]]:
        self._require_query()
        compiled, include = self._filter(filter), self._include(fields)
        page_size = self._page_size(page_size)
        if not isinstance(parallel, int) or not 1 <= parallel <= self._client.settings.max_concurrency:
            raise QueryError(f"parallel must be between 1 and max_concurrency "
                             f"({self._client.settings.max_concurrency}), not {parallel!r}")
        if parallel == 1:
            return self._scan(compiled, include, after_id, None, page_size, prefetch=True)
        return self._parallel_scan(compiled, include, after_id, page_size, parallel)

    def _scan(self, compiled: list[dict[str, Any]], include: list[str] | None, after_id: int | None,
              upper: int | None, page_size: int, prefetch: bool,
              stop: threading.Event | None = None) -> Iterator[list[dict[str, Any]]]:
        """Id-cursor paging; with `prefetch`, the next page is fetched while this one is consumed."""
        fetch: Callable[[int | None], list[dict[str, Any]]] = (
            lambda cursor: self._fetch(compiled, include, cursor, upper, page_size))
        if not prefetch:
            cursor = after_id
            while stop is None or not stop.is_set():
                items = fetch(cursor)
                if items:
                    yield items
                if len(items) < page_size:
                    return
                cursor = items[-1]["id"]
            return
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"autotask-{self.name}")
        pending: Future[list[dict[str, Any]]] | None = executor.submit(fetch, after_id)
        try:
            while pending is not None:
                items = pending.result()
                pending = None
                if len(items) >= page_size:
                    pending = executor.submit(fetch, items[-1]["id"])
                if items:
                    yield items
        finally:
            if pending is not None:
                pending.cancel()
            executor.shutdown(wait=False, cancel_futures=True)

    def _parallel_scan(self, compiled: list[dict[str, Any]], include: list[str] | None,
                       after_id: int | None, page_size: int, parallel: int) -> Iterator[list[dict[str, Any]]]:
        """Split the id range into `parallel` ranges fetched concurrently.

        Costs one extra request (a count) plus at most one short page per extra range.
        Pages arrive as they complete: ids ascend within a range, not across ranges.
        """
        count_filter = compiled + ([{"op": "gt", "field": "id", "value": after_id}]
                                   if after_id is not None else [])
        with ThreadPoolExecutor(max_workers=1) as probe:  # the count overlaps the first page
            counting = probe.submit(self.count, count_filter)
            first = self._fetch(compiled, include, after_id, None, page_size)
            total = counting.result()
        if first:
            yield first
        if len(first) < page_size:
            return
        ranges = plan_ranges(first, total, parallel)
        results: queue.Queue[Any] = queue.Queue(maxsize=2 * parallel)
        stop = threading.Event()
        done = object()

        def work(lower: int, upper: int | None) -> None:
            try:
                for page in self._scan(compiled, include, lower, upper, page_size, False, stop):
                    while not stop.is_set():
                        try:
                            results.put(page, timeout=0.1)
                            break
                        except queue.Full:
                            continue
                results.put(done)
            except BaseException as exc:  # handed to the consumer, raised there
                results.put(exc)

        threads = [threading.Thread(target=work, args=r, daemon=True,
                                    name=f"autotask-{self.name}-range{i}") for i, r in enumerate(ranges)]
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

