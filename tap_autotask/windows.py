"""The replication window of one stream run, and how it moves the stream's state.

A run reads one window: every row whose timestamp is `>= since` (all rows for a full scan),
in id order. After each page the state records the last id emitted, so a killed run resumes
inside its window instead of starting over. When the window is done the bookmark moves to
`min(until, newest timestamp seen)`: `until` is when the scan began, so rows changed during a
long scan, behind the id cursor, are read again next time; the overlap (`lookback`) covers
clock skew between this machine and Autotask.

Reading `>=` the bookmark minus the overlap would emit the rows at the boundary again on every
run. The window therefore remembers which rows it emitted inside the next run's overlap (id and
timestamp as Autotask sent it, at most `OVERLAP_CAP` of them); the next run skips a row whose
id and timestamp are both unchanged, so it emits exactly the rows that changed.

State of a stream (Singer `bookmarks.<stream>`)::

    replication_key, replication_key_value   the bookmark (INCREMENTAL streams)
    overlap                                   {id: timestamp} emitted inside the next overlap
    deletes_value, deletes_overlap            the same for the deletion log, if any
    table_version                             version carried by rows (ACTIVATE_VERSION)
    last_reconciled                           when the last full scan began
    window                                    the unfinished window, if a run was cut short
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sdk_core import format_datetime, parse_datetime

from .plans import ReplicationPlan

__all__ = ["Window", "open_window", "close_window", "later", "to_utc", "OVERLAP_CAP"]

ROWS = "rows"
DELETES = "deletes"
FULL = "full"
INCREMENTAL = "incremental"
OVERLAP_CAP = 1000


def to_utc(value: Any) -> datetime | None:
    """An Autotask timestamp as an aware UTC datetime (fast path: `fromisoformat`)."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return parse_datetime(value)
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _moment(value: str) -> datetime:
    """`to_utc` of a timestamp this module stored itself, so never empty."""
    moment = to_utc(value)
    assert moment is not None
    return moment


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
    lookback: float = 0.0
    skip: dict[str, str] | None = None
    recent: dict[str, str] | None = field(default_factory=dict)

    @property
    def activates(self) -> bool:
        """A full scan saw every row, so the target may drop rows of older versions."""
        return self.mode == FULL and self.phase == ROWS

    def to_state(self) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if v is not None}
        if self.recent is None:
            out["recent"] = None  # overflowed: remember that, not an empty map
        return out

    @classmethod
    def from_state(cls, raw: dict[str, Any]) -> Window:
        window = cls(**{k: raw[k] for k in cls.__dataclass_fields__ if k in raw})
        window.lookback = float(window.lookback)  # singer-sdk reads state numbers as Decimal
        return window

    def is_repeat(self, row_id: Any, stamp: Any) -> bool:
        """Whether this row was emitted last run with this very timestamp."""
        return self.skip is not None and self.skip.get(str(row_id)) == stamp

    def overlap_floor(self) -> datetime | None:
        """Rows older than this cannot fall in the next run's overlap (None: not known yet)."""
        if self.max_seen is None:
            return None
        edge = min(_moment(self.until), _moment(self.max_seen))
        return edge - timedelta(minutes=self.lookback)

    def advance(
        self, last_id: int, newest: datetime | None, candidates: Iterable[tuple[Any, str, datetime]] = ()
    ) -> None:
        """Every row up to `last_id` is emitted; `candidates` may fall in the next overlap."""
        self.last_id = last_id
        if newest is not None:
            self.max_seen = later(self.max_seen, format_datetime(newest))
        if self.recent is None:
            return
        floor = self.overlap_floor()
        for row_id, stamp, moment in candidates:
            if floor is None or moment >= floor:
                self.recent[str(row_id)] = stamp
        if floor is not None and len(self.recent) > OVERLAP_CAP // 2:
            self.recent = {k: v for k, v in self.recent.items() if _moment(v) >= floor}
        if len(self.recent) > OVERLAP_CAP:
            self.recent = None  # too busy to remember: the overlap is re-emitted instead


def later(a: str | None, b: str | None) -> str | None:
    """The later of two timestamps (either may be missing)."""
    if a is None or b is None:
        return a or b
    return a if _moment(a) >= _moment(b) else b


def _earlier(a: str, b: str | None) -> str:
    if b is None:
        return a
    return a if _moment(a) <= _moment(b) else b


def _minus(value: str, minutes: float) -> str:
    return format_datetime(_moment(value) - timedelta(minutes=minutes))


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
    floor = format_datetime(start_date) if start_date else None
    full = Window(ROWS, FULL, until, since=floor, version=new_version, lookback=lookback_minutes)
    if bookmark is None:
        if floor is None:
            return full
        return Window(ROWS, INCREMENTAL, until, since=floor, version=version, lookback=lookback_minutes)
    last = state.get("last_reconciled")
    if reconcile_every_hours > 0 and (
        last is None or now - _moment(last) >= timedelta(hours=reconcile_every_hours)
    ):
        return full
    since = later(_minus(bookmark, lookback_minutes), floor)
    return Window(
        ROWS,
        INCREMENTAL,
        until,
        since=since,
        version=version,
        lookback=lookback_minutes,
        skip=state.get("overlap"),
    )


def _overlap(window: Window, bookmark: str | None) -> dict[str, str] | None:
    if window.recent is None or bookmark is None:
        return None
    floor = _moment(bookmark) - timedelta(minutes=window.lookback)
    kept = {k: v for k, v in window.recent.items() if _moment(v) >= floor}
    return kept or None


def _put(state: dict[str, Any], key: str, value: Any) -> None:
    if value is None:
        state.pop(key, None)
    else:
        state[key] = value


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
        if window.max_seen is not None:
            state["deletes_value"] = _earlier(window.until, window.max_seen)
            _put(state, "deletes_overlap", _overlap(window, state["deletes_value"]))
        return None
    state["table_version"] = window.version
    if window.mode == FULL or "last_reconciled" not in state:
        state["last_reconciled"] = window.until
    if plan.incremental:
        state["replication_key"] = plan.replication_key
        if window.max_seen is not None:
            state["replication_key_value"] = _earlier(window.until, window.max_seen)
            _put(state, "overlap", _overlap(window, state["replication_key_value"]))
        elif window.since is not None and "replication_key_value" not in state:
            state["replication_key_value"] = window.since
    if plan.deletes is None:
        return None
    if window.mode == FULL or "deletes_value" not in state:
        # A full scan already reflects every deletion up to its start.
        state["deletes_value"] = window.until
        state.pop("deletes_overlap", None)
        return None
    since = _minus(state["deletes_value"], lookback_minutes)
    return Window(
        DELETES,
        INCREMENTAL,
        window.until,
        since=since,
        version=window.version,
        lookback=lookback_minutes,
        skip=state.get("deletes_overlap"),
    )
