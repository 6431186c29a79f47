"""Record to row tuple, validated and converted, compiled once per schema.

singer-sdk interprets the JSON schema for every field of every record, which is
where most of a typical SQL target's time goes. Here the schema is turned into
the source of one small Python function (as fastjsonschema does): per field one
``dict.get`` and one class test on the common path; the rare path (nulls in
non-null columns, integral floats, datetime objects, wrong types) goes through a
converter that either fixes the value losslessly or raises an error naming the
stream, the record and the field.
"""

from __future__ import annotations

import datetime as dt
import decimal
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
    strip_nul: bool = False


_UTC = dt.timezone.utc


def _utc_naive(value: dt.datetime) -> dt.datetime:
    """Naive UTC; values without an offset are taken as UTC already."""
    if value.tzinfo is None:
        return value
    if value.tzinfo is not _UTC:  # fromisoformat gives the singleton for Z and +00:00
        value = value.astimezone(_UTC)
    return value.replace(tzinfo=None)


POSTGRES = ValueStyle(datetime_as_text=True, render_datetime=lambda v: v, strip_nul=True)


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


def _json(value: t.Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def _without_nul(value: t.Any) -> t.Any:
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_nul(v) for v in value]
    return value


def _json_without_nul(value: t.Any) -> str:
    """PostgreSQL text and jsonb cannot hold NUL characters: they are dropped."""
    text = _json(value)
    return _json(_without_nul(value)) if "\\u0000" in text else text


def _converter(column: ColumnType, style: ValueStyle) -> tuple[str, Converter]:
    """The common-path test (source, ``{v}`` is the value) and the converter for everything else."""
    kind = column.kind

    def fail(value: t.Any, wanted: str) -> t.NoReturn:
        raise FieldError(f"{value!r} ({type(value).__name__}) is not {wanted}")

    if kind is Kind.INTEGER:
        def to_int(value: t.Any) -> t.Any:
            if isinstance(value, float) and value.is_integer():
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
    as_json = _json_without_nul if style.strip_nul else _json
    if kind in (Kind.OBJECT, Kind.ARRAY):
        return "False", as_json
    if kind is Kind.DATETIME:
        last: list[t.Any] = [None, None]  # metadata stamps repeat: remember the last one

        def to_datetime(value: t.Any) -> t.Any:
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
        return ("{v}.__class__ is str" if style.datetime_as_text else "False"), to_datetime
    if kind in (Kind.DATE, Kind.TIME):
        parse = dt.date.fromisoformat if kind is Kind.DATE else dt.time.fromisoformat

        def to_temporal(value: t.Any) -> t.Any:
            if isinstance(value, (dt.date, dt.time)):
                return value
            try:
                return parse(value)
            except (TypeError, ValueError):
                fail(value, f"an ISO 8601 {kind.value}")
        return "False", to_temporal

    def to_text(value: t.Any) -> t.Any:
        if isinstance(value, str):
            return value.replace("\x00", "") if style.strip_nul else value
        if isinstance(value, (dict, list)):
            return as_json(value)
        if isinstance(value, (bool, int, float, decimal.Decimal)):
            return str(value).lower() if isinstance(value, bool) else str(value)
        fail(value, "a string")
    if style.strip_nul:
        return '{v}.__class__ is str and "\\x00" not in {v}', to_text
    return "{v}.__class__ is str", to_text


def compile_row_builder(
    stream: str,
    columns: t.Mapping[str, ColumnType],
    style: ValueStyle,
    *,
    required: t.Collection[str] = (),
) -> RowBuilder:
    """Compile ``record -> tuple`` for ``columns`` in their order.

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
    exec(compile("\n".join(lines), f"<row builder {stream}>", "exec"), env)  # noqa: S102
    return t.cast(RowBuilder, env["build"])


def _problem(record: dict, index: int, error: FieldError | None) -> t.NoReturn:
    raise BadField(index, error)
