"""`autotask webhooks register|list|remove|errors`: registration through the REST API.

The secret is read from the tenants file or `$AUTOTASK_WEBHOOK_SECRET` (the same place the
receiver reads it), never from an option.
"""

from __future__ import annotations

import sys
from typing import Any

import click
import orjson
from rich.table import Table

from .cli import _guard, console, parse_since, webhooks_group
from .config import DEFAULT_TENANT, TENANTS_ENV, load_tenants
from .entities import canonical_entity, known_entities
from .registration import RegistrationError


def _client(ctx: click.Context) -> Any:
    from .._client import AutotaskClient

    root = ctx.find_root().obj or {}
    return AutotaskClient.from_env(api_url=root.get("api_url"))


def _run(fn: Any) -> Any:
    from ..errors import AutotaskError

    try:
        return _guard(fn)
    except (AutotaskError, RegistrationError) as exc:
        raise click.ClickException(str(exc)) from None


def _dump(data: Any) -> None:
    sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")


def _entity_choice(value: str) -> str:
    found = canonical_entity(value)
    if found is None:
        raise click.BadParameter(f"{value!r} is not a webhook entity; use {known_entities()}")
    return found


@webhooks_group.command()
@click.option("--entity", required=True, help="Ticket, TicketNote, Company, Contact or ConfigurationItem.")
@click.option(
    "--url", required=True, help="Where Autotask posts, e.g. https://hooks.example.com/webhooks/acme/ticket."
)
@click.option("--name", help="Webhook name (at most 50 characters); registering a name again updates it.")
@click.option(
    "--field", "fields", multiple=True, help="Subscribed field (repeatable): a change calls the webhook."
)
@click.option("--display-field", "display_fields", multiple=True, help="Field always sent (repeatable).")
@click.option("--udf-field", "udf_fields", multiple=True, help="Subscribed UDF by name (repeatable).")
@click.option(
    "--exclude-resource", "excluded", multiple=True, type=int, help="Resource id whose changes never call it."
)
@click.option(
    "--events", default="create,update,delete", show_default=True, help="Comma-separated callout types."
)
@click.option(
    "--deactivation-url", help="Called when Autotask deactivates the webhook [default: URL/deactivated]."
)
@click.option("--notification-email", help="Where Autotask sends error e-mails.")
@click.option("--inactive", is_flag=True, help="Register it switched off.")
@click.option("--tenant", default=DEFAULT_TENANT, show_default=True, help="Tenant whose secret to use.")
@click.option(
    "--tenants",
    "tenants_file",
    envvar=TENANTS_ENV,
    type=click.Path(dir_okay=False),
    help="Tenants file holding the secret (else $AUTOTASK_WEBHOOK_SECRET).",
)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def register(
    ctx: click.Context,
    entity: str,
    url: str,
    name: str | None,
    fields: tuple[str, ...],
    display_fields: tuple[str, ...],
    udf_fields: tuple[str, ...],
    excluded: tuple[int, ...],
    events: str,
    deactivation_url: str | None,
    notification_email: str | None,
    inactive: bool,
    tenant: str,
    tenants_file: str | None,
    as_json: bool,
) -> None:
    """Create or update (by name) a webhook and its fields."""
    canonical = _entity_choice(entity)

    def go() -> Any:
        found = load_tenants(tenants_file).get(tenant)
        if found is None:
            raise click.ClickException(f"no tenant {tenant!r} in the tenants configuration")
        secret = found.secret_for(canonical)
        with _client(ctx) as client:
            return client.webhooks.register(
                canonical,
                url,
                secret,
                name=name,
                fields=list(fields) or None,
                display_fields=list(display_fields) or None,
                udf_fields=list(udf_fields) or None,
                excluded_resources=list(excluded) if excluded else None,
                events=[e for e in events.split(",") if e.strip()],
                deactivation_url=deactivation_url,
                notification_email=notification_email,
                active=not inactive,
            )

    hook = _run(go)
    if as_json:
        _dump(hook.as_json())
    else:
        state = "ready" if hook.ready else "NOT ready (no subscribed field)"
        console.print(
            f"{hook.entity} webhook {hook.id} {hook.name!r} -> {hook.url}: "
            f"{'active' if hook.active else 'inactive'}, {state}; "
            f"events {', '.join(sorted(hook.events))}; fields {', '.join(hook.fields)}"
        )


@webhooks_group.command("list")
@click.option("--entity", help="Only this entity's webhooks.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def list_(ctx: click.Context, entity: str | None, as_json: bool) -> None:
    """Webhooks registered in the tenant."""
    canonical = _entity_choice(entity) if entity else None

    def go() -> Any:
        with _client(ctx) as client:
            return client.webhooks.list(canonical)

    hooks = _run(go)
    if as_json:
        _dump([h.as_json() for h in hooks])
        return
    table = Table("entity", "id", "name", "url", "active", "ready", "events", "fields")
    for h in hooks:
        table.add_row(
            h.entity,
            str(h.id),
            h.name,
            h.url,
            str(h.active),
            str(h.ready),
            ",".join(sorted(h.events)),
            ",".join(h.fields),
        )
    console.print(table)
    console.print(f"{len(hooks)} webhook(s)")


@webhooks_group.command()
@click.option("--entity", required=True, help="The webhook's entity.")
@click.option("--name", help="The webhook's name.")
@click.option("--id", "webhook_id", type=int, help="The webhook's id (instead of --name).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def remove(ctx: click.Context, entity: str, name: str | None, webhook_id: int | None, as_json: bool) -> None:
    """Delete a webhook (and its fields) from the tenant."""
    if (name is None) == (webhook_id is None):
        raise click.UsageError("give --name or --id")
    canonical = _entity_choice(entity)
    ref: str | int = webhook_id if webhook_id is not None else name  # type: ignore[assignment]  # one is given (checked above)

    def go() -> bool:
        with _client(ctx) as client:
            return client.webhooks.remove(canonical, ref)

    removed = _run(go)
    if as_json:
        _dump({"removed": removed})
    else:
        console.print(
            f"removed {canonical} webhook {ref!r}"
            if removed
            else f"no {canonical} webhook {ref!r}; nothing removed"
        )


@webhooks_group.command()
@click.option("--since", help="Only rows created since (30m, 2h, 3d or an ISO timestamp).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def errors(ctx: click.Context, since: str | None, as_json: bool) -> None:
    """Payloads Autotask gave up delivering (WebhookEventErrorLogs, kept 30 days)."""
    since_at = parse_since(since) if since else None

    def go() -> Any:
        with _client(ctx) as client:
            return client.webhooks.error_logs(since_at)

    rows = _run(go)
    if as_json:
        _dump(rows)
        return
    table = Table("id", "created", "sequence", "error")
    for row in rows:
        table.add_row(
            str(row["id"]),
            str(row.get("createDateTime")),
            str(row.get("sequenceNumber")),
            str(row.get("errorMessage"))[:100],
        )
    console.print(table)
    console.print(f"{len(rows)} error log row(s)")
