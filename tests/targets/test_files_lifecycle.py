"""Schema changes mid-stream, runs after runs, failures, STATE and settings."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from singer_sdk.exceptions import ConfigValidationError, InvalidRecord

from target_adapters.files.manifest import MANIFEST_NAME
from target_adapters.files.target import TargetFiles
from tests.targets.test_files_helpers import record, run_target, schema, state

V1 = {"id": {"type": "integer"}, "n": {"type": ["integer", "null"]}}
V2 = {**V1, "n": {"type": ["number", "null"]}, "note": {"type": ["string", "null"]}}
WIDENING = [
    schema("s", V1),
    record("s", {"id": 1, "n": 10}),
    record("s", {"id": 2, "n": None}),
    schema("s", V2),
    record("s", {"id": 3, "n": 2.5, "note": "new column"}),
]


def _csv_rows(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def test_csv_new_column_mid_stream_widens_the_header_of_one_file(tmp_path):
    run_target({"format": "csv", "output_dir": str(tmp_path)}, WIDENING)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.csv", MANIFEST_NAME]
    assert _csv_rows(tmp_path / "s.csv") == [
        ["id", "n", "note"],
        ["1", "10", ""],
        ["2", "", ""],
        ["3", "2.5", "new column"],
    ]


def test_parquet_new_column_mid_stream_merges_parts_with_widened_types(tmp_path):
    run_target({"format": "parquet", "output_dir": str(tmp_path), "parquet_row_group_rows": 1}, WIDENING)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.parquet", MANIFEST_NAME]
    table = pq.read_table(tmp_path / "s.parquet")
    assert table.schema.field("n").type == pa.float64()
    assert table.to_pylist() == [
        {"id": 1, "n": 10.0, "note": None},
        {"id": 2, "n": None, "note": None},
        {"id": 3, "n": 2.5, "note": "new column"},
    ]


def test_parquet_incompatible_type_change_becomes_string(tmp_path):
    messages = [
        schema("s", {"id": {"type": "integer"}, "v": {"type": "boolean"}}),
        record("s", {"id": 1, "v": True}),
        schema("s", {"id": {"type": "integer"}, "v": {"type": "string"}}),
        record("s", {"id": 2, "v": "x"}),
    ]
    run_target({"format": "parquet", "output_dir": str(tmp_path)}, messages)
    table = pq.read_table(tmp_path / "s.parquet")
    assert table.schema.field("v").type == pa.string()
    assert table.column("v").to_pylist() == ["true", "x"]


def test_excel_new_column_continues_on_a_wider_sheet(tmp_path):
    run_target({"format": "xlsx", "output_dir": str(tmp_path)}, WIDENING)
    book = openpyxl.load_workbook(tmp_path / "singer_export.xlsx", read_only=True)
    assert book.sheetnames == ["s", "s (2)"]
    # read-only openpyxl drops trailing empty cells, hence the short (2,) row
    assert list(book["s"].iter_rows(values_only=True)) == [("id", "n"), (1, 10), (2,)]
    assert list(book["s (2)"].iter_rows(values_only=True)) == [("id", "n", "note"), (3, 2.5, "new column")]


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_append_only_keeps_the_previous_run_and_overwrite_replaces_it(tmp_path, fmt):
    def ids(run_config):
        run_target(run_config, [schema("s", V1), *(record("s", {"id": i}) for i in run_ids)])

    config = {"format": fmt, "output_dir": str(tmp_path)}
    for run_ids in ([1, 2], [3]):  # noqa: B007  (ids() reads it through its closure)
        ids(config)
    assert _read_ids(tmp_path, fmt) == [1, 2, 3]
    run_ids = [9]
    ids({**config, "load_method": "overwrite"})
    assert _read_ids(tmp_path, fmt) == [9]


def _read_ids(folder, fmt):
    if fmt == "csv":
        return [int(r[0]) for r in _csv_rows(folder / "s.csv")[1:]]
    if fmt == "jsonl":
        return [json.loads(line)["id"] for line in (folder / "s.jsonl").read_text().splitlines()]
    return pq.read_table(folder / "s.parquet").column("id").to_pylist()


def test_bad_record_fails_naming_stream_and_field_and_keeps_earlier_output(tmp_path):
    config = {"format": "csv", "output_dir": str(tmp_path)}
    run_target(config, [schema("s", V1), record("s", {"id": 1}), state({"s": 1})])
    before = (tmp_path / "s.csv").read_bytes()
    bad = [schema("s", V1), record("s", {"id": 2}), state({"s": 2}), record("s", {"id": "three"})]
    with pytest.raises(InvalidRecord, match=r"stream 's', record 2: field 'id' is 'three' \(str\)"):
        run_target(config, bad)
    assert (tmp_path / "s.csv").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.csv", MANIFEST_NAME], "staging folder removed"


def test_state_is_emitted_once_after_the_files_are_published(tmp_path):
    messages = [
        schema("s", V1),
        record("s", {"id": 1}),
        state({"s": 1}),
        record("s", {"id": 2}),
        state({"s": 2}),
    ]
    lines = "".join(json.dumps(m) + "\n" for m in messages)
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"format": "parquet", "output_dir": str(tmp_path / "out")}))
    proc = subprocess.run(
        [sys.executable, "-m", "target_adapters.files.target", "--config", str(config)],
        input=lines.encode(),
        capture_output=True,
        check=True,
        timeout=120,
    )
    assert proc.stdout.decode().splitlines() == ['{"s": 2}']
    assert pq.read_table(tmp_path / "out" / "s.parquet").num_rows == 2


def test_killed_run_publishes_nothing_and_emits_no_state(tmp_path):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"format": "parquet", "output_dir": str(tmp_path / "out")}))
    proc = subprocess.Popen(
        [sys.executable, "-m", "target_adapters.files.target", "--config", str(config)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert proc.stdin is not None
    proc.stdin.write((json.dumps(schema("s", V1)) + "\n").encode())
    proc.stdin.write("".join(json.dumps(record("s", {"id": i})) + "\n" for i in range(1000)).encode())
    proc.stdin.write((json.dumps(state({"s": 999})) + "\n").encode())
    proc.stdin.flush()
    proc.kill()
    out, _ = proc.communicate(timeout=60)
    assert out == b""
    assert not (tmp_path / "out" / "s.parquet").exists()


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            {"format": "parquet", "compression": "gzip"},
            "compression 'gzip' applies to csv and jsonl, not parquet",
        ),
        ({"format": "csv", "compression_level": 0}, "compression_level is 0; use 1 to 9"),
        ({"format": "xlsx", "xlsx_max_rows_per_sheet": 2_000_000}, "xlsx_max_rows_per_sheet is 2000000"),
    ],
)
def test_settings_errors_say_what_to_change(tmp_path, config, message):
    with pytest.raises(ConfigValidationError, match=message):
        TargetFiles(config={**config, "output_dir": str(tmp_path)})


def test_unknown_or_missing_format_is_rejected(tmp_path):
    with pytest.raises(ConfigValidationError) as unknown:
        TargetFiles(config={"format": "xml", "output_dir": str(tmp_path)})
    assert unknown.value.errors == [
        "'xml' is not one of ['csv', 'jsonl', 'parquet', 'xlsx'] in config['format']"
    ]
    with pytest.raises(ConfigValidationError) as missing:
        TargetFiles(config={"output_dir": str(tmp_path)})
    assert missing.value.errors == ["'format' is a required property"]


def test_deletions_from_the_tap_keep_their_sdc_deleted_at_column(tmp_path):
    props = {
        "id": {"type": "integer"},
        "title": {"type": ["string", "null"]},
        "_sdc_deleted_at": {"type": ["string", "null"], "format": "date-time"},
    }
    messages = [
        schema("s", props),
        record("s", {"id": 1, "title": "kept"}),
        record("s", {"id": 2, "_sdc_deleted_at": "2024-05-01T08:00:00Z"}),
        {"type": "ACTIVATE_VERSION", "stream": "s", "version": 7},
    ]
    run_target({"format": "parquet", "output_dir": str(tmp_path)}, messages)
    table = pq.read_table(tmp_path / "s.parquet")
    assert table.schema.field("_sdc_deleted_at").type == pa.timestamp("us", tz="UTC")
    rows = table.to_pylist()
    assert rows[0]["_sdc_deleted_at"] is None and rows[0]["title"] == "kept"
    assert rows[1]["title"] is None and rows[1]["_sdc_deleted_at"].isoformat() == "2024-05-01T08:00:00+00:00"


def test_record_metadata_adds_table_version_for_activate_version(tmp_path):
    messages = [
        schema("s", V1),
        {"type": "RECORD", "stream": "s", "record": {"id": 1}, "version": 7},
        {"type": "ACTIVATE_VERSION", "stream": "s", "version": 7},
    ]
    run_target({"format": "jsonl", "output_dir": str(tmp_path), "add_record_metadata": True}, messages)
    row = json.loads((tmp_path / "s.jsonl").read_text())
    assert row["_sdc_table_version"] == 7 and row["_sdc_deleted_at"] is None and row["id"] == 1


@pytest.mark.parametrize("compression", ["none", "gzip"])
def test_csv_append_follows_the_existing_header_and_widens_it_when_needed(tmp_path, compression):
    config = {"format": "csv", "output_dir": str(tmp_path), "compression": compression}
    wide = {"id": {"type": "integer"}, "a": {"type": ["string", "null"]}, "b": {"type": ["string", "null"]}}
    run_target(config, [schema("s", wide), record("s", {"id": 1, "a": "x", "b": "y"})])
    narrow_reordered = {"b": {"type": ["string", "null"]}, "id": {"type": "integer"}}
    run_target(config, [schema("s", narrow_reordered), record("s", {"id": 2, "b": "z"})])
    wider = {**wide, "c": {"type": ["string", "null"]}}
    run_target(config, [schema("s", wider), record("s", {"id": 3, "c": "new"})])
    name = "s.csv.gz" if compression == "gzip" else "s.csv"
    import gzip as gz

    opener = gz.open if compression == "gzip" else open
    with opener(tmp_path / name, "rt", newline="", encoding="utf-8") as fh:
        assert list(csv.reader(fh)) == [
            ["id", "a", "b", "c"],
            ["1", "x", "y", ""],
            ["2", "", "z", ""],
            ["3", "", "", "new"],
        ]


def test_csv_append_then_new_column_in_the_same_run(tmp_path):
    config = {"format": "csv", "output_dir": str(tmp_path)}
    run_target(config, [schema("s", V1), record("s", {"id": 1, "n": 1})])
    run_target(
        config,
        [
            schema("s", V1),
            record("s", {"id": 2, "n": 2}),
            schema("s", V2),
            record("s", {"id": 3, "note": "late"}),
        ],
    )
    assert _csv_rows(tmp_path / "s.csv") == [
        ["id", "n", "note"],
        ["1", "1", ""],
        ["2", "2", ""],
        ["3", "", "late"],
    ]


def test_fields_missing_from_the_schema_are_named_once(tmp_path, caplog):
    messages = [schema("s", V1), record("s", {"id": 1, "stray": 1}), record("s", {"id": 2, "stray": 2})]
    run_target({"format": "csv", "output_dir": str(tmp_path)}, messages)
    warnings = [r.getMessage() for r in caplog.records if "stray" in r.getMessage()]
    assert warnings == [
        "Stream 's': field 'stray' is not in the schema and is not written (columns come "
        "from the schema; format jsonl keeps every field)."
    ]
    assert _csv_rows(tmp_path / "s.csv") == [["id", "n"], ["1", ""], ["2", ""]]


def test_sigterm_publishes_nothing_and_exits_non_zero(tmp_path):
    import signal
    import time

    config = tmp_path / "config.json"
    out = tmp_path / "out"
    config.write_text(json.dumps({"format": "csv", "output_dir": str(out)}))
    proc = subprocess.Popen(
        [sys.executable, "-m", "target_adapters.files.target", "--config", str(config)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert proc.stdin is not None
    proc.stdin.write(
        (json.dumps(schema("s", V1)) + "\n" + json.dumps(record("s", {"id": 1})) + "\n").encode()
    )
    proc.stdin.write((json.dumps(state({"s": 1})) + "\n").encode())
    proc.stdin.flush()
    deadline = time.monotonic() + 60
    while not any(out.glob(".target-files-*")) and time.monotonic() < deadline:
        time.sleep(0.1)  # until the first record has reached a staged file
    proc.send_signal(signal.SIGTERM)
    out_bytes, _ = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM
    assert out_bytes == b""
    assert list(out.iterdir()) == []
