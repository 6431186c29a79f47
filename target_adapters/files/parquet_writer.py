"""Parquet: typed columns from the JSON schema, written a row group at a time.

Rows are gathered column by column (no record dicts are kept), turned into
compact Arrow batches every ``_CHUNK_ROWS`` rows, and written as one row group
every ``row_group_rows`` rows, so memory does not grow with the stream. A schema change that alters the columns closes the current part and
opens another with the new schema; at the end the parts (and, when appending,
the previous run's file) are merged, one row group at a time, into a single
file with the union of the columns (integer and number widen to double, other
conflicts to string).
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from target_adapters.common import ColumnType
from target_adapters.files.arrow_columns import JSON, ColumnConversionError, arrow_schema, to_array
from target_adapters.files.errors import RefusedInput
from target_adapters.files.output_dir import OutputDir
from target_adapters.files.unstorable import SURROGATE, refused

# Python objects cost several times their Arrow size; convert them often.
_CHUNK_ROWS = 2_000


class ParquetWriter:
    """See the module docstring."""

    def __init__(self, out: OutputDir, stream_name: str, row_group_rows: int, append: bool) -> None:
        self._out = out
        self._stream = stream_name
        self._stem = out.stem(stream_name)
        self._name = self._stem + ".parquet"
        self._append = append
        self._row_group_rows = row_group_rows
        self._parts: list[Path] = []
        self._writer: pq.ParquetWriter | None = None
        self._schema: pa.Schema | None = None
        self._columns: dict[str, ColumnType] = {}
        self._buffers: list[list] = []
        self._rows = 0
        self._records = 0
        self._batches: list[pa.RecordBatch] = []
        self._batched_rows = 0

    def set_schema(self, columns: dict[str, ColumnType], schema: dict, key_properties: list[str]) -> None:
        """Start a new part when the Arrow schema differs from the current one."""
        for name in columns:
            if SURROGATE.search(name):
                msg = (
                    f"Stream {self._stream!r}: property name {name!r} holds a lone UTF-16 surrogate, "
                    "which a Parquet column name (UTF-8) cannot store. Rename the property (a stream "
                    "map can), or use format jsonl. Nothing of this run was published; the previous "
                    "files are kept."
                )
                raise RefusedInput(msg)
        metadata = {
            "singer.stream": self._stream,
            "singer.schema": json.dumps(schema),
            "singer.key_properties": json.dumps(list(key_properties or [])),
        }
        new_schema = arrow_schema(columns, metadata)
        if self._schema is not None and new_schema.equals(self._schema, check_metadata=False):
            return
        self._flush()
        if self._writer is not None:
            self._writer.close()
        path = self._out.staged(f"{self._stem}.part{len(self._parts):04d}.parquet")
        self._parts.append(path)
        self._writer = pq.ParquetWriter(path, new_schema)
        self._schema = new_schema
        self._columns = columns
        self._names = list(columns)
        self._buffers = [[] for _ in self._names]
        self._appenders = [(buf.append, name) for buf, name in zip(self._buffers, self._names, strict=True)]

    def write(self, record: dict) -> None:
        """Append to the column buffers; a full buffer becomes a row group."""
        get = record.get
        for append, name in self._appenders:
            append(get(name))
        self._rows += 1
        self._records += 1
        if self._rows >= _CHUNK_ROWS or self._rows + self._batched_rows >= self._row_group_rows:
            self._to_batch()
            if self._batched_rows >= self._row_group_rows:
                self._flush()

    def _flush(self) -> None:
        """Write everything held as one row group."""
        self._to_batch()
        if self._batches and self._writer is not None:
            self._writer.write_table(pa.Table.from_batches(self._batches), row_group_size=self._batched_rows)
        self._batches = []
        self._batched_rows = 0

    def _to_batch(self) -> None:
        if not self._rows or self._schema is None:
            return
        try:
            arrays = [
                to_array(buf, self._columns[name], name)
                for buf, name in zip(self._buffers, self._names, strict=True)
            ]
        except ColumnConversionError as exc:
            # The buffer holds the stream's last self._rows records.
            number = self._records - self._rows + exc.index + 1
            raise refused(self._stream, number, exc.field, exc.problem, exc.advice) from exc
        self._batches.append(pa.RecordBatch.from_arrays(arrays, schema=self._schema))
        self._batched_rows += self._rows
        for buf in self._buffers:
            buf.clear()
        self._rows = 0

    def abort(self) -> None:
        """Close the current part without its last row group."""
        if self._writer is not None:
            self._writer.close()

    def close(self) -> list[tuple[Path, str]]:
        """Write the last row group, close, merge parts if needed."""
        self._flush()
        if self._writer is not None:
            self._writer.close()
        existing = self._out.final(self._name)
        sources = list(self._parts)
        if self._append and existing.exists():
            sources.insert(0, existing)
        if len(sources) == 1 and sources[0] != existing:
            return [(sources[0], self._name)]
        merged = self._out.staged("merged-" + self._name)
        merge_parquet(sources, merged)
        for path in self._parts:
            path.unlink()
        return [(merged, self._name)]


def _widened(a: pa.DataType, b: pa.DataType) -> pa.DataType:
    if a == b:
        return a
    if (
        pa.types.is_integer(a)
        and pa.types.is_floating(b)
        or pa.types.is_floating(a)
        and pa.types.is_integer(b)
    ):
        return pa.float64()
    if pa.types.is_null(a):
        return b
    if pa.types.is_null(b):
        return a
    return pa.string()


def _unified(schemas: list[pa.Schema]) -> pa.Schema:
    types: dict[str, pa.DataType] = {}
    for schema in schemas:
        for field in schema:
            types[field.name] = _widened(types[field.name], field.type) if field.name in types else field.type
    return pa.schema([pa.field(n, typ) for n, typ in types.items()], metadata=schemas[-1].metadata)


def _as_string(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    if isinstance(column.type, pa.ExtensionType):
        return column.storage if isinstance(column, pa.Array) else column.combine_chunks().storage
    if pa.types.is_list(column.type):
        return pa.array([None if v is None else json.dumps(v) for v in column.to_pylist()], pa.string())
    return column.cast(pa.string())


def _conform(table: pa.Table, schema: pa.Schema) -> pa.RecordBatch:
    arrays = []
    for field in schema:
        if field.name not in table.column_names:
            arrays.append(pa.nulls(table.num_rows, field.type))
            continue
        column = table.column(field.name).combine_chunks()
        if column.type == field.type:
            arrays.append(column)
        elif field.type == pa.string() or field.type == JSON:
            arrays.append(_as_string(column))
        else:
            arrays.append(column.cast(field.type))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def merge_parquet(sources: list[Path], merged: Path) -> None:
    """Concatenate Parquet files with differing schemas, one row group in memory at a time."""
    files = [pq.ParquetFile(p) for p in sources]
    schema = _unified([f.schema_arrow for f in files])
    with pq.ParquetWriter(merged, schema) as writer:
        for f in files:
            for i in range(f.num_row_groups):
                writer.write_batch(_conform(f.read_row_group(i), schema))
