"""SQLite storage of a tenant: one table per catalog entity, and filters translated to SQL.

Every entity gets a table named by its URL name with one column per catalog field (camelCase
names, `id INTEGER PRIMARY KEY`) plus `_udfs` (a JSON object name -> typed value) where the
entity has user-defined fields. Tenant metadata lives in `_meta`, `_picklists` and `_udf_defs`.
Filter values are always bound parameters; only catalog-checked column names reach SQL text.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from sdk_core.catalog import Catalog, EntityInfo

from .errors import ApiError, unknown_field
from .values import INTEGER_TYPES, to_storage, udf_to_storage

SQL_TYPES = {
    "integer": "INTEGER",
    "long": "INTEGER",
    "short": "INTEGER",
    "boolean": "INTEGER",
    "double": "REAL",
    "datetime": "TEXT",
    "string": "TEXT",
    "byte[]": "TEXT",
}
MAX_OR_CONDITIONS = 500
NARROW = 20000  # see Storage._narrow_index
OPS = (
    "eq",
    "noteq",
    "gt",
    "gte",
    "lt",
    "lte",
    "beginswith",
    "endswith",
    "contains",
    "exist",
    "notexist",
    "in",
    "notin",
    "and",
    "or",
)
_COMPARE = {"eq": "=", "noteq": "!=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}

META_SCHEMA = """
CREATE TABLE IF NOT EXISTS _meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS _picklists (
    entity TEXT NOT NULL, field TEXT NOT NULL, is_udf INTEGER NOT NULL DEFAULT 0,
    value TEXT NOT NULL, label TEXT NOT NULL, is_default INTEGER NOT NULL DEFAULT 0,
    sort_order INTEGER NOT NULL, parent_value TEXT NOT NULL DEFAULT '',
    is_active INTEGER NOT NULL DEFAULT 1, is_system INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS _udf_defs (
    entity TEXT NOT NULL, name TEXT NOT NULL, label TEXT NOT NULL, type TEXT NOT NULL,
    length INTEGER NOT NULL, description TEXT, is_required INTEGER NOT NULL DEFAULT 0,
    is_picklist INTEGER NOT NULL DEFAULT 0, sort_order INTEGER NOT NULL);
"""


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def sql_text(value: str) -> str:
    """A catalog name as an SQL string literal (names are identifiers; checked, not trusted)."""
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
        raise ValueError(f"unexpected field name {value!r}")
    return f"'{value}'"


@dataclass
class Table:
    """How one entity's rows are stored and rendered as Autotask JSON items."""

    entity: EntityInfo
    columns: list[str]
    types: dict[str, str]
    has_udfs: bool
    bool_columns: list[str] = field(default_factory=list)
    datetime_columns: list[str] = field(default_factory=list)
    by_id_only: list[str] = field(default_factory=list)  # null in query results (attachment data)

    @property
    def name(self) -> str:
        return self.entity.name

    @property
    def select_list(self) -> str:
        cols = [quote(c) for c in self.columns]
        if self.has_udfs:
            cols.append('"_udfs"')
        return ", ".join(cols)


def table_for(entity: EntityInfo) -> Table:
    columns: list[str] = []
    types: dict[str, str] = {}
    for f in entity.fields:
        columns.append(f.name)
        types[f.name] = f.data_type
    if "id" not in types:
        columns.insert(0, "id")
        types["id"] = "long"
    return Table(
        entity=entity,
        columns=columns,
        types=types,
        has_udfs=entity.has_udfs,
        bool_columns=[c for c in columns if types[c] == "boolean"],
        datetime_columns=[c for c in columns if types[c] == "datetime"],
        by_id_only=["data"] if entity.name.endswith("Attachments") and "data" in types else [],
    )


def tables_for(catalog: Catalog) -> dict[str, Table]:
    """Every entity's table description by lower-case URL name (no SQL run)."""
    return {entity.name.lower(): table_for(entity) for entity in catalog}


def create_schema(conn: sqlite3.Connection, catalog: Catalog) -> dict[str, Table]:
    """Create every entity table (idempotent) and return them by lower-case URL name."""
    conn.executescript(META_SCHEMA)
    tables: dict[str, Table] = {}
    for entity in catalog:
        table = table_for(entity)
        cols = []
        for c in table.columns:
            sql_type = SQL_TYPES.get(table.types[c], "TEXT")
            cols.append(f"{quote(c)} INTEGER PRIMARY KEY" if c == "id" else f"{quote(c)} {sql_type}")
        if table.has_udfs:
            cols.append('"_udfs" TEXT')
        cols.append('"_json" TEXT')
        conn.execute(f"CREATE TABLE IF NOT EXISTS {quote(entity.name)} ({', '.join(cols)})")
        tables[entity.name.lower()] = table
    return tables


def item_expression(
    table: Table,
    udf_names: Sequence[str],
    fields: Sequence[str] | None = None,
    udfs: Sequence[str] | None = None,
    datetime_z: bool = False,
) -> tuple[str, list[Any]]:
    """SQL rendering a row as the API's item JSON text (every field, null when empty).

    SQLite builds the JSON (json_object in chunks, as functions take at most 127 arguments),
    which is several times faster than making Python dicts of ~80 columns. Rows keep this text
    in `_json` (rendered at build time and after every write), so a plain page is a copy of
    stored text; `fields`/`udfs` (IncludeFields) and the `Z` datetime form render on the fly.
    """
    names = list(fields) if fields is not None else table.columns
    pairs: list[str] = []
    for name in names:
        kind = table.types[name]
        column = quote(name)
        if name in table.by_id_only:
            value = "NULL"
        elif kind == "boolean":
            value = f"json(CASE WHEN {column} IS NULL THEN 'null' WHEN {column} THEN 'true' ELSE 'false' END)"
        elif kind == "datetime" and datetime_z:
            value = f"{column} || 'Z'"
        else:
            value = column
        pairs.append(f"{sql_text(name)}, {value}")
    params: list[Any] = []
    if table.has_udfs:
        wanted = list(udf_names) if udfs is None else [d for d in udf_names if d in set(udfs)]
        entries = []
        for name in wanted:
            path = f'$."{name}"'
            entries.append(
                "json_object('name', ?, 'value', CASE json_type(\"_udfs\", ?) WHEN 'real' THEN "
                "printf('%.15g', json_extract(\"_udfs\", ?)) ELSE "
                'CAST(json_extract("_udfs", ?) AS TEXT) END)'
            )
            params += [name, path, path, path]
        pairs.append(f"'userDefinedFields', json_array({', '.join(entries)})")
    chunks = [f"json_object({', '.join(pairs[i : i + 60])})" for i in range(0, len(pairs), 60)]
    expr = chunks[0] if chunks else "'{}'"
    for chunk in chunks[1:]:
        expr = f"rtrim({expr}, '}}') || ',' || substr({chunk}, 2)"
    return expr, params


@dataclass(frozen=True)
class UdfDef:
    name: str
    label: str
    type: str
    length: int
    description: str | None
    is_required: bool
    is_picklist: bool


class FilterCompiler:
    """Translates an Autotask filter (a list of conditions, ANDed) into SQL with parameters."""

    def __init__(self, table: Table, udfs: dict[str, UdfDef]):
        self.table = table
        self.udfs = udfs
        self.params: list[Any] = []
        self.or_count = 0
        self.udf_count = 0
        # top-level (ANDed) lower bounds and equalities: (column, value), for index choice
        self.bounds: list[tuple[str, Any]] = []

    def compile(self, conditions: Any) -> tuple[str, list[Any]]:
        if not isinstance(conditions, list) or not conditions:
            raise ApiError(500, "Query filter is required: send at least one condition in 'filter'.")
        sql = self._group(conditions, "AND")
        for raw in conditions:
            cond = {str(k).lower(): v for k, v in raw.items()}
            info = self.table.entity.field(str(cond.get("field", "")))
            if (
                info is not None
                and not cond.get("udf")
                and info.data_type != "string"
                and str(cond.get("op", "")).lower() in ("gt", "gte", "eq")
            ):
                self.bounds.append((info.name, self._value(cond.get("value"), info.data_type, info.name)))
        if self.or_count > MAX_OR_CONDITIONS:
            raise ApiError(500, "Invalid query syntax. Queries are limited to 500 or fewer 'OR' conditions.")
        if self.udf_count > 1:
            raise ApiError(500, "Only one user-defined field may be used in a query filter.")
        return sql, self.params

    def _group(self, items: Any, joiner: str) -> str:
        if not isinstance(items, list) or not items:
            raise ApiError(500, f"The '{joiner.lower()}' condition requires a non-empty 'items' list.")
        if joiner == "OR":
            self.or_count += len(items)
        return "(" + f" {joiner} ".join(self._condition(item) for item in items) + ")"

    def _condition(self, raw: Any) -> str:
        if not isinstance(raw, dict):
            raise ApiError(500, f"Invalid filter condition: {json.dumps(raw)[:200]}")
        cond = {str(k).lower(): v for k, v in raw.items()}
        op = str(cond.get("op", "")).lower()
        if op not in OPS:
            raise ApiError(
                500,
                f"Invalid filter operator '{cond.get('op')}'. Use one of: "
                "eq, noteq, gt, gte, lt, lte, beginsWith, endsWith, contains, "
                "exist, notExist, in, notIn, and, or.",
            )
        if op in ("and", "or"):
            return self._group(cond.get("items"), op.upper())
        column, data_type = self._column(cond.get("field"), bool(cond.get("udf")))
        if op == "exist":
            return f"{column} IS NOT NULL"
        if op == "notexist":
            return f"{column} IS NULL"
        is_text = data_type in ("string", "byte[]")
        collate = " COLLATE NOCASE" if is_text else ""
        value = cond.get("value")
        if op in ("in", "notin"):
            if not isinstance(value, list):
                raise ApiError(500, f"The '{cond.get('op')}' operator requires a list of values.")
            if not value:
                return "0" if op == "in" else "1"
            values = [self._value(v, data_type, cond["field"]) for v in value]
            self.params.extend(values)
            marks = ", ".join("?" * len(values))
            return f"{column}{collate} {'IN' if op == 'in' else 'NOT IN'} ({marks})"
        if op in _COMPARE:
            self.params.append(self._value(value, data_type, cond["field"]))
            return f"{column}{collate} {_COMPARE[op]} ?"
        text = "" if value is None else str(value)
        escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = {"beginswith": f"{escaped}%", "endswith": f"%{escaped}", "contains": f"%{escaped}%"}[op]
        self.params.append(pattern)
        return f"{column} LIKE ? ESCAPE '\\'"

    def _column(self, name: Any, udf: bool) -> tuple[str, str]:
        model = self.table.entity.model or ""
        internal = (
            model[:-5]
            if model.endswith("Model")
            else (self.table.entity.internal_name or self.table.entity.name)
        )
        if not isinstance(name, str) or not name:
            raise ApiError(500, "Every filter condition needs a 'field'.")
        if udf:
            definition = self.udfs.get(name.lower())
            if definition is None:
                raise unknown_field(name, internal)
            self.udf_count += 1
            self.params.append(f'$."{definition.name}"')
            kind = {"double": "double", "integer": "integer", "datetime": "datetime"}
            return 'json_extract("_udfs", ?)', kind.get(definition.type, "string")
        info = self.table.entity.field(name)
        if info is None and name.lower() == "id":
            return '"id"', "long"
        if info is None:
            raise unknown_field(name, internal)
        return quote(info.name), info.data_type

    def _value(self, value: Any, data_type: str, field_name: str) -> Any:
        if data_type in ("string", "byte[]"):
            return None if value is None else str(value)
        if data_type == "boolean" and value is None:
            # Reference 4.3: a boolean takes true or false; anything else, null included, is an
            # error (not "no rows"). `exist`/`notExist` are the way to ask for null.
            raise ApiError(
                500,
                f"Value null is not valid for field {field_name} of type "
                "boolean: use true or false (exist/notExist test for null).",
            )
        return to_storage(value, data_type, field_name)


class Storage:
    """One SQLite connection over a tenant file.

    The backend keeps one writable Storage (writes serialised by its lock) and one `readonly`
    Storage per reading thread: WAL lets those read concurrently with each other and the writer.
    """

    def __init__(
        self, path: str | Path, catalog: Catalog, *, datetime_z: bool = False, readonly: bool = False
    ):
        self.path = Path(path)
        self.catalog = catalog
        self.datetime_z = datetime_z
        if readonly:
            self.conn = sqlite3.connect(
                f"{self.path.resolve().as_uri()}?mode=ro",
                uri=True,
                isolation_level=None,
                check_same_thread=False,
            )
            self.conn.execute("PRAGMA query_only=1")
        else:
            self.conn = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False)
            # An emulator needs no durability: no fsync, which can stall for seconds on a busy disk.
            self.conn.execute("PRAGMA synchronous=OFF")
            self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute(f"PRAGMA cache_size={-8192 if readonly else -32768}")
        self.conn.execute("PRAGMA mmap_size=0")  # file pages must not count as server RSS
        self.tables = tables_for(catalog) if readonly else create_schema(self.conn, catalog)
        self._udf_cache: dict[str, dict[str, UdfDef]] = {}
        self._item_sql: dict[Any, tuple[str, list[Any]]] = {}
        self.indexes: dict[str, dict[str, str]] = {}
        for index, table_name in self.conn.execute(
            "SELECT name, tbl_name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
        ):
            columns = [r[2] for r in self.conn.execute(f"PRAGMA index_info({quote(index)})")]
            if len(columns) == 1:
                self.indexes.setdefault(table_name, {})[columns[0]] = index

    def close(self) -> None:
        self.conn.close()

    def table(self, entity: str) -> Table:
        return self.tables[self.catalog.get(entity).name.lower()]

    # -- metadata ---------------------------------------------------------------------------
    def meta(self, key: str, default: str | None = None) -> str | None:
        row = self.conn.execute("SELECT value FROM _meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def udf_defs(self, entity: str) -> dict[str, UdfDef]:
        """UDF definitions of an entity by lower-case name, in definition order."""
        name = self.catalog.get(entity).name
        if name not in self._udf_cache:
            rows = self.conn.execute(
                "SELECT name, label, type, length, description, is_required, is_picklist "
                "FROM _udf_defs WHERE entity = ? ORDER BY sort_order",
                (name,),
            ).fetchall()
            self._udf_cache[name] = {
                r[0].lower(): UdfDef(r[0], r[1], r[2], r[3], r[4], bool(r[5]), bool(r[6])) for r in rows
            }
        return self._udf_cache[name]

    def add_udf_def(self, entity: str, definition: UdfDef) -> None:
        """Define one more UDF on an entity (its rows hold null for it until written)."""
        name = self.catalog.get(entity).name
        order = self.conn.execute(
            "SELECT coalesce(max(sort_order), -1) + 1 FROM _udf_defs WHERE entity = ?", (name,)
        ).fetchone()[0]
        d = definition
        self.conn.execute(
            "INSERT INTO _udf_defs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                name,
                d.name,
                d.label,
                d.type,
                d.length,
                d.description,
                int(d.is_required),
                int(d.is_picklist),
                order,
            ),
        )
        self._udf_cache.pop(name, None)
        self._item_sql.clear()
        table = self.table(name)
        udf_names = [u.name for u in self.udf_defs(name).values()]
        expr, params = item_expression(table, udf_names)  # every row shows the new UDF as null
        self.conn.execute(
            f'UPDATE {quote(table.name)} SET "_json" = {expr} WHERE "_json" IS NOT NULL', params
        )

    def picklists(self, entity: str, *, udf: bool = False) -> dict[str, list[dict[str, Any]]]:
        """Picklist values per field (camelCase field name or UDF name), as the API shows them."""
        rows = self.conn.execute(
            "SELECT field, value, label, is_default, sort_order, parent_value, is_active, is_system "
            "FROM _picklists WHERE entity = ? AND is_udf = ? ORDER BY field, sort_order, rowid",
            (self.catalog.get(entity).name, int(udf)),
        ).fetchall()
        out: dict[str, list[dict[str, Any]]] = {}
        for f, value, label, default, order, parent, active, system in rows:
            out.setdefault(f, []).append(
                {
                    "value": value,
                    "label": label,
                    "isDefaultValue": bool(default),
                    "sortOrder": order,
                    "parentValue": parent,
                    "isActive": bool(active),
                    "isSystem": bool(system),
                }
            )
        return out

    # -- reads ------------------------------------------------------------------------------
    def item_sql(
        self, table: Table, fields: Sequence[str] | None = None, udfs: Sequence[str] | None = None
    ) -> tuple[str, list[Any]]:
        """SQL rendering a row's item JSON; the stored `_json` when no projection applies."""
        key = (
            table.name,
            tuple(fields) if fields is not None else None,
            tuple(udfs) if udfs is not None else None,
        )
        cached = self._item_sql.get(key)
        if cached is None:
            udf_names = [d.name for d in self.udf_defs(table.name).values()]
            expr, params = item_expression(table, udf_names, fields, udfs, self.datetime_z)
            if fields is None and udfs is None and not self.datetime_z:
                expr = f'coalesce("_json", {expr})'
            cached = self._item_sql[key] = (expr, params)
        return cached

    def refresh_json(self, table: Table, id_: int) -> None:
        """Re-render the stored item JSON of one row after a write."""
        udf_names = [d.name for d in self.udf_defs(table.name).values()]
        expr, params = item_expression(table, udf_names)
        self.conn.execute(f'UPDATE {quote(table.name)} SET "_json" = {expr} WHERE "id" = ?', (*params, id_))

    def where(self, table: Table, conditions: Any) -> tuple[str, list[Any]]:
        sql, params, _bounds = self.plan(table, conditions)
        return sql, params

    def plan(self, table: Table, conditions: Any) -> tuple[str, list[Any], list[tuple[str, Any]]]:
        """(SQL, parameters, top-level bounds) of a filter."""
        compiler = FilterCompiler(table, self.udf_defs(table.name))
        sql, params = compiler.compile(conditions)
        return sql, params, compiler.bounds

    def _narrow_index(self, table: Table, bounds: Sequence[tuple[str, Any]]) -> str | None:
        """An index that narrows the filter to few rows (a recent `lastActivityDate >= ...`).

        SQLite walks the id order for `ORDER BY id LIMIT n`, which scans the whole table when
        the matches are all at the end; when an indexed bound matches at most NARROW rows, the
        page's ids are taken from that index instead (sorting at most NARROW ids).
        """
        for column, value in bounds:
            index = self.indexes.get(table.name, {}).get(column)
            if index is None or value is None:
                continue
            hits = self.conn.execute(
                f"SELECT count(*) FROM (SELECT 1 FROM {quote(table.name)} INDEXED BY {quote(index)} "
                f"WHERE {quote(column)} >= ? LIMIT {NARROW + 1})",
                (value,),
            ).fetchone()[0]
            if hits <= NARROW:
                return index
        return None

    def select(
        self,
        table: Table,
        where: str,
        params: Sequence[Any],
        *,
        after_id: int | None = None,
        before_id: int | None = None,
        limit: int | None = None,
        fields: Sequence[str] | None = None,
        udfs: Sequence[str] | None = None,
        bounds: Sequence[tuple[str, Any]] = (),
    ) -> list[tuple[int, str]]:
        """(id, item JSON) of rows matching `where`, ascending id, after/before an id cursor."""
        item, item_params = self.item_sql(table, fields, udfs)
        clauses, args = [where], [*item_params, *params]
        if after_id is not None:
            clauses.append('"id" > ?')
            args.append(after_id)
        if before_id is not None:
            clauses.append('"id" < ?')
            args.append(before_id)
        order = "DESC" if before_id is not None else "ASC"
        index = self._narrow_index(table, bounds) if bounds and limit is not None else None
        if index is not None:
            inner = (
                f'SELECT "id" FROM {quote(table.name)} INDEXED BY {quote(index)} '
                f'WHERE {" AND ".join(clauses)} ORDER BY "id" {order} LIMIT ?'
            )
            sql = (
                f'SELECT "id", {item} FROM {quote(table.name)} WHERE "id" IN ({inner}) ORDER BY "id" {order}'
            )
            rows = self.conn.execute(sql, [*item_params, *args[len(item_params) :], limit]).fetchall()
            return rows[::-1] if before_id is not None else rows
        sql = (
            f'SELECT "id", {item} FROM {quote(table.name)} WHERE {" AND ".join(clauses)} '
            f'ORDER BY "id" {order}'
        )
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        rows = self.conn.execute(sql, args).fetchall()
        return rows[::-1] if before_id is not None else rows

    def count(self, table: Table, where: str, params: Sequence[Any]) -> int:
        sql = f"SELECT COUNT(*) FROM {quote(table.name)} WHERE {where}"
        return self.conn.execute(sql, list(params)).fetchone()[0]

    def get_item(self, table: Table, id_: int) -> dict[str, Any] | None:
        item, params = self.item_sql(table)
        extra = "".join(f", {quote(c)}" for c in table.by_id_only)
        row = self.conn.execute(
            f'SELECT {item}{extra} FROM {quote(table.name)} WHERE "id" = ?', (*params, id_)
        ).fetchone()
        if not row:
            return None
        found = orjson.loads(row[0])
        found.update(zip(table.by_id_only, row[1:]))
        return found

    def get_row(self, table: Table, id_: int) -> tuple[Any, ...] | None:
        """The stored columns of a row (storage form)."""
        sql = f'SELECT {table.select_list} FROM {quote(table.name)} WHERE "id" = ?'
        return self.conn.execute(sql, (id_,)).fetchone()

    def exists(self, entity: str, id_: int) -> bool:
        table = self.table(entity)
        sql = f'SELECT 1 FROM {quote(table.name)} WHERE "id" = ?'
        return self.conn.execute(sql, (id_,)).fetchone() is not None

    # -- writes (the caller owns the transaction) -------------------------------------------
    def insert(self, table: Table, values: dict[str, Any], udfs: dict[str, Any] | None) -> int:
        cols = list(values)
        args = [values[c] for c in cols]
        if table.has_udfs:
            cols.append("_udfs")
            args.append(json.dumps(udfs or {}, sort_keys=True, ensure_ascii=False))
        sql = (
            f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in cols)}) "
            f"VALUES ({', '.join('?' * len(cols))})"
        )
        new_id = self.conn.execute(sql, args).lastrowid
        assert new_id is not None  # sqlite3 sets it after every INSERT
        self.refresh_json(table, new_id)
        return new_id

    def update(self, table: Table, id_: int, values: dict[str, Any], udfs: dict[str, Any] | None) -> None:
        sets = [f"{quote(c)} = ?" for c in values]
        args = list(values.values())
        if table.has_udfs and udfs is not None:
            sets.append('"_udfs" = ?')
            args.append(json.dumps(udfs, sort_keys=True, ensure_ascii=False))
        if not sets:
            return
        args.append(id_)
        self.conn.execute(f'UPDATE {quote(table.name)} SET {", ".join(sets)} WHERE "id" = ?', args)
        self.refresh_json(table, id_)

    def delete(self, table: Table, id_: int) -> int:
        cur = self.conn.execute(f'DELETE FROM {quote(table.name)} WHERE "id" = ?', (id_,))
        return cur.rowcount

    def stored_udfs(self, table: Table, id_: int) -> dict[str, Any]:
        row = self.conn.execute(f'SELECT "_udfs" FROM {quote(table.name)} WHERE "id" = ?', (id_,)).fetchone()
        return json.loads(row[0]) if row and row[0] else {}

    def ids(self, entity: str) -> tuple[int, int, int]:
        """(min id, max id, count) of an entity's table."""
        table = self.table(entity)
        row = self.conn.execute(f'SELECT MIN("id"), MAX("id"), COUNT(*) FROM {quote(table.name)}').fetchone()
        return row[0], row[1], row[2]

    def id_at_or_after(self, entity: str, id_: int) -> int | None:
        table = self.table(entity)
        row = self.conn.execute(
            f'SELECT "id" FROM {quote(table.name)} WHERE "id" >= ? ORDER BY "id" LIMIT 1', (id_,)
        ).fetchone()
        return row[0] if row else None


def coerce_udfs(defs: dict[str, UdfDef], entries: Iterable[Any], internal: str) -> dict[str, Any]:
    """`[{"name", "value"}]` from a request, keyed by the definition's exact name, typed."""
    out: dict[str, Any] = {}
    for entry in entries:
        if not isinstance(entry, dict):
            raise ApiError(500, 'userDefinedFields must be a list of {"name", "value"} objects.')
        low = {str(k).lower(): v for k, v in entry.items()}
        name = str(low.get("name", ""))
        definition = defs.get(name.lower())
        if definition is None:
            raise unknown_field(name, internal)
        out[definition.name] = udf_to_storage(low.get("value"), definition.type, definition.name)
    return out


__all__ = ["Storage", "Table", "FilterCompiler", "UdfDef", "create_schema", "coerce_udfs", "INTEGER_TYPES"]
