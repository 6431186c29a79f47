"""`autotask export` and `autotask sync` against the session sandbox, into real files and databases."""

from __future__ import annotations

import sqlite3
import uuid

import openpyxl
import orjson
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from sdk_core import AutotaskClient, Q

POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@pytest.fixture(scope="module")
def api(sandbox):
    with AutotaskClient(**sandbox.credentials) as client:
        yield client


def _referenced(rows, field):
    return {r[field] for r in rows if r.get(field) is not None}


def test_xlsx_has_a_sheet_per_entity_with_labels_and_only_referenced_rows(run, api, tmp_path):
    out = tmp_path / "q.xlsx"
    done = run("export", "Tickets", "--since", "2000-01-01", "--include-related", "--out", str(out))
    assert "Tickets: " in done.stderr
    book = openpyxl.load_workbook(out, read_only=True)
    tickets = list(api.tickets.query(Q("createDate") >= "2000-01-01T00:00:00Z"))
    assert {"Tickets", "Companies", "Resources", "relationships"} <= set(book.sheetnames)
    sheet = list(book["Tickets"].iter_rows(values_only=True))
    header = list(sheet[0])
    assert len(sheet) - 1 == len(tickets)
    assert header.index("status_label") == header.index("status") + 1
    labels = {
        str(v["value"]): v["label"]
        for f in api.tickets.fields()
        if f["name"].lower() == "status"
        for v in f["picklistValues"]
    }
    by_id = {r[header.index("id")]: r for r in sheet[1:]}
    for ticket in tickets[:20]:
        assert by_id[ticket["id"]][header.index("status_label")] == labels[str(ticket["status"])]
    companies = list(book["Companies"].iter_rows(values_only=True))
    assert {row[0] for row in companies[1:]} == _referenced(tickets, "companyID")
    relations = {(r[0], r[1], r[2]) for r in list(book["relationships"].iter_rows(values_only=True))[1:]}
    assert ("Tickets", "companyID", "Companies") in relations


def test_include_related_exports_only_the_rows_referenced(run, api, tmp_path):
    few = list(api.tickets.query(Q("status") == 1))[:3]
    out = tmp_path / "few.xlsx"
    ids = ",".join(str(t["id"]) for t in few)
    run("export", "Tickets", "--where", f"id in ({ids})", "--include-related", "--out", str(out))
    book = openpyxl.load_workbook(out, read_only=True)
    companies = {row[0] for row in list(book["Companies"].iter_rows(values_only=True))[1:]}
    resources = {row[0] for row in list(book["Resources"].iter_rows(values_only=True))[1:]}
    assert companies == _referenced(few, "companyID") and len(companies) < api.companies.count()
    wanted = set()
    for field in (
        "assignedResourceID",
        "creatorResourceID",
        "completedByResourceID",
        "lastActivityResourceID",
        "firstResponseAssignedResourceID",
        "firstResponseInitiatingResourceID",
        "impersonatorCreatorResourceID",
    ):
        wanted |= _referenced(few, field)
    assert resources == wanted


def test_sqlite_tables_are_snake_case_with_foreign_keys(run, api, tmp_path):
    out = tmp_path / "x.sqlite"
    run("export", "Tickets", "TicketNotes", "--include-related", "--format", "sqlite", "--out", str(out))
    conn = sqlite3.connect(out)
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"tickets", "ticket_notes", "companies", "relationships"} <= tables
    assert conn.execute("SELECT COUNT(*) FROM tickets").fetchone()[0] == api.tickets.count()
    assert conn.execute("SELECT COUNT(*) FROM ticket_notes").fetchone()[0] == api.ticket_notes.count()
    keys = {(r[3], r[2]) for r in conn.execute("PRAGMA foreign_key_list(ticket_notes)")}
    assert ("ticketID", "tickets") in keys
    indexed = {
        conn.execute(f"PRAGMA index_info('{r[1]}')").fetchone()[2]
        for r in conn.execute("PRAGMA index_list(ticket_notes)")
    }
    assert "ticketID" in indexed
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []


def test_csv_parquet_jsonl_folders_and_the_where_filter(run, api, tmp_path):
    want = api.tickets.count(Q("status") == 1)
    for fmt in ("csv", "parquet", "jsonl"):
        out = tmp_path / fmt
        run("export", "Tickets", "--where", "status=1", "--format", fmt, "--out", str(out))
        path = out / f"tickets.{fmt}"
        if fmt == "parquet":
            assert pq.read_table(path).num_rows == want
        else:
            assert len(path.read_text().splitlines()) == want + (fmt == "csv")


def test_python_twin_matches_the_command(api, tmp_path):
    result = api.exporter().add("Companies").include_related().to(tmp_path / "c.xlsx")
    assert result.rows["Companies"] == api.companies.count()
    assert result.requests > 0 and "Companies" in result.summary()


def test_export_errors_are_clear(run, tmp_path):
    assert "no known suffix" in run("export", "Tickets", "--out", str(tmp_path / "x"), code=2).stderr
    assert (
        "not a date"
        in run(
            "export", "Tickets", "--since", "yesterday-ish", "--out", str(tmp_path / "x.xlsx"), code=2
        ).stderr
    )


def test_sync_into_sqlite_then_nothing_new(run, tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    first = run("sync", "--to", url, "--streams", "tickets,companies")
    assert "tickets: 297 rows" in first.stderr or "tickets:" in first.stderr
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        loaded = conn.execute(sa.text("SELECT COUNT(*) FROM tickets")).scalar()
        assert conn.execute(sa.text("SELECT COUNT(*) FROM _autotask_sync_state")).scalar() == 1
    second = run("sync", "--to", url, "--streams", "tickets,companies")
    assert "synced 0 rows" in second.stderr
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM tickets")).scalar() == loaded


def test_sync_into_postgres_schema_and_a_folder(run, api, tmp_path):
    schema = f"sync_{uuid.uuid4().hex[:8]}"
    engine = sa.create_engine(POSTGRES)
    with engine.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    try:
        run("sync", "--to", POSTGRES, "--schema", schema, "--streams", "companies")
        with engine.connect() as conn:
            assert (
                conn.execute(sa.text(f'SELECT COUNT(*) FROM "{schema}".companies')).scalar()
                == api.companies.count()
            )
            assert (
                conn.execute(sa.text(f'SELECT COUNT(*) FROM "{schema}"._autotask_sync_state')).scalar() == 1
            )
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
    folder = tmp_path / "files"
    run("sync", "--to", str(folder), "--format", "jsonl", "--streams", "companies")
    assert len((folder / "companies.jsonl").read_text().splitlines()) == api.companies.count()
    assert orjson.loads((folder / ".autotask-sync-state.json").read_bytes())


def test_sync_needs_streams(run, tmp_path):
    assert "--streams" in run("sync", "--to", str(tmp_path), code=2).stderr
