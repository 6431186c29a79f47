"""`autotask export ENTITY... --format F --out PATH`: entities to a file people can open."""

from __future__ import annotations

import sys
from functools import partial
from pathlib import Path
from typing import Any

import click

from sdk_core.cli.app import CLIError, make_client, run_sdk
from sdk_core.cli.completion import complete_entity
from sdk_core.cli.exit_codes import ExitCode
from sdk_core.cli.read_commands import build_filter

from .destinations import EXPORT_FORMATS
from .exporter import Exporter
from .singer_pipe import TargetFailed


@click.command()
@click.argument("entities", nargs=-1, required=True, shell_complete=complete_entity)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(EXPORT_FORMATS),
    default=None,
    help="Output format [default: from the --out suffix].",
)
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(path_type=Path),
    help="A file for xlsx and sqlite; a folder for csv, jsonl and parquet (one file per entity).",
)
@click.option("--since", help="From this date on (2026-10-01, 2026-10-01T08:00Z, or 90d / 12h / 2w ago).")
@click.option("--until", help="Up to and including this date.")
@click.option("--date-field", help="The field --since/--until apply to [default: the creation date].")
@click.option("--where", "-w", multiple=True, help="Filter, as for `autotask query` (ANDed).")
@click.option(
    "--include-related",
    is_flag=True,
    help="Also export the rows these reference (companies, contacts, resources, ...) "
    "and a relationships table.",
)
@click.pass_context
def export(
    ctx: click.Context,
    entities: tuple[str, ...],
    fmt: str | None,
    out: Path,
    since: str | None,
    until: str | None,
    date_field: str | None,
    where: tuple[str, ...],
    include_related: bool,
) -> None:
    """Export ENTITIES to one workbook, database or folder, with picklist labels and UDFs."""
    fmt = fmt or (out.suffix.lstrip(".").lower() or None)
    if fmt not in EXPORT_FORMATS:
        raise click.UsageError(f"say --format ({', '.join(EXPORT_FORMATS)}); {out} has no known suffix")
    combined = build_filter(where)  # every --where ANDed, once for all the entities
    client = make_client(ctx)
    with client, _progress() as progress:
        exporter = Exporter(client, progress=progress)
        for entity in entities:
            run_sdk(
                partial(exporter.add, entity, since=since, until=until, where=combined, date_field=date_field)
            )
        exporter.include_related(include_related)
        try:
            result = run_sdk(lambda: exporter.to(out, fmt))
        except TargetFailed as exc:
            raise CLIError(str(exc), ExitCode.ERROR) from None
    click.echo(result.summary(), err=True)


class _progress:
    """Rows per entity on stderr while they stream, on a terminal only."""

    def __enter__(self) -> Any:
        if not sys.stderr.isatty():
            return lambda entity, rows: None
        from rich.console import Console
        from rich.progress import Progress, SpinnerColumn, TextColumn

        self._bar = Progress(
            SpinnerColumn(), TextColumn("{task.description}"), console=Console(stderr=True), transient=True
        )
        self._bar.start()
        tasks: dict[str, Any] = {}

        def update(entity: str, rows: int) -> None:
            if entity not in tasks:
                tasks[entity] = self._bar.add_task(entity)
            self._bar.update(tasks[entity], description=f"{entity}: {rows:,} rows")

        return update

    def __exit__(self, *exc: object) -> None:
        bar = getattr(self, "_bar", None)
        if bar is not None:
            bar.stop()
