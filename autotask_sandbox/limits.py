"""The API's rationing: the hourly request threshold, its latency bands and the thread limit.

`RequestWindow` counts requests in a rolling window (per tenant) for `ThresholdInformation` and
the hourly threshold; `ThreadLimiter` caps concurrent requests per (integration code, entity
endpoint), rejecting extra ones at once as Autotask does (error code Itgenatr005).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from .errors import ApiError

WINDOW_MINUTES = 60


class RequestWindow:
    """Request timestamps of the last 60 minutes."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self.stamps: deque[float] = deque()

    def count(self) -> int:
        horizon = self.clock() - WINDOW_MINUTES * 60
        while self.stamps and self.stamps[0] <= horizon:
            self.stamps.popleft()
        return len(self.stamps)

    def add(self) -> None:
        self.stamps.append(self.clock())

    def clear(self) -> None:
        self.stamps.clear()

    def seconds_until_free(self) -> int:
        """Seconds until the oldest counted request leaves the window."""
        if not self.stamps:
            return 0
        return max(1, int(self.stamps[0] + WINDOW_MINUTES * 60 - self.clock()) + 1)


def threshold_exceeded(threshold: int, retry_after: int) -> ApiError:
    return ApiError(
        429,
        f"Request threshold exceeded: this database has reached its limit of {threshold} API "
        f"requests in the last {WINDOW_MINUTES} minutes. Retry after {retry_after} seconds.",
        headers={"Retry-After": str(retry_after)},
    )


def band_latency(count: int, threshold: int) -> float:
    """Added seconds per request: +0.5 s from 50 % of the threshold, +1 s from 75 %."""
    if threshold <= 0:
        return 0.0
    share = count / threshold
    return 1.0 if share >= 0.75 else 0.5 if share >= 0.5 else 0.0


class ThreadLimiter:
    """At most `limit` requests in flight per (integration code, endpoint bucket)."""

    def __init__(self, limit: int = 3):
        self.limit = limit
        self.active: dict[tuple[str, str], int] = {}

    @contextmanager
    def slot(self, code: str, bucket: str) -> Iterator[None]:
        key = (code.lower(), bucket.lower())
        if self.active.get(key, 0) >= self.limit:
            raise ApiError(
                429,
                "Thread Threshold Exceeded: The Autotask API thread threshold of "
                f"{self.limit} threads has been exceeded. (Itgenatr005)",
                headers={"Retry-After": "1"},
            )
        self.active[key] = self.active.get(key, 0) + 1
        try:
            yield
        finally:
            self.active[key] -= 1
            if not self.active[key]:
                del self.active[key]
