"""The one-page-ahead prefetcher: same items, same order, errors surface, no runaway worker."""

from __future__ import annotations

import threading
from typing import Iterator

import pytest

from tap_autotask.prefetch import prefetched


def test_yields_everything_in_order() -> None:
    assert list(prefetched(iter(range(50)))) == list(range(50))


def test_source_errors_reach_the_consumer_after_earlier_items() -> None:
    def source() -> Iterator[int]:
        yield 1
        raise RuntimeError("page 2 failed")

    got = []
    with pytest.raises(RuntimeError, match="page 2 failed"):
        for item in prefetched(source()):
            got.append(item)
    assert got == [1]


def test_stays_at_most_one_item_ahead_and_stops_when_abandoned() -> None:
    produced: list[int] = []
    closed = threading.Event()

    def source() -> Iterator[int]:
        try:
            for i in range(1000):
                produced.append(i)
                yield i
        finally:
            closed.set()

    stream = prefetched(source(), depth=1)
    assert next(stream) == 0
    stream.close()
    assert closed.wait(5)
    assert len(produced) <= 3
