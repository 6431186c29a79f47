"""target-sql: the target role (settings, message flow, checkpoints).

Records take a short path when no stream maps are configured: parsed by orjson,
handed straight to the stream's sink, which validates and converts them with a
function compiled for the schema. When a sink is full, at the next record every
sink's buffered rows go to the writer thread as batches, followed by the latest
STATE message, so a state is written to stdout only after everything before it
is committed, and the STATEs right after a full batch are not held back.

On PostgreSQL with ``parse_process`` on (and no stream maps), parsing and row
building run in a second process (:mod:`.parse_process`); its rows arrive through
:meth:`TargetSQL.take_lines` and :meth:`TargetSQL.take_rows`, in input order with
the other messages, and take the same checkpoints.
"""

from __future__ import annotations

import copy
import typing as t

from singer_sdk import typing as th
from singer_sdk.helpers.capabilities import TargetLoadMethods
from singer_sdk.sql import SQLTarget

from target_adapters import _sdk_compat as compat
from target_adapters._sdk_compat import BatchAsRecords, TargetHooks
from target_adapters.sql.connector import SQLTargetConnector
from target_adapters.sql.parse_process import RowSpec
from target_adapters.sql.pipeline import BatchPipeline
from target_adapters.sql.reader import SQLSingerReader
from target_adapters.sql.rows import BadField
from target_adapters.sql.sink import SQLTargetSink

if t.TYPE_CHECKING:
    from pathlib import PurePath


_AGE_CHECK_EVERY = 1_000  # records between checks of the SDK's 5-minute batch age limit


class TargetSQL(BatchAsRecords, TargetHooks, SQLTarget):
    """Singer target for PostgreSQL, MySQL/MariaDB and SQLite."""

    name = "target-sql"
    package_name = "autotask-liberator"  # the distribution, for --version and --about
    default_sink_class = SQLTargetSink
    message_reader_class = SQLSingerReader

    config_jsonschema = th.PropertiesList(
        th.Property(
            "sqlalchemy_url",
            th.StringType,
            required=True,
            secret=True,
            title="SQLAlchemy URL",
            description=(
                "Database to load: postgresql+psycopg://user@host:5432/db, "
                "mysql+pymysql://user@host:3306/db or sqlite:///path/to/file.db."
            ),
        ),
        th.Property(
            "default_target_schema",
            th.StringType,
            description="Schema (PostgreSQL) or database (MySQL) for every stream's table.",
        ),
        th.Property(
            "schema_from_stream_name",
            th.BooleanType,
            default=False,
            description=(
                "Read a stream named <schema>-<table> as table <table> in schema <schema> "
                "(singer-sdk's convention; default_target_schema, when set, still wins). Off: "
                "every stream gets its own table, named after the whole stream name, inside "
                "default_target_schema (or the connection's default schema or database)."
            ),
        ),
        th.Property(
            "load_method",
            th.StringType,
            default=TargetLoadMethods.UPSERT.value,
            allowed_values=[*(m.value for m in TargetLoadMethods), "append"],
            description=(
                "upsert: replace rows with the same key; append-only (or append): insert every "
                "record (no primary key); overwrite: recreate each table once per run, then upsert."
            ),
        ),
        th.Property(
            "hard_delete",
            th.BooleanType,
            default=False,
            description=(
                "Delete rows whose record has _sdc_deleted_at, and rows of older versions "
                "on ACTIVATE_VERSION, instead of marking them in _sdc_deleted_at."
            ),
        ),
        th.Property(
            "add_record_metadata",
            th.BooleanType,
            default=True,
            description="Add _sdc_* columns (extraction time, version, deletion marker).",
        ),
        th.Property(
            "index_reference_columns",
            th.BooleanType,
            default=False,
            description="Index every column the tap annotates as a reference (x-autotask-reference).",
        ),
        th.Property(
            "picklist_label_views",
            th.BooleanType,
            default=False,
            description=(
                "Store picklist labels (x-autotask-picklist) in picklist_labels and create a "
                "view <table>_labeled with a <field>_label column next to each code."
            ),
        ),
        th.Property(
            "parse_process",
            th.BooleanType,
            default=False,
            description=(
                "PostgreSQL: parse records and build rows in two more processes, for machines "
                "with cores to spare (about 100 MB more memory; see the README's Speed section). "
                "Not used with stream maps or flattening."
            ),
        ),
        th.Property(
            "batch_size_rows",
            th.IntegerType,
            default=10_000,
            description="Rows per batch; each batch is one transaction.",
        ),
    ).to_dict()

    def __init__(
        self,
        *,
        config: dict | PurePath | str | list[PurePath | str] | None = None,
        parse_env_config: bool = False,
        validate_config: bool = True,
        setup_mapper: bool = True,
        **kwargs: t.Any,
    ) -> None:
        """Set up the writer thread; batches of all sinks are committed in arrival order."""
        super().__init__(
            config=config,
            parse_env_config=parse_env_config,
            validate_config=validate_config,
            setup_mapper=setup_mapper,
            **kwargs,
        )
        self.max_parallelism = 1
        self._records_seen = 0
        self._checkpoint_due = False
        self._pipeline = BatchPipeline(depth=1)
        url = str(self.config.get("sqlalchemy_url", ""))
        reader = t.cast(SQLSingerReader, self.message_reader)
        postgres = url.startswith("postgresql")
        reader.strip_nul = postgres
        self._fast_path = not (self.config.get("stream_maps") or self.config.get("flattening_enabled"))
        # PostgreSQL only: there the server works on its own core and the target is the
        # bottleneck; SQLite and MySQL bind rows in this process, where more processes
        # would add their memory (and little speed).
        if postgres and self._fast_path and self.config.get("parse_process", False):
            reader.row_consumer = self

    def on_record(self, message_dict: dict) -> None:
        """Hand the record to its sink; a full sink checkpoints before the next record.

        Waiting for the next record lets the STATE messages that follow the record
        that filled the batch travel with it, so the state emitted after a commit is
        the newest one those rows justify.
        """
        try:
            if self._checkpoint_due:
                self._checkpoint()
            sink = compat.active_sinks(self).get(message_dict.get("stream", "")) if self._fast_path else None
            record = message_dict.get("record")
            if sink is None or not isinstance(record, dict):
                super().on_record(message_dict)
                return
            if t.cast(SQLTargetSink, sink).accept(record, message_dict):
                self._checkpoint_due = True
        except BaseException:
            self._pipeline.settle()
            raise
        self._records_seen += 1
        if self._records_seen % _AGE_CHECK_EVERY == 0:
            self.on_record_age_check()

    def row_spec(self, stream: str) -> RowSpec | None:
        """How the parsing process builds the rows of ``stream``, once its sink is set up."""
        sink = compat.active_sinks(self).get(stream)
        return t.cast(SQLTargetSink, sink).row_spec() if sink is not None else None

    def take_rows(self, stream: str, rows: list[tuple]) -> None:
        """Buffer rows the parsing process built, with the checkpoints of :meth:`on_record`."""
        sink = t.cast(SQLTargetSink, compat.active_sinks(self)[stream])
        accept_row = sink.accept_row
        try:
            for row in rows:
                if self._checkpoint_due:
                    self._checkpoint()
                if accept_row(row):
                    self._checkpoint_due = True
        except BaseException:
            self._pipeline.settle()
            raise
        self._count_records(len(rows))

    def take_lines(self, stream: str, keys: list | None, lines: list[bytes]) -> None:
        """Buffer COPY lines the parsing process made, cut where each batch is full."""
        sink = t.cast(SQLTargetSink, compat.active_sinks(self)[stream])
        start = 0
        try:
            while start < len(lines):
                if self._checkpoint_due:
                    self._checkpoint()
                end = start + sink.room()
                if sink.accept_lines(keys[start:end] if keys is not None else None, lines[start:end]):
                    self._checkpoint_due = True
                start = end
        except BaseException:
            self._pipeline.settle()
            raise
        self._count_records(len(lines))

    def _count_records(self, count: int) -> None:
        before = self._records_seen
        self._records_seen += count
        if before // _AGE_CHECK_EVERY != self._records_seen // _AGE_CHECK_EVERY:
            self.on_record_age_check()

    def refuse(self, stream: str, record: dict, error: BadField) -> t.NoReturn:
        """Raise the error for a record the parsing process could not build, as on_record would:
        a full batch before it (and the state after that) is still committed and emitted."""
        try:
            if self._checkpoint_due:
                self._checkpoint()
        finally:
            self._pipeline.settle()
        t.cast(SQLTargetSink, compat.active_sinks(self)[stream]).refuse(record, error)

    def _checkpoint(self) -> None:
        """Hand every sink's batch, then the latest state, to the writer thread as one job."""
        self._checkpoint_due = False
        batches = []
        for sink in list(compat.active_sinks(self).values()):
            if sink.current_size:
                batches.append((sink, sink.start_drain()))
                sink.mark_drained()
        latest = compat.latest_state(self)
        state = copy.deepcopy(latest) if latest else None

        def commit_then_emit() -> None:
            for sink, context in batches:
                sink.process_batch(context)
            if state is not None:
                self.emit_state(state)

        self._pipeline.submit(commit_then_emit)

    def _flush(self) -> None:
        """Commit everything buffered and emit the latest state, on this thread."""
        self._pipeline.wait()
        self._checkpoint_due = False
        self.drain_all()

    def on_schema(self, message_dict: dict) -> None:
        """Commit what the old schema buffered before the table's columns change.

        DDL also waits for the writer thread: SQLite locks the whole file while a batch
        is written, and no table should change under a running COPY.
        """
        self._pipeline.wait()
        existing = compat.active_sinks(self).get(message_dict.get("stream", ""))
        if existing is not None and (
            existing.original_schema != message_dict.get("schema")
            or list(existing.key_properties) != list(message_dict.get("key_properties") or [])
        ):
            self._flush()
        super().on_schema(message_dict)

    def on_activate_version(self, message_dict: dict) -> None:
        """Rows sent before ACTIVATE_VERSION are committed before older versions go."""
        self._flush()
        super().on_activate_version(message_dict)

    def on_record_age_check(self) -> None:
        """The SDK drains everything when records wait too long; the writer finishes first."""
        if compat.record_age_limit_reached(self):
            self._pipeline.wait()
        super().on_record_age_check()

    def process_endofpipe(self) -> None:
        """Commit the last batches, emit the final state, stop the writer, close connections."""
        try:
            self._pipeline.wait()
            super().process_endofpipe()
            self._pipeline.close()
        finally:
            connector = compat.created_connector(self)
            if connector is not None:
                t.cast(SQLTargetConnector, connector).close()


if __name__ == "__main__":
    TargetSQL.cli()
