"""Column types: JSON-schema kinds to SQL types per dialect, and how columns widen.

A registry keyed by (dialect, kind) with an explicit fallback order, so a new
database is a table of entries rather than new branches. Widening follows one
ladder, ``boolean < integer < bigint < numeric < text``; anything that is not on
the same rung-path (dates next to numbers, JSON next to text, ...) becomes text,
which holds every value the stream may send, so no row is ever refused for a
type change and no column is ever dropped.
"""

from __future__ import annotations

import typing as t

import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql

from target_adapters.common.schema_types import ColumnType, Kind

TypeFactory = t.Callable[[bool], sa.types.TypeEngine]
"""Builds a column type; the argument says whether the column is part of the key."""


def _mysql_text(is_key: bool) -> sa.types.TypeEngine:
    # MySQL cannot index TEXT without a prefix length, so key strings get VARCHAR.
    return sa.VARCHAR(255) if is_key else mysql.LONGTEXT()


_GENERIC: dict[Kind, TypeFactory] = {
    Kind.INTEGER: lambda _k: sa.BigInteger(),
    Kind.NUMBER: lambda _k: sa.Numeric(),
    Kind.BOOLEAN: lambda _k: sa.Boolean(),
    Kind.STRING: lambda _k: sa.Text(),
    Kind.DATETIME: lambda _k: sa.DateTime(timezone=True),
    Kind.DATE: lambda _k: sa.Date(),
    Kind.TIME: lambda _k: sa.Time(),
    Kind.OBJECT: lambda _k: sa.Text(),
    Kind.ARRAY: lambda _k: sa.Text(),
}

_BY_DIALECT: dict[str, dict[Kind, TypeFactory]] = {
    "postgresql": {
        Kind.NUMBER: lambda _k: postgresql.NUMERIC(),
        Kind.DATETIME: lambda _k: postgresql.TIMESTAMP(timezone=True),
        Kind.OBJECT: lambda _k: postgresql.JSONB(),
        Kind.ARRAY: lambda _k: postgresql.JSONB(),
    },
    "mysql": {
        # DECIMAL without precision is DECIMAL(10,0) in MySQL: say what we mean.
        Kind.NUMBER: lambda _k: mysql.DECIMAL(38, 10),
        Kind.STRING: _mysql_text,
        Kind.DATETIME: lambda _k: mysql.DATETIME(fsp=6),
        Kind.TIME: lambda _k: mysql.TIME(fsp=6),
        Kind.OBJECT: lambda _k: mysql.JSON(),
        Kind.ARRAY: lambda _k: mysql.JSON(),
    },
    "sqlite": {
        Kind.DATETIME: lambda _k: sa.DateTime(),
    },
}


def sql_type(dialect: str, column: ColumnType, *, is_key: bool = False) -> sa.types.TypeEngine:
    """The SQL type that stores every value of ``column`` on ``dialect``."""
    factory = _BY_DIALECT.get(dialect, {}).get(column.kind) or _GENERIC[column.kind]
    return factory(is_key)


# Rungs of the widening ladder; kinds off the ladder only widen to text.
_LADDER = ("boolean", "smallint", "integer", "bigint", "numeric", "text")


def rung(sql: sa.types.TypeEngine) -> str:
    """Place an existing or wanted column type on the widening ladder."""
    if isinstance(sql, sa.Boolean):
        return "boolean"
    if isinstance(sql, sa.SmallInteger):
        return "smallint"
    if isinstance(sql, sa.BigInteger):
        return "bigint"
    if isinstance(sql, sa.Integer):
        return "integer"
    if isinstance(sql, (sa.Numeric, sa.Float)):
        return "numeric"
    if isinstance(sql, (sa.JSON, postgresql.JSONB)):
        return "json"
    if isinstance(sql, sa.DateTime):
        return "datetime"
    if isinstance(sql, sa.Date):
        return "date"
    if isinstance(sql, sa.Time):
        return "time"
    if isinstance(sql, sa.String):
        return "text"
    return type(sql).__name__.lower()


def widened(current: sa.types.TypeEngine, wanted: sa.types.TypeEngine) -> str | None:
    """The rung a column must widen to so it holds ``wanted`` values; None if it does."""
    have, need = rung(current), rung(wanted)
    if have == need or have == "text":
        return None
    if have in _LADDER and need in _LADDER:
        return need if _LADDER.index(need) > _LADDER.index(have) else None
    return "text"


def rung_type(dialect: str, name: str) -> sa.types.TypeEngine:
    """A concrete type for a ladder rung on ``dialect``."""
    kinds = {"bigint": Kind.INTEGER, "numeric": Kind.NUMBER, "text": Kind.STRING}
    return sql_type(dialect, ColumnType(kinds[name]))
