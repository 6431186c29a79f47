"""The receiving routes' rules, one request at a time (the app in-process; delivery by the
sandbox is in test_sandbox_delivery.py)."""

from __future__ import annotations

import json
import logging
import sqlite3
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

with warnings.catch_warnings():  # starlette 1.x asks for httpx2; httpx still works
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from sdk_core import change_signals
from sdk_core.webhooks import WebhookServer
from sdk_core.webhooks.config import Secret, Tenant, Tenants
from sdk_core.webhooks.signature import escaped_form, sign

SECRET = "s3cret-key"
COMPANY_SECRET = "company-only-key"


def payload(**overrides: Any) -> dict[str, Any]:
    body = {
        "Action": "Update",
        "Guid": "g-1",
        "EntityType": "Ticket",
        "Id": 42,
        "Fields": {"status": 5, "title": "Tom & Jerry <b>"},
        "EventTime": "2026-03-01T10:00:00.123",
        "SequenceNumber": 1,
        "PersonID": 7,
    }
    body.update(overrides)
    return body


def post(
    client: TestClient,
    path: str,
    body: Any,
    secret: str | None = SECRET,
    raw: bytes | None = None,
    signed: bytes | None = None,
) -> Any:
    content = raw if raw is not None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Hook-Signature"] = sign(secret, signed if signed is not None else content)
    return client.post(path, content=content, headers=headers)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[WebhookServer]:
    tenants = Tenants(
        [
            Tenant("default", (Secret(SECRET),)),
            Tenant(
                "Acme",
                (Secret(SECRET), Secret("rotated-key")),
                {"Company": (Secret(COMPANY_SECRET),)},
                frozenset({"Ticket", "Company"}),
            ),
        ]
    )
    srv = WebhookServer(
        store=f"sqlite:///{tmp_path / 'events.db'}", tenants=tenants, max_body=4096, worker=False
    )
    yield srv
    srv.close()


@pytest.fixture
def client(server: WebhookServer) -> Iterator[TestClient]:
    with TestClient(server.app()) as test_client:
        yield test_client


def test_a_signed_event_is_stored_and_a_change_published(client: TestClient, server: WebhookServer) -> None:
    changes: list[change_signals.Change] = []
    unsubscribe = change_signals.subscribe(changes.append)
    try:
        first = post(client, "/webhooks/default/ticket", payload())
        again = post(client, "/webhooks/DEFAULT/Tickets", payload())  # a retry of the same event
    finally:
        unsubscribe()
    assert first.status_code == 200 and first.json()["status"] == "stored"
    assert again.status_code == 200 and again.json() == {"status": "duplicate"}
    (event,) = server.store.events()
    assert event.seq == first.json()["seq"] and event.fields["title"] == "Tom & Jerry <b>"
    assert changes == [change_signals.Change("Tickets", 42, "update", "default")]  # once


def test_the_escaped_form_autotask_signs_is_accepted(client: TestClient, server: WebhookServer) -> None:
    body = payload(Fields={"title": "Größe & 'Toner' +5"})
    raw = json.dumps(body, ensure_ascii=False).encode()  # plain UTF-8 on the wire ...
    signed = escaped_form(json.loads(raw))  # ... signature over the .NET-escaped text
    assert signed != raw
    assert post(client, "/webhooks/default/ticket", None, raw=raw, signed=signed).status_code == 200
    assert server.store.events()[0].fields["title"] == "Größe & 'Toner' +5"


def test_rotated_and_per_entity_secrets(client: TestClient) -> None:
    company = payload(EntityType="Account", Guid="g-2")
    assert post(client, "/webhooks/acme/company", company, secret=SECRET).status_code == 401
    assert post(client, "/webhooks/acme/company", company, secret=COMPANY_SECRET).status_code == 200
    assert post(client, "/webhooks/acme/ticket", payload(Guid="g-3"), secret="rotated-key").status_code == 200


@pytest.mark.parametrize(
    ("secret", "header", "why"),
    [
        (None, None, "is missing"),
        ("wrong-key", None, "does not match"),
        (None, "sha256=abc", "does not match"),
        (None, "sha1=not base64!", "does not match"),
    ],
)
def test_bad_or_missing_signatures_get_401_are_counted_and_logged_without_secrets(
    client: TestClient,
    server: WebhookServer,
    caplog: pytest.LogCaptureFixture,
    secret: str | None,
    header: str | None,
    why: str,
) -> None:
    content = json.dumps(payload()).encode()
    headers = {"Content-Type": "application/json"}
    if secret:
        headers["X-Hook-Signature"] = sign(secret, content)
    if header:
        headers["X-Hook-Signature"] = header
    with caplog.at_level(logging.WARNING, logger="sdk_core.webhooks"):
        response = client.post("/webhooks/default/ticket", content=content, headers=headers)
    assert response.status_code == 401 and why in response.json()["error"]
    assert server.store.events() == []
    assert client.get("/webhooks/_status").json()["counters"]["bad_signature"] == 1
    logged = caplog.text
    assert "tenant default entity Ticket" in logged and why in logged
    assert SECRET not in logged and "Tom & Jerry" not in logged


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/webhooks/nobody/ticket", "unknown tenant 'nobody'"),
        ("/webhooks/default/invoice", "takes no webhooks for 'invoice'"),
        ("/webhooks/acme/contact", "takes no webhooks for 'contact'"),  # not among acme's entities
    ],
)
def test_unknown_tenant_or_entity_gets_404(client: TestClient, path: str, message: str) -> None:
    response = post(client, path, payload())
    assert response.status_code == 404 and message in response.json()["error"]


def test_a_body_over_the_limit_gets_413(client: TestClient, server: WebhookServer) -> None:
    big = payload(Fields={"description": "x" * 5000})
    response = post(client, "/webhooks/default/ticket", big)
    assert response.status_code == 413 and "4096 bytes" in response.json()["error"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted while read
        yield b'{"Fields": "' + b"x" * 3000
        yield b"x" * 3000 + b'"}'

    streamed = client.post(
        "/webhooks/default/ticket", content=chunks(), headers={"X-Hook-Signature": "sha1=AAAA"}
    )
    assert streamed.status_code == 413
    assert server.store.events() == []


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"not json at all", "the body is not JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (json.dumps({"Action": "Update", "EntityType": "Ticket"}).encode(), "missing Guid, Id"),
        (json.dumps(payload(Action="Archive")).encode(), "Action must be Create, Update or Delete"),
        (json.dumps(payload(Id="abc")).encode(), "Id must be an integer"),
        (json.dumps(payload(EntityType="Contact")).encode(), "'Contact' was posted to the URL of Ticket"),
    ],
)
def test_unusable_bodies_get_400_naming_the_problem(
    client: TestClient, server: WebhookServer, raw: bytes, message: str
) -> None:
    response = post(client, "/webhooks/default/ticket", None, raw=raw)
    assert response.status_code == 400 and message in response.json()["error"]
    assert server.store.events() == []


def test_an_unknown_entity_type_spelling_is_kept_under_the_urls_entity(
    client: TestClient, server: WebhookServer
) -> None:
    assert post(client, "/webhooks/default/ticket", payload(EntityType="ServiceTicket")).status_code == 200
    (event,) = server.store.events()
    assert event.entity == "Ticket" and event.entity_type == "ServiceTicket"


def test_the_deactivation_callback_is_recorded(client: TestClient, server: WebhookServer) -> None:
    notice = {"Action": "Deactivated", "Guid": "g-1", "EntityType": "TicketWebhook", "Id": 3}
    assert post(client, "/webhooks/default/ticket/deactivated", notice).status_code == 200
    assert post(client, "/webhooks/default/ticket/deactivated", notice, secret="bad").status_code == 200
    assert post(client, "/webhooks/default/ticket/deactivated", notice, secret=None).status_code == 200
    assert post(client, "/webhooks/default/ticket", notice).status_code == 200  # on the callout URL
    assert post(client, "/webhooks/default/ticket", notice, secret="bad").status_code == 401
    recorded = server.store.deactivations()
    assert [(r["tenant"], r["entity"], r["webhook_id"], r["verified"]) for r in recorded] == [
        ("default", "Ticket", 3, True),
        ("default", "Ticket", 3, False),
        ("default", "Ticket", 3, False),
        ("default", "Ticket", 3, True),
    ]
    assert server.store.events() == []  # not an event of a record
    assert client.get("/webhooks/_status").json()["counters"]["deactivations"] == 4


def test_the_deactivation_route_checks_like_the_event_route(
    client: TestClient, server: WebhookServer
) -> None:
    notice = {"Action": "Deactivated", "Id": 3}
    refused = post(client, "/webhooks/nobody/ticket/deactivated", notice)
    assert refused.status_code == 404 and "unknown tenant 'nobody'" in refused.json()["error"]
    refused = post(client, "/webhooks/default/invoice/deactivated", notice)
    assert refused.status_code == 404 and "no webhooks for 'invoice'" in refused.json()["error"]
    too_large = post(client, "/webhooks/default/ticket/deactivated", None, raw=b"x" * 5000)
    assert too_large.status_code == 413 and "4096 bytes" in too_large.json()["error"]
    assert post(client, "/webhooks/default/ticket/deactivated", None, raw=b"gone: <html>").status_code == 200
    assert post(client, "/webhooks/default/ticket/deactivated", None, raw=b"null").status_code == 200
    recorded = [(r["payload"], r["verified"]) for r in server.store.deactivations()]
    assert recorded == [({"raw": "gone: <html>"}, True), ({"raw": None}, True)]  # not JSON: as text
    counters = client.get("/webhooks/_status").json()["counters"]
    assert counters["not_found"] == 2 and counters["too_large"] == 1 and counters["deactivations"] == 2


def test_a_store_that_cannot_commit_answers_503_so_autotask_retries(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    srv = WebhookServer(store=f"sqlite:///{path}", tenants={"default": SECRET}, worker=False)
    with TestClient(srv.app()) as client:

        @sa.event.listens_for(srv.store.engine, "connect")
        def _impatient(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.execute("PRAGMA busy_timeout=200")

        srv.store.engine.dispose()  # new connections wait 200 ms for the write lock
        blocker = sqlite3.connect(path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        try:
            refused = post(client, "/webhooks/default/ticket", payload())
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        retried = post(client, "/webhooks/default/ticket", payload())
        status = client.get("/webhooks/_status").json()
    assert refused.status_code == 503 and "retry later" in refused.json()["error"]
    assert retried.status_code == 200 and retried.json()["status"] == "stored"
    assert status["counters"]["store_errors"] == 1 and status["max_seq"] == 1
    srv.close()


async def test_one_bad_event_in_a_group_commit_does_not_refuse_the_others(pg_store_url: str) -> None:
    import asyncio
    import dataclasses

    from sdk_core.webhooks.events import read_payload
    from sdk_core.webhooks.receiver import GroupCommit
    from sdk_core.webhooks.store import open_store

    store = open_store(pg_store_url)
    try:
        good = [read_payload(payload(Guid=f"g-{n}"), "default", "Ticket") for n in range(3)]
        bad = dataclasses.replace(good[0], guid="x" * 150, entity_type="y" * 150)  # too long for PostgreSQL
        commits = GroupCommit(store)
        results = await asyncio.gather(
            *(commits.add(i) for i in [good[0], bad, good[1], good[2]]), return_exceptions=True
        )
        assert isinstance(results[1], Exception)
        assert all(isinstance(r, int) for r in (results[0], results[2], results[3]))
        assert [e.guid for e in store.events()] == ["g-0", "g-1", "g-2"]
    finally:
        store.close()
