"""Service-desk figures as DataFrames: ticket volume, backlog, SLA attainment, utilisation.

Each function reads only the fields it needs (one id-cursor scan per entity) and returns a
pandas DataFrame indexed by period, ready to chart (`sdk_core.charts`) or to join with
anything else. pandas is imported on first use; without it these raise one line naming the
extra to install.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from ._query import Q
from .errors import ConfigurationError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ticket_volume", "backlog", "sla_attainment", "utilization", "as_utc"]

OPEN = "open"


def _pandas() -> Any:
    try:
        import pandas
    except ImportError:
        raise ConfigurationError("analytics need pandas: pip install 'autotask-liberator[pandas]'") from None
    return pandas


def as_utc(value: str | date | datetime) -> datetime:
    """A date, datetime or ISO text as an aware UTC datetime (a plain date is its midnight)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _window(since: Any, until: Any) -> tuple[datetime, datetime]:
    start = as_utc(since)
    end = as_utc(until) if until is not None else datetime.now(UTC)
    if end <= start:
        raise ConfigurationError(f"until ({_text(end)}) must come after since ({_text(start)})")
    return start, end


def _frame(rows: Iterable[dict[str, Any]], columns: list[str], dates: Iterable[str]) -> pd.DataFrame:
    pd = _pandas()
    frame = pd.DataFrame.from_records(list(rows), columns=columns)
    for column in dates:
        frame[column] = pd.to_datetime(frame[column], utc=True, errors="coerce", format="ISO8601")
    return frame


def _periods(start: datetime, end: datetime, freq: str) -> pd.DatetimeIndex:
    pd = _pandas()
    return pd.date_range(pd.Timestamp(start).floor("D"), pd.Timestamp(end), freq=freq, tz="UTC")


def ticket_volume(client: Any, since: Any, until: Any = None, freq: str = "W-MON") -> pd.DataFrame:
    """Tickets created and completed per period (`freq`: a pandas offset, weekly by default)."""
    start, end = _window(since, until)
    created = _frame(
        client.tickets.query(
            (Q("createDate") >= _text(start)) & (Q("createDate") < _text(end)), ["createDate"]
        ),
        ["id", "createDate"],
        ["createDate"],
    )
    completed = _frame(
        client.tickets.query(
            (Q("completedDate") >= _text(start)) & (Q("completedDate") < _text(end)), ["completedDate"]
        ),
        ["id", "completedDate"],
        ["completedDate"],
    )
    pd = _pandas()
    out = (
        pd.DataFrame(
            {
                "created": created.set_index("createDate")
                .resample(freq, label="left", closed="left")["id"]
                .count(),
                "completed": completed.set_index("completedDate")
                .resample(freq, label="left", closed="left")["id"]
                .count(),
            }
        )
        .fillna(0)
        .astype("Int64")
    )
    out.index.name = "period"
    return out


def backlog(client: Any, since: Any, until: Any = None, freq: str = "D") -> pd.DataFrame:
    """Open tickets at the end of each period: created by then and not yet completed."""
    start, end = _window(since, until)
    still_open = Q("completedDate").not_exists() | (Q("completedDate") >= _text(start))
    rows = client.tickets.query((Q("createDate") < _text(end)) & still_open, ["createDate", "completedDate"])
    tickets = _frame(rows, ["id", "createDate", "completedDate"], ["createDate", "completedDate"])
    pd = _pandas()
    points = _periods(start, end, freq)
    ends = points + pd.tseries.frequencies.to_offset(freq)
    created, done = tickets["createDate"], tickets["completedDate"]
    values = [int(((created < moment) & (done.isna() | (done >= moment))).sum()) for moment in ends]
    out = pd.DataFrame({OPEN: pd.array(values, dtype="Int64")}, index=points)
    out.index.name = "period"
    return out


def sla_attainment(client: Any, since: Any, until: Any = None, freq: str = "W-MON") -> pd.DataFrame:
    """Share of tickets (created in the window) whose SLA targets were met, per period.

    From `ServiceLevelAgreementResults` (one row per ticket with an SLA), dated by the ticket's
    creation; columns first_response, resolution_plan, resolution (0..1) and tickets (how many).
    """
    start, end = _window(since, until)
    pd = _pandas()
    tickets = _frame(
        client.tickets.query(
            (Q("createDate") >= _text(start)) & (Q("createDate") < _text(end)), ["createDate"]
        ),
        ["id", "createDate"],
        ["createDate"],
    )
    results = _frame(
        client.entity("ServiceLevelAgreementResults").query(
            None, ["ticketID", "isFirstResponseMet", "isResolutionPlanMet", "isResolutionMet"]
        ),
        ["id", "ticketID", "isFirstResponseMet", "isResolutionPlanMet", "isResolutionMet"],
        [],
    )
    joined = results.merge(tickets, left_on="ticketID", right_on="id", suffixes=("_sla", ""))
    if joined.empty:
        out = pd.DataFrame(columns=["first_response", "resolution_plan", "resolution", "tickets"])
        out.index = pd.DatetimeIndex([], tz="UTC", name="period")
        return out
    for column in ("isFirstResponseMet", "isResolutionPlanMet", "isResolutionMet"):
        joined[column] = joined[column].astype("boolean").astype("Float64")
    grouped = joined.set_index("createDate").resample(freq, label="left", closed="left")
    out = pd.DataFrame(
        {
            "first_response": grouped["isFirstResponseMet"].mean(),
            "resolution_plan": grouped["isResolutionPlanMet"].mean(),
            "resolution": grouped["isResolutionMet"].mean(),
            "tickets": grouped["ticketID"].count().astype("Int64"),
        }
    )
    out.index.name = "period"
    return out


def utilization(
    client: Any, since: Any, until: Any = None, freq: str = "W-MON", hours_per_week: float = 40.0
) -> pd.DataFrame:
    """Hours worked per resource and period, and that as a share of `hours_per_week` capacity.

    Columns: resource (name), resource_id, period, hours, utilization.
    """
    start, end = _window(since, until)
    pd = _pandas()
    entries = _frame(
        client.time_entries.query(
            (Q("dateWorked") >= _text(start)) & (Q("dateWorked") < _text(end)),
            ["resourceID", "dateWorked", "hoursWorked"],
        ),
        ["id", "resourceID", "dateWorked", "hoursWorked"],
        ["dateWorked"],
    )
    if entries.empty:
        return pd.DataFrame(columns=["resource", "resource_id", "period", "hours", "utilization"])
    names = {
        r["id"]: f"{r.get('firstName') or ''} {r.get('lastName') or ''}".strip() or str(r["id"])
        for r in client.resources.query(
            Q("id").in_(sorted(set(entries["resourceID"].dropna().astype(int)))), ["firstName", "lastName"]
        )
    }
    entries["hoursWorked"] = entries["hoursWorked"].astype("Float64")
    grouped = (
        entries.set_index("dateWorked")
        .groupby("resourceID")
        .resample(freq, label="left", closed="left")["hoursWorked"]
        .sum()
        .reset_index()
    )
    grouped.columns = ["resource_id", "period", "hours"]
    days = pd.tseries.frequencies.to_offset(freq)
    span_hours = ((grouped["period"] + days) - grouped["period"]).dt.total_seconds() / 3600
    capacity = hours_per_week * span_hours / (7 * 24)
    grouped["utilization"] = (grouped["hours"] / capacity).astype("Float64")
    grouped["resource"] = grouped["resource_id"].map(names)
    grouped["resource_id"] = grouped["resource_id"].astype("Int64")
    return grouped[["resource", "resource_id", "period", "hours", "utilization"]]
