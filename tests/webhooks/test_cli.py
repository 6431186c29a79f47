"""`autotask webhooks events|replay|serve`: the fixed surface and its errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from sdk_core.cli import main
from sdk_core.webhooks.cli import parse_since
from sdk_core.webhooks.events import read_payload
from sdk_core.webhooks.store import open_store


def fill(url: str) -> list[int]:
    store = open_store(url)
    try:
        seqs = []
        for n, (entity, action) in enumerate(
            [("Ticket", "Create"), ("Ticket", "Update"), ("Company", "Delete")], start=1
        ):
            seqs.append(
                store.add(
                    read_payload(
                        {
                            "Action": action,
                            "Guid": "g",
                            "EntityType": entity,
                            "Id": 10 + n,
                            "SequenceNumber": n,
                            "EventTime": f"2026-03-01T10:00:0{n}",
                        },
                        "default",
                        entity,
                    )
                )
            )
        store.fail(seqs[2], "boom", None)
        return seqs
    finally:
        store.close()


def test_events_json_has_the_fixed_fields(store_url: str) -> None:
    seqs = fill(store_url)
    result = CliRunner().invoke(main, ["webhooks", "events", "--store", store_url, "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [r["seq"] for r in rows] == seqs
    for key in ("entity", "id", "action", "guid", "sequence_number", "status"):
        assert all(key in r for r in rows)
    assert [(r["entity"], r["id"], r["action"], r["sequence_number"], r["status"]) for r in rows] == [
        ("Ticket", 11, "create", 1, "pending"),
        ("Ticket", 12, "update", 2, "pending"),
        ("Company", 13, "delete", 3, "dead"),
    ]


def test_events_filters_and_table(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'e.db'}"
    fill(url)
    runner = CliRunner()

    def ids(*args: str) -> list[int]:
        result = runner.invoke(main, ["webhooks", "events", "--store", url, "--json", *args])
        assert result.exit_code == 0, result.output
        return [r["id"] for r in json.loads(result.output)]

    assert ids("--failed") == [13]
    assert ids("--entity", "tickets") == [11, 12]
    assert ids("--id", "12") == [12]
    assert ids("--limit", "2") == [12, 13]
    assert ids("--since", "1h") == [11, 12, 13]
    assert ids("--tenant", "other") == []
    table = runner.invoke(main, ["webhooks", "events", "--store", url])
    assert "3 event(s): 1 dead, 2 pending" in table.output
    bad = runner.invoke(main, ["webhooks", "events", "--store", url, "--entity", "invoice"])
    assert bad.exit_code == 2 and "'invoice' is not a webhook entity" in bad.output


def test_replay_needs_a_selection_and_requeues(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'e.db'}"
    seqs = fill(url)
    runner = CliRunner()
    nothing = runner.invoke(main, ["webhooks", "replay", "--store", url])
    assert nothing.exit_code == 2 and "--since, --id, --failed or --all" in nothing.output
    result = runner.invoke(main, ["webhooks", "replay", "--store", url, "--failed", "--json"])
    assert json.loads(result.output) == {"requeued": 1}
    store = open_store(url)
    try:
        assert store.get(seqs[2]).status == "pending"  # type: ignore[union-attr]  # the event exists
    finally:
        store.close()


def test_a_bad_store_url_is_a_clear_error() -> None:
    result = CliRunner().invoke(main, ["webhooks", "events", "--store", "mysql://x/y"])
    assert result.exit_code == 1 and "runs on SQLite or PostgreSQL" in result.output


def test_serve_without_a_secret_says_how_to_give_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AUTOTASK_WEBHOOK_SECRET", raising=False)
    monkeypatch.delenv("AUTOTASK_WEBHOOK_TENANTS", raising=False)
    result = CliRunner().invoke(
        main, ["webhooks", "serve", "--port", "0", "--store", f"sqlite:///{tmp_path / 'e.db'}"]
    )
    assert result.exit_code == 1 and "export AUTOTASK_WEBHOOK_SECRET" in result.output
    handlers = CliRunner().invoke(
        main, ["webhooks", "serve", "--handlers", "no_such_module_x"], env={"AUTOTASK_WEBHOOK_SECRET": "k"}
    )
    assert handlers.exit_code == 1 and "cannot import handlers module" in handlers.output


def test_serve_has_no_secret_option() -> None:
    result = CliRunner().invoke(main, ["webhooks", "serve", "--help"])
    assert "--host" in result.output and "--port" in result.output and "--store" in result.output
    assert "--secret" not in result.output


@pytest.mark.parametrize(("text", "ago"), [("90s", 90), ("15m", 900), ("2h", 7200), ("3d", 259200)])
def test_since_durations(text: str, ago: int) -> None:
    now = datetime(2026, 3, 1, tzinfo=UTC)
    assert parse_since(text, now) == now - timedelta(seconds=ago)


def test_since_timestamps_and_errors() -> None:
    assert parse_since("2026-01-31T08:00:00Z") == datetime(2026, 1, 31, 8, tzinfo=UTC)
    assert parse_since("2026-01-31T08:00:00").tzinfo is not None
    import click

    with pytest.raises(click.BadParameter, match="neither a duration"):
        parse_since("yesterday")
