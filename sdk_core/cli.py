"""`autotask`: the command line for people (rich tables) and machines (`--json`).

Other packages add subcommand groups through the `autotask.commands` entry-point group
(e.g. `autotask sandbox ...`), so this module never imports them.
"""

from __future__ import annotations

import itertools
import sys
import time
from importlib.metadata import entry_points
from typing import Any

import click
import orjson
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ._client import AutotaskClient
from ._config import settings_from_env
from .errors import AutotaskError

__all__ = ["main"]

console = Console()


def _client(ctx: click.Context) -> AutotaskClient:
    return AutotaskClient.from_env(api_url=ctx.obj.get("api_url"))


def _emit(data: Any, as_json: bool, columns: list[str] | None = None) -> None:
    if as_json:
        sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    if isinstance(data, list):
        columns = columns or list(dict.fromkeys(k for row in data for k in row if k != "userDefinedFields"))
        table = Table(*columns)
        for row in data:
            table.add_row(*["" if row.get(c) is None else str(row.get(c)) for c in columns])
        console.print(table)
        return
    table = Table("setting", "value")
    for key, value in data.items():
        table.add_row(key, "" if value is None else str(value))
    console.print(table)


def _filter(raw: str | None, where: tuple[str, ...]) -> Any:
    if raw and where:
        raise click.UsageError("use either --filter or --where, not both")
    if raw:
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise click.BadParameter(f"not JSON: {exc}", param_hint="--filter")
    out: dict[str, Any] = {}
    for item in where:
        field, sep, value = item.partition("=")
        if not sep:
            raise click.BadParameter(f"{item!r} is not FIELD=VALUE", param_hint="--where")
        try:
            out[field] = orjson.loads(value)
        except orjson.JSONDecodeError:
            out[field] = value
    return out or None


class _Group(click.Group):
    """Adds the subcommand groups registered under the `autotask.commands` entry points."""

    def _plugins(self) -> dict[str, Any]:
        return {ep.name: ep for ep in entry_points(group="autotask.commands")}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self._plugins()))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        found = super().get_command(ctx, name)
        if found is not None:
            return found
        ep = self._plugins().get(name)
        if ep is None:
            return None
        try:
            return ep.load()
        except Exception as exc:  # a broken plugin must not break the other commands
            console.print(f"[red]could not load the '{name}' commands: {escape(str(exc))}[/red]")
            return None


@click.group(cls=_Group)
@click.option("--api-url", envvar="AUTOTASK_API_URL", help="REST root of the zone (skips zone lookup).")
@click.pass_context
def main(ctx: click.Context, api_url: str | None) -> None:
    """Autotask PSA from the command line. Credentials come from AUTOTASK_* variables."""
    ctx.ensure_object(dict)
    ctx.obj["api_url"] = api_url


def _run(fn: Any) -> Any:
    try:
        return fn()
    except AutotaskError as exc:
        raise click.ClickException(str(exc))


@main.command()
@click.argument("entity")
@click.option("--filter", "raw_filter", help='Autotask filter JSON, e.g. \'[{"op":"eq","field":"status","value":1}]\'.')
@click.option("--where", multiple=True, help="FIELD=VALUE (repeatable; ANDed equality).")
@click.option("--fields", help="Comma-separated fields to return (id is always included).")
@click.option("--limit", type=int, default=50, show_default=True, help="Rows to show (0 for all).")
@click.option("--json", "as_json", is_flag=True, help="JSON output.")
@click.pass_context
def query(ctx: click.Context, entity: str, raw_filter: str | None, where: tuple[str, ...],
          fields: str | None, limit: int, as_json: bool) -> None:
    """Rows of ENTITY matching a filter."""
    def go() -> None:
        with _client(ctx) as client:
            names = [f.strip() for f in fields.split(",")] if fields else None
            size = min(500, limit) if limit else 500
            rows = client.entity(entity).query(_filter(raw_filter, where), names, page_size=size)
            data = list(itertools.islice(rows, limit) if limit else rows)
            _emit(data, as_json, ["id", *names] if names else None)
    _run(go)


@main.command()
@click.argument("entity")
@click.option("--filter", "raw_filter", help="Autotask filter JSON.")
@click.option("--where", multiple=True, help="FIELD=VALUE (repeatable).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def count(ctx: click.Context, entity: str, raw_filter: str | None, where: tuple[str, ...], as_json: bool) -> None:
    """How many rows of ENTITY match."""
    def go() -> None:
        with _client(ctx) as client:
            n = client.entity(entity).count(_filter(raw_filter, where))
            if as_json:
                _emit({"entity": client.entity(entity).name, "count": n}, True)
            else:
                console.print(n)
    _run(go)


@main.command()
@click.argument("entity")
@click.argument("id", type=int)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def get(ctx: click.Context, entity: str, id: int, as_json: bool) -> None:
    """One row of ENTITY by id."""
    def go() -> None:
        with _client(ctx) as client:
            row = client.entity(entity).get(id)
            if row is None:
                raise click.ClickException(f"{client.entity(entity).name} {id} does not exist")
            _emit(row, as_json)
    _run(go)


@main.command()
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def health(ctx: click.Context, as_json: bool) -> None:
    """Zone, authentication, threshold usage and latency."""
    def go() -> None:
        with _client(ctx) as client:
            started = time.perf_counter()
            threshold = client.threshold()
            latency = (time.perf_counter() - started) * 1000
            report = {
                "zone": client.root, "zone_detected": client.zone_detected, "authenticated": True,
                "threshold_limit": threshold["limit"], "threshold_used": threshold["used"],
                "threshold_timeframe_minutes": threshold["timeframe_minutes"],
                "threshold_used_percent": round(100 * threshold["used"] / max(1, threshold["limit"]), 1),
                "budget": client.governor.budget, "latency_ms": round(latency, 1),
            }
            _emit(report, as_json)
    _run(go)


@main.command()
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def config(ctx: click.Context, as_json: bool) -> None:
    """The effective configuration, secret masked."""
    _emit(_run(lambda: settings_from_env(api_url=ctx.obj.get("api_url"))).masked(), as_json)
