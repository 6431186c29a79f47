"""Handlers: patterns, `when=` filters, sync and async, order per record, retries, dead letter."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sdk_core.webhooks import RetryPolicy, WebhookEvent, WebhookServer
from sdk_core.webhooks.entities import canonical_entity
from sdk_core.webhooks.events import read_payload
from sdk_core.webhooks.handlers import parse_pattern

from .conftest import wait_until


@pytest.fixture
def server(tmp_path: Path) -> Iterator[WebhookServer]:
    srv = WebhookServer(
        store=f"sqlite:///{tmp_path / 'events.db'}",
        tenants={"default": "k"},
        retry=RetryPolicy(max_attempts=3, backoff=0.0),
        poll_interval=0.05,
    )
    yield srv
    srv.close()


def add(server: WebhookServer, entity: str, id_: int, action: str, n: int, **fields: Any) -> int:
    payload = {
        "Action": action,
        "Guid": "g",
        "EntityType": entity,
        "Id": id_,
        "Fields": fields,
        "EventTime": f"2026-03-01T10:00:{n:02d}",
        "SequenceNumber": n,
        "PersonID": 1,
    }
    seq = server.store.add(read_payload(payload, "default", canonical_entity(entity) or entity))
    assert seq is not None
    return seq


@pytest.mark.parametrize(
    ("pattern", "parsed"),
    [
        ("ticket.created", ("Ticket", "create")),
        ("Tickets.update", ("Ticket", "update")),
        ("ticket_note.*", ("TicketNote", None)),
        ("account.deleted", ("Company", "delete")),
        ("*.deleted", (None, "delete")),
        ("*", (None, None)),
    ],
)
def test_patterns(pattern: str, parsed: tuple[str | None, str | None]) -> None:
    assert parse_pattern(pattern) == parsed


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("ticket", "must be ENTITY.ACTION"),
        ("invoice.created", "'invoice' is not a webhook entity"),
        ("ticket.closed", "created, updated, deleted or *"),
    ],
)
def test_bad_patterns_say_what_is_accepted(pattern: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_pattern(pattern)


def test_a_handler_needs_a_pattern(server: WebhookServer) -> None:
    with pytest.raises(TypeError, match=r"@server.handler\('ticket.created'\)"):
        server.handler(lambda e: None)  # type: ignore[arg-type]  # the misuse under test


def test_handlers_get_the_events_they_match(server: WebhookServer) -> None:
    got: dict[str, list[tuple[str, int, str]]] = {
        "created": [],
        "any_ticket": [],
        "deleted": [],
        "completed": [],
        "async": [],
    }

    def note(key: str) -> Any:
        return lambda e: got[key].append((e.entity, e.id, e.action))

    server.handler("ticket.created")(note("created"))
    server.handler("ticket.*")(note("any_ticket"))
    server.handler("*.deleted")(note("deleted"))
    server.handler("ticket.updated", when=lambda e: e.fields.get("status") == 5)(note("completed"))

    @server.handler("company.*")
    async def company(event: WebhookEvent) -> None:
        await asyncio.sleep(0)
        got["async"].append((event.entity, event.id, event.action))

    add(server, "Ticket", 1, "Create", 1, status=1)
    add(server, "Ticket", 1, "Update", 2, status=5)
    add(server, "Ticket", 2, "Update", 3, status=8)
    add(server, "Account", 9, "Delete", 4)
    assert server.process_pending() == 4
    assert got["created"] == [("Ticket", 1, "create")]
    assert sorted(got["any_ticket"]) == [
        ("Ticket", 1, "create"),
        ("Ticket", 1, "update"),
        ("Ticket", 2, "update"),
    ]  # record 1's in order:
    assert got["any_ticket"].index(("Ticket", 1, "create")) < got["any_ticket"].index(("Ticket", 1, "update"))
    assert got["deleted"] == [("Company", 9, "delete")]
    assert got["completed"] == [("Ticket", 1, "update")]
    assert got["async"] == [("Company", 9, "delete")]
    assert server.store.counts()["done"] == 4


def test_typed_event(server: WebhookServer) -> None:
    seen: list[WebhookEvent] = []
    server.handler("*")(seen.append)
    add(server, "TicketNote", 5, "Create", 1, title="t", userDefinedFields=[{"name": "U", "value": 2}])
    server.process_pending()
    (event,) = seen
    assert (event.tenant, event.entity, event.rest_entity, event.id, event.action) == (
        "default",
        "TicketNote",
        "TicketNotes",
        5,
        "create",
    )
    assert event.fields == {"title": "t"} and event.udf_fields == {"U": 2} and event.person_id == 1
    assert event.event_time.tzinfo is not None and event.received_at.tzinfo is not None
    assert event.sequence_number == 1 and event.name == "ticketnote.created"


def test_a_failing_record_is_retried_in_order_and_others_carry_on(server: WebhookServer) -> None:
    order: list[tuple[int, str]] = []
    failures = {"left": 2}

    @server.handler("ticket.*")
    def flaky(event: WebhookEvent) -> None:
        if event.id == 1 and event.action == "create" and failures["left"]:
            failures["left"] -= 1
            raise ConnectionError("downstream busy")
        order.append((event.id, event.action))

    add(server, "Ticket", 1, "Create", 1)
    add(server, "Ticket", 2, "Create", 2)
    add(server, "Ticket", 1, "Update", 3)
    add(server, "Ticket", 1, "Delete", 4)
    wait_until(lambda: server.process_pending() == 0 and server.store.backlog() == 0, what="drained")
    assert order.index((2, "create")) < order.index((1, "create"))  # record 2 did not wait
    assert [a for i, a in order if i == 1] == ["create", "update", "delete"]  # record 1 in order
    first = server.store.events(entity_id=1)[0]
    assert first.status == "done" and first.attempts == 3


def test_a_handler_that_keeps_failing_dead_letters_the_event(server: WebhookServer) -> None:
    @server.handler("*")
    def broken(event: WebhookEvent) -> None:
        raise ValueError("no such customer in the CRM")

    add(server, "Ticket", 1, "Create", 1)
    add(server, "Ticket", 1, "Update", 2)
    wait_until(lambda: server.process_pending() == 0 and server.store.backlog() == 0, what="dead")
    dead = server.store.events(status="dead")
    assert [e.action for e in dead] == ["create", "update"]  # a dead event does not block the next
    assert all(e.attempts == 3 and "ValueError: no such customer" in (e.last_error or "") for e in dead)


def test_the_worker_thread_runs_with_the_app_and_wakes_on_new_events(server: WebhookServer) -> None:
    import warnings

    from sdk_core.webhooks.signature import sign

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient

    handled = threading.Event()
    server.handler("ticket.created")(lambda e: handled.set())
    server.poll_interval = 30  # only the wake-up can make it quick
    body = b'{"Action":"Create","Guid":"g","EntityType":"Ticket","Id":3,"SequenceNumber":1}'
    with TestClient(server.app()) as client:
        response = client.post(
            "/webhooks/default/ticket", content=body, headers={"X-Hook-Signature": sign("k", body)}
        )
        assert response.status_code == 200
        assert handled.wait(10)
    wait_until(lambda: server.store.counts()["done"] == 1, what="done")


def test_retry_policy_backs_off_then_gives_up() -> None:
    policy = RetryPolicy(max_attempts=4, backoff=1.0, max_backoff=3.0)
    delays = [policy.delay(n) for n in (1, 2, 3, 4)]
    assert delays[3] is None
    assert 0.5 <= delays[0] <= 1.0 and 1.0 <= delays[1] <= 2.0 and 1.5 <= delays[2] <= 3.0
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)
