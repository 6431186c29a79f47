"""The rate governor: how this process (or a fleet of them) shares a tenant's API allowance.

Three rules, shared by every client of one tenant in the process:

* concurrency: at most `max_concurrency` requests in flight per entity endpoint, counted
  across threads and asyncio tasks (and across processes through Redis leases that expire,
  so a crashed process cannot hold a slot for longer than a lease);
* budget: our requests in the rolling timeframe stay under `max_api_share` of the tenant's
  threshold AND the tenant as a whole (other integrations included, read from
  ThresholdInformation) stays `margin` requests short of the first latency band (50 %);
* pacing: from `PACING_START` of the threshold on, the requests left before the band are
  spread evenly over the timeframe, so the tenant slows down before it reaches the band rather
  than bursting into it. ThresholdInformation is re-read more often as the band nears.

Rate-limit answers (429, the thread-threshold error) are counted here and waited out by the
request flow. Every decision is counted (`stats()`) and logged.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .errors import ConfigurationError

__all__ = ["Governor", "EndpointSlots", "get_governor", "Lease"]

log = logging.getLogger("sdk_core.governor")

LATENCY_BAND = 0.5
PACING_START = 0.4  # of the threshold: pacing begins this far below the first band
BAND_MARGIN = 0.01  # of the threshold: requests kept in reserve below the band
HEADROOM_RECHECK_SECONDS = 60.0  # with no headroom left, re-read the tenant's usage this often
DEFAULT_LIMIT = 10_000
DEFAULT_TIMEFRAME_MINUTES = 60
THRESHOLD_REFRESH_SECONDS = 300.0
THRESHOLD_REFRESH_REQUESTS = 500
LEASE_SECONDS = 330.0  # Autotask's ~5 minute execution timeout plus a margin


class EndpointSlots:
    """A counting semaphore that threads and asyncio tasks (of any loop) share, first come first served."""

    def __init__(self, limit: int):
        self.limit = limit
        self.in_use = 0
        self.peak = 0
        self._lock = threading.Lock()
        self._waiters: deque[Any] = deque()

    def _take(self) -> None:
        self.in_use += 1
        self.peak = max(self.peak, self.in_use)

    def acquire(self) -> bool:
        """Blocks; returns True if it had to wait."""
        with self._lock:
            if self.in_use < self.limit and not self._waiters:
                self._take()
                return False
            event = threading.Event()
            self._waiters.append(event)
        event.wait()
        return True

    async def acquire_async(self) -> bool:
        with self._lock:
            if self.in_use < self.limit and not self._waiters:
                self._take()
                return False
            loop = asyncio.get_running_loop()
            fut: asyncio.Future[None] = loop.create_future()
            self._waiters.append((loop, fut))
        try:
            await fut
        except asyncio.CancelledError:
            with self._lock:
                try:
                    self._waiters.remove((loop, fut))
                    handed = False
                except ValueError:
                    handed = True
            if handed and fut.done() and not fut.cancelled():
                self.release()
            raise
        return True

    def release(self) -> None:
        with self._lock:
            handed = self._hand_over()
        if handed:
            # The waiter's request should go out now, not after what this thread does next (a
            # query page's parse holds the GIL for milliseconds): give it the interpreter.
            time.sleep(0)

    def _hand_over(self) -> bool:
        """Pass the slot to the first live waiter (True: a thread) or free it (under the lock)."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if isinstance(waiter, threading.Event):
                waiter.set()  # the slot passes to the waiter; in_use is unchanged
                self.peak = max(self.peak, self.in_use)
                return True
            loop, fut = waiter
            if fut.done():
                continue
            try:
                loop.call_soon_threadsafe(self._wake, fut)
            except RuntimeError:  # its loop is closed: skip that waiter
                continue
            return False
        self.in_use -= 1
        return False

    def _wake(self, fut: asyncio.Future[None]) -> None:
        if fut.cancelled():
            self.release()
        else:
            fut.set_result(None)


@dataclass
class Lease:
    """A held slot: the local semaphore plus, with Redis, a lease id."""

    endpoint: str
    slots: EndpointSlots
    redis_token: str | None = None
    released: bool = False


@dataclass
class _Budget:
    limit: int = DEFAULT_LIMIT
    timeframe: float = DEFAULT_TIMEFRAME_MINUTES * 60.0
    tenant_used: int = 0
    refreshed_at: float | None = None
    sent_since_refresh: int = 0
    window: deque[float] = field(default_factory=deque)
    last_send: float = 0.0
    stale: bool = False

    @property
    def tenant_estimate(self) -> int:
        """The tenant's usage at the last read plus what this process sent since."""
        return self.tenant_used + self.sent_since_refresh

    @property
    def headroom(self) -> int:
        """Requests the whole tenant may still send before the first latency band (less a margin)."""
        return int(self.limit * LATENCY_BAND - self.tenant_estimate - self.limit * BAND_MARGIN)

    @property
    def pacing(self) -> bool:
        return self.tenant_estimate >= self.limit * PACING_START


_RESERVE_LUA = """
local key, last_key = KEYS[1], KEYS[2]
local now, window, budget, interval, member = tonumber(ARGV[1]), tonumber(ARGV[2]),
    tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local used = redis.call('ZCARD', key)
if used >= budget then
  local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  return tostring(tonumber(oldest[2]) + window - now)
end
if interval > 0 then
  local last = tonumber(redis.call('GET', last_key) or '0')
  if now < last + interval then return tostring(last + interval - now) end
end
redis.call('ZADD', key, now, member)
redis.call('SET', last_key, tostring(now), 'EX', math.ceil(window))
redis.call('EXPIRE', key, math.ceil(window) + 60)
return '0'
"""

_LEASE_LUA = """
local key = KEYS[1]
local now, limit, ttl, token = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
if redis.call('ZCARD', key) < limit then
  redis.call('ZADD', key, now + ttl, token)
  redis.call('EXPIRE', key, math.ceil(ttl) + 60)
  return 1
end
return 0
"""


class Governor:
    """Shared by every client of one tenant (api host + integration code) in the process."""

    def __init__(
        self,
        tenant: str,
        *,
        max_concurrency: int = 3,
        max_api_share: float = 0.5,
        redis_url: str | None = None,
        redis_prefix: str = "autotask-liberator",
        clock: Callable[[], float] = time.time,
    ):
        if not 1 <= max_concurrency <= 100:
            raise ConfigurationError(f"max_concurrency must be between 1 and 100, not {max_concurrency}")
        if not 0 < max_api_share <= 1:
            raise ConfigurationError(f"max_api_share must be in (0, 1], not {max_api_share}")
        self.tenant = tenant
        self.max_concurrency = max_concurrency
        self.max_api_share = max_api_share
        self.clock = clock
        self._lock = threading.Lock()
        self._refreshing = threading.Lock()
        self._slots: dict[str, EndpointSlots] = {}
        self._budget = _Budget()
        self._counters: dict[str, float] = {
            "requests": 0,
            "concurrency_waits": 0,
            "budget_waits": 0,
            "pacing_waits": 0,
            "wait_seconds": 0.0,
            "rate_limited": 0,
            "thread_limited": 0,
            "retries": 0,
            "threshold_reads": 0,
            "headroom_waits": 0,
        }
        self._redis = None
        self._prefix = f"{redis_prefix}:{tenant}"
        if redis_url:
            import redis

            self._redis = redis.Redis.from_url(redis_url)
            self._reserve = self._redis.register_script(_RESERVE_LUA)
            self._lease = self._redis.register_script(_LEASE_LUA)

    def configure(self, *, max_concurrency: int, max_api_share: float) -> None:
        """Change the limits for every client that shares this governor (clients never call it)."""
        with self._lock:
            self.max_concurrency = max_concurrency
            self.max_api_share = max_api_share
            for slots in self._slots.values():
                slots.limit = max_concurrency

    # concurrency -------------------------------------------------------------------------
    def slots(self, endpoint: str) -> EndpointSlots:
        key = endpoint.lower()
        with self._lock:
            found = self._slots.get(key)
            if found is None:
                found = self._slots[key] = EndpointSlots(self.max_concurrency)
            return found

    def acquire(self, endpoint: str) -> Lease:
        slots = self.slots(endpoint)
        waited = slots.acquire()
        lease = Lease(endpoint, slots)
        if waited:
            self.count("concurrency_waits")
        if self._redis is not None:
            while not self._try_redis_lease(lease):
                time.sleep(self._redis_poll())
        return lease

    async def acquire_async(self, endpoint: str) -> Lease:
        """`acquire` for asyncio: Redis is asked from a worker thread, never on the event loop."""
        slots = self.slots(endpoint)
        waited = await slots.acquire_async()
        lease = Lease(endpoint, slots)
        if waited:
            self.count("concurrency_waits")
        try:
            if self._redis is not None:
                while not await asyncio.to_thread(self._try_redis_lease, lease):
                    await asyncio.sleep(self._redis_poll())
        except BaseException:
            await self.release_async(lease)
            raise
        return lease

    def release(self, lease: Lease) -> None:
        if lease.released:
            return
        lease.released = True
        self._release_redis(lease)
        lease.slots.release()

    async def release_async(self, lease: Lease) -> None:
        """`release` for asyncio (the Redis lease is dropped from a worker thread)."""
        if lease.released:
            return
        lease.released = True
        if lease.redis_token is not None and self._redis is not None:
            await asyncio.to_thread(self._release_redis, lease)
        lease.slots.release()

    def _release_redis(self, lease: Lease) -> None:
        if lease.redis_token is not None and self._redis is not None:
            try:
                self._redis.zrem(self._key("slots", lease.endpoint), lease.redis_token)
            except Exception:  # the lease expires on its own
                log.warning("could not release a Redis lease for %s; it will expire", lease.endpoint)

    def _try_redis_lease(self, lease: Lease) -> bool:
        token = uuid.uuid4().hex
        got = self._lease(
            keys=[self._key("slots", lease.endpoint)],
            args=[self.clock(), self.max_concurrency, LEASE_SECONDS, token],
        )
        if got:
            lease.redis_token = token
            return True
        self.count("concurrency_waits")
        return False

    def _redis_poll(self) -> float:
        return 0.005 + 0.01 * (uuid.uuid4().int % 100) / 100

    # budget and pacing -------------------------------------------------------------------
    @property
    def budget(self) -> int:
        return max(1, int(self._budget.limit * self.max_api_share))

    def keep_threshold_defaults(self) -> None:
        """After a failed read: keep the known limit and try again after the refresh interval."""
        b = self._budget
        self.update_threshold(
            {"limit": b.limit, "used": b.tenant_used, "timeframe_minutes": int(b.timeframe // 60)}
        )

    def needs_threshold(self) -> bool:
        """Due after 300 s or 500 requests, sooner as the band nears (a quarter of the headroom)."""
        b = self._budget
        if b.refreshed_at is None or b.stale:
            return True
        seconds = HEADROOM_RECHECK_SECONDS if b.pacing else THRESHOLD_REFRESH_SECONDS
        requests = min(THRESHOLD_REFRESH_REQUESTS, max(10, b.headroom // 4))
        return self.clock() - b.refreshed_at > seconds or b.sent_since_refresh >= requests

    def claim_threshold_refresh(self) -> bool:
        """True for the one caller that should read ThresholdInformation now (then `done_...`)."""
        return self.needs_threshold() and self._refreshing.acquire(blocking=False)

    def done_threshold_refresh(self) -> None:
        self._refreshing.release()

    def update_threshold(self, threshold: dict[str, int]) -> None:
        with self._lock:
            b = self._budget
            b.limit = max(1, threshold["limit"])
            b.timeframe = max(1, threshold["timeframe_minutes"]) * 60.0
            b.tenant_used = threshold["used"]
            b.refreshed_at = self.clock()
            b.sent_since_refresh = 0
            b.stale = False
            self._counters["threshold_reads"] += 1
        log.debug(
            "threshold %s/%s used, budget %s requests per %s min",
            threshold["used"],
            threshold["limit"],
            self.budget,
            threshold["timeframe_minutes"],
        )

    def reserve(self) -> float:
        """Claim one request of the budget now (0.0), or say how long to wait before asking again."""
        return self.decide()[0]

    async def decide_async(self) -> tuple[float, str]:
        """`decide` for asyncio: with Redis, the budget is reserved from a worker thread."""
        if self._redis is None:
            return self.decide()  # memory only: no I/O
        return await asyncio.to_thread(self.decide)

    def decide(self) -> tuple[float, str]:
        """`(0.0, "")` when one request may go now, else `(seconds to wait, why)`."""
        now = self.clock()
        b = self._budget
        with self._lock:
            headroom, pacing, estimate = b.headroom, b.pacing, b.tenant_estimate
        band = int(b.limit * LATENCY_BAND)
        if headroom <= 0:
            with self._lock:
                b.stale = True  # re-read the tenant's usage before the next try
            wait = min(HEADROOM_RECHECK_SECONDS, b.timeframe)
            why = (
                f"the tenant is at an estimated {estimate} of {b.limit} requests, at the first "
                f"latency band ({band}) less a margin; other integrations share it. Waiting "
                f"{wait:.0f}s, then re-reading ThresholdInformation"
            )
            return self._waiting(wait, "headroom_waits", why)
        allowance = min(self.budget, headroom)
        interval = b.timeframe / allowance if pacing else 0.0
        if self._redis is not None:
            wait = float(
                self._reserve(
                    keys=[self._key("budget"), self._key("last")],
                    args=[now, b.timeframe, self.budget, interval, uuid.uuid4().hex],
                )
            )
            kind = "budget_waits" if wait > interval else "pacing_waits"
        else:
            with self._lock:
                while b.window and b.window[0] <= now - b.timeframe:
                    b.window.popleft()
                if len(b.window) >= self.budget:
                    wait, kind = b.window[0] + b.timeframe - now, "budget_waits"
                elif interval and now < b.last_send + interval:
                    wait, kind = b.last_send + interval - now, "pacing_waits"
                else:
                    b.window.append(now)
                    b.last_send = now
                    wait = 0.0
        if wait > 0:
            if kind == "budget_waits":
                why = (
                    f"this client's share is used up ({self.budget} requests per "
                    f"{b.timeframe / 60:.0f} min, {self.max_api_share:.0%} of {b.limit})"
                )
            else:
                why = (
                    f"pacing: the tenant is at an estimated {estimate} of {b.limit}; the {allowance} "
                    f"requests left before the latency band ({band}) are spread one per {interval:.2f}s"
                )
            return self._waiting(wait, kind, why)
        with self._lock:
            b.sent_since_refresh += 1
            self._counters["requests"] += 1
        return 0.0, ""

    def _waiting(self, wait: float, kind: str, why: str) -> tuple[float, str]:
        self.count(kind)
        self.count("wait_seconds", wait)
        log.info("governor %s: waiting %.2fs: %s", self.tenant, wait, why)
        return wait, why

    def note_sent_unbudgeted(self) -> None:
        """A request that skipped `reserve` (the threshold read itself) still counts."""
        with self._lock:
            self._budget.sent_since_refresh += 1
            self._budget.window.append(self.clock())
            self._counters["requests"] += 1

    # visibility --------------------------------------------------------------------------
    def count(self, name: str, amount: float = 1) -> None:
        with self._lock:
            self._counters[name] = self._counters.get(name, 0) + amount

    def stats(self) -> dict[str, Any]:
        with self._lock:
            out: dict[str, Any] = dict(self._counters)
            b = self._budget
            out.update(
                budget=self.budget,
                limit=b.limit,
                timeframe_minutes=b.timeframe / 60,
                tenant_used_estimate=b.tenant_estimate,
                headroom=b.headroom,
                max_concurrency=self.max_concurrency,
                in_flight={k: s.in_use for k, s in self._slots.items() if s.in_use},
                peak_in_flight={k: s.peak for k, s in self._slots.items()},
                shared_through="redis" if self._redis is not None else "process",
            )
        return out

    def _key(self, *parts: str) -> str:
        return ":".join((self._prefix, *[p.lower() for p in parts]))

    def __repr__(self) -> str:
        return f"<Governor {self.tenant} concurrency={self.max_concurrency} share={self.max_api_share}>"


_REGISTRY: dict[tuple[Any, ...], Governor] = {}
_REGISTRY_LOCK = threading.Lock()


def get_governor(
    api_host: str,
    integration_code: str,
    *,
    max_concurrency: int,
    max_api_share: float,
    redis_url: str | None,
    redis_prefix: str = "autotask-liberator",
) -> Governor:
    """The process-wide governor of a tenant for these limits; clients with the same settings share it.

    A client with other limits gets a governor of its own, so creating it never changes the
    limits of a client that already runs (they meet in Redis, as separate processes do). The
    integration code is part of the key (Autotask's thread limit is per integration code) but
    is never shown: the governor is named by a short hash of it.
    """
    code = hashlib.sha256(integration_code.encode()).hexdigest()[:12]
    key = (api_host, code, redis_url, redis_prefix, max_concurrency, max_api_share)
    with _REGISTRY_LOCK:
        gov = _REGISTRY.get(key)
        if gov is None:
            gov = _REGISTRY[key] = Governor(
                f"{api_host}#{code}",
                max_concurrency=max_concurrency,
                max_api_share=max_api_share,
                redis_url=redis_url,
                redis_prefix=redis_prefix,
            )
        return gov
