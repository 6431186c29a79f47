"""`autotask query`, `count` and `get`: reading rows, streamed, in a format you can pipe."""

from __future__ import annotations

import itertools
import sys
from collections.abc import Iterator
from typing import Any

import click
import orjson

from .._query import compile_filter
from ..errors import AutotaskError, QueryError
from .app import CLIError, err_console, main, make_client, run_sdk
from .completion import complete_entity
from .exit_codes import ExitCode, exit_code_for
from .output import FORMATS, write_rows
from .where import parse_where

TABLE_DEFAULT_LIMIT = 50


def build_filter(where: tuple[str, ...], raw_filter: str | None = None) -> list[dict[str, Any]] | None:
    """Every --where (ANDed) and the legacy --filter JSON as one Autotask filter list."""
    parts: list[Any] = []
    if raw_filter:
        try:
            parts.append(orjson.loads(raw_filter))
        except orjson.JSONDecodeError as exc:
            raise click.BadParameter(f"not JSON: {exc}", param_hint="--filter") from None
    try:
        parts.extend(parse_where(item) for item in where)
        items: list[dict[str, Any]] = []
        for part in parts:
            items.extend(compile_filter(part))
    except QueryError as exc:
        raise click.BadParameter(str(exc), param_hint="--where") from None
    return items or None


def _fields(text: str | None) -> list[str] | None:
    return [f.strip() for f in text.split(",") if f.strip()] if text else None


def _with_progress(rows: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Counts rows on stderr while they stream, on a terminal only."""
    if not sys.stderr.isatty():
        yield from rows
        return
    console = err_console()
    with console.status("0 rows") as status:
        for n, row in enumerate(rows, 1):
            if n % 500 == 0:
                status.update(f"{n:,} rows")
            yield row


@main.command()
@click.argument("entity", shell_complete=complete_entity)
@click.option(
    "--where",
    "-w",
    multiple=True,
    help='Filter, e.g. "status=1 and createDate>=2026-01-01" (repeatable, ANDed; '
    "operators = != > >= < <= ~ ^= $= in exists; udf.Name for a UDF; or filter JSON).",
)
@click.option("--filter", "raw_filter", hidden=True, help="Autotask filter JSON (same as a JSON --where).")
@click.option("--fields", "-f", help="Comma-separated fields to return (id is always included).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default=None,
    help="Output format [default: table on a terminal, jsonl otherwise].",
)
@click.option(
    "--limit",
    type=click.IntRange(min=0),
    default=None,
    help=f"At most this many rows; 0 for all [default: {TABLE_DEFAULT_LIMIT} for table, "
    "all for other formats]. When it cuts the result, stderr says so.",
)
@click.option("--json", "as_json", is_flag=True, hidden=True, help="Same as --format json.")
@click.pass_context
def query(
    ctx: click.Context,
    entity: str,
    where: tuple[str, ...],
    raw_filter: str | None,
    fields: str | None,
    fmt: str | None,
    limit: int | None,
    as_json: bool,
) -> None:
    """Rows of ENTITY matching a filter, streamed as they arrive."""
    fmt = "json" if as_json else fmt or ("table" if sys.stdout.isatty() else "jsonl")
    if limit is None:
        limit = TABLE_DEFAULT_LIMIT if fmt == "table" else 0
    filter_items = build_filter(where, raw_filter)
    names = _fields(fields)
    client = make_client(ctx)
    cut = False
    try:
        with client:
            handle = run_sdk(lambda: client.entity(entity))
            size = min(500, limit + 1) if limit else 500
            rows: Iterator[dict[str, Any]] = handle.query(filter_items, names, page_size=size)
            if limit:
                head = itertools.islice(rows, limit + 1)
                rows = itertools.islice(head, limit)
            columns = ["id", *[n for n in names if n.lower() != "id"]] if names else None
            written = write_rows(_with_progress(rows), fmt, columns)
            cut = bool(limit) and written == limit and _has_more(head)
    except AutotaskError as exc:
        raise CLIError(str(exc), exit_code_for(exc)) from None
    if cut:
        click.echo(
            f"autotask: showing the first {limit} rows; more match (--limit 0 returns every row)", err=True
        )


def _has_more(rows: Iterator[dict[str, Any]]) -> bool:
    return next(rows, None) is not None


@main.command()
@click.argument("entity", shell_complete=complete_entity)
@click.option("--where", "-w", multiple=True, help="Filter (as for `autotask query`).")
@click.option("--filter", "raw_filter", hidden=True, help="Autotask filter JSON.")
@click.option("--json", "as_json", is_flag=True, help="JSON output.")
@click.pass_context
def count(
    ctx: click.Context, entity: str, where: tuple[str, ...], raw_filter: str | None, as_json: bool
) -> None:
    """How many rows of ENTITY match."""
    filter_items = build_filter(where, raw_filter)
    with make_client(ctx) as client:
        handle = run_sdk(lambda: client.entity(entity))
        n = run_sdk(lambda: handle.count(filter_items))
    if as_json:
        click.echo(orjson.dumps({"entity": handle.name, "count": n}).decode())
    else:
        click.echo(n)


@main.command()
@click.argument("entity", shell_complete=complete_entity)
@click.argument("id", type=int)
@click.option("--json", "as_json", is_flag=True, help="JSON output.")
@click.pass_context
def get(ctx: click.Context, entity: str, id: int, as_json: bool) -> None:
    """One row of ENTITY by id."""
    with make_client(ctx) as client:
        handle = run_sdk(lambda: client.entity(entity))
        row = run_sdk(lambda: handle.get(id))
    if row is None:
        raise CLIError(f"{handle.name} {id} does not exist", ExitCode.NOT_FOUND)
    if as_json:
        click.echo(orjson.dumps(row, option=orjson.OPT_INDENT_2).decode())
    else:
        write_rows([{"field": k, "value": v} for k, v in row.items()], "table")
