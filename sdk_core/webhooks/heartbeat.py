"""Keeps a claim's lease alive while its handlers run, so a slow handler is not handed to a
second worker when the lease (`AUTOTASK_WEBHOOK_LEASE_SECONDS`) runs out.

A thread renews the lease every third of its length until `stop()`. Events whose handler
failed are `release`d first (their lease is cleared by `fail`). A renewal that no longer finds
an event held (a replay reset it, or the worker stalled past the lease and another worker took
it) is logged as an error once, and that event is no longer renewed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable

from .store import EventStore, Lease

__all__ = ["Heartbeat"]

log = logging.getLogger("sdk_core.webhooks.worker")


class Heartbeat:
    """Renews `lease` on `store` every `seconds / 3` from a thread of its own."""

    def __init__(self, store: EventStore, lease: Lease, seconds: float):
        self.store = store
        self.seconds = seconds
        self.until = lease.until
        self.lost: set[int] = set()
        self._held = {e.seq for e in lease.events}
        self._lock = threading.Lock()  # a release waits for a renewal on the wire
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="webhook-lease", daemon=True)
        self._thread.start()

    def release(self, seqs: int | Iterable[int]) -> None:
        """Stop renewing these events (call before `fail` clears their lease)."""
        with self._lock:
            self._held.difference_update([seqs] if isinstance(seqs, int) else seqs)

    def stop(self) -> None:
        """Stop renewing (before `finish`); returns once no renewal is running."""
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        interval = max(self.seconds / 3, 0.01)
        while not self._stop.wait(interval):
            with self._lock:
                if self._stop.is_set() or not self._held:
                    continue
                self._renew()

    def _renew(self) -> None:
        try:
            self.until, held = self.store.renew(self._held, self.until, self.seconds)
        except Exception as exc:  # the store is briefly unreachable: try again next beat
            log.warning("could not renew the lease of webhook events %s: %s", sorted(self._held), exc)
            return
        lost = self._held - held
        if lost:
            self.lost |= lost
            self._held = held
            log.error(
                "webhook events %s lost their lease while a handler ran: another worker (or a "
                "replay) may handle them a second time; if the worker was stalled, raise "
                "AUTOTASK_WEBHOOK_LEASE_SECONDS (now %gs)",
                sorted(lost),
                self.seconds,
            )
