"""Record to row tuple, validated and converted, compiled once per schema.

singer-sdk interprets the JSON schema for every field of every record, which is
where most of a typical SQL target's time goes. Here the schema is turned into
C-level ``map`` calls on the common path (see :func:`compile_rows`) and, for
everything else, the source of one small Python function per schema (as
fastjsonschema does) whose rare path (nulls in non-null columns, integral
floats, datetime objects, wrong types) goes through a converter that either
fixes the value losslessly or raises an error naming the field.
"""

from __future__ import annotations

import datetime as dt
import decimal
import operator
import typing as t
from dataclasses import dataclass

import orjson

from target_adapters.common.schema_types import ColumnType, Kind

Converter = t.Callable[[t.Any], t.Any]
RowBuilder = t.Callable[[dict], tuple]


class FieldError(ValueError):
    """A value that does not fit its column."""


class BadField(Exception):
    """Raised by a compiled builder: column ``index`` refused its value (None: missing)."""

    def __init__(self, index: int, error: FieldError | None) -> None:
        super().__init__(index, error)
        self.index = index
        self.error = error


@dataclass(frozen=True, slots=True)
class ValueStyle:
    """How a database wants the values it cannot take as plain JSON scalars.

    ``datetime_as_text`` keeps ISO strings for databases that parse them
    themselves (PostgreSQL COPY does, and rejects bad ones with the line number);
    otherwise they are parsed here and rendered by ``render_datetime``.
    """

    datetime_as_text: bool
    render_datetime: t.Callable[[dt.datetime], t.Any]


_UTC = dt.UTC
_INT64_LIMIT = 2.0**63


def _utc_naive(value: dt.datetime) -> dt.datetime:
    """Naive UTC; values without an offset are taken as UTC already."""
    if value.tzinfo is None:
        return value
    if value.tzinfo is not _UTC:  # fromisoformat gives the singleton for Z and +00:00
        value = value.astimezone(_UTC)
    return value.replace(tzinfo=None)


POSTGRES = ValueStyle(datetime_as_text=True, render_datetime=lambda v: v)


def _utc_text(value: dt.datetime) -> str:
    """``YYYY-MM-DD HH:MM:SS.ffffff`` in UTC: what SQLAlchemy's SQLite DateTime reads
    back and what MySQL DATETIME(6) takes."""
    if value.tzinfo is not None and value.tzinfo is not _UTC:
        value = value.astimezone(_UTC)
    return value.isoformat(" ", "microseconds")[:26]


MYSQL = ValueStyle(datetime_as_text=False, render_datetime=_utc_text)
SQLITE = ValueStyle(datetime_as_text=False, render_datetime=_utc_text)


def _zulu_text(value: str) -> str | None:
    """The same text for ``...THH:MM:SS[.f]Z`` by slicing (the common case is 4x faster).

    Call only after ``fromisoformat`` accepted ``value``.
    """
    if len(value) < 20 or value[10] != "T" or value[-1] != "Z" or value[19] not in ".Z":
        return None
    body = value[:10] + " " + value[11:-1]
    return (body + "000000")[:26] if len(body) > 19 else body + ".000000"


def _parse_datetime(value: t.Any) -> dt.datetime:
    if isinstance(value, str):
        return dt.datetime.fromisoformat(value)
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=_UTC)
    raise FieldError(f"{value!r} is not a date-time")


def _json(value: t.Any) -> str | None:
    if value is None:
        return None
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def _converter(column: ColumnType, style: ValueStyle) -> tuple[str, Converter]:
    """The common-path test (source, ``{v}`` is the value) and the converter for everything else."""
    kind = column.kind

    def fail(value: t.Any, wanted: str) -> t.NoReturn:
        raise FieldError(f"{value!r} ({type(value).__name__}) is not {wanted}")

    if kind is Kind.INTEGER:

        def to_int(value: t.Any) -> t.Any:
            if isinstance(value, float) and value.is_integer():
                if abs(value) >= _INT64_LIMIT:
                    raise FieldError(
                        f"is an integer beyond 64 bits ({value:.0f}, read inexactly as a float); "
                        "integer columns hold 64 bits, declare the property as a number"
                    )
                return int(value)
            if isinstance(value, decimal.Decimal) and value == value.to_integral_value():
                return int(value)
            if isinstance(value, int) and not isinstance(value, bool):
                return value
            fail(value, "an integer")

        return "{v}.__class__ is int", to_int
    if kind is Kind.NUMBER:

        def to_number(value: t.Any) -> t.Any:
            if isinstance(value, (int, float, decimal.Decimal)) and not isinstance(value, bool):
                return value
            fail(value, "a number")

        return "{v}.__class__ is float or {v}.__class__ is int", to_number
    if kind is Kind.BOOLEAN:

        def to_bool(value: t.Any) -> t.Any:
            fail(value, "a boolean")

        return "{v}.__class__ is bool", to_bool
    if kind in (Kind.OBJECT, Kind.ARRAY):
        return "False", _json
    if kind is Kind.DATETIME:
        last: list[t.Any] = [None, None]  # metadata stamps repeat: remember the last one

        def to_datetime(value: t.Any) -> t.Any:
            if value is None:
                return None
            if value == last[0]:
                return last[1]
            try:
                parsed = _parse_datetime(value)
            except ValueError as exc:
                fail(value, f"an ISO 8601 date-time ({exc})")
            rendered = (
                style.render_datetime is _utc_text and isinstance(value, str) and _zulu_text(value)
            ) or style.render_datetime(parsed)
            last[0], last[1] = value, rendered
            return rendered

        if style.render_datetime is _utc_text:
            fromisoformat = dt.datetime.fromisoformat

            def to_utc_text(value: t.Any) -> t.Any:
                """The common ``YYYY-MM-DDTHH:MM:SS.sssZ`` (Autotask's form) in one call."""
                if value.__class__ is str and len(value) == 24 and value[23] == "Z" and value[10] == "T":
                    try:
                        fromisoformat(value)  # validates; the text is then sliced
                    except ValueError:
                        return to_datetime(value)
                    if value[19] == ".":
                        return value[:10] + " " + value[11:23] + "000"
                return to_datetime(value)

            return "False", to_utc_text
        return ("{v}.__class__ is str" if style.datetime_as_text else "False"), to_datetime
    if kind in (Kind.DATE, Kind.TIME):
        parse = dt.date.fromisoformat if kind is Kind.DATE else dt.time.fromisoformat

        def to_temporal(value: t.Any) -> t.Any:
            if value is None:
                return None
            if isinstance(value, (dt.date, dt.time)):
                return value
            try:
                return parse(value)
            except (TypeError, ValueError):
                fail(value, f"an ISO 8601 {kind.value}")

        return "False", to_temporal

    def to_text(value: t.Any) -> t.Any:
        if isinstance(value, str):
            return value
        if isinstance(value, (dict, list)):
            return _json(value)
        if isinstance(value, (bool, int, float, decimal.Decimal)):
            return str(value).lower() if isinstance(value, bool) else str(value)
        fail(value, "a string")

    return "{v}.__class__ is str", to_text


_NONE = type(None)
# Python classes a column of each kind takes without conversion.
_AS_IS: dict[Kind, frozenset[type]] = {
    Kind.INTEGER: frozenset({int}),
    Kind.NUMBER: frozenset({int, float}),
    Kind.BOOLEAN: frozenset({bool}),
    Kind.STRING: frozenset({str}),
    Kind.DATETIME: frozenset({str}),
}
_KIND_ORDER = (Kind.INTEGER, Kind.NUMBER, Kind.BOOLEAN, Kind.STRING, Kind.DATETIME)


@dataclass(frozen=True, slots=True)
class CompiledRows:
    """A record-to-row function and the column order of the rows it returns."""

    columns: list[str]
    build: RowBuilder


def _converted_always(kind: Kind, style: ValueStyle) -> bool:
    if kind is Kind.DATETIME:
        return not style.datetime_as_text
    return kind not in _AS_IS


def compile_rows(
    stream: str,
    columns: t.Mapping[str, ColumnType],
    style: ValueStyle,
    *,
    required: t.Collection[str] = (),
) -> CompiledRows:
    """Compile ``record -> tuple``; missing fields become NULL, ``required`` ones must be set.

    Columns are ordered so the common case runs in C: keys, then columns taken
    as they are (grouped by kind), then the ones always converted. One
    ``map(dict.get)`` reads a record, one ``map(type)`` against per-column sets of
    accepted classes checks it; anything unusual (a null key, an integral float,
    a wrong type) goes through the per-field builder, which converts or raises
    with the column's position. NUL characters never get here for PostgreSQL:
    the reader (:mod:`.reader`) removes them.
    """
    keys = [n for n in required if n in columns]
    if any(_converted_always(columns[k].kind, style) for k in keys):
        order = list(columns)
        slow = compile_row_builder(stream, columns, style, required=required)
        return CompiledRows(order, slow)
    rest = [n for n in columns if n not in keys]
    checked = [
        n
        for kind in _KIND_ORDER
        for n in rest
        if columns[n].kind is kind and not _converted_always(kind, style)
    ]
    converted = [n for n in rest if n not in checked]
    order = keys + checked
    order += converted
    slow = compile_row_builder(stream, {n: columns[n] for n in order}, style, required=required)
    accepted = tuple(
        _AS_IS[columns[n].kind] | (frozenset() if n in keys else frozenset({_NONE}))
        for n in order[: len(keys) + len(checked)]
    )
    converters = tuple(_converter(columns[n], style)[1] for n in converted)
    split = len(keys) + len(checked)
    names = tuple(order)
    # One C call for the common record that has every property; a missing one is NULL.
    pick = operator.itemgetter(*names) if len(names) > 1 else lambda r: (r[names[0]],)

    def build(record: dict) -> tuple:
        try:
            row = pick(record)
        except KeyError:
            row = tuple(map(record.get, names))
        if not all(map(operator.contains, accepted, map(type, row))):
            return slow(record)
        if converters:
            try:
                return row[:split] + tuple(map(operator.call, converters, row[split:]))
            except FieldError:
                return slow(record)
        return row

    return CompiledRows(list(order), build)


def compile_row_builder(
    stream: str,
    columns: t.Mapping[str, ColumnType],
    style: ValueStyle,
    *,
    required: t.Collection[str] = (),
) -> RowBuilder:
    """Compile ``record -> tuple`` field by field, for ``columns`` in their order.

    Missing fields become NULL; a field listed in ``required`` (key properties)
    must be present and not null.
    """
    names = list(columns)
    env: dict[str, t.Any] = {"_problem": _problem, "FieldError": FieldError}
    lines = ["def build(r):", "    g = r.get"]
    for i, name in enumerate(names):
        test, convert = _converter(columns[name], style)
        env[f"_c{i}"] = convert
        value = f"v{i}"
        lines.append(f"    {value} = g({name!r})")
        if name in required:
            lines.append(f"    if {value} is None: _problem(r, {i}, None)")
        common = test.format(v=value)
        lines.append(f"    if not ({common}) and {value} is not None:")
        lines.append("        try:")
        lines.append(f"            {value} = _c{i}({value})")
        lines.append("        except FieldError as e:")
        lines.append(f"            _problem(r, {i}, e)")
    lines.append("    return (" + "".join(f"v{i}, " for i in range(len(names))) + ")")
    exec(compile("\n".join(lines), f"<row builder {stream}>", "exec"), env)
    return t.cast(RowBuilder, env["build"])


def stamp(record: dict, message: dict, shared: dict, sequence: int) -> None:
    """Add a record's ``_sdc_*`` values; ``shared`` holds the ones its whole batch shares."""
    record.update(shared)
    record["_sdc_extracted_at"] = message.get("time_extracted")
    record["_sdc_sequence"] = sequence
    record["_sdc_table_version"] = message.get("version")
    record.setdefault("_sdc_deleted_at", None)


def _problem(record: dict, index: int, error: FieldError | None) -> t.NoReturn:
    raise BadField(index, error)
