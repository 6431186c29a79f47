"""Control endpoints under `/_sandbox/` (no auth, no faults, not counted by the API limits).

`GET /_sandbox/health`, `POST /_sandbox/reset`, `GET /_sandbox/stats`, `PUT /_sandbox/faults`,
`PUT /_sandbox/config`, `GET /_sandbox/config`, `POST /_sandbox/udfs`. Other modules add routes
with `register_admin_route(path, endpoint, methods)`; endpoints reach the running sandbox through
`request.app.state.sandbox` and its backend through `request.app.state.backend`.

Every route that changes something (any method but GET and HEAD) takes only
`Content-Type: application/json`, body or not: a web page can POST `text/plain` anywhere
without asking, but a browser sends JSON cross-site only after a CORS preflight, which these
routes never grant. So no page the sandbox's user visits can reset or reconfigure it.
`autotask_sandbox.activity` and `autotask_sandbox.webhooks` are imported (when present) before
the admin app is built, so their module-level registrations are picked up.
"""

from __future__ import annotations

import importlib
import logging
import sys
from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from .faults import FaultSpecError
from .settings import SettingError

log = logging.getLogger(__name__)
Endpoint = Callable[[Request], Awaitable[Response]]
_EXTRA: list[BaseRoute] = []
EXTENSION_MODULES = ("autotask_sandbox.activity", "autotask_sandbox.webhooks")
_READ_ONLY = {"GET", "HEAD"}


def register_admin_route(path: str, endpoint: Endpoint, methods: list[str] | None = None) -> None:
    """Add a route under `/_sandbox/` (path given with or without the prefix)."""
    if not path.startswith("/_sandbox/"):
        path = "/_sandbox/" + path.lstrip("/")
    _EXTRA.append(_route(path, endpoint, methods or ["GET"]))


def _route(path: str, endpoint: Endpoint, methods: list[str]) -> Route:
    return Route(path, json_only(endpoint), methods=methods)


def json_only(endpoint: Endpoint) -> Endpoint:
    """Refuse (415) a changing request whose body is not declared JSON (see the module doc)."""

    @wraps(endpoint)
    async def guarded(request: Request) -> Response:
        if request.method not in _READ_ONLY:
            media = request.headers.get("content-type", "").split(";")[0].strip().lower()
            if media != "application/json":
                return _json(
                    {
                        "error": f"{request.method} {request.url.path} needs "
                        "Content-Type: application/json (send {} when there is nothing "
                        f"to say); got {media or 'none'}."
                    },
                    415,
                )
        return await endpoint(request)

    return guarded


def _json(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


async def _body(request: Request) -> Any:
    raw = await request.body()
    try:
        return orjson.loads(raw) if raw.strip() else {}
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"request body is not valid JSON: {exc}") from exc


async def health(request: Request) -> Response:
    sandbox = request.app.state.sandbox
    backend = sandbox.backend
    return _json(
        {
            "status": "ok",
            "zone": sandbox.settings.zone,
            "seed": backend.seed,
            "scale": backend.storage.meta("scale"),
            "tickets": backend.storage.ids("Tickets")[2],
        }
    )


async def reset(request: Request) -> Response:
    request.app.state.sandbox.reset()
    return _json({"status": "reset"})


async def stats(request: Request) -> Response:
    sandbox = request.app.state.sandbox
    body = sandbox.stats.as_json()
    body["current_window_count"] = sandbox.window.count()
    return _json(body)


async def faults(request: Request) -> Response:
    try:
        request.app.state.sandbox.set_faults(await _body(request))
    except (FaultSpecError, ValueError) as exc:
        return _json({"error": str(exc)}, 400)
    return _json({"faults": request.app.state.sandbox.fault_plan.describe()})


async def config(request: Request) -> Response:
    sandbox = request.app.state.sandbox
    if request.method == "PUT":
        try:
            changes = await _body(request)
            if not isinstance(changes, dict):
                raise ValueError("send a JSON object of settings")
            sandbox.configure(**changes)
        except SettingError as exc:
            return _json({"error": str(exc), "field": exc.field}, 400)
        except (TypeError, ValueError) as exc:
            return _json({"error": str(exc)}, 400)
    return _json(sandbox.settings.public())


async def udfs(request: Request) -> Response:
    """`POST {"entity", "name", "type"?, "label"?}`: define a UDF (test data, e.g. odd names)."""
    try:
        body = await _body(request)
        if not isinstance(body, dict) or not {"entity", "name"} <= set(body):
            raise ValueError('send a JSON object like {"entity": "Companies", "name": "Tier"}')
        unknown = set(body) - {"entity", "name", "type", "label"}
        if unknown:
            raise ValueError(f"unknown key(s) {sorted(unknown)}; allowed: entity, name, type, label")
        backend = request.app.state.sandbox.backend
        await request.app.state.sandbox.write(
            backend.add_udf, body["entity"], body["name"], body.get("type", "string"), label=body.get("label")
        )
    except (KeyError, ValueError) as exc:  # KeyError: an unknown entity, named in args[0]
        return _json({"error": str(exc.args[0]) if exc.args else str(exc)}, 400)
    return _json({"entity": body["entity"], "name": body["name"]}, 201)


def attach_extensions(sandbox: Any) -> None:
    """Let each loaded extension module start its per-sandbox machinery: `attach(sandbox)`."""
    for name in EXTENSION_MODULES:
        attach = getattr(sys.modules.get(name), "attach", None)
        if attach is not None:
            attach(sandbox)


def admin_routes() -> list[BaseRoute]:
    for name in EXTENSION_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
    return [
        _route("/_sandbox/health", health, ["GET"]),
        _route("/_sandbox/reset", reset, ["POST"]),
        _route("/_sandbox/stats", stats, ["GET"]),
        _route("/_sandbox/faults", faults, ["PUT"]),
        _route("/_sandbox/config", config, ["GET", "PUT"]),
        _route("/_sandbox/udfs", udfs, ["POST"]),
        *_EXTRA,
    ]
