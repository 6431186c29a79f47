"""Fetch the next page while the current one is being emitted.

The API is the bottleneck; overlapping its latency with the tap's own work (shaping and
writing records) is the cheapest speed-up there is. One page ahead keeps memory bounded.
"""

from __future__ import annotations

import queue
import threading
from typing import Iterator, TypeVar

__all__ = ["prefetched"]

T = TypeVar("T")
_DONE = object()


class _Failure:
    def __init__(self, error: BaseException):
        self.error = error


def prefetched(source: Iterator[T], depth: int = 1) -> Iterator[T]:
    """Iterate `source` in a worker thread, at most `depth` items ahead of the consumer.

    Errors raised by the source are re-raised in the consumer; closing the returned
    generator (or abandoning it) stops the worker after its current item.
    """
    slots: queue.Queue[object] = queue.Queue(maxsize=max(depth, 1))
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                slots.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        try:
            for item in source:
                if not put(item):
                    return
            put(_DONE)
        except BaseException as exc:  # handed to the consumer, who re-raises it
            put(_Failure(exc))
        finally:
            close = getattr(source, "close", None)
            if close is not None and stop.is_set():
                try:
                    close()
                except Exception:
                    pass

    worker = threading.Thread(target=work, name="tap-autotask-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            item = slots.get()
            if item is _DONE:
                return
            if isinstance(item, _Failure):
                raise item.error
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        worker.join(timeout=5)
