"""Is the integration healthy? `HealthMonitor(client).check_all()` -> a report with `.ok`.

Loaded lazily: the client imports only `recorder` (a bounded log of its recent requests).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__all__ = [
    "HealthMonitor",
    "HealthReport",
    "Check",
    "Thresholds",
    "Alert",
    "LogChannel",
    "WebhookChannel",
    "SMTPChannel",
    "sql_freshness",
]

_WHERE = {
    "HealthMonitor": ".monitor",
    "HealthReport": ".report",
    "Check": ".report",
    "Thresholds": ".monitor",
    "Alert": ".alerts",
    "LogChannel": ".alerts",
    "WebhookChannel": ".alerts",
    "SMTPChannel": ".alerts",
    "sql_freshness": ".monitor",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'sdk_core.health' has no attribute {name!r}")
    return getattr(import_module(module, __name__), name)
