"""Opt-in extras from schema annotations: indexes on references, picklist labels.

Taps may annotate a property with ``x-autotask-reference`` (``{"entity", "field"}``)
or ``x-autotask-picklist`` (``{"values": [{"value", "label", "active",
"parent_value"}]}``); any tap may use the same keys. Other targets ignore them.

* ``index_reference_columns``: an index on every reference column, which is what
  joins between streams need. No foreign keys: Singer streams arrive in any
  order and are often selected partially, so a constraint would refuse rows.
* ``picklist_label_views``: the labels go to a ``picklist_labels`` table (one
  row per stream table, field and value) and a view ``<table>_labeled`` shows
  every column plus ``<field>_label`` next to each picklist code.
"""

from __future__ import annotations

import logging
import typing as t
import zlib

import sqlalchemy as sa

from target_adapters.sql import identifiers

if t.TYPE_CHECKING:
    from singer_sdk.sql.connector import FullyQualifiedName

    from target_adapters.sql.connector import SQLTargetConnector

REFERENCE = "x-autotask-reference"
PICKLIST = "x-autotask-picklist"
LABELS_TABLE = "picklist_labels"
logger = logging.getLogger(__name__)


def labeled_view(dialect_name: str, table_name: str) -> str:
    """The name of a table's labeled view."""
    return identifiers.with_suffix(dialect_name, table_name, "_labeled")


def reference_columns(schema: dict) -> list[str]:
    """Properties annotated as references to another entity."""
    return [n for n, p in (schema.get("properties") or {}).items() if (p or {}).get(REFERENCE)]


def picklists(schema: dict) -> dict[str, list[dict]]:
    """Picklist values by property."""
    found: dict[str, list[dict]] = {}
    for name, prop in (schema.get("properties") or {}).items():
        values = ((prop or {}).get(PICKLIST) or {}).get("values")
        if values:
            found[name] = values
    return found


def index_references(connector: SQLTargetConnector, table: FullyQualifiedName, schema: dict) -> None:
    """Create the missing indexes on reference columns."""
    columns = reference_columns(schema)
    if not columns:
        return
    existing = {
        tuple(ix["column_names"])
        for ix in sa.inspect(connector.engine).get_indexes(table.table, schema=table.schema)
    }
    target = sa.Table(table.table, sa.MetaData(), *(sa.Column(c) for c in columns), schema=table.schema)
    for column in columns:
        if (column,) in existing:
            continue
        suffix = f"_{zlib.crc32(column.encode()):08x}"
        name = identifiers.with_suffix(connector.dialect_name, f"ix_{table.table}", suffix)
        sa.Index(name, target.c[column]).create(connector.engine)


def _labels_table(schema_name: str | None) -> sa.Table:
    return sa.Table(
        LABELS_TABLE,
        sa.MetaData(),
        sa.Column("table_name", sa.String(128), primary_key=True),
        sa.Column("field", sa.String(128), primary_key=True),
        sa.Column("value", sa.String(128), primary_key=True),
        sa.Column("label", sa.Text),
        sa.Column("active", sa.Boolean),
        sa.Column("parent_value", sa.String(128)),
        schema=schema_name,
    )


def label_picklists(connector: SQLTargetConnector, table: FullyQualifiedName, schema: dict) -> None:
    """Refresh this table's rows of ``picklist_labels`` and recreate its labeled view."""
    lists = picklists(schema)
    if not lists:
        return
    names = [table.table, table.schema or "", *lists]
    if any("%" in name for name in names):
        logger.warning("No labeled view for %s: a name holds '%%'", table)
        return
    labels = _labels_table(table.schema)
    rows = [
        {
            "table_name": table.table,
            "field": field,
            "value": str(v.get("value")),
            "label": v.get("label"),
            "active": v.get("active"),
            "parent_value": None if v.get("parent_value") is None else str(v["parent_value"]),
        }
        for field, values in lists.items()
        for v in values
    ]
    source = sa.Table(
        table.table,
        sa.MetaData(),
        schema=table.schema,
        autoload_with=connector.engine,
    )
    view = labeled_view(connector.dialect_name, table.table)
    quote = identifiers.quote
    dialect = connector.engine.dialect
    qualified_view = ".".join(quote(dialect, p) for p in (table.schema, view) if p)
    selected: list[t.Any] = list(source.c)
    joined: t.Any = source
    taken = {c.name for c in source.c}
    for number, field in enumerate(lists):
        label = identifiers.with_suffix(connector.dialect_name, field, "_label")
        if field not in source.c or label in taken:
            continue
        alias = labels.alias(f"l{number}")
        joined = joined.outerjoin(
            alias,
            sa.and_(
                alias.c.table_name == sa.literal(table.table),
                alias.c.field == sa.literal(field),
                alias.c.value == sa.cast(source.c[field], sa.String(128)),
            ),
        )
        selected.append(alias.c.label.label(label))
        taken.add(label)
    query = sa.select(*selected).select_from(joined)
    compiled = str(query.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
    with connector.engine.begin() as conn:
        labels.create(conn, checkfirst=True)
        conn.execute(sa.delete(labels).where(labels.c.table_name == table.table))
        conn.execute(sa.insert(labels), rows)
        conn.exec_driver_sql(f"DROP VIEW IF EXISTS {qualified_view}")
        conn.exec_driver_sql(f"CREATE VIEW {qualified_view} AS {compiled}")
