"""Writes the real API rejects are rejected (required fields nulled, strings over their
`/fields` length, duplicate ContactGroup names), and server-maintained fields are read-only:
reported `isReadOnly` by `/fields` and ignored when written."""

from __future__ import annotations

from typing import Any

from autotask_sandbox.testing import SandboxServer
from sdk_core.catalog import load_catalog

# The module's own tiny sandbox (`server` and `w` fixtures in conftest.py).
SERVER_SEED = 4


def fields_of(w: Any, entity: str) -> dict[str, dict[str, Any]]:
    r = w.get(f"{entity}/entityInformation/fields")
    assert r.status_code == 200, r.text
    return {f["name"].lower(): f for f in r.json()["fields"]}


def new_ticket(w: Any, **extra: Any) -> int:
    r = w.post("Tickets", {"companyID": 0, "title": "Printer on fire", "status": 1, "priority": 2, **extra})
    assert r.status_code == 200, r.text
    return r.json()["itemId"]


def test_patch_cannot_null_a_required_field(w: Any) -> None:
    tid = new_ticket(w)
    assert fields_of(w, "Tickets")["title"]["isRequired"] is True
    r = w.patch("Tickets", {"id": tid, "title": None})
    assert w.error(r) == "Missing Required Field: title. ; on record number [1]."
    assert w.get(f"Tickets/{tid}").json()["item"]["title"] == "Printer on fire"
    assert w.patch("Tickets", {"id": tid, "description": None}).status_code == 200


def test_strings_longer_than_their_length_are_rejected(w: Any) -> None:
    length = fields_of(w, "Tickets")["title"]["length"]
    assert length == 255
    before = w.post("Tickets/query/count", {"filter": [{"op": "exist", "field": "id"}]}).json()
    r = w.post("Tickets", {"companyID": 0, "title": "x" * 300, "status": 1, "priority": 1})
    message = w.error(r)
    assert "title" in message and "255" in message
    assert w.post("Tickets/query/count", {"filter": [{"op": "exist", "field": "id"}]}).json() == before
    tid = new_ticket(w, title="y" * length)
    assert len(w.get(f"Tickets/{tid}").json()["item"]["title"]) == length
    assert "title" in w.error(w.patch("Tickets", {"id": tid, "title": "z" * (length + 1)}))
    contact = fields_of(w, "Contacts")["firstname"]
    first = w.ids("Contacts", [{"op": "exist", "field": "id"}], MaxRecords=1)[0]
    r = w.patch(
        f"Companies/{w.get(f'Contacts/{first}').json()['item']['companyID']}/Contacts",
        {"id": first, "firstName": "n" * (contact["length"] + 1)},
    )
    assert str(contact["length"]) in w.error(r)


def test_contact_group_names_are_unique(w: Any) -> None:
    assert w.post("ContactGroups", {"name": "Escalation Team", "isActive": True}).status_code == 200
    r = w.post("ContactGroups", {"name": "escalation team", "isActive": True})
    assert w.error(r) == (
        "A ContactGroup already exists with Name [escalation team]. ContactGroup names must be unique."
    )
    other = w.post("ContactGroups", {"name": "Night Shift", "isActive": True}).json()["itemId"]
    assert "must be unique" in w.error(w.patch("ContactGroups", {"id": other, "name": "Escalation Team"}))
    assert (
        w.patch("ContactGroups", {"id": other, "name": "Night Shift", "isActive": False}).status_code == 200
    )
    names = [g["name"] for g in w.query("ContactGroups", [{"op": "exist", "field": "id"}]).json()["items"]]
    assert names.count("Escalation Team") == 1 and names.count("Night Shift") == 1


def test_server_maintained_fields_are_read_only_in_fields(w: Any) -> None:
    tickets = fields_of(w, "Tickets")
    for name in (
        "lastactivitydate",
        "createdate",
        "creatorresourceid",
        "lasttrackedmodificationdatetime",
        "impersonatorcreatorresourceid",
    ):
        assert tickets[name]["isReadOnly"] is True, name
        assert tickets[name]["isSupportedWebhookField"] is False, name
    assert tickets["title"]["isReadOnly"] is False
    catalog = load_catalog()
    for info in catalog:
        stamps = {n.lower() for n in (info.modification_timestamp, info.creation_timestamp) if n}
        if not stamps or not info.queryable:
            continue
        shown = fields_of(w, info.name)
        assert all(shown[name]["isReadOnly"] for name in stamps), info.name


def test_server_maintained_fields_are_ignored_on_write(w: Any, server: SandboxServer) -> None:
    api_user = w.ids("Resources", [{"op": "eq", "field": "email", "value": server.username}])[0]
    other = w.ids("Resources", [{"op": "noteq", "field": "email", "value": server.username}])[0]
    forged = {
        "createDate": "2001-01-01T00:00:00",
        "lastActivityDate": "2001-01-01T00:00:00",
        "lastTrackedModificationDateTime": "2001-01-01T00:00:00",
        "creatorResourceID": other,
        "impersonatorCreatorResourceID": other,
    }
    tid = new_ticket(w, **forged)
    item = w.get(f"Tickets/{tid}").json()["item"]
    assert not item["createDate"].startswith("2001") and not item["lastActivityDate"].startswith("2001")
    assert item["creatorResourceID"] == api_user and item["impersonatorCreatorResourceID"] is None
    assert w.patch("Tickets", {"id": tid, **forged, "title": "changed"}).status_code == 200
    after = w.get(f"Tickets/{tid}").json()["item"]
    assert after["createDate"] == item["createDate"] and after["creatorResourceID"] == api_user
    assert after["lastActivityDate"] >= item["lastActivityDate"] and after["title"] == "changed"
    assert not after["lastTrackedModificationDateTime"].startswith("2001")
