"""Excel: one workbook per run, one sheet per stream, in openpyxl's write-only mode.

Write-only mode streams each sheet's rows to a temporary file, so memory stays
flat whatever the row count. A sheet is full at Excel's limit of 1,048,576 rows
(header included); the stream continues on ``<name> (2)`` with the same header.
A schema change that adds columns also continues on a new sheet, because a
header already written cannot grow. Dates and date-times are real Excel dates
(converted to UTC and stored without zone: Excel has none); objects and arrays
are JSON text; control characters that XML cannot hold are written as ``\\xNN``
(U+FFFE, U+FFFF as ``\\ufffe``, ``\\uffff``). A lone surrogate, or a number Excel has no
cell for (infinity, NaN), is refused naming stream, record and field.

Sheet titles come from names.py. The saved workbook is opened again with openpyxl
before it may replace the previous one: a workbook Excel cannot open is never
published.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import re
import typing as t
from pathlib import Path

from openpyxl import Workbook, load_workbook

from target_adapters.common import ColumnType, Kind
from target_adapters.files.errors import RefusedInput
from target_adapters.files.names import EXCEL_MAX_TITLE, XML_ILLEGAL, sheet_title, workbook_file_name
from target_adapters.files.output_dir import OutputDir
from target_adapters.files.unstorable import SURROGATE, json_text, refused, surrogate_at, surrogate_refused

EXCEL_MAX_CELL = 32_767
logger = logging.getLogger(__name__)


class _Unholdable(ValueError):
    """A value no cell can hold; the sheet writer names where it was."""


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _text(value: t.Any) -> t.Any:
    if isinstance(value, (dict, list)):
        value = json_text(value)
    if isinstance(value, str):
        if XML_ILLEGAL.search(value):
            if SURROGATE.search(value):
                raise _Unholdable
            return XML_ILLEGAL.sub(_escape, value)
    elif isinstance(value, float) and not math.isfinite(value):
        raise _Unholdable
    return value


def _number(value: t.Any) -> t.Any:
    if isinstance(value, float) and not math.isfinite(value):
        raise _Unholdable
    if isinstance(value, str):  # only with validate_records: false
        return _text(value)
    return value


def _datetime(value: t.Any) -> t.Any:
    try:
        parsed = dt.datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return _text(value)
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.UTC).replace(tzinfo=None)
    return parsed


def _date(value: t.Any) -> t.Any:
    try:
        return dt.date.fromisoformat(value[:10])
    except (TypeError, ValueError):
        return _text(value)


def _time(value: t.Any) -> t.Any:
    try:
        parsed = dt.time.fromisoformat(value)
    except (TypeError, ValueError):
        return _text(value)
    return parsed.replace(tzinfo=None)


_CONVERTERS: dict[Kind, t.Callable[[t.Any], t.Any]] = {
    Kind.INTEGER: _number,
    Kind.NUMBER: _number,
    Kind.STRING: _text,
    Kind.OBJECT: _text,
    Kind.ARRAY: _text,
    Kind.DATETIME: _datetime,
    Kind.DATE: _date,
    Kind.TIME: _time,
}


class WorkbookWriter:
    """The run's single workbook; hands out one sheet writer per stream."""

    def __init__(self, out: OutputDir, workbook_name: str, max_rows: int) -> None:
        self._out = out
        self.name = workbook_file_name(workbook_name)
        self.max_rows = max_rows
        self.book = Workbook(write_only=True)
        self._titles: set[str] = set()
        self.sheets: dict[str, list[str]] = {}
        self._headers: dict[str, list[str]] = {}
        self._saved = False

    def new_title(self, stream_name: str) -> str:
        """The stream's title (names.py), then `` (2)``, `` (3)``: unique ignoring case."""
        base = sheet_title(stream_name)
        title, n = base, 1
        while title.lower() in self._titles:
            n += 1
            suffix = f" ({n})"
            title = base[: EXCEL_MAX_TITLE - len(suffix)] + suffix
        self._titles.add(title.lower())
        self.sheets.setdefault(stream_name, []).append(title)
        return title

    def stream(self, stream_name: str) -> SheetWriter:
        """A writer for one stream's sheets."""
        return SheetWriter(self, stream_name)

    def abort(self) -> None:
        """Close the sheets' temporary files without saving."""
        if self._saved:
            return
        for sheet in self.book.worksheets:
            sheet.close()

    def close(self) -> list[tuple[Path, str]]:
        """Save the workbook in staging (an empty run still gets a valid file)."""
        if not self._titles:
            self.book.create_sheet("empty")
        staged = self._out.staged(self.name)
        self._saved = True
        self.book.save(staged)
        self._verify(staged)
        return [(staged, self.name)]

    def note_header(self, stream_name: str, header: list[str]) -> None:
        """Remember a stream's columns, to name the stream if the workbook fails to open."""
        self._headers[stream_name] = header

    def _verify(self, staged: Path) -> None:
        """Open the saved workbook as a reader would (openpyxl parses every sheet's XML to size it)."""
        try:
            book = load_workbook(staged, read_only=True)
            try:
                for title in book.sheetnames:
                    next(book[title].iter_rows(max_row=1, values_only=True), None)
            finally:
                book.close()
        except Exception as exc:  # any failure to read back means do not publish
            # What XML cannot hold in a title or a header points at the stream; otherwise name all.
            culprits = [
                stream
                for stream, titles in self.sheets.items()
                if any(XML_ILLEGAL.search(text) for text in titles)
                or any(SURROGATE.search(c) for c in self._headers.get(stream, []))
            ] or list(self.sheets)
            msg = (
                f"The Excel workbook {self.name} built from stream(s) {', '.join(map(repr, culprits))} "
                f"does not open ({type(exc).__name__}: {exc}); it was not published and the "
                f"previous {self.name} is kept. Use csv, jsonl or parquet for these streams."
            )
            raise RefusedInput(msg) from exc


class SheetWriter:
    """Rows of one stream; opens a further sheet when full or when columns are added."""

    def __init__(self, book: WorkbookWriter, stream_name: str) -> None:
        self._book = book
        self._stream = stream_name
        self._header: list[str] = []
        self._sheet: t.Any = None
        self._rows = 0
        self._records = 0
        self._too_long_warned = False

    def set_schema(self, columns: dict[str, ColumnType], schema: dict, key_properties: list[str]) -> None:
        """Continue on a new sheet if the schema brings columns the header lacks."""
        names = list(columns)
        if self._sheet is None or not set(names) <= set(self._header):
            self._header = self._header + [n for n in names if n not in self._header]
            self._new_sheet()
        self._convert = [
            (i, _CONVERTERS[columns[n].kind])
            for i, n in enumerate(self._header)
            if n in columns and columns[n].kind in _CONVERTERS
        ]

    def _new_sheet(self) -> None:
        self._sheet = self._book.book.create_sheet(self._book.new_title(self._stream))
        self._append = self._sheet.append
        self._book.note_header(self._stream, self._header)
        for name in self._header:
            if SURROGATE.search(name):
                msg = (
                    f"Stream {self._stream!r}: property name {name!r} holds a lone UTF-16 surrogate, "
                    "which an Excel header cell cannot store. Rename the property (a stream map can), "
                    "or use format jsonl. Nothing of this run was published; the previous files are kept."
                )
                raise RefusedInput(msg)
        self._append([_text(name) for name in self._header])
        self._rows = 1

    def write(self, record: dict) -> None:
        """Append a row, spilling to a new sheet at the row limit."""
        self._records += 1
        if self._rows >= self._book.max_rows:
            self._new_sheet()
        get = record.get
        row = [get(name) for name in self._header]
        i = 0
        try:
            for i, convert in self._convert:
                value = row[i]
                if value is not None:
                    value = convert(value)
                    if isinstance(value, str) and len(value) > EXCEL_MAX_CELL:
                        value = self._truncate(value, i)
                    row[i] = value
        except _Unholdable:
            raise self._refusal(self._header[i], row[i]) from None
        self._append(row)
        self._rows += 1

    def _refusal(self, name: str, value: t.Any) -> RefusedInput:
        path = surrogate_at(value, name)
        if path is not None:
            return surrogate_refused(self._stream, self._records, path, "an Excel cell (XML)")
        return refused(
            self._stream,
            self._records,
            name,
            f"{value!r} (beyond the range of a double, or not a number) has no Excel cell",
            "Fix the source value, or use format parquet or csv.",
        )

    def _truncate(self, value: str, index: int) -> str:
        if not self._too_long_warned:
            logger.warning(
                "Stream '%s', column '%s': a value of %d characters was cut to Excel's cell "
                "limit of %d (further cuts in this stream are not logged). Use csv, jsonl or "
                "parquet to keep such values whole.",
                self._stream,
                self._header[index],
                len(value),
                EXCEL_MAX_CELL,
            )
            self._too_long_warned = True
        return value[:EXCEL_MAX_CELL]

    def close(self) -> list[tuple[Path, str]]:
        """Nothing to publish per stream: the workbook is saved once."""
        return []

    def abort(self) -> None:
        """The workbook closes its sheets."""
