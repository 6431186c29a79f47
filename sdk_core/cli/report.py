"""`autotask report backlog|volume|sla|utilization --since ... --out report.html|.png`."""

from __future__ import annotations

from pathlib import Path

import click

from .app import main, make_client, run_sdk


@main.command()
@click.argument("kind", type=click.Choice(["backlog", "volume", "sla", "utilization"]))
@click.option("--since", required=True, help="Start date, e.g. 2026-07-01.")
@click.option("--until", help="End date (exclusive) [default: now].")
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    required=True,
    help="report.html (a self-contained page) or chart.png.",
)
@click.option("--csv", "csv_path", type=click.Path(path_type=Path), help="Also write the data as CSV.")
@click.pass_context
def report(
    ctx: click.Context, kind: str, since: str, until: str | None, out: Path, csv_path: Path | None
) -> None:
    """Charts of ticket volume, backlog, SLA attainment or utilisation."""
    from ..reports import build_report

    with make_client(ctx) as client:
        built = run_sdk(lambda: build_report(client, kind, since, until))
    run_sdk(lambda: built.save(out))
    if csv_path:
        built.frame.to_csv(csv_path)
    facts = ", ".join(f"{k}: {v}" for k, v in built.facts.items())
    click.echo(f"{built.title} -> {out} ({facts})", err=True)
