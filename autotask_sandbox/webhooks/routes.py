"""Admin routes of the webhooks: `GET /_sandbox/webhooks/deliveries`, `GET|PUT .../settings`."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ..admin import register_admin_route
from .dispatcher import dispatcher_for


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status_code=status, media_type="application/json")


async def deliveries(request: Request) -> Response:
    """Recent delivery attempts, newest last; `?webhook=TicketWebhooks/5` narrows to one."""
    dispatcher = dispatcher_for(request.app.state.backend)
    attempts = dispatcher.attempts()
    wanted = request.query_params.get("webhook")
    if wanted:
        entity, _, id_text = wanted.partition("/")
        attempts = [
            a
            for a in attempts
            if a["webhookEntity"].lower() == entity.lower()
            and (not id_text or str(a["webhookID"]) == id_text)
        ]
    return _json({"pending": dispatcher.pending(), "deliveries": attempts})


async def settings(request: Request) -> Response:
    """`GET` the delivery settings, `PUT` a JSON object to change some of them."""
    dispatcher = dispatcher_for(request.app.state.backend)
    if request.method == "PUT":
        try:
            changes = json.loads(await request.body() or b"{}")
            if not isinstance(changes, dict):
                raise ValueError("send a JSON object of webhook settings")
            dispatcher.settings.update(changes)
        except ValueError as exc:
            return _json({"error": str(exc)}, 400)
    return _json(asdict(dispatcher.settings))


register_admin_route("/_sandbox/webhooks/deliveries", deliveries, ["GET"])
register_admin_route("/_sandbox/webhooks/settings", settings, ["GET", "PUT"])
