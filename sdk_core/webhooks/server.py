"""`WebhookServer`: handlers, the receiving app and the worker, put together.

    server = WebhookServer(store="sqlite:///events.db")      # tenants from the environment

    @server.handler("ticket.created")
    def new_ticket(event: WebhookEvent) -> None: ...

    @server.handler("ticket.*", when=lambda e: e.fields.get("status") == 5)
    async def completed(event: WebhookEvent) -> None: ...

    server.run(host="0.0.0.0", port=8080)    # or: app = server.app() for any ASGI server

`create_app` is the factory for ASGI servers (`uvicorn --factory sdk_core.webhooks:create_app`),
configured by `AUTOTASK_WEBHOOK_STORE`, `AUTOTASK_WEBHOOK_TENANTS` / `AUTOTASK_WEBHOOK_SECRET`
and `AUTOTASK_WEBHOOK_HANDLERS` (`module:server`).
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import sys
from collections.abc import AsyncIterator, Callable
from typing import Any

from starlette.applications import Starlette

from .config import Tenants, tenants_from
from .events import WebhookEvent
from .handlers import Handler, HandlerFunc, parse_pattern
from .receiver import DEFAULT_MAX_BODY, Receiver
from .store import DEFAULT_STORE_URL, EventStore, open_store
from .worker import RetryPolicy, Worker

__all__ = ["WebhookServer", "create_app", "load_server", "STORE_ENV", "HANDLERS_ENV"]

log = logging.getLogger("sdk_core.webhooks")
STORE_ENV = "AUTOTASK_WEBHOOK_STORE"
HANDLERS_ENV = "AUTOTASK_WEBHOOK_HANDLERS"


class WebhookServer:
    """Receives Autotask webhooks into a durable store and hands them to handlers."""

    def __init__(
        self,
        store: str | EventStore | None = None,
        tenants: Any = None,
        *,
        max_body: int = DEFAULT_MAX_BODY,
        retry: RetryPolicy | None = None,
        poll_interval: float = 1.0,
        worker: bool = True,
        publish_changes: bool = True,
    ):
        self._store_spec = store
        self._tenants_spec = tenants
        self.max_body = max_body
        self.retry = retry or RetryPolicy()
        self.poll_interval = poll_interval
        self.run_worker = worker
        self.publish_changes = publish_changes
        self.handlers: list[Handler] = []
        self._store: EventStore | None = store if isinstance(store, EventStore) else None
        self._worker: Worker | None = None
        self._receiver: Receiver | None = None

    def __repr__(self) -> str:
        return f"<WebhookServer handlers={[h.pattern for h in self.handlers]}>"

    # handlers ----------------------------------------------------------------------------
    def handler(
        self, pattern: str = "*", *, when: Callable[[WebhookEvent], bool] | None = None
    ) -> Callable[[HandlerFunc], HandlerFunc]:
        """Register a (sync or async) function for events matching `pattern` (and `when`)."""
        if not isinstance(pattern, str):
            raise TypeError(
                "give the handler a pattern: @server.handler('ticket.created'), "
                "@server.handler('ticket.*') or @server.handler('*')"
            )
        entity, action = parse_pattern(pattern)

        def register(func: HandlerFunc) -> HandlerFunc:
            self.handlers.append(Handler(pattern, func, entity, action, when))
            return func

        return register

    def add_handler(
        self, pattern: str, func: HandlerFunc, when: Callable[[WebhookEvent], bool] | None = None
    ) -> None:
        self.handler(pattern, when=when)(func)

    # configuration -----------------------------------------------------------------------
    def configure(
        self,
        *,
        store: str | EventStore | None = None,
        tenants: Any = None,
        max_body: int | None = None,
        worker: bool | None = None,
    ) -> WebhookServer:
        """Override settings (the `serve` command applies its options here)."""
        if store is not None:
            self._store_spec = store
            self._store = store if isinstance(store, EventStore) else None
        if tenants is not None:
            self._tenants_spec = tenants
        if max_body is not None:
            self.max_body = max_body
        if worker is not None:
            self.run_worker = worker
        return self

    @property
    def store(self) -> EventStore:
        if self._store is None:
            spec = self._store_spec
            self._store = open_store(
                spec if isinstance(spec, str) else os.environ.get(STORE_ENV) or DEFAULT_STORE_URL
            )
        return self._store

    @property
    def worker(self) -> Worker:
        if self._worker is None:
            self._worker = Worker(self.store, lambda: self.handlers, self.retry, self.poll_interval)
        return self._worker

    def tenants(self) -> Tenants:
        return tenants_from(self._tenants_spec)

    # running -----------------------------------------------------------------------------
    def app(self) -> Starlette:
        """The ASGI app; the worker starts and stops with it (lifespan)."""
        store, tenants = self.store, self.tenants()
        worker = self.worker if self.run_worker else None
        receiver = self._receiver = Receiver(
            store,
            tenants,
            self.max_body,
            on_stored=(lambda _seq: worker.wake()) if worker else None,
            publish_changes=self.publish_changes,
        )

        @contextlib.asynccontextmanager
        async def lifespan(_app: Starlette) -> AsyncIterator[None]:
            if worker is not None:
                worker.start()
            try:
                yield
            finally:
                if worker is not None:
                    worker.stop()

        app = Starlette(routes=receiver.routes(), lifespan=lifespan)
        app.state.webhook_server = self
        return app

    def process_pending(self) -> int:
        """Run the handlers over every event due now, in this thread; returns how many."""
        total = 0
        while True:
            done = self.worker.run_once()
            if not done:
                return total
            total += done

    def run(self, host: str = "127.0.0.1", port: int = 8080, **uvicorn_options: Any) -> None:
        """Serve with uvicorn until interrupted."""
        import uvicorn

        uvicorn.run(self.app(), host=host, port=port, **uvicorn_options)

    def close(self) -> None:
        if self._worker is not None:
            self._worker.stop()
        if self._store is not None:
            self._store.close()


def load_server(spec: str) -> WebhookServer:
    """`module:attribute` (default attribute `server`) -> a WebhookServer with handlers."""
    module_name, _, attribute = spec.partition(":")
    if os.getcwd() not in sys.path:  # like uvicorn: modules of the working folder import
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"cannot import handlers module {module_name!r}: {exc}") from None
    found = getattr(module, attribute or "server", None)
    if not isinstance(found, WebhookServer):
        raise ValueError(
            f"{spec!r} is not a WebhookServer; define `server = WebhookServer()` in "
            f"{module_name} and register handlers with @server.handler(...)"
        )
    return found


def create_app() -> Starlette:
    """App factory for any ASGI server, configured from the environment."""
    spec = os.environ.get(HANDLERS_ENV)
    server = load_server(spec) if spec else WebhookServer()
    return server.configure(store=os.environ.get(STORE_ENV) or None).app()
