"""`autotask health`: zone, authentication, threshold use and latency, as a table or JSON."""

from __future__ import annotations

import time
from typing import Any

import click
import orjson

from ..errors import AutotaskError
from .app import CLIError, main, make_client, run_sdk
from .exit_codes import exit_code_for
from .output import render_table


def _report(ctx: click.Context) -> dict[str, Any]:
    with make_client(ctx) as client:
        started = time.perf_counter()
        threshold = client.threshold()
        latency = (time.perf_counter() - started) * 1000
        return {
            "ok": True,
            "zone": client.root,
            "zone_detected": client.zone_detected,
            "authenticated": True,
            "threshold_limit": threshold["limit"],
            "threshold_used": threshold["used"],
            "threshold_timeframe_minutes": threshold["timeframe_minutes"],
            "threshold_used_percent": round(100 * threshold["used"] / max(1, threshold["limit"]), 1),
            "budget": client.governor.budget,
            "latency_ms": round(latency, 1),
        }


@main.command()
@click.option("--json", "as_json", is_flag=True, help="JSON on every path, failures included.")
@click.option(
    "--html",
    "html_path",
    type=click.Path(dir_okay=False),
    help="Also write the full report (every check, latency and budget charts) as one HTML page.",
)
@click.pass_context
def health(ctx: click.Context, as_json: bool, html_path: str | None) -> None:
    """Zone, authentication, threshold usage and latency."""
    try:
        if html_path:
            from ..health.cli import write_html_report

            with make_client(ctx) as client:
                run_sdk(lambda: write_html_report(client, html_path))
        report = _report(ctx)
    except (AutotaskError, CLIError) as exc:
        code = exc.exit_code if isinstance(exc, CLIError) else exit_code_for(exc)
        message = exc.message if isinstance(exc, CLIError) else str(exc)
        if as_json:
            click.echo(orjson.dumps({"ok": False, "error": message, "exit_code": int(code)}).decode())
            ctx.exit(int(code))
        raise CLIError(message, code) from None
    if as_json:
        click.echo(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode())
    else:
        click.echo(render_table(report), nl=False)
