"""Export entities to one file, workbook or SQLite database, through the project's own targets.

```python
from sdk_core import AutotaskClient
from tap_autotask.commands.exporter import Exporter

with AutotaskClient.from_env() as client:
    result = Exporter(client).add("Tickets", since="2026-10-01").include_related().to("q4.xlsx")
    print(result.summary())
```

Rows are read with the SDK, shaped exactly as the tap shapes them (UDFs as columns, times in
UTC), given a `<field>_label` column beside every picklist value, and streamed as Singer
messages into `target-files` or `target-sql` running as a process: the same writers as the
Meltano pipelines, not a second implementation. `include_related()` follows the catalog's
references one level from the added entities and exports only the rows they point at, plus a
`relationships` table (from_entity, field, to_entity); in SQLite those references become
foreign keys with indexes.
"""

from __future__ import annotations

import re
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sdk_core import Q, compile_filter
from sdk_core.catalog import EntityInfo, load_catalog
from sdk_core.errors import ConfigurationError

from ..metadata import LiveMetadata
from ..schema import RecordShaper, build_schema
from .destinations import EXPORT_FORMATS, for_export
from .singer_pipe import TargetProcess

__all__ = ["Exporter", "ExportResult", "RELATIONSHIPS"]

RELATIONSHIPS = "relationships"
ID_CHUNK = 500
_RELATIVE = re.compile(r"^(?P<n>\d+)(?P<unit>[hdw])$")
Progress = Callable[[str, int], None]


@dataclass
class _Part:
    entity: EntityInfo
    filter: list[Any]


@dataclass
class ExportResult:
    """What was written: rows per entity, references followed, requests spent."""

    path: Path
    format: str
    rows: dict[str, int] = field(default_factory=dict)
    related_rows: dict[str, int] = field(default_factory=dict)
    relationships: list[tuple[str, str, str]] = field(default_factory=list)
    requests: int = 0

    def summary(self) -> str:
        lines = [f"{self.path} ({self.format}):"]
        for name, n in self.rows.items():
            lines.append(f"  {name}: {n:,} rows")
        for name, n in self.related_rows.items():
            lines.append(f"  {name}: {n:,} related rows")
        if self.relationships:
            lines.append(f"  {len(self.relationships)} relationships")
        lines.append(f"  {self.requests:,} API requests")
        return "\n".join(lines)


def parse_when(text: str | date | datetime, *, end: bool = False) -> str:
    """An ISO date/time, or `90d` / `12h` / `2w` ago, as the UTC text Autotask filters take.

    An `until` given as a plain date means the end of that day (the filter uses `<` the next day).
    """
    if isinstance(text, datetime):
        moment = text if text.tzinfo else text.replace(tzinfo=UTC)
    elif isinstance(text, date):
        moment = datetime(text.year, text.month, text.day, tzinfo=UTC) + timedelta(days=1 if end else 0)
    else:
        relative = _RELATIVE.match(text.strip())
        if relative:
            hours = {"h": 1, "d": 24, "w": 168}[relative["unit"]] * int(relative["n"])
            moment = datetime.now(UTC) - timedelta(hours=hours)
        else:
            try:
                moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
            except ValueError:
                raise ConfigurationError(
                    f"{text!r} is not a date: use 2026-10-01, 2026-10-01T08:00:00Z or 90d / 12h / 2w ago"
                ) from None
            if len(text.strip()) == 10:
                moment = moment.replace(tzinfo=UTC) + timedelta(days=1 if end else 0)
            elif moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Exporter:
    """Collects what to export (`add`, `include_related`), then writes it (`to`)."""

    def __init__(self, client: Any, *, progress: Progress | None = None, log_dir: Path | None = None):
        self._client = client
        self._catalog = load_catalog()
        self._metadata = LiveMetadata(client)
        self._parts: list[_Part] = []
        self._related = False
        self._progress = progress or (lambda entity, rows: None)
        self._log_dir = log_dir

    def add(
        self,
        entity: str,
        *,
        since: Any = None,
        until: Any = None,
        where: Any = None,
        date_field: str | None = None,
    ) -> Exporter:
        """Rows of `entity`, optionally within [since, until] on its creation date (or `date_field`)
        and matching `where` (a Q expression, a dict or Autotask filter JSON)."""
        info = self._catalog.get(entity)
        if not info.queryable:
            raise ConfigurationError(f"{info.name} cannot be queried, so it cannot be exported")
        items: list[Any] = []
        if where is not None:
            items.extend(compile_filter(where, info))
        if since is not None or until is not None:
            column = date_field or info.creation_timestamp or info.modification_timestamp
            if column is None:
                raise ConfigurationError(
                    f"{info.name} has no date field for --since/--until; "
                    "name one with date_field= (--date-field)"
                )
            if since is not None:
                items.append((Q(column) >= parse_when(since)).to_dict())
            if until is not None:
                items.append((Q(column) < parse_when(until, end=True)).to_dict())
        self._parts.append(_Part(info, items))
        return self

    def include_related(self, enabled: bool = True) -> Exporter:
        """Also export the rows the added rows reference (one level), and a relationships table."""
        self._related = enabled
        return self

    def to(self, path: str | Path, format: str | None = None) -> ExportResult:
        """Write everything to `path` in `format` (default: from the suffix; a folder for csv,
        jsonl and parquet) and return what was written."""
        out = Path(path)
        fmt = (format or out.suffix.lstrip(".")).lower()
        if fmt in ("db", "sqlite3"):
            fmt = "sqlite"
        if fmt not in EXPORT_FORMATS:
            raise ConfigurationError(
                f"unknown export format {fmt!r}: choose one of {', '.join(EXPORT_FORMATS)}"
            )
        if not self._parts:
            raise ConfigurationError("nothing to export: add() at least one entity")
        result = ExportResult(out, fmt)
        started = self._client.request_count
        log_dir = Path(self._log_dir or tempfile.mkdtemp(prefix="autotask-export-"))
        target = TargetProcess(for_export(out, fmt), log_dir / "target.log")
        try:
            target.send(self._messages(fmt, result))
        except BaseException:
            target.kill()
            raise
        target.close()
        if fmt == "sqlite" and result.relationships:
            add_foreign_keys(out, result.relationships, self._stream_names(fmt))
        result.requests = self._client.request_count - started
        return result

    # messages ------------------------------------------------------------------------------
    def _stream_names(self, fmt: str) -> Callable[[EntityInfo], str]:
        # An xlsx sheet is named after the entity; files and tables after the tap's stream.
        return (lambda e: e.name) if fmt == "xlsx" else (lambda e: e.stream_name)

    def _messages(self, fmt: str, result: ExportResult) -> Iterator[dict[str, Any]]:
        name_of = self._stream_names(fmt)
        shapes: dict[str, _Shape] = {}
        exported: dict[str, set[int]] = {}
        wanted: dict[str, set[int]] = {}
        for part in self._parts:
            shape = shapes.get(part.entity.name) or shapes.setdefault(
                part.entity.name, _Shape(part.entity, self._metadata, name_of(part.entity))
            )
            if not shape.announced:
                yield shape.schema_message()
            ids = exported.setdefault(part.entity.name, set())
            n = 0
            for row in self._client.entity(part.entity.name).query(part.filter):
                record = shape(row)
                ids.add(record["id"])
                if self._related:
                    shape.collect_references(record, wanted)
                yield {"type": "RECORD", "stream": shape.stream, "record": record}
                n += 1
                if n % 500 == 0:
                    self._progress(part.entity.name, n)
            self._progress(part.entity.name, n)
            result.rows[part.entity.name] = result.rows.get(part.entity.name, 0) + n
        if not self._related:
            return
        for entity_name, ids in wanted.items():
            missing = sorted(ids - exported.get(entity_name, set()))
            if not missing:
                continue
            info = self._catalog.get(entity_name)
            shape = shapes.get(info.name) or shapes.setdefault(
                info.name, _Shape(info, self._metadata, name_of(info))
            )
            if not shape.announced:
                yield shape.schema_message()
            n = 0
            for start in range(0, len(missing), ID_CHUNK):
                chunk = missing[start : start + ID_CHUNK]
                for row in self._client.entity(info.name).query(Q("id").in_(chunk)):
                    yield {"type": "RECORD", "stream": shape.stream, "record": shape(row)}
                    n += 1
                self._progress(info.name, n)
            result.related_rows[info.name] = n
        relations = sorted({rel for s in shapes.values() for rel in s.followed})
        result.relationships = relations
        yield {
            "type": "SCHEMA",
            "stream": RELATIONSHIPS,
            "key_properties": ["from_entity", "field"],
            "schema": {
                "type": "object",
                "properties": {
                    "from_entity": {"type": "string"},
                    "field": {"type": "string"},
                    "to_entity": {"type": "string"},
                    "from_table": {"type": "string"},
                    "to_table": {"type": "string"},
                },
            },
        }
        for from_entity, column, to_entity in relations:
            yield {
                "type": "RECORD",
                "stream": RELATIONSHIPS,
                "record": {
                    "from_entity": from_entity,
                    "field": column,
                    "to_entity": to_entity,
                    "from_table": name_of(self._catalog.get(from_entity)),
                    "to_table": name_of(self._catalog.get(to_entity)),
                },
            }


class _Shape:
    """Schema, record shaping and picklist labels of one exported entity."""

    def __init__(self, entity: EntityInfo, metadata: LiveMetadata, stream: str):
        self.entity = entity
        self.stream = stream
        self.announced = False
        specs = [*metadata.fields(entity), *metadata.udfs(entity)]
        schema = build_schema(specs)
        self._shaper = RecordShaper(schema, specs, stream)
        self._labels: dict[str, tuple[str, dict[str, Any]]] = {}
        props: dict[str, Any] = {}
        for name, prop in schema["properties"].items():
            props[name] = prop
            picklist = prop.get("x-autotask-picklist")
            if picklist:  # the label sits right beside its value
                label = f"{name}_label"
                props[label] = {"type": ["string", "null"], "title": f"{prop.get('title', name)} (label)"}
                self._labels[name] = (label, {str(v["value"]): v.get("label") for v in picklist["values"]})
        schema["properties"] = props
        catalog = load_catalog()
        self._references: dict[str, str] = {}
        for name, prop in props.items():
            ref = (prop.get("x-autotask-reference") or {}).get("entity")
            known = entity.field(name)
            target = catalog.find(known.reference) if known and known.reference else None
            target = target or (catalog.find(ref) if ref else None)
            if target is not None and target.queryable and target.name != entity.name:
                self._references[name] = target.name
        self.followed: set[tuple[str, str, str]] = set()
        self.schema = schema

    def schema_message(self) -> dict[str, Any]:
        self.announced = True
        return {"type": "SCHEMA", "stream": self.stream, "schema": self.schema, "key_properties": ["id"]}

    def __call__(self, row: dict[str, Any]) -> dict[str, Any]:
        record = self._shaper(row)
        for name, (label, values) in self._labels.items():
            value = record.get(name)
            record[label] = None if value is None else values.get(str(value))
        return record

    def collect_references(self, record: dict[str, Any], wanted: dict[str, set[int]]) -> None:
        for column, target in self._references.items():
            value = record.get(column)
            if isinstance(value, int):
                wanted.setdefault(target, set()).add(value)
                self.followed.add((self.entity.name, column, target))


def add_foreign_keys(
    path: Path, relationships: list[tuple[str, str, str]], name_of: Callable[[EntityInfo], str]
) -> None:
    """Rebuild each SQLite table that references another exported table with FOREIGN KEY clauses
    (SQLite cannot add one to an existing table), keeping its rows and indexes."""
    catalog = load_catalog()
    conn = sqlite3.connect(path)
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        by_table: dict[str, list[tuple[str, str]]] = {}
        for from_entity, column, to_entity in relationships:
            source, target = name_of(catalog.get(from_entity)), name_of(catalog.get(to_entity))
            if source in tables and target in tables:
                by_table.setdefault(source, []).append((column, target))
        conn.execute("PRAGMA foreign_keys=OFF")
        for table, refs in by_table.items():
            _rebuild_with_keys(conn, table, refs)
        conn.commit()
    finally:
        conn.close()


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _rebuild_with_keys(conn: sqlite3.Connection, table: str, refs: list[tuple[str, str]]) -> None:
    (ddl,) = conn.execute("SELECT sql FROM sqlite_master WHERE type='table' AND name=?", (table,)).fetchone()
    columns = {r[1].lower(): r[1] for r in conn.execute(f"PRAGMA table_info({_quote(table)})")}
    clauses = [
        f"FOREIGN KEY ({_quote(columns[c.lower()])}) REFERENCES {_quote(t)} (id)"
        for c, t in refs
        if c.lower() in columns
    ]
    if not clauses:
        return
    indexes = [
        r[0]
        for r in conn.execute(
            "SELECT sql FROM sqlite_master WHERE type='index' AND tbl_name=? AND sql IS NOT NULL", (table,)
        )
    ]
    temp = f"{table}__with_keys"
    body = ddl[ddl.index("(") + 1 : ddl.rindex(")")]
    conn.execute(f"CREATE TABLE {_quote(temp)} ({body}, {', '.join(clauses)})")
    conn.execute(f"INSERT INTO {_quote(temp)} SELECT * FROM {_quote(table)}")
    conn.execute(f"DROP TABLE {_quote(table)}")
    conn.execute(f"ALTER TABLE {_quote(temp)} RENAME TO {_quote(table)}")
    for sql in indexes:
        conn.execute(sql)
    indexed = {
        info[2].lower()
        for (_, index_name, *_rest) in conn.execute(f"PRAGMA index_list({_quote(table)})")
        for info in conn.execute(f"PRAGMA index_info({_quote(index_name)})")
        if info[0] == 0
    }
    for column, _ in refs:
        real = columns.get(column.lower())
        if real and real.lower() not in indexed:
            conn.execute(f"CREATE INDEX {_quote(f'ix_{table}_{real}')} ON {_quote(table)} ({_quote(real)})")
            indexed.add(real.lower())
