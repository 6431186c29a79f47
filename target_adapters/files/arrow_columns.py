"""JSON-schema column types to Arrow types, and Python values to Arrow arrays.

Dates and times stay strings until a whole row group is converted, so the cast
runs in Arrow's C++ parser; only a group that it rejects (naive or
nanosecond timestamps, odd formats) is parsed value by value in Python, which
also finds the exact value to name in the error.
"""

from __future__ import annotations

import datetime as dt
import typing as t

import orjson
import pyarrow as pa

from target_adapters.common import ColumnType, Kind

TIMESTAMP = pa.timestamp("us", tz="UTC")
JSON = pa.json_(pa.utf8())

_SCALARS: dict[Kind, pa.DataType] = {
    Kind.INTEGER: pa.int64(),
    Kind.NUMBER: pa.float64(),
    Kind.BOOLEAN: pa.bool_(),
    Kind.STRING: pa.string(),
    Kind.DATETIME: TIMESTAMP,
    Kind.DATE: pa.date32(),
    Kind.TIME: pa.time64("us"),
}
_LIST_ITEMS = {Kind.INTEGER, Kind.NUMBER, Kind.BOOLEAN, Kind.STRING}


class ColumnConversionError(ValueError):
    """A value that cannot be stored in its column's Parquet type."""


def arrow_type(column: ColumnType) -> pa.DataType:
    """Arrays of scalars become lists; objects and other arrays become JSON text."""
    if column.kind is Kind.ARRAY:
        if column.items is not None and column.items.kind in _LIST_ITEMS:
            return pa.list_(_SCALARS[column.items.kind])
        return JSON
    if column.kind is Kind.OBJECT:
        return JSON
    return _SCALARS[column.kind]


def arrow_schema(columns: dict[str, ColumnType], metadata: dict[str, str]) -> pa.Schema:
    """Every column nullable: Singer records may leave out any optional field."""
    return pa.schema([pa.field(n, arrow_type(c)) for n, c in columns.items()], metadata=metadata)


def _json_text(values: list) -> pa.Array:
    texts = [
        None if v is None else orjson.dumps(v, option=orjson.OPT_NON_STR_KEYS, default=str).decode()
        for v in values
    ]
    return pa.ExtensionArray.from_storage(JSON, pa.array(texts, pa.string()))


def _parse_datetime(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text)
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.timezone.utc)
    return value


def _parse_date(text: str) -> dt.date:
    return dt.date.fromisoformat(text[:10])


def _parse_time(text: str) -> dt.time:
    return dt.time.fromisoformat(text)


_PARSERS: dict[Kind, t.Callable[[str], t.Any]] = {
    Kind.DATETIME: _parse_datetime,
    Kind.DATE: _parse_date,
    Kind.TIME: _parse_time,
}


def _slow(values: list, kind: Kind, typ: pa.DataType, name: str) -> pa.Array:
    parse = _PARSERS.get(kind)
    out = []
    for value in values:
        try:
            if value is None:
                out.append(None)
            elif parse is not None:
                out.append(parse(value))
            elif kind is Kind.STRING:
                out.append(value if isinstance(value, str) else _json_text([value])[0].as_py())
            elif kind is Kind.INTEGER and isinstance(value, float) and value.is_integer():
                out.append(int(value))
            else:
                out.append(pa.scalar(value, typ).as_py())
        except (ValueError, TypeError, pa.ArrowException) as exc:
            msg = f"column '{name}': value {value!r} cannot be stored as {typ} ({exc})"
            raise ColumnConversionError(msg) from exc
    return pa.array(out, typ)


def to_array(values: list, column: ColumnType, name: str) -> pa.Array:
    """Convert one row group's values of a column; raises ColumnConversionError naming it."""
    typ = arrow_type(column)
    if typ == JSON:
        return _json_text(values)
    try:
        if column.kind in _PARSERS:
            return pa.array(values, pa.string()).cast(typ)
        return pa.array(values, typ)
    except (pa.ArrowException, TypeError, ValueError, OverflowError):
        return _slow(values, column.kind, typ, name)
