"""API requests per stream, reported as singer-sdk `http_request_count` METRIC lines.

The streams read through one sdk_core client, not singer-sdk's REST classes, so singer-sdk
never counts their requests. `StreamRequestStats` takes the place of the client's
`request_stats` (the same recorder, so the health figures are unchanged) and also counts every
attempt sent, by the stream reading records at the time and by endpoint (the entity, or
`ThresholdInformation`, `ZoneInformation`, ...). Attempts outside any stream's record reading
(discovery, schemas, the zone lookup) carry the stream `_tap`. A stream's counts are logged
when its reading ends, the rest when the sync ends, through singer-sdk's metrics logger:

    METRIC: {"type":"counter","metric":"http_request_count","value":9,"tags":{"stream":"tickets","endpoint":"Tickets"}}

Lines add up (an orchestrator sums them per stream); they carry names only, never a URL.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from singer_sdk import metrics

from sdk_core.health.recorder import RequestStats

__all__ = ["StreamRequestStats", "UNATTRIBUTED"]

UNATTRIBUTED = "_tap"


class StreamRequestStats(RequestStats):
    """The client's request recorder, also counting attempts per (stream, endpoint)."""

    def __init__(self, size: int = 2000):
        super().__init__(size)
        self.stream = UNATTRIBUTED
        self._counts: Counter[tuple[str, str]] = Counter()
        self._count_lock = threading.Lock()

    def record(self, request: Any, status: int | None, started: float, body: bytes = b"") -> None:
        super().record(request, status, started, body)
        with self._count_lock:
            self._counts[(self.stream, request.endpoint or "")] += 1

    @contextmanager
    def attributed(self, stream: str) -> Iterator[None]:
        """Count the attempts sent meanwhile (prefetch threads too) for `stream`, then log them."""
        self.stream = stream
        try:
            yield
        finally:
            self.stream = UNATTRIBUTED
            self.flush(stream)

    def counts(self) -> dict[tuple[str, str], int]:
        """Attempts not logged yet, by (stream, endpoint)."""
        with self._count_lock:
            return dict(self._counts)

    def flush(self, stream: str | None = None) -> None:
        """Log the counts of `stream` (every stream when None) and start them again from zero."""
        with self._count_lock:
            due = [key for key in self._counts if stream is None or key[0] == stream]
            popped = [(key, self._counts.pop(key)) for key in due]
        for (name, endpoint), value in sorted(popped):
            with metrics.http_request_counter(name, endpoint) as counter:
                counter.increment(value)
