"""Leases of claimed events: renewed while a slow handler runs, so two workers sharing a store
never handle one event twice; a lease lost anyway is logged. On SQLite and PostgreSQL."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from sdk_core.webhooks import RetryPolicy, WebhookEvent
from sdk_core.webhooks.handlers import Handler
from sdk_core.webhooks.store import EventStore, open_store
from sdk_core.webhooks.worker import Worker

from .conftest import wait_until
from .test_store_contract import incoming

LEASE = 1.0  # seconds; the slow handler below takes three of them (renewed every third)


def every(func: Any) -> list[Handler]:
    return [Handler("*", func, None, None)]


@pytest.fixture
def second_store(store_url: str) -> Iterator[EventStore]:
    """Another connection pool on the same store, as a second receiver process would have."""
    opened = open_store(store_url)
    yield opened
    opened.close()


def test_a_handler_slower_than_the_lease_runs_once_with_two_workers(
    store: EventStore, second_store: EventStore
) -> None:
    calls: list[tuple[str, int]] = []
    lock = threading.Lock()

    def slow(name: str) -> Any:
        def handle(event: WebhookEvent) -> None:
            with lock:
                calls.append((name, event.seq))
            time.sleep(LEASE * 3)

        return handle

    seq = store.add(incoming())
    workers = [
        Worker(store, lambda: every(slow("a")), poll_interval=0.02, lease=LEASE),
        Worker(second_store, lambda: every(slow("b")), poll_interval=0.02, lease=LEASE),
    ]
    for worker in workers:
        worker.start()
    try:
        # a second worker's claim would start its handler (and record the call) before this
        assert wait_until(lambda: store.get(seq).status == "done", timeout=15)  # type: ignore[union-attr]
    finally:
        for worker in workers:
            worker.stop()
    assert [s for _, s in calls] == [seq], calls
    assert store.get(seq).attempts == 1  # type: ignore[union-attr]  # the event exists


def test_renew_extends_only_a_lease_still_held(store: EventStore, second_store: EventStore) -> None:
    seq = store.add(incoming())
    held = store.lease(lease=LEASE)
    assert [e.seq for e in held.events] == [seq]
    until, renewed = store.renew([seq], held.until, 60)
    assert renewed == {seq} and until > held.until
    time.sleep(LEASE + 0.1)
    assert second_store.claim(lease=60) == []  # the renewal outlived the first lease
    store.requeue(entity_id=1)  # a replay resets the lease; another worker takes the event
    taken = second_store.lease(lease=60)
    assert [e.seq for e in taken.events] == [seq]
    assert store.renew([seq], until, 60)[1] == set()
    assert second_store.renew([seq], taken.until, 60)[1] == {seq}


def test_a_lease_that_ran_out_and_was_claimed_again_cannot_be_renewed(
    store: EventStore, second_store: EventStore
) -> None:
    seq = store.add(incoming())
    stalled = store.lease(lease=0.0)  # this worker stalled past its lease
    assert [e.seq for e in second_store.claim(lease=60)] == [seq]
    assert store.renew([seq], stalled.until, 60)[1] == set()


def test_a_lost_lease_is_logged_and_a_failed_event_is_not_reported_lost(
    store: EventStore, caplog: pytest.LogCaptureFixture
) -> None:
    failing = store.add(incoming(1, 1))
    lost = store.add(incoming(2, 2))

    def handle(event: WebhookEvent) -> None:
        if event.seq == failing:
            raise RuntimeError("boom")
        store.requeue(entity_id=2)  # someone replays the event while its handler runs
        time.sleep(LEASE)

    worker = Worker(store, lambda: every(handle), retry=RetryPolicy(backoff=60), lease=LEASE)
    with caplog.at_level(logging.ERROR, logger="sdk_core.webhooks.worker"):
        assert worker.run_once() == 2
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, errors
    assert f"[{lost}] lost their lease" in errors[0] and "AUTOTASK_WEBHOOK_LEASE_SECONDS" in errors[0]
    assert store.get(failing).status == "failed"  # type: ignore[union-attr]  # the event exists


def test_a_stopping_worker_gives_back_the_events_it_did_not_start(
    store: EventStore, second_store: EventStore
) -> None:
    seqs = [store.add(incoming(id_=n, seq=n, guid=f"guid-{n}")) for n in (1, 2, 3)]
    started, go = threading.Event(), threading.Event()
    handled: list[int] = []

    def first_blocks(event: WebhookEvent) -> None:
        handled.append(event.seq)
        started.set()
        go.wait(10)

    worker = Worker(store, lambda: every(first_blocks), poll_interval=0.02, lease=300.0)
    worker.start()
    assert started.wait(10)
    stopping = threading.Thread(target=worker.stop)
    stopping.start()
    assert wait_until(lambda: worker._stop.is_set(), timeout=5)
    go.set()
    stopping.join(10)
    assert handled == seqs[:1]
    assert store.get(seqs[0]).status == "done"  # type: ignore[union-attr]
    # Without the release these would stay leased for the worker's 300 s.
    taken = second_store.lease(50, LEASE)
    assert sorted(e.seq for e in taken.events) == seqs[1:]
