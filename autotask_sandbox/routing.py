"""The URL map of the emulated API: which operation a (method, path) is, or 404/405.

Paths are matched case-insensitively. Under `/V1.0/` an entity's routes are:
`{E}` (POST create, PUT update, PATCH patch), `{E}/{id}` (GET, DELETE), `{E}/query`,
`{E}/query/count`, `{E}/query/next`, `{E}/entityInformation[/fields|/userDefinedFields]`,
`{P}/{pid}/{segment}` and `{P}/{pid}/{segment}/{id}` for parent-scoped child routes; the
non-CRUD operations of `actions` (invoice rendering, time off approval, stock moves...) first. Verbs come
from the catalog (appendix A): a known route with a wrong verb is 405, a route that does not
exist at all is 404.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sdk_core.catalog import Catalog, EntityInfo, ParentRoute

from . import actions
from .errors import method_not_allowed

SERVICES = {
    "thresholdinformation": "ThresholdInformation",
    "version": "Version",
    "entityinformation": "EntityInformation",
    "modules": "Modules",
    "zoneinformation": "ZoneInformation",
}
VERB_METHODS = {"create": "POST", "update": "PUT", "patch": "PATCH"}


@dataclass
class Match:
    """A resolved operation: its name, entity (if any), ids and the thread-limit bucket."""

    operation: str
    entity: EntityInfo | None = None
    bucket: str = ""
    ids: dict[str, Any] = field(default_factory=dict)
    parent: EntityInfo | None = None
    route: ParentRoute | None = None


class NoRoute(Exception):
    """No route matches the path (404)."""


class Router:
    def __init__(self, catalog: Catalog):
        self.catalog = catalog
        self.entities = {e.name.lower(): e for e in catalog}
        self.children: dict[tuple[str, str], tuple[EntityInfo, ParentRoute]] = {}
        for e in catalog:
            for route in e.parents:
                self.children[(route.parent.lower(), route.segment.lower())] = (e, route)

    def resolve(self, method: str, parts: list[str]) -> Match:
        """`parts` are the path segments after `V1.0`."""
        if not parts:
            raise NoRoute()
        action = actions.resolve(method, parts)
        if action is not None:
            name, bucket, ids = action
            return Match(name, bucket=bucket, ids={"path": ids})
        head = parts[0].lower()
        if len(parts) == 1 and head in SERVICES:
            return self._only(method, {"GET"}, Match(SERVICES[head], bucket=SERVICES[head]))
        entity = self.entities.get(head)
        if entity is None:
            raise NoRoute()
        rest = [p.lower() for p in parts[1:]]
        match = Match("", entity=entity, bucket=entity.name)
        verbs = set(entity.root_verbs)
        if not rest:
            allowed = {m for v, m in VERB_METHODS.items() if v in verbs}
            op = {"POST": "create", "PUT": "update", "PATCH": "patch"}.get(method, "")
            match.operation = op
            return self._only(method, allowed, match)
        if rest[0] == "entityinformation" and len(rest) <= 2:
            sub = rest[1] if len(rest) == 2 else ""
            ops = {"": "entity_information", "fields": "fields", "userdefinedfields": "user_defined_fields"}
            if sub not in ops:
                raise NoRoute()
            match.operation = ops[sub]
            return self._only(method, {"GET"}, match)
        if rest[0] == "query" and len(rest) <= 2:
            if "query" not in verbs and not (len(rest) == 2 and rest[1] == "count" and "count" in verbs):
                raise NoRoute()
            sub = rest[1] if len(rest) == 2 else ""
            ops = {"": "query", "count": "count", "next": "query_next"}
            if sub not in ops:
                raise NoRoute()
            match.operation = ops[sub]
            return self._only(method, {"GET", "POST"}, match)
        if len(rest) == 1 and _is_int(rest[0]):
            match.ids["id"] = int(rest[0])
            allowed = ({"GET"} if "get" in verbs else set()) | ({"DELETE"} if "delete" in verbs else set())
            match.operation = {"GET": "get", "DELETE": "delete"}.get(method, "")
            return self._only(method, allowed, match)
        if len(rest) in (2, 3) and _is_int(rest[0]):
            return self._child(method, entity, int(rest[0]), rest[1], rest[2] if len(rest) == 3 else None)
        raise NoRoute()

    def _child(
        self, method: str, parent: EntityInfo, parent_id: int, segment: str, child_id: str | None
    ) -> Match:
        found = self.children.get((parent.name.lower(), segment))
        if found is None:
            raise NoRoute()
        child, route = found
        match = Match(
            "", entity=child, bucket=child.name, parent=parent, route=route, ids={"parent_id": parent_id}
        )
        if child_id is None:
            allowed: dict[str, str] = {}
            for verb in route.verbs:
                if verb in ("list", "create", "update", "patch"):
                    allowed[route.method(verb) if verb != "list" else "GET"] = verb
            match.operation = "child_" + allowed.get(method, "")
            return self._only(method, set(allowed), match)
        if not _is_int(child_id):
            raise NoRoute()
        match.ids["id"] = int(child_id)
        allowed = {}
        if "get" in route.verbs:
            allowed["GET"] = "get"
        if "delete" in route.verbs:
            allowed["DELETE"] = "delete"
        match.operation = "child_" + allowed.get(method, "")
        return self._only(method, set(allowed), match)

    @staticmethod
    def _only(method: str, allowed: set[str], match: Match) -> Match:
        if not allowed:
            raise NoRoute()
        if method not in allowed:
            raise method_not_allowed(method)
        return match


def _is_int(text: str) -> bool:
    return text.isdigit() or (text.startswith("-") and text[1:].isdigit())
