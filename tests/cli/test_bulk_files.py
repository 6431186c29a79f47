"""`autotask bulk` from CSV, XLSX and Parquet files against a private sandbox: labels, errors, prompts."""

from __future__ import annotations

import csv
import os

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from sdk_core import AutotaskClient, Q
from sdk_core.cli import main


@pytest.fixture
def private(sandbox_factory, monkeypatch, tmp_path):
    """A writable sandbox, its client, and `run(*args, code=0, input=None)` of `autotask`."""
    server = sandbox_factory()
    for key in [k for k in os.environ if k.startswith("AUTOTASK_")]:
        monkeypatch.delenv(key)
    for key, value in server.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AUTOTASK_CACHE_DIR", str(tmp_path / "cache"))
    client = AutotaskClient(**server.credentials, cache_dir=str(tmp_path / "cache2"))

    def run(*args: str, code: int = 0, input: str | None = None):
        result = CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)
        assert result.exit_code == code, (result.stdout, result.stderr)
        return result

    yield client, run
    client.close()


def _write_csv(path, rows):
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


def _labels(client, field):
    return {
        v["label"]: int(v["value"])
        for f in client.tickets.fields()
        if f["name"].lower() == field
        for v in f["picklistValues"]
    }


def test_create_from_csv_with_labels_then_update_from_xlsx(private, tmp_path):
    client, run = private
    company, queue = 29680002, 29682844
    status, priority = _labels(client, "status"), _labels(client, "priority")
    rows = _write_csv(
        tmp_path / "new.csv",
        [
            ["Title", "STATUS", "priority", "CompanyID", "queueid"],
            *[[f"Migrated {n}", "New", "Medium", company, queue] for n in range(6)],
        ],
    )
    done = run("bulk", "create", "Tickets", "--file", str(rows), "--yes")
    assert "done" in done.stderr
    made = list(client.tickets.query(Q("title").begins_with("Migrated "), ["title", "status", "priority"]))
    assert sorted(t["title"] for t in made) == [f"Migrated {n}" for n in range(6)]
    assert {(t["status"], t["priority"]) for t in made} == {(status["New"], priority["Medium"])}
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["id", "Status"])
    for ticket in made:
        sheet.append([ticket["id"], "Complete"])
    book.save(tmp_path / "close.xlsx")
    run("bulk", "update", "Tickets", "--file", str(tmp_path / "close.xlsx"), "--yes")
    assert {t["status"] for t in client.tickets.query(Q("id").in_([t["id"] for t in made]), ["status"])} == {
        status["Complete"]
    }


def test_dry_run_sends_nothing_and_bad_labels_name_row_and_column(private, tmp_path):
    client, run = private
    before = client.tickets.count()
    rows = _write_csv(
        tmp_path / "rows.csv",
        [
            ["Title", "Status", "CompanyID", "QueueID", "Priority"],
            ["Dry", "New", 29680002, 29682844, "Medium"],
        ],
    )
    run("bulk", "create", "Tickets", "--file", str(rows), "--dry-run")
    assert client.tickets.count() == before
    bad = _write_csv(tmp_path / "bad.csv", [["Title", "Status"], ["x", "Someday"]])
    assert (
        "row 2, column status: 'Someday' is no value or label"
        in run("bulk", "create", "Tickets", "--file", str(bad), code=2).stderr
    )
    unknown = _write_csv(tmp_path / "unknown.csv", [["Titel"], ["x"]])
    assert "did you mean 'title'" in run("bulk", "create", "Tickets", "--file", str(unknown), code=2).stderr


def test_failed_rows_go_to_an_errors_file_in_autotasks_words(private, tmp_path):
    client, run = private
    rows = _write_csv(
        tmp_path / "mixed.csv",
        [
            ["Title", "Status", "CompanyID", "QueueID", "Priority"],
            ["Fine", "New", 29680002, 29682844, "Medium"],
            ["x" * 300, "New", 29680002, 29682844, "Medium"],
        ],
    )
    run("bulk", "create", "Tickets", "--file", str(rows), "--yes", code=8)
    with (tmp_path / "mixed.csv.errors.csv").open() as handle:
        errors = list(csv.DictReader(handle))
    assert [e["file_row"] for e in errors] == ["3"] and "title" in errors[0]["message"].lower()
    assert client.tickets.count(Q("title") == "Fine") == 1


def test_delete_asks_first_and_parquet_rows(private, tmp_path):
    client, run = private
    groups = client.entity("ContactGroups")
    pq.write_table(
        pa.table({"Name": [f"Bulk group {n}" for n in range(3)], "isActive": [True] * 3}),
        tmp_path / "groups.parquet",
    )
    run("bulk", "create", "ContactGroups", "--file", str(tmp_path / "groups.parquet"), "--yes")
    ids = [g["id"] for g in groups.query(Q("name").begins_with("Bulk group "))]
    assert len(ids) == 3
    pq.write_table(pa.table({"id": ids}), tmp_path / "gone.parquet")
    refused = run(
        "bulk", "delete", "ContactGroups", "--file", str(tmp_path / "gone.parquet"), input="n\n", code=2
    )
    assert "nothing sent" in refused.stderr and groups.count(Q("id").in_(ids)) == 3
    run("bulk", "delete", "ContactGroups", "--file", str(tmp_path / "gone.parquet"), input="y\n")
    assert groups.count(Q("id").in_(ids)) == 0
