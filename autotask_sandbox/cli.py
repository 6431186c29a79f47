"""`autotask-sandbox` (and `autotask sandbox ...`): serve the emulated API, build tenants."""

from __future__ import annotations

import asyncio
import importlib
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import click

from .app import create_app
from .faults import FaultSpecError, parse_spec
from .generator import SCALES, build_tenant
from .settings import DEFAULT_INTEGRATION_CODE, DEFAULT_SECRET, DEFAULT_USERNAME, Settings

FAULTS_HELP = (
    "Inject faults into Autotask routes: comma-separated KIND:PROBABILITY[@MS] with KIND "
    "429 (Retry-After MS/1000 s), 500, reset (connection aborted before the request is "
    "processed), reset-after (request processed and any write committed, then the "
    "connection aborted: the response is lost) or slow (delayed MS, default 2000); e.g. "
    "'429:0.02,500:0.01,reset:0.005,reset-after:0.005,slow:0.01@2000'. Seeded by --seed."
)


@click.group(name="sandbox", help="Run an emulated Autotask REST API with a generated MSP tenant.")
@click.version_option(package_name="autotask-liberator")
def sandbox_group() -> None:
    pass


def _check_faults(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    try:
        parse_spec(value)
    except FaultSpecError as exc:
        raise click.BadParameter(str(exc)) from exc
    return value


@sandbox_group.command(help="Serve the REST API until interrupted.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8765, show_default=True, type=int, help="0 picks a free port.")
@click.option("--scale", default="small", show_default=True, type=click.Choice(list(SCALES)))
@click.option("--seed", default=1, show_default=True, type=int)
@click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Tenant file to serve (built first if missing); changes persist in it.",
)
@click.option(
    "--reset-from",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Pristine tenant file that POST /_sandbox/reset restores (default: regenerate).",
)
@click.option(
    "--latency-ms", default=0, show_default=True, type=click.IntRange(min=0), help="Added to every request."
)
@click.option("--faults", callback=_check_faults, help=FAULTS_HELP)
@click.option(
    "--threshold",
    default=10000,
    show_default=True,
    type=click.IntRange(min=1),
    help="Requests allowed per rolling 60 minutes.",
)
@click.option(
    "--thread-limit",
    default=3,
    show_default=True,
    type=click.IntRange(min=1),
    help="Concurrent requests per (integration code, entity).",
)
@click.option("--no-latency-bands", is_flag=True, help="No added latency at 50%/75% of the threshold.")
@click.option("--activity-per-minute", type=float, help="Simulated user activity (changes per minute).")
@click.option("--zone", default="webservices14", show_default=True)
@click.option("--username", default=DEFAULT_USERNAME, show_default=True)
@click.option("--secret", default=DEFAULT_SECRET, show_default=False, envvar="AUTOTASK_SANDBOX_SECRET")
@click.option("--integration-code", default=DEFAULT_INTEGRATION_CODE, show_default=True)
@click.option(
    "--datetime-format",
    type=click.Choice(["plain", "z"]),
    default="plain",
    show_default=True,
    help="'plain' = 2024-01-31T15:04:05.307, 'z' = 2024-01-31T15:04:05.307Z.",
)
@click.option("--get-missing-as-null-item", is_flag=True, help='GET of a missing id: 200 {"item": null}.')
def serve(
    host: str,
    port: int,
    scale: str,
    seed: int,
    db: Path | None,
    reset_from: Path | None,
    latency_ms: int,
    faults: str | None,
    threshold: int,
    thread_limit: int,
    no_latency_bands: bool,
    activity_per_minute: float | None,
    zone: str,
    username: str,
    secret: str,
    integration_code: str,
    datetime_format: str,
    get_missing_as_null_item: bool,
) -> None:
    import uvicorn

    from .backend import Backend
    from .cache import working_copy
    from .tenant_file import StaleTenantError

    workdir = None
    if db is None:
        workdir = tempfile.TemporaryDirectory(prefix="autotask-sandbox-")
        db, reset_from = working_copy(scale, seed, Path(workdir.name) / "tenant.sqlite")
    elif not db.exists():
        _build_with_progress(db, scale, seed)
    try:
        backend = Backend(db, pristine=reset_from, scale=scale, seed=seed, datetime_z=datetime_format == "z")
    except StaleTenantError as exc:
        raise click.ClickException(str(exc)) from exc
    settings = Settings(
        zone=zone,
        username=username,
        secret=secret,
        integration_code=integration_code,
        latency_ms=latency_ms,
        threshold=threshold,
        thread_limit=thread_limit,
        latency_bands=not no_latency_bands,
        get_missing_as_null_item=get_missing_as_null_item,
        faults=faults,
        seed=seed,
    )
    app = create_app(backend, settings)
    if activity_per_minute:
        _start_activity(backend, activity_per_minute, seed)
    server = uvicorn.Server(
        uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False, lifespan="off")
    )
    secret_hint = "(default)" if secret == DEFAULT_SECRET else "(as given; not shown)"
    asyncio.run(_serve(server, host, zone, username, integration_code, secret_hint))
    backend.close()
    if workdir is not None:
        workdir.cleanup()


async def _serve(server: Any, host: str, zone: str, username: str, code: str, secret_hint: str) -> None:
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            await task
            raise click.ClickException("the server did not start")
        await asyncio.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    base = f"http://{host}:{port}"
    click.echo(f"Autotask sandbox serving REST root {base}/{zone}/ATServicesRest/")
    click.echo(f"  zone lookup: {base}/ATServicesRest/V1.0/ZoneInformation?user={username}")
    click.echo(f"  username: {username}  integration code: {code}  secret: {secret_hint}")
    click.echo(f"  admin: {base}/_sandbox/")
    sys.stdout.flush()
    await task


def _start_activity(backend: Any, per_minute: float, seed: int) -> None:
    try:
        activity = importlib.import_module("autotask_sandbox.activity")
    except ModuleNotFoundError as exc:
        if exc.name != "autotask_sandbox.activity":
            raise
        raise click.ClickException(
            "--activity-per-minute needs autotask_sandbox.activity, which is not installed in this build."
        ) from exc
    activity.start_background(backend, per_minute, seed)


def _build_with_progress(db: Path, scale: str, seed: int) -> dict[str, int]:
    from rich.progress import Progress

    started = time.perf_counter()
    with Progress(transient=True) as progress:
        task = progress.add_task("building", total=1)

        def report(stage: str, done: int, total: int) -> None:
            progress.update(task, description=stage, completed=done, total=max(total, 1))

        counts = build_tenant(db, scale, seed, progress=report)
    elapsed = time.perf_counter() - started
    click.echo(
        f"Built {scale} tenant (seed {seed}) into {db} in {elapsed:.1f} s: "
        f"{sum(counts.values()):,} rows in {len(counts)} entities "
        f"({counts.get('Tickets', 0):,} tickets, {counts.get('TicketNotes', 0):,} ticket notes, "
        f"{counts.get('TimeEntries', 0):,} time entries); {db.stat().st_size / 1e6:,.1f} MB."
    )
    return counts


@sandbox_group.command(help="Build a tenant file (same scale and seed => the same bytes).")
@click.option("--scale", default="small", show_default=True, type=click.Choice(list(SCALES)))
@click.option("--seed", default=1, show_default=True, type=int)
@click.option("--db", required=True, type=click.Path(dir_okay=False, path_type=Path))
def build(scale: str, seed: int, db: Path) -> None:
    _build_with_progress(db, scale, seed)


def main() -> None:
    sandbox_group(prog_name="autotask-sandbox")


if __name__ == "__main__":
    main()
