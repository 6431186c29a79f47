"""Every use the targets make of singer-sdk's private API, listed (and read) in one place.

Overriding a private singer-sdk method or reading a private attribute buys speed
(target-sql's record fast path, its writer thread) or correctness (BATCH through the
RECORD path, STATE held until files are published). An upgrade of singer-sdk may move
any of it without notice, so:

* the attribute reads go through the small functions below, never ``obj._name`` in the
  targets' code;
* every private method the targets override is listed in :data:`OVERRIDDEN`, with the
  parameters it had in the pinned version; ``tests/targets/test_sql_sdk_compat.py``
  fails, naming the method or attribute, when an upgrade changes one of them.

Public hooks are used wherever the pinned version (0.54) has one (``process_record``,
``process_batch``, ``start_drain``, ``setup``, ``activate_version``, ``get_validator``,
``conform_name``, ``create_engine``, ``prepare_table``, ``get_column_add_ddl``).
"""

from __future__ import annotations

import logging
import typing as t
from contextlib import contextmanager

import click
import sqlalchemy as sa
from singer_sdk import Sink, Target
from singer_sdk.exceptions import InvalidRecord, MissingKeyPropertiesError
from singer_sdk.singerlib.encoding import SimpleSingerReader
from singer_sdk.singerlib.exceptions import InvalidInputLine
from singer_sdk.sql import SQLConnector, SQLTarget

from target_adapters.common.batch_files import batch_records, check_encoding

PINNED = "0.54"

log = logging.getLogger(__name__)

# (class, method, parameters after self) for each private method the targets override.
OVERRIDDEN: list[tuple[type, str, tuple[str, ...]]] = [
    (Target, "_process_record_message", ("message_dict",)),
    (Target, "_process_schema_message", ("message_dict",)),
    (Target, "_process_activate_version_message", ("message_dict",)),
    (Target, "_process_batch_message", ("message_dict",)),
    (Target, "_handle_max_record_age", ()),
    (Target, "_write_state_message", ("state",)),
    (Target, "_handle_termination", ("signum", "frame")),
    (Target, "_get_about_info", ()),
    (Sink, "_singer_validate_message", ("record",)),
    (Sink, "_remove_sdc_metadata_from_schema", ()),
    (Sink, "_remove_sdc_metadata_from_record", ("record",)),
    (Sink, "_parse_timestamps_in_record", ("record", "schema", "treatment")),
    (SQLConnector, "_connect", ()),
]

# (class, attribute) for each private attribute the targets read or call; instance
# attributes are checked on a live target and sink by the contract test.
READ: list[tuple[type, str]] = [
    (Target, "_latest_state"),
    (Target, "_sinks_active"),
    (Target, "_max_record_age_in_minutes"),
    (Target, "_MAX_RECORD_AGE_IN_MINUTES"),
    (SQLTarget, "_target_connector"),
    (Sink, "_total_records_read"),
    (Sink, "_batch_records_read"),
    (Sink, "_warned_missing_fields"),
    (SQLConnector, "_engine"),
    (SQLConnector, "_cached_engine"),
    (SQLConnector, "_dialect"),
    (SQLConnector, "_tables_prepared"),
    (SQLConnector, "_create_empty_column"),
    (SimpleSingerReader, "_process_unknown_message"),
]


# --- reads -----------------------------------------------------------------------------


def latest_state(target: Target) -> dict | None:
    """The newest STATE received and not yet emitted."""
    return target._latest_state


def active_sinks(target: Target) -> dict[str, Sink]:
    """The current sink of each stream."""
    return target._sinks_active


def record_age_limit_reached(target: Target) -> bool:
    """Whether singer-sdk is about to drain every sink because records waited too long."""
    return target._max_record_age_in_minutes > target._MAX_RECORD_AGE_IN_MINUTES


def created_connector(target: SQLTarget) -> SQLConnector | None:
    """The target's shared connector, if one was created (None before any SCHEMA)."""
    return target._target_connector


def created_engine(connector: SQLConnector) -> sa.Engine | None:
    """The connector's engine, if one was created."""
    return connector._cached_engine


def records_read(sink: Sink) -> tuple[int, int]:
    """(records of the current batch, records of the run) the sink has taken."""
    return sink._batch_records_read, sink._total_records_read


def count_record(sink: Sink) -> int:
    """Count one record taken on a path that skips ``tally_record_read``; the batch's count."""
    sink._batch_records_read += 1
    sink._total_records_read += 1
    return sink._batch_records_read


def count_records(sink: Sink, count: int) -> int:
    """Count ``count`` records taken at once on that path; the batch's count."""
    sink._batch_records_read += count
    sink._total_records_read += count
    return sink._batch_records_read


def engine(connector: SQLConnector) -> sa.Engine:
    """The connector's engine (created on first use)."""
    return connector._engine


def prepared_tables(connector: SQLConnector) -> dict[str, bool]:
    """Tables singer-sdk's connector has prepared in this run, by name."""
    return connector._tables_prepared


def add_column(connector: SQLConnector, table: t.Any, name: str, sql_type: t.Any) -> None:
    """singer-sdk's ADD COLUMN (it has no public method that adds without checking first)."""
    connector._create_empty_column(table, name, sql_type)


def warned_fields(sink: Sink) -> set[str]:
    """Undeclared fields the sink already warned about (one warning per field)."""
    return sink._warned_missing_fields


# --- overrides -------------------------------------------------------------------------


class BatchAsRecords:
    """Target mixin: each record of a BATCH message goes through ``_process_record_message``.

    singer-sdk hands a batch file's records straight to ``Sink.process_batch``, past
    validation, metadata and the target's checkpointing; a sink that keeps its own
    buffers then loses them (target-files wrote a header-only file) or fails
    (target-sql). As RECORD messages, a batch obeys every rule a RECORD does,
    including when STATE may be emitted.
    """

    _process_record_message: t.Callable[[dict], None]

    def _process_batch_message(self, message_dict: dict) -> None:
        """Refuse an unreadable encoding at once, else feed each record as a RECORD message."""
        check_encoding(message_dict)
        stream = message_dict.get("stream")
        process = self._process_record_message
        for record in batch_records(message_dict):
            process({"type": "RECORD", "stream": stream, "record": record})


# Sink._validate_and_parse logs this, with the traceback, just before it raises the refusal
# (sinks keep fail_on_record_validation_exception = True), which then ends the run.
VALIDATION_LOG_MESSAGE = "Record validation failed"


def one_line(exc: BaseException) -> str:
    """An exception's message on one line (a refusal may quote a multi-line value)."""
    return " ".join(str(exc).split()) or type(exc).__name__


def debug_logging() -> bool:
    """Whether the run asked for tracebacks: LOGLEVEL / <PLUGIN>_LOGLEVEL=debug, which
    singer-sdk's command line applies to the root logger."""
    return logging.getLogger().isEnabledFor(logging.DEBUG)


class _RefusalTraceback(logging.Filter):
    """Drops singer-sdk's log of a refused record with its traceback: the refusal is raised
    and ends the run with its one-line ``Error:``. Kept at debug level."""

    def filter(self, record: logging.LogRecord) -> bool:
        refused = record.exc_info[1] if record.exc_info else None
        if record.msg == VALIDATION_LOG_MESSAGE and isinstance(refused, InvalidRecord):
            return debug_logging()
        return True


class TargetHooks:
    """Target mixin: singer-sdk's private handlers forwarded to public-named hooks.

    A target overrides ``on_record`` (and the others) and calls ``super().on_record``
    for singer-sdk's own handling; only this class knows the private names.

    On the command line, input the target refuses (``refusals``: bad JSON, a value the
    schema or the destination cannot take) and an unreadable ``--config`` end the run with
    exit 1 and one ``Error:`` line that says what was wrong and what to do, not a
    traceback; ``LOGLEVEL=debug`` logs the traceback too.
    """

    refusals: t.ClassVar[tuple[type[BaseException], ...]] = (
        InvalidRecord,
        MissingKeyPropertiesError,
        InvalidInputLine,
    )

    @classmethod
    def invoke(cls, *args: t.Any, **kwargs: t.Any) -> None:
        quiet = _RefusalTraceback()
        handlers = list(logging.getLogger().handlers)
        for handler in handlers:
            handler.addFilter(quiet)
        try:
            super().invoke(*args, **kwargs)  # type: ignore[misc]  # mixin: the base is singer-sdk\'s class
        except cls.refusals as exc:
            log.debug("the refused input's traceback", exc_info=True)
            raise click.ClickException(one_line(exc)) from None
        finally:
            for handler in handlers:
                handler.removeFilter(quiet)

    @classmethod
    def cb_config(cls, ctx: click.Context, param: click.Option, value: tuple[str, ...]) -> t.Any:
        """``--config`` files read as singer-sdk does; one that is missing or not JSON is a
        usage error naming the file, not a traceback."""
        try:
            return super().cb_config(ctx, param, value)  # type: ignore[misc]  # mixin: the base is singer-sdk\'s class
        except (OSError, ValueError) as exc:
            log.debug("the --config traceback", exc_info=True)
            files = ", ".join(v for v in value if v != "ENV")
            raise click.BadParameter(
                f"{one_line(exc).rstrip('.')} (reading {files}); give JSON files of settings (or ENV)",
                ctx,
                param,
            ) from None

    def _process_record_message(self, message_dict: dict) -> None:
        self.on_record(message_dict)

    def on_record(self, message_dict: dict) -> None:
        """A RECORD message (singer-sdk: map, validate, hand to the sink)."""
        super()._process_record_message(message_dict)  # type: ignore[misc]  # mixin: the base is singer-sdk\'s class

    def _process_schema_message(self, message_dict: dict) -> None:
        self.on_schema(message_dict)

    def on_schema(self, message_dict: dict) -> None:
        """A SCHEMA message (singer-sdk: create or replace the stream's sink)."""
        super()._process_schema_message(message_dict)  # type: ignore[misc]  # mixin: the base is singer-sdk\'s class

    def _process_activate_version_message(self, message_dict: dict) -> None:
        self.on_activate_version(message_dict)

    def on_activate_version(self, message_dict: dict) -> None:
        """An ACTIVATE_VERSION message (singer-sdk: the sinks' ``activate_version``)."""
        super()._process_activate_version_message(message_dict)  # type: ignore[misc]  # mixin: the base is singer-sdk\'s class

    def _handle_max_record_age(self) -> None:
        self.on_record_age_check()

    def on_record_age_check(self) -> None:
        """singer-sdk drains every sink when records have waited too long."""
        super()._handle_max_record_age()  # type: ignore[misc]  # mixin: the base is singer-sdk\'s class

    def _write_state_message(self, state: dict) -> None:
        self.on_state_ready(state)

    def on_state_ready(self, state: dict) -> None:
        """Every record before ``state`` is drained (singer-sdk: emit it now)."""
        self.emit_state(state)

    def emit_state(self, state: dict) -> None:
        """Write a STATE message to stdout."""
        super()._write_state_message(state)  # type: ignore[misc]  # mixin: the base is singer-sdk\'s class

    def _handle_termination(self, signum: int, frame: t.Any) -> None:
        self.on_termination(signum, frame)

    @classmethod
    def _get_about_info(cls) -> t.Any:
        return cls.about_info(super()._get_about_info())  # type: ignore[misc]  # mixin: the base is singer-sdk\'s class

    @classmethod
    def about_info(cls, info: t.Any) -> t.Any:
        """What `--about` shows; a target may replace fields (e.g. the description)."""
        return info

    @classmethod
    def about(cls) -> t.Any:
        """The `--about` information as singer-sdk builds it, after `about_info`."""
        return cls._get_about_info()

    def on_termination(self, signum: int, frame: t.Any) -> None:
        """SIGINT or SIGTERM (singer-sdk: drain every sink, then exit)."""
        super()._handle_termination(signum, frame)  # type: ignore[misc]  # mixin: the base is singer-sdk\'s class


class SinkHooks:
    """Sink mixin: singer-sdk's private per-record steps forwarded to public-named hooks."""

    def _remove_sdc_metadata_from_schema(self) -> None:
        self.remove_metadata_from_schema()

    def remove_metadata_from_schema(self) -> None:
        """Without add_record_metadata: drop the ``_sdc_*`` properties from the schema."""
        super()._remove_sdc_metadata_from_schema()  # type: ignore[misc]  # mixin: the base is singer-sdk\'s class

    def _remove_sdc_metadata_from_record(self, record: dict) -> None:
        self.remove_metadata_from_record(record)

    def remove_metadata_from_record(self, record: dict) -> None:
        """Without add_record_metadata: drop the ``_sdc_*`` fields from a record."""
        super()._remove_sdc_metadata_from_record(record)  # type: ignore[misc]  # mixin: the base is singer-sdk\'s class

    def _parse_timestamps_in_record(self, record: dict, schema: dict, treatment: t.Any) -> None:
        self.parse_timestamps(record, schema, treatment)

    def _singer_validate_message(self, record: dict) -> None:
        self.check_message(record)

    def check_message(self, record: dict) -> None:
        """Before validation: singer-sdk checks the key properties are present."""
        super()._singer_validate_message(record)  # type: ignore[misc]  # mixin: the base is singer-sdk\'s class

    def parse_timestamps(self, record: dict, schema: dict, treatment: t.Any) -> None:
        """singer-sdk turns date-time strings into datetime objects here."""
        super()._parse_timestamps_in_record(record, schema, treatment)  # type: ignore[misc]  # mixin: the base is singer-sdk\'s class


class ConnectorHooks:
    """SQLConnector mixin: plain connections (singer-sdk's ``_connect`` streams results,
    and psycopg's server-side cursors cannot run DDL)."""

    @contextmanager
    def _connect(self) -> t.Iterator[sa.Connection]:
        with engine(t.cast(SQLConnector, self)).connect() as conn:
            yield conn


def unknown_message(reader: SimpleSingerReader, message: dict) -> None:
    """singer-sdk's handling of a message type it does not know (a warning)."""
    reader._process_unknown_message(message)
