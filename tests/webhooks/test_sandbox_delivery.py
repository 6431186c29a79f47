"""The receiver against the sandbox's real webhook delivery (signed callouts over loopback)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from autotask_sandbox.testing import SandboxServer
from sdk_core import AutotaskClient
from sdk_core.webhooks.store import open_store

from .conftest import SECRET, ReceiverProcess, settle, wait_until


def _hook(client: AutotaskClient, url: str, secret: str = SECRET, **kw: Any) -> Any:
    return client.webhooks.register(
        "Ticket",
        url,
        secret,
        name=kw.pop("name", "tests"),
        fields=kw.pop("fields", ["status", "title"]),
        display_fields=["ticketNumber"],
        **kw,
    )


def _ticket(client: AutotaskClient, offset: int = 0) -> dict[str, Any]:
    rows = client.tickets.query(fields=["id", "title", "status"])
    for _ in range(offset):
        next(rows)
    return next(rows)


def _stored(receiver: ReceiverProcess) -> list[Any]:
    store = open_store(receiver.store_url)
    try:
        return store.events()
    finally:
        store.close()


def test_a_change_arrives_verified_stored_once_and_handled_once(
    delivering: SandboxServer,
    receiver_factory: Callable[..., ReceiverProcess],
    client_of: Callable[[SandboxServer], AutotaskClient],
    store_url: str,
) -> None:
    receiver = receiver_factory(store_url).start()  # SQLite and PostgreSQL
    client = client_of(delivering)
    _hook(client, receiver.url("default/TICKET"))  # the entity segment is case-insensitive
    ticket = _ticket(client)
    title = "Printer <HP> & 'Toner' +5 – Größe"  # signed over the escaped form
    client.tickets.update({"id": ticket["id"], "title": title})
    log = settle(delivering)
    assert [(d["ok"], d["attempt"]) for d in log] == [(True, 1)]
    (event,) = _stored(receiver)
    assert (event.entity, event.id, event.action, event.tenant) == (
        "Ticket",
        ticket["id"],
        "update",
        "default",
    )
    assert event.fields["title"] == title and event.sequence_number == 1
    handled = wait_until(receiver.handled, what="the handler")
    assert [(h["seq"], h["id"], h["fields"]["title"]) for h in handled] == [(event.seq, ticket["id"], title)]
    wait_until(lambda: _stored(receiver)[0].status == "done", what="status done")
    counters = receiver.status()["counters"]
    assert counters["stored"] == 1 and counters["bad_signature"] == 0


def test_sandbox_retries_after_a_500_are_stored_once(
    delivering: SandboxServer,
    receiver_factory: Callable[..., ReceiverProcess],
    client_of: Callable[[SandboxServer], AutotaskClient],
) -> None:
    receiver = receiver_factory().start(AUTOTASK_WEBHOOKS_TEST_FAULT="500-after-store")
    client = client_of(delivering)
    _hook(client, receiver.url())
    ticket = _ticket(client)
    client.tickets.update({"id": ticket["id"], "title": "after a 500"})
    log = settle(delivering)
    assert [(d["ok"], d["error"]) for d in log] == [(False, "HTTP 500"), (True, None)]
    assert len(_stored(receiver)) == 1
    assert receiver.status()["counters"]["duplicates"] == 1
    wait_until(lambda: len(receiver.handled()) == 1, what="one handling")
    assert len(receiver.handled()) == 1


def test_a_bad_signature_is_refused_and_nothing_is_stored(
    delivering: SandboxServer,
    receiver_factory: Callable[..., ReceiverProcess],
    client_of: Callable[[SandboxServer], AutotaskClient],
) -> None:
    delivering.admin.put("webhooks/settings", {"max_attempts": 2})
    receiver = receiver_factory().start()
    client = client_of(delivering)
    _hook(client, receiver.url(), secret="not-the-receivers-secret")
    ticket = _ticket(client)
    client.tickets.update({"id": ticket["id"], "title": "forged?"})
    log = settle(delivering)
    assert [d["error"] for d in log] == ["HTTP 401", "HTTP 401"]
    assert _stored(receiver) == []
    assert receiver.status()["counters"]["bad_signature"] == 2
    logged = receiver.stderr()
    assert "refused a webhook for tenant default entity Ticket" in logged
    assert "not-the-receivers-secret" not in logged and SECRET not in logged
    assert "forged?" not in logged  # no body in the log
    assert client.webhooks.error_logs()  # Autotask gave up and logged it


def test_kill_9_between_store_and_answer_loses_and_doubles_nothing(
    delivering: SandboxServer,
    receiver_factory: Callable[..., ReceiverProcess],
    client_of: Callable[[SandboxServer], AutotaskClient],
) -> None:
    delivering.admin.put("webhooks/settings", {"retry_interval": 2.0})
    # The killed process's worker may have claimed the event in the instant between commit and
    # kill: a short lease lets the restarted worker take it within the wait below.
    receiver = receiver_factory().start(
        AUTOTASK_WEBHOOKS_TEST_FAULT="kill-after-store", AUTOTASK_WEBHOOK_LEASE_SECONDS="3"
    )
    client = client_of(delivering)
    _hook(client, receiver.url())
    ticket = _ticket(client)
    client.tickets.update({"id": ticket["id"], "title": "survives kill -9"})
    assert receiver.wait_exit() == -9  # it killed itself after the commit, before answering
    (stored,) = _stored(receiver)  # durable although no answer was sent
    assert stored.status == "pending"
    receiver.start(AUTOTASK_WEBHOOKS_TEST_FAULT="")  # same port; the sandbox retries there
    log = settle(delivering)
    # failed while it was down (once or more, by how fast it restarted), then delivered
    assert [d["ok"] for d in log] == [False] * (len(log) - 1) + [True]
    assert [e.seq for e in _stored(receiver)] == [stored.seq]
    wait_until(lambda: _stored(receiver)[0].status == "done", what="handled after restart")
    assert [h["seq"] for h in receiver.handled()] == [stored.seq]
    assert receiver.status()["counters"]["duplicates"] == 1


def test_handler_failure_dead_letter_then_replay(
    delivering: SandboxServer,
    receiver_factory: Callable[..., ReceiverProcess],
    client_of: Callable[[SandboxServer], AutotaskClient],
    tmp_path: Path,
) -> None:
    flag = tmp_path / "downstream-down"
    flag.touch()
    receiver = receiver_factory().start(WEBHOOK_TEST_FAIL_FLAG=str(flag))
    client = client_of(delivering)
    _hook(client, receiver.url())
    first, second = _ticket(client, 0), _ticket(client, 1)
    client.tickets.update({"id": first["id"], "title": "dead letter 1"})
    client.tickets.update({"id": second["id"], "title": "dead letter 2"})
    settle(delivering)
    dead = wait_until(
        lambda: (
            [e for e in _stored(receiver) if e.status == "dead"]
            if all(e.status == "dead" for e in _stored(receiver))
            else None
        ),
        what="dead letters",
    )
    assert {e.id for e in dead} == {first["id"], second["id"]}
    assert all(e.attempts == 3 and "downstream system is down" in (e.last_error or "") for e in dead)
    assert receiver.handled() == []

    flag.unlink()  # the downstream system is back: replay one record, then the rest
    from click.testing import CliRunner

    from sdk_core.cli import main

    runner = CliRunner()
    failed = runner.invoke(main, ["webhooks", "events", "--store", receiver.store_url, "--failed", "--json"])
    assert failed.exit_code == 0, failed.output
    import json

    assert sorted(e["id"] for e in json.loads(failed.output)) == sorted([first["id"], second["id"]])
    done = runner.invoke(
        main,
        [
            "webhooks",
            "replay",
            "--store",
            receiver.store_url,
            "--since",
            "1h",
            "--entity",
            "ticket",
            "--id",
            str(first["id"]),
        ],
    )
    assert done.exit_code == 0 and "1 event(s) queued" in done.output, done.output
    wait_until(lambda: len(receiver.handled()) == 1, what="the replayed event")
    assert receiver.handled()[0]["id"] == first["id"]
    rest = runner.invoke(main, ["webhooks", "replay", "--store", receiver.store_url, "--failed"])
    assert "1 event(s) queued" in rest.output, rest.output
    wait_until(lambda: len(receiver.handled()) == 2, what="the second replay")
    assert {e.status for e in _stored(receiver)} == {"done"}


def test_a_webhook_deactivated_by_the_sandbox_is_recorded(
    delivering: SandboxServer,
    receiver_factory: Callable[..., ReceiverProcess],
    client_of: Callable[[SandboxServer], AutotaskClient],
) -> None:
    delivering.admin.put("webhooks/settings", {"max_attempts": 1, "deactivate_after": 2})
    receiver = receiver_factory().start()
    client = client_of(delivering)
    hook = _hook(client, receiver.url(), secret="rotated-on-one-side-only")
    ticket = _ticket(client)
    for n in range(2):
        client.tickets.update({"id": ticket["id"], "title": f"refused {n}"})
        settle(delivering)
    store = open_store(receiver.store_url)
    try:
        (notice,) = wait_until(store.deactivations, what="the deactivation notice")
    finally:
        store.close()
    assert (notice["tenant"], notice["entity"], notice["webhook_id"]) == ("default", "Ticket", hook.id)
    assert notice["guid"] == hook.guid and notice["verified"] is False  # the secrets differ
    assert client.webhooks.get("Ticket", hook.id).active is False
    assert "Autotask deactivated a Ticket webhook of tenant default" in receiver.stderr()
