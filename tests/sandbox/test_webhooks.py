"""Webhook callouts from a running sandbox, received by a real HTTP server on loopback."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from autotask_sandbox.testing import SandboxError, SandboxServer
from autotask_sandbox.webhooks import Webhook

SECRET = "test-Secret+&<key>-123"


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> dict[str, Any]:
        return json.loads(self.body)


class Receiver:
    """A webhook endpoint: records every POST; answers `status` (a fixed code or a function)."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.status: int | Callable[[Received], int] = 200
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # http.server names its handlers so
                length = int(self.headers.get("Content-Length", 0))
                got = Received(
                    self.path, {k.lower(): v for k, v in self.headers.items()}, self.rfile.read(length)
                )
                with receiver._lock:
                    receiver.requests.append(got)
                status = receiver.status(got) if callable(receiver.status) else receiver.status
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def on(self, path: str) -> list[Received]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def wait_for(self, path: str, count: int, timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.on(path)
            if len(got) >= count:
                return got
            time.sleep(0.02)
        raise AssertionError(f"{path}: expected {count} requests, got {len(self.on(path))}")

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def independent_signature(secret: str, body: bytes) -> str:
    return "sha1=" + base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha1).digest()).decode()


def dotnet_escaped(body: bytes) -> bytes:
    """The n8n-style re-escaping a verifier applies when the raw body does not verify."""
    text = json.dumps(json.loads(body), separators=(",", ":"), ensure_ascii=True)
    text = re.sub(r"\\u([0-9a-f]{4})", lambda m: "\\u" + m.group(1).upper(), text)
    text = text.replace('\\"', "\\u0022")
    for char in "&<>'+`":
        text = text.replace(char, f"\\u{ord(char):04X}")
    return text.encode()


def rest_client(sb: SandboxServer) -> httpx.Client:
    return httpx.Client(base_url=sb.api_url + "V1.0/", headers=sb.headers, timeout=30)


def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


def field_numbers(
    client: httpx.Client, config: str = "TicketWebhookFields", picklist: str = "fieldID"
) -> dict[str, int]:
    """Field label -> fieldID, read from the picklist as a client must (never hard-coded)."""
    fields = ok(client.get(f"{config}/entityInformation/fields"))["fields"]
    values = next(f for f in fields if f["name"].lower() == picklist.lower())["picklistValues"]
    return {v["label"]: int(v["value"]) for v in values}


def register(
    client: httpx.Client,
    url: str,
    *,
    fields: dict[str, tuple[bool, bool]],
    actions: tuple[str, ...] = ("Update",),
    excluded: tuple[int, ...] = (),
    secret: str = SECRET,
    root: str = "TicketWebhooks",
    deactivation_url: str | None = None,
) -> dict[str, Any]:
    """Create a webhook the documented way; `fields` maps label -> (subscribed, display)."""
    body = {
        "Name": "test hook",
        "WebhookUrl": url,
        "SecretKey": secret,
        "IsActive": True,
        "DeactivationUrl": deactivation_url or url + "/deactivated",
        "SendThresholdExceededNotification": False,
        "NotificationEmailAddress": "alerts@example.com",
    }
    for action in ("Create", "Update", "Delete"):
        body[f"IsSubscribedTo{action}Events"] = action in actions
    webhook_id = ok(client.post(root, json=body))["itemId"]
    numbers = field_numbers(client, root[:-1] + "Fields")
    for label, (subscribed, display) in fields.items():
        ok(
            client.post(
                f"{root}/{webhook_id}/Fields",
                json={
                    "FieldID": numbers[label],
                    "IsSubscribedField": subscribed,
                    "IsDisplayAlwaysField": display,
                    "WebhookID": webhook_id,
                },
            )
        )
    for resource in excluded:
        ok(
            client.post(
                f"{root}/{webhook_id}/ExcludedResources",
                json={"ResourceID": resource, "WebhookID": webhook_id},
            )
        )
    return ok(client.get(f"{root}/{webhook_id}"))["item"]


def settle(sb: SandboxServer, timeout: float = 15.0) -> list[dict[str, Any]]:
    """Wait until the sandbox has nothing left to deliver; returns its delivery log."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = sb.admin.get("webhooks/deliveries")
        if state["pending"] == 0:
            return state["deliveries"]
        time.sleep(0.02)
    raise AssertionError(f"deliveries still pending: {state}")


def a_ticket(client: httpx.Client, offset: int = 0) -> dict[str, Any]:
    items = ok(
        client.post("Tickets/query", json={"filter": [{"op": "exist", "field": "id"}], "MaxRecords": 20})
    )["items"]
    return items[offset]


def patch(client: httpx.Client, entity: str, id_: int, **values: Any) -> None:
    ok(client.patch(entity, json={"id": id_, **values}))


def other_status(ticket: dict[str, Any]) -> int:
    return next(s for s in (8, 7, 10, 1) if s != ticket["status"])


@pytest.fixture
def server(sandbox_factory: Callable[..., SandboxServer]) -> SandboxServer:
    sb = sandbox_factory()
    sb.admin.put("webhooks/settings", {"retry_interval": 0.05, "timeout": 5})
    return sb


def test_registration_follows_the_documented_sequence(server: SandboxServer, receiver: Receiver) -> None:
    with rest_client(server) as client:
        numbers = field_numbers(client)
        assert {"Status", "Title", "Priority", "LastActivityDate"} <= set(numbers)
        assert len(set(numbers.values())) == len(numbers)  # one number per field
        hook_id = ok(
            client.post(
                "TicketWebhooks",
                json={
                    "Name": "n",
                    "WebhookUrl": receiver.url,
                    "SecretKey": SECRET,
                    "IsActive": True,
                    "DeactivationUrl": receiver.url,
                    "IsSubscribedToUpdateEvents": True,
                    "SendThresholdExceededNotification": False,
                },
            )
        )["itemId"]
        hook = ok(client.get(f"TicketWebhooks/{hook_id}"))["item"]
        assert hook["isReady"] is False and hook["webhookGUID"] and hook["ownerResourceID"]
        display_only = ok(
            client.post(
                f"TicketWebhooks/{hook_id}/Fields",
                json={
                    "FieldID": numbers["Title"],
                    "IsSubscribedField": False,
                    "IsDisplayAlwaysField": True,
                    "WebhookID": hook_id,
                },
            )
        )["itemId"]
        assert ok(client.get(f"TicketWebhooks/{hook_id}"))["item"]["isReady"] is False
        subscribed = ok(
            client.post(
                f"TicketWebhooks/{hook_id}/Fields",
                json={
                    "FieldID": numbers["Status"],
                    "IsSubscribedField": True,
                    "IsDisplayAlwaysField": False,
                    "WebhookID": hook_id,
                },
            )
        )["itemId"]
        assert ok(client.get(f"TicketWebhooks/{hook_id}"))["item"]["isReady"] is True
        listed = ok(client.get(f"TicketWebhooks/{hook_id}/Fields"))["items"]
        assert {f["id"] for f in listed} == {display_only, subscribed}
        ok(client.delete(f"TicketWebhooks/{hook_id}/Fields/{subscribed}"))
        assert ok(client.get(f"TicketWebhooks/{hook_id}"))["item"]["isReady"] is False
        bad = client.post(
            f"TicketWebhooks/{hook_id}/Fields",
            json={"FieldID": 999999, "IsSubscribedField": True, "WebhookID": hook_id},
        )
        assert bad.status_code == 500 and "999999" in bad.text and "fieldID" in bad.text


def test_update_callout_payload_and_signature(server: SandboxServer, receiver: Receiver) -> None:
    with rest_client(server) as client:
        hook = register(
            client, receiver.url + "/hook", fields={"Status": (True, False), "Title": (False, True)}
        )
        ticket = a_ticket(client)
        status = other_status(ticket)
        patch(client, "Tickets", ticket["id"], status=status)
        (got,) = receiver.wait_for("/hook", 1)
        payload = got.json
        assert list(payload) == [
            "Action",
            "Guid",
            "EntityType",
            "Id",
            "Fields",
            "EventTime",
            "SequenceNumber",
            "PersonID",
        ]
        assert payload["Action"] == "Update" and payload["EntityType"] == "Ticket"
        assert payload["Guid"] == hook["webhookGUID"] and payload["Id"] == ticket["id"]
        assert payload["Fields"] == {"status": status, "title": ticket["title"]}
        assert payload["SequenceNumber"] == 1 and payload["PersonID"] == hook["ownerResourceID"]
        assert payload["EventTime"] == ok(client.get(f"Tickets/{ticket['id']}"))["item"]["lastActivityDate"]
        assert got.headers["content-type"].startswith("application/json")
        assert got.headers["x-hook-signature"] == independent_signature(SECRET, got.body)

        patch(
            client, "Tickets", ticket["id"], priority=next(p for p in (1, 2, 3) if p != ticket["priority"])
        )  # not a subscribed field
        settle(server)
        assert len(receiver.on("/hook")) == 1

        title = "Printer <HP> & 'Toner' +5 \"urgent\" – Größe ✓"
        patch(client, "Tickets", ticket["id"], title=title, status=ticket["status"])
        second = receiver.wait_for("/hook", 2)[1]
        assert second.json["Fields"] == {"status": ticket["status"], "title": title}
        assert second.json["SequenceNumber"] == 2
        assert second.body.isascii() and b"\\u0026" in second.body and b"\\u00F6" in second.body
        assert second.headers["x-hook-signature"] == independent_signature(SECRET, second.body)
        assert dotnet_escaped(second.body) == second.body  # raw and escaped verification agree


def test_unescaped_body_switch_reproduces_the_signature_mismatch(
    server: SandboxServer, receiver: Receiver
) -> None:
    server.admin.put("webhooks/settings", {"unescaped_body": True})
    with rest_client(server) as client:
        register(client, receiver.url + "/hook", fields={"Title": (True, True)})
        ticket = a_ticket(client)
        title = "Tom & Jerry's <café>"
        patch(client, "Tickets", ticket["id"], title=title)
        (got,) = receiver.wait_for("/hook", 1)
    assert got.json["Fields"]["title"] == title
    assert title.encode() in got.body  # sent as plain UTF-8
    signature = got.headers["x-hook-signature"]
    assert signature != independent_signature(SECRET, got.body)
    assert signature == independent_signature(SECRET, dotnet_escaped(got.body))


def test_creates_deletes_and_excluded_resources(server: SandboxServer, receiver: Receiver) -> None:
    with rest_client(server) as client:
        hook = register(
            client,
            receiver.url + "/all",
            actions=("Create", "Update", "Delete"),
            fields={"Status": (True, True), "TicketNumber": (False, True)},
        )
        api_user = hook["ownerResourceID"]
        excluding = register(
            client,
            receiver.url + "/not-api",
            excluded=(api_user,),
            actions=("Create", "Update", "Delete"),
            fields={"Status": (True, False)},
        )
        ticket = a_ticket(client)
        body = {"companyID": ticket["companyID"], "title": "Webhook create", "status": 1, "priority": 2}
        created = ok(client.post("Tickets", json=body))["itemId"]
        settle(server)
        (create,) = receiver.on("/all")
        number = ok(client.get(f"Tickets/{created}"))["item"]["ticketNumber"]
        assert create.json["Action"] == "Create" and create.json["Id"] == created
        assert create.json["Fields"] == {"status": 1, "ticketNumber": number}
        assert receiver.on("/not-api") == []  # the API user is excluded there

        summary = server.admin.post(
            "activity", {"deletes": 1, "updates": 4, "seed": 1, "entities": ["Tickets"]}
        )
        deliveries = settle(server)
        assert not [d for d in deliveries if not d["ok"]]
    expected = [
        (c["action"], c["id"])
        for c in summary["changes"]
        if c["entity"] == "Tickets" and c["kind"] in ("ticket_status", "ticket_deleted")
    ]
    assert {action for action, _ in expected} == {"Update", "Delete"}  # the seed makes both

    def in_trigger_order(path: str) -> list[tuple[str, int]]:
        # FIFO holds per callout and action only, so order by SequenceNumber (trigger order)
        got = sorted(receiver.on(path), key=lambda r: r.json["SequenceNumber"])
        return [(r.json["Action"], r.json["Id"]) for r in got]

    assert in_trigger_order("/all")[1:] == expected
    assert in_trigger_order("/not-api") == expected  # activity acts as other resources
    deletion = next(r.json for r in receiver.on("/all") if r.json["Action"] == "Delete")
    assert deletion["Fields"] == {}
    assert deletion["PersonID"] == next(
        c["person"] for c in summary["changes"] if c["action"] == "Delete" and c["entity"] == "Tickets"
    )
    assert sorted(r.json["SequenceNumber"] for r in receiver.on("/all")) == list(
        range(1, len(receiver.on("/all")) + 1)
    )
    assert excluding["webhookGUID"] != hook["webhookGUID"]


def test_failed_callouts_are_retried_then_logged(server: SandboxServer, receiver: Receiver) -> None:
    server.admin.put("webhooks/settings", {"max_attempts": 3})
    receiver.status = 500
    with rest_client(server) as client:
        hook = register(client, receiver.url + "/hook", fields={"Status": (True, False)})
        ticket = a_ticket(client)
        patch(client, "Tickets", ticket["id"], status=other_status(ticket))
        attempts = receiver.wait_for("/hook", 3)
        log = settle(server)
        assert len({r.body for r in attempts}) == 1  # the same payload each time
        assert [d["attempt"] for d in log] == [1, 2, 3]
        assert [d["final"] for d in log] == [False, False, True]
        assert all(d["error"] == "HTTP 500" for d in log)
        errors = ok(
            client.post("WebhookEventErrorLogs/query", json={"filter": [{"op": "exist", "field": "id"}]})
        )["items"]
        assert len(errors) == 1
        assert errors[0]["payload"] == attempts[0].body.decode()
        assert errors[0]["sequenceNumber"] == 1 and "HTTP 500" in errors[0]["errorMessage"]
        assert SECRET not in json.dumps(errors) and SECRET not in json.dumps(log)

        calls = iter([503, 200])
        receiver.status = lambda _: next(calls)
        patch(client, "Tickets", ticket["id"], status=ticket["status"])
        second = receiver.wait_for("/hook", 5)[3:]
        settle(server)
        assert [r.json["SequenceNumber"] for r in second] == [2, 2]  # retried, then delivered
        assert (
            len(
                ok(
                    client.post(
                        "WebhookEventErrorLogs/query", json={"filter": [{"op": "exist", "field": "id"}]}
                    )
                )["items"]
            )
            == 1
        )
        assert ok(client.get(f"TicketWebhooks/{hook['id']}"))["item"]["isActive"] is True


def test_webhook_is_deactivated_after_consecutive_failures(server: SandboxServer, receiver: Receiver) -> None:
    server.admin.put("webhooks/settings", {"max_attempts": 1, "deactivate_after": 3})
    receiver.status = lambda r: 200 if r.path == "/deactivated" else 500
    with rest_client(server) as client:
        hook = register(
            client,
            receiver.url + "/hook",
            fields={"Title": (True, False)},
            deactivation_url=receiver.url + "/deactivated",
        )
        ticket = a_ticket(client)
        for n in range(3):
            patch(client, "Tickets", ticket["id"], title=f"failing {n}")
            receiver.wait_for("/hook", n + 1)
        (notice,) = receiver.wait_for("/deactivated", 1)
        settle(server)
        assert notice.json["Action"] == "Deactivated" and notice.json["Id"] == hook["id"]
        assert notice.json["Guid"] == hook["webhookGUID"]
        assert notice.headers["x-hook-signature"] == independent_signature(SECRET, notice.body)
        assert ok(client.get(f"TicketWebhooks/{hook['id']}"))["item"]["isActive"] is False
        assert (
            len(
                ok(
                    client.post(
                        "WebhookEventErrorLogs/query", json={"filter": [{"op": "exist", "field": "id"}]}
                    )
                )["items"]
            )
            == 3
        )
        patch(client, "Tickets", ticket["id"], title="after deactivation")
        settle(server)
        assert len(receiver.on("/hook")) == 3

        receiver.status = 200  # reactivated by the owner: callouts resume
        patch(client, "TicketWebhooks", hook["id"], isActive=True)
        patch(client, "Tickets", ticket["id"], title="reactivated")
        assert receiver.wait_for("/hook", 4)[3].json["Fields"] == {"title": "reactivated"}


def test_callouts_of_one_webhook_arrive_in_trigger_order(server: SandboxServer, receiver: Receiver) -> None:
    server.admin.put("webhooks/settings", {"retry_interval": 0.3})
    failed: list[Received] = []

    def status(request: Received) -> int:  # the first attempt on /hook fails, all else succeeds
        if request.path == "/hook" and not failed:
            failed.append(request)
            return 500
        return 200

    receiver.status = status
    with rest_client(server) as client:
        register(client, receiver.url + "/hook", fields={"Title": (True, False)})
        register(client, receiver.url + "/other", fields={"Title": (True, False)})
        ticket = a_ticket(client)
        for n in range(5):
            patch(client, "Tickets", ticket["id"], title=f"change {n}")
        hook = receiver.wait_for("/hook", 6)
        other = receiver.wait_for("/other", 5)
    assert [r.json["Fields"]["title"] for r in hook] == ["change 0"] + [f"change {n}" for n in range(5)]
    assert [r.json["SequenceNumber"] for r in hook] == [1, 1, 2, 3, 4, 5]
    # the other webhook did not wait behind the failing one
    assert [r.json["SequenceNumber"] for r in other] == [1, 2, 3, 4, 5]


def test_udf_subscriptions_and_company_entity_type(server: SandboxServer, receiver: Receiver) -> None:
    with rest_client(server) as client:
        udf_numbers = field_numbers(client, "CompanyWebhookUdfFields", "udfFieldID")
        udf_name = sorted(udf_numbers)[0]
        hook = register(
            client, receiver.url + "/companies", root="CompanyWebhooks", fields={"CompanyName": (False, True)}
        )
        assert hook["isReady"] is False  # display-only so far
        ok(
            client.post(
                f"CompanyWebhooks/{hook['id']}/UdfFields",
                json={
                    "UdfFieldID": udf_numbers[udf_name],
                    "IsSubscribedField": True,
                    "IsDisplayAlwaysField": False,
                    "WebhookID": hook["id"],
                },
            )
        )
        assert ok(client.get(f"CompanyWebhooks/{hook['id']}"))["item"]["isReady"] is True
        company = ok(
            client.post("Companies/query", json={"filter": [{"op": "exist", "field": "id"}], "MaxRecords": 3})
        )["items"][2]
        patch(client, "Companies", company["id"], phone="(555) 555-0199")  # not subscribed
        udf = next(
            u
            for u in ok(client.get("Companies/entityInformation/userDefinedFields"))["fields"]
            if u["name"] == udf_name
        )
        value = udf["picklistValues"][0]["value"] if udf["isPickList"] else "42"
        current = {u["name"]: u["value"] for u in company["userDefinedFields"]}
        if current.get(udf_name) == value:
            value = udf["picklistValues"][1]["value"] if udf["isPickList"] else "43"
        patch(client, "Companies", company["id"], userDefinedFields=[{"name": udf_name, "value": value}])
        (got,) = receiver.wait_for("/companies", 1)
        settle(server)
    assert len(receiver.on("/companies")) == 1
    assert got.json["EntityType"] == "Account" and got.json["Id"] == company["id"]
    assert got.json["Fields"] == {
        "companyName": company["companyName"],
        "userDefinedFields": [{"name": udf_name, "value": value}],
    }


def test_reset_forgets_webhooks_and_keeps_the_field_picklist(
    server: SandboxServer, receiver: Receiver
) -> None:
    with rest_client(server) as client:
        register(client, receiver.url + "/old", fields={"Title": (True, False)})
        server.admin.reset()
        ticket = a_ticket(client)
        patch(client, "Tickets", ticket["id"], title="after reset")
        settle(server)
        assert receiver.on("/old") == []
        hook = register(client, receiver.url + "/new", fields={"Title": (True, False)})
        patch(client, "Tickets", ticket["id"], title="after reset, new hook")
        (got,) = receiver.wait_for("/new", 1)
    assert got.json["SequenceNumber"] == 1 and got.json["Guid"] == hook["webhookGUID"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"max_attempts": 0}, "'max_attempts' must be a positive number"),
        ({"retry_interval": "fast"}, "'retry_interval' must be a positive number"),
        ({"deactivate_after": 2.5}, "'deactivate_after' must be a whole number"),
        ({"unescaped_body": 1}, "'unescaped_body' must be true or false"),
        ({"retries": 3}, "unknown webhook setting 'retries'"),
    ],
)
def test_bad_settings_are_refused(sandbox: SandboxServer, changes: dict[str, Any], message: str) -> None:
    with pytest.raises(SandboxError) as caught:
        sandbox.admin.put("webhooks/settings", changes)  # refused: the shared server is unchanged
    assert "400" in str(caught.value) and message in str(caught.value)
    assert sandbox.admin.get("webhooks/settings") == {
        "timeout": 10.0,
        "retry_interval": 30.0,
        "max_attempts": 5,
        "deactivate_after": 25,
        "unescaped_body": False,
    }


def test_a_slow_receiver_blocks_neither_the_api_nor_other_work(
    server: SandboxServer, receiver: Receiver
) -> None:
    server.admin.put("webhooks/settings", {"timeout": 30})
    release = threading.Event()
    receiver.status = lambda _: 200 if release.wait(20) else 500  # holds each request
    with rest_client(server) as client:
        register(client, receiver.url + "/hook", fields={"Title": (True, False)})
        ticket = a_ticket(client)
        patch(client, "Tickets", ticket["id"], title="while the receiver is busy")
        # the PATCH has answered, yet the callout is still being held by the receiver
        state = server.admin.get("webhooks/deliveries")
        assert state["pending"] >= 1 and state["deliveries"] == []
        assert ok(client.get(f"Tickets/{ticket['id']}"))["item"]["title"] == "while the receiver is busy"
        release.set()
        log = settle(server)
    assert [(d["ok"], d["attempt"]) for d in log] == [(True, 1)]


def test_an_attempt_that_times_out_is_retried(server: SandboxServer, receiver: Receiver) -> None:
    server.admin.put("webhooks/settings", {"timeout": 0.3, "max_attempts": 2})
    release = threading.Event()
    receiver.status = lambda _: 200 if release.wait(3) else 500
    try:
        with rest_client(server) as client:
            register(client, receiver.url + "/hook", fields={"Title": (True, False)})
            ticket = a_ticket(client)
            patch(client, "Tickets", ticket["id"], title="never acknowledged in time")
            log = settle(server)
            assert [d["attempt"] for d in log] == [1, 2]
            assert all(not d["ok"] and "Timeout" in d["error"] for d in log)
            errors = ok(
                client.post("WebhookEventErrorLogs/query", json={"filter": [{"op": "exist", "field": "id"}]})
            )["items"]
            assert len(errors) == 1 and "Timeout" in errors[0]["errorMessage"]
    finally:
        release.set()


def test_ticket_note_webhook_fires_on_a_note_added_through_its_ticket(
    server: SandboxServer, receiver: Receiver
) -> None:
    with rest_client(server) as client:
        hook = register(
            client,
            receiver.url + "/notes",
            root="TicketNoteWebhooks",
            actions=("Create",),
            fields={"Title": (True, True), "TicketID": (False, True)},
        )
        ticket = a_ticket(client)
        note = ok(
            client.post(
                f"Tickets/{ticket['id']}/Notes",
                json={
                    "Title": "Called back",
                    "Description": "User confirmed <fixed> & happy",
                    "NoteType": 1,
                    "Publish": 1,
                },
            )
        )["itemId"]
        (got,) = receiver.wait_for("/notes", 1)
    assert got.json["EntityType"] == "TicketNote" and got.json["Action"] == "Create"
    assert got.json["Id"] == note and got.json["Guid"] == hook["webhookGUID"]
    assert got.json["Fields"] == {"ticketID": ticket["id"], "title": "Called back"}
    assert got.headers["x-hook-signature"] == independent_signature(SECRET, got.body)


# --- the matching rules, one function at a time (no server needed) ----------------------------


def hook(**overrides: Any) -> Webhook:
    base: dict[str, Any] = dict(
        entity="TicketWebhooks",
        id=1,
        guid="g",
        url="http://x",
        deactivation_url=None,
        secret="s",
        active=True,
        actions=frozenset({"Create", "Update", "Delete"}),
        subscribed=frozenset({"status"}),
        display_always=frozenset({"ticketNumber"}),
        subscribed_udfs=frozenset({"Root Cause"}),
        excluded_resources=frozenset({7}),
    )
    return Webhook(**{**base, **overrides})


@pytest.mark.parametrize(
    ("webhook", "action", "changed", "udfs", "person", "fires"),
    [
        (hook(), "Update", {"status": 5}, {}, 1, True),
        (hook(), "Update", {"title": "x", "lastActivityDate": "t"}, {}, 1, False),
        (hook(), "Update", {"lastActivityDate": "t"}, {"Root Cause": "1"}, 1, True),
        (hook(), "Update", {"status": 5}, {}, 7, False),  # excluded resource
        (hook(), "Create", {"title": "x"}, {}, 1, True),  # creates always fire
        (hook(), "Delete", {}, {}, None, True),  # so do deletes
        (hook(active=False), "Update", {"status": 5}, {}, 1, False),
        (hook(subscribed=frozenset(), subscribed_udfs=frozenset()), "Create", {}, {}, 1, False),
        (hook(actions=frozenset({"Update"})), "Create", {"status": 1}, {}, 1, False),
    ],
)
def test_which_changes_fire(
    webhook: Webhook,
    action: str,
    changed: dict[str, Any],
    udfs: dict[str, Any],
    person: int | None,
    fires: bool,
) -> None:
    assert webhook.fires_on(action, changed, udfs, person) is fires


def test_payload_fields_show_changed_subscribed_and_display_always_fields() -> None:
    current = {"status": 1, "ticketNumber": "T1", "title": "old"}
    update = hook().payload_fields(
        "Update", {"title": "new", "lastActivityDate": "t"}, {"Root Cause": "2"}, current, {"Root Cause": "1"}
    )
    assert update == {"ticketNumber": "T1", "userDefinedFields": [{"name": "Root Cause", "value": "2"}]}
    create = hook().payload_fields(
        "Create", {"ticketNumber": "T2", "title": "t", "status": 1}, {}, None, None
    )
    assert create == {"status": 1, "ticketNumber": "T2"}  # no unsubscribed title
    assert list(create) == ["status", "ticketNumber"]  # catalog order
    assert hook().payload_fields("Delete", {}, {}, None, None) == {}


def test_field_picklist_is_served_right_after_a_reset(server: SandboxServer) -> None:
    with rest_client(server) as client:
        before = field_numbers(client)
        server.admin.reset()  # no change happens between the reset and the metadata call
        after = field_numbers(client)
        assert after == before and after["Title"] and len(after) > 50
        assert field_numbers(client, "CompanyWebhookFields")


def test_duplicate_callouts_to_one_url_are_suppressed(server: SandboxServer, receiver: Receiver) -> None:
    with rest_client(server) as client:
        first = register(client, receiver.url + "/same", fields={"Title": (True, False)})
        upper = receiver.url.replace("http://127.0.0.1", "HTTP://127.0.0.1")
        twin = register(client, upper + "/same", fields={"Title": (True, False)})
        other = register(client, receiver.url + "/other", fields={"Title": (True, False)})
        ticket = a_ticket(client)
        patch(client, "Tickets", ticket["id"], title="dup check")
        log = settle(server)
        (got,) = receiver.wait_for("/same", 1)
        assert got.json["Guid"] == first["webhookGUID"]
        assert [r.json["Guid"] for r in receiver.on("/other")] == [other["webhookGUID"]]
        suppressed = [d for d in log if d["kind"] == "suppressed"]
        assert [(d["webhookID"], d["action"]) for d in suppressed] == [(twin["id"], "Update")]


def test_error_log_rows_older_than_30_days_are_purged(tmp_path: Any) -> None:
    import shutil
    from datetime import UTC, datetime, timedelta

    from autotask_sandbox.backend import Backend
    from autotask_sandbox.cache import cached_tenant
    from autotask_sandbox.values import format_datetime
    from autotask_sandbox.webhooks import WebhookDispatcher

    db = tmp_path / "tenant.sqlite"
    shutil.copyfile(cached_tenant("tiny", 1), db)
    backend = Backend(db)
    table = backend.table("WebhookEventErrorLogs")
    ids = {
        age: backend.create(
            "WebhookEventErrorLogs", {"errorMessage": f"{age} days old", "payload": "{}", "sequenceNumber": 1}
        )
        for age in (45, 31, 29, 0)
    }
    with backend.lock:
        for age, id_ in ids.items():
            stamp = format_datetime(datetime.now(UTC) - timedelta(days=age))
            backend.storage.update(table, id_, {"createDateTime": stamp}, None)
    dispatcher = WebhookDispatcher(backend)  # a server starting on an old tenant file purges
    try:
        left = backend.query("WebhookEventErrorLogs", [{"op": "exist", "field": "id"}]).items
        assert sorted(r["errorMessage"] for r in left) == ["0 days old", "29 days old"]
        later = datetime.now(UTC) + timedelta(days=2)
        assert dispatcher.purge_error_logs(now=later) == 1
        assert [
            r["errorMessage"]
            for r in backend.query("WebhookEventErrorLogs", [{"op": "exist", "field": "id"}]).items
        ] == ["0 days old"]
    finally:
        dispatcher.close()
        backend.close()


def test_deactivating_the_owner_resource_deactivates_its_webhooks(
    server: SandboxServer, receiver: Receiver
) -> None:
    with rest_client(server) as client:
        resources = ok(
            client.post(
                "Resources/query",
                json={"filter": [{"op": "eq", "field": "isActive", "value": True}], "MaxRecords": 3},
            )
        )["items"]
        owner, other = resources[1]["id"], resources[2]["id"]
        client.headers["ImpersonationResourceId"] = str(owner)
        owned = register(
            client,
            receiver.url + "/owned",
            fields={"Title": (True, False)},
            deactivation_url=receiver.url + "/owned-deactivated",
        )
        client.headers["ImpersonationResourceId"] = str(other)
        kept = register(
            client,
            receiver.url + "/kept",
            fields={"Title": (True, False)},
            deactivation_url=receiver.url + "/kept-deactivated",
        )
        del client.headers["ImpersonationResourceId"]
        assert (owned["ownerResourceID"], kept["ownerResourceID"]) == (owner, other)
        patch(client, "Resources", owner, isActive=False)
        (notice,) = receiver.wait_for("/owned-deactivated", 1)
        assert notice.json["Action"] == "Deactivated" and notice.json["Guid"] == owned["webhookGUID"]
        settle(server)
        assert ok(client.get(f"TicketWebhooks/{owned['id']}"))["item"]["isActive"] is False
        assert ok(client.get(f"TicketWebhooks/{kept['id']}"))["item"]["isActive"] is True
        patch(client, "Tickets", a_ticket(client)["id"], title="owner gone")
        receiver.wait_for("/kept", 1)
        settle(server)
        assert receiver.on("/owned") == [] and receiver.on("/kept-deactivated") == []
