"""Registration through the SDK client against the sandbox's webhook entities."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from click.testing import CliRunner

from autotask_sandbox.testing import SandboxServer
from sdk_core import AsyncAutotaskClient, AutotaskClient
from sdk_core.cli import main
from sdk_core.webhooks.registration import RegistrationError

URL = "https://hooks.example.com/webhooks/acme/ticket"


@pytest.fixture(scope="module")
def server() -> Any:
    with SandboxServer(scale="tiny", seed=1) as sb:
        yield sb


@pytest.fixture
def client(server: SandboxServer, client_of: Callable[[SandboxServer], AutotaskClient]) -> Any:
    server.admin.reset()
    return client_of(server)


def children(client: AutotaskClient, entity: str, webhook_id: int) -> list[dict[str, Any]]:
    return list(client.entity(entity).query({"webhookID": webhook_id}))


def test_register_twice_is_idempotent(client: AutotaskClient) -> None:
    resource = next(client.resources.query(fields=["id"]))["id"]
    made = [
        client.webhooks.register(
            "Ticket",
            URL,
            "k1",
            name="acme tickets",
            fields=["status", "Title"],
            display_fields=["ticketNumber"],
            excluded_resources=[resource],
            events={"create", "update"},
        )
        for _ in range(2)
    ]
    assert made[0] == made[1]
    hook = made[0]
    assert (hook.name, hook.url, hook.active, hook.ready) == ("acme tickets", URL, True, True)
    assert hook.deactivation_url == URL + "/deactivated" and hook.guid
    assert hook.events == {"create", "update"} and hook.excluded_resources == (resource,)
    assert set(hook.fields) == {"Status", "Title"} and hook.display_fields == ("TicketNumber",)
    assert [h.id for h in client.webhooks.list("Ticket")] == [hook.id]  # not duplicated
    fields = children(client, "TicketWebhookFields", hook.id)
    assert len(fields) == 3 and {f["isSubscribedField"] for f in fields} == {True, False}
    assert len(children(client, "TicketWebhookExcludedResources", hook.id)) == 1
    assert "k1" not in repr(hook) and "k1" not in json.dumps(hook.as_json())


def test_registering_again_updates_fields_and_settings(client: AutotaskClient) -> None:
    first = client.webhooks.register("ticket", URL, "k1", name="acme", fields=["status", "title"])
    second = client.webhooks.register(
        "Tickets", URL + "?v=2", "k2", name="acme", fields=["priority", "status"], events=["update"]
    )
    assert second.id == first.id and second.url == URL + "?v=2" and second.events == {"update"}
    assert set(second.fields) == {"Priority", "Status"} and second.ready
    assert len(children(client, "TicketWebhookFields", first.id)) == 2
    assert client.entity("TicketWebhooks").get(first.id)["secretKey"] == "k2"
    kept = client.webhooks.update("Ticket", "acme", active=False)
    assert kept.active is False and set(kept.fields) == {"Priority", "Status"}  # untouched
    assert client.webhooks.activate("Ticket", "acme").active is True
    assert client.webhooks.deactivate("Ticket", first.id).active is False


def test_company_udf_fields_and_other_entities(client: AutotaskClient) -> None:
    udf = client.companies.udfs()[0]["name"]
    company = client.webhooks.register(
        "Company", URL, "k", name="c", fields=["companyName"], udf_fields=[udf]
    )
    assert company.udf_fields == (udf,) and company.ready
    note = client.webhooks.register("ticket_notes", URL, "k", name="n", fields=["title"])
    ci = client.webhooks.register("InstalledProduct", URL, "k", name="ci", fields=["serialNumber"])
    contact = client.webhooks.register("Contact", URL, "k", name="p", fields=["emailAddress"])
    assert [h.entity for h in client.webhooks.list()] == [
        "Company",
        "Contact",
        "ConfigurationItem",
        "TicketNote",
    ]
    assert (note.entity, ci.entity, contact.entity) == ("TicketNote", "ConfigurationItem", "Contact")
    with pytest.raises(RegistrationError, match="no UDF fields"):
        client.webhooks.register("TicketNote", URL, "k", name="n2", fields=["title"], udf_fields=[udf])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"fields": ["statsu"]}, "Ticket has no webhook field 'statsu'; did you mean Status"),
        ({"fields": []}, "at least one subscribed field"),
        ({"fields": ["status"], "events": ["closed"]}, "unknown webhook event 'closed'"),
        ({"fields": ["status"], "name": "x" * 51}, "at most 50 characters"),
    ],
)
def test_bad_registrations_say_what_is_wrong_and_create_nothing(
    client: AutotaskClient, kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(RegistrationError, match=message):
        client.webhooks.register("Ticket", URL, "k", **{"name": "bad", **kwargs})
    assert client.webhooks.list() == []


def test_remove_deletes_the_webhook_and_its_children(client: AutotaskClient) -> None:
    hook = client.webhooks.register(
        "Ticket",
        URL,
        "k",
        name="gone",
        fields=["status"],
        excluded_resources=[next(client.resources.query())["id"]],
    )
    assert client.webhooks.remove("Ticket", "gone") is True
    assert client.webhooks.remove("Ticket", "gone") is False
    assert client.webhooks.get("Ticket", hook.id) is None
    assert children(client, "TicketWebhookFields", hook.id) == []
    assert children(client, "TicketWebhookExcludedResources", hook.id) == []


def test_error_logs_are_readable(server: SandboxServer, client: AutotaskClient) -> None:
    server.admin.put("webhooks/settings", {"max_attempts": 1, "timeout": 1})
    try:
        client.webhooks.register(
            "Ticket", "http://127.0.0.1:9/nowhere", "k", name="dead end", fields=["title"]
        )
        ticket = next(client.tickets.query(fields=["id"]))
        client.tickets.update({"id": ticket["id"], "title": "nobody listens"})
        from .conftest import settle, wait_until

        settle(server)
        rows = wait_until(client.webhooks.error_logs, what="an error log row")
        assert "nobody listens" in rows[0]["payload"] and rows[0]["sequenceNumber"] == 1
    finally:
        server.admin.put("webhooks/settings", {"max_attempts": 5, "timeout": 10})


async def test_the_async_client_registers_the_same_way(server: SandboxServer, tmp_path: Any) -> None:
    server.admin.reset()
    async with AsyncAutotaskClient(**server.credentials, cache_dir=str(tmp_path)) as client:
        made = [
            await client.webhooks.register("Ticket", URL, "k", name="async", fields=["status"])
            for _ in range(2)
        ]
        assert made[0] == made[1] and made[0].ready
        assert [h.name for h in await client.webhooks.list("Ticket")] == ["async"]
        assert await client.webhooks.remove("Ticket", "async") is True


def test_the_command_line_registers_lists_and_removes(
    server: SandboxServer, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.admin.reset()
    for key, value in server.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AUTOTASK_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("AUTOTASK_WEBHOOK_SECRET", "cli-secret-value")
    monkeypatch.delenv("AUTOTASK_WEBHOOK_TENANTS", raising=False)
    runner = CliRunner()
    args = [
        "webhooks",
        "register",
        "--entity",
        "ticket",
        "--url",
        URL,
        "--name",
        "cli",
        "--field",
        "status",
        "--display-field",
        "title",
        "--json",
    ]
    outputs = [runner.invoke(main, args) for _ in range(2)]
    assert all(o.exit_code == 0 for o in outputs), outputs[0].output
    first, second = (json.loads(o.output) for o in outputs)
    assert first == second and first["ready"] and first["fields"] == ["Status"]
    assert "cli-secret-value" not in outputs[0].output
    listed = runner.invoke(main, ["webhooks", "list", "--json"])
    assert [h["name"] for h in json.loads(listed.output)] == ["cli"]
    removed = runner.invoke(main, ["webhooks", "remove", "--entity", "Ticket", "--name", "cli"])
    assert removed.exit_code == 0 and "removed Ticket webhook 'cli'" in removed.output
    monkeypatch.delenv("AUTOTASK_WEBHOOK_SECRET")
    no_secret = runner.invoke(main, args)
    assert no_secret.exit_code != 0 and "export AUTOTASK_WEBHOOK_SECRET" in no_secret.output
