"""Reads run concurrently with each other and with writes (one read-only SQLite connection per
thread, WAL), while writes stay serialised by the backend's lock."""

from __future__ import annotations

import random
import threading
from concurrent.futures import ThreadPoolExecutor

from autotask_sandbox.backend import Backend

WAIT = 30  # generous: a blocked read never finishes, a free one finishes at once


def test_reads_proceed_while_a_writer_holds_the_lock(backend: Backend) -> None:
    held, release = threading.Event(), threading.Event()

    def long_write() -> None:
        with backend.lock:
            held.set()
            release.wait(WAIT)

    writer = threading.Thread(target=long_write)
    writer.start()
    assert held.wait(WAIT)
    try:
        with ThreadPoolExecutor(3) as pool:
            futures = [
                pool.submit(backend.query, "Tickets", [{"op": "gt", "field": "id", "value": 0}]),
                pool.submit(backend.count, "Tickets", [{"op": "exist", "field": "id"}]),
                pool.submit(backend.get, "Companies", 0),
            ]
            page, count, company = (f.result(timeout=WAIT) for f in futures)
        assert page.ids and count >= len(page.ids) and company["id"] == 0
    finally:
        release.set()
        writer.join()


def test_a_read_inside_atomic_sees_the_uncommitted_write(backend: Backend) -> None:
    data = backend.make_row("Tickets", random.Random(3))
    other = ThreadPoolExecutor(1)
    try:
        with backend.atomic():
            new_id = backend.create("Tickets", data)
            assert backend.get("Tickets", new_id)["title"] == data["title"]
            assert other.submit(backend.get, "Tickets", new_id).result(WAIT) is None
        assert other.submit(backend.get, "Tickets", new_id).result(WAIT)["title"] == data["title"]
    finally:
        other.shutdown()


def test_reader_connections_follow_a_reset(backend: Backend) -> None:
    reader = ThreadPoolExecutor(1)
    try:
        new_id = backend.create("Tickets", backend.make_row("Tickets", random.Random(4)))
        assert reader.submit(backend.get, "Tickets", new_id).result(WAIT) is not None
        backend.reset()
        assert reader.submit(backend.get, "Tickets", new_id).result(WAIT) is None
    finally:
        reader.shutdown()


def test_readers_see_every_committed_write(backend: Backend) -> None:
    """Reader threads running during writes neither fail nor keep a stale snapshot."""
    rng = random.Random(9)
    created: list[int] = []

    def write() -> None:
        for _ in range(20):
            created.append(backend.create("Tickets", backend.make_row("Tickets", rng)))

    def read_last() -> int:
        return backend.query(
            "Tickets", [{"op": "gt", "field": "id", "value": 0}], ["id"], 1, before_id=2**62
        ).ids[-1]

    with ThreadPoolExecutor(3) as pool:
        writer = threading.Thread(target=write)
        writer.start()
        seen = [pool.submit(read_last).result(WAIT) for _ in range(30)]
        writer.join()
        after = [pool.submit(backend.get, "Tickets", i) for i in created]
        assert all(f.result(WAIT) is not None for f in after)
        assert pool.submit(read_last).result(WAIT) == created[-1]
    assert seen == sorted(seen)
