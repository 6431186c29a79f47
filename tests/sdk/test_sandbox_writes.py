"""Writes and their errors against a private sandbox server."""

from __future__ import annotations

import pytest

from sdk_core import (
    AuthenticationError,
    QueryError,
    UnsupportedOperationError,
    ValidationError,
)


@pytest.fixture(scope="module")
def server():
    from autotask_sandbox.testing import SandboxServer

    with SandboxServer(scale="tiny", seed=1) as s:
        yield s


def test_create_update_replace_and_delete(server, make_client):
    client = make_client(server)
    template = next(iter(client.tickets.query(fields=["companyID", "priority", "status", "queueID"])))
    new_id = client.tickets.create(
        {
            "title": "SDK create",
            "companyID": template["companyID"],
            "priority": template["priority"],
            "status": 1,
            "queueID": template["queueID"],
        }
    )
    created = client.tickets.get(new_id)
    assert created["title"] == "SDK create" and created["status"] == 1
    assert client.tickets.update({"id": new_id, "title": "SDK patched"}) == new_id
    patched = client.tickets.get(new_id)
    assert patched["title"] == "SDK patched" and patched["queueID"] == template["queueID"]
    full = {k: v for k, v in patched.items() if k not in ("ticketNumber", "createDate")}
    full["description"] = "replaced"
    assert client.tickets.replace(full) == new_id
    assert client.tickets.get(new_id)["description"] == "replaced"

    entry = next(iter(client.time_entries.query()))
    assert client.time_entries.delete(entry["id"]) == entry["id"]
    assert client.time_entries.get(entry["id"]) is None


def test_child_writes_go_through_the_parent_route(server, make_client):
    client = make_client(server)
    ticket = next(iter(client.tickets.query()))
    note = {
        "ticketID": ticket["id"],
        "title": "From the SDK",
        "description": "via parent route",
        "noteType": 1,
        "publish": 1,
    }
    with pytest.raises(UnsupportedOperationError, match=r"pass parent_id=<Tickets id>"):
        client.ticket_notes.create(note)
    note_id = client.ticket_notes.create(note, parent_id=ticket["id"])
    assert client.ticket_notes.get(note_id)["title"] == "From the SDK"
    assert client.ticket_notes.update({"id": note_id, "title": "edited"}, parent_id=ticket["id"]) == note_id
    assert client.ticket_notes.get(note_id)["title"] == "edited"
    stats = server.admin.stats()["endpoints"]["TicketNotes"]
    assert stats.get("child_create") == 1 and stats.get("child_patch") == 1


def test_writes_the_catalog_forbids_fail_before_any_request(server, make_client):
    client = make_client(server)
    with pytest.raises(UnsupportedOperationError, match="Tickets cannot be deleted"):
        client.tickets.delete(1)
    with pytest.raises(UnsupportedOperationError, match="cannot be created"):
        client.entity("DeletedTicketLogs").create({"ticketID": 1})
    with pytest.raises(QueryError, match="needs the record's id"):
        client.tickets.update({"title": "no id"})
    with pytest.raises(QueryError, match="an id must be an integer"):
        client.tickets.get("12")
    assert client.request_count == 0


def test_autotask_validation_messages_reach_the_caller(server, make_client):
    client = make_client(server)
    company = next(iter(client.companies.query()))["id"]
    with pytest.raises(ValidationError, match=r"Missing Required Field: [Tt]itle") as info:
        client.tickets.create({"companyID": company, "priority": 1, "status": 1})
    assert info.value.status_code == 500 and info.value.messages
    with pytest.raises(ValidationError, match="Picklist value"):
        client.tickets.create({"title": "x", "companyID": company, "priority": 999, "status": 1})
    with pytest.raises(ValidationError, match="Reference value"):
        client.tickets.create({"title": "x", "companyID": 123, "priority": 1, "status": 1})


def test_wrong_secret_is_an_authentication_error_without_the_secret(server, make_client):
    client = make_client(server, secret="definitely-wrong-secret")
    with pytest.raises(AuthenticationError) as info:
        client.tickets.count()
    assert "definitely-wrong-secret" not in str(info.value) + repr(info.value)
    assert "definitely-wrong-secret" not in repr(client)
