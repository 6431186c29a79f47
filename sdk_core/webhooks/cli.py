"""`autotask webhooks ...`: serve, events, replay, register, list, remove, errors.

Added to the `autotask` command through the `autotask.commands` entry point. Secrets come from
the environment or the tenants file, never from options (they would show in `ps`).
"""

from __future__ import annotations

import logging
import re
import socket
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import click
import orjson
from rich.console import Console
from rich.table import Table

from .config import DEFAULT_TENANT, SECRET_ENV, TENANTS_ENV, ConfigError, load_tenants
from .entities import canonical_entity, known_entities
from .store import DEFAULT_STORE_URL, StoreError, open_store

__all__ = ["webhooks_group"]

console = Console()
err_console = Console(stderr=True)
_STORE_HELP = (
    "Event store: sqlite:///path/events.db or postgresql+psycopg://user@host/db "
    f"[env AUTOTASK_WEBHOOK_STORE; default {DEFAULT_STORE_URL}]."
)
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.I)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """`90s`, `15m`, `2h`, `3d`, `1w` ago, or an ISO 8601 timestamp (naive means UTC)."""
    now = now or datetime.now(UTC)
    match = _DURATION.match(text)
    if match:
        return now - timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2).lower()])
    try:
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is neither a duration (30m, 2h, 3d) nor an ISO timestamp (2026-01-31T08:00:00Z)",
            param_hint="--since",
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _entity(value: str | None) -> str | None:
    if value is None:
        return None
    found = canonical_entity(value)
    if found is None:
        raise click.BadParameter(
            f"{value!r} is not a webhook entity; use {known_entities()}", param_hint="--entity"
        )
    return found


def _guard(fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except (StoreError, ConfigError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None


@click.group("webhooks")
def webhooks_group() -> None:
    """Receive Autotask webhooks durably, handle and replay them, manage registrations."""


# --- serve ---------------------------------------------------------------------------------


@webhooks_group.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", type=int, default=8080, show_default=True, help="Port (0: any free one).")
@click.option("--store", envvar="AUTOTASK_WEBHOOK_STORE", default=DEFAULT_STORE_URL, help=_STORE_HELP)
@click.option(
    "--tenants",
    "tenants_file",
    envvar=TENANTS_ENV,
    type=click.Path(dir_okay=False),
    help=f"Tenants file (TOML). Without one: tenant '{DEFAULT_TENANT}' with ${SECRET_ENV}.",
)
@click.option(
    "--handlers",
    envvar="AUTOTASK_WEBHOOK_HANDLERS",
    help="module:attribute of a WebhookServer whose handlers to run (default attribute: server).",
)
@click.option(
    "--max-body", type=int, default=1_000_000, show_default=True, help="Largest body accepted (bytes)."
)
@click.option("--no-worker", is_flag=True, help="Only receive and store; run no handlers.")
@click.option(
    "--log-level", default="info", show_default=True, type=click.Choice(["debug", "info", "warning", "error"])
)
def serve(
    host: str,
    port: int,
    store: str,
    tenants_file: str | None,
    handlers: str | None,
    max_body: int,
    no_worker: bool,
    log_level: str,
) -> None:
    """Receive webhooks at http://HOST:PORT/webhooks/{tenant}/{entity}."""
    import uvicorn

    from .server import WebhookServer, load_server

    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    def build() -> Any:
        server = load_server(handlers) if handlers else WebhookServer()
        tenants = load_tenants(tenants_file)
        return server.configure(
            store=open_store(store), tenants=tenants, max_body=max_body, worker=not no_worker
        )

    server = _guard(build)
    app = _guard(server.app)
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    bound = sock.getsockname()[1]
    tenants = ", ".join(server.tenants().names())
    click.echo(
        f"Autotask webhook receiver on http://{host}:{bound}/webhooks/{{tenant}}/{{entity}} "
        f"(tenants: {tenants}; store: {server.store.url}; "
        f"handlers: {len(server.handlers) if server.run_worker else 'off'})",
        err=False,
    )
    sys.stdout.flush()
    config = uvicorn.Config(
        app, log_level=log_level, access_log=log_level == "debug", timeout_graceful_shutdown=10
    )
    uvicorn.Server(config).run(sockets=[sock])


# --- events and replay ---------------------------------------------------------------------

_STATUS = click.Choice(["pending", "done", "failed", "dead"])


@webhooks_group.command()
@click.option("--store", envvar="AUTOTASK_WEBHOOK_STORE", default=DEFAULT_STORE_URL, help=_STORE_HELP)
@click.option("--json", "as_json", is_flag=True, help="A JSON array, one object per event.")
@click.option("--failed", is_flag=True, help="Only events whose handlers failed (failed and dead).")
@click.option("--status", type=_STATUS, help="Only events in this handler status.")
@click.option("--tenant", help="Only this tenant.")
@click.option("--entity", help="Only this entity (Ticket, TicketNote, Company, Contact, ConfigurationItem).")
@click.option("--id", "entity_id", type=int, help="Only this record id.")
@click.option("--since", help="Only events received since (30m, 2h, 3d or an ISO timestamp).")
@click.option("--limit", type=int, default=0, help="At most this many, the newest (0: all).")
def events(
    store: str,
    as_json: bool,
    failed: bool,
    status: str | None,
    tenant: str | None,
    entity: str | None,
    entity_id: int | None,
    since: str | None,
    limit: int,
) -> None:
    """List and count stored events."""
    statuses: Any = ["failed", "dead"] if failed else status
    entities = [e] if (e := _entity(entity)) else None
    since_at = parse_since(since) if since else None

    def read() -> list[Any]:
        opened = open_store(store)
        try:
            found, after = [], 0
            while True:
                page = opened.events(
                    after,
                    1000,
                    tenant=tenant,
                    entities=entities,
                    status=statuses,
                    since=since_at,
                    entity_id=entity_id,
                )
                found += page
                if len(page) < 1000:
                    break
                after = page[-1].seq
                if limit:
                    found = found[-limit:]
            return found[-limit:] if limit else found
        finally:
            opened.close()

    found = _guard(read)
    if as_json:
        sys.stdout.write(
            orjson.dumps([e.as_json() for e in found], option=orjson.OPT_INDENT_2).decode() + "\n"
        )
        return
    table = Table("seq", "received", "tenant", "entity", "id", "action", "status", "attempts", "last error")
    for e in found:
        table.add_row(
            str(e.seq),
            e.received_at.strftime("%Y-%m-%d %H:%M:%S"),
            e.tenant,
            e.entity,
            str(e.id),
            e.action,
            e.status,
            str(e.attempts),
            (e.last_error or "")[:60],
        )
    console.print(table)
    by_status: dict[str, int] = {}
    for e in found:
        by_status[e.status] = by_status.get(e.status, 0) + 1
    summary = ", ".join(f"{n} {s}" for s, n in sorted(by_status.items())) or "none"
    console.print(f"{len(found)} event(s): {summary}")


@webhooks_group.command()
@click.option("--store", envvar="AUTOTASK_WEBHOOK_STORE", default=DEFAULT_STORE_URL, help=_STORE_HELP)
@click.option("--since", help="Events received since (30m, 2h, 3d or an ISO timestamp).")
@click.option("--entity", help="Only this entity.")
@click.option("--id", "entity_id", type=int, help="Only this record id.")
@click.option("--tenant", help="Only this tenant.")
@click.option("--failed", is_flag=True, help="Only dead-lettered and failing events.")
@click.option("--all", "everything", is_flag=True, help="Every stored event.")
@click.option("--json", "as_json", is_flag=True)
def replay(
    store: str,
    since: str | None,
    entity: str | None,
    entity_id: int | None,
    tenant: str | None,
    failed: bool,
    everything: bool,
    as_json: bool,
) -> None:
    """Hand stored events to the handlers again (the running `serve` worker picks them up)."""
    if not (since or entity_id is not None or failed or everything):
        raise click.UsageError("say what to replay: --since, --id, --failed or --all")
    entities = [e] if (e := _entity(entity)) else None
    since_at = parse_since(since) if since else None

    def go() -> int:
        opened = open_store(store)
        try:
            return opened.requeue(
                tenant=tenant,
                entities=entities,
                entity_id=entity_id,
                since=since_at,
                status=["failed", "dead"] if failed else None,
            )
        finally:
            opened.close()

    count = _guard(go)
    if as_json:
        sys.stdout.write(orjson.dumps({"requeued": count}).decode() + "\n")
    else:
        console.print(f"{count} event(s) queued for the handlers again")


from . import registration_cli  # noqa: E402,F401  (adds register, list, remove, errors)
