"""Charts of the analytics, as PNG files or one self-contained HTML page (images inline).

matplotlib draws with its file-only Agg backend, so this works on a server with no screen.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import analytics
from .errors import ConfigurationError

__all__ = ["REPORTS", "Report", "build_report"]


@dataclass
class Report:
    """One report: its data, its chart, and a few figures a person reads first."""

    kind: str
    title: str
    frame: Any
    figure: Any
    facts: dict[str, str] = field(default_factory=dict)

    def png(self) -> bytes:
        buffer = io.BytesIO()
        self.figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
        return buffer.getvalue()

    def html(self) -> str:
        image = base64.b64encode(self.png()).decode()
        facts = "".join(
            f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in self.facts.items()
        )
        table = self.frame.tail(12).to_html(classes="data", float_format=lambda x: f"{x:,.2f}", na_rep="")
        generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(self.title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; color: #222; }}
h1 {{ font-size: 1.5rem; }} table {{ border-collapse: collapse; margin: 1rem 0; }}
th, td {{ padding: .25rem .75rem; border-bottom: 1px solid #ddd; text-align: right; }}
th {{ text-align: left; }} img {{ max-width: 100%; }} footer {{ color: #777; font-size: .8rem; }}
</style></head><body>
<h1>{html.escape(self.title)}</h1>
<table class="facts">{facts}</table>
<img alt="{html.escape(self.title)}" src="data:image/png;base64,{image}">
<h2>Latest periods</h2>
{table}
<footer>autotask report {html.escape(self.kind)} &middot; generated {generated}</footer>
</body></html>
"""

    def save(self, path: str | Path) -> Path:
        """`.png` writes the chart; `.html` the page with the chart inside."""
        out = Path(path)
        suffix = out.suffix.lower()
        if suffix == ".png":
            out.write_bytes(self.png())
        elif suffix in (".html", ".htm"):
            out.write_text(self.html(), encoding="utf-8")
        else:
            raise ConfigurationError(f"{out.name}: a report is saved as .html or .png")
        return out


def _plt() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise ConfigurationError(
            "charts need matplotlib: pip install 'autotask-liberator[reports]'"
        ) from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _volume(client: Any, since: Any, until: Any) -> Report:
    frame = analytics.ticket_volume(client, since, until)
    plt = _plt()
    fig, ax = plt.subplots(figsize=(9, 4))
    x = frame.index.tz_convert(None)
    ax.bar(x, frame["created"].astype(float), width=3, label="created", color="#4C78A8")
    ax.plot(x, frame["completed"].astype(float), marker="o", label="completed", color="#F58518")
    ax.set_ylabel("tickets per week")
    ax.legend()
    fig.autofmt_xdate()
    facts = {"created": f"{int(frame['created'].sum()):,}", "completed": f"{int(frame['completed'].sum()):,}"}
    return Report("volume", "Ticket volume", frame, fig, facts)


def _backlog(client: Any, since: Any, until: Any) -> Report:
    frame = analytics.backlog(client, since, until)
    plt = _plt()
    fig, ax = plt.subplots(figsize=(9, 4))
    ax.fill_between(
        frame.index.tz_convert(None), frame[analytics.OPEN].astype(float), color="#54A24B", alpha=0.6
    )
    ax.set_ylabel("open tickets")
    fig.autofmt_xdate()
    last = frame[analytics.OPEN].iloc[-1] if len(frame) else 0
    facts = {"open now": f"{int(last):,}", "peak": f"{int(frame[analytics.OPEN].max() or 0):,}"}
    return Report("backlog", "Ticket backlog", frame, fig, facts)


def _sla(client: Any, since: Any, until: Any) -> Report:
    frame = analytics.sla_attainment(client, since, until)
    plt = _plt()
    fig, ax = plt.subplots(figsize=(9, 4))
    for column, color in (
        ("first_response", "#4C78A8"),
        ("resolution_plan", "#F58518"),
        ("resolution", "#54A24B"),
    ):
        ax.plot(
            frame.index.tz_convert(None),
            frame[column].astype(float) * 100,
            marker="o",
            label=column,
            color=color,
        )
    ax.set_ylabel("% of tickets meeting the target")
    ax.set_ylim(0, 105)
    ax.legend()
    fig.autofmt_xdate()
    total = int(frame["tickets"].sum()) if len(frame) else 0
    facts = {"tickets with an SLA": f"{total:,}"}
    for column in ("first_response", "resolution"):
        if total:
            share = (frame[column].astype(float) * frame["tickets"].astype(float)).sum() / total
            facts[column.replace("_", " ") + " met"] = f"{share:.0%}"
    return Report("sla", "SLA attainment", frame, fig, facts)


def _utilization(client: Any, since: Any, until: Any) -> Report:
    frame = analytics.utilization(client, since, until)
    plt = _plt()
    fig, ax = plt.subplots(figsize=(9, 4))
    if len(frame):
        per = frame.groupby("resource")["hours"].sum().sort_values().astype(float)
        ax.barh(per.index, per.to_numpy(), color="#4C78A8")
    ax.set_xlabel("hours worked")
    facts = {
        "hours": f"{float(frame['hours'].sum()) if len(frame) else 0:,.1f}",
        "resources": f"{frame['resource_id'].nunique() if len(frame) else 0}",
    }
    return Report("utilization", "Utilisation by resource", frame, fig, facts)


REPORTS: dict[str, Callable[[Any, Any, Any], Report]] = {
    "volume": _volume,
    "backlog": _backlog,
    "sla": _sla,
    "utilization": _utilization,
}


def build_report(client: Any, kind: str, since: Any, until: Any = None) -> Report:
    """The report `kind` (volume, backlog, sla, utilization) over [since, until)."""
    if kind not in REPORTS:
        raise ConfigurationError(f"unknown report {kind!r}: choose one of {', '.join(REPORTS)}")
    return REPORTS[kind](client, since, until)
