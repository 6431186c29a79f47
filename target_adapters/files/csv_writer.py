"""CSV: one file per stream, a header row, JSON text for objects and arrays.

A column that first appears mid-stream cannot be added to a header already
written, so the writer starts a new part with the widened header; at the end
the parts (and, when appending, the previous run's file) are merged into one
file whose header is the union of all, in order of first appearance.
"""

from __future__ import annotations

import csv
import typing as t
from pathlib import Path

import orjson

from target_adapters.common import ColumnType, Kind
from target_adapters.files.output_dir import OutputDir
from target_adapters.files.streams import open_text_read, open_text_write


def _json_text(value: t.Any) -> t.Any:  # noqa: ANN401
    if isinstance(value, (dict, list)):
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS, default=str).decode()
    return value


def _bool_text(value: t.Any) -> t.Any:  # noqa: ANN401
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
    def __init__(self, path: Path, header: list[str], gzip_level: int | None) -> None:
        self.path = path
        self.header = header
        self.fh = open_text_write(path, gzip_level)
        self.writer = csv.writer(self.fh)
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

    def set_schema(self, columns: dict[str, ColumnType], schema: dict, key_properties: list[str]) -> None:
        """Keep the part while its header holds every column; otherwise start a wider one."""
        names = list(columns)
        part = self._parts[-1] if self._parts else None
        if part is None or not set(names) <= set(part.header):
            header = [] if part is None else list(part.header)
            header += [n for n in names if n not in header]
            suffix = self._name[len(self._stem):]
            path = self._out.staged(f"{self._stem}.part{len(self._parts):04d}{suffix}")
            part = _Part(path, header, self._gzip_level)
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
        get = record.get
        row = [get(name) for name in self._header]
        for i, convert in self._convert:
            value = row[i]
            if value is not None:
                row[i] = convert(value)
        self._writerow(row)

    def abort(self) -> None:
        """Close the staged parts; the staging folder is removed by the caller."""
        for part in self._parts:
            part.fh.close()

    def close(self) -> list[tuple[Path, str]]:
        """Close the parts into one staged file, merging when there is more than one source."""
        for part in self._parts:
            part.fh.close()
        sources = [(p.path, p.header) for p in self._parts]
        existing = self._out.final(self._name)
        if self._append and existing.exists():
            with open_text_read(existing) as fh:
                first = next(csv.reader(fh), [])
            sources.insert(0, (existing, first))
        if len(sources) == 1 and sources[0][0] != existing:
            return [(sources[0][0], self._name)]
        merged = self._out.staged("merged-" + self._name)
        self._merge(sources, merged)
        for path, _ in sources:
            if path != existing:
                path.unlink()
        return [(merged, self._name)]

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
