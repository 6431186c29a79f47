"""JSON schemas for Autotask entities, and the one conversion a record needs to match them.

Types are mapped faithfully (long/integer/short to integer, double/decimal to number, datetime
to date-time strings, byte[] left out). Every property may be null, since Autotask returns
empty fields as null. Picklist and reference facts ride along as `x-autotask-*` annotations,
which JSON Schema validators and targets that do not know them ignore.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from .metadata import FieldSpec

__all__ = ["DELETED_AT", "json_type", "build_schema", "RecordShaper", "utc_text", "with_annotations"]

DELETED_AT = "_sdc_deleted_at"

log = logging.getLogger("tap-autotask")

_INTEGER = {"integer", "long", "short", "int", "int32", "int64", "byte"}
_NUMBER = {"double", "decimal", "float", "number", "currency"}
_DATETIME = {"datetime", "date", "date-time"}
_BOOLEAN = {"boolean", "bool"}
_BINARY = {"byte[]", "binary"}


def json_type(data_type: str) -> dict[str, Any] | None:
    """The JSON schema for an Autotask data type; None for binary data, which is left out."""
    kind = data_type.strip().lower()
    if kind in _BINARY:
        return None
    if kind in _INTEGER:
        return {"type": ["integer", "null"]}
    if kind in _NUMBER:
        return {"type": ["number", "null"]}
    if kind in _DATETIME:
        return {"type": ["string", "null"], "format": "date-time"}
    if kind in _BOOLEAN:
        return {"type": ["boolean", "null"]}
    return {"type": ["string", "null"]}


def _annotated(spec: FieldSpec, base: dict[str, Any]) -> dict[str, Any]:
    prop = dict(base)
    if spec.label:
        prop["title"] = spec.label
    if spec.reference:
        prop["x-autotask-reference"] = {"entity": spec.reference, "field": "id"}
    if spec.picklist is not None:
        prop["x-autotask-picklist"] = {
            "parent_field": spec.picklist_parent,
            "values": [
                {
                    "value": str(v.get("value")),
                    "label": v.get("label"),
                    "active": v.get("isActive"),
                    "parent_value": v.get("parentValue") or None,
                }
                for v in spec.picklist
            ],
        }
    if spec.udf_name:
        prop["x-autotask-udf"] = spec.udf_name
    return prop


def build_schema(fields: Iterable[FieldSpec], *, with_deleted_at: bool = False) -> dict[str, Any]:
    """Schema of a stream; `id` is the key, so it is the one property that is never null."""
    properties: dict[str, Any] = {}
    for spec in fields:
        base = json_type(spec.data_type)
        if base is None or spec.name in properties:
            continue
        properties[spec.name] = _annotated(spec, base)
    if "id" in properties:
        properties["id"] = {**properties["id"], "type": ["integer"]}
    if with_deleted_at:
        properties[DELETED_AT] = {"type": ["string", "null"], "format": "date-time"}
    return {"type": "object", "properties": properties, "required": ["id"]}


def with_annotations(schema: dict[str, Any], annotated: dict[str, Any]) -> dict[str, Any]:
    """`schema` with the `x-autotask-*` keys of `annotated` restored on shared properties."""
    props = dict(schema.get("properties", {}))
    for name, prop in annotated.get("properties", {}).items():
        extra = {k: v for k, v in prop.items() if k.startswith("x-autotask-")}
        if extra and name in props:
            props[name] = {**props[name], **extra}
    return {**schema, "properties": props}


def utc_text(value: Any) -> Any:
    """Autotask may omit the zone; its times are UTC, so say so (RFC 3339 needs it)."""
    if isinstance(value, str) and value and not _has_zone(value):
        return value + "Z"
    return value


def _has_zone(value: str) -> bool:
    """`Z` or a `+hh:mm`/`-hh:mm` suffix (a date-only value counts as zoned: left alone)."""
    return len(value) < 6 or value[-1] == "Z" or value[-6] in "+-"


class _Unparseable(ValueError):
    """A numeric UDF whose value is no number."""


def _udf_value(value: Any, kind: str) -> Any:
    if value is None or value == "":
        return None
    try:
        if kind in _INTEGER:
            return int(float(value))
        if kind in _NUMBER:
            return float(value)
    except (TypeError, ValueError, OverflowError) as exc:
        raise _Unparseable from exc
    if kind in _DATETIME:
        return utc_text(value)
    return value


def _udf_pairs(udfs: Any) -> Iterable[tuple[Any, Any]]:
    """(name, value) pairs from the shapes Autotask sends.

    A list of `{name, value}` (query answers), a dict name -> value, or `{}`/`""`/None when
    there are none (the samples of single-entity GETs and pages show the empty ones).
    """
    if isinstance(udfs, list):
        return ((u.get("name"), u.get("value")) for u in udfs if isinstance(u, dict))
    if isinstance(udfs, dict):
        return udfs.items()
    return ()


class RecordShaper:
    """Turns an API item into a record of the stream's schema, cheaply (per-row hot path)."""

    def __init__(self, schema: dict[str, Any], fields: Iterable[FieldSpec], stream: str = ""):
        props = schema["properties"]
        self._stream = stream
        self._reported: set[str] = set()
        self._datetimes = tuple(
            name
            for name, p in props.items()
            if p.get("format") == "date-time" and "x-autotask-udf" not in p and name != DELETED_AT
        )
        self._udfs = {
            f.udf_name: (f.name, f.data_type.lower()) for f in fields if f.udf_name and f.name in props
        }
        # Autotask sometimes answers a number for a string field (a sample shows Companies
        # `postalCode: 12061`); such values are sent as text, as the schema promises.
        self._strings = tuple(
            name
            for name, p in props.items()
            if p.get("type") == ["string", "null"] and "format" not in p and "x-autotask-udf" not in p
        )
        self._binary = tuple(f.name for f in fields if json_type(f.data_type) is None and not f.is_udf)

    def __call__(self, item: dict[str, Any]) -> dict[str, Any]:
        get = item.get
        udfs = item.pop("userDefinedFields", None)
        for name in self._binary:
            item.pop(name, None)
        for name in self._strings:
            value = get(name)
            if value is not None and value.__class__ is not str:
                item[name] = value if isinstance(value, (dict, list)) else str(value)
        for name in self._datetimes:
            value = get(name)
            if value.__class__ is str and len(value) > 5 and value[-1] != "Z" and value[-6] not in "+-":
                item[name] = value + "Z"  # _has_zone, inlined: this runs ~15 times a row
        if self._udfs:
            for column, _ in self._udfs.values():
                item[column] = None
            for name, value in _udf_pairs(udfs):
                target = self._udfs.get(name)
                if target:
                    try:
                        item[target[0]] = _udf_value(value, target[1])
                    except _Unparseable:
                        self._report(target[0], target[1], value)
        return item

    def _report(self, column: str, kind: str, value: Any) -> None:
        """Null the unparseable value, and say so once per column (type only: values may be
        confidential)."""
        if column not in self._reported:
            self._reported.add(column)
            log.warning(
                "%s.%s: a %s UDF sent a %s value that is no number; sent as null "
                "(further ones in this column are not logged).",
                self._stream or "?",
                column,
                kind,
                type(value).__name__,
            )
