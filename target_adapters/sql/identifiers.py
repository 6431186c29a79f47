"""Identifier quoting for SQL text we write ourselves (COPY, DDL, text()).

SQLAlchemy's quoting doubles ``%`` for drivers with ``%s`` placeholders, because
it expects the driver to halve them again when parameters are bound. Statements
passed as text go through that step once more (or not at all, for COPY), so
names are quoted here without the doubling; ``text()`` and ``DDL`` add it back.
"""

from __future__ import annotations

import typing as t

if t.TYPE_CHECKING:
    from singer_sdk.sql.connector import FullyQualifiedName
    from sqlalchemy.engine import Dialect


def quote(dialect: Dialect, name: str) -> str:
    """``name`` quoted by the dialect's rules, ``%`` left as it is."""
    preparer = dialect.identifier_preparer
    escaped = name.replace(preparer.escape_quote, preparer.escape_to_quote)
    return preparer.initial_quote + escaped + preparer.final_quote


def table(dialect: Dialect, name: FullyQualifiedName) -> str:
    """A schema-qualified table name, each part quoted."""
    return ".".join(quote(dialect, part) for part in (name.schema, name.table) if part)


def columns(dialect: Dialect, names: t.Iterable[str]) -> str:
    """A quoted, comma-separated column list."""
    return ", ".join(quote(dialect, n) for n in names)
