"""Reduce a JSON-schema property to one column type, once per schema.

Targets need a single storage type per column. Taps write types as a string,
a list with "null", or ``anyOf``/``oneOf`` branches; this collapses all of them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Kind(str, enum.Enum):  # noqa: UP042  (StrEnum would change str(kind) where it is shown)
    """Storage kinds a target maps to its own types."""

    INTEGER = "integer"
    NUMBER = "number"
    BOOLEAN = "boolean"
    STRING = "string"
    DATETIME = "date-time"
    DATE = "date"
    TIME = "time"
    OBJECT = "object"
    ARRAY = "array"


_FORMATS = {"date-time": Kind.DATETIME, "date": Kind.DATE, "time": Kind.TIME}
_SIMPLE = {
    "integer": Kind.INTEGER,
    "number": Kind.NUMBER,
    "boolean": Kind.BOOLEAN,
    "object": Kind.OBJECT,
    "array": Kind.ARRAY,
}


@dataclass(frozen=True, slots=True)
class ColumnType:
    """One column: its kind, whether null is allowed, and the item type of arrays."""

    kind: Kind
    nullable: bool = True
    items: ColumnType | None = None


def schema_branches(prop: dict) -> list[dict]:
    """Flatten anyOf/oneOf into the plain sub-schemas they allow."""
    nested = prop.get("anyOf") or prop.get("oneOf")
    if not nested:
        return [prop]
    out: list[dict] = []
    for branch in nested:
        out.extend(schema_branches(branch))
    return out


def _kinds_of(branch: dict) -> tuple[set[Kind], bool]:
    declared = branch.get("type")
    names = [declared] if isinstance(declared, str) else list(declared or [])
    if not names:
        names = ["object"] if "properties" in branch else ["string"] if "format" in branch else []
    kinds: set[Kind] = set()
    nullable = False
    for name in names:
        if name == "null":
            nullable = True
        elif name == "string":
            kinds.add(_FORMATS.get(branch.get("format", ""), Kind.STRING))
        else:
            kinds.add(_SIMPLE.get(name, Kind.STRING))
    return kinds, nullable


def _merge(kinds: set[Kind]) -> Kind:
    """Pick the narrowest kind that holds every allowed value."""
    if len(kinds) == 1:
        return next(iter(kinds))
    if kinds == {Kind.INTEGER, Kind.NUMBER}:
        return Kind.NUMBER
    temporal = {Kind.DATETIME, Kind.DATE, Kind.TIME, Kind.STRING}
    if kinds <= temporal:
        # A date-time branch next to a plain string branch: the SDK treats the
        # column as a date-time, and so do we.
        for kind in (Kind.DATETIME, Kind.DATE, Kind.TIME):
            if kind in kinds:
                return kind
    return Kind.STRING


def column_type(prop: dict) -> ColumnType:
    """The column type of one JSON-schema property; no type at all means a string."""
    kinds: set[Kind] = set()
    nullable = False
    for branch in schema_branches(prop):
        branch_kinds, branch_null = _kinds_of(branch)
        kinds |= branch_kinds
        nullable = nullable or branch_null
    if not kinds:
        return ColumnType(Kind.STRING, nullable=True)
    kind = _merge(kinds)
    items = None
    if kind is Kind.ARRAY:
        item_schema = next((b.get("items") for b in schema_branches(prop) if b.get("items")), None)
        items = column_type(item_schema) if isinstance(item_schema, dict) else None
    return ColumnType(kind, nullable=nullable, items=items)


def column_types(schema: dict) -> dict[str, ColumnType]:
    """Column types of a stream schema, in the schema's property order."""
    properties = schema.get("properties") or {}
    return {name: column_type(prop or {}) for name, prop in properties.items()}
