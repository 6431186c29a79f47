"""SQL names: quoting for SQL text we write ourselves, and names that fit each database.

Quoting (COPY, DDL, text()):

SQLAlchemy's quoting doubles ``%`` for drivers with ``%s`` placeholders, because
it expects the driver to halve them again when parameters are bound. Statements
passed as text go through that step once more (or not at all, for COPY), so
names are quoted here without the doubling; ``text()`` and ``DDL`` add it back.
"""

from __future__ import annotations

import hashlib
import string
import typing as t
import unicodedata

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


# --- stream and property names to SQL names --------------------------------------------
#
# Every statement quotes its names, so reserved words (``order``, ``select``) and any
# punctuation are valid as they are and are kept. What a database cannot hold even
# quoted is changed: a name too long for it (PostgreSQL: 63 bytes, MySQL: 64
# characters), characters it refuses (NUL and control characters everywhere; on MySQL
# the backtick, which its reflection reads back differently, characters outside the
# BMP and trailing spaces). A changed name keeps a readable cut of the original and
# ends in ``_`` and 8 hex digits of the original's SHA-1, so it is the same on every
# run. Which names count as equal (and so may not share a table or column) depends on
# the database: exact on PostgreSQL, ASCII case on SQLite, case and accents on MySQL.

MAX_LENGTH: dict[str, int | None] = {"postgresql": 63, "mysql": 64, "sqlite": None}
_TAG = 9  # "_" and 8 hex digits


def digest(name: str) -> str:
    """8 hex digits of ``name``'s SHA-1: short, stable, and different for different names."""
    return hashlib.sha1(name.encode("utf-8", "surrogatepass")).hexdigest()[:8]


def _allowed(dialect_name: str, char: str) -> bool:
    code = ord(char)
    if code < 0x20 or code == 0x7F or 0xD800 <= code <= 0xDFFF:
        return False
    return not (dialect_name == "mysql" and (char == "`" or code > 0xFFFF))


def cleaned(dialect_name: str, name: str) -> str:
    """``name`` with the characters the database cannot hold in a name replaced by ``_``."""
    text = "".join(c if _allowed(dialect_name, c) else "_" for c in name)
    if dialect_name == "mysql":
        text = text.rstrip(" ")
    return text or "_"


def _length(dialect_name: str, text: str) -> int:
    return len(text.encode("utf-8")) if dialect_name == "postgresql" else len(text)


def _cut(dialect_name: str, text: str, limit: int) -> str:
    """The longest prefix of ``text`` within ``limit`` (bytes on PostgreSQL, never mid-character)."""
    if dialect_name != "postgresql":
        return text[:limit]
    return text.encode("utf-8")[:limit].decode("utf-8", "ignore")


def sql_name(dialect_name: str, name: str, *, tagged: bool = False) -> str:
    """The SQL name for ``name``: itself when the database can hold it, else cut and tagged.

    ``tagged`` forces the hash tag, for a name whose plain form is already taken.
    """
    text = cleaned(dialect_name, name)
    limit = MAX_LENGTH.get(dialect_name)
    if not tagged and text == name and (limit is None or _length(dialect_name, text) <= limit):
        return name
    tag = "_" + digest(name)
    if limit is not None:
        text = _cut(dialect_name, text, limit - _TAG)
    return text + tag


def with_suffix(dialect_name: str, base: str, suffix: str) -> str:
    """``base + suffix`` (a derived name: a view, a label column, an index), within the limit."""
    limit = MAX_LENGTH.get(dialect_name)
    whole = base + suffix
    if limit is None or _length(dialect_name, whole) <= limit:
        return whole
    room = limit - _length(dialect_name, suffix) - _TAG
    return _cut(dialect_name, base, room) + "_" + digest(base) + suffix


def folded(dialect_name: str, name: str) -> str:
    """The form under which the database takes two names as the same one."""
    if dialect_name == "postgresql":
        return name
    if dialect_name == "sqlite":  # SQLite folds ASCII letters only
        return name.translate(_ASCII_LOWER)
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
