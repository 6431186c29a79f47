"""Control endpoints under `/_sandbox/` (no auth, no faults, not counted by the API limits).

`GET /_sandbox/health`, `POST /_sandbox/reset`, `GET /_sandbox/stats`, `PUT /_sandbox/faults`,
`PUT /_sandbox/config`, `GET /_sandbox/config`. Other modules add routes with
`register_admin_route(path, endpoint, methods)`; endpoints reach the running sandbox through
`request.app.state.sandbox` and its backend through `request.app.state.backend`.
`autotask_sandbox.activity` and `autotask_sandbox.webhooks` are imported (when present) before
the admin app is built, so their module-level registrations are picked up.
"""

from __future__ import annotations

import importlib
import logging
import sys
from typing import Any, Awaitable, Callable

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from .faults import FaultSpecError

log = logging.getLogger(__name__)
Endpoint = Callable[[Request], Awaitable[Response]]
_EXTRA: list[BaseRoute] = []
EXTENSION_MODULES = ("autotask_sandbox.activity", "autotask_sandbox.webhooks")


def register_admin_route(path: str, endpoint: Endpoint, methods: list[str] | None = None) -> None:
    """Add a route under `/_sandbox/` (path given with or without the prefix)."""
    if not path.startswith("/_sandbox/"):
        path = "/_sandbox/" + path.lstrip("/")
    _EXTRA.append(Route(path, endpoint, methods=methods or ["GET"]))


def _json(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


async def _body(request: Request) -> Any:
    raw = await request.body()
    try:
        return orjson.loads(raw) if raw.strip() else {}
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"request body is not valid JSON: {exc}")


async def health(request: Request) -> Response:
    sandbox = request.app.state.sandbox
    backend = sandbox.backend
    return _json({"status": "ok", "zone": sandbox.settings.zone, "seed": backend.seed,
                  "scale": backend.storage.meta("scale"),
                  "tickets": backend.storage.ids("Tickets")[2]})


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
        except (TypeError, ValueError) as exc:
            return _json({"error": str(exc)}, 400)
    return _json(sandbox.settings.public())


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
        Route("/_sandbox/health", health, methods=["GET"]),
        Route("/_sandbox/reset", reset, methods=["POST"]),
        Route("/_sandbox/stats", stats, methods=["GET"]),
        Route("/_sandbox/faults", faults, methods=["PUT"]),
        Route("/_sandbox/config", config, methods=["GET", "PUT"]),
        *_EXTRA,
    ]
