"""How a run's window is chosen and how finishing it moves the bookmarks."""

from __future__ import annotations

from datetime import UTC, datetime

from tap_autotask.plans import DeleteLog, ReplicationPlan
from tap_autotask.windows import Window, close_window, later, open_window

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
INCR = ReplicationPlan("lastActivityDate")
WITH_DELETES = ReplicationPlan(
    "lastActivityDate", deletes=DeleteLog("DeletedTicketLogs", "ticketID", "deletedDateTime")
)
FULL = ReplicationPlan(None)


def _open(state: dict, plan: ReplicationPlan = INCR, **kw) -> Window:
    args = dict(now=NOW, start_date=None, lookback_minutes=5, reconcile_every_hours=0, new_version=42)
    args.update(kw)
    return open_window(state, plan, **args)


def _close(state: dict, window: Window, plan: ReplicationPlan = INCR) -> Window | None:
    return close_window(state, window, plan, start_date=None, lookback_minutes=5)


def test_first_run_without_start_date_is_a_full_scan_that_activates() -> None:
    window = _open({})
    assert (window.mode, window.since, window.version) == ("full", None, 42)
    assert window.activates


def test_start_date_bounds_the_first_run() -> None:
    window = _open({}, start_date="2026-01-01T00:00:00Z")
    assert (window.mode, window.since) == ("incremental", "2026-01-01T00:00:00.000Z")
    assert not window.activates


def test_bookmark_minus_lookback_but_never_before_start_date() -> None:
    state = {
        "replication_key": "lastActivityDate",
        "replication_key_value": "2026-02-01T10:00:00.000Z",
        "table_version": 7,
    }
    window = _open(state)
    assert (window.mode, window.since, window.version) == ("incremental", "2026-02-01T09:55:00.000Z", 7)
    assert _open(state, start_date="2026-02-01T09:58:00Z").since == "2026-02-01T09:58:00.000Z"


def test_a_changed_replication_key_discards_the_bookmark() -> None:
    state = {"replication_key": "createDate", "replication_key_value": "2026-02-01T10:00:00Z"}
    assert _open(state).mode == "full"


def test_an_unfinished_window_is_resumed_as_it_was() -> None:
    saved = Window(
        "rows",
        "incremental",
        "2026-02-02T00:00:00.000Z",
        since="2026-02-01T00:00:00.000Z",
        last_id=1500,
        version=7,
    )
    resumed = _open({"window": saved.to_state()})
    assert resumed == saved


def test_bookmark_moves_to_the_earlier_of_scan_start_and_newest_row() -> None:
    state: dict = {}
    window = _open(state)
    window.advance(500, datetime(2026, 2, 1, tzinfo=UTC))
    window.advance(1000, datetime(2026, 2, 3, tzinfo=UTC))
    assert _close(state, window) is None
    assert state["replication_key_value"] == "2026-02-03T00:00:00.000Z"
    assert state["table_version"] == 42 and state["last_reconciled"] == window.until

    # Rows stamped after the scan began (changed while it ran) must be read again.
    state2: dict = {}
    window2 = _open(state2)
    window2.advance(10, datetime(2026, 3, 1, 12, 30, tzinfo=UTC))
    _close(state2, window2)
    assert state2["replication_key_value"] == "2026-03-01T12:00:00.000Z"


def test_an_empty_window_keeps_the_bookmark() -> None:
    state = {
        "replication_key": "lastActivityDate",
        "replication_key_value": "2026-02-01T10:00:00.000Z",
        "table_version": 7,
        "last_reconciled": "2026-02-01T00:00:00.000Z",
    }
    _close(state, _open(state))
    assert state["replication_key_value"] == "2026-02-01T10:00:00.000Z"
    assert "window" not in state


def test_reconciliation_is_a_full_scan_with_a_new_version_when_due() -> None:
    state = {
        "replication_key": "lastActivityDate",
        "replication_key_value": "2026-02-28T10:00:00.000Z",
        "table_version": 7,
        "last_reconciled": "2026-02-20T00:00:00.000Z",
    }
    due = _open(state, reconcile_every_hours=24)
    assert (due.mode, due.version, due.activates) == ("full", 42, True)
    state["last_reconciled"] = "2026-03-01T00:00:00.000Z"
    assert _open(state, reconcile_every_hours=24).mode == "incremental"


def test_full_table_streams_always_scan_everything_with_a_fresh_version() -> None:
    window = _open({"table_version": 7}, FULL)
    assert (window.mode, window.version, window.activates) == ("full", 42, True)
    state: dict = {}
    _close(state, window, FULL)
    assert "replication_key_value" not in state and state["table_version"] == 42


def test_deletions_are_read_after_an_incremental_window() -> None:
    state = {
        "replication_key": "lastActivityDate",
        "replication_key_value": "2026-02-28T10:00:00.000Z",
        "table_version": 7,
        "last_reconciled": "2026-02-28T00:00:00.000Z",
        "deletes_value": "2026-02-28T11:00:00.000Z",
    }
    rows = _open(state, WITH_DELETES)
    deletes = _close(state, rows, WITH_DELETES)
    assert deletes is not None
    assert (deletes.phase, deletes.since) == ("deletes", "2026-02-28T10:55:00.000Z")
    deletes.advance(3, datetime(2026, 2, 28, 11, 30, tzinfo=UTC))
    assert _close(state, deletes, WITH_DELETES) is None
    assert state["deletes_value"] == "2026-02-28T11:30:00.000Z"


def test_a_full_scan_needs_no_deletion_pass() -> None:
    state: dict = {}
    assert _close(state, _open(state, WITH_DELETES), WITH_DELETES) is None
    assert state["deletes_value"] == "2026-03-01T12:00:00.000Z"


def test_later_compares_instants_not_text() -> None:
    assert later("2026-01-01T10:00:05.3Z", "2026-01-01T10:00:05.307Z") == "2026-01-01T10:00:05.307Z"
    assert later(None, "2026-01-01T00:00:00Z") == "2026-01-01T00:00:00Z"


def test_rows_in_the_next_overlap_are_remembered_and_skipped_if_unchanged() -> None:
    state: dict = {}
    first = _open(state)
    first.lookback = 5
    stamps = {1: "2026-02-01T00:00:00", 2: "2026-02-28T11:58:00", 3: "2026-02-28T11:59:30"}
    moments = {i: datetime.fromisoformat(s).replace(tzinfo=UTC) for i, s in stamps.items()}
    first.advance(3, max(moments.values()), [(i, stamps[i], moments[i]) for i in stamps])
    _close(state, first)
    assert state["replication_key_value"] == "2026-02-28T11:59:30.000Z"
    assert state["overlap"] == {"2": stamps[2], "3": stamps[3]}

    second = _open(state)
    assert second.since == "2026-02-28T11:54:30.000Z"
    assert second.is_repeat(3, stamps[3])
    assert not second.is_repeat(3, "2026-03-01T11:00:00")
    assert not second.is_repeat(1, stamps[1])


def test_a_busy_overlap_is_not_remembered_beyond_the_cap() -> None:
    state: dict = {}
    window = _open(state)
    moment = datetime(2026, 3, 1, 11, 59, tzinfo=UTC)
    window.advance(5000, moment, [(i, "2026-03-01T11:59:00", moment) for i in range(2000)])
    assert window.recent is None
    _close(state, window)
    assert "overlap" not in state
    assert _open(state).skip is None


def test_full_scans_never_skip_rows() -> None:
    state = {
        "replication_key": "lastActivityDate",
        "overlap": {"1": "2026-01-01T00:00:00"},
        "replication_key_value": "2026-02-28T10:00:00.000Z",
        "table_version": 7,
        "last_reconciled": "2026-01-01T00:00:00.000Z",
    }
    window = _open(state, reconcile_every_hours=24)
    assert window.mode == "full" and window.skip is None


def test_a_window_read_back_from_a_state_file_has_plain_numbers() -> None:
    from decimal import Decimal

    saved = Window("rows", "full", "2026-02-02T00:00:00.000Z", lookback=5.0).to_state()
    saved["lookback"] = Decimal("5.0")
    window = Window.from_state(saved)
    window.max_seen = "2026-02-01T00:00:00.000Z"
    assert window.overlap_floor() == datetime(2026, 1, 31, 23, 55, tzinfo=UTC)
