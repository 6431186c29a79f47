"""Incremental runs against a changing sandbox: exactly the changed rows, deletes, reconciliation,
kill -9 and resume, and fault storms."""

from __future__ import annotations

import json
import signal
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from sdk_core.catalog import load_catalog
from tests.tap.singer_run import Output, run_tap, start_tap, tap_config

STREAMS = ["tickets", "ticket_notes", "time_entries", "contacts", "companies", "deleted_ticket_logs"]


def _changes(summary: dict[str, Any]) -> dict[str, dict[str, set[int]]]:
    """{stream: {action: ids}} from the sandbox's activity answer."""
    out: dict[str, dict[str, set[int]]] = defaultdict(lambda: defaultdict(set))
    for change in summary["changes"]:
        stream = load_catalog().get(change["entity"]).stream_name
        out[stream][change["action"]].add(change["id"])
    return out


def test_second_run_emits_exactly_the_changed_rows_and_the_deletions(
    sandbox_factory: Any,
) -> None:
    server = sandbox_factory()
    config = tap_config(server, include_streams=STREAMS, metadata_source="catalog")
    first = run_tap(config)
    assert len(first.records["tickets"]) > 100

    summary = server.admin.post("activity", {"updates": 25, "creates": 10, "deletes": 4, "seed": 11})
    changed = _changes(summary)
    assert changed["tickets"]["Delete"], "the batch should delete tickets"

    second = run_tap(config, first.state)
    for stream in STREAMS:
        upserted = (changed[stream]["Create"] | changed[stream]["Update"]) - changed[stream]["Delete"]
        rows = [r for r in second.records[stream] if r.get("_sdc_deleted_at") is None]
        assert sorted(r["id"] for r in rows) == sorted(upserted), stream
    deletions = [r for r in second.records["tickets"] if r.get("_sdc_deleted_at")]
    assert {r["id"] for r in deletions} == changed["tickets"]["Delete"]
    assert all(r["ticketNumber"] for r in deletions)
    # Only the deletion log's facts: no other column as an explicit null, which a target
    # would write over the row it already has.
    assert all(set(r) == {"id", "_sdc_deleted_at", "ticketNumber", "title"} for r in deletions), [
        sorted(r) for r in deletions
    ]

    for stream in ("tickets", "time_entries", "ticket_notes"):
        before = first.state["bookmarks"][stream]["replication_key_value"]
        after = second.state["bookmarks"][stream]["replication_key_value"]
        assert after > before, stream

    third = run_tap(config, second.state)
    assert not any(third.records.get(s) for s in STREAMS), "nothing changed, nothing emitted"


def test_reconciliation_rereads_everything_and_activates_a_new_version(
    sandbox_factory: Any,
) -> None:
    server = sandbox_factory()
    config = tap_config(server, include_streams=["time_entries"], metadata_source="catalog")
    first = run_tap(config)
    summary = server.admin.post("activity", {"deletes": 6, "seed": 5})
    gone = _changes(summary)["time_entries"]["Delete"]
    assert gone

    # Not due yet: an incremental run does not see the deletions.
    quiet = run_tap(config, first.state)
    assert not quiet.records.get("time_entries") and not quiet.activations.get("time_entries")

    state = json.loads(json.dumps(quiet.state))
    state["bookmarks"]["time_entries"]["last_reconciled"] = "2026-01-01T00:00:00.000Z"
    due = run_tap({**config, "reconcile_deletes_every": 24}, state)
    ids = due.ids("time_entries")
    assert set(ids) == set(first.ids("time_entries")) - gone
    version = due.activations["time_entries"][-1]
    assert version > first.state["bookmarks"]["time_entries"]["table_version"]
    assert {
        m["version"] for m in due.messages if m["type"] == "RECORD" and m["stream"] == "time_entries"
    } == {version}
    last_record = max(i for i, m in enumerate(due.messages) if m["type"] == "RECORD")
    activation = max(i for i, m in enumerate(due.messages) if m["type"] == "ACTIVATE_VERSION")
    assert activation > last_record


def _wait_for_pages(out: Path, pages: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = out.read_text() if out.exists() else ""
        if text.count('"last_id"') >= pages:
            return
        time.sleep(0.05)
    raise AssertionError(f"the tap did not checkpoint {pages} pages in {timeout} s")


def test_kill_9_mid_run_then_resume_loses_nothing_and_rereads_at_most_a_page(
    sandbox_factory: Any,
    tmp_path: Path,
) -> None:
    server = sandbox_factory(scale="small", latency_ms=150)
    config = tap_config(server, include_streams=["tickets"], metadata_source="catalog")
    total = server.admin.health()["tickets"]
    assert total > 2000

    proc, out = start_tap(config, tmp_path)
    try:
        _wait_for_pages(out, 3)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    killed = Output.parse(out.read_text())
    state = killed.state
    assert state is not None and state["bookmarks"]["tickets"]["window"]["last_id"]
    assert len(killed.records["tickets"]) < total, "killed too late to test a resume"

    proc, out2 = start_tap(config, tmp_path, state=state)
    assert proc.wait(timeout=120) == 0, out2.with_suffix(".log").read_text()[-3000:]
    resumed = Output.parse(out2.read_text())

    first_ids, second_ids = set(killed.ids("tickets")), set(resumed.ids("tickets"))
    assert len(first_ids | second_ids) == total
    assert len(first_ids & second_ids) <= 500
    assert min(second_ids) > state["bookmarks"]["tickets"]["window"]["last_id"]
    assert "window" not in resumed.state["bookmarks"]["tickets"]


def test_429_and_500_storms_still_give_exact_row_counts(sandbox_factory: Any) -> None:
    server = sandbox_factory(scale="small", faults="429:0.05@200,500:0.05,reset:0.02")
    config = tap_config(server, include_streams=["tickets", "ticket_notes"], metadata_source="catalog")
    out = run_tap(config)
    health = server.admin.health()
    assert len(out.records["tickets"]) == len(set(out.ids("tickets"))) == health["tickets"]
    stats = server.admin.stats()
    assert sum(stats["faults"].values()) > 0, json.dumps(stats["faults"])
    server.admin.set_faults(None)
    clean = run_tap({**config, "include_streams": ["ticket_notes"]})
    assert sorted(out.ids("ticket_notes")) == sorted(clean.ids("ticket_notes"))
