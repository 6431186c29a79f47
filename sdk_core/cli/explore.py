"""`autotask entities` and `autotask fields ENTITY`: what there is to ask for."""

from __future__ import annotations

import click
import orjson

from .app import main, make_client, run_sdk
from .completion import complete_entity
from .output import write_rows


@main.command()
@click.option("--queryable", is_flag=True, help="Only entities that can be queried.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "jsonl", "csv"]),
    default="table",
    show_default=True,
)
def entities(queryable: bool, fmt: str) -> None:
    """Every Autotask entity in the bundled catalog, with its stream name and verbs (no request)."""
    from ..catalog import load_catalog

    rows = [
        {
            "entity": e.name,
            "stream": e.stream_name,
            "queryable": e.queryable,
            "verbs": " ".join(e.root_verbs),
            "parents": " ".join(sorted({p.parent for p in e.parents})),
            "incremental_by": e.modification_timestamp or "",
        }
        for e in sorted(load_catalog(), key=lambda e: e.name)
        if e.queryable or not queryable
    ]
    write_rows(rows, fmt)


@main.command()
@click.argument("entity", shell_complete=complete_entity)
@click.option(
    "--picklists/--no-picklists",
    default=True,
    show_default=True,
    help="List each picklist's values under the field.",
)
@click.option("--udfs/--no-udfs", default=True, show_default=True, help="Include user-defined fields.")
@click.option("--json", "as_json", is_flag=True, help="The raw field metadata as JSON.")
@click.pass_context
def fields(ctx: click.Context, entity: str, picklists: bool, udfs: bool, as_json: bool) -> None:
    """The fields of ENTITY from live metadata: type, required, read-only, picklist values."""
    with make_client(ctx) as client:
        handle = run_sdk(lambda: client.entity(entity))
        items = run_sdk(handle.fields)
        udf_items = run_sdk(handle.udfs) if udfs else []
    if as_json:
        click.echo(
            orjson.dumps(
                {"fields": items, "userDefinedFields": udf_items}, option=orjson.OPT_INDENT_2
            ).decode()
        )
        return
    rows = []
    for item, udf in [*((i, False) for i in items), *((u, True) for u in udf_items)]:
        values = item.get("picklistValues") or []
        rows.append(
            {
                "field": ("udf." if udf else "") + str(item.get("name")),
                "type": item.get("dataType"),
                "required": "yes" if item.get("isRequired") else "",
                "read-only": "yes" if item.get("isReadOnly") else "",
                "picklist": f"{len(values)} values" if values else "",
                "reference": item.get("referenceEntityType") or "",
            }
        )
        if picklists:
            for value in values:
                parent = value.get("parentValue")
                rows.append(
                    {
                        "field": f"  {value.get('value')}",
                        "type": value.get("label"),
                        "required": "",
                        "read-only": "" if value.get("isActive", True) else "inactive",
                        "picklist": f"parent {parent}" if parent not in (None, "") else "",
                        "reference": "",
                    }
                )
    write_rows(rows, "table")
