"""Engine, DDL and type mapping for target-sql (the connector role).

Tables are reflected once per schema message, columns are added and widened
(never dropped or narrowed), and every identifier goes through the dialect's
quoting, so any stream or property name is safe.
"""

from __future__ import annotations

import typing as t
from pathlib import Path

import sqlalchemy as sa
from singer_sdk.helpers.capabilities import TargetLoadMethods
from singer_sdk.sql.connector import FullyQualifiedName, SQLConnector

from target_adapters import _sdk_compat as compat
from target_adapters.common.schema_types import column_type
from target_adapters.sql import identifiers
from target_adapters.sql.annotations import LABELS_TABLE, labeled_view
from target_adapters.sql.name_map import NameMap
from target_adapters.sql.types import rung_type, sql_type, widened

APPEND_METHODS = frozenset({TargetLoadMethods.APPEND_ONLY.value, "append"})
"""load_method values that insert every record (``append`` is the issue's spelling)."""


class SQLTargetConnector(compat.ConnectorHooks, SQLConnector):
    """One connector for PostgreSQL, MySQL/MariaDB and SQLite."""

    allow_column_add = True  # new stream properties become new columns
    allow_column_alter = True  # integer -> bigint -> numeric -> text
    allow_column_rename = False  # a rename would look like a drop to readers
    allow_merge_upsert = True  # every supported database has an upsert
    allow_overwrite = True  # load_method overwrite recreates the table once a run
    allow_temp_tables = True  # PostgreSQL stages batches in one

    @property
    def dialect_name(self) -> str:
        """``postgresql``, ``mysql`` (also MariaDB) or ``sqlite``."""
        return self.engine.dialect.name

    def create_engine(self) -> sa.Engine:
        """An engine whose DBAPI parameters are positional, for executemany of tuples."""
        url = sa.engine.make_url(self.sqlalchemy_url)
        backend = url.get_backend_name()
        if backend not in {"postgresql", "mysql", "mariadb", "sqlite"}:
            msg = (
                f"sqlalchemy_url uses '{backend}', which target-sql does not support; "
                "use postgresql+psycopg://, mysql+pymysql:// or sqlite:///path."
            )
            raise ValueError(msg)
        options: dict[str, t.Any] = {"pool_pre_ping": True}
        if backend in {"mysql", "mariadb"}:
            options["paramstyle"] = "format"
        if backend == "sqlite":
            if url.database and url.database != ":memory:":
                Path(url.database).parent.mkdir(parents=True, exist_ok=True)
            # Batches are committed by a worker thread; the pool hands out one at a time.
            options["connect_args"] = {"check_same_thread": False, "timeout": 60}
        return sa.create_engine(url, **options)

    @property
    def engine(self) -> sa.Engine:
        """The shared engine (public name for the sink and the bulk writers)."""
        return compat.engine(self)

    def name_map(self, schema: str | None) -> NameMap:
        """The recorded stream and property names of one schema (see :mod:`.name_map`)."""
        maps: dict[str | None, NameMap] = self.__dict__.setdefault("_name_maps", {})
        if schema not in maps:
            reserved = [LABELS_TABLE] if self.config.get("picklist_label_views") else []
            maps[schema] = NameMap(self.engine, schema, reserved)
        return maps[schema]

    def close(self) -> None:
        """Close the pooled connections (psycopg warns about any left open at exit)."""
        engine = compat.created_engine(self)  # only if one was created
        if engine is not None:
            engine.dispose()

    def to_sql_type(self, jsonschema_type: dict) -> sa.types.TypeEngine:
        """The column type for one JSON-schema property (not part of the key)."""
        return sql_type(self.dialect_name, column_type(jsonschema_type))

    def raw_table(self, full_table_name: str | FullyQualifiedName) -> str:
        """The table name quoted for statements written as text."""
        if isinstance(full_table_name, FullyQualifiedName):
            return identifiers.table(self.engine.dialect, full_table_name)
        return str(full_table_name)

    def client_encoding(self) -> str:
        """The Python name of a PostgreSQL connection's client encoding (``utf-8``)."""
        with self.engine.connect() as conn:
            return str(t.cast(t.Any, conn.connection.driver_connection).info.encoding)

    def table_has_rows(self, full_table_name: FullyQualifiedName) -> bool:
        """Whether a table holds any row (decides direct COPY against merge)."""
        with self.engine.connect() as conn:
            query = sa.text(f"SELECT 1 FROM {self.raw_table(full_table_name)} LIMIT 1")
            return conn.execute(query).first() is not None

    def prepare_table(  # type: ignore[override]  # narrower than singer-sdk's
        self,
        full_table_name: str | FullyQualifiedName,
        schema: dict,
        primary_keys: t.Sequence[str],
        partition_keys: list[str] | None = None,
        as_temp_table: bool = False,
    ) -> bool:
        """Create, or add and widen columns; returns True if the table is new."""
        table_key = str(full_table_name)
        first_time = not compat.prepared_tables(self).get(table_key, False)
        overwrite = self.config.get("load_method") == TargetLoadMethods.OVERWRITE
        exists = self.table_exists(full_table_name)
        if exists and overwrite and first_time:
            with self.engine.connect() as conn, conn.begin():
                conn.execute(sa.text(f"DROP TABLE {self.raw_table(full_table_name)}"))
            exists = False
        compat.prepared_tables(self)[table_key] = True
        if not exists:
            self.create_empty_table(full_table_name, schema, primary_keys, partition_keys, as_temp_table)
            return True
        self._evolve_table(full_table_name, schema, primary_keys)
        return False

    def create_empty_table(
        self,
        full_table_name: str | FullyQualifiedName,
        schema: dict,
        primary_keys: t.Sequence[str] | None = None,
        partition_keys: list[str] | None = None,
        as_temp_table: bool = False,
    ) -> None:
        """Create the table with a primary key on the key properties (unless appending)."""
        _, schema_name, table_name = self.parse_full_table_name(full_table_name)
        properties: dict = schema.get("properties") or {}
        keys = [k for k in (primary_keys or []) if k in properties]
        columns = [
            sa.Column(
                name,
                sql_type(self.dialect_name, column_type(prop or {}), is_key=name in keys),
                nullable=name not in keys,
                autoincrement=False,
            )
            for name, prop in properties.items()
        ]
        if not columns:
            msg = (
                f"Schema for table {full_table_name} has no properties, so there is no "
                "column to create; the tap must describe at least one property."
            )
            raise ValueError(msg)
        args: list[t.Any] = []
        if keys and self.config.get("load_method") not in APPEND_METHODS:
            args.append(sa.PrimaryKeyConstraint(*keys))
        table = sa.Table(table_name, sa.MetaData(), *columns, *args, schema=schema_name)
        self.logger.info("Creating table %s", full_table_name)
        table.create(self.engine)

    def _evolve_table(
        self,
        full_table_name: str | FullyQualifiedName,
        schema: dict,
        primary_keys: t.Sequence[str],
    ) -> None:
        # Names come from the name map, which keeps names the database would confuse
        # apart, so an existing column is the one with exactly this name.
        existing = self.get_table_columns(full_table_name)
        for name, prop in (schema.get("properties") or {}).items():
            wanted = sql_type(self.dialect_name, column_type(prop or {}), is_key=name in primary_keys)
            current = existing.get(name)
            if current is None:
                compat.add_column(self, full_table_name, name, wanted)
                continue
            target_rung = widened(current.type, wanted)
            if target_rung is not None:
                self._widen_column(full_table_name, current.name, current.type, target_rung)

    def _widen_column(
        self,
        full_table_name: str | FullyQualifiedName,
        column: str,
        current: sa.types.TypeEngine,
        target_rung: str,
    ) -> None:
        new_type = rung_type(self.dialect_name, target_rung)
        if self.dialect_name == "sqlite":
            self._rebuild_sqlite_table(full_table_name, column, new_type)
            return
        compiled = new_type.compile(dialect=self.engine.dialect)
        quoted = identifiers.quote(self.engine.dialect, column)
        table = self.raw_table(full_table_name)
        if self.dialect_name == "postgresql":
            using = f"{quoted}::text" if target_rung == "text" else f"{quoted}::{compiled}"
            statement = f"ALTER TABLE {table} ALTER COLUMN {quoted} TYPE {compiled} USING {using}"
        else:
            statement = f"ALTER TABLE {table} MODIFY COLUMN {quoted} {compiled}"
        self.logger.info("Widening column %s.%s from %s to %s", full_table_name, column, current, compiled)
        try:
            with self.engine.connect() as conn, conn.begin():
                if self.dialect_name == "postgresql":
                    self._drop_labeled_view(conn, full_table_name)
                conn.execute(sa.text(statement))
        except sa.exc.DBAPIError as exc:
            msg = (
                f"Could not widen column {column} of {full_table_name} from {current} to "
                f"{compiled}: {exc.orig}. Convert the column by hand, then rerun."
            )
            raise RuntimeError(msg) from exc

    def _drop_labeled_view(self, conn: sa.Connection, full_table_name: str | FullyQualifiedName) -> None:
        """Views block retyping (PostgreSQL) and rebuilding (SQLite) a table.

        The labeled view of the annotations is recreated once the table is ready.
        """
        if not isinstance(full_table_name, FullyQualifiedName):
            return
        parts = (full_table_name.schema, labeled_view(self.dialect_name, full_table_name.table))
        view = ".".join(identifiers.quote(self.engine.dialect, p) for p in parts if p)
        conn.execute(sa.text(f"DROP VIEW IF EXISTS {view}"))

    def _rebuild_sqlite_table(
        self,
        full_table_name: str | FullyQualifiedName,
        column: str,
        new_type: sa.types.TypeEngine,
    ) -> None:
        """SQLite has no ALTER COLUMN TYPE: copy into a table declared with the new type.

        Readers trust the declared type (SQLAlchemy converts NUMERIC to Decimal), so
        text in a NUMERIC column would break them even though SQLite stores it.
        """
        _, schema_name, table_name = self.parse_full_table_name(full_table_name)
        old = sa.Table(table_name, sa.MetaData(), schema=schema_name, autoload_with=self.engine)
        meta = sa.MetaData()
        staging_name = identifiers.with_suffix(self.dialect_name, table_name, "__widening")
        staging = sa.Table(
            staging_name,
            meta,
            *(
                sa.Column(
                    c.name,
                    new_type if c.name == column else c.type,
                    nullable=c.nullable,
                    primary_key=c.primary_key,
                    autoincrement=False,
                )
                for c in old.columns
            ),
            schema=schema_name,
        )
        self.logger.info("Widening column %s.%s to %s", full_table_name, column, new_type)
        with self.engine.begin() as conn:
            self._drop_labeled_view(conn, full_table_name)
            staging.create(conn)
            names = [c.name for c in old.columns]
            conn.execute(sa.insert(staging).from_select(names, sa.select(*old.columns)))
            old.drop(conn)
            quote = identifiers.quote
            conn.exec_driver_sql(
                f"ALTER TABLE {quote(self.engine.dialect, staging_name)} "
                f"RENAME TO {quote(self.engine.dialect, table_name)}"
            )

    def get_column_add_ddl(
        self,
        table_name: str | FullyQualifiedName,
        column_name: str,
        column_type: sa.types.TypeEngine,
    ) -> sa.DDL:
        """ADD COLUMN with the name quoted by the dialect (``%`` escaped for DDL)."""
        compiled = column_type.compile(dialect=self.engine.dialect)
        quoted = identifiers.quote(self.engine.dialect, column_name).replace("%", "%%")
        table = self.raw_table(table_name).replace("%", "%%")
        return sa.DDL(f"ALTER TABLE {table} ADD COLUMN {quoted} {compiled}")
