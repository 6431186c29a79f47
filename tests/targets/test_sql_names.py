"""Stream and property names on each database: own tables, fitted names, stable across runs."""

from __future__ import annotations

import io
import json
import typing as t
import uuid

import pytest
import sqlalchemy as sa

from target_adapters.sql import TargetSQL
from target_adapters.sql.errors import NameCollision

from .conftest import SQL_URLS, SQLDestination


def schema(stream: str, properties: t.Iterable[str], **extra: dict) -> dict:
    props = {"id": {"type": "integer"}, **{p: {"type": ["string", "null"]} for p in properties}}
    return {
        "type": "SCHEMA",
        "stream": stream,
        "key_properties": ["id"],
        "schema": {"properties": {**props, **extra}},
    }


def record(stream: str, **fields: t.Any) -> dict:
    return {"type": "RECORD", "stream": stream, "record": fields}


def run(config: dict, messages: list[dict], **settings: t.Any) -> None:
    stream = io.BytesIO(b"".join(json.dumps(m).encode() + b"\n" for m in messages))
    TargetSQL(config={**config, **settings}).listen(stream)


def name_map(destination: SQLDestination) -> dict[tuple[str, str, str], str]:
    """(kind, stream, source) -> SQL name, as a user reads it from _sdc_name_map."""
    table = destination.table("_sdc_name_map")
    with destination.engine.connect() as conn:
        rows = conn.execute(sa.select(table.c.kind, table.c.stream, table.c.source, table.c.sql_name))
        return {(k, s, src): name for k, s, src, name in rows}


def values(destination: SQLDestination, stream: str, props: list[str]) -> dict[int, dict]:
    """Each row by id, as {property: value}, found through the recorded names."""
    names = name_map(destination)
    table = destination.table(names[("table", stream, stream)])
    columns = {p: table.c[names[("column", stream, p)]] for p in ["id", *props]}
    with destination.engine.connect() as conn:
        rows = conn.execute(sa.select(*columns.values())).all()
    return {row[0]: dict(zip(props, row[1:])) for row in rows}


# --- streams -> tables --------------------------------------------------------------------


def test_a_dash_in_a_stream_name_is_part_of_its_own_table(sql_destination: SQLDestination) -> None:
    messages = [
        schema("things", ["v"]),
        record("things", id=1, v="thing"),
        schema("other-things", ["v"]),
        record("other-things", id=1, v="other"),
    ]
    run(sql_destination.config, messages)
    assert sql_destination.rows("things", "v") == [("thing",)]
    assert sql_destination.rows("other-things", "v") == [("other",)]


def test_stream_named_after_another_schema_stays_in_the_connections_schema(
    sql_destination: SQLDestination,
) -> None:
    if sql_destination.dialect != "postgresql":
        pytest.skip("needs a second schema reachable from one connection (PostgreSQL)")
    mine, other = sql_destination.schema, f"tsql_other_{uuid.uuid4().hex[:8]}"
    with sql_destination.engine.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{mine}"')
        conn.exec_driver_sql(f'CREATE SCHEMA "{other}"')
        conn.exec_driver_sql(f'CREATE TABLE "{other}".rb_users (id bigint primary key, v text)')
        conn.exec_driver_sql(f"INSERT INTO \"{other}\".rb_users VALUES (1, 'not ours')")
    try:
        # No default_target_schema: the connection's search_path decides.
        url = f"{SQL_URLS['postgresql']}?options=-csearch_path%3D{mine}"
        stream = f"{other}-rb_users"
        run({"sqlalchemy_url": url}, [schema(stream, ["v"]), record(stream, id=1, v="ours")])
        with sql_destination.engine.connect() as conn:
            theirs = conn.exec_driver_sql(f'SELECT id, v FROM "{other}".rb_users').all()
        assert theirs == [(1, "not ours")]
        assert sql_destination.rows(stream, "v") == [("ours",)]
    finally:
        with sql_destination.engine.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{other}" CASCADE')


def test_schema_table_reading_only_when_turned_on(sql_destination: SQLDestination) -> None:
    setting = TargetSQL.config_jsonschema["properties"]["schema_from_stream_name"]
    assert setting["type"] in ("boolean", ["boolean", "null"]) and setting["default"] is False
    if sql_destination.dialect == "sqlite":
        pytest.skip("SQLite has no schemas")
    stream = f"{sql_destination.schema}-things"
    url = sql_destination.url
    run(
        {"sqlalchemy_url": url},
        [schema(stream, ["v"]), record(stream, id=1, v="split")],
        schema_from_stream_name=True,
    )
    assert sql_destination.rows("things", "v") == [("split",)]


def test_case_twins_are_refused_before_the_second_writes(sql_destination: SQLDestination) -> None:
    first = [schema("Foo", ["v"]), record("Foo", id=1, v="upper")]
    second = [schema("foo", ["v"]), record("foo", id=1, v="lower")]
    if sql_destination.dialect == "postgresql":  # quoted names are exact there: two tables
        run(sql_destination.config, first + second)
        assert sql_destination.rows("Foo", "v") == [("upper",)]
        assert sql_destination.rows("foo", "v") == [("lower",)]
        names = name_map(sql_destination)
        assert (names[("table", "Foo", "Foo")], names[("table", "foo", "foo")]) == ("Foo", "foo")
        return
    with pytest.raises(NameCollision, match="streams 'Foo' and 'foo'"):
        run(sql_destination.config, first + second)
    assert ("lower",) not in sql_destination.rows("Foo", "v")
    run(sql_destination.config, first)
    # A later run remembers which stream owns the table.
    with pytest.raises(NameCollision, match="streams 'Foo' and 'foo'"):
        run(sql_destination.config, second)
    assert sql_destination.rows("Foo", "v") == [("upper",)]


# --- properties -> columns ----------------------------------------------------------------

LONG = "a_property_name_far_longer_than_any_database_allows_for_a_column_" * 2
ODD = [
    LONG + "one",
    LONG + "two",  # the same first 63/64 characters as the one before
    "Foo",
    "foo",
    "we`ird",
    "order",
    "select",
    "tab\there",
    "émoji 🎉",
]


def test_odd_property_names_load_twice_and_evolve(sql_destination: SQLDestination) -> None:
    run(sql_destination.config, [schema("things", ODD), record("things", id=1, **{p: f"{p}/1" for p in ODD})])
    first_map = name_map(sql_destination)
    assert values(sql_destination, "things", ODD) == {1: {p: f"{p}/1" for p in ODD}}

    added = [*ODD, LONG + "three", "FOO"]
    run(
        sql_destination.config,
        [
            schema("things", added),
            record("things", id=1, **{p: f"{p}/2" for p in added}),
            record("things", id=2, **{p: f"{p}/3" for p in added}),
        ],
    )
    assert values(sql_destination, "things", added) == {
        1: {p: f"{p}/2" for p in added},
        2: {p: f"{p}/3" for p in added},
    }
    later_map = name_map(sql_destination)
    assert {k: later_map[k] for k in first_map} == first_map, "names never move"
    names = [later_map[("column", "things", p)] for p in added]
    limit = {"postgresql": 63, "mysql": 64}.get(sql_destination.dialect)
    if limit:
        assert max(len(n.encode()) if limit == 63 else len(n) for n in names) <= limit
    assert set(sql_destination.column_types("things")) >= set(names)


def test_picklist_view_with_a_backtick_property_survives_a_second_run(
    sql_destination: SQLDestination,
) -> None:
    picklist = {
        "type": ["integer", "null"],
        "x-autotask-picklist": {"values": [{"value": 1, "label": "New"}]},
    }
    messages = [schema("things", [], **{"st`atus": picklist}), record("things", id=1, **{"st`atus": 1})]
    for _ in range(2):
        run(sql_destination.config, messages, picklist_label_views=True)
    names = name_map(sql_destination)
    column = names[("column", "things", "st`atus")]
    view = sql_destination.table("things_labeled")
    with sql_destination.engine.connect() as conn:
        row = conn.execute(sa.select(view.c[column], view.c[f"{column}_label"])).one()
    assert tuple(row) == (1, "New")


def test_two_runs_recording_the_same_names_at_once_agree(sql_destination: SQLDestination) -> None:
    from target_adapters.sql.name_map import NameMap

    engine = sa.create_engine(sql_destination.url)
    if sql_destination.schema:
        with engine.begin() as conn:
            quoted = engine.dialect.identifier_preparer.quote(sql_destination.schema)
            conn.exec_driver_sql(f"CREATE SCHEMA {quoted}")
    try:
        first, second = NameMap(engine, sql_destination.schema), NameMap(engine, sql_destination.schema)
        second.table_for("warmup")  # both have read the (empty) map before either records
        first.table_for("other")
        props = ["id", LONG + "one", "Foo", "foo"]
        chosen = first.columns_for("things", first.table_for("things"), props, [])
        assert second.columns_for("things", second.table_for("things"), props, []) == chosen
        assert name_map(sql_destination)[("column", "things", LONG + "one")] == chosen[LONG + "one"]
    finally:
        engine.dispose()
