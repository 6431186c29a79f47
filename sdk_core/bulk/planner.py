"""Where each row's request goes: the entity's root, or its parent route found from the row.

`TicketNotes` are created under `/Tickets/{ticketID}/Notes`: the catalog names the parent
route, and the row's reference to that parent (`ticketID`) gives the parent id, so callers
never pass `parent_id` themselves. Rows of an update or delete that lack the parent's id get
it from one query per chunk (see `missing_parents`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..catalog import Catalog, EntityInfo, ParentRoute
from ..errors import UnsupportedOperationError

__all__ = ["Route", "plan_route", "VERBS"]

# bulk operation -> catalog verb
VERBS = {"create": "create", "update": "patch", "replace": "update", "delete": "delete"}
_WORDS = {"create": "created", "update": "updated (PATCH)", "replace": "replaced (PUT)", "delete": "deleted"}


@dataclass(frozen=True)
class Route:
    """How one operation reaches the entity: at the root, or under `parent` via `parent_field`."""

    operation: str
    parent: ParentRoute | None = None
    parent_field: str | None = None

    def parent_id(self, row: Mapping[str, Any]) -> int | None:
        if self.parent_field is None:
            return None
        for key, value in row.items():
            if key.lower() == self.parent_field.lower():
                return value if isinstance(value, int) and not isinstance(value, bool) else None
        return None

    def missing_parent(self, info: EntityInfo) -> str:
        assert self.parent is not None
        return (
            f"{info.name} are {_WORDS[self.operation]} under their {self.parent.parent} "
            f"({self.parent.path}): the row needs {self.parent_field} (the {self.parent.parent} id)."
        )


def plan_route(info: EntityInfo, operation: str, catalog: Catalog) -> Route:
    """The route for `operation` on `info`, or UnsupportedOperationError before any request."""
    verb = VERBS[operation]
    if info.can(verb):
        return Route(operation)
    route = info.parent_route(verb)
    if route is None:
        allowed = ", ".join(info.root_verbs) or "nothing"
        raise UnsupportedOperationError(
            f"{info.name} cannot be {_WORDS[operation]} through the API (it allows: {allowed})."
        )
    field = parent_field(info, catalog.get(route.parent))
    if field is None:
        raise UnsupportedOperationError(
            f"{info.name} are {_WORDS[operation]} under {route.path}, but no field of {info.name} "
            f"names its {route.parent}; use entity.{operation}(..., parent_id=...) per record."
        )
    return Route(operation, route, field)


def parent_field(child: EntityInfo, parent: EntityInfo) -> str | None:
    """The child's field holding the parent id (`ticketID` of TicketNotes)."""
    for f in child.fields:
        if f.reference == parent.name:
            return f.name
    names = {(parent.internal_name or parent.name).lower() + "id", parent.name.lower().rstrip("s") + "id"}
    for f in child.fields:
        if f.name.lower() in names:
            return f.name
    return None
