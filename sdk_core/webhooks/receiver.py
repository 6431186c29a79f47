"""The receiving routes: verify, check, store durably, then answer.

`POST /webhooks/{tenant}/{entity}` takes callouts; `POST /webhooks/{tenant}/{entity}/deactivated`
takes the deactivation callout (`deactivationUrl`; an `Action: Deactivated` payload posted to the
callout route is recorded the same way); `GET /webhooks/_status` shows the counters,
the handler backlog and the store's last seq. Answers: 200 stored or duplicate; 401 missing or
bad signature; 404 unknown tenant or entity; 413 body over the limit; 400 not JSON or a
required key missing; 503 the store could not commit (Autotask retries). Logs name the tenant,
entity and reason, never a secret or a body.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .._extras import require_extra

require_extra("sdk_core.webhooks", "webhooks", "starlette", "uvicorn")

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..change_signals import Change, publish
from .config import Tenant, Tenants
from .entities import REST_ENTITY, canonical_entity
from .events import Incoming, PayloadError, read_payload
from .signature import verify
from .store import EventStore

__all__ = ["Receiver", "DEFAULT_MAX_BODY", "TEST_FAULT_ENV"]

log = logging.getLogger("sdk_core.webhooks.receiver")
DEFAULT_MAX_BODY = 1_000_000
# Test-only: "kill-after-store" (SIGKILL between commit and answer) or "500-after-store"
# (answer 500 once after committing). Unset in production; read once when the app is built.
TEST_FAULT_ENV = "AUTOTASK_WEBHOOKS_TEST_FAULT"


class _TooLarge(Exception):
    pass


@dataclass(frozen=True)
class _Callout:
    """A request to one of the receiving routes, read and checked against the tenant's secrets."""

    tenant: Tenant
    entity: str
    body: bytes
    parsed: Any  # the decoded JSON, None when the body is not JSON (or is JSON null)
    is_json: bool
    signature: str | None
    verified: bool


class GroupCommit:
    """Stores the events of concurrent requests in one transaction (one commit, one fsync).

    While a batch is being committed, newly arrived events wait for the next one, so a busy
    receiver commits many events at once and a quiet one commits each at once. A batch that
    fails is retried one event at a time, so one bad event cannot refuse the others.
    """

    def __init__(self, store: EventStore, max_batch: int = 500):
        self.store = store
        self.max_batch = max_batch
        self._waiting: list[tuple[Incoming, asyncio.Future[int | None]]] = []
        self._running = False
        self._task: asyncio.Task[None] | None = None  # held: the loop keeps only weak references

    async def add(self, incoming: Incoming) -> int | None:
        future: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()
        self._waiting.append((incoming, future))
        if not self._running:
            self._running = True
            self._task = asyncio.get_running_loop().create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        try:
            while self._waiting:
                batch = self._waiting[: self.max_batch]
                del self._waiting[: self.max_batch]
                started = time.perf_counter()
                results: Sequence[int | BaseException | None]
                try:
                    results = await run_in_threadpool(self.store.add_many, [i for i, _ in batch])
                    log.debug(
                        "committed %d event(s) in %.1f ms", len(batch), (time.perf_counter() - started) * 1000
                    )
                except Exception:
                    if len(batch) == 1:
                        raise
                    results = await run_in_threadpool(self._one_by_one, [i for i, _ in batch])
                for (_, future), result in zip(batch, results):
                    if future.done():
                        continue
                    if isinstance(result, BaseException):
                        future.set_exception(result)
                    else:
                        future.set_result(result)
        except Exception as exc:
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
        finally:
            self._running = False
            if self._waiting:  # arrived while the last batch failed
                self._running = True
                self._task = asyncio.get_running_loop().create_task(self._drain())

    def _one_by_one(self, items: list[Incoming]) -> list[int | None | BaseException]:
        out: list[int | None | BaseException] = []
        for item in items:
            try:
                out.append(self.store.add(item))
            except Exception as exc:
                out.append(exc)
        return out


class Receiver:
    """The receiving side of one app: tenants, store, counters."""

    def __init__(
        self,
        store: EventStore,
        tenants: Tenants,
        max_body: int = DEFAULT_MAX_BODY,
        on_stored: Callable[[int], None] | None = None,
        publish_changes: bool = True,
    ):
        self.store = store
        self.tenants = tenants
        self.max_body = max_body
        self.on_stored = on_stored
        self.publish_changes = publish_changes
        self.counters: Counter[str] = Counter()
        self.started = time.time()
        self._commits = GroupCommit(store)
        self._fault = os.environ.get(TEST_FAULT_ENV, "")

    def routes(self) -> list[Route]:
        return [
            Route("/webhooks/_status", self.status, methods=["GET"]),
            Route("/webhooks/{tenant}/{entity}", self.receive, methods=["POST"]),
            Route("/webhooks/{tenant}/{entity}/deactivated", self.deactivated, methods=["POST"]),
        ]

    # helpers -----------------------------------------------------------------------------
    def _target(self, request: Request) -> tuple[Tenant, str] | Response:
        tenant = self.tenants.get(request.path_params["tenant"])
        segment = request.path_params["entity"]
        entity = canonical_entity(segment)
        if tenant is None:
            self.counters["not_found"] += 1
            return _error(404, f"unknown tenant {request.path_params['tenant']!r}")
        if entity is None or entity not in tenant.entities:
            self.counters["not_found"] += 1
            return _error(404, f"tenant {tenant.name!r} takes no webhooks for {segment!r}")
        return tenant, entity

    async def _body(self, request: Request) -> bytes:
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > self.max_body:
            raise _TooLarge
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > self.max_body:
                raise _TooLarge
            chunks.append(chunk)
        return b"".join(chunks)

    async def _callout(self, request: Request) -> _Callout | Response:
        """What both routes check first: tenant and entity (404), body size (413), the JSON
        (None when not JSON) and the signature; the route decides what a bad one means."""
        target = self._target(request)
        if isinstance(target, Response):
            return target
        tenant, entity = target
        try:
            body = await self._body(request)
        except _TooLarge:
            self.counters["too_large"] += 1
            return _error(413, f"the body is larger than {self.max_body} bytes")
        try:
            parsed: Any = json.loads(body)
            is_json = True
        except ValueError:
            parsed, is_json = None, False
        header = request.headers.get("x-hook-signature")
        secrets = [s.reveal() for s in tenant.secrets_for(entity)]
        verified = bool(header) and verify(secrets, body, header, parsed)
        return _Callout(tenant, entity, body, parsed, is_json, header, verified)

    def _refuse_signature(self, request: Request, tenant: Tenant, entity: str, why: str) -> Response:
        self.counters["bad_signature"] += 1
        client = request.client.host if request.client else "?"
        log.warning("refused a webhook for tenant %s entity %s from %s: %s", tenant.name, entity, client, why)
        return _error(401, f"X-Hook-Signature {why}")

    # routes ------------------------------------------------------------------------------
    async def receive(self, request: Request) -> Response:
        self.counters["received"] += 1
        callout = await self._callout(request)
        if isinstance(callout, Response):
            return callout
        tenant, entity, parsed = callout.tenant, callout.entity, callout.parsed
        if not callout.signature:
            return self._refuse_signature(request, tenant, entity, "is missing")
        if not callout.verified:
            return self._refuse_signature(request, tenant, entity, "does not match")
        if parsed is None:
            self.counters["bad_request"] += 1
            return _error(400, "the body is not JSON")
        if isinstance(parsed, dict) and str(parsed.get("Action", "")).lower() == "deactivated":
            return await self._record_deactivation(tenant, entity, parsed, True)
        try:
            incoming = read_payload(parsed, tenant.name, entity)
        except PayloadError as exc:
            self.counters["bad_request"] += 1
            log.warning("refused a webhook for tenant %s entity %s: %s", tenant.name, entity, exc)
            return _error(400, str(exc))
        try:
            seq = await self._commits.add(incoming)
        except Exception as exc:
            self.counters["store_errors"] += 1
            log.error(
                "could not store a webhook for tenant %s entity %s: %s",
                tenant.name,
                entity,
                type(exc).__name__,
            )
            return _error(503, "the event store is unavailable; retry later")
        if seq is None:
            self.counters["duplicates"] += 1
            return JSONResponse({"status": "duplicate"})
        self.counters["stored"] += 1
        if self._fault:
            fault = self._test_fault()
            if fault is not None:
                return fault
        self._stored(seq, incoming)
        return JSONResponse({"status": "stored", "seq": seq})

    def _stored(self, seq: int, incoming: Incoming) -> None:
        log.debug(
            "stored webhook event %s: %s %s %s %s",
            seq,
            incoming.tenant,
            incoming.entity,
            incoming.id,
            incoming.action,
        )
        if self.publish_changes:
            publish(Change(REST_ENTITY[incoming.entity], incoming.id, incoming.action, incoming.tenant))
        if self.on_stored is not None:
            self.on_stored(seq)

    def _test_fault(self) -> Response | None:
        if self._fault == "kill-after-store":
            os.kill(os.getpid(), signal.SIGKILL)
        if self._fault == "500-after-store":
            self._fault = ""
            return _error(500, "test fault: answered 500 after storing")
        return None

    async def deactivated(self, request: Request) -> Response:
        """The deactivation callout: recorded, with whether its signature verified."""
        callout = await self._callout(request)
        if isinstance(callout, Response):
            return callout
        # recorded even unverified (flagged): a webhook deactivated for failing is often one
        # registered with the wrong secret, and this notice is how you find out
        parsed = callout.parsed if callout.is_json else callout.body.decode("utf-8", "replace")
        return await self._record_deactivation(callout.tenant, callout.entity, parsed, callout.verified)

    async def _record_deactivation(
        self, tenant: Tenant, entity: str, parsed: Any, verified: bool
    ) -> Response:
        await run_in_threadpool(self.store.record_deactivation, tenant.name, entity, parsed, verified)
        self.counters["deactivations"] += 1
        log.warning(
            "Autotask deactivated a %s webhook of tenant %s (id %s, signature %s); check "
            "its secret and URL, then re-register or activate it",
            entity,
            tenant.name,
            parsed.get("Id") if isinstance(parsed, dict) else "?",
            "verified" if verified else "NOT verified",
        )
        return JSONResponse({"status": "recorded"})

    async def status(self, request: Request) -> Response:
        backlog, last = await run_in_threadpool(lambda: (self.store.backlog(), self.store.max_seq()))
        return JSONResponse(
            {
                "counters": {
                    k: self.counters[k]
                    for k in (
                        "received",
                        "stored",
                        "duplicates",
                        "bad_signature",
                        "not_found",
                        "too_large",
                        "bad_request",
                        "store_errors",
                        "deactivations",
                    )
                },
                "backlog": backlog,
                "max_seq": last,
                "tenants": self.tenants.names(),
                "up_since": datetime.fromtimestamp(self.started, UTC).isoformat(),
            }
        )


def _error(status: int, message: str) -> Response:
    return JSONResponse({"error": message}, status_code=status)
