"""What `autotask health --html out.html` adds to the command: the monitor's full report as a page."""

from __future__ import annotations

from typing import Any

import click

from .monitor import HealthMonitor

__all__ = ["write_html_report"]


def write_html_report(client: Any, path: str) -> Any:
    """Check, write the page, say so on stderr (stdout stays the command's table or JSON)."""
    report = HealthMonitor(client, channels=[]).check_all()
    report.write_html(path)
    click.echo(f"health report ({report.status}) written to {path}", err=True)
    return report
