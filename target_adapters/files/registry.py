"""One writer per stream for the whole run, whatever sinks singer-sdk creates.

singer-sdk replaces a stream's sink when its schema changes; the file must not
be reopened then, so writers live here, keyed by stream, and each new sink
only tells the writer about the new schema.
"""

from __future__ import annotations

import typing as t
from collections import Counter
from pathlib import Path

from target_adapters.common import ColumnType
from target_adapters.files.output_dir import OutputDir
from target_adapters.files.settings import FileSettings
from target_adapters.files.streams import StreamWriter

if t.TYPE_CHECKING:
    from target_adapters.files.xlsx_writer import WorkbookWriter


class WriterRegistry:
    """Creates, finds and finally publishes the run's writers."""

    def __init__(self, settings: FileSettings) -> None:
        self._settings = settings
        self._out: OutputDir | None = None
        self._writers: dict[str, StreamWriter] = {}
        self._workbook: WorkbookWriter | None = None
        # Records seen per stream across the stream's sinks, to name a bad record by number.
        self.record_numbers: Counter[str] = Counter()

    @property
    def out(self) -> OutputDir:
        """Created on first use, so that --about or a run without records makes no folder."""
        if self._out is None:
            self._out = OutputDir(self._settings.output_dir)
        return self._out

    def writer(
        self, stream_name: str, columns: dict[str, ColumnType], schema: dict, key_properties: list[str]
    ) -> StreamWriter:
        """The stream's writer, told about this (possibly new) schema."""
        writer = self._writers.get(stream_name)
        if writer is None:
            writer = self._new(stream_name)
            self._writers[stream_name] = writer
        writer.set_schema(columns, schema, key_properties)
        return writer

    def _new(self, stream_name: str) -> StreamWriter:
        # Each format's libraries are imported only when used: pyarrow alone adds
        # about 50 MB to the resident memory of a csv run.
        s = self._settings
        if s.format == "csv":
            from target_adapters.files.csv_writer import CsvWriter

            return CsvWriter(self.out, stream_name, s.gzip_level, s.append)
        if s.format == "jsonl":
            from target_adapters.files.jsonl_writer import JsonlWriter

            return JsonlWriter(self.out, stream_name, s.gzip_level, s.append)
        if s.format == "parquet":
            from target_adapters.files.parquet_writer import ParquetWriter

            return ParquetWriter(self.out, stream_name, s.parquet_row_group_rows, s.append)
        from target_adapters.files.xlsx_writer import WorkbookWriter

        if self._workbook is None:
            self._workbook = WorkbookWriter(self.out, s.xlsx_workbook_name, s.xlsx_max_rows_per_sheet)
        return self._workbook.stream(stream_name)

    def close(self) -> list[Path]:
        """Finish every file, then publish them all and remove the staging folder."""
        finished: list[tuple[Path, str]] = []
        for stream_name, writer in self._writers.items():
            files = writer.close()
            for _, name in files:
                self.out.manifest.add_file(stream_name, name)
            finished += files
        if self._workbook is not None:
            finished += self._workbook.close()
            self.out.manifest.set_workbook(self._workbook.name, self._workbook.sheets)
        if not finished:
            self.abort()
            return []
        # Publish only once every file is complete, so a failure publishes none;
        # the manifest last, so it never names a file that is not in place.
        published = [self.out.publish(staged, name) for staged, name in finished]
        published.append(self.out.publish_manifest({name for _, name in finished}))
        self.out.discard()
        return published

    def abort(self) -> None:
        """After a failure: drop what was staged, leave published files untouched."""
        for writer in self._writers.values():
            writer.abort()
        if self._workbook is not None:
            self._workbook.abort()
        if self._out is not None:
            self._out.discard()
