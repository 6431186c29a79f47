"""Values a format cannot hold: refused naming stream, record and field, and nothing published.

A lone surrogate and a non-finite number are refused by the shared input reader (the same in
target-sql); what a format can hold but the fast path refused (nesting deeper than orjson
writes) is written, and reads back as sent.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import openpyxl
import pyarrow.parquet as pq
import pytest
from singer_sdk.exceptions import InvalidRecord
from singer_sdk.singerlib.exceptions import InvalidInputLine

from target_adapters.files.errors import RefusedInput
from tests.targets.test_files_helpers import record, run_target, schema

PROPS = {
    "id": {"type": "integer"},
    "x": {"type": ["string", "null"]},
    "o": {"type": ["object", "null"]},
    "n": {"type": ["integer", "null"]},
    "f": {"type": ["number", "null"]},
    "l": {"type": ["array", "null"], "items": {"type": "integer"}},
}
BEYOND_INT64 = 2**70
# Small row groups, so that the refused Parquet record sits behind a written row group.
CONFIG = {"parquet_row_group_rows": 2}


def _files(folder) -> dict[str, bytes]:
    """Every file under the folder, staging folders included, with its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _runs(
    tmp_path, fmt: str, bad: dict, props: dict = PROPS, refusal: type = RefusedInput, **settings
) -> pytest.ExceptionInfo:
    """A good run, then one whose record 4 is ``bad``; returns the refusal after checking nothing changed."""
    config = {"format": fmt, "output_dir": str(tmp_path), **CONFIG, **settings}
    run_target(config, [schema("t", props), *(record("t", {"id": i, "x": "fine"}) for i in (1, 2))])
    before = _files(tmp_path)
    assert before
    messages = [
        schema("t", props),
        *(record("t", {"id": i, "x": "ok"}) for i in (1, 2, 3)),
        record("t", {"id": 4, **bad}),
        record("t", {"id": 5}),
    ]
    with pytest.raises(refusal) as err:
        run_target(config, messages)
    assert _files(tmp_path) == before, "a refused run publishes nothing and leaves no staging folder"
    return err


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet", "xlsx"])
@pytest.mark.parametrize(
    ("bad", "field"), [({"x": "a\ud800b"}, "x"), ({"o": {"k": ["fine", "\udc00"]}}, "o.k.1")]
)
def test_a_lone_surrogate_is_refused_naming_stream_record_and_field(tmp_path, fmt, bad, field):
    err = _runs(tmp_path, fmt, bad, refusal=InvalidInputLine)
    assert str(err.value).startswith(
        f"stream 't', record on input line 5 (id 4), field '{field}': the text holds a lone UTF-16 surrogate"
    )


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_a_property_name_with_a_lone_surrogate_is_refused_naming_it(tmp_path, fmt):
    props = {**PROPS, "y\ud800": {"type": ["string", "null"]}}
    config = {"format": fmt, "output_dir": str(tmp_path)}
    with pytest.raises(
        InvalidInputLine, match=r"stream 't', input line 1, 'schema\.properties\.y.*lone UTF-16"
    ):
        run_target(config, [schema("t", props), record("t", {"id": 1})])
    assert _files(tmp_path) == {}


@pytest.mark.parametrize(
    ("bad", "settings"),
    [
        ({"n": BEYOND_INT64}, {"validate_records": False}),  # read as an inexact float
        ({"l": [1, BEYOND_INT64]}, {}),
    ],
)
def test_parquet_refuses_an_integer_beyond_int64_naming_record_and_field(tmp_path, bad, settings):
    err = _runs(tmp_path, "parquet", bad, **settings)
    field = next(iter(bad))
    assert str(err.value).startswith(f"Stream 't', record 4, field '{field}': ")
    assert "beyond Parquet's int64" in str(err.value) and "jsonl or csv" in str(err.value)


def test_excel_escapes_noncharacters_xml_cannot_hold(tmp_path):
    run_target(
        {"format": "xlsx", "output_dir": str(tmp_path)},
        [schema("t", PROPS), record("t", {"id": 1, "x": "a\x01b\ufffec"})],
    )
    book = openpyxl.load_workbook(tmp_path / "singer_export.xlsx", read_only=True)
    assert list(book["t"].iter_rows(min_row=2, values_only=True))[0][1] == "a\\x01b\\ufffec"
    book.close()


def _read_objects(folder, fmt: str) -> list:
    if fmt == "jsonl":
        return [
            json.loads(line)["o"] for line in (folder / "t.jsonl").read_text(encoding="utf-8").splitlines()
        ]
    if fmt == "parquet":
        return [json.loads(v) for v in pq.read_table(folder / "t.parquet").column("o").to_pylist()]
    if fmt == "csv":
        with open(folder / "t.csv", newline="", encoding="utf-8") as fh:
            return [json.loads(row["o"]) for row in csv.DictReader(fh)]
    book = openpyxl.load_workbook(folder / "singer_export.xlsx", read_only=True)
    values = [json.loads(row[2]) for row in book["t"].iter_rows(min_row=2, values_only=True)]
    book.close()
    return values


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet", "xlsx"])
def test_objects_orjson_cannot_write_are_written_whole(tmp_path, fmt):
    deep: dict = {"leaf": 1}
    for _ in range(300):  # orjson writes at most 254 levels
        deep = {"a": deep}
    run_target(
        {"format": fmt, "output_dir": str(tmp_path)}, [schema("t", PROPS), record("t", {"id": 1, "o": deep})]
    )
    assert _read_objects(tmp_path, fmt) == [deep]


@pytest.mark.parametrize(
    ("fmt", "bad", "expected"),
    [
        (
            "csv",
            {"x": "a\ud800"},
            "Error: stream 't', record on input line 3 (id 2), field 'x': the text holds a lone UTF-16 surrogate",
        ),
        (
            "jsonl",
            {"f": float("inf")},
            "Error: Input line 3 holds the number Infinity, which is not a finite number",
        ),
    ],
)
def test_the_command_exits_1_with_one_error_line(tmp_path, fmt, bad, expected):
    messages = [schema("t", PROPS), record("t", {"id": 1}), record("t", {"id": 2, **bad})]
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"format": fmt, "output_dir": str(tmp_path / "out")}))
    done = subprocess.run(
        [sys.executable, "-m", "target_adapters.files.target", "--config", str(config)],
        input="".join(json.dumps(m) + "\n" for m in messages),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    errors = [line for line in done.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and errors[0].startswith(expected), done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_an_integer_beyond_64_bits_refused_by_validation_names_the_record(tmp_path):
    # The fast parser reads it as an inexact float; validation refuses it before any writer.
    messages = [
        schema("t", PROPS),
        *(record("t", {"id": i}) for i in (1, 2)),
        record("t", {"id": 3, "n": BEYOND_INT64}),
    ]
    with pytest.raises(InvalidRecord, match=r"stream 't', record 3: field 'n' is an integer beyond 64 bits"):
        run_target({"format": "parquet", "output_dir": str(tmp_path)}, messages)
    assert _files(tmp_path) == {}


def test_infinity_is_refused_at_input_not_written_as_null(tmp_path):
    err = _runs(tmp_path, "jsonl", {"o": {"big": BEYOND_INT64}, "f": float("inf")}, refusal=InvalidInputLine)
    assert str(err.value).startswith("Input line 5 holds the number Infinity, which is not a finite number")
