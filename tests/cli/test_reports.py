"""`sdk_core.analytics` figures against plain counts of the same rows, and `autotask report` files."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sdk_core import AutotaskClient, analytics

SINCE = "2024-01-01"


@pytest.fixture(scope="module")
def api(sandbox):
    with AutotaskClient(**sandbox.credentials) as client:
        yield client


def _when(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00")).replace(tzinfo=UTC) if text else None


def test_volume_counts_every_ticket_created_and_completed(api):
    frame = analytics.ticket_volume(api, SINCE)
    tickets = list(api.tickets.query(None, ["createDate", "completedDate"]))
    start = datetime(2024, 1, 1, tzinfo=UTC)
    assert int(frame["created"].sum()) == sum(1 for t in tickets if _when(t["createDate"]) >= start)
    assert int(frame["completed"].sum()) == sum(
        1 for t in tickets if t["completedDate"] and _when(t["completedDate"]) >= start
    )
    assert str(frame["created"].dtype) == "Int64" and frame.index.tz is not None


def test_backlog_ends_at_the_tickets_open_now(api):
    frame = analytics.backlog(api, SINCE)
    open_now = sum(1 for t in api.tickets.query(None, ["completedDate"]) if not t["completedDate"])
    assert int(frame[analytics.OPEN].iloc[-1]) == open_now
    assert (frame[analytics.OPEN].astype(int) >= 0).all()


def test_utilization_adds_up_to_the_hours_worked(api):
    frame = analytics.utilization(api, SINCE)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    entries = [
        e
        for e in api.time_entries.query(None, ["dateWorked", "hoursWorked", "resourceID"])
        if _when(e["dateWorked"]) >= start
    ]
    assert float(frame["hours"].sum()) == pytest.approx(sum(e["hoursWorked"] or 0 for e in entries))
    assert set(frame["resource_id"].astype(int)) == {e["resourceID"] for e in entries}
    assert frame["resource"].notna().all()


def test_sla_attainment_matches_the_results(api):
    frame = analytics.sla_attainment(api, "2000-01-01")
    results = list(api.entity("ServiceLevelAgreementResults").query())
    assert int(frame["tickets"].sum()) == len(results)
    met = sum(1 for r in results if r["isResolutionMet"])
    weighted = (frame["resolution"].astype(float) * frame["tickets"].astype(float)).sum()
    assert weighted == pytest.approx(met)


def test_report_command_writes_a_self_contained_page_and_a_png(run, tmp_path):
    page = tmp_path / "backlog.html"
    done = run("report", "backlog", "--since", SINCE, "--out", str(page), "--csv", str(tmp_path / "b.csv"))
    text = page.read_text()
    assert (
        "data:image/png;base64," in text and "<script" not in text and "http" not in text.split("<body>")[1]
    )
    assert "open now" in done.stderr
    assert (tmp_path / "b.csv").read_text().startswith("period,open")
    png = tmp_path / "u.png"
    run("report", "utilization", "--since", SINCE, "--out", str(png))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (
        "saved as .html or .png"
        in run("report", "sla", "--since", SINCE, "--out", str(tmp_path / "x.pdf"), code=2).stderr
    )
    assert (
        "must come after"
        in run(
            "report",
            "volume",
            "--since",
            "2026-01-01",
            "--until",
            "2025-01-01",
            "--out",
            str(tmp_path / "v.png"),
            code=2,
        ).stderr
    )
