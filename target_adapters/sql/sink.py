"""Batch semantics of target-sql (the sink role).

Each record is validated and turned into a row tuple as it arrives (compiled per
schema, see :mod:`.rows`); rows wait in a dict keyed by the key properties, so
duplicates inside a batch resolve to the last one. A batch is written in one
transaction by the database's bulk writer (:mod:`.bulk`): upserted, then hard
deletes applied; any failure rolls the whole batch back.
"""

from __future__ import annotations

import datetime as dt
import operator
import time
import typing as t

import sqlalchemy as sa
from singer_sdk.exceptions import MissingKeyPropertiesError
from singer_sdk.helpers.capabilities import TargetLoadMethods
from singer_sdk.sql import SQLSink

from target_adapters._sdk_compat import SinkHooks, count_record, count_records, records_read
from target_adapters.common.schema_types import column_types
from target_adapters.sql import annotations as schema_annotations
from target_adapters.sql.bulk import Batch, RowRefused, writer_for
from target_adapters.sql.connector import APPEND_METHODS, SQLTargetConnector
from target_adapters.sql.copy_text import copy_fields, copy_line
from target_adapters.sql.copy_text import shown as shown_line
from target_adapters.sql.errors import RecordRejected
from target_adapters.sql.parse_process import RowSpec
from target_adapters.sql.rows import MYSQL, POSTGRES, SQLITE, BadField, compile_rows, stamp

_STYLES = {"postgresql": POSTGRES, "mysql": MYSQL, "sqlite": SQLITE}
DELETED_AT = "_sdc_deleted_at"
VERSION = "_sdc_table_version"
_DATETIME = {"type": ["string", "null"], "format": "date-time"}


class SQLTargetSink(SinkHooks, SQLSink[SQLTargetConnector]):
    """Buffers one stream's rows and writes them a batch at a time."""

    connector_class = SQLTargetConnector
    MAX_SIZE_DEFAULT = 10_000

    def get_validator(self) -> None:
        """No interpreted JSON-schema validation: the compiled row builder checks types."""
        return None

    def conform_name(self, name: str, object_type: str | None = None) -> str:
        """Keep names as the tap sent them; the name map makes them fit (see table_name)."""
        return name

    @property
    def _split_name(self) -> bool:
        """singer-sdk's ``<schema>-<table>`` reading of stream names, only when asked for."""
        return bool(self.config.get("schema_from_stream_name"))

    @property
    def schema_name(self) -> str | None:
        """The configured schema (or database); the connection's default when there is none."""
        if self._split_name:
            return super().schema_name
        return self.default_target_schema

    @property
    def table_name(self) -> str:
        """The stream's own table, recorded in the schema's name map (stable across runs)."""
        cached = self.__dict__.get("_sql_table_name")
        if cached is None:
            wanted = self.stream_name.split("-")[-1] if self._split_name else self.stream_name
            cached = self.connector.name_map(self.schema_name).table_for(self.stream_name, wanted)
            self.__dict__["_sql_table_name"] = cached
        return cached

    def remove_metadata_from_schema(self) -> None:
        """Drop metadata columns, except a deletion marker the tap itself declares."""
        declared = DELETED_AT in self.schema.get("properties", {})
        kept = self.schema["properties"].get(DELETED_AT)
        super().remove_metadata_from_schema()
        if declared:
            self.schema["properties"][DELETED_AT] = kept

    def remove_metadata_from_record(self, record: dict) -> None:
        deleted_at = record.get(DELETED_AT)
        super().remove_metadata_from_record(record)
        if deleted_at is not None and DELETED_AT in self.schema["properties"]:
            record[DELETED_AT] = deleted_at

    @property
    def upsert(self) -> bool:
        """Whether rows replace earlier rows with the same key (else appended)."""
        method = self.config.get("load_method", TargetLoadMethods.UPSERT)
        return bool(self.key_properties) and method not in APPEND_METHODS

    def setup(self) -> None:
        """Create or evolve the table, then compile the row builder for this schema."""
        types = column_types(self.schema)
        missing = [k for k in self.key_properties if k not in types]
        if missing:
            msg = (
                f"stream '{self.stream_name}': key properties {missing} are not in the "
                "schema's properties; the tap must describe every key property."
            )
            raise MissingKeyPropertiesError(msg)
        if self.schema_name:
            self.connector.prepare_schema(self.schema_name)
        table = self.full_table_name
        existing = list(self.connector.get_table_columns(table)) if self.connector.table_exists(table) else []
        names = self.connector.name_map(self.schema_name).columns_for(
            self.stream_name, table.table, list(types), existing
        )
        self._sql_names = names
        sql_schema = {
            **self.schema,
            "properties": {names[p]: v for p, v in self.schema["properties"].items()},
        }
        sql_keys = [names[k] for k in self.key_properties]
        created = self.connector.prepare_table(
            full_table_name=table, schema=sql_schema, primary_keys=sql_keys
        )
        self._may_have_rows = not created and self.connector.table_has_rows(self.full_table_name)
        if self.config.get("index_reference_columns"):
            schema_annotations.index_references(self.connector, table, sql_schema)
        if self.config.get("picklist_label_views"):
            schema_annotations.label_picklists(self.connector, table, sql_schema)
        compiled = compile_rows(
            self.stream_name,
            types,
            _STYLES[self.connector.dialect_name],
            required=self.key_properties,
        )
        self._types = types
        self._columns = compiled.columns  # the rows' order, not the table's
        self._sql_columns = [names[c] for c in self._columns]
        self._sql_keys = sql_keys
        self._build = compiled.build
        key_index = [self._columns.index(k) for k in self.key_properties]
        self._key_of = operator.itemgetter(*key_index) if key_index else None
        self._single_key = len(key_index) == 1
        self._deleted_index = self._columns.index(DELETED_AT) if DELETED_AT in types else None
        self._writer = writer_for(self.connector.dialect_name)
        self._keyed_rows: dict[t.Any, tuple] = {}
        self._plain_rows: list[tuple] = []
        # Soft-delete mode: deletion records only mark their row (see _accept_deletion).
        self._marked_rows: dict[t.Any, tuple] = {}
        self._marks_only = (
            self._deleted_index is not None and self.upsert and not self.config.get("hard_delete")
        )
        self._metadata_index = [i for i, c in enumerate(self._columns) if c.startswith("_sdc_")]
        # _sdc_sequence: microseconds since the epoch at set-up, then +1 a record, so it
        # grows across batches, schema changes and runs.
        self._sequence = time.time_ns() // 1000
        # Looked up per record, so computed once here.
        self._upsert = self.upsert
        self._with_metadata = self.include_sdc_metadata_properties
        self._max_rows = self.max_size
        self._copy_lines = (
            self.connector.dialect_name == "postgresql" and self.connector.client_encoding() == "utf-8"
        )
        self._new_batch_stamps()

    def _new_batch_stamps(self) -> None:
        """Metadata values shared by every record of a batch, set with one dict update."""
        stamp = dt.datetime.now(dt.UTC).isoformat()
        self._batch_stamps = {
            "_sdc_received_at": stamp,
            "_sdc_batched_at": stamp,
            "_sdc_sync_started_at": self.sync_started_at,
        }

    def row_spec(self) -> RowSpec:
        """How to build this stream's rows elsewhere (the parsing process), as :meth:`accept` does."""
        return RowSpec(
            stream=self.stream_name,
            types=dict(self._types),
            dialect=self.connector.dialect_name,
            keys=list(self.key_properties),
            columns=list(self._columns),
            with_metadata=self._with_metadata,
            sequence=self._sequence,
            sync_started_at=self.sync_started_at,
            copy_lines=self._copy_lines,
        )

    def accept(self, record: dict, message: dict | None = None) -> bool:
        """Validate and buffer one record; True when the batch is full.

        The target's fast path calls this directly, skipping the SDK's per-record work.
        """
        if message is not None and self._with_metadata:
            self._sequence += 1
            stamp(record, message, self._batch_stamps, self._sequence)
        try:
            row = self._build(record)
        except BadField as exc:
            self.refuse(record, exc)
        return self.accept_row(row)

    def accept_row(self, row: tuple) -> bool:
        """Buffer one row already built (here or by the parsing process); True when the batch is full."""
        if self._marks_only and row[self._deleted_index] is not None:  # type: ignore[index]  # rows are tuples from compile_rows
            self._accept_deletion(row)
        elif self._upsert:
            key = self._key_of(row)  # type: ignore[misc]  # an itemgetter chosen per schema
            self._keyed_rows[key] = row
            if self._marked_rows:
                self._marked_rows.pop(key, None)
        else:
            self._plain_rows.append(row)
        return count_record(self) >= self._max_rows

    def room(self) -> int:
        """Rows this batch takes before it is full (at least one)."""
        return max(1, self._max_rows - records_read(self)[0])

    def accept_lines(self, keys: list | None, lines: list[bytes]) -> bool:
        """Buffer COPY text lines the parsing process made (never deletions); True when full.

        Lines and row tuples share the buffer: a later row with the same key replaces
        either, and the writer formats the few tuples (see :meth:`process_batch`).
        """
        if self._upsert:
            assert keys is not None
            self._keyed_rows.update(zip(keys, lines))  # type: ignore[arg-type]  # lines stand for rows
            if self._marked_rows:
                for key in keys:
                    self._marked_rows.pop(key, None)
        else:
            self._plain_rows.extend(lines)  # type: ignore[arg-type]  # lines stand for rows
        return count_records(self, len(lines)) >= self._max_rows

    def _accept_deletion(self, row: tuple) -> None:
        """A deletion record carries only the key and a few fields, not the full row.

        Its ``_sdc_*`` values are applied to the row this batch already holds, or
        else written as a mark that leaves the stored row's other columns alone.
        """
        key = self._key_of(row)  # type: ignore[misc]  # an itemgetter chosen per schema
        full = self._keyed_rows.get(key)
        if full is None:
            self._marked_rows[key] = row
            return
        if full.__class__ is bytes:  # a COPY line from the parsing process
            fields, marks = copy_fields(t.cast(bytes, full)), copy_fields(copy_line(row))
            for i in self._metadata_index:
                fields[i] = marks[i]
            self._keyed_rows[key] = t.cast(tuple, b"\t".join(fields) + b"\n")  # a line stands for a row
            return
        merged = list(full)
        for i in self._metadata_index:
            merged[i] = row[i]
        self._keyed_rows[key] = tuple(merged)

    def refuse(self, record: dict, exc: BadField) -> t.NoReturn:
        """Raise the error that names the stream, the record and the field ``exc`` is about."""
        column = self._columns[exc.index]
        where = f"record #{records_read(self)[1] + 1}"
        if exc.error is None:
            msg = (
                f"stream '{self.stream_name}', {where}: key property '{column}' is missing "
                f"or null; key properties {list(self.key_properties)} must be set. "
                f"Record keys: {sorted(record)}"
            )
            raise MissingKeyPropertiesError(msg)
        raise RecordRejected(self.stream_name, where, f"field '{column}' {exc.error}", record)

    def process_record(self, record: dict, context: dict) -> None:
        """The SDK's path (used with stream maps): records already have metadata."""
        self.accept(record)

    def start_drain(self) -> dict:
        """Hand the buffered rows to a batch and start a new buffer."""
        context = {
            "keyed": self._keyed_rows,
            "plain": self._plain_rows,
            "marked": list(self._marked_rows.values()),
        }
        self.record_counter_metric.increment(records_read(self)[0])
        self._keyed_rows, self._plain_rows, self._marked_rows = {}, [], {}
        self._new_batch_stamps()
        return context

    def process_batch(self, context: dict) -> None:
        """Write one batch in one transaction; any failure rolls all of it back."""
        keyed: dict = context["keyed"]
        rows: list[tuple] = list(keyed.values()) or context["plain"]
        row_keys: list | None = list(keyed) if keyed else None  # for error messages about lines
        deleted: list[tuple] = []
        if self._deleted_index is not None and self.config.get("hard_delete"):
            index = self._deleted_index
            # COPY lines are never deletions; only row tuples can be.
            gone = [r.__class__ is tuple and r[index] is not None for r in rows]
            deleted = [self._key_tuple(r) for r, g in zip(rows, gone) if g]
            rows = [r for r, g in zip(rows, gone) if not g]
            if row_keys is not None:
                row_keys = [k for k, g in zip(row_keys, gone) if not g]
        batch = Batch(
            table=self.full_table_name,
            columns=self._sql_columns,
            keys=self._sql_keys,
            rows=rows,
            deleted_keys=deleted if self.key_properties else [],
            upsert=self.upsert,
            may_have_rows=self._may_have_rows,
        )
        marked = Batch(
            table=self.full_table_name,
            columns=self._sql_columns,
            keys=self._sql_keys,
            rows=context.get("marked", []),
            update_columns=[self._sql_columns[i] for i in self._metadata_index],
        )
        started = time.perf_counter()
        with self.connector.engine.begin() as conn:
            direct = self._write(conn, batch, row_keys)
            if marked.rows:
                self._write(conn, marked)
        if (batch.rows and self.upsert and not direct) or marked.rows:
            self._may_have_rows = True
        self.logger.info(
            "Wrote %d rows%s%s to %s in %.2fs",
            len(batch.rows),
            f", marked {len(marked.rows)} deleted" if marked.rows else "",
            f" and deleted {len(deleted)}" if deleted else "",
            self.full_table_name,
            time.perf_counter() - started,
        )

    def _write(self, conn: sa.Connection, batch: Batch, row_keys: list | None = None) -> bool:
        try:
            return self._writer.write(conn, batch)
        except RowRefused as exc:
            raise self._rejected(batch, exc, row_keys) from exc

    def activate_version(self, new_version: int) -> None:
        """Retire rows of older versions: mark them deleted, or delete them if hard_delete."""
        if not self.connector.table_exists(self.full_table_name):
            return
        names = self.connector.name_map(self.schema_name).columns_for(
            self.stream_name,
            self.full_table_name.table,
            [VERSION, DELETED_AT],
            self.connector.get_table_columns(self.full_table_name),
        )
        version, deleted_at = names[VERSION], names[DELETED_AT]
        self.connector.prepare_column(self.full_table_name, version, sa.BigInteger())
        self.connector.prepare_column(self.full_table_name, deleted_at, self.connector.to_sql_type(_DATETIME))
        table = sa.Table(
            self.full_table_name.table,
            sa.MetaData(),
            sa.Column(version, sa.BigInteger(), key=VERSION),
            sa.Column(deleted_at, sa.DateTime(timezone=True), key=DELETED_AT),
            schema=self.full_table_name.schema,
        )
        older = table.c[VERSION] < new_version
        if self.config.get("hard_delete"):
            statement: sa.Executable = sa.delete(table).where(older)
        else:
            now = dt.datetime.now(dt.UTC)
            if self.connector.dialect_name != "postgresql":
                now = now.replace(tzinfo=None)
            statement = sa.update(table).where(older, table.c[DELETED_AT].is_(None)).values({DELETED_AT: now})
        with self.connector.engine.begin() as conn:
            retired = conn.execute(statement).rowcount
        self.logger.info(
            "Version %d of %s is active; %s %d older rows",
            new_version,
            self.full_table_name,
            "deleted" if self.config.get("hard_delete") else "marked deleted",
            retired,
        )

    def _key_tuple(self, row: tuple) -> tuple:
        assert self._key_of is not None
        key = self._key_of(row)
        return (key,) if self._single_key else key

    def _rejected(self, batch: Batch, exc: RowRefused, row_keys: list | None = None) -> RecordRejected:
        if exc.row is not None and 0 <= exc.row < len(batch.rows):
            row = batch.rows[exc.row]
            key_values: tuple = ()
            if row.__class__ is bytes:  # a COPY line: its key as sent, its values as text
                row = shown_line(t.cast(bytes, row))
                if batch.keys and row_keys is not None:
                    key = row_keys[exc.row]
                    key_values = (key,) if self._single_key else key
            elif batch.keys:
                key_values = self._key_tuple(row)
            shown = dict(zip(batch.keys, key_values)) if key_values else row
            where = f"record {shown}"
            record: object = dict(zip(batch.columns, row))
        else:
            where = f"a batch of {len(batch.rows)} records"
            record = None
        db = self.connector.dialect_name
        return RecordRejected(self.stream_name, where, f"{db} refused it: {exc.reason}", record)
