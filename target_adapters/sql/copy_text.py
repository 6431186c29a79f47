"""Rows as lines of PostgreSQL's COPY text format, by psycopg's own C formatter.

The parsing process (:mod:`.parse_process`) formats rows here, so the target only
passes bytes to ``COPY ... FROM STDIN``; the target formats here the few rows it
builds itself (deletion marks), so both give the same bytes as ``Copy.write_row``.
The default adapters are used: rows hold only str, int, float, bool, None, date
and time, which no connection adapts differently, and the text is UTF-8 (the
target uses lines only on a UTF-8 connection).
"""

from __future__ import annotations

import typing as t

from psycopg._copy_base import format_row_text  # the C function behind Copy.write_row
from psycopg.adapt import Transformer

_TX = Transformer()


def copy_line(row: t.Sequence[t.Any]) -> bytes:
    """One row as a COPY text line, newline included."""
    out = bytearray()
    format_row_text(row, _TX, out)
    return bytes(out)


def copy_fields(line: bytes) -> list[bytes]:
    """The fields of a COPY text line, still escaped (tabs in values are escaped as ``\\t``)."""
    return line[:-1].split(b"\t")


def shown(line: bytes) -> tuple[str | None, ...]:
    """A line's values as text, for error messages (``\\N`` is NULL)."""
    return tuple(None if f == b"\\N" else f.decode("utf-8", "replace") for f in copy_fields(line))
