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
    # `X as X`: the explicit re-export form, so linters and mypy see the lazy names as public.
    from .config import (
        ConfigError as ConfigError,
    )
    from .config import (
        Secret as Secret,
    )
    from .config import (
        Tenant as Tenant,
    )
    from .config import (
        Tenants as Tenants,
    )
    from .config import (
        load_tenants as load_tenants,
    )
    from .events import StoredEvent as StoredEvent
    from .events import WebhookEvent as WebhookEvent
    from .registration import (
        AsyncWebhooks as AsyncWebhooks,
    )
    from .registration import (
        RegisteredWebhook as RegisteredWebhook,
    )
    from .registration import (
        Webhooks as Webhooks,
    )
    from .server import WebhookServer as WebhookServer
    from .server import create_app as create_app
    from .server import load_server as load_server
    from .signature import sign as sign
    from .signature import verify as verify
    from .store import EventStore as EventStore
    from .store import StoreError as StoreError
    from .store import open_store as open_store
    from .worker import RetryPolicy as RetryPolicy
