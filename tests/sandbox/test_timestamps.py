"""Appendix B over raw HTTP: every entity with a modification-style timestamp that the API lets
a client PATCH (at its root or under its parent) moves that timestamp on a write, and a create
stamps it (checklist item "maintain lastActivityDate/lastModified* on every write")."""

from __future__ import annotations

from typing import Any

import pytest

from sdk_core.catalog import EntityInfo, load_catalog

CATALOG = load_catalog()


def patch_route(info: EntityInfo) -> tuple[str, str] | None:
    """(path template, parent foreign key) of a PATCH for the entity, root first."""
    if "patch" in info.root_verbs:
        return info.name, ""
    for route in info.parents:
        if "patch" in route.verbs:
            fk = next((f.name for f in info.fields if f.reference == route.parent), None)
            if fk:
                return route.path.lstrip("/").replace("{parentId}", "{pid}"), fk
    return None


def writable_text_field(info: EntityInfo, picklist_fields: set[str]) -> str | None:
    return next(
        (
            f.name
            for f in info.fields
            if f.data_type == "string"
            and not f.read_only
            and not f.reference
            and f.name.lower() not in picklist_fields
        ),
        None,
    )


CASES = [e for e in CATALOG if e.modification_timestamp and e.queryable and patch_route(e)]


# The module's own tiny sandbox (`server` and `w` fixtures in conftest.py).
SERVER_SEED = 11


def test_the_cases_cover_the_main_entities() -> None:
    names = {e.name for e in CASES}
    assert {
        "Tickets",
        "Companies",
        "Contacts",
        "Projects",
        "Tasks",
        "TicketNotes",
        "TimeEntries",
        "Contracts",
        "ConfigurationItems",
    } <= names


@pytest.mark.parametrize("info", CASES, ids=lambda e: e.name)
def test_a_patch_moves_the_modification_timestamp(w: Any, info: EntityInfo) -> None:
    stamp = info.modification_timestamp
    rows = w.query(info.name, [{"op": "exist", "field": "id"}], MaxRecords=1).json()["items"]
    if not rows:
        pytest.skip(f"the tiny tenant has no {info.name}")
    row = rows[0]
    fields = w.get(f"{info.name}/entityInformation/fields").json()["fields"]
    picklists = {f["name"].lower() for f in fields if f["isPickList"]}
    name = writable_text_field(info, picklists)
    if name is None:
        pytest.skip(f"{info.name} has no free-text writable field")
    path, fk = patch_route(info)
    url = path.replace("{pid}", str(row[fk])) if fk else path
    r = w.patch(url, {"id": row["id"], name: "Timestamp check"})
    assert r.status_code == 200, r.text
    after = w.get(f"{info.name}/{row['id']}").json()["item"]
    assert after[name] == "Timestamp check"
    assert after[stamp] and after[stamp] > (row[stamp] or ""), (stamp, row[stamp], after[stamp])
