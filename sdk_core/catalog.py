"""The bundled entity catalog, generated from the vendor's swagger by scripts/generate_catalog.py.

It is the one description of Autotask's entities that the SDK, the tap and the sandbox share:
names, routes, verbs, fields and timestamps. It works offline; live metadata
(`entityInformation/fields`) refines it on a real tenant.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from .errors import UnknownEntityError

__all__ = ["Catalog", "EntityInfo", "FieldInfo", "ParentRoute", "load_catalog", "UnknownEntityError"]


@dataclass(frozen=True)
class FieldInfo:
    name: str
    label: str
    type: str
    format: str | None
    data_type: str
    read_only: bool
    reference: str | None = None


_HTTP_METHODS = {
    "query": "GET",
    "count": "GET",
    "list": "GET",
    "get": "GET",
    "create": "POST",
    "update": "PUT",
    "patch": "PATCH",
    "delete": "DELETE",
}


@dataclass(frozen=True)
class ParentRoute:
    parent: str
    segment: str
    path: str
    verbs: tuple[str, ...]
    # HTTP methods that differ from the usual mapping (create=POST, update=PUT, ...).
    methods: tuple[tuple[str, str], ...] = ()

    def method(self, verb: str) -> str:
        """The HTTP method of a verb on this route."""
        return dict(self.methods).get(verb) or _HTTP_METHODS[verb]


@dataclass(frozen=True)
class EntityInfo:
    name: str
    internal_name: str | None
    model: str | None
    queryable: bool
    root_verbs: tuple[str, ...]
    has_udfs: bool
    has_udf_endpoint: bool
    parents: tuple[ParentRoute, ...]
    fields: tuple[FieldInfo, ...]
    datetime_fields: tuple[str, ...]
    modification_timestamp: str | None
    creation_timestamp: str | None
    stream_name: str
    extra_routes: tuple[str, ...] = ()
    _by_lower: dict[str, FieldInfo] = field(default_factory=dict, compare=False, repr=False)

    def field(self, name: str) -> FieldInfo | None:
        """Field by name, case-insensitively, as Autotask matches them."""
        return self._by_lower.get(name.lower())

    @property
    def field_names(self) -> list[str]:
        return [f.name for f in self.fields]

    def can(self, verb: str) -> bool:
        """Whether the verb is allowed at the root URL (`query`, `create`, `delete`, ...)."""
        return verb in self.root_verbs

    def parent_route(self, verb: str, parent: str | None = None) -> ParentRoute | None:
        """The parent-scoped route that allows `verb` (optionally under a given parent)."""
        for route in self.parents:
            if verb in route.verbs and (parent is None or route.parent.lower() == parent.lower()):
                return route
        return None


def _entity(raw: dict[str, Any]) -> EntityInfo:
    fields = tuple(
        FieldInfo(
            name=f["name"],
            label=f["label"],
            type=f["type"],
            format=f.get("format"),
            data_type=f["data_type"],
            read_only=f["read_only"],
            reference=f.get("reference"),
        )
        for f in raw["fields"]
    )
    return EntityInfo(
        name=raw["name"],
        internal_name=raw.get("internal_name"),
        model=raw.get("model"),
        queryable=raw["queryable"],
        root_verbs=tuple(raw["root_verbs"]),
        has_udfs=raw.get("has_udfs", False),
        has_udf_endpoint=raw.get("has_udf_endpoint", False),
        parents=tuple(
            ParentRoute(
                p["parent"],
                p["segment"],
                p["path"],
                tuple(p["verbs"]),
                tuple(sorted(p.get("methods", {}).items())),
            )
            for p in raw["parents"]
        ),
        fields=fields,
        datetime_fields=tuple(raw["datetime_fields"]),
        modification_timestamp=raw.get("modification_timestamp"),
        creation_timestamp=raw.get("creation_timestamp"),
        stream_name=raw["stream_name"],
        extra_routes=tuple(raw.get("extra_routes", ())),
        _by_lower={f.name.lower(): f for f in fields},
    )


class Catalog:
    """Entities by URL name, looked up case-insensitively, with a suggestion on a typo."""

    def __init__(self, raw: dict[str, Any]):
        self.source: dict[str, Any] = raw.get("source", {})
        self._entities = {e["name"]: _entity(e) for e in raw["entities"]}
        self._lower = {k.lower(): v for k, v in self._entities.items()}
        self._snake = {v.stream_name: v for v in self._entities.values()}
        self._internal = {v.internal_name.lower(): v for v in self._entities.values() if v.internal_name}

    def __iter__(self) -> Iterator[EntityInfo]:
        return iter(self._entities.values())

    def __len__(self) -> int:
        return len(self._entities)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.find(name) is not None

    def queryable(self) -> list[EntityInfo]:
        return [e for e in self._entities.values() if e.queryable]

    def find(self, name: str) -> EntityInfo | None:
        """By URL name (`Tickets`), snake_case stream name (`ticket_notes`) or internal name."""
        low = name.lower()
        return self._lower.get(low) or self._snake.get(low) or self._internal.get(low)

    def get(self, name: str) -> EntityInfo:
        found = self.find(name)
        if found is None:
            close = difflib.get_close_matches(
                name.lower(), list(self._lower) + list(self._snake), n=1, cutoff=0.6
            )
            hint = ""
            if close:
                match = self._lower.get(close[0]) or self._snake[close[0]]
                hint = f' Did you mean "{match.name}"?'
            raise UnknownEntityError(f'"{name}" is not an Autotask entity.{hint}')
        return found


@cache
def load_catalog() -> Catalog:
    """The catalog bundled with the package (read once per process)."""
    text = resources.files("sdk_core").joinpath("data/catalog.json").read_text()
    return Catalog(json.loads(text))
