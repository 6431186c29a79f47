"""Row checks from live field metadata (`entityInformation/fields` and UDFs).

The same checks run before a real job sends a row (a row Autotask would refuse is not worth a
request) and in a dry run. Messages use Autotask's own wording where it has one, so a dry run
reads like the errors the real run would have met.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._datetime import parse_datetime
from ..catalog import EntityInfo

__all__ = ["FieldRules", "READ_ONLY_POLICIES"]

READ_ONLY_POLICIES = ("error", "drop")
_INTEGER = ("integer", "long", "short", "byte")
_NUMBER = _INTEGER + ("double", "decimal", "float")


class FieldRules:
    """What one entity's fields allow, by lower-case name (Autotask matches names that way)."""

    def __init__(self, info: EntityInfo, fields: list[dict[str, Any]], udfs: list[dict[str, Any]]):
        self.info = info
        self.internal = info.internal_name or info.name
        self.fields = {str(f["name"]).lower(): f for f in fields}
        self.udfs = {str(u["name"]).lower(): u for u in udfs}
        self.stamp = info.modification_timestamp

    def name(self, key: str) -> str:
        """The catalog's spelling (camelCase), else the key as given."""
        found = self.info.field(key)
        return found.name if found is not None else key

    def is_udf(self, key: str) -> bool:
        return key.lower() not in self.fields and key.lower() in self.udfs

    def is_stamp(self, key: str) -> bool:
        return self.stamp is not None and key.lower() == self.stamp.lower()

    # shaping -----------------------------------------------------------------------------
    def payload(self, row: Mapping[str, Any], read_only: str) -> dict[str, Any]:
        """The body to send: the timestamp (kept for conflicts) and, with `read_only="drop"`,
        read-only fields left out; UDF columns moved into `userDefinedFields`."""
        body: dict[str, Any] = {}
        udfs = list(row.get("userDefinedFields") or [])
        for key, value in row.items():
            if key == "userDefinedFields" or self.is_stamp(key):
                continue
            meta = self.fields.get(key.lower())
            if meta is None and self.is_udf(key):
                udfs.append({"name": self.udfs[key.lower()]["name"], "value": value})
                continue
            if meta is not None and meta.get("isReadOnly") and key.lower() != "id" and read_only == "drop":
                continue
            body[key] = value
        if udfs:
            body["userDefinedFields"] = udfs
        return body

    # checks ------------------------------------------------------------------------------
    def check(
        self, body: Mapping[str, Any], verb: str, current: Mapping[str, Any] | None = None
    ) -> list[str]:
        """Problems with one outgoing body (`verb`: create, update, replace)."""
        problems: list[str] = []
        for key, value in body.items():
            if key == "userDefinedFields" or key.lower() == "id":
                continue
            meta = self.fields.get(key.lower())
            if meta is None:
                problems.append(f"Unable to find {key} in the {self.internal} Entity.")
                continue
            name = self.name(key)
            if meta.get("isReadOnly"):
                problems.append(
                    f"{name} is read-only: Autotask ignores it on write. Leave it out, "
                    "or pass read_only='drop'."
                )
                continue
            problems += self._value_problems(name, meta, value)
        if verb in ("create", "replace"):
            problems += [
                f"Missing Required Field: {self.name(m['name'])}."
                for low, m in self.fields.items()
                if m.get("isRequired")
                and not m.get("isReadOnly")
                and low != "id"
                and _given(body, low) is None
            ]
        else:
            problems += [
                f"Missing Required Field: {self.name(key)}."
                for key, value in body.items()
                if value is None and (self.fields.get(key.lower()) or {}).get("isRequired")
            ]
        problems += self._dependent_problems(body, current)
        problems += self._udf_problems(body.get("userDefinedFields") or [])
        return problems

    def _value_problems(self, name: str, meta: Mapping[str, Any], value: Any) -> list[str]:
        if value is None:
            return []
        kind = str(meta.get("dataType", "")).lower()
        if kind in _NUMBER and (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or (kind in _INTEGER and isinstance(value, float) and not value.is_integer())
        ):
            return [f"Value {value!r} is not a valid {kind} for field {name}."]
        if kind == "boolean" and not isinstance(value, bool):
            return [f"Value {value!r} is not a valid boolean for field {name} (use true or false)."]
        if kind == "datetime":
            try:
                parse_datetime(value)
            except (ValueError, TypeError, AttributeError):
                return [f"Value {value!r} is not a valid datetime for field {name}."]
        length = meta.get("length") or 0
        if kind == "string" and length and isinstance(value, str) and len(value) > length:
            return [f"The value of {name} exceeds the maximum length of {length} characters."]
        choices = _choices(meta)
        if choices and _key(value) not in choices:
            return [f"Picklist value [{value}] does not exist for {name}."]
        return []

    def _dependent_problems(self, body: Mapping[str, Any], current: Mapping[str, Any] | None) -> list[str]:
        """A dependent picklist (subIssueType under issueType): the chosen child value must
        belong to the parent value the record will have."""
        problems = []
        lowered = {k.lower(): v for k, v in body.items()}
        for low, meta in self.fields.items():
            parent_field = str(meta.get("picklistParentValueField") or "").lower()
            if not parent_field or lowered.get(low) is None:
                continue
            if parent_field in lowered:
                parent = lowered[parent_field]
            else:
                parent = _given(current or {}, parent_field)
            if parent is None:
                continue
            child = _key(lowered[low])
            options = {
                str(v["value"]): str(v.get("parentValue") or "") for v in meta.get("picklistValues") or ()
            }
            if child in options and options[child] and options[child] != _key(parent):
                problems.append(
                    f"Picklist value [{lowered[low]}] does not exist for {self.name(low)} "
                    f"(it belongs under {self.name(parent_field)} {options[child]}, not {parent})."
                )
        return problems

    def _udf_problems(self, udfs: list[Any]) -> list[str]:
        problems = []
        for item in udfs:
            if not isinstance(item, Mapping) or "name" not in item:
                problems.append('userDefinedFields must be a list of {"name": ..., "value": ...}.')
                continue
            meta = self.udfs.get(str(item["name"]).lower())
            if meta is None:
                problems.append(f"Unable to find {item['name']} in the {self.internal} Entity.")
                continue
            value = item.get("value")
            if value is None:
                continue
            length = meta.get("length") or 0
            if isinstance(value, str) and length and len(value) > length:
                problems.append(
                    f"The value of {meta['name']} exceeds the maximum length of {length} characters."
                )
            choices = _choices(meta)
            if choices and _key(value) not in choices:
                problems.append(f"Picklist value [{value}] does not exist for {meta['name']}.")
        return problems

    def references(self, body: Mapping[str, Any]) -> list[tuple[str, str, int]]:
        """`(field, referenced entity, id)` for every reference this body sets."""
        out = []
        for key, value in body.items():
            meta = self.fields.get(key.lower())
            if meta is None or value is None or isinstance(value, bool) or not isinstance(value, int):
                continue
            field = self.info.field(key)
            target = field.reference if field is not None else None
            if target and key.lower() != "id":
                out.append((self.name(key), target, value))
        return out


def _choices(meta: Mapping[str, Any]) -> set[str]:
    if not meta.get("isPickList"):
        return set()
    return {str(v["value"]) for v in meta.get("picklistValues") or ()}


def _key(value: Any) -> str:
    """Picklist values are strings in metadata; 1, 1.0 and "1" are the same choice."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def _given(row: Mapping[str, Any], low: str) -> Any:
    for key, value in row.items():
        if key.lower() == low:
            return value
    return None
