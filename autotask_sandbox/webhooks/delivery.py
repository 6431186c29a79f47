"""Getting payloads to callouts: settings, signed deliveries and per-callout FIFO queues.

Each (webhook, action) has its own queue drained by a short-lived thread; the head is retried
every `retry_interval` until delivered or `max_attempts` is reached, so newer events of the same
callout wait behind it in trigger order (reference 11.5) while other callouts carry on.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .matching import Webhook
from .signing import dotnet_json, plain_json, sign


@dataclass
class WebhookSettings:
    """Delivery knobs; the defaults are Autotask's documented values (reference section 11.5)."""

    timeout: float = 10.0
    retry_interval: float = 30.0
    max_attempts: int = 5
    deactivate_after: int = 25
    unescaped_body: bool = False

    def update(self, changes: Mapping[str, Any]) -> None:
        """Apply admin-route changes; nothing changes when any of them is refused."""
        for key, value in changes.items():
            if key not in self.__dataclass_fields__:
                known = ", ".join(self.__dataclass_fields__)
                raise ValueError(f"unknown webhook setting {key!r}; known settings: {known}")
            current = getattr(self, key)
            if isinstance(current, bool):
                if not isinstance(value, bool):
                    raise ValueError(f"webhook setting {key!r} must be true or false")
            elif isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise ValueError(f"webhook setting {key!r} must be a positive number")
            elif isinstance(current, int) and not float(value).is_integer():
                raise ValueError(f"webhook setting {key!r} must be a whole number")
        for key, value in changes.items():
            setattr(self, key, type(getattr(self, key))(value))


@dataclass
class Delivery:
    """One payload on its way to one callout, with the exact bytes and signature to send."""

    webhook: Webhook
    action: str
    payload: dict[str, Any]
    body: bytes
    signature: str
    attempts: int = 0

    @property
    def queue_key(self) -> tuple[str, int, str]:
        return (self.webhook.entity, self.webhook.id, self.action)


def encode(webhook: Webhook, payload: dict[str, Any], settings: WebhookSettings) -> Delivery:
    """Sign the escaped form; send it too, or the plain form when reproducing the mismatch."""
    escaped = dotnet_json(payload).encode("ascii")
    body = plain_json(payload).encode("utf-8") if settings.unescaped_body else escaped
    return Delivery(webhook, payload["Action"], payload, body, sign(webhook.secret, escaped))


@dataclass
class _Callout:
    items: deque[Delivery] = field(default_factory=deque)
    running: bool = False


class DeliveryQueues:
    """Per (webhook, action) FIFO queues, each drained by its own short-lived thread.

    The head of a queue is retried until it is delivered or dropped, so newer events of the
    same callout wait behind it in trigger order while other callouts carry on.
    """

    def __init__(
        self,
        settings: WebhookSettings,
        post: Callable[[Delivery], str | None],
        on_result: Callable[[Delivery, str | None, bool], None],
    ):
        self._settings = settings
        self._post = post  # returns None when delivered, else what went wrong
        self._on_result = on_result  # (delivery, error, final)
        self._lock = threading.Lock()
        self._queues: dict[tuple[str, int, str], _Callout] = {}
        self._closed = threading.Event()

    def put(self, delivery: Delivery) -> None:
        with self._lock:
            callout = self._queues.setdefault(delivery.queue_key, _Callout())
            callout.items.append(delivery)
            if not callout.running and not self._closed.is_set():
                callout.running = True
                threading.Thread(
                    target=self._drain,
                    args=(callout,),
                    daemon=True,
                    name=f"webhook-{delivery.webhook.entity}-{delivery.webhook.id}",
                ).start()

    def pending(self) -> int:
        with self._lock:
            return sum(len(c.items) for c in self._queues.values())

    def discard(self, webhook_entity: str | None = None, webhook_id: int | None = None) -> int:
        """Forget what is queued for one webhook (or for all); returns how many were dropped.

        A delivery already being attempted finishes that attempt but is not retried.
        """
        dropped = 0
        with self._lock:
            for key, callout in self._queues.items():
                if webhook_entity is None or key[:2] == (webhook_entity, webhook_id):
                    dropped += len(callout.items)
                    callout.items.clear()
        return dropped

    def close(self) -> None:
        self._closed.set()

    def _drain(self, callout: _Callout) -> None:
        while True:
            with self._lock:
                if not callout.items or self._closed.is_set():
                    callout.running = False
                    return
                delivery = callout.items[0]
            delivery.attempts += 1
            error = self._post(delivery)
            final = error is None or delivery.attempts >= self._settings.max_attempts
            try:
                self._on_result(delivery, error, final)
            finally:
                if final:
                    with self._lock:
                        if callout.items and callout.items[0] is delivery:
                            callout.items.popleft()
            if not final:
                self._closed.wait(self._settings.retry_interval)
