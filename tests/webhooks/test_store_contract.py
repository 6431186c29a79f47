"""The event store contract (STORE_CONTRACT.md), on SQLite (WAL) and PostgreSQL."""

from __future__ import annotations

import dataclasses
import multiprocessing
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from sdk_core.webhooks.events import read_payload
from sdk_core.webhooks.store import EventStore, StoredEvent, StoreError, open_store


def incoming(
    id_: int = 1,
    seq: int | None = 1,
    *,
    entity: str = "Ticket",
    action: str = "Update",
    guid: str = "guid-1",
    tenant: str = "default",
    event_time: str = "2026-03-01T10:00:00.123",
    fields: dict[str, Any] | None = None,
) -> Any:
    payload = {
        "Action": action,
        "Guid": guid,
        "EntityType": entity,
        "Id": id_,
        "Fields": fields if fields is not None else {"status": 5},
        "EventTime": event_time,
        "SequenceNumber": seq,
        "PersonID": 29680001,
    }
    return read_payload(payload, tenant, entity)


def test_add_reads_back_every_contract_field(store: EventStore) -> None:
    seq = store.add(incoming(7, fields={"status": 5, "userDefinedFields": [{"name": "Root", "value": "x"}]}))
    (event,) = store.events()
    assert isinstance(event, StoredEvent) and event.seq == seq == store.max_seq()
    assert (event.tenant, event.entity, event.id, event.action, event.guid) == (
        "default",
        "Ticket",
        7,
        "update",
        "guid-1",
    )
    assert event.sequence_number == 1 and event.person_id == 29680001
    assert event.event_time == datetime(2026, 3, 1, 10, 0, 0, 123000, tzinfo=UTC)
    assert event.received_at.tzinfo is not None
    assert abs(event.received_at - datetime.now(UTC)) < timedelta(minutes=1)
    assert event.status == "pending"
    assert event.fields == {"status": 5} and event.udf_fields == {"Root": "x"}
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.status = "done"  # type: ignore[misc]  # the write under test must fail


def test_duplicates_are_stored_once(store: EventStore) -> None:
    assert store.add(incoming(1, 1)) is not None
    assert store.add(incoming(1, 1)) is None  # same Guid and SequenceNumber
    assert store.add(incoming(2, 1)) is None  # same Guid and SequenceNumber, whatever else
    assert store.add(incoming(1, None)) is None  # same Guid, entity, id, action, EventTime
    assert store.add(incoming(1, 2, event_time="2026-03-01T10:00:01")) is not None
    assert store.add(incoming(1, 1, guid="other-webhook")) is not None
    assert store.add(incoming(1, 1, tenant="acme")) is not None
    assert len(store.events()) == 4


def test_events_filters_and_paging(store: EventStore) -> None:
    for n in range(1, 8):
        entity = "Ticket" if n % 2 else "Company"
        store.add(incoming(n, n, entity=entity, tenant="a" if n < 5 else "b"))
    seqs = [e.seq for e in store.events()]
    assert seqs == sorted(seqs) and len(seqs) == 7
    assert [e.seq for e in store.events(after_seq=seqs[2], limit=2)] == seqs[3:5]
    assert {e.entity for e in store.events(entities=["Ticket"])} == {"Ticket"}
    assert len(store.events(entities=["Ticket", "Company"])) == 7
    assert len(store.events(entities=["tickets"])) == 4  # any name of the entity
    assert {e.tenant for e in store.events(tenant="b")} == {"b"}
    assert store.events(status="done") == []
    assert len(store.events(status="pending", tenant="a", entities=["Company"])) == 2
    with pytest.raises(ValueError, match="unknown status"):
        store.events(status="finished")


def test_max_seq_is_zero_when_empty(store: EventStore) -> None:
    assert store.max_seq() == 0 and store.events() == [] and store.backlog() == 0


def test_unacked_and_ack_per_consumer(store: EventStore) -> None:
    seqs = [store.add(incoming(n, n)) for n in range(1, 6)]
    assert [e.seq for e in store.unacked("dagster")] == seqs
    store.ack("dagster", seqs[:2])
    store.ack("dagster", seqs[:2])  # idempotent
    store.ack("dagster", [])
    assert [e.seq for e in store.unacked("dagster")] == seqs[2:]
    assert [e.seq for e in store.unacked("dagster", after_seq=seqs[3])] == seqs[4:]
    assert [e.seq for e in store.unacked("dagster", limit=1)] == seqs[2:3]
    assert [e.seq for e in store.unacked("other")] == seqs  # consumers are independent
    assert store.unacked("dagster", entities=["Company"]) == []


def test_backlog_counts_pending_and_retrying(store: EventStore) -> None:
    seqs = [store.add(incoming(n, n, tenant="a" if n < 4 else "b")) for n in range(1, 6)]
    assert store.backlog() == 5 and store.backlog(tenant="a") == 3
    store.finish(seqs[0])
    store.fail(seqs[1], "boom", retry_in=60)  # retrying: still backlog
    store.fail(seqs[2], "boom", retry_in=None)  # dead: not backlog
    assert store.backlog() == 3 and store.backlog(tenant="a") == 1
    assert store.counts() == {"pending": 2, "done": 1, "failed": 1, "dead": 1}
    assert store.get(seqs[2]).status == "dead"  # type: ignore[union-attr]  # the event exists


def test_claim_keeps_each_records_order(store: EventStore) -> None:
    a1 = store.add(incoming(1, 1))
    b1 = store.add(incoming(2, 2))
    a2 = store.add(incoming(1, 3, event_time="2026-03-01T10:05:00"))
    assert None not in (a1, b1, a2)
    assert [e.seq for e in store.claim()] == [a1, b1]  # a2 waits behind a1
    assert store.claim() == []  # leased
    store.fail(a1, "boom", retry_in=0)
    store.finish(b1)
    (again,) = store.claim()
    assert again.seq == a1 and again.attempts == 1  # retried before a2
    store.finish(a1)
    assert [e.seq for e in store.claim()] == [a2]


def test_an_expired_lease_hands_the_event_out_again(store: EventStore) -> None:
    seq = store.add(incoming())
    assert [e.seq for e in store.claim(lease=0.0)] == [seq]
    assert [e.seq for e in store.claim(lease=60)] == [seq]  # a crashed worker's event


def test_requeue_replays_selected_events(store: EventStore) -> None:
    a = store.add(incoming(1, 1))
    b = store.add(incoming(2, 2, entity="Company"))
    store.fail(a, "boom", None)
    store.finish(b)
    assert store.requeue(status=["dead"]) == 1
    assert store.get(a).status == "pending" and store.get(a).attempts == 0  # type: ignore[union-attr]  # the event exists
    assert store.requeue(entities=["Company"], entity_id=2) == 1
    assert store.requeue(since=datetime.now(UTC) + timedelta(hours=1)) == 0
    assert store.backlog() == 2


def _insert_many(url: str, worker: int, count: int) -> list[int]:
    opened = open_store(url)
    try:
        return [opened.add(incoming(n, worker * 1000 + n, guid=f"w{worker}")) or -1 for n in range(count)]
    finally:
        opened.close()


def test_several_processes_at_once_store_each_event_once(store_url: str) -> None:
    """Writers in three processes; a reader that only remembers the last seq it saw (as the
    Dagster sensor does) must still see every event: seqs follow commit order."""
    reader = open_store(store_url)
    seen: list[int] = []

    def read_new() -> None:
        while True:
            page = reader.events(after_seq=seen[-1] if seen else 0)
            seen.extend(e.seq for e in page)
            if len(page) < 1000:
                return

    ctx = multiprocessing.get_context("spawn")
    try:
        with ctx.Pool(3) as pool:
            pending = pool.starmap_async(_insert_many, [(store_url, w, 60) for w in range(3)])
            while not pending.ready():
                read_new()
            results = pending.get()
            again = pool.starmap(_insert_many, [(store_url, w, 60) for w in range(3)])  # resent
        read_new()
        seqs = [s for r in results for s in r]
        assert -1 not in seqs and len(set(seqs)) == 180
        assert all(s == -1 for r in again for s in r)  # every resend was a duplicate
        assert seen == sorted(seqs)  # nothing skipped by the incremental reader
        assert reader.max_seq() == max(seqs)
    finally:
        reader.close()


def test_bad_urls_say_what_to_use(tmp_path: Any) -> None:
    with pytest.raises(StoreError, match="sqlite:///path/events.db"):
        open_store("mysql+pymysql://root@127.0.0.1/test")
    with pytest.raises(StoreError, match="needs a file"):
        open_store("sqlite://")
    with pytest.raises(StoreError, match="not a database URL"):
        open_store("events.db")


def test_sqlite_store_is_in_wal_mode(tmp_path: Any) -> None:
    opened = open_store(f"sqlite:///{tmp_path / 'sub' / 'e.db'}")
    try:
        with opened.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
    finally:
        opened.close()
    relaxed = open_store(f"sqlite:///{tmp_path / 'sub' / 'e.db'}?synchronous=normal")
    try:
        with relaxed.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
    finally:
        relaxed.close()
    with pytest.raises(StoreError, match="synchronous= takes full"):
        open_store(f"sqlite:///{tmp_path / 'e.db'}?synchronous=off")


def test_store_url_password_never_shows(pg_store_url: str) -> None:
    with_password = sa.make_url(pg_store_url).set(password="hunter2-secret")
    opened = open_store(with_password.render_as_string(hide_password=False))
    try:
        assert "hunter2" not in repr(opened) and "hunter2" not in opened.url
    finally:
        opened.close()
    unreachable = with_password.set(port=1).render_as_string(hide_password=False)
    with pytest.raises(StoreError) as caught:
        open_store(unreachable)
    assert "cannot open the webhook store" in str(caught.value)
    assert "hunter2" not in str(caught.value)
