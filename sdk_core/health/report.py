"""A health report: named checks with a status, as text, JSON and a self-contained HTML page."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

__all__ = ["Check", "HealthReport", "STATUSES"]

STATUSES = ("ok", "warn", "fail", "skip")  # skip: not measured (not configured, or no data yet)


@dataclass(frozen=True)
class Check:
    """One aspect of health. `value` holds the figures behind `summary` (JSON-ready)."""

    name: str
    status: str
    summary: str
    value: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, not {self.status!r}")


@dataclass
class HealthReport:
    checks: list[Check]
    generated_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    latency_series: list[tuple[float, float, str]] = field(default_factory=list)  # (at, ms, endpoint)
    alerts: list[dict[str, Any]] = field(default_factory=list)  # raised or cleared by this run

    @property
    def ok(self) -> bool:
        """True when no check failed (warnings allowed)."""
        return all(c.status != "fail" for c in self.checks)

    @property
    def status(self) -> str:
        found = {c.status for c in self.checks}
        return "fail" if "fail" in found else "warn" if "warn" in found else "ok"

    def check(self, name: str) -> Check:
        for c in self.checks:
            if c.name == name:
                return c
        raise KeyError(f"no check named {name!r}; the report has {[c.name for c in self.checks]}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "status": self.status,
            "generated_at": self.generated_at.isoformat(),
            "checks": [asdict(c) for c in self.checks],
            "alerts": list(self.alerts),
        }

    def to_json(self) -> str:
        return orjson.dumps(self.to_dict(), option=orjson.OPT_INDENT_2, default=str).decode()

    def to_text(self) -> str:
        width = max(len(c.name) for c in self.checks) if self.checks else 0
        lines = [
            f"Autotask integration health: {self.status.upper()} ({self.generated_at:%Y-%m-%d %H:%M:%S} UTC)"
        ]
        lines += [f"  {c.status.upper():<4}  {c.name:<{width}}  {c.summary}" for c in self.checks]
        lines += [
            f"  alert {a['state']}: {a['condition']} ({a['level']}): {a['message']}" for a in self.alerts
        ]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_text()

    def to_html(self) -> str:
        from .html import render

        return render(self)

    def write_html(self, path: str | Path) -> Path:
        target = Path(path)
        target.write_text(self.to_html(), encoding="utf-8")
        return target
