"""The worker: hands stored events to handlers, at least once, in order per record.

It claims due events from the store (see `EventStore.claim`: one per record at a time, oldest
first), runs every matching handler (sync ones in this thread, async ones on the worker's own
event loop) while renewing the claim's lease, then marks the event done. A failing handler
makes the event `failed` with an exponential backoff; after `max_attempts` it is `dead` (the
dead letter), listed by `autotask webhooks events --failed` and handed out again by `replay`.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .events import WebhookEvent
from .handlers import Handler
from .heartbeat import Heartbeat
from .store import EventStore, backoff

__all__ = ["RetryPolicy", "Worker"]

log = logging.getLogger("sdk_core.webhooks.worker")


@dataclass(frozen=True)
class RetryPolicy:
    """How often a failing event is retried before it is dead-lettered."""

    max_attempts: int = 5
    backoff: float = 2.0  # seconds before the first retry; doubles each time (with jitter)
    max_backoff: float = 300.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.backoff < 0 or self.max_backoff < 0:
            raise ValueError("backoff and max_backoff must not be negative")

    def delay(self, attempt: int) -> float | None:
        """Seconds before the next try after the `attempt`-th failure; None: dead-letter."""
        if attempt >= self.max_attempts:
            return None
        return backoff(attempt, self.backoff, self.max_backoff)


LEASE_ENV = "AUTOTASK_WEBHOOK_LEASE_SECONDS"
DEFAULT_LEASE = 300.0


class Worker:
    """Drains the store into handlers; `start()` runs it on a thread, `run_once()` inline."""

    def __init__(
        self,
        store: EventStore,
        handlers: Callable[[], Sequence[Handler]],
        retry: RetryPolicy | None = None,
        poll_interval: float = 1.0,
        batch: int = 50,
        lease: float | None = None,
    ):
        self.store = store
        self._handlers = handlers
        self.retry = retry or RetryPolicy()
        self.poll_interval = poll_interval
        self.batch = batch
        # How long a claimed event is held before another worker may take it: a worker killed
        # with events claimed delays them by this much (AUTOTASK_WEBHOOK_LEASE_SECONDS). A live
        # worker renews it every third of that while its handlers run.
        self.lease = lease if lease is not None else float(os.environ.get(LEASE_ENV, DEFAULT_LEASE))
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.handled = 0
        self.failures = 0

    def wake(self) -> None:
        """A new event was stored: look now rather than at the next poll."""
        self._wake.set()

    def start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="webhook-worker", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        self._loop = asyncio.new_event_loop()
        try:
            while not self._stop.is_set():
                try:
                    busy = self.run_once() > 0
                except Exception:  # the store is unreachable: keep trying, never die
                    log.exception("the webhook worker could not read the event store")
                    busy = False
                if not busy:
                    self._wake.wait(self.poll_interval)
                    self._wake.clear()
        finally:
            self._loop.close()
            self._loop = None

    def run_once(self) -> int:
        """Handle the events due now (one claim); returns how many were processed. The claim's
        lease is renewed while its handlers run (`Heartbeat`), so a slow handler keeps it."""
        claimed = self.store.lease(self.batch, self.lease)
        if not claimed.events:
            return 0
        heartbeat = Heartbeat(self.store, claimed, self.lease)
        done: list[int] = []
        unstarted = [event.seq for event in claimed.events]
        try:
            for event in claimed.events:
                if self._stop.is_set():
                    break  # stopping: the rest go back to the store below
                unstarted.remove(event.seq)
                if self._handle(event, heartbeat):
                    done.append(event.seq)
        finally:
            heartbeat.stop()
            self.store.finish(done)  # one commit for the batch; a crash before it re-runs them
            self.store.release(unstarted, heartbeat.until)  # another worker may take them now
        self.handled += len(done)
        return len(claimed.events)

    def _handle(self, event: WebhookEvent, heartbeat: Heartbeat) -> bool:
        """Run the matching handlers; False when one failed (the event is retried or dead)."""
        attempt = event.attempts + 1
        for handler in self._handlers():
            try:
                if not handler.matches(event):
                    continue
                result = handler.func(event)
                if inspect.isawaitable(result):
                    self._await(result)
            except Exception as exc:
                self.failures += 1
                delay = self.retry.delay(attempt)
                error = f"{handler.name}: {type(exc).__name__}: {exc}"
                heartbeat.release(event.seq)
                self.store.fail(event.seq, error, delay)
                if delay is None:
                    log.error(
                        "webhook event %s (%s %s %s) is dead after %d attempts: %s",
                        event.seq,
                        event.entity,
                        event.id,
                        event.action,
                        attempt,
                        error,
                    )
                else:
                    log.warning(
                        "webhook event %s (%s %s %s) failed (attempt %d), retry in %.1fs: %s",
                        event.seq,
                        event.entity,
                        event.id,
                        event.action,
                        attempt,
                        delay,
                        error,
                    )
                return False
        return True

    def _await(self, awaitable: Any) -> Any:
        loop = self._loop
        if loop is None:  # run_once() called outside the thread
            return asyncio.run(_wrap(awaitable))
        return loop.run_until_complete(awaitable)


async def _wrap(awaitable: Any) -> Any:
    return await awaitable
