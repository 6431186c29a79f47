"""target-sql behaviour on each database: upserts, schema changes, deletes, failures."""

from __future__ import annotations

import decimal
import io
import json
import typing as t

import pytest
import sqlalchemy as sa
from singer_sdk.exceptions import MissingKeyPropertiesError

from target_adapters.sql import RecordRejected, TargetSQL

from .conftest import SQLDestination

SCHEMA = {
    "type": "SCHEMA",
    "stream": "tickets",
    "key_properties": ["id"],
    "schema": {
        "properties": {
            "id": {"type": "integer"},
            "title": {"type": ["string", "null"]},
            "hours": {"type": ["number", "null"]},
            "createDate": {"type": ["string", "null"], "format": "date-time"},
        }
    },
}


def record(id_: int, **fields: t.Any) -> dict:
    return {"type": "RECORD", "stream": "tickets", "record": {"id": id_, **fields}}


def state(value: int) -> dict:
    return {"type": "STATE", "value": {"bookmarks": {"tickets": {"position": value}}}}


def run(
    destination: SQLDestination,
    messages: list[dict],
    capsys: pytest.CaptureFixture | None = None,
    states: list[dict] | None = None,
    **settings: t.Any,
) -> None:
    """Run the target in-process; the STATE values it emits go to ``states``."""
    if capsys is not None:
        capsys.readouterr()
    stream = io.BytesIO(b"".join(json.dumps(m).encode() + b"\n" for m in messages))
    target = TargetSQL(config={**destination.config, **settings})
    try:
        target.listen(stream)
    finally:
        if capsys is not None and states is not None:
            emitted = capsys.readouterr().out
            states.extend(json.loads(line) for line in emitted.splitlines() if line)


def test_loading_the_same_stream_twice_leaves_no_duplicate(sql_destination: SQLDestination) -> None:
    first = [SCHEMA, record(1, title="a"), record(2, title="b"), record(3, title="c")]
    run(sql_destination, first)
    second = [SCHEMA, record(2, title="b2"), record(3, title="c"), record(4, title="d")]
    run(sql_destination, second)
    assert sql_destination.rows("tickets", "id", "title") == [
        (1, "a"),
        (2, "b2"),
        (3, "c"),
        (4, "d"),
    ]


def test_duplicates_inside_a_batch_resolve_to_the_last(sql_destination: SQLDestination) -> None:
    messages = [SCHEMA, record(1, title="first"), record(2, title="x"), record(1, title="last")]
    run(sql_destination, messages)
    assert sql_destination.rows("tickets", "id", "title") == [(1, "last"), (2, "x")]


def test_rows_spread_over_many_batches_all_land(sql_destination: SQLDestination) -> None:
    messages = [SCHEMA, *(record(i, hours=i / 4) for i in range(1, 58)), record(3, hours=99.5)]
    run(sql_destination, messages, batch_size_rows=10)
    rows = sql_destination.rows("tickets", "id", "hours")
    assert [r[0] for r in rows] == list(range(1, 58))
    assert decimal.Decimal(str(rows[2][1])) == decimal.Decimal("99.5")


def test_schema_change_mid_stream_adds_and_widens_without_losing_rows(
    sql_destination: SQLDestination,
) -> None:
    widened = json.loads(json.dumps(SCHEMA))
    props = widened["schema"]["properties"]
    props["hours"] = {"type": ["string", "null"]}  # number -> text
    props["priority"] = {"type": ["integer", "null"]}  # new column
    messages = [
        SCHEMA,
        record(1, title="a", hours=1.5),
        widened,
        record(2, title="b", hours="about two", priority=3),
    ]
    run(sql_destination, messages)
    rows = sql_destination.rows("tickets", "id", "hours", "priority")
    assert [(r[0], r[2]) for r in rows] == [(1, None), (2, 3)]
    assert float(rows[0][1]) == 1.5
    assert rows[1][1] == "about two"
    if sql_destination.dialect != "sqlite":  # SQLite columns take any value as they are
        assert isinstance(sql_destination.column_types("tickets")["hours"], sa.String)


def test_integer_column_widens_to_numeric(sql_destination: SQLDestination) -> None:
    as_number = json.loads(json.dumps(SCHEMA))
    as_number["schema"]["properties"]["id"] = {"type": "integer"}
    as_number["schema"]["properties"]["title"] = {"type": ["number", "null"]}
    first = json.loads(json.dumps(SCHEMA))
    first["schema"]["properties"]["title"] = {"type": ["integer", "null"]}
    run(sql_destination, [first, record(1, title=2**40)])
    run(sql_destination, [as_number, record(2, title=2.25)])
    values = [decimal.Decimal(str(v)) for (v,) in sql_destination.rows("tickets", "title")]
    assert values == [decimal.Decimal(2**40), decimal.Decimal("2.25")]


def test_bad_record_fails_its_batch_and_no_state_passes_it(
    sql_destination: SQLDestination, capsys: pytest.CaptureFixture
) -> None:
    messages = [
        SCHEMA,
        *(record(i, title=f"t{i}") for i in range(1, 4)),
        state(3),
        record(4, title="t4"),  # fills the second batch of 4 rows (state 3 travels with it)
        record(5, title="t5"),
        state(5),
        record(6, title="t6"),
        record(7, title="bad", hours="not a number"),
        state(7),
    ]
    states: list[dict] = []
    with pytest.raises(RecordRejected) as failure:
        run(sql_destination, messages, capsys, states, batch_size_rows=4)
    message = str(failure.value)
    assert "stream 'tickets'" in message
    assert "record #7" in message
    assert "'hours'" in message
    assert "'not a number'" in message
    assert states == [state(3)["value"]]
    assert [r[0] for r in sql_destination.rows("tickets", "id")] == [1, 2, 3, 4]


def test_state_after_a_full_batch_is_emitted_before_a_bad_record_fails(
    sql_destination: SQLDestination, capsys: pytest.CaptureFixture
) -> None:
    messages = [
        SCHEMA,
        record(1, title="t1"),
        state(1),
        record(2, title="t2"),  # fills the batch of 2; state 2 below covers it
        state(2),
        record(3, title="bad", hours="not a number"),
    ]
    states: list[dict] = []
    with pytest.raises(RecordRejected, match=r"stream 'tickets', record #3: field 'hours'"):
        run(sql_destination, messages, capsys, states, batch_size_rows=2)
    assert [r[0] for r in sql_destination.rows("tickets", "id")] == [1, 2]
    assert states == [state(2)["value"]]


@pytest.mark.parametrize("sql_destination", ["postgresql"], indirect=True)
def test_value_refused_by_the_database_names_the_record(sql_destination: SQLDestination) -> None:
    messages = [SCHEMA, record(1, createDate="2024-01-01T00:00:00Z"), record(2, createDate="2024-13-45")]
    with pytest.raises(RecordRejected) as failure:
        run(sql_destination, messages)
    assert "record {'id': 2}" in str(failure.value)
    assert "createDate" in str(failure.value)
    assert sql_destination.count("tickets") == 0  # the batch rolled back


def test_missing_key_property_is_refused(sql_destination: SQLDestination) -> None:
    with pytest.raises(MissingKeyPropertiesError, match="key property 'id'"):
        run(sql_destination, [SCHEMA, {"type": "RECORD", "stream": "tickets", "record": {"title": "x"}}])


def test_soft_delete_marks_and_hard_delete_removes(sql_destination: SQLDestination) -> None:
    deleted = "2024-05-01T10:00:00+00:00"
    messages = [SCHEMA, record(1, title="a"), record(2, title="b")]
    run(sql_destination, messages)
    run(sql_destination, [SCHEMA, record(2, title="b", _sdc_deleted_at=deleted)])
    rows = sql_destination.rows("tickets", "id", "_sdc_deleted_at")
    assert rows[0] == (1, None)
    assert rows[1][1] is not None
    run(sql_destination, [SCHEMA, record(1, title="a", _sdc_deleted_at=deleted)], hard_delete=True)
    assert [r[0] for r in sql_destination.rows("tickets", "id")] == [2]


def test_soft_deletion_record_keeps_the_other_columns(sql_destination: SQLDestination) -> None:
    schema = {
        **SCHEMA,
        "schema": {
            "properties": {
                "id": {"type": "integer"},
                "title": {"type": ["string", "null"]},
                "status": {"type": ["integer", "null"]},
                "companyID": {"type": ["integer", "null"]},
            }
        },
    }
    deleted = "2026-01-01T00:00:00Z"
    run(sql_destination, [schema, record(1, title="t", status=5, companyID=9)])
    run(
        sql_destination,
        [
            schema,
            record(1, _sdc_deleted_at=deleted, title="t"),  # row stored by an earlier run
            record(2, title="u", status=1, companyID=3),
            record(2, _sdc_deleted_at=deleted, title="u"),  # row buffered in this batch
            record(3, _sdc_deleted_at=deleted, title="v"),  # key never seen: inserted as is
        ],
    )
    rows = sql_destination.rows("tickets", "id", "title", "status", "companyID", "_sdc_deleted_at")
    assert [r[:4] for r in rows] == [(1, "t", 5, 9), (2, "u", 1, 3), (3, "v", None, None)]
    assert all(r[4] is not None for r in rows)
    run(sql_destination, [schema, record(1, title="back", status=6, companyID=9)])
    assert sql_destination.rows("tickets", "id", "title", "status", "_sdc_deleted_at")[0] == (
        1,
        "back",
        6,
        None,
    )
    run(sql_destination, [schema, record(1, _sdc_deleted_at=deleted)], hard_delete=True)
    assert [r[0] for r in sql_destination.rows("tickets", "id")] == [2, 3]


def test_activate_version_retires_rows_of_older_versions(sql_destination: SQLDestination) -> None:
    def versioned(id_: int, version: int) -> dict:
        return {**record(id_, title="v"), "version": version}

    activate = {"type": "ACTIVATE_VERSION", "stream": "tickets", "version": 2}
    run(sql_destination, [SCHEMA, versioned(1, 1), versioned(2, 1), versioned(3, 1)])
    run(sql_destination, [SCHEMA, versioned(1, 2), versioned(3, 2), activate])
    rows = sql_destination.rows("tickets", "id", "_sdc_deleted_at")
    assert [(i, d is not None) for i, d in rows] == [(1, False), (2, True), (3, False)]
    run(sql_destination, [SCHEMA, versioned(3, 3), {**activate, "version": 3}], hard_delete=True)
    assert [r[0] for r in sql_destination.rows("tickets", "id")] == [3]


def test_any_stream_or_property_name_is_quoted_safely(sql_destination: SQLDestination) -> None:
    odd = {
        "type": "SCHEMA",
        "stream": "Odd Stream%s",
        "key_properties": ["select"],
        "schema": {
            "properties": {
                "select": {"type": "integer"},
                'say "hi"': {"type": ["string", "null"]},
                "50% off": {"type": ["number", "null"]},
                "camelCase": {"type": ["boolean", "null"]},
            }
        },
    }
    row = {"select": 1, 'say "hi"': "hello; DROP TABLE x", "50% off": 0.5, "camelCase": True}
    messages = [odd, {"type": "RECORD", "stream": "Odd Stream%s", "record": row}]
    run(sql_destination, messages)
    run(sql_destination, messages)
    assert sql_destination.rows("Odd Stream%s", 'say "hi"', "camelCase", order_by="select") == [
        ("hello; DROP TABLE x", True)
    ]


def test_append_only_keeps_every_record(sql_destination: SQLDestination) -> None:
    messages = [SCHEMA, record(1, title="a"), record(1, title="b")]
    run(sql_destination, messages, load_method="append-only")
    run(sql_destination, messages, load_method="append")
    assert sql_destination.count("tickets") == 4


def test_overwrite_replaces_the_table_once_a_run(sql_destination: SQLDestination) -> None:
    run(sql_destination, [SCHEMA, record(1), record(2)])
    run(sql_destination, [SCHEMA, record(3), record(3, title="again")], load_method="overwrite")
    assert sql_destination.rows("tickets", "id", "title") == [(3, "again")]


def test_objects_arrays_and_dates_round_trip(sql_destination: SQLDestination) -> None:
    schema = json.loads(json.dumps(SCHEMA))
    schema["schema"]["properties"]["tags"] = {"type": ["array", "null"], "items": {"type": "string"}}
    schema["schema"]["properties"]["extra"] = {"type": ["object", "null"]}
    messages = [
        schema,
        record(1, tags=["a", "b"], extra={"k": 1}, createDate="2024-02-29T23:59:58.123456+02:00"),
    ]
    run(sql_destination, messages)
    ((tags, extra, created),) = sql_destination.rows("tickets", "tags", "extra", "createDate")
    as_json = (lambda v: v) if sql_destination.dialect == "postgresql" else json.loads
    assert as_json(tags) == ["a", "b"]
    assert as_json(extra) == {"k": 1}
    if isinstance(created, str):
        created = sa.types.DateTime().result_processor(sql_destination.engine.dialect, None)(created)
    assert created.replace(tzinfo=None).isoformat() == "2024-02-29T21:59:58.123456"


def test_awkward_text_round_trips(sql_destination: SQLDestination) -> None:
    schema = json.loads(json.dumps(SCHEMA))
    schema["schema"]["properties"]["extra"] = {"type": ["object", "null"]}
    awkward = 'tab\there\nnew line\r\\N back\\slash "quoted" \\. é 漢字 😀'
    nested = {"note": "a\tb\nc\\d", "list": [1, None, "x\u0000y"]}
    messages = [
        schema,
        record(1, title=awkward, extra=nested, hours=None),
        record(2, title="", extra=None, hours=1e-7),
        record(3, title="nul\u0000inside", hours=2**53),
    ]
    run(sql_destination, messages)
    rows = sql_destination.rows("tickets", "id", "title", "extra", "hours")
    as_json = (lambda v: v) if sql_destination.dialect == "postgresql" else json.loads
    assert rows[0][:2] == (1, awkward) and rows[0][3] is None
    assert rows[1][:3] == (2, "", None) and float(rows[1][3]) == 1e-7
    assert float(rows[2][3]) == 2**53
    if sql_destination.dialect == "postgresql":  # text and jsonb cannot hold U+0000
        assert as_json(rows[0][2]) == {"note": "a\tb\nc\\d", "list": [1, None, "xy"]}
        assert rows[2][1] == "nulinside"
    else:
        assert as_json(rows[0][2]) == nested
        assert rows[2][1] == "nul\u0000inside"


def test_unsupported_database_url_is_explained(tmp_path) -> None:
    target = TargetSQL(config={"sqlalchemy_url": "oracle://scott@localhost/db"})
    with pytest.raises(ValueError, match="postgresql\\+psycopg://"):
        target.listen(io.BytesIO(json.dumps(SCHEMA).encode() + b"\n"))


def test_annotations_give_reference_indexes_and_labeled_views(
    sql_destination: SQLDestination,
) -> None:
    schema = json.loads(json.dumps(SCHEMA))
    props = schema["schema"]["properties"]
    props["companyID"] = {
        "type": ["integer", "null"],
        "x-autotask-reference": {"entity": "Company", "field": "id"},
    }
    props["status"] = {
        "type": ["integer", "null"],
        "x-autotask-picklist": {
            "parent_field": None,
            "values": [
                {"value": "1", "label": "New", "active": True, "parent_value": None},
                {"value": "5", "label": "Complete", "active": True, "parent_value": None},
            ],
        },
    }
    messages = [schema, record(1, companyID=7, status=5), record(2, status=1), record(3, status=9)]
    settings = {"index_reference_columns": True, "picklist_label_views": True}
    run(sql_destination, messages, **settings)
    run(sql_destination, messages, **settings)  # reruns keep one index, one view, one label set
    indexes = sa.inspect(sql_destination.engine).get_indexes("tickets", schema=sql_destination.schema)
    assert [ix["column_names"] for ix in indexes if ix["column_names"] == ["companyID"]] == [["companyID"]]
    assert sql_destination.rows("tickets_labeled", "id", "status", "status_label") == [
        (1, 5, "Complete"),
        (2, 1, "New"),
        (3, 9, None),
    ]
    assert sql_destination.count("picklist_labels") == 2


def test_labeled_view_survives_a_widened_column(sql_destination: SQLDestination) -> None:
    schema = json.loads(json.dumps(SCHEMA))
    picklist = {"values": [{"value": "1", "label": "New", "active": True, "parent_value": None}]}
    schema["schema"]["properties"]["status"] = {"type": ["integer", "null"], "x-autotask-picklist": picklist}
    settings = {"picklist_label_views": True}
    run(sql_destination, [schema, record(1, status=1, hours=2)], **settings)
    schema["schema"]["properties"]["hours"] = {"type": ["string", "null"]}
    run(sql_destination, [schema, record(2, status=1, hours="n/a")], **settings)
    assert sql_destination.rows("tickets_labeled", "id", "status_label") == [(1, "New"), (2, "New")]
