"""JSON-schema column types to Arrow types, and Python values to Arrow arrays.

Dates and times stay strings until a whole row group is converted, so the cast
runs in Arrow's C++ parser; only a group that it rejects (naive or
nanosecond timestamps, odd formats) is parsed value by value in Python, which
also finds the exact value (its row and field) to name in the error: an integer
beyond int64, a lone surrogate (Parquet strings are UTF-8), a malformed date.
"""

from __future__ import annotations

import datetime as dt
import typing as t

import pyarrow as pa

from target_adapters.common import ColumnType, Kind
from target_adapters.files.unstorable import (
    SURROGATE,
    SURROGATE_ADVICE,
    json_text,
    shown,
    surrogate_at,
    surrogate_problem,
)

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
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


class ColumnConversionError(ValueError):
    """A value that cannot be stored in its column's Parquet type: its row in the batch, field, why."""

    def __init__(self, index: int, field: str, problem: str, advice: str) -> None:
        super().__init__(f"field {field!r}: {problem}")
        self.index = index
        self.field = field
        self.problem = problem
        self.advice = advice


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


def _json_text(values: list, name: str) -> pa.Array:
    texts = [None if v is None else json_text(v) for v in values]
    try:
        storage = pa.array(texts, pa.string())
    except (ValueError, pa.ArrowException) as exc:
        for i, value in enumerate(values):
            path = surrogate_at(value, name)
            if path is not None:
                raise _surrogate(i, path) from exc
        raise
    return pa.ExtensionArray.from_storage(JSON, storage)


def _surrogate(index: int, field: str) -> ColumnConversionError:
    return ColumnConversionError(index, field, surrogate_problem("Parquet (UTF-8 strings)"), SURROGATE_ADVICE)


def _beyond_int64(value: t.Any) -> bool:
    if isinstance(value, list):
        return any(_beyond_int64(v) for v in value)
    if isinstance(value, float):
        return value.is_integer() and not _INT64_MIN <= value <= _INT64_MAX
    return isinstance(value, int) and not _INT64_MIN <= value <= _INT64_MAX


def _explain(
    index: int,
    name: str,
    value: t.Any,
    typ: pa.DataType,
    exc: BaseException,
) -> ColumnConversionError:
    """Why one value does not fit its column, in the user's terms."""
    path = surrogate_at(value, name)
    if path is not None:
        return _surrogate(index, path)
    if _beyond_int64(value) and typ in (pa.int64(), pa.list_(pa.int64())):
        return ColumnConversionError(
            index,
            name,
            f"{shown(value)} holds an integer beyond Parquet's int64 (-2^63..2^63-1)",
            "Declare the field as number (double, inexact) or string in the tap's schema, or use "
            "format jsonl or csv, which keep it exactly.",
        )
    return ColumnConversionError(
        index,
        name,
        f"value {shown(value)} cannot be stored as {typ} ({exc})",
        "Fix the source value, or the field's type in the tap's schema.",
    )


def _parse_datetime(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text)
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
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


def _one(value: t.Any, kind: Kind, typ: pa.DataType) -> t.Any:
    """One value as its column stores it; raises what Arrow or the parser raises."""
    parse = _PARSERS.get(kind)
    if parse is not None:
        return parse(value)
    if kind is Kind.STRING:
        text = value if isinstance(value, str) else json_text(value)
        if SURROGATE.search(text):
            raise ValueError(text)
        return text
    if kind is Kind.INTEGER and isinstance(value, float) and value.is_integer():
        value = int(value)
    return pa.scalar(value, typ).as_py()


def _slow(values: list, kind: Kind, typ: pa.DataType, name: str) -> pa.Array:
    out = []
    for i, value in enumerate(values):
        try:
            out.append(None if value is None else _one(value, kind, typ))
        except (ValueError, TypeError, OverflowError, pa.ArrowException) as exc:
            raise _explain(i, name, value, typ, exc) from exc
    return pa.array(out, typ)


def to_array(values: list, column: ColumnType, name: str) -> pa.Array:
    """Convert one row group's values of a column; raises ColumnConversionError naming the row."""
    typ = arrow_type(column)
    if typ == JSON:
        return _json_text(values, name)
    try:
        if column.kind in _PARSERS:
            return pa.array(values, pa.string()).cast(typ)
        return pa.array(values, typ)
    except (pa.ArrowException, TypeError, ValueError, OverflowError):
        return _slow(values, column.kind, typ, name)
