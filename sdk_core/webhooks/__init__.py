"""Autotask webhooks: a durable receiver (ASGI), handlers, replay and registration.

An optional part of the SDK (`import sdk_core` never loads it): the receiver needs Starlette
and uvicorn, registration only the SDK client.

    from sdk_core.webhooks import WebhookServer, WebhookEvent
    server = WebhookServer(store="sqlite:///events.db")

    @server.handler("ticket.created")
    def on_ticket(event: WebhookEvent) -> None:
        print(event.id, event.fields)

    server.run(port=8080)

Registration goes through the client: `client.webhooks.register(entity="Ticket", url=..., ...)`.
The event store (`open_store`) is what other processes (the Dagster sensor) read.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

_WHERE = {
    "WebhookServer": ".server",
    "create_app": ".server",
    "load_server": ".server",
    "WebhookEvent": ".events",
    "StoredEvent": ".events",
    "EventStore": ".store",
    "open_store": ".store",
    "StoreError": ".store",
    "RetryPolicy": ".worker",
    "Tenant": ".config",
    "Tenants": ".config",
    "Secret": ".config",
    "load_tenants": ".config",
    "ConfigError": ".config",
    "Webhooks": ".registration",
    "AsyncWebhooks": ".registration",
    "RegisteredWebhook": ".registration",
    "sign": ".signature",
    "verify": ".signature",
}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'sdk_core.webhooks' has no attribute {name!r}")
    value = getattr(import_module(module, __name__), name)
    globals()[name] = value
    return value


if TYPE_CHECKING:
    from .config import ConfigError, Secret, Tenant, Tenants, load_tenants
    from .events import StoredEvent, WebhookEvent
    from .registration import AsyncWebhooks, RegisteredWebhook, Webhooks
    from .server import WebhookServer, create_app, load_server
    from .signature import sign, verify
    from .store import EventStore, StoreError, open_store
    from .worker import RetryPolicy
