"""The report as one self-contained HTML page: status cards and inline SVG charts, no scripts,
no external files, so it can be mailed, attached to a ticket or opened offline."""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape
from typing import Any

from .recorder import percentile

__all__ = ["render", "latency_chart", "requests_chart", "gauge"]

_COLOURS = {"ok": "#2e7d32", "warn": "#ef6c00", "fail": "#c62828", "skip": "#757575"}
_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:960px;color:#222}
h1{font-size:1.4rem;margin:0 0 .2rem} .sub{color:#666;margin:0 0 1.2rem}
.badge{display:inline-block;padding:.1rem .55rem;border-radius:.7rem;color:#fff;font-weight:600;font-size:.8rem}
table{border-collapse:collapse;width:100%;margin:.6rem 0 1.4rem} td,th{padding:.35rem .5rem;border-bottom:1px solid #eee;text-align:left;vertical-align:top}
th{font-weight:600;color:#555} .charts{display:grid;grid-template-columns:1fr;gap:1rem}
figure{margin:0;border:1px solid #eee;border-radius:6px;padding:.6rem} figcaption{font-weight:600;margin-bottom:.3rem}
svg text{font:11px system-ui,sans-serif;fill:#555}
"""


def _badge(status: str) -> str:
    return f'<span class="badge" style="background:{_COLOURS.get(status, "#555")}">{escape(status.upper())}</span>'


def latency_chart(series: list[tuple[float, float, str]], width: int = 900, height: int = 220) -> str:
    """Request latency over time (one dot per request), with p50 and p95 lines."""
    if not series:
        return f'<svg width="{width}" height="60" role="img"><text x="10" y="30">no requests recorded yet</text></svg>'
    left, right, top, bottom = 52, 12, 10, 28
    t0, t1 = min(s[0] for s in series), max(s[0] for s in series)
    peak = max(s[1] for s in series) * 1.1 or 1.0
    span = (t1 - t0) or 1.0

    def x(t: float) -> float:
        return left + (t - t0) / span * (width - left - right)

    def y(ms: float) -> float:
        return top + (1 - ms / peak) * (height - top - bottom)

    parts = [
        f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
        'aria-label="latency over time">',
        f'<line x1="{left}" y1="{y(0):.1f}" x2="{width - right}" y2="{y(0):.1f}" stroke="#bbb"/>',
    ]
    for frac in (0.25, 0.5, 0.75, 1.0):
        ms = peak / 1.1 * frac
        parts.append(
            f'<line x1="{left}" y1="{y(ms):.1f}" x2="{width - right}" y2="{y(ms):.1f}" stroke="#f0f0f0"/>'
            f'<text x="{left - 6}" y="{y(ms) + 4:.1f}" text-anchor="end">{ms:.0f} ms</text>'
        )
    points = " ".join(f"{x(t):.1f},{y(ms):.1f}" for t, ms, _ in series)
    parts.append(f'<polyline points="{points}" fill="none" stroke="#90caf9" stroke-width="1"/>')
    parts += [
        f'<circle cx="{x(t):.1f}" cy="{y(ms):.1f}" r="2" fill="#1565c0"><title>{escape(ep)} '
        f"{ms:.0f} ms</title></circle>"
        for t, ms, ep in series[-600:]
    ]
    times = [s[1] for s in series]
    for q, colour in ((50, "#2e7d32"), (95, "#ef6c00")):
        value = percentile(times, q) or 0.0
        parts.append(
            f'<line x1="{left}" y1="{y(value):.1f}" x2="{width - right}" y2="{y(value):.1f}" '
            f'stroke="{colour}" stroke-dasharray="4 3"/><text x="{width - right - 4}" '
            f'y="{y(value) - 3:.1f}" text-anchor="end" style="fill:{colour}">p{q} {value:.0f} ms</text>'
        )
    for t in (t0, t1):
        label = datetime.fromtimestamp(t, UTC).strftime("%H:%M:%S")
        parts.append(f'<text x="{x(t):.1f}" y="{height - 8}" text-anchor="middle">{label}</text>')
    parts.append("</svg>")
    return "".join(parts)


def requests_chart(
    series: list[tuple[float, float, str]], per_minute_budget: float, width: int = 900, height: int = 160
) -> str:
    """Requests per minute over the window (bars), against the budget's even pace (a line)."""
    if not series:
        return f'<svg width="{width}" height="60" role="img"><text x="10" y="30">no requests recorded yet</text></svg>'
    left, right, top, bottom = 52, 12, 10, 28
    first = int(min(s[0] for s in series) // 60)
    counts: dict[int, int] = {}
    for at, _, _ in series:
        counts[int(at // 60) - first] = counts.get(int(at // 60) - first, 0) + 1
    minutes = max(counts) + 1
    peak = max(max(counts.values()), per_minute_budget) * 1.15 or 1.0
    slot = (width - left - right) / minutes

    def y(n: float) -> float:
        return top + (1 - n / peak) * (height - top - bottom)

    parts = [
        f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
        'aria-label="requests per minute">',
        f'<line x1="{left}" y1="{y(0):.1f}" x2="{width - right}" y2="{y(0):.1f}" stroke="#bbb"/>',
    ]
    for minute, n in sorted(counts.items()):
        x = left + minute * slot
        parts.append(
            f'<rect x="{x + 1:.1f}" y="{y(n):.1f}" width="{max(1.0, slot - 2):.1f}" '
            f'height="{y(0) - y(n):.1f}" fill="#7986cb"><title>{n} requests</title></rect>'
        )
    parts.append(
        f'<line x1="{left}" y1="{y(per_minute_budget):.1f}" x2="{width - right}" '
        f'y2="{y(per_minute_budget):.1f}" stroke="#c62828" stroke-dasharray="4 3"/>'
        f'<text x="{width - right - 4}" y="{y(per_minute_budget) - 3:.1f}" text-anchor="end" '
        f'style="fill:#c62828">budget pace {per_minute_budget:,.0f}/min</text>'
        f'<text x="{left - 6}" y="{y(0) + 4:.1f}" text-anchor="end">0</text>'
        f'<text x="{left}" y="{height - 8}">{minutes} min</text></svg>'
    )
    return "".join(parts)


def gauge(label: str, used: float, total: float, marks: dict[str, float], width: int = 900) -> str:
    """A horizontal bar: `used` of `total`, with labelled marks (fractions of total)."""
    ratio = min(1.0, used / total) if total else 0.0
    bar_w = width - 24
    colour = (
        "#c62828"
        if ratio >= max(marks.values(), default=1.0)
        else ("#ef6c00" if marks and ratio >= min(marks.values()) else "#2e7d32")
    )
    parts = [
        f'<svg width="{width}" height="58" viewBox="0 0 {width} 58" role="img" aria-label="{escape(label)}">',
        f'<text x="12" y="13">{escape(label)}: {used:,.0f} of {total:,.0f} ({ratio:.0%})</text>',
        f'<rect x="12" y="20" width="{bar_w}" height="16" fill="#eee" rx="3"/>',
        f'<rect x="12" y="20" width="{bar_w * ratio:.1f}" height="16" fill="{colour}" rx="3"/>',
    ]
    for name, frac in marks.items():
        mx = 12 + bar_w * frac
        parts.append(
            f'<line x1="{mx:.1f}" y1="16" x2="{mx:.1f}" y2="40" stroke="#333" stroke-dasharray="2 2"/>'
            f'<text x="{mx:.1f}" y="52" text-anchor="middle">{escape(name)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _value(check: Any, key: str, default: float = 0.0) -> float:
    value = check.value.get(key) if check is not None else None
    return float(value) if isinstance(value, (int, float)) else default


def render(report: Any) -> str:
    by_name = {c.name: c for c in report.checks}
    rows = "".join(
        f"<tr><td>{_badge(c.status)}</td><td>{escape(c.name)}</td><td>{escape(c.summary)}</td></tr>"
        for c in report.checks
    )
    threshold, budget = by_name.get("threshold"), by_name.get("budget")
    charts = [
        f"<figure><figcaption>Latency over time</figcaption>{latency_chart(report.latency_series)}</figure>"
    ]
    if threshold is not None and threshold.status != "skip":
        charts.append(
            "<figure><figcaption>Tenant threshold use (every integration)</figcaption>"
            + gauge(
                "requests this hour",
                _value(threshold, "used"),
                _value(threshold, "limit", 1),
                {"pacing 40%": 0.4, "latency band 50%": 0.5},
            )
            + "</figure>"
        )
    if budget is not None:
        charts.append(
            "<figure><figcaption>This process's budget share</figcaption>"
            + gauge(
                "requests in the timeframe",
                _value(budget, "used"),
                _value(budget, "budget", 1),
                {"warn 80%": 0.8},
            )
            + "</figure>"
        )
        pace = _value(budget, "budget", 1) / max(1.0, _value(budget, "timeframe_minutes", 60))
        charts.append(
            "<figure><figcaption>Requests per minute (this client) and the budget's pace</figcaption>"
            + requests_chart(report.latency_series, pace)
            + "</figure>"
        )
    alerts = "".join(
        f"<li>{escape(a['state'])}: <b>{escape(a['condition'])}</b> ({escape(a['level'])}) "
        f"{escape(a['message'])}</li>"
        for a in report.alerts
    )
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Autotask health: '
        f"{escape(report.status.upper())}</title><style>{_CSS}</style></head><body>"
        f"<h1>Autotask integration health {_badge(report.status)}</h1>"
        f'<p class="sub">{report.generated_at:%Y-%m-%d %H:%M:%S} UTC</p>'
        f"<table><tr><th>status</th><th>check</th><th>detail</th></tr>{rows}</table>"
        + (f"<h2>Alerts</h2><ul>{alerts}</ul>" if alerts else "")
        + f'<div class="charts">{"".join(charts)}</div></body></html>'
    )
