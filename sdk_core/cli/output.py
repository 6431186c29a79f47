"""Rows written as they arrive, in the format asked for: nothing is held but the current row.

`table` is for people and is the one format that buffers, a screenful at a time (one rich
table per chunk); `json` streams a valid JSON array; `jsonl` one object a line; `csv` a header
from the first row's (or the requested) columns.
"""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Iterable, Iterator
from typing import IO, Any

import orjson
from rich.console import Console
from rich.table import Table

__all__ = ["FORMATS", "write_rows", "cell"]

FORMATS = ("table", "json", "jsonl", "csv")
TABLE_CHUNK = 100


def cell(value: Any) -> str:
    """A value as text for a table or CSV cell (nested values as compact JSON)."""
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return orjson.dumps(value).decode()
    return str(value)


def write_rows(
    rows: Iterable[dict[str, Any]], fmt: str, columns: list[str] | None = None, out: IO[str] | None = None
) -> int:
    """Write every row of `rows` to `out` (stdout) in `fmt`; returns how many were written."""
    out = out or sys.stdout
    writer = {"table": _table, "json": _json, "jsonl": _jsonl, "csv": _csv}[fmt]
    return writer(iter(rows), columns, out)


def _columns(first: dict[str, Any], columns: list[str] | None) -> list[str]:
    return columns or [k for k in first if k != "userDefinedFields"]


def _jsonl(rows: Iterator[dict[str, Any]], columns: list[str] | None, out: IO[str]) -> int:
    n = 0
    for row in rows:
        out.write(orjson.dumps(row, option=orjson.OPT_NON_STR_KEYS).decode())
        out.write("\n")
        n += 1
    out.flush()
    return n


def _json(rows: Iterator[dict[str, Any]], columns: list[str] | None, out: IO[str]) -> int:
    n = 0
    out.write("[")
    for row in rows:
        out.write(",\n  " if n else "\n  ")
        out.write(orjson.dumps(row, option=orjson.OPT_NON_STR_KEYS).decode())
        n += 1
        if n % 500 == 0:
            out.flush()
    out.write("\n]\n" if n else "]\n")
    out.flush()
    return n


def _csv(rows: Iterator[dict[str, Any]], columns: list[str] | None, out: IO[str]) -> int:
    first = next(rows, None)
    if first is None:
        if columns:
            csv.writer(out).writerow(columns)
        return 0
    names = _columns(first, columns)
    writer = csv.writer(out)
    writer.writerow(names)
    n = 0
    for row in _chain(first, rows):
        writer.writerow([cell(row.get(c)) for c in names])
        n += 1
    out.flush()
    return n


def _table(rows: Iterator[dict[str, Any]], columns: list[str] | None, out: IO[str]) -> int:
    console = Console(file=out) if out is not sys.stdout else Console()
    first = next(rows, None)
    if first is None:
        console.print("(no rows)")
        return 0
    names = _columns(first, columns)
    n = 0
    table = Table(*names)
    for row in _chain(first, rows):
        table.add_row(*[cell(row.get(c)) for c in names])
        n += 1
        if n % TABLE_CHUNK == 0:
            console.print(table)
            table = Table(*names)
    if table.row_count:
        console.print(table)
    return n


def _chain(first: dict[str, Any], rest: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    yield first
    yield from rest


def render_table(
    data: dict[str, Any] | list[dict[str, Any]], header: tuple[str, str] = ("setting", "value")
) -> str:
    """A small result (settings, a report) as a table, for tests and non-streamed output."""
    buffer = io.StringIO()
    console = Console(file=buffer, width=120)
    if isinstance(data, list):
        _table(iter(data), None, buffer)
    else:
        table = Table(*header)
        for key, value in data.items():
            table.add_row(key, cell(value))
        console.print(table)
    return buffer.getvalue()
