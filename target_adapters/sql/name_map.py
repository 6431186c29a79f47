"""Which table holds a stream and which column a property: decided once, kept in the database.

The first time a stream or property is seen its SQL name is chosen (see
:func:`.identifiers.sql_name`) and recorded in ``_sdc_name_map`` in the same
schema, one row per name; later runs read the choice back, so a name never
moves, whatever order streams and properties arrive in or how the schema grows.
Users read the table to find a renamed column::

    SELECT sql_name FROM _sdc_name_map
    WHERE kind = 'column' AND stream = 'tickets' AND source = 'a very long property name ...'

Two stream names the database would take as one table name (``Foo`` and ``foo``
on SQLite and MySQL) are refused before anything of the second is written; two
such property names get their own columns, the later one with a hash tag.
"""

from __future__ import annotations

import hashlib
import typing as t

import sqlalchemy as sa

from target_adapters.sql import identifiers
from target_adapters.sql.errors import NameCollision

MAP_TABLE = "_sdc_name_map"
TABLE, COLUMN = "table", "column"


def _table(schema: str | None) -> sa.Table:
    return sa.Table(
        MAP_TABLE,
        sa.MetaData(),
        sa.Column("id", sa.String(40), primary_key=True),  # SHA-1 of kind, table and source
        sa.Column("kind", sa.String(8), nullable=False),  # 'table' or 'column'
        sa.Column("stream", sa.Text, nullable=False),  # the Singer stream name
        sa.Column("table_name", sa.String(255), nullable=False),  # the SQL table
        sa.Column("source", sa.Text, nullable=False),  # stream (tables) or property name
        sa.Column("sql_name", sa.String(255), nullable=False),  # the SQL table or column
        schema=schema,
    )


def _row_id(kind: str, table_name: str, source: str) -> str:
    key = "\x00".join((kind, table_name if kind == COLUMN else "", source))
    return hashlib.sha1(key.encode("utf-8", "surrogatepass")).hexdigest()


class NameMap:
    """The names of one schema (or database): read once, extended as streams arrive."""

    def __init__(self, engine: sa.Engine, schema: str | None, reserved: t.Iterable[str] = ()) -> None:
        self._db = engine
        self._dialect_name = engine.dialect.name
        self._schema = schema
        self._table = _table(schema)
        self._reserved = {self._fold(n) for n in (MAP_TABLE, *reserved)}
        self._tables: dict[str, str] = {}  # stream -> SQL table
        self._columns: dict[str, dict[str, str]] = {}  # SQL table -> property -> SQL column
        self._loaded = False

    def _fold(self, name: str) -> str:
        return identifiers.folded(self._dialect_name, name)

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        inspector = sa.inspect(self._db)
        self._existing_tables = set(inspector.get_table_names(schema=self._schema))
        if MAP_TABLE not in self._existing_tables:
            return
        with self._db.connect() as conn:
            for kind, table_name, source, name in conn.execute(
                sa.select(
                    self._table.c.kind, self._table.c.table_name, self._table.c.source, self._table.c.sql_name
                )
            ):
                if kind == TABLE:
                    self._tables[source] = name
                else:
                    self._columns.setdefault(table_name, {})[source] = name

    def table_for(self, stream: str, wanted: str | None = None) -> str:
        """The SQL table of ``stream`` (named after ``wanted``, by default the stream name)."""
        self._load()
        known = self._tables.get(stream)
        if known is not None:
            return known
        name = identifiers.sql_name(self._dialect_name, wanted if wanted is not None else stream)
        key = self._fold(name)
        for other, table_name in self._tables.items():
            if self._fold(table_name) == key:
                msg = (
                    f"streams '{other}' and '{stream}' would both be loaded into table "
                    f"'{table_name}' (the database does not tell the two names apart); "
                    "rename one of them, e.g. with a stream map (stream_maps), and rerun. "
                    "Nothing of the second stream was written."
                )
                raise NameCollision(msg)
        if key in self._reserved:
            msg = (
                f"stream '{stream}' would be loaded into '{name}', a table target-sql keeps "
                "for itself; rename the stream with a stream map (stream_maps)."
            )
            raise NameCollision(msg)
        twin = next((t for t in self._existing_tables if self._fold(t) == key and t != name), None)
        if twin is not None:
            msg = (
                f"stream '{stream}' would be loaded into table '{name}', but table '{twin}' "
                "already exists and the database does not tell the two names apart; rename "
                "the stream with a stream map (stream_maps) or the table, and rerun."
            )
            raise NameCollision(msg)
        self._record([(TABLE, stream, name, stream, name)])
        self._tables[stream] = name
        return name

    def columns_for(
        self, stream: str, table_name: str, properties: t.Sequence[str], existing: t.Iterable[str]
    ) -> dict[str, str]:
        """The SQL column of every property, choosing (and recording) names for new ones.

        A column the table already has under exactly a property's name is that
        property's (tables loaded before names were recorded keep their columns).
        """
        self._load()
        known = self._columns.setdefault(table_name, {})
        taken = {self._fold(c): p for p, c in known.items()}
        present = {self._fold(c): c for c in existing}
        new = sorted((p for p in properties if p not in known), key=lambda p: (not p.startswith("_sdc_"), p))
        rows = []
        for prop in new:
            name = identifiers.sql_name(self._dialect_name, prop)
            key = self._fold(name)
            if key in taken or present.get(key, name) != name:
                name = identifiers.sql_name(self._dialect_name, prop, tagged=True)
                key = self._fold(name)
                if key in taken or key in present:
                    owner = taken.get(key, present.get(key))
                    msg = (
                        f"stream '{stream}': properties '{prop}' and '{owner}' would share "
                        f"column '{name}' of table '{table_name}'; rename one with a stream map."
                    )
                    raise NameCollision(msg)
            taken[key] = prop
            known[prop] = name
            rows.append((COLUMN, stream, table_name, prop, name))
        self._record(rows)
        return {p: known[p] for p in properties}

    def _record(self, rows: list[tuple[str, str, str, str, str]]) -> None:
        """Insert the new names; another process recording the same ones at once is fine."""
        if not rows:
            return
        wanted = {
            _row_id(kind, table_name, source): {
                "id": _row_id(kind, table_name, source),
                "kind": kind,
                "stream": stream,
                "table_name": table_name,
                "source": source,
                "sql_name": name,
            }
            for kind, stream, table_name, source, name in rows
        }
        self._create_table()
        try:
            with self._db.begin() as conn:
                conn.execute(sa.insert(self._table), list(wanted.values()))
        except sa.exc.IntegrityError:
            self._record_one_by_one(wanted)
        self._existing_tables.add(MAP_TABLE)

    def _create_table(self) -> None:
        try:
            with self._db.begin() as conn:
                self._table.create(conn, checkfirst=True)
        except sa.exc.DBAPIError:  # created by a concurrent run between check and create
            if not sa.inspect(self._db).has_table(MAP_TABLE, schema=self._schema):
                raise

    def _record_one_by_one(self, wanted: dict[str, dict]) -> None:
        """A concurrent run recorded some of these names: they must be the same choice."""
        with self._db.begin() as conn:
            stored: dict[str, str] = {
                str(found[0]): str(found[1])
                for found in conn.execute(
                    sa.select(self._table.c.id, self._table.c.sql_name).where(
                        self._table.c.id.in_(list(wanted))
                    )
                ).all()
            }
            for row_id, row in wanted.items():
                if row_id not in stored:
                    conn.execute(sa.insert(self._table), [row])
                elif stored[row_id] != row["sql_name"]:
                    msg = (
                        f"stream '{row['stream']}': another run recorded '{stored[row_id]}' "
                        f"for '{row['source']}' in {MAP_TABLE} while this one chose "
                        f"'{row['sql_name']}'; rerun, and the recorded name is used."
                    )
                    raise NameCollision(msg)
