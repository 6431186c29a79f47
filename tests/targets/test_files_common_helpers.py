"""target_adapters.common as target-files uses it: column types, validation, the reader."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from singer_sdk.exceptions import InvalidRecord
from singer_sdk.singerlib.exceptions import InvalidInputLine

from target_adapters.common import ColumnType, CompiledValidator, FastSingerReader, Kind, column_types


@pytest.mark.parametrize(
    ("prop", "expected"),
    [
        ({"type": ["integer", "null"]}, ColumnType(Kind.INTEGER, nullable=True)),
        ({"type": "integer"}, ColumnType(Kind.INTEGER, nullable=False)),
        ({"type": ["integer", "number"]}, ColumnType(Kind.NUMBER, nullable=False)),
        ({"type": "string", "format": "date-time"}, ColumnType(Kind.DATETIME, nullable=False)),
        (
            {"anyOf": [{"type": "string", "format": "date-time"}, {"type": ["string", "null"]}]},
            ColumnType(Kind.DATETIME, nullable=True),
        ),
        ({"type": ["string", "integer"]}, ColumnType(Kind.STRING, nullable=False)),
        (
            {"type": "array", "items": {"type": "integer"}},
            ColumnType(Kind.ARRAY, nullable=False, items=ColumnType(Kind.INTEGER, nullable=False)),
        ),
        ({"properties": {"a": {"type": "string"}}}, ColumnType(Kind.OBJECT, nullable=False)),
        ({}, ColumnType(Kind.STRING, nullable=True)),
    ],
)
def test_column_type_collapses_type_lists_and_any_of(prop, expected):
    assert column_types({"properties": {"c": prop}})["c"] == expected


SCHEMA = {
    "properties": {
        "id": {"type": "integer"},
        "amount": {"type": ["number", "null"]},
        "flag": {"type": ["boolean", "null"]},
        "free": {},
    },
    "required": ["id"],
}


@pytest.mark.parametrize(
    "record",
    [
        {"id": 1, "amount": 2.5, "flag": True, "free": {"any": "thing"}},
        {"id": 1.0, "amount": Decimal("2.5"), "flag": None},
        {"flag": False, "id": 3, "undeclared": object()},
    ],
)
def test_validator_accepts_valid_records(record):
    CompiledValidator(SCHEMA, "s").validate(record)


@pytest.mark.parametrize(
    ("record", "problem"),
    [
        ({"id": True}, "field 'id' is True (bool), the schema allows integer"),
        ({"id": 1, "amount": "2.5"}, "field 'amount' is '2.5' (str), the schema allows number|null"),
        ({"id": 1, "flag": 1}, "field 'flag' is 1 (int), the schema allows boolean|null"),
        ({"id": 1.5}, "field 'id' is 1.5 (float), the schema allows integer"),
        ({"amount": 1}, "required field 'id' is missing"),
    ],
)
def test_validator_names_stream_field_and_allowed_types(record, problem):
    with pytest.raises(
        InvalidRecord,
        match="stream 's': " + problem.replace("|", r"\|").replace("(", r"\(").replace(")", r"\)"),
    ):
        CompiledValidator(SCHEMA, "s").validate(record)


def test_validator_rechecks_when_key_order_changes():
    validator = CompiledValidator(SCHEMA, "s")
    validator.validate({"id": 1, "amount": 2.0})
    with pytest.raises(InvalidRecord, match="field 'amount'"):
        validator.validate({"amount": "x", "id": 1})


def test_integers_beyond_64_bits_are_refused_not_rounded():
    big = FastSingerReader().deserialize_json(
        b'{"type": "RECORD", "record": {"id": 123456789012345678901234567890}}'
    )
    with pytest.raises(InvalidRecord, match="field 'id' is an integer beyond 64 bits"):
        CompiledValidator(SCHEMA, "s").validate(big["record"])


def test_reader_refuses_what_only_the_stdlib_parser_reads_and_reports_bad_lines():
    # orjson refuses NaN, 1e400 and lone surrogates; the stdlib reads them, and the reader then
    # refuses them by name rather than store null or broken text.
    reader = FastSingerReader()
    for text in ('{"v": NaN}', '{"v": 1e400}'):
        with pytest.raises(InvalidInputLine, match="which is not a finite number"):
            reader.deserialize_json(text)
    with pytest.raises(InvalidInputLine, match="lone UTF-16 surrogate"):
        reader.deserialize_json('{"type": "RECORD", "stream": "s", "record": {"v": "\\ud800"}}')
    with pytest.raises(InvalidInputLine, match='not valid JSON .* starts with \'{"type": "RECORD", oops}\''):
        reader.deserialize_json('{"type": "RECORD", oops}')


def test_reader_reads_text_input():
    seen: list[dict] = []
    counts = FastSingerReader().process_lines(
        io.StringIO('{"type": "STATE", "value": {}}\n'), {"STATE": seen.append}
    )
    assert seen == [{"type": "STATE", "value": {}}] and counts["STATE"] == 1
