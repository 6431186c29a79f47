"""In-process notice that an Autotask record changed, so caches can drop what they hold.

The webhook receiver publishes here for every event it stores; the client's own writes publish
here too. Subscribers (the SDK cache) never learn where a notice came from, so neither side
imports the other. Listeners run synchronously in the publisher's thread and must be quick; an
exception in one listener is logged and never reaches the publisher or the other listeners.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Change", "ChangeListener", "publish", "subscribe"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Change:
    """One changed record.

    ``entity`` is the catalog's REST entity name (``"Tickets"``, ``"TicketNotes"``,
    ``"Companies"``); ``entity_id`` is None when only the entity is known; ``action`` is
    ``"create"``, ``"update"`` or ``"delete"``; ``tenant`` is a hint (None: any tenant).
    """

    entity: str
    entity_id: int | None
    action: str
    tenant: str | None = None


ChangeListener = Callable[[Change], None]

_listeners: list[ChangeListener] = []
_lock = threading.Lock()


def subscribe(listener: ChangeListener) -> Callable[[], None]:
    """Call ``listener`` for every change published from now on; returns the unsubscribe."""
    with _lock:
        _listeners.append(listener)

    def unsubscribe() -> None:
        with _lock:
            if listener in _listeners:
                _listeners.remove(listener)

    return unsubscribe


def publish(change: Change) -> None:
    """Tell every listener about ``change``."""
    with _lock:
        listeners = list(_listeners)
    for listener in listeners:
        try:
            listener(change)
        except Exception:
            log.exception("change listener %r failed for %s %s", listener, change.entity, change.entity_id)
