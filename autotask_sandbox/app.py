"""The ASGI application: the emulated Autotask REST API plus the `/_sandbox/` admin path.

Request flow for an Autotask route: zone check (401) -> ZoneInformation (no auth) -> auth
headers (401 / 500 for a wrong integration code) -> route (404/405) -> hourly threshold (429)
-> thread limit per (integration code, entity) (429, Itgenatr005) -> injected faults ->
latency (`latency_ms`, threshold bands; always `asyncio.sleep`) -> handler. Handlers are small
functions named after the API's operations; the backend owns state and raises the API's errors.
Backend calls leave the event loop: reads run in a pool of `READ_THREADS` threads (one read-only
SQLite connection each, concurrent under WAL), writes and actions in one writer thread (and the
backend's lock), so slow or concurrent requests never serialise on the loop.
"""

from __future__ import annotations

import asyncio
import json
import logging
import urllib.parse
from collections import Counter
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response

from . import actions, metadata
from .admin import admin_routes, attach_extensions
from .backend import MAX_PAGE, Backend
from .errors import ApiError, FrameworkError, no_route, unauthorized
from .faults import FaultPlan
from .limits import RequestWindow, ThreadLimiter, band_latency, threshold_exceeded
from .routing import Match, NoRoute, Router
from .settings import (  # noqa: F401 (the defaults are still importable from here)
    DEFAULT_INTEGRATION_CODE,
    DEFAULT_SECRET,
    DEFAULT_USERNAME,
    Settings,
)

log = logging.getLogger(__name__)
ZONE_NAMES = {
    "webservices14": "America East 2",
    "webservices2": "Pre Release",
    "webservices3": "America East",
    "webservices5": "America West",
}
READ_THREADS = 4


class Stats:
    """Request counters for `GET /_sandbox/stats`."""

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        self.by_endpoint: Counter[tuple[str, str]] = Counter()
        self.total = 0
        self.rejected: Counter[str] = Counter()
        self.faults: Counter[str] = Counter()

    def as_json(self) -> dict[str, Any]:
        endpoints: dict[str, dict[str, int]] = {}
        for (endpoint, verb), n in sorted(self.by_endpoint.items()):
            endpoints.setdefault(endpoint, {})[verb] = n
        return {
            "total": self.total,
            "endpoints": endpoints,
            "rejected": {
                "thread_limit": self.rejected["thread_limit"],
                "threshold": self.rejected["threshold"],
                "fault": sum(self.faults.values()),
            },
            "faults": dict(self.faults),
        }


class Sandbox:
    """Everything one running sandbox holds: backend, settings, limits, faults, counters."""

    def __init__(self, backend: Backend, settings: Settings):
        self.backend = backend
        self.settings = settings
        self.router = Router(backend.catalog)
        self.window = RequestWindow()
        self.limiter = ThreadLimiter(settings.thread_limit)
        self.fault_plan = FaultPlan(settings.faults, settings.seed)
        self.stats = Stats()
        self.readers = ThreadPoolExecutor(READ_THREADS, thread_name_prefix="sandbox-read")
        self.writer = ThreadPoolExecutor(1, thread_name_prefix="sandbox-write")

    async def read(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """`fn(*args, **kwargs)` on a reader thread (the backend's read-only connections)."""
        return await asyncio.get_running_loop().run_in_executor(self.readers, partial(fn, *args, **kwargs))

    async def write(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """`fn(*args, **kwargs)` on the writer thread: writes stay serialised, the loop free."""
        return await asyncio.get_running_loop().run_in_executor(self.writer, partial(fn, *args, **kwargs))

    def set_faults(self, spec: Any) -> None:
        self.fault_plan = FaultPlan(spec, self.settings.seed)
        self.settings.faults = spec

    def configure(self, **changes: Any) -> None:
        """Change mutable settings; `SettingError` (naming the setting) changes none."""
        self.settings.change(changes)
        self.limiter.limit = self.settings.thread_limit

    def reset(self) -> None:
        self.backend.reset()
        self.window.clear()
        self.stats.clear()
        self.fault_plan = FaultPlan(self.settings.faults, self.settings.seed)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps(body), status_code=status, headers=headers, media_type="application/json; charset=utf-8"
    )


@dataclass
class Call:
    """One API request as handlers see it."""

    request: Request
    sandbox: Sandbox
    match: Match
    api_root: str  # http://host/{zone}/ATServicesRest/
    person_id: int | None
    impersonating: bool
    body: Any = None

    @property
    def backend(self) -> Backend:
        return self.sandbox.backend

    @property
    def entity(self) -> Any:
        return self.match.entity


Handler = Callable[[Call], Awaitable[Response]]
HANDLERS: dict[str, Handler] = {}


def operation(name: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        HANDLERS[name] = fn
        return fn

    return register


# -- query model ------------------------------------------------------------------------------
def query_model(raw: Any) -> tuple[Any, list[str] | None, int]:
    """(filter, includeFields, maxRecords) from a QueryModel; property names case-insensitive."""
    if isinstance(raw, (str, bytes)):
        try:
            raw = json.loads(raw) if raw else {}
        except ValueError as exc:
            raise ApiError(500, f"The query is not valid JSON: {exc}.") from exc
    if not isinstance(raw, dict):
        raise ApiError(500, "The query must be a JSON object with a 'filter' list.")
    model = {str(k).lower(): v for k, v in raw.items()}
    max_records = model.get("maxrecords")
    if max_records is None:
        max_records = MAX_PAGE
    if isinstance(max_records, str) and max_records.strip().lstrip("-").isdigit():
        max_records = int(max_records)
    return model.get("filter"), model.get("includefields"), max_records


def page_url(call: Call, paging: dict[str, Any], search: str | None) -> str:
    url = (
        f"{call.api_root}V1.0/{call.entity.name}/query/next?paging="
        f"{urllib.parse.quote(json.dumps(paging, separators=(',', ':')), safe='')}"
    )
    if search is not None:
        url += f"&search={urllib.parse.quote(search, safe='')}"
    return url


def page_response(
    call: Call,
    raw: Any,
    search: str | None,
    *,
    after_id: int | None = None,
    before_id: int | None = None,
    page_size: int | None = None,
) -> Response:
    flt, include, max_records = query_model(raw)
    if page_size is not None:
        max_records = page_size
    page = call.backend.query(
        call.entity.name, flt, include, max_records, after_id=after_id, before_id=before_id
    )
    size = max_records
    next_url = prev_url = None
    if page.ids:
        more_after = page.has_more if before_id is None else True
        more_before = page.has_more if before_id is not None else after_id is not None
        if more_after:
            next_url = page_url(call, {"pageSize": size, "nextIds": [page.ids[-1]]}, search)
        if more_before:
            prev_url = page_url(call, {"pageSize": size, "previousIds": [page.ids[0]]}, search)
    details = orjson.dumps(
        {"count": len(page.raw), "requestCount": size, "prevPageUrl": prev_url, "nextPageUrl": next_url}
    )
    body = b'{"items":[' + ",".join(page.raw).encode() + b'],"pageDetails":' + details + b"}"
    return Response(body, media_type="application/json; charset=utf-8")


async def read_json(call: Call) -> Any:
    body = await call.request.body()
    if not body.strip():
        return None
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ApiError(500, f"The request body is not valid JSON: {exc}.") from exc


# -- handlers: queries ------------------------------------------------------------------------
@operation("query")
async def query(call: Call) -> Response:
    if call.request.method == "GET":
        search = call.request.query_params.get("search")
        if search is None:
            raise ApiError(500, "The 'search' query parameter is required for GET queries.")
        return await call.sandbox.read(page_response, call, search, search)
    return await call.sandbox.read(page_response, call, await read_json(call), None)


@operation("query_next")
async def query_next(call: Call) -> Response:
    params = call.request.query_params
    try:
        paging = {str(k).lower(): v for k, v in json.loads(params.get("paging", "")).items()}
        size = int(paging.get("pagesize", MAX_PAGE))
    except (ValueError, AttributeError, TypeError) as exc:
        raise ApiError(
            500, "The 'paging' parameter is missing or invalid; follow nextPageUrl as given."
        ) from exc
    search = params.get("search")
    if call.request.method == "GET":
        if search is None:  # a POST-originated cursor: ASP.NET rejects the verb
            raise FrameworkError(405, "The requested resource does not support http method 'GET'.")
        raw: Any = search
    else:
        raw = await read_json(call) if search is None else search
    next_ids, prev_ids = paging.get("nextids") or [], paging.get("previousids") or []
    cursor: dict[str, int] = {}
    if next_ids:
        cursor["after_id"] = int(next_ids[-1])
    elif prev_ids:
        cursor["before_id"] = int(prev_ids[0])
    return await call.sandbox.read(page_response, call, raw, search, page_size=size, **cursor)


@operation("count")
async def count(call: Call) -> Response:
    raw = call.request.query_params.get("search") if call.request.method == "GET" else await read_json(call)
    flt, _, _ = query_model(raw)
    return json_response({"queryCount": await call.sandbox.read(call.backend.count, call.entity.name, flt)})


@operation("get")
async def get(call: Call) -> Response:
    item = await call.sandbox.read(call.backend.get, call.entity.name, call.match.ids["id"])
    return item_response(call, item)


def item_response(call: Call, item: dict[str, Any] | None) -> Response:
    if item is None and not call.sandbox.settings.get_missing_as_null_item:
        internal = Backend.internal(call.entity)
        return json_response({"errors": [f"Unable to find {internal} with id {call.match.ids['id']}."]}, 404)
    return json_response({"item": item})


@operation("child_list")
async def child_list(call: Call) -> Response:
    parent = call.match.parent
    assert parent is not None  # the router matches child routes only under a parent
    items = await call.sandbox.read(
        call.backend.children, call.entity.name, parent.name, call.match.ids["parent_id"]
    )
    return json_response(
        {
            "items": items,
            "pageDetails": {
                "count": len(items),
                "requestCount": MAX_PAGE,
                "prevPageUrl": None,
                "nextPageUrl": None,
            },
        }
    )


@operation("child_get")
async def child_get(call: Call) -> Response:
    parent = call.match.parent
    assert parent is not None  # the router matches child routes only under a parent
    item = await call.sandbox.read(call.backend.get, call.entity.name, call.match.ids["id"])
    fk = call.backend.parent_field(call.entity, parent.name)
    if item is not None and fk and item.get(fk) != call.match.ids["parent_id"]:
        item = None
    return item_response(call, item)


# -- handlers: writes -------------------------------------------------------------------------
def parent_of(call: Call) -> tuple[str, int] | None:
    return (call.match.parent.name, call.match.ids["parent_id"]) if call.match.parent else None


@operation("create")
@operation("child_create")
async def create(call: Call) -> Response:
    body = await read_json(call) if call.request.method != "GET" else {}
    new_id = await call.sandbox.write(
        call.backend.create,
        call.entity.name,
        body or {},
        parent=parent_of(call),
        person_id=call.person_id,
        impersonating=call.impersonating,
    )
    return json_response({"itemId": new_id})


async def _update(call: Call, sparse: bool) -> Response:
    body = await read_json(call)
    if not isinstance(body, dict):
        raise ApiError(500, "The request body must be a JSON object including the record's id.")
    id_ = next((v for k, v in body.items() if str(k).lower() == "id"), None)
    if id_ is None:
        raise ApiError(500, "The id of the record to update is required in the request body.")
    try:
        id_ = int(id_)
    except (TypeError, ValueError) as exc:
        raise ApiError(500, f"The id {id_!r} is not a valid record id.") from exc
    await call.sandbox.write(
        call.backend.update,
        call.entity.name,
        id_,
        body,
        sparse=sparse,
        parent=parent_of(call),
        person_id=call.person_id,
        impersonating=call.impersonating,
    )
    return json_response({"itemId": id_})


@operation("update")
@operation("child_update")
async def update(call: Call) -> Response:
    return await _update(call, sparse=False)


@operation("patch")
@operation("child_patch")
async def patch(call: Call) -> Response:
    return await _update(call, sparse=True)


@operation("delete")
@operation("child_delete")
async def delete(call: Call) -> Response:
    deleted = await call.sandbox.write(
        call.backend.delete,
        call.entity.name,
        call.match.ids["id"],
        parent=parent_of(call),
        person_id=call.person_id,
    )
    return json_response({"itemId": deleted})


# -- handlers: metadata and services ----------------------------------------------------------
@operation("entity_information")
async def entity_information(call: Call) -> Response:
    return json_response({"info": metadata.entity_information(call.entity)})


@operation("fields")
async def fields(call: Call) -> Response:
    return json_response({"fields": await call.sandbox.read(metadata.fields, call.backend, call.entity)})


@operation("user_defined_fields")
async def user_defined_fields(call: Call) -> Response:
    return json_response(
        {"fields": await call.sandbox.read(metadata.user_defined_fields, call.backend, call.entity)}
    )


@operation("ThresholdInformation")
async def threshold_information(call: Call) -> Response:
    return json_response(
        {
            "externalRequestThreshold": call.sandbox.settings.threshold,
            "requestThresholdTimeframe": 60,
            "currentTimeframeRequestCount": call.sandbox.window.count(),
        }
    )


@operation("Version")
async def version(call: Call) -> Response:
    return json_response(
        {"majorVersion": "2026", "minorVersion": "1", "build": "sandbox", "customerType": "Sandbox"}
    )


@operation("EntityInformation")
async def all_entity_information(call: Call) -> Response:
    return json_response(
        {"entityDescriptions": [{"info": metadata.entity_information(e)} for e in call.backend.catalog]}
    )


@operation("Modules")
async def modules(call: Call) -> Response:
    return json_response({"modules": [{"key": k, "value": True} for k in (24, 36, 65, 74, 81)]})


async def run_action(call: Call) -> Response:
    """The non-CRUD operations of `actions` (one handler; the match names the action)."""
    body = await read_json(call) if call.request.method in ("POST", "PUT") else None
    return json_response(
        await call.sandbox.write(
            actions.perform, call.match.operation, call.backend, call.match.ids["path"], body, call.person_id
        )
    )


for _action in actions.PERFORMERS:
    HANDLERS.setdefault(_action, run_action)


# -- the API entry point ----------------------------------------------------------------------
class AutotaskApi:
    """Raw ASGI app for everything outside `/_sandbox/`."""

    def __init__(self, sandbox: Sandbox):
        self.sandbox = sandbox

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        try:
            response = await self.handle(request, receive)
        except (ApiError, FrameworkError) as exc:
            response = json_response(exc.body(), exc.status, getattr(exc, "headers", None))
        except _Reset:
            await _abort(receive)
            return
        except Exception as exc:  # an emulator bug: answer like the API does, log the cause
            log.exception("unhandled error for %s %s", request.method, request.url.path)
            response = json_response({"errors": [f"Internal sandbox error: {exc}"]}, 500)
        await response(scope, receive, send)

    async def handle(self, request: Request, receive: Any) -> Response:
        sb, settings = self.sandbox, self.sandbox.settings
        parts = [p for p in request.url.path.split("/") if p]
        lower = [p.lower() for p in parts]
        if "atservicesrest" not in lower:
            raise no_route(str(request.url))
        at = lower.index("atservicesrest")
        zone, rest = parts[:at], parts[at + 1 :]
        host = request.headers.get("host", f"127.0.0.1:{request.url.port}")
        api_root = f"{request.url.scheme}://{host}/{settings.zone}/ATServicesRest/"
        if [r.lower() for r in rest] == ["v1.0", "zoneinformation"]:
            return self.zone_information(request, host, api_root)
        if [z.lower() for z in zone] != [settings.zone.lower()]:
            raise unauthorized()
        person_id, impersonating = self.authenticate(request)
        if [r.lower() for r in rest] == ["versioninformation"]:
            match = Match("VersionInformation", bucket="VersionInformation")
        elif rest and rest[0].lower() == "v1.0":
            try:
                match = sb.router.resolve(request.method, rest[1:])
            except NoRoute as exc:
                raise no_route(str(request.url)) from exc
        else:
            raise no_route(str(request.url))
        count = sb.window.count()
        if settings.threshold and count >= settings.threshold:
            sb.stats.rejected["threshold"] += 1
            raise threshold_exceeded(settings.threshold, sb.window.seconds_until_free())
        sb.window.add()
        sb.stats.total += 1
        sb.stats.by_endpoint[(match.bucket, match.operation)] += 1
        try:
            with sb.limiter.slot(settings.integration_code, match.bucket):
                return await self.run(request, match, api_root, person_id, impersonating, count)
        except ApiError as exc:
            if "Itgenatr005" in exc.messages[0]:
                sb.stats.rejected["thread_limit"] += 1
            raise

    async def run(
        self,
        request: Request,
        match: Match,
        api_root: str,
        person_id: int | None,
        impersonating: bool,
        count: int,
    ) -> Response:
        sb, settings = self.sandbox, self.sandbox.settings
        fault = sb.fault_plan.draw()
        delay = settings.latency_ms / 1000
        if settings.latency_bands:
            delay += band_latency(count, settings.threshold)
        if fault is not None:
            sb.stats.faults[fault.kind] += 1
            if fault.kind == "slow":
                delay += fault.ms / 1000
        if delay:
            await asyncio.sleep(delay)
        if fault is not None and fault.kind == "reset":
            raise _Reset()
        if fault is not None and fault.kind == "429":
            retry = max(1, round(fault.ms / 1000))
            raise ApiError(
                429,
                "Request rate limit exceeded (injected by the sandbox). Retry later.",
                headers={"Retry-After": str(retry)},
            )
        if fault is not None and fault.kind == "500":
            raise ApiError(500, "An unexpected error occurred (injected by the sandbox).")
        try:
            if match.operation == "VersionInformation":
                response = json_response({"apiVersions": ["1.0"]})
            else:
                handler = HANDLERS[match.operation]
                response = await handler(Call(request, sb, match, api_root, person_id, impersonating))
        except (ApiError, FrameworkError):
            if fault is not None and fault.kind == "reset-after":
                raise _Reset() from None  # the error answer is lost too
            raise
        if fault is not None and fault.kind == "reset-after":
            raise _Reset()  # processed and committed; the answer never reaches the client
        return response

    def authenticate(self, request: Request) -> tuple[int | None, bool]:
        settings, headers = self.sandbox.settings, request.headers  # case-insensitive names
        user, secret = headers.get("username"), headers.get("secret")
        code = headers.get("apiintegrationcode")
        if not user or not secret or not code:
            raise unauthorized()
        if user.lower() != settings.username.lower() or secret != settings.secret:
            raise unauthorized()
        if code != settings.integration_code:
            raise ApiError(500, "IntegrationCode is invalid.")
        raw = headers.get("impersonationresourceid")
        if raw is None or raw == "":
            return self.sandbox.backend.api_resource_id, False
        try:
            resource = int(raw)
        except ValueError as exc:
            raise ApiError(500, f"ImpersonationResourceId '{raw}' is not a resource id.") from exc
        if resource == self.sandbox.backend.api_resource_id:
            raise ApiError(
                500,
                "API-only users cannot be impersonated; give the id of an active "
                "resource in ImpersonationResourceId.",
            )
        if not self.sandbox.backend.is_active_resource(resource):
            raise ApiError(
                500, f"ImpersonationResourceId {resource} is not an active resource that can be impersonated."
            )
        return resource, True

    def zone_information(self, request: Request, host: str, api_root: str) -> Response:
        settings = self.sandbox.settings
        user = request.query_params.get("user", "")
        if user.lower() != settings.username.lower():
            raise ApiError(500, "Zone information could not be determined")
        return json_response(
            {
                "zoneName": ZONE_NAMES.get(settings.zone.lower(), f"Sandbox ({settings.zone})"),
                "url": api_root,
                "webUrl": f"{request.url.scheme}://{host}/",
                "ci": 30000 + settings.seed,
            }
        )


class _Reset(Exception):
    """Abort the connection without a response (fault injection)."""


async def _abort(receive: Any) -> None:
    # uvicorn passes a bound method of its request cycle; its transport is the connection.
    transport = getattr(getattr(receive, "__self__", None), "transport", None)
    if transport is not None:
        transport.abort()
        for _ in range(3):
            await asyncio.sleep(0)
        return
    raise RuntimeError("connection reset requested but the transport is not reachable")


class SandboxApp:
    """Top-level ASGI app: `/_sandbox/...` to the admin Starlette app, the rest to the API."""

    def __init__(self, sandbox: Sandbox):
        self.sandbox = sandbox
        self.api = AutotaskApi(sandbox)
        self.admin = Starlette(routes=admin_routes())
        self.admin.state.sandbox = sandbox
        self.admin.state.backend = sandbox.backend
        attach_extensions(sandbox)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self.admin(scope, receive, send)
        elif scope.get("path", "").startswith("/_sandbox"):
            await self.admin(scope, receive, send)
        else:
            await self.api(scope, receive, send)


def create_app(backend: Backend, settings: Settings | None = None) -> SandboxApp:
    """The ASGI app for a backend (the CLI and `testing.SandboxServer` serve it with uvicorn)."""
    return SandboxApp(Sandbox(backend, settings or Settings()))
