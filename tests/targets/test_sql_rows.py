"""The compiled record-to-row builders of target-sql (unit tests of one module)."""

from __future__ import annotations

import pytest

from target_adapters.common.schema_types import column_types
from target_adapters.sql.rows import MYSQL, POSTGRES, SQLITE, BadField, compile_row_builder, compile_rows

SCHEMA = {
    "properties": {
        "id": {"type": "integer"},
        "n": {"type": ["number", "null"]},
        "ok": {"type": ["boolean", "null"]},
        "s": {"type": ["string", "null"]},
        "at": {"type": ["string", "null"], "format": "date-time"},
        "obj": {"type": ["object", "null"]},
        "i": {"type": ["integer", "null"]},
    }
}
RECORDS = [
    {"id": 1, "n": 1.5, "ok": True, "s": "x", "at": "2024-01-02T03:04:05.678Z", "obj": {"a": 1}, "i": 3},
    {"id": 2},
    {"id": 3, "i": 4.0, "n": 2, "at": "2024-01-02T05:04:05+02:00", "s": 7},
    {"id": 4, "extra": "ignored", "at": None, "obj": [1, 2]},
]


@pytest.mark.parametrize("style", [POSTGRES, MYSQL, SQLITE], ids=["pg", "mysql", "sqlite"])
def test_fast_path_equals_field_by_field_builder(style) -> None:
    types = column_types(SCHEMA)
    fast = compile_rows("s", types, style, required=["id"])
    slow = compile_row_builder("s", {c: types[c] for c in fast.columns}, style, required=["id"])
    assert fast.columns[0] == "id"
    assert sorted(fast.columns) == sorted(types)
    for record in RECORDS:
        assert fast.build(dict(record)) == slow(dict(record))


def test_values_are_converted_for_each_database() -> None:
    types = column_types(SCHEMA)
    record = RECORDS[2]
    pg = compile_rows("s", types, POSTGRES, required=["id"])
    sqlite = compile_rows("s", types, SQLITE, required=["id"])
    as_pg = dict(zip(pg.columns, pg.build(record)))
    as_sqlite = dict(zip(sqlite.columns, sqlite.build(record)))
    assert as_pg["i"] == 4 and type(as_pg["i"]) is int  # integral float accepted as integer
    assert as_pg["s"] == "7"  # a number where the schema wants text is kept as its text
    assert as_pg["at"] == "2024-01-02T05:04:05+02:00"  # PostgreSQL parses (and checks) it
    assert as_sqlite["at"] == "2024-01-02 03:04:05.000000"  # normalised to UTC text
    assert dict(zip(sqlite.columns, sqlite.build(RECORDS[0])))["obj"] == '{"a":1}'


@pytest.mark.parametrize(
    ("record", "column", "problem"),
    [
        ({"id": 1, "i": "3"}, "i", "is not an integer"),
        ({"id": 1, "ok": 1}, "ok", "is not a boolean"),
        ({"id": 1, "i": True}, "i", "is not an integer"),
        ({"id": 1, "at": "yesterday"}, "at", "ISO 8601"),
        ({"id": None}, "id", None),
        ({"n": 1}, "id", None),
    ],
)
def test_bad_values_name_their_column(record: dict, column: str, problem: str | None) -> None:
    for style in (POSTGRES, SQLITE):
        compiled = compile_rows("s", column_types(SCHEMA), style, required=["id"])
        if style is POSTGRES and column == "at":
            continue  # PostgreSQL itself refuses bad date-times (with the row's line)
        with pytest.raises(BadField) as failure:
            compiled.build(record)
        assert compiled.columns[failure.value.index] == column
        if problem is None:
            assert failure.value.error is None
        else:
            assert problem in str(failure.value.error)


DATETIME_FORMS = [
    "2019-01-31T23:59:12.389Z",  # Autotask's own form: the sliced fast path
    "2019-01-01T00:00:12Z",
    "2019-01-01T00:00:12.1234567Z",
    "2019-01-01T01:00:12.389+01:00",
    "2019-01-01 00:00:12.389Z",
    "2019-01-01T00:00:12.389",
    "2019-01-01T00:00:12,389Z",
    "2019-13-01T00:00:12.389Z",  # 24 characters ending in Z, but no date: refused, not sliced
    "2019-02-30T00:00:12.389Z",
]


@pytest.mark.parametrize("style", [MYSQL, SQLITE], ids=["mysql", "sqlite"])
@pytest.mark.parametrize("value", DATETIME_FORMS)
def test_the_sliced_datetime_path_renders_what_parsing_renders(style, value) -> None:
    """The text styles slice Autotask's common form; every form must come out as parsing gives."""
    columns = column_types(SCHEMA)
    builder = compile_row_builder("t", columns, style)
    slow_style = type(style)(datetime_as_text=False, render_datetime=lambda v: style.render_datetime(v))
    reference = compile_row_builder("t", columns, slow_style)
    record = {"id": 1, "at": value}
    try:
        expected = reference(record)
    except BadField as exc:
        with pytest.raises(BadField, match="at"):
            builder(record)
        assert "date-time" in str(exc)
        return
    assert builder(record) == expected
