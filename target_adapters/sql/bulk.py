"""The fastest write path of each database, one batch inside one transaction.

DML is built with SQLAlchemy Core (bound parameters) and compiled once per
batch shape; rows go to the driver as tuples (executemany, or COPY for
PostgreSQL), never rendered into SQL text.
"""

from __future__ import annotations

import re
import typing as t
import uuid
from dataclasses import dataclass, field

import psycopg
import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.sql.dml import Insert

from target_adapters.sql import identifiers
from target_adapters.sql.copy_text import copy_line

if t.TYPE_CHECKING:
    from singer_sdk.sql.connector import FullyQualifiedName


@dataclass(slots=True)
class Batch:
    """Rows of one stream to write in one transaction, already de-duplicated.

    For PostgreSQL a row may also be a COPY text line (bytes) made by the parsing process.
    """

    table: FullyQualifiedName
    columns: list[str]
    keys: list[str]
    rows: list[tuple]
    deleted_keys: list[tuple] = field(default_factory=list)
    upsert: bool = True
    # Whether the table may already hold rows with this batch's keys; False lets
    # PostgreSQL COPY straight into the table (retried as a merge on a conflict).
    may_have_rows: bool = True
    # Columns a conflicting row updates; None: every column but the keys.
    update_columns: list[str] | None = None

    @property
    def updated(self) -> list[str]:
        """Columns set on a key conflict."""
        if self.update_columns is not None:
            return self.update_columns
        return [c for c in self.columns if c not in self.keys]


class RowRefused(Exception):
    """The database refused row ``row`` (an index into the batch; None if unknown)."""

    def __init__(self, row: int | None, reason: str) -> None:
        super().__init__(row, reason)
        self.row = row
        self.reason = reason


def _table(batch: Batch) -> sa.Table:
    return sa.Table(
        batch.table.table,
        sa.MetaData(),
        *(sa.Column(name) for name in batch.columns),
        schema=batch.table.schema,
    )


def _bound_values(batch: Batch) -> dict[str, sa.BindParameter]:
    return {name: sa.bindparam(f"p{i}") for i, name in enumerate(batch.columns)}


def _delete_keys(conn: sa.Connection, batch: Batch) -> None:
    if not batch.deleted_keys:
        return
    table = _table(batch)
    key_columns = [table.c[k] for k in batch.keys]
    if len(key_columns) == 1:
        condition = key_columns[0].in_([k[0] for k in batch.deleted_keys])
    else:
        condition = sa.tuple_(*key_columns).in_(batch.deleted_keys)
    conn.execute(sa.delete(table).where(condition))


class BulkWriter(t.Protocol):
    """Writes one batch on an open transaction; returns whether it went in directly."""

    def write(self, conn: sa.Connection, batch: Batch) -> bool: ...


class ExecutemanyWriter:
    """MySQL/MariaDB and SQLite: one prepared upsert, executemany of tuples.

    PyMySQL rewrites ``INSERT ... VALUES (%s, ...) ON DUPLICATE KEY UPDATE`` into
    multi-row statements of up to 1 MB; sqlite3 steps one prepared statement.
    """

    def __init__(self, dialect_name: str) -> None:
        self._dialect_name = dialect_name

    def _statement(self, batch: Batch) -> Insert:
        table = _table(batch)
        values = _bound_values(batch)
        non_keys = batch.updated
        if self._dialect_name == "mysql":
            stmt = mysql.insert(table).values(values)
            if batch.upsert and batch.keys:
                updated = non_keys or batch.keys
                # func.values, not stmt.inserted: the latter doubles '%' in names twice.
                stmt = stmt.on_duplicate_key_update({c: sa.func.values(table.c[c]) for c in updated})
            return stmt
        lite = sqlite.insert(table).values(values)
        if batch.upsert and batch.keys:
            if non_keys:
                return lite.on_conflict_do_update(
                    index_elements=batch.keys, set_={c: lite.excluded[c] for c in non_keys}
                )
            return lite.on_conflict_do_nothing(index_elements=batch.keys)
        return lite

    def write(self, conn: sa.Connection, batch: Batch) -> bool:
        """Upsert (or append) the rows, then apply hard deletes."""
        if batch.rows:
            compiled = self._statement(batch).compile(dialect=conn.dialect)
            try:
                conn.exec_driver_sql(str(compiled), batch.rows)
            except sa.exc.DBAPIError as exc:
                raise RowRefused(None, str(exc.orig)) from exc
            except OverflowError as exc:  # sqlite3, before the database sees the row
                raise _beyond_64_bits(batch) from exc
        _delete_keys(conn, batch)
        return False


_INT64 = (-(2**63), 2**63 - 1)


def _beyond_64_bits(batch: Batch) -> RowRefused:
    """Name the first row and column whose integer does not fit in 64 bits."""
    low, high = _INT64
    for index, row in enumerate(batch.rows):
        for column, value in zip(batch.columns, row):
            if isinstance(value, int) and not low <= value <= high:
                return RowRefused(
                    index,
                    f"field '{column}' holds {value}, an integer beyond 64 bits, which the "
                    "database cannot store as a number",
                )
    return RowRefused(None, "an integer beyond 64 bits, which the database cannot store")


_COPY_LINE = re.compile(r"COPY .*, line (\d+)")


class PostgresCopyWriter:
    """PostgreSQL: COPY into the table when it cannot conflict, else stage and merge.

    COPY streams rows while the server parses them on the other core. Into a new
    or empty table the rows go in directly (no rewrite of rows just written, no
    table bloat); a unique violation there rolls back to a savepoint and the batch
    is merged instead, through a temporary table and INSERT ... ON CONFLICT.
    """

    def write(self, conn: sa.Connection, batch: Batch) -> bool:
        """Write the batch; True when it went straight into the table."""
        direct = False
        if batch.rows:
            if not batch.keys or not batch.upsert:
                self._copy(conn, identifiers.table(conn.dialect, batch.table), batch)
                direct = True
            elif not batch.may_have_rows:
                direct = self._try_direct(conn, batch)
            if batch.keys and batch.upsert and not direct:
                self._merge(conn, batch)
        _delete_keys(conn, batch)
        return direct

    def _try_direct(self, conn: sa.Connection, batch: Batch) -> bool:
        savepoint = conn.begin_nested()
        try:
            self._copy(conn, identifiers.table(conn.dialect, batch.table), batch)
        except RowRefused as exc:
            savepoint.rollback()
            if isinstance(exc.__cause__, psycopg.errors.UniqueViolation):
                return False
            raise
        savepoint.commit()
        return True

    def _merge(self, conn: sa.Connection, batch: Batch) -> None:
        stage = f"_target_sql_stage_{uuid.uuid4().hex[:12]}"
        raw = t.cast(psycopg.Connection, conn.connection.driver_connection)
        # Straight to psycopg: without parameters it leaves '%' in names alone.
        raw.execute(
            f"CREATE TEMPORARY TABLE {stage} ON COMMIT DROP AS "
            f"SELECT {identifiers.columns(conn.dialect, batch.columns)} "
            f"FROM {identifiers.table(conn.dialect, batch.table)} WITH NO DATA"
        )
        self._copy(conn, stage, batch)
        target = _table(batch)
        source = sa.table(stage, *(sa.column(c) for c in batch.columns))
        stmt = postgresql.insert(target).from_select(
            batch.columns, sa.select(*(source.c[c] for c in batch.columns))
        )
        non_keys = batch.updated
        if non_keys:
            stmt = stmt.on_conflict_do_update(
                index_elements=batch.keys, set_={c: stmt.excluded[c] for c in non_keys}
            )
        else:
            stmt = stmt.on_conflict_do_nothing(index_elements=batch.keys)
        conn.execute(stmt)

    def _copy(self, conn: sa.Connection, table: str, batch: Batch) -> None:
        raw = t.cast(psycopg.Connection, conn.connection.driver_connection)
        statement = f"COPY {table} ({identifiers.columns(conn.dialect, batch.columns)}) FROM STDIN"
        try:
            with raw.cursor() as cursor, cursor.copy(statement) as copy:
                if any(row.__class__ is bytes for row in batch.rows):
                    _write_lines(copy, batch.rows)
                else:
                    write_row = copy.write_row
                    for row in batch.rows:
                        write_row(row)
        except psycopg.Error as exc:
            context = exc.diag.context or ""
            found = _COPY_LINE.search(context.splitlines()[-1] if context else "")
            failed = int(found.group(1)) - 1 if found else None
            detail = exc.diag.message_primary or str(exc)
            raise RowRefused(failed, f"{detail} ({context.strip()})" if context else detail) from exc


_LINES_PER_WRITE = 256


def _write_lines(copy: psycopg.Copy, rows: list) -> None:
    """Send COPY text lines (from the parsing process) and row tuples, in order."""
    lines = [row if row.__class__ is bytes else copy_line(row) for row in rows]
    for start in range(0, len(lines), _LINES_PER_WRITE):
        copy.write(b"".join(lines[start : start + _LINES_PER_WRITE]))


def writer_for(dialect_name: str) -> BulkWriter:
    """The bulk writer of a dialect."""
    if dialect_name == "postgresql":
        return PostgresCopyWriter()
    return ExecutemanyWriter(dialect_name)
