"""Which file and sheet a stream lands in: a function of its name, recorded in the manifest.

Also the refusals that keep a run from mixing or corrupting files: a name clash the
manifest knows of, a workbook that would not open, a record without its key.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import openpyxl
import pytest
from singer_sdk.exceptions import MissingKeyPropertiesError

from target_adapters.files import names, xlsx_writer
from target_adapters.files.manifest import MANIFEST_NAME, StreamNameClash
from tests.targets.test_files_helpers import record, run_target, schema

ID = {"id": {"type": "integer"}}


def _stream(name: str, *ids: int) -> list[dict]:
    return [schema(name, ID), *(record(name, {"id": i}) for i in ids)]


def _manifest(folder):
    return json.loads((folder / MANIFEST_NAME).read_text(encoding="utf-8"))


def _csv_ids(path) -> list[int]:
    with open(path, newline="", encoding="utf-8") as fh:
        return [int(row["id"]) for row in csv.DictReader(fh)]


def _ids_by_stream(folder) -> dict[str, list[int]]:
    """Each stream's rows, found through the manifest alone."""
    found: dict[str, list[int]] = {}
    for stream, entry in _manifest(folder)["streams"].items():
        for file_name in entry["files"]:
            found.setdefault(stream, []).extend(_csv_ids(folder / file_name))
    return found


def test_a_stream_keeps_its_own_file_whatever_arrived_first(tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    run_target({"format": "csv", "output_dir": str(first)}, _stream("a/b", 1, 2))
    run_target({"format": "csv", "output_dir": str(first)}, _stream("a_b", 3))
    run_target({"format": "csv", "output_dir": str(second)}, _stream("a_b", 3) + _stream("a/b", 1, 2))
    assert _ids_by_stream(first) == {"a/b": [1, 2], "a_b": [3]}, "run 2 must not append to a/b's file"
    assert sorted(p.name for p in first.iterdir()) == sorted(p.name for p in second.iterdir())
    assert _manifest(first) == _manifest(second)


def test_unsafe_and_case_differing_names_get_distinct_safe_files(tmp_path):
    streams = ["a:b", "a?b", "../up", "Foo", "foo", "con", "x" * 300, "a\u0000b"]
    messages = [m for i, name in enumerate(streams) for m in _stream(name, i)]
    run_target({"format": "csv", "output_dir": str(tmp_path)}, messages)
    files = sorted(p.name for p in tmp_path.iterdir())
    assert len({f.lower() for f in files}) == len(streams) + 1, "one file per stream, plus the manifest"
    assert all(len(f) < 120 and "/" not in f and not f.startswith(".") for f in files)
    assert "foo.csv" in files, "a plain name is used as it is"
    assert _ids_by_stream(tmp_path) == {name: [i] for i, name in enumerate(streams)}


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_manifest_keeps_earlier_runs_and_names_each_format_s_file(tmp_path, fmt):
    config = {"format": fmt, "output_dir": str(tmp_path)}
    run_target(config, _stream("Tickets", 1))
    run_target(config, _stream("notes", 2))
    streams = _manifest(tmp_path)["streams"]
    assert set(streams) == {"Tickets", "notes"}
    for entry in streams.values():
        assert [(tmp_path / f).exists() for f in entry["files"]] == [True]
        assert entry["files"][0].startswith(entry["stem"] + ".")


def test_a_name_clash_recorded_in_the_manifest_is_refused_before_writing(tmp_path):
    config = {"format": "csv", "output_dir": str(tmp_path)}
    run_target(config, _stream("x", 1))
    manifest = _manifest(tmp_path)
    # What a hash collision would leave: another stream already holds the file name.
    manifest["streams"] = {"other/x": manifest["streams"]["x"]}
    (tmp_path / MANIFEST_NAME).write_text(json.dumps(manifest))
    before = (tmp_path / "x.csv").read_bytes()
    with pytest.raises(StreamNameClash, match=r"'other/x' and 'x' map to the same file name 'x'"):
        run_target(config, _stream("x", 2))
    assert (tmp_path / "x.csv").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [MANIFEST_NAME, "x.csv"]


def test_excel_sheet_titles_follow_excel_rules_and_the_workbook_opens(tmp_path):
    config = {"format": "xlsx", "output_dir": str(tmp_path)}
    streams = ["a\u0000b", "History", "[x]:y*", "'quoted'", "Foo", "foo", "n" * 40, "ok"]
    props = {"id": {"type": "integer"}, "x\u0001y": {"type": ["string", "null"]}}
    messages = [
        m
        for i, name in enumerate(streams)
        for m in (schema(name, props), record(name, {"id": i, "x\u0001y": "v"}))
    ]
    run_target(config, messages)
    book = openpyxl.load_workbook(tmp_path / "singer_export.xlsx", read_only=True)
    sheets = _manifest(tmp_path)["workbooks"]["singer_export.xlsx"]
    assert set(sheets) == set(streams)
    assert sorted(t for titles in sheets.values() for t in titles) == sorted(book.sheetnames)
    for i, name in enumerate(streams):
        rows = list(book[sheets[name][0]].iter_rows(values_only=True))
        assert rows == [("id", "x\\x01y"), (i, "v")]
    titles = book.sheetnames
    assert len({t.lower() for t in titles}) == len(titles)
    assert all(len(t) <= 31 and not set(t) & set("[]:*?/\\") and t.lower() != "history" for t in titles)
    assert sheets["ok"] == ["ok"] and sheets["Foo"] == ["Foo"]


def test_a_workbook_that_does_not_open_is_not_published(tmp_path, monkeypatch):
    config = {"format": "xlsx", "output_dir": str(tmp_path)}
    run_target(config, _stream("good", 1))
    before = (tmp_path / "singer_export.xlsx").read_bytes()
    # A gap in the title rules (here: none at all) must still not replace a good workbook.
    monkeypatch.setattr(xlsx_writer, "sheet_title", lambda name: name, raising=False)
    monkeypatch.setattr(xlsx_writer, "_TITLE_UNSAFE", names.re.compile(r"(?!)"), raising=False)
    with pytest.raises(ValueError, match=r"does not open .*previous singer_export.xlsx is kept") as err:
        run_target(config, _stream("good", 2) + _stream("a\u0000b", 3))
    assert "'a\\x00b'" in str(err.value) and "'good'" not in str(err.value), "names the culprit stream"
    assert (tmp_path / "singer_export.xlsx").read_bytes() == before
    assert not list(tmp_path.glob(".target-files-*")), "staging folder removed"


def test_a_record_without_its_key_names_the_stream_and_record_number(tmp_path):
    widened = {**ID, "note": {"type": ["string", "null"]}}
    messages = [
        *_stream("s", 1, 2),
        schema("s", widened),
        record("s", {"id": 3}),
        record("s", {"note": "no id"}),
    ]
    with pytest.raises(MissingKeyPropertiesError, match=r"Stream 's', record 4: key property 'id' missing"):
        run_target({"format": "csv", "output_dir": str(tmp_path)}, messages)
    assert not list(tmp_path.iterdir())


def test_the_command_exits_non_zero_naming_stream_and_record(tmp_path):
    lines = "".join(json.dumps(m) + "\n" for m in [*_stream("things", 1), record("things", {"x": 1})])
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"format": "jsonl", "output_dir": str(tmp_path / "out")}))
    done = subprocess.run(
        [sys.executable, "-m", "target_adapters.files.target", "--config", str(config)],
        input=lines,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "Error: Stream 'things', record 2: key property 'id' missing" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("name", ["tickets", "a/b", "Foo", "x" * 200, "\u00e9t\u00e9", "a\ud800b"])
def test_names_are_stable_and_safe(name):
    stem, title = names.file_stem(name), names.sheet_title(name)
    assert stem == names.file_stem(name) and title == names.sheet_title(name)
    assert stem.isascii() and len(stem) <= 89 and stem == stem.strip("._")
    assert 0 < len(title) <= 31 and not names.XML_ILLEGAL.search(title)
    assert (stem == name) == (name == "tickets")


def test_two_streams_of_one_run_that_map_to_one_file_are_refused(tmp_path, monkeypatch):
    # What a hash collision would do within a run: the second stream is refused, not mixed in.
    monkeypatch.setattr("target_adapters.files.output_dir.file_stem", lambda name: "same")
    with pytest.raises(StreamNameClash, match=r"'a/b' and 'a_b' map to the same file name 'same'"):
        run_target({"format": "jsonl", "output_dir": str(tmp_path)}, _stream("a/b", 1) + _stream("a_b", 2))
    assert not list(tmp_path.iterdir())


def test_a_cell_xml_cannot_hold_never_replaces_a_good_workbook(tmp_path):
    config = {"format": "xlsx", "output_dir": str(tmp_path)}
    props = {**ID, "x": {"type": ["string", "null"]}}
    run_target(config, [schema("t", props), record("t", {"id": 1, "x": "fine"})])
    before = (tmp_path / "singer_export.xlsx").read_bytes()
    # A lone surrogate passes JSON parsing but no XML can carry it: refused (whichever layer
    # catches it first), and the previous workbook stays.
    with pytest.raises(Exception, match=r"'t'") as err:
        run_target(config, [schema("t", props), record("t", {"id": 2, "x": "a\ud800b"})])
    assert not isinstance(err.value, AssertionError)
    assert (tmp_path / "singer_export.xlsx").read_bytes() == before
    openpyxl.load_workbook(tmp_path / "singer_export.xlsx", read_only=True).close()
