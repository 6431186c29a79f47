"""The activity simulator, driven over HTTP on a private sandbox and checked through the API."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from autotask_sandbox.testing import SandboxError, SandboxServer

# Entity -> the timestamp a tap reads incrementally (what the simulator must move).
CURSORS = {
    "Tickets": "lastActivityDate",
    "TicketNotes": "lastActivityDate",
    "TimeEntries": "lastModifiedDateTime",
    "Contacts": "lastModifiedDate",
    "Companies": "lastActivityDate",
}


def rest_client(sb: SandboxServer) -> httpx.Client:
    return httpx.Client(base_url=sb.api_url + "V1.0/", headers=sb.headers, timeout=30)


def query_ids(client: httpx.Client, entity: str, conditions: list[dict[str, Any]]) -> set[int]:
    """Every matching id, paged by id cursor."""
    ids: set[int] = set()
    last = 0
    while True:
        body = {"filter": conditions + [{"op": "gt", "field": "id", "value": last}], "IncludeFields": ["id"]}
        response = client.post(f"{entity}/query", json=body)
        response.raise_for_status()
        items = response.json()["items"]
        ids.update(item["id"] for item in items)
        if len(items) < 500:
            return ids
        last = items[-1]["id"]


def now_text() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]


def expected_live(changes: list[dict[str, Any]], entity: str) -> set[int]:
    """Ids of an entity created or updated by the batch and still present at its end."""
    touched = {c["id"] for c in changes if c["entity"] == entity and c["action"] != "Delete"}
    deleted = {c["id"] for c in changes if c["entity"] == entity and c["action"] == "Delete"}
    return touched - deleted


def test_batch_moves_exactly_the_timestamps_of_the_rows_it_changed(
    sandbox_factory: Callable[..., SandboxServer],
) -> None:
    sb = sandbox_factory()
    before = now_text()
    time.sleep(0.01)
    summary = sb.admin.post("activity", {"updates": 30, "creates": 10, "deletes": 4, "seed": 3})
    assert summary["totals"]["updates"] == 30 and summary["totals"]["skipped"] == 0
    assert summary["errors"] == []
    assert summary["requested"] == {"updates": 30, "creates": 10, "deletes": 4}
    changes = summary["changes"]
    assert len(changes) == summary["totals"]["changes"] >= 44
    assert expected_live(changes, "Tickets") and expected_live(changes, "TimeEntries")
    with rest_client(sb) as client:
        for entity, cursor in CURSORS.items():
            got = query_ids(client, entity, [{"op": "gte", "field": cursor, "value": before}])
            assert got == expected_live(changes, entity), entity
        # every listed creation or update is readable, every listed delete is gone
        for change in changes:
            if change["entity"] not in CURSORS:
                continue
            response = client.get(f"{change['entity']}/{change['id']}")
            alive = change["id"] in expected_live(changes, change["entity"])
            assert (response.status_code == 200) == alive, change


def test_notes_and_time_entries_bump_their_ticket(sandbox_factory: Callable[..., SandboxServer]) -> None:
    sb = sandbox_factory()
    summary = sb.admin.post(
        "activity", {"updates": 12, "seed": 5, "entities": ["TicketNotes", "time_entries"]}
    )
    kinds = {c["kind"] for c in summary["changes"]}
    assert kinds <= {"ticket_note_added", "time_entry_added"} and kinds
    with rest_client(sb) as client:
        for change in summary["changes"]:
            if change["entity"] == "Tickets":
                continue
            child = client.get(f"{change['entity']}/{change['id']}").json()["item"]
            ticket = client.get(f"Tickets/{child['ticketID']}").json()["item"]
            stamp = child["lastActivityDate" if change["entity"] == "TicketNotes" else "lastModifiedDateTime"]
            assert ticket["lastActivityDate"] >= stamp
            assert any(
                c["entity"] == "Tickets" and c["id"] == ticket["id"] and c["action"] == "Update"
                for c in summary["changes"]
            )


def test_deleted_tickets_are_logged_with_who_and_when(sandbox_factory: Callable[..., SandboxServer]) -> None:
    sb = sandbox_factory()
    before = now_text()
    summary = sb.admin.post("activity", {"deletes": 3, "seed": 9, "entities": ["Tickets"]})
    deleted = [c for c in summary["changes"] if c["entity"] == "Tickets"]
    assert [c["action"] for c in deleted] == ["Delete"] * 3
    with rest_client(sb) as client:
        logs = client.post(
            "DeletedTicketLogs/query",
            json={"filter": [{"op": "in", "field": "ticketID", "value": [c["id"] for c in deleted]}]},
        ).json()["items"]
        assert sorted(row["ticketID"] for row in logs) == sorted(c["id"] for c in deleted)
        by_ticket = {c["id"]: c for c in deleted}
        for row in logs:
            assert row["deletedDateTime"] >= before
            assert row["deletedByResourceID"] == by_ticket[row["ticketID"]]["person"]
            assert row["ticketNumber"]
        listed_logs = {c["id"] for c in summary["changes"] if c["entity"] == "DeletedTicketLogs"}
        assert listed_logs == {row["id"] for row in logs}
        for change in deleted:
            assert client.get(f"Tickets/{change['id']}").status_code == 404
            assert not query_ids(
                client, "TicketNotes", [{"op": "eq", "field": "ticketID", "value": change["id"]}]
            )


def test_same_seed_same_changes_and_another_seed_others(
    sandbox_factory: Callable[..., SandboxServer],
) -> None:
    sb = sandbox_factory()
    batch = {"updates": 15, "creates": 5, "deletes": 2, "seed": 42}
    first = sb.admin.post("activity", batch)
    sb.admin.reset()
    second = sb.admin.post("activity", batch)
    assert first["changes"] == second["changes"]
    assert first["seed"] == second["seed"] == 42
    sb.admin.reset()
    other = sb.admin.post("activity", {**batch, "seed": 43})
    assert other["changes"] != first["changes"]
    unseeded = sb.admin.post("activity", {"updates": 1})
    assert isinstance(unseeded["seed"], int)  # reported, so the batch can be replayed


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"updates": -1}, "'updates' must be a whole number"),
        ({"updates": "3"}, "'updates' must be a whole number"),
        ({"update": 3}, "unknown key(s) ['update']"),
        ({"updates": 1, "entities": ["Tickest"]}, "Tickets"),
        ({"deletes": 1, "entities": ["Contacts"]}, "no deletes are simulated"),
        ({"updates": 1, "seed": "x"}, "'seed' must be an integer"),
    ],
)
def test_bad_batches_are_refused_with_what_to_fix(
    sandbox: SandboxServer, body: dict[str, Any], message: str
) -> None:
    with pytest.raises(SandboxError) as caught:
        sandbox.admin.post("activity", body)  # refused before any change: the shared server is safe
    assert "400" in str(caught.value) and message in str(caught.value)


def test_background_activity_keeps_changing_the_tenant(sandbox_factory: Callable[..., SandboxServer]) -> None:
    before = now_text()
    sb = sandbox_factory(activity_per_minute=1200)  # one change every 50 ms
    with rest_client(sb) as client:
        deadline = time.monotonic() + 20
        changed: set[int] = set()
        while time.monotonic() < deadline and len(changed) < 3:
            time.sleep(0.2)
            changed = set()
            for entity, cursor in CURSORS.items():
                changed |= query_ids(client, entity, [{"op": "gte", "field": cursor, "value": before}])
        assert len(changed) >= 3
