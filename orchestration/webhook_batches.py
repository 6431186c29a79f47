"""Turning stored webhook events into coalesced runs, and knowing when they are done.

The event store keeps every event until the consumer `dagster` acks it; Dagster's sensor
cursor remembers, per tenant and stream group, the newest event a run was requested for and
that run's request id. Each tick:

- events of a key with no run in flight become one run request (a burst of 1,000 ticket
  events is one run), tagged with the newest event's seq;
- while that run is queued or running, newer events of the key wait (they are coalesced into
  the next run, which the no-overlap rule would hold back anyway);
- when it succeeded, the events up to its seq are acked (the success sensor acks them too, at
  once; acking is idempotent); newer ones start the next run;
- when it failed, the events stay unacked and are requested again after a back-off.

Nothing is acked before a run that started after the event succeeded, so a Dagster restart, a
lost run or a crash in between repeats a sync instead of losing a change.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from .groups import StreamGroup, group_named, group_of_entity

__all__ = [
    "Batch",
    "WebhookCursor",
    "plan_batches",
    "CONSUMER",
    "ack_through",
    "REQUEST_TAG",
    "MAX_SEQ_TAG",
    "RunState",
]

CONSUMER = "dagster"
REQUEST_TAG = "autotask/webhook_request"
MAX_SEQ_TAG = "autotask/webhook_max_seq"
EVENTS_TAG = "autotask/webhook_events"
RETRY_FAILED_AFTER = 60.0  # seconds after a failed run before its events are requested again
LOST_REQUEST_AFTER = 300.0  # a requested run that never appeared is requested again


@dataclass(frozen=True)
class Batch:
    """Events of one tenant and stream group that one run will cover."""

    tenant: str
    group: StreamGroup
    seqs: tuple[int, ...]

    @property
    def key(self) -> str:
        return f"{self.tenant}.{self.group.name}"

    @property
    def max_seq(self) -> int:
        return max(self.seqs)


@dataclass
class WebhookCursor:
    """Per key: the newest seq a run was requested for, its request id, and when."""

    pending: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str | None) -> WebhookCursor:
        if not text:
            return cls()
        try:
            data = json.loads(text)
        except ValueError:
            return cls()  # an unreadable cursor only costs a repeated sync
        return cls(pending=dict(data.get("pending", {})))

    def dumps(self) -> str:
        return json.dumps({"pending": self.pending}, sort_keys=True)


@dataclass(frozen=True)
class RunState:
    """What became of a requested run: `None` status means not (yet) created."""

    status: str | None  # "in_flight", "success", "failed"
    finished_at: float | None = None


def group_events(events: Iterable[Any], tenants: set[str], warn: Callable[[str], None]) -> list[Batch]:
    """Events by (tenant, stream group); unknown tenants and entities are left unacked."""
    by_key: dict[tuple[str, str], list[int]] = {}
    unknown: set[str] = set()
    for event in events:
        group = group_of_entity(event.entity)
        if group is None or event.tenant not in tenants:
            unknown.add(f"{event.tenant}/{event.entity}")
            continue
        by_key.setdefault((event.tenant, group.name), []).append(event.seq)
    if unknown:
        warn(f"webhook events of unconfigured tenants or entities left unacked: {', '.join(sorted(unknown))}")
    return [Batch(tenant, group_named(name), tuple(seqs)) for (tenant, name), seqs in sorted(by_key.items())]


def plan_batches(
    batches: list[Batch],
    cursor: WebhookCursor,
    run_state: Callable[[str], RunState],
    now: float | None = None,
) -> tuple[list[Batch], list[tuple[Batch, int]]]:
    """(batches to request now, (batch, seq) pairs whose events a succeeded run covered)."""
    now = time.time() if now is None else now
    request: list[Batch] = []
    acks: list[tuple[Batch, int]] = []
    for batch in batches:
        pending = cursor.pending.get(batch.key)
        if pending is not None:
            state = run_state(pending["request"])
            if state.status == "in_flight":
                continue
            if state.status is None and now - pending["at"] < LOST_REQUEST_AFTER:
                continue  # requested, not created yet
            if state.status == "success":
                acks.append((batch, int(pending["seq"])))
                if batch.max_seq <= int(pending["seq"]):
                    continue
            if state.status == "failed" and now - (state.finished_at or now) < RETRY_FAILED_AFTER:
                continue
        request.append(batch)
    return request, acks


def ack_through(store: Any, tenant: str, group: StreamGroup, max_seq: int) -> int:
    """Ack the key's unacked events up to `max_seq`; returns how many."""
    acked = 0
    while True:
        events = store.unacked(CONSUMER, tenant=tenant, entities=group.webhook_entities, limit=5000)
        seqs = [e.seq for e in events if e.seq <= max_seq]
        if not seqs:
            return acked
        store.ack(CONSUMER, seqs)
        acked += len(seqs)
        if len(seqs) < len(events) or len(events) < 5000:
            return acked
