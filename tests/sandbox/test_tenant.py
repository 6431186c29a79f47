"""The generated tenant: determinism per seed, referential integrity, required contents."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from autotask_sandbox.generator import build_tenant
from sdk_core.catalog import load_catalog


def test_same_seed_same_bytes_different_seed_different_data(tmp_path: Path) -> None:
    build_tenant(tmp_path / "a.sqlite", "tiny", 7)
    build_tenant(tmp_path / "b.sqlite", "tiny", 7)
    build_tenant(tmp_path / "c.sqlite", "tiny", 8)
    assert (tmp_path / "a.sqlite").read_bytes() == (tmp_path / "b.sqlite").read_bytes()
    titles = []
    for name in ("a", "c"):
        with sqlite3.connect(tmp_path / f"{name}.sqlite") as conn:
            titles.append(
                conn.execute('SELECT "title", "createDate" FROM "Tickets" ORDER BY "id"').fetchall()
            )
    assert titles[0] != titles[1]


def test_references_point_at_existing_rows(api: Any) -> None:
    catalog = load_catalog()
    checked = 0
    for entity in (
        "Tickets",
        "TicketNotes",
        "TimeEntries",
        "Contacts",
        "Tasks",
        "Projects",
        "ContractServices",
        "ConfigurationItems",
        "BillingItems",
        "Quotes",
    ):
        items = api.all_items(entity)
        assert items, entity
        for f in catalog.get(entity).fields:
            if not f.reference:
                continue
            refs = sorted({i[f.name] for i in items if i[f.name] is not None})
            for start in range(0, len(refs), 400):
                chunk = refs[start : start + 400]
                found = api.ids(f.reference, [{"op": "in", "field": "id", "value": chunk}])
                assert found == chunk, (entity, f.name)
                checked += len(chunk)
    assert checked > 500


def test_tenant_contents(api: Any) -> None:
    msp = api.get("Companies/0").json()["item"]
    assert msp["id"] == 0
    for entity in (
        "CompanyLocations",
        "Roles",
        "Departments",
        "Phases",
        "Contracts",
        "ContractBlocks",
        "Opportunities",
        "Invoices",
        "DeletedTicketLogs",
    ):
        assert (
            api.post(f"{entity}/query/count", {"filter": [{"op": "exist", "field": "id"}]}).json()[
                "queryCount"
            ]
            > 0
        ), entity
    on_tasks = api.ids("TimeEntries", [{"op": "exist", "field": "taskID"}])
    assert on_tasks
    deleted = api.query("DeletedTicketLogs", [{"op": "exist", "field": "id"}]).json()["items"]
    gone = api.ids("Tickets", [{"op": "in", "field": "id", "value": [d["ticketID"] for d in deleted]}])
    assert gone == []
    stamps = sorted(t["createDate"] for t in api.all_items("Tickets"))
    assert stamps[0] < "2025" and stamps[-1] > "2026-06"


def test_every_queryable_entity_answers(api: Any) -> None:
    for entity in load_catalog().queryable():
        r = api.query(entity.name, [{"op": "exist", "field": "id"}], MaxRecords=1)
        assert r.status_code == 200, (entity.name, r.text)


def test_catalog_spot_checks() -> None:
    catalog = load_catalog()
    assert len(catalog.queryable()) == 221 and len(catalog) == 232
    assert catalog.get("Tickets").root_verbs == ("query", "count", "get", "create", "update", "patch")
    assert set(catalog.get("TimeEntries").root_verbs) >= {"create", "delete"}
    notes = catalog.get("TicketNotes")
    assert notes.parent_route("create").path == "/Tickets/{parentId}/Notes"
    assert "delete" not in notes.parent_route("create").verbs
    assert catalog.get("Companies").internal_name == "Account"
