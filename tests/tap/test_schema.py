"""Schema mapping and record shaping: the types a warehouse will see."""

from __future__ import annotations

import logging
import random
import re

import pytest

from tap_autotask.metadata import FieldSpec, camel_name, udf_column, udf_columns
from tap_autotask.schema import (
    DELETED_AT,
    RecordShaper,
    build_schema,
    json_type,
    with_annotations,
)


@pytest.mark.parametrize(
    ("data_type", "expected"),
    [
        ("long", ["integer", "null"]),
        ("integer", ["integer", "null"]),
        ("short", ["integer", "null"]),
        ("double", ["number", "null"]),
        ("decimal", ["number", "null"]),
        ("boolean", ["boolean", "null"]),
        ("string", ["string", "null"]),
        ("char", ["string", "null"]),
        ("unheard-of", ["string", "null"]),
    ],
)
def test_types_map_faithfully(data_type: str, expected: list[str]) -> None:
    assert json_type(data_type)["type"] == expected


def test_datetimes_are_date_time_strings_and_binary_is_left_out() -> None:
    assert json_type("datetime") == {"type": ["string", "null"], "format": "date-time"}
    assert json_type("byte[]") is None
    schema = build_schema([FieldSpec("id", "long"), FieldSpec("data", "byte[]")])
    assert list(schema["properties"]) == ["id"]


def test_id_is_never_null_and_deleted_at_only_when_asked() -> None:
    schema = build_schema([FieldSpec("id", "long"), FieldSpec("title", "string")])
    assert schema["properties"]["id"]["type"] == ["integer"]
    assert DELETED_AT not in schema["properties"]
    assert DELETED_AT in build_schema([FieldSpec("id", "long")], with_deleted_at=True)["properties"]


def test_annotations_for_references_picklists_and_udfs() -> None:
    picklist = ({"value": "1", "label": "New", "isActive": True, "parentValue": ""},)
    schema = build_schema(
        [
            FieldSpec("id", "long"),
            FieldSpec("companyID", "integer", reference="Companies"),
            FieldSpec("status", "integer", picklist=picklist),
            FieldSpec("udf_rank", "string", udf_name="Rank"),
        ]
    )
    props = schema["properties"]
    assert props["companyID"]["x-autotask-reference"] == {"entity": "Companies", "field": "id"}
    assert props["status"]["x-autotask-picklist"]["values"] == [
        {"value": "1", "label": "New", "active": True, "parent_value": None}
    ]
    assert props["udf_rank"]["x-autotask-udf"] == "Rank"


def test_with_annotations_restores_dropped_keys_only_on_shared_properties() -> None:
    annotated = build_schema(
        [FieldSpec("id", "long"), FieldSpec("companyID", "integer", reference="Companies")]
    )
    stripped = {"type": "object", "properties": {"companyID": {"type": ["integer", "null"]}}}
    merged = with_annotations(stripped, annotated)
    assert merged["properties"]["companyID"]["x-autotask-reference"]["entity"] == "Companies"
    assert "id" not in merged["properties"]


def test_shaper_flattens_udfs_converts_types_and_marks_times_utc() -> None:
    fields = [
        FieldSpec("id", "long"),
        FieldSpec("lastActivityDate", "datetime"),
        FieldSpec("udf_score", "double", udf_name="Score"),
        FieldSpec("udf_seen", "datetime", udf_name="Seen"),
        FieldSpec("udf_missing", "string", udf_name="Missing"),
    ]
    shape = RecordShaper(build_schema(fields), fields)
    record = shape(
        {
            "id": 7,
            "lastActivityDate": "2026-01-31T15:04:05.307",
            "userDefinedFields": [
                {"name": "Score", "value": "4.5"},
                {"name": "Seen", "value": "2026-02-01T00:00:00"},
            ],
        }
    )
    assert record == {
        "id": 7,
        "lastActivityDate": "2026-01-31T15:04:05.307Z",
        "udf_score": 4.5,
        "udf_seen": "2026-02-01T00:00:00Z",
        "udf_missing": None,
    }
    assert (
        shape({"id": 8, "lastActivityDate": "2026-01-31T15:04:05+00:00"})["lastActivityDate"]
        == "2026-01-31T15:04:05+00:00"
    )


def test_unparseable_numeric_udf_becomes_null_not_a_crash() -> None:
    fields = [FieldSpec("id", "long"), FieldSpec("udf_n", "integer", udf_name="N")]
    shape = RecordShaper(build_schema(fields), fields)
    assert shape({"id": 1, "userDefinedFields": [{"name": "N", "value": "n/a"}]})["udf_n"] is None


@pytest.mark.parametrize(
    ("pascal", "camel"),
    [
        ("GLCode", "glCode"),
        ("ID", "id"),
        ("AssignedResourceID", "assignedResourceID"),
        ("MSRP", "msrp"),
        ("SICCode", "sicCode"),
        ("Title", "title"),
    ],
)
def test_live_metadata_names_become_record_keys(pascal: str, camel: str) -> None:
    assert camel_name(pascal) == camel


def test_udf_columns_are_safe_identifiers() -> None:
    assert udf_column("Customer Ranking") == "udf_customer_ranking"
    assert re.fullmatch(r"udf_margin_est_[0-9a-f]{8}", udf_column("% margin (est.)"))
    assert re.fullmatch(r"udf_stoimost_dogovora_[0-9a-f]{8}", udf_column("Стоимость договора"))
    assert re.fullmatch(r"udf_timi_[0-9a-f]{8}", udf_column("Τιμή"))
    assert re.fullmatch(r"udf_priorite_[0-9a-f]{8}", udf_column("Priorité"))
    assert re.fullmatch(r"udf_[0-9a-f]{8}", udf_column("日本語"))
    assert all(len(udf_column(n)) <= 63 for n in ("x" * 300, "y " * 200, "é" * 100))


COLLIDING = [
    "Contract Value",
    "contract-value",
    "contract_value",
    "CONTRACT  VALUE",
    "Стоимость",
    "Стоимостъ",
    "Τιμή",
    "日本語",
    "中文",
    "",
    "x" * 100,
    "x" * 101,
]


def test_every_udf_name_gets_its_own_column_whatever_the_order() -> None:
    columns = udf_columns(COLLIDING)
    assert len(set(columns.values())) == len(COLLIDING)
    for seed in range(5):
        shuffled = COLLIDING[:]
        random.Random(seed).shuffle(shuffled)
        assert udf_columns(shuffled) == columns
    assert udf_columns(["Contract Value", "Rank"])["Contract Value"] == "udf_contract_value"


def test_names_differing_only_in_case_are_kept_apart_too() -> None:
    columns = udf_columns(["Contract Value", "contract value", "Rank"])
    assert len(set(columns.values())) == 3 and columns["Rank"] == "udf_rank"


def test_numbers_sent_for_string_fields_become_text() -> None:
    fields = [FieldSpec("id", "long"), FieldSpec("postalCode", "string")]
    shape = RecordShaper(build_schema(fields), fields)
    assert shape({"id": 1, "postalCode": 12061})["postalCode"] == "12061"
    assert shape({"id": 2, "postalCode": None})["postalCode"] is None


def test_known_metadata_lies_are_corrected_from_evidence() -> None:
    from sdk_core.catalog import load_catalog
    from tap_autotask.metadata import CatalogMetadata

    contracts = load_catalog().get("Contracts")
    assert contracts.field("contractPeriodType").data_type == "integer"
    spec = next(f for f in CatalogMetadata().fields(contracts) if f.name == "contractPeriodType")
    assert json_type(spec.data_type)["type"] == ["string", "null"]


def test_fast_writer_keeps_order_and_flushes_only_after_non_records(monkeypatch) -> None:
    import io
    import json
    from decimal import Decimal

    from singer_sdk.singerlib import RecordMessage, StateMessage

    from tap_autotask.writer import FastSingerWriter

    class Recorder(io.BytesIO):
        flushes: list[int] = []

        def flush(self) -> None:
            self.flushes.append(len(self.getvalue()))

    raw = Recorder()
    text = io.TextIOWrapper(raw, encoding="utf-8")
    monkeypatch.setattr("sys.stdout", text)
    writer = FastSingerWriter()
    writer.write_message(RecordMessage(stream="t", record={"id": 1}))
    writer.write_message(RecordMessage(stream="t", record={"id": 2}))
    before_state = len(raw.getvalue())
    writer.write_message(StateMessage(value={"bookmarks": {"t": {"n": Decimal("5.0")}}}))
    lines = [json.loads(line) for line in raw.getvalue().splitlines()]
    assert [m["type"] for m in lines] == ["RECORD", "RECORD", "STATE"]
    assert lines[2]["value"]["bookmarks"]["t"]["n"] == 5
    assert raw.flushes[-1] == len(raw.getvalue()) > before_state
    assert before_state not in raw.flushes[1:], "no flush between the records"


def test_live_metadata_falls_back_to_the_catalog_for_a_forbidden_entity() -> None:
    from sdk_core.catalog import load_catalog
    from sdk_core.errors import PermissionDeniedError
    from tap_autotask.metadata import LiveMetadata

    class Client:
        def entity(self, name: str):
            class Entity:
                def fields(self):
                    raise PermissionDeniedError("no right to read", status_code=403)

                def udfs(self):
                    raise PermissionDeniedError("no right to read", status_code=403)

            return Entity()

    tickets = load_catalog().get("Tickets")
    live = LiveMetadata(Client())
    assert [f.name for f in live.fields(tickets)] == tickets.field_names
    assert live.udfs(tickets) == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-01-31T15:04:05", "2026-01-31T15:04:05Z"),
        ("2026-01-31T15:04:05.3070000", "2026-01-31T15:04:05.3070000Z"),
        ("2026-01-31T15:04:05Z", "2026-01-31T15:04:05Z"),
        ("2026-01-31T15:04:05+02:00", "2026-01-31T15:04:05+02:00"),
        ("2026-01-31T15:04:05-05:00", "2026-01-31T15:04:05-05:00"),
    ],
)
def test_zone_marks_are_added_only_where_missing(value: str, expected: str) -> None:
    from tap_autotask.schema import utc_text

    assert utc_text(value) == expected


@pytest.mark.parametrize(
    "udfs",
    [
        [{"name": "Rank", "value": "7"}, {"name": "Other", "value": "x"}],
        {"Rank": "7", "Other": "x"},
    ],
)
def test_udfs_arrive_as_a_list_of_pairs_or_a_name_to_value_dict(udfs: object) -> None:
    fields = [FieldSpec("id", "long"), FieldSpec("udf_rank", "integer", udf_name="Rank")]
    shape = RecordShaper(build_schema(fields), fields)
    assert shape({"id": 1, "userDefinedFields": udfs}) == {"id": 1, "udf_rank": 7}


@pytest.mark.parametrize("udfs", [{}, "", None, []])
def test_empty_udf_shapes_from_the_samples_give_null_columns(udfs: object) -> None:
    fields = [FieldSpec("id", "long"), FieldSpec("udf_rank", "integer", udf_name="Rank")]
    shape = RecordShaper(build_schema(fields), fields)
    assert shape({"id": 1, "userDefinedFields": udfs}) == {"id": 1, "udf_rank": None}


def test_unparseable_numeric_udf_is_logged_once_per_field_with_stream_and_type(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fields = [
        FieldSpec("id", "long"),
        FieldSpec("udf_n", "integer", udf_name="N"),
        FieldSpec("udf_m", "double", udf_name="M"),
    ]
    shape = RecordShaper(build_schema(fields), fields, stream="tickets")
    with caplog.at_level(logging.WARNING, logger="tap-autotask"):
        for i in range(3):
            row = shape(
                {"id": i, "userDefinedFields": [{"name": "N", "value": "many"}, {"name": "M", "value": [1]}]}
            )
            assert row["udf_n"] is None and row["udf_m"] is None
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2, messages
    assert any("tickets" in m and "udf_n" in m and "str" in m for m in messages), messages
    assert any("tickets" in m and "udf_m" in m and "list" in m for m in messages), messages
    assert not any("many" in m for m in messages), "values may be confidential: type only"
