"""Conversion of JSON values to stored column values and back, by catalog data type.

Datetimes are stored as zone-less UTC text `YYYY-MM-DDTHH:MM:SS.fff`, so that string order is time
order and filters compare them in SQL directly. Booleans are stored as 0/1.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from .errors import ApiError

INTEGER_TYPES = frozenset({"integer", "long", "short"})
_DATETIME_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?)?"
    r"(Z|[+-]\d{2}:?\d{2})?$",
    re.IGNORECASE,
)


def format_datetime(value: datetime) -> str:
    """The stored form of an aware or naive-UTC datetime."""
    if value.tzinfo is UTC:
        return value.isoformat(timespec="milliseconds")[:23]  # drop "+00:00"
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(timespec="milliseconds")


def parse_datetime(text: str) -> str:
    """Accept the forms clients send (date only, with or without `Z`, 0-7 fraction digits)."""
    match = _DATETIME_RE.match(text.strip())
    if not match:
        raise ValueError(text)
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    value = datetime(
        int(year),
        int(month),
        int(day),
        int(hour or 0),
        int(minute or 0),
        int(second or 0),
        int((fraction or "0").ljust(6, "0")[:6]),
    )
    if zone and zone.upper() != "Z":
        value = datetime.fromisoformat(f"{value.isoformat()}{zone}").astimezone(UTC)
    return format_datetime(value)


def now_text() -> str:
    return format_datetime(datetime.now(UTC))


def to_storage(value: Any, data_type: str, field: str) -> Any:
    """Coerce a JSON value for a column; raise the API's 500 error when it cannot be."""
    if value is None:
        return None
    try:
        if data_type in INTEGER_TYPES:
            if isinstance(value, bool) or (isinstance(value, str) and value.lower() in ("true", "false")):
                return int(to_bool(value))  # e.g. Contacts.isActive is an integer flag
            if isinstance(value, float) and not value.is_integer():
                raise ValueError(value)
            return int(value)
        if data_type == "double":
            if isinstance(value, bool):
                raise ValueError(value)
            return float(value)
        if data_type == "boolean":
            return int(to_bool(value))
        if data_type == "datetime":
            if not isinstance(value, str):
                raise ValueError(value)
            return parse_datetime(value)
    except (TypeError, ValueError) as exc:
        raise ApiError(500, f"Value {value!r} is not valid for field {field} of type {data_type}.") from exc
    return value if isinstance(value, str) else str(value)


def to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ValueError(value)


def udf_to_storage(value: Any, udf_type: str, name: str) -> Any:
    """UDF values arrive as strings (or typed JSON); store them typed so filters compare right."""
    if value is None or value == "":
        return None
    kind = {"double": "double", "integer": "integer", "datetime": "datetime"}.get(udf_type, "string")
    return to_storage(value, kind, name)


def udf_to_wire(value: Any) -> str | None:
    """UDF values are strings on the wire (swagger `UserDefinedField.value: string`)."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value)) if abs(value) < 1e15 else str(value)
    return str(value)
