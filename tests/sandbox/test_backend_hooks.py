"""The backend's public surface used outside HTTP (activity simulator, webhooks): change
events, direct writes, deterministic random ids, plausible new rows, ticket deletion."""

from __future__ import annotations

import random

import pytest

from autotask_sandbox.backend import Backend, ChangeEvent
from autotask_sandbox.errors import ApiError


def test_events_for_create_update_delete(backend: Backend) -> None:
    events: list[ChangeEvent] = []
    unsubscribe = backend.subscribe(events.append)
    rng = random.Random(5)
    data = backend.make_row("Tickets", rng)
    tid = backend.create("Tickets", data)
    created = events[-1]
    assert (created.action, created.entity, created.id) == ("Create", "Tickets", tid)
    assert created.changed_fields["title"] == data["title"] and "id" in created.changed_fields
    assert created.person_id == backend.api_resource_id and created.occurred_at.tzinfo
    current = {u["name"]: u["value"] for u in backend.get("Tickets", tid)["userDefinedFields"]}
    cause = "4" if current["Root Cause"] != "4" else "5"
    actor = backend.random_id("Resources", rng)
    backend.update(
        "Tickets",
        tid,
        {"title": "Changed", "userDefinedFields": [{"name": "Root Cause", "value": cause}]},
        person_id=actor,
    )
    updated = events[-1]
    assert updated.action == "Update" and updated.changed_fields["title"] == "Changed"
    assert "description" not in updated.changed_fields and updated.udf_changes == {"Root Cause": cause}
    assert updated.person_id == actor
    note = backend.create("TicketNotes", backend.make_row("TicketNotes", rng, {"ticketID": tid}))
    assert [(e.action, e.entity) for e in events[-2:]] == [("Create", "TicketNotes"), ("Update", "Tickets")]
    assert events[-1].changed_fields.keys() == {"lastActivityDate", "lastActivityResourceID"}
    assert events[-1].changed_fields["lastActivityResourceID"] == backend.api_resource_id
    backend.delete("Tickets", tid)
    assert (events[-1].action, events[-1].id) == ("Delete", tid)
    assert backend.get("Tickets", tid) is None and backend.get("TicketNotes", note) is None
    log = backend.query("DeletedTicketLogs", [{"op": "eq", "field": "ticketID", "value": tid}]).items
    assert len(log) == 1 and log[0]["ticketTitle"] == "Changed"
    unsubscribe()
    backend.update("Tickets", backend.random_id("Tickets", rng), {"title": "unseen"})
    assert events[-1].action == "Delete"


def test_failed_write_changes_nothing_and_emits_nothing(backend: Backend) -> None:
    events: list[ChangeEvent] = []
    backend.subscribe(events.append)
    before = backend.count("Tickets", [{"op": "exist", "field": "id"}])
    with pytest.raises(ApiError):
        backend.create("Tickets", {"companyID": 0, "title": "x", "status": 1, "priority": 1, "contactID": -5})
    assert backend.count("Tickets", [{"op": "exist", "field": "id"}]) == before and events == []


def test_random_ids_are_deterministic_and_exist(backend: Backend) -> None:
    a = [backend.random_id("Tickets", random.Random(9)) for _ in range(3)]
    assert len(set(a)) == 1 and backend.get("Tickets", a[0]) is not None
    company = backend.random_id("Companies", random.Random(1))
    contact = backend.random_id("Contacts", random.Random(2), companyID=company)
    assert contact is None or backend.get("Contacts", contact)["companyID"] == company


def test_plausible_rows_respect_references(backend: Backend) -> None:
    rng = random.Random(11)
    for entity in ("Contacts", "TimeEntries", "Tasks", "Companies", "ConfigurationItems", "Roles"):
        new_id = backend.create(entity, backend.make_row(entity, rng))
        assert backend.get(entity, new_id) is not None


def test_a_subscriber_error_does_not_break_writes(backend: Backend) -> None:
    def broken(event: ChangeEvent) -> None:
        raise RuntimeError("subscriber bug")

    backend.subscribe(broken)
    tid = backend.random_id("Tickets", random.Random(1))
    assert backend.update("Tickets", tid, {"title": "still saved"}) == tid
    assert backend.get("Tickets", tid)["title"] == "still saved"


def test_reset_restores_the_generated_tenant(backend: Backend) -> None:
    tid = backend.random_id("Tickets", random.Random(3))
    original = backend.get("Tickets", tid)
    backend.update("Tickets", tid, {"title": "temporary"})
    backend.reset()
    assert backend.get("Tickets", tid) == original


def test_atomic_writes_commit_together_or_not_at_all(backend: Backend) -> None:
    events: list[ChangeEvent] = []
    backend.subscribe(events.append)
    rng = random.Random(9)
    ticket = backend.random_id("Tickets", rng)
    before = backend.count("TicketNotes", [{"op": "eq", "field": "ticketID", "value": ticket}])
    with pytest.raises(ApiError):
        with backend.atomic():
            backend.create("TicketNotes", backend.make_row("TicketNotes", rng, {"ticketID": ticket}))
            backend.update("Tickets", ticket, {"title": "inside a failed batch"})
            assert events == []  # nothing is announced before the commit
            backend.update("Tickets", ticket, {"noSuchField": 1})
    assert events == []
    assert backend.count("TicketNotes", [{"op": "eq", "field": "ticketID", "value": ticket}]) == before
    assert backend.get("Tickets", ticket)["title"] != "inside a failed batch"
    with backend.atomic():
        note = backend.create("TicketNotes", backend.make_row("TicketNotes", rng, {"ticketID": ticket}))
        with pytest.raises(ApiError):  # a refused write inside rolls back only itself
            backend.update("Tickets", ticket, {"noSuchField": 1})
        backend.update("Tickets", ticket, {"title": "batch committed"})
    assert backend.get("TicketNotes", note) is not None
    assert backend.get("Tickets", ticket)["title"] == "batch committed"
    assert [(e.action, e.entity) for e in events] == [
        ("Create", "TicketNotes"),
        ("Update", "Tickets"),
        ("Update", "Tickets"),
    ]
