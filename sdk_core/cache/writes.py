"""Our own writes as change signals: the record, and its parent whose activity it changes.

A note added under a ticket changes the ticket (its last activity), so the parent found from
the catalog's parent route and the row's reference to it (``ticketID``) is announced too.
Every cache in the process listens, so another client's cache of the same tenant drops the
record as well.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..catalog import EntityInfo
from ..change_signals import Change, publish

__all__ = ["publish_write"]

_ACTIONS = {"create": "create", "update": "update", "patch": "update", "delete": "delete"}


def publish_write(
    info: EntityInfo,
    verb: str,
    id: int | None,
    data: Mapping[str, Any] | None,
    parent_id: int | None,
    tenant: str | None,
) -> None:
    """Announce a write that happened, or may have happened (an unknown outcome)."""
    publish(Change(info.name, id, _ACTIONS.get(verb, verb), tenant))
    for route in info.parents:
        pid = parent_id
        if pid is None and data:
            ref = next((f.name for f in info.fields if f.reference == route.parent), None)
            pid = _as_id(data.get(ref)) if ref else None
        if pid is not None:
            publish(Change(route.parent, pid, "update", tenant))


def _as_id(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
