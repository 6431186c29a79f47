"""Each format read back with its own reader: rows, values and types."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import json

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.targets.test_files_helpers import record, run_target, schema, state

UTC = dt.UTC
PROPS = {
    "id": {"type": "integer"},
    "amount": {"type": ["number", "null"]},
    "active": {"type": ["boolean", "null"]},
    "title": {"type": ["string", "null"]},
    "created": {"type": ["string", "null"], "format": "date-time"},
    "due": {"type": ["string", "null"], "format": "date"},
    "extra": {"type": ["object", "null"], "properties": {"k": {"type": "string"}}},
    "tags": {"type": ["array", "null"], "items": {"type": "string"}},
}
ROWS = [
    {
        "id": 1,
        "amount": 1.5,
        "active": True,
        "title": "Printer jam",
        "created": "2024-03-01T10:00:00.123Z",
        "due": "2024-03-05",
        "extra": {"k": "v"},
        "tags": ["a", "b"],
    },
    {
        "id": 2,
        "amount": 2,
        "active": False,
        "title": "ctl \u0001 char",
        "created": "2024-03-01T12:00:00+02:00",
        "due": None,
        "extra": None,
        "tags": [],
    },
    {"id": 3, "amount": None, "title": None, "created": None},
]
MESSAGES = [
    schema("tickets", PROPS),
    *(record("tickets", r) for r in ROWS),
    state({"bookmarks": {"tickets": 3}}),
]


def test_parquet_keeps_types_and_values(tmp_path):
    states = run_target({"format": "parquet", "output_dir": str(tmp_path)}, MESSAGES)
    table = pq.read_table(tmp_path / "tickets.parquet")
    types = {f.name: f.type for f in table.schema}
    assert types["id"] == pa.int64()
    assert types["amount"] == pa.float64()
    assert types["active"] == pa.bool_()
    assert types["created"] == pa.timestamp("us", tz="UTC")
    assert types["due"] == pa.date32()
    assert types["extra"] == pa.json_(pa.utf8())
    assert types["tags"] == pa.list_(pa.string())
    rows = table.to_pylist()
    assert [r["id"] for r in rows] == [1, 2, 3]
    assert rows[0]["created"] == dt.datetime(2024, 3, 1, 10, 0, 0, 123000, tzinfo=UTC)
    assert rows[1]["created"] == dt.datetime(2024, 3, 1, 10, 0, tzinfo=UTC)
    assert rows[0]["due"] == dt.date(2024, 3, 5)
    assert json.loads(rows[0]["extra"]) == {"k": "v"}
    assert rows[0]["tags"] == ["a", "b"] and rows[1]["tags"] == []
    assert rows[2]["amount"] is None and rows[2]["active"] is None
    assert json.loads(table.schema.metadata[b"singer.key_properties"]) == ["id"]
    assert states == [{"bookmarks": {"tickets": 3}}]


def test_parquet_naive_and_nanosecond_timestamps_are_read_as_utc(tmp_path):
    props = {"id": {"type": "integer"}, "at": {"type": "string", "format": "date-time"}}
    values = ["2024-01-02T03:04:05", "2024-01-02T03:04:05.123456789Z"]
    run_target(
        {"format": "parquet", "output_dir": str(tmp_path)},
        [schema("s", props), *(record("s", {"id": i, "at": v}) for i, v in enumerate(values))],
    )
    got = pq.read_table(tmp_path / "s.parquet").column("at").to_pylist()
    assert got == [
        dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
        dt.datetime(2024, 1, 2, 3, 4, 5, 123456, tzinfo=UTC),
    ]


def test_parquet_bad_date_time_names_stream_column_and_value(tmp_path):
    props = {"id": {"type": "integer"}, "at": {"type": "string", "format": "date-time"}}
    with pytest.raises(ValueError, match=r"Stream 's', record 1, field 'at': value 'yesterday'"):
        run_target(
            {"format": "parquet", "output_dir": str(tmp_path)},
            [schema("s", props), record("s", {"id": 1, "at": "yesterday"})],
        )
    assert list(tmp_path.iterdir()) == [], "a failed run leaves neither a file nor its staging folder"


def test_parquet_row_groups_bound_what_is_held(tmp_path):
    messages = [schema("s", {"id": {"type": "integer"}})] + [record("s", {"id": i}) for i in range(25)]
    run_target({"format": "parquet", "output_dir": str(tmp_path), "parquet_row_group_rows": 10}, messages)
    meta = pq.ParquetFile(tmp_path / "s.parquet").metadata
    assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [10, 10, 5]


def test_excel_dates_are_dates_and_text_is_safe(tmp_path):
    run_target({"format": "xlsx", "output_dir": str(tmp_path), "xlsx_workbook_name": "export"}, MESSAGES)
    book = openpyxl.load_workbook(tmp_path / "export.xlsx", read_only=True)
    rows = list(book["tickets"].iter_rows(values_only=True))
    header = rows[0]
    assert header == tuple(PROPS)
    first = dict(zip(header, rows[1], strict=True))
    second = dict(zip(header, rows[2], strict=True))
    assert first["created"] == dt.datetime(2024, 3, 1, 10, 0, 0, 123000)
    assert second["created"] == dt.datetime(2024, 3, 1, 10, 0)  # +02:00 converted to UTC
    assert first["due"] == dt.datetime(2024, 3, 5)  # openpyxl reads date cells back as datetimes
    assert first["amount"] == 1.5 and first["active"] is True and first["id"] == 1
    assert json.loads(first["extra"]) == {"k": "v"} and json.loads(first["tags"]) == ["a", "b"]
    assert second["title"] == "ctl \\x01 char"
    assert len(rows) == 4


def test_excel_spills_to_new_sheet_at_row_limit(tmp_path):
    messages = [schema("tickets", {"id": {"type": "integer"}})] + [
        record("tickets", {"id": i}) for i in range(5)
    ]
    run_target({"format": "xlsx", "output_dir": str(tmp_path), "xlsx_max_rows_per_sheet": 3}, messages)
    book = openpyxl.load_workbook(tmp_path / "singer_export.xlsx", read_only=True)
    assert book.sheetnames == ["tickets", "tickets (2)", "tickets (3)"]
    sheets = [list(book[name].iter_rows(values_only=True)) for name in book.sheetnames]
    assert sheets == [[("id",), (0,), (1,)], [("id",), (2,), (3,)], [("id",), (4,)]]


@pytest.mark.parametrize("compression", ["none", "gzip"])
def test_csv_rows_nulls_and_json_cells(tmp_path, compression):
    run_target({"format": "csv", "output_dir": str(tmp_path), "compression": compression}, MESSAGES)
    path = tmp_path / ("tickets.csv.gz" if compression == "gzip" else "tickets.csv")
    opener = gzip.open if compression == "gzip" else open
    with opener(path, "rt", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["id"] for r in rows] == ["1", "2", "3"]
    assert rows[0]["active"] == "true" and rows[1]["active"] == "false" and rows[2]["active"] == ""
    assert rows[0]["created"] == "2024-03-01T10:00:00.123Z"
    assert json.loads(rows[0]["extra"]) == {"k": "v"} and json.loads(rows[0]["tags"]) == ["a", "b"]
    assert rows[1]["title"] == "ctl \u0001 char"


@pytest.mark.parametrize("compression", ["none", "gzip"])
def test_jsonl_records_as_sent(tmp_path, compression):
    run_target({"format": "jsonl", "output_dir": str(tmp_path), "compression": compression}, MESSAGES)
    path = tmp_path / ("tickets.jsonl.gz" if compression == "gzip" else "tickets.jsonl")
    opener = gzip.open if compression == "gzip" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        assert [json.loads(line) for line in fh] == ROWS
