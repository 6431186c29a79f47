"""The replication window of one stream run, and how it moves the stream's state.

A run reads one window: every row whose timestamp is `>= since` (all rows for a full scan),
in id order. After each page the state records the last id emitted, so a killed run resumes
inside its window instead of starting over. When the window is done the bookmark moves to
`min(until, newest timestamp seen)`: `until` is when the scan began, so rows changed during a
long scan, behind the id cursor, are read again next time; the overlap (`lookback`) covers
clock skew between this machine and Autotask.

State of a stream (Singer `bookmarks.<stream>`)::

    replication_key, replication_key_value   the bookmark (INCREMENTAL streams)
    deletes_value                             bookmark of the deletion log, if any
    table_version                             version carried by rows (ACTIVATE_VERSION)
    last_reconciled                           when the last full scan finished
    window                                    the unfinished window, if a run was cut short
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sdk_core import format_datetime, parse_datetime

from .plans import ReplicationPlan

__all__ = ["Window", "open_window", "close_window", "later"]

ROWS = "rows"
DELETES = "deletes"
FULL = "full"
INCREMENTAL = "incremental"


@dataclass
class Window:
    """What one run reads; persisted in state until it is finished."""

    phase: str
    mode: str
    until: str
    since: str | None = None
    last_id: int | None = None
    max_seen: str | None = None
    version: int | None = None

    @property
    def activates(self) -> bool:
        """A full scan saw every row, so the target may drop rows of older versions."""
        return self.mode == FULL and self.phase == ROWS

    def to_state(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_state(cls, raw: dict[str, Any]) -> Window:
        return cls(**{k: raw.get(k) for k in cls.__dataclass_fields__ if k in raw})

    def advance(self, last_id: int, newest: datetime | None) -> None:
        """Record that every row up to `last_id` has been emitted."""
        self.last_id = last_id
        if newest is not None:
            self.max_seen = later(self.max_seen, format_datetime(newest))


def later(a: str | None, b: str | None) -> str | None:
    """The later of two timestamps (either may be missing)."""
    if a is None or b is None:
        return a or b
    return a if parse_datetime(a) >= parse_datetime(b) else b


def _earlier(a: str, b: str | None) -> str:
    if b is None:
        return a
    return a if parse_datetime(a) <= parse_datetime(b) else b


def _minus(value: str, minutes: float) -> str:
    moment = parse_datetime(value)
    assert moment is not None
    return format_datetime(moment - timedelta(minutes=minutes))


def open_window(
    state: dict[str, Any],
    plan: ReplicationPlan,
    *,
    now: datetime,
    start_date: str | None,
    lookback_minutes: float,
    reconcile_every_hours: float,
    new_version: int,
) -> Window:
    """The window for this run: the unfinished one from state, or a new one."""
    if state.get("window"):
        return Window.from_state(state["window"])
    until = format_datetime(now)
    version = state.get("table_version") or new_version
    if not plan.incremental:
        return Window(ROWS, FULL, until, version=new_version)
    bookmark = state.get("replication_key_value")
    if state.get("replication_key") not in (None, plan.replication_key):
        bookmark = None  # the key changed: the old bookmark means nothing
    floor = format_datetime(parse_datetime(start_date)) if start_date else None
    if bookmark is None:
        if floor is None:
            return Window(ROWS, FULL, until, version=new_version)
        return Window(ROWS, INCREMENTAL, until, since=floor, version=version)
    last = state.get("last_reconciled")
    if reconcile_every_hours > 0 and (
        last is None or now - parse_datetime(last) >= timedelta(hours=reconcile_every_hours)
    ):
        return Window(ROWS, FULL, until, since=floor, version=new_version)
    since = later(_minus(bookmark, lookback_minutes), floor)
    return Window(ROWS, INCREMENTAL, until, since=since, version=version)


def close_window(
    state: dict[str, Any],
    window: Window,
    plan: ReplicationPlan,
    *,
    start_date: str | None,
    lookback_minutes: float,
) -> Window | None:
    """Move the bookmarks past a finished window; returns the next phase's window, if any."""
    state.pop("window", None)
    if window.phase == DELETES:
        state["deletes_value"] = _earlier(window.until, window.max_seen)
        return None
    state["table_version"] = window.version
    if window.mode == FULL or "last_reconciled" not in state:
        state["last_reconciled"] = window.until
    if plan.incremental:
        state["replication_key"] = plan.replication_key
        if window.max_seen is not None:
            state["replication_key_value"] = _earlier(window.until, window.max_seen)
        elif window.since is not None and "replication_key_value" not in state:
            state["replication_key_value"] = window.since
    if plan.deletes is None:
        return None
    if window.mode == FULL or "deletes_value" not in state:
        # A full scan already reflects every deletion up to its start.
        state["deletes_value"] = window.until
        return None
    since = _minus(state["deletes_value"], lookback_minutes)
    return Window(DELETES, INCREMENTAL, window.until, since=since, version=window.version)
