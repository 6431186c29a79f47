"""CSV: one file per stream, a header row, JSON text for objects and arrays.

A column that first appears mid-stream cannot be added to a header already
written, so the writer starts a new part with the widened header; at the end
the parts (and, when appending, the previous run's file) are merged into one
file whose header is the union of all, in order of first appearance. Appending
rows whose columns the previous file already has is a byte copy, not a merge.
A lone surrogate has no UTF-8 form: the record is refused, naming its field.
"""

from __future__ import annotations

import csv
import shutil
import typing as t
from pathlib import Path

from target_adapters.common import ColumnType, Kind
from target_adapters.files.errors import RefusedInput
from target_adapters.files.output_dir import OutputDir
from target_adapters.files.streams import open_text_read, open_text_write
from target_adapters.files.unstorable import SURROGATE, first_surrogate, json_text, surrogate_refused


def _json_text(value: t.Any) -> t.Any:
    if isinstance(value, (dict, list)):
        return json_text(value)
    return value


def _bool_text(value: t.Any) -> t.Any:
    if value is True:
        return "true"
    if value is False:
        return "false"
    return value


_CONVERTERS: dict[Kind, t.Callable[[t.Any], t.Any]] = {
    Kind.OBJECT: _json_text,
    Kind.ARRAY: _json_text,
    Kind.BOOLEAN: _bool_text,
    # A column of mixed declared types is a string column; objects in it stay JSON.
    Kind.STRING: _json_text,
}


class _Part:
    def __init__(self, path: Path, header: list[str], gzip_level: int | None, *, continues: bool) -> None:
        self.path = path
        self.header = header
        # A part that continues the previous run's file has no header row of its own.
        self.continues = continues
        self.fh = open_text_write(path, gzip_level)
        self.writer = csv.writer(self.fh)
        if not continues:
            self.writer.writerow(header)


class CsvWriter:
    """Streams rows to the current part; see the module docstring for parts."""

    def __init__(self, out: OutputDir, stream_name: str, gzip_level: int | None, append: bool) -> None:
        self._out = out
        self._gzip_level = gzip_level
        self._append = append
        self._stem = out.stem(stream_name)
        self._name = self._stem + (".csv.gz" if gzip_level is not None else ".csv")
        self._parts: list[_Part] = []
        self._convert: list[tuple[int, t.Callable[[t.Any], t.Any]]] = []
        self._existing = out.final(self._name)
        self._existing_header = (
            self._read_header(self._existing) if append and self._existing.exists() else None
        )
        self._stream = stream_name
        self._records = 0

    @staticmethod
    def _read_header(path: Path) -> list[str]:
        with open_text_read(path) as fh:
            return next(csv.reader(fh), [])

    def set_schema(self, columns: dict[str, ColumnType], schema: dict, key_properties: list[str]) -> None:
        """Keep the part while its header holds every column; otherwise start a wider one."""
        names = list(columns)
        for name in names:
            if SURROGATE.search(name):
                msg = (
                    f"Stream {self._stream!r}: property name {name!r} holds a lone UTF-16 surrogate, "
                    "which a CSV header cannot store. Rename the property (a stream map can), or use "
                    "format jsonl. Nothing of this run was published; the previous files are kept."
                )
                raise RefusedInput(msg)
        part = self._parts[-1] if self._parts else None
        if part is None or not set(names) <= set(part.header):
            if part is not None:
                header = list(part.header)
            else:
                header = list(self._existing_header or [])
            continues = part is None and self._existing_header is not None and set(names) <= set(header)
            header += [n for n in names if n not in header]
            suffix = self._name[len(self._stem) :]
            path = self._out.staged(f"{self._stem}.part{len(self._parts):04d}{suffix}")
            part = _Part(path, header, self._gzip_level, continues=continues)
            self._parts.append(part)
        self._header = part.header
        self._writerow = part.writer.writerow
        self._convert = [
            (i, _CONVERTERS[columns[n].kind])
            for i, n in enumerate(part.header)
            if n in columns and columns[n].kind in _CONVERTERS
        ]

    def write(self, record: dict) -> None:
        """One CSV row; absent and null values are empty fields."""
        self._records += 1
        get = record.get
        row = [get(name) for name in self._header]
        for i, convert in self._convert:
            value = row[i]
            if value is not None:
                row[i] = convert(value)
        try:
            self._writerow(row)
        except UnicodeEncodeError:
            # The text layer encodes a non-ASCII row at once, so nothing of it was written.
            field = first_surrogate(record, self._header)
            if field is None:
                raise
            raise surrogate_refused(self._stream, self._records, field, "CSV (UTF-8)") from None

    def abort(self) -> None:
        """Close the staged parts; the staging folder is removed by the caller."""
        for part in self._parts:
            part.fh.close()

    def close(self) -> list[tuple[Path, str]]:
        """Close the parts into one staged file, merging when there is more than one source."""
        for part in self._parts:
            part.fh.close()
        existing = self._existing
        merged = self._out.staged("merged-" + self._name)
        if self._existing_header is None:
            if len(self._parts) == 1:
                return [(self._parts[0].path, self._name)]
            self._merge([(p.path, p.header) for p in self._parts], merged)
        elif len(self._parts) == 1 and self._parts[0].continues:
            # Same columns as the previous run's file: its bytes, then ours (gzip members concatenate).
            with open(merged, "wb") as dst:
                for src in (existing, self._parts[0].path):
                    with open(src, "rb") as fh:
                        shutil.copyfileobj(fh, dst, 1 << 20)
        else:
            self._rewrite_first_part_header()
            self._merge(
                [(existing, self._existing_header), *((p.path, p.header) for p in self._parts)], merged
            )
        for part in self._parts:
            part.path.unlink()
        return [(merged, self._name)]

    def _rewrite_first_part_header(self) -> None:
        """A continuing part followed by wider parts: give it its header row for the merge."""
        first = self._parts[0] if self._parts else None
        if first is None or not first.continues:
            return
        with_header = first.path.with_name("header-" + first.path.name)
        with open_text_write(with_header, self._gzip_level) as out, open_text_read(first.path) as src:
            csv.writer(out).writerow(first.header)
            shutil.copyfileobj(src, out, 1 << 20)
        with_header.replace(first.path)
        first.continues = False

    def _merge(self, sources: list[tuple[Path, list[str]]], merged: Path) -> None:
        header: list[str] = []
        for _, part_header in sources:
            header += [n for n in part_header if n not in header]
        with open_text_write(merged, self._gzip_level) as out:
            writer = csv.writer(out)
            writer.writerow(header)
            for path, part_header in sources:
                positions = [part_header.index(n) if n in part_header else None for n in header]
                with open_text_read(path) as fh:
                    reader = csv.reader(fh)
                    next(reader, None)
                    for row in reader:
                        writer.writerow(["" if p is None else row[p] for p in positions])
