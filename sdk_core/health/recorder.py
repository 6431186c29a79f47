"""Recent requests of one client (time, endpoint, status, latency, cause), for the health monitor.

Kept in a bounded deque so recording costs a tuple per request and memory stays flat.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from dataclasses import dataclass
from typing import Any

__all__ = ["RequestStats", "Sample", "percentile"]


@dataclass(frozen=True)
class Sample:
    at: float  # wall-clock seconds
    endpoint: str
    method: str
    status: int | None  # None: no answer (network failure)
    ms: float
    cause: str | None  # why it failed: rate_limited, thread_limited, server_error, network, ...


def _cause(status: int | None, body: bytes) -> str | None:
    if status is None:
        return "network"
    if status < 400:
        return None
    if (status == 429 or status >= 500) and b"thread threshold" in body[:2000].lower():
        return "thread_limited"  # Itgenatr005, sent as 429 or 500
    if status == 429:
        return "rate_limited"
    if status == 401:
        return "authentication"
    return "server_error" if status >= 500 else "client_error"


class RequestStats:
    def __init__(self, size: int = 2000):
        self._samples: deque[Sample] = deque(maxlen=size)
        self._lock = threading.Lock()
        self._totals: Counter[str] = Counter()

    def record(self, request: Any, status: int | None, started: float, body: bytes = b"") -> None:
        """One attempt of `request` (a `_protocol.Request`), `started` from `time.perf_counter()`."""
        ms = (time.perf_counter() - started) * 1000
        sample = Sample(time.time(), request.endpoint or "", request.method, status, ms, _cause(status, body))
        with self._lock:
            self._samples.append(sample)
            self._totals["requests"] += 1
            if sample.cause:
                self._totals[sample.cause] += 1

    def samples(self, since: float | None = None) -> list[Sample]:
        with self._lock:
            found = list(self._samples)
        return found if since is None else [s for s in found if s.at >= since]

    def totals(self) -> dict[str, int]:
        with self._lock:
            return dict(self._totals)


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-q * len(ordered) // 100))))
    return ordered[rank - 1]
