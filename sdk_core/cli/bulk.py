"""`autotask bulk create|update|replace|delete ENTITY --file rows.csv|.xlsx|.parquet`.

The rows go through the SDK's bulk engine (journal, exactly-once creates, resume, conflicts);
this module only reads the spreadsheet the way a person wrote it: column headers matched to
field names or labels case-insensitively, picklist labels turned into their values, text
turned into the field's type, empty cells left out.
"""

from __future__ import annotations

import csv
import difflib
from collections.abc import Iterator
from datetime import date, datetime
from functools import partial
from pathlib import Path
from typing import Any

import click

from ..errors import ConfigurationError
from .app import CLIError, main, make_client, run_sdk
from .completion import complete_entity
from .exit_codes import ExitCode
from .output import render_table

FILE_TYPES = (".csv", ".xlsx", ".parquet")
_INTEGER = {"integer", "long", "short", "int", "byte"}
_NUMBER = {"double", "decimal", "float", "currency"}
_TRUE, _FALSE = {"true", "yes", "y", "1", "t"}, {"false", "no", "n", "0", "f"}


def read_table(path: Path, sheet: str | None = None) -> tuple[list[str], Iterator[list[Any]]]:
    """(header, rows of cells) of a CSV, XLSX (first or named sheet) or Parquet file."""
    suffix = path.suffix.lower()
    if not path.exists():
        raise ConfigurationError(f"{path} does not exist")
    if suffix == ".csv":
        handle = path.open(newline="", encoding="utf-8-sig")
        reader = csv.reader(handle)
        header = next(reader, [])

        def csv_rows() -> Iterator[list[Any]]:
            with handle:
                yield from reader

        return header, csv_rows()
    if suffix == ".xlsx":
        from openpyxl import load_workbook

        book = load_workbook(path, read_only=True, data_only=True)
        if sheet is not None and sheet not in book.sheetnames:
            raise ConfigurationError(
                f"{path.name} has no sheet {sheet!r} (sheets: {', '.join(book.sheetnames)})"
            )
        ws = book[sheet] if sheet else book.worksheets[0]
        cells = ws.iter_rows(values_only=True)
        header = [str(h) if h is not None else "" for h in next(cells, ())]
        return header, (list(r) for r in cells if any(v not in (None, "") for v in r))
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        table = pq.ParquetFile(path)
        header = table.schema_arrow.names

        def parquet_rows() -> Iterator[list[Any]]:
            for batch in table.iter_batches(batch_size=2000):
                for row in batch.to_pylist():
                    yield [row[name] for name in header]

        return header, parquet_rows()
    raise ConfigurationError(f"{path.name}: give a {', '.join(FILE_TYPES)} file")


class ColumnMap:
    """Header cells to fields (by name or label, any case and spacing), with type and picklist."""

    def __init__(
        self, header: list[str], fields: list[dict[str, Any]], udfs: list[dict[str, Any]], entity: str
    ):
        from ..catalog import load_catalog

        info = load_catalog().get(entity)
        by_key: dict[str, tuple[str, dict[str, Any], bool]] = {}
        loose: dict[str, list[tuple[str, dict[str, Any], bool]]] = {}
        for raw, udf in [*((f, False) for f in fields), *((u, True) for u in udfs)]:
            known = None if udf else info.field(raw["name"])
            name = (
                raw["name"] if udf else (known.name if known else raw["name"][:1].lower() + raw["name"][1:])
            )
            for key in (raw["name"], raw.get("label") or "", *((f"udf.{raw['name']}",) if udf else ())):
                if key:
                    by_key.setdefault(_key(key), (name, raw, udf))
            if not udf and _key(name).endswith("id") and len(name) > 2:
                loose.setdefault(_key(name)[:-2], []).append((name, raw, udf))
        for key, found in loose.items():  # "Company" for companyID, when only one field fits
            if len(found) == 1 and key not in by_key:
                by_key[key] = found[0]
        self.columns: list[tuple[str, dict[str, Any], bool] | None] = []
        unknown: list[str] = []
        for cell in header:
            column = by_key.get(_key(cell))
            if column is None and cell.strip():
                unknown.append(cell)
            self.columns.append(column)
        if unknown:
            hints = []
            for cell in unknown:
                close = difflib.get_close_matches(cell.lower(), list(by_key), n=1, cutoff=0.6)
                hints.append(f"{cell!r}" + (f" (did you mean {by_key[close[0]][0]!r}?)" if close else ""))
            raise ConfigurationError(
                f"columns that are no field of {entity}: {', '.join(hints)}; "
                f"`autotask fields {entity}` lists the fields"
            )
        self._info = info
        self._parents = {
            name: raw.get("picklistParentValueField") or None for name, raw, _ in filter(None, self.columns)
        }

    def row(self, cells: list[Any], number: int) -> dict[str, Any]:
        """One input row as the field values the engine takes (empty cells left out)."""
        out: dict[str, Any] = {}
        udfs: list[dict[str, Any]] = []
        pending: list[tuple[str, dict[str, Any], bool, Any]] = []
        for column, value in zip(self.columns, cells):
            if column is None or value is None or (isinstance(value, str) and not value.strip()):
                continue
            name, raw, udf = column
            if raw.get("isPickList") and raw.get("picklistValues"):
                pending.append((name, raw, udf, value))
                continue
            converted = _convert(value, raw, name, number)
            if udf:
                udfs.append({"name": name, "value": converted})
            else:
                out[name] = converted
        for name, raw, udf, value in sorted(pending, key=lambda p: bool(self._parents.get(p[0]))):
            parent_field = self._parents.get(name)  # parents first: they scope a dependent label
            parent_info = self._info.field(parent_field) if parent_field else None
            parent = out.get(parent_info.name) if parent_info else None
            converted = _picklist(value, raw, parent, name, number)
            if udf:
                udfs.append({"name": name, "value": converted})
            else:
                out[name] = converted
        if udfs:
            out["userDefinedFields"] = udfs
        return out


def _key(header: str) -> str:
    """Headers match case-insensitively, ignoring spaces, punctuation and underscores:
    `Company ID`, `company_id` and `companyID` are one key."""
    text = header.strip().lower()
    prefix = "udf." if text.startswith("udf.") else ""
    return prefix + "".join(ch for ch in text[len(prefix) :] if ch.isalnum())


def _convert(value: Any, raw: dict[str, Any], name: str, number: int) -> Any:
    kind = str(raw.get("dataType") or raw.get("type") or "string").lower()
    try:
        if kind in _INTEGER:
            if isinstance(value, float) and value.is_integer():
                return int(value)
            text = str(value).strip()
            return int(float(text)) if "." in text and float(text).is_integer() else int(text)
        if kind in _NUMBER:
            return float(value)
        if kind in ("boolean", "bool"):
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in _TRUE | _FALSE:
                return text in _TRUE
            raise ValueError(value)
    except (TypeError, ValueError):
        raise ConfigurationError(f"row {number}, column {name}: {value!r} is not a {kind}") from None
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def _picklist(value: Any, raw: dict[str, Any], parent: Any, name: str, number: int) -> Any:
    """A picklist cell as its value: the value itself, or a label (within the parent's choices)."""
    choices = raw["picklistValues"]
    if parent is not None:
        scoped = [c for c in choices if str(c.get("parentValue") or "") == str(parent)]
        choices = scoped or choices
    text = str(int(value) if isinstance(value, float) and value.is_integer() else value).strip()
    for choice in choices:
        if str(choice.get("value")) == text:
            return _convert(choice["value"], raw, name, number)
    matches = [c for c in choices if str(c.get("label") or "").strip().lower() == text.lower()]
    if len(matches) == 1:
        return _convert(matches[0]["value"], raw, name, number)
    labels = sorted({str(c.get("label")) for c in choices})[:12]
    reason = "matches several values; give the value" if matches else "is no value or label"
    raise ConfigurationError(f"row {number}, column {name}: {value!r} {reason} (labels: {', '.join(labels)})")


@main.command()
@click.argument("operation", type=click.Choice(["create", "update", "replace", "delete"]))
@click.argument("entity", shell_complete=complete_entity)
@click.option(
    "--file",
    "path",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="Rows as .csv, .xlsx (first sheet, or --sheet) or .parquet; headers are field names or labels.",
)
@click.option("--sheet", help="Sheet of an .xlsx file [default: the first].")
@click.option("--dry-run", is_flag=True, help="Check every row against live metadata; send no write.")
@click.option(
    "--resume", "resume", metavar="JOB", help="Continue an interrupted job: rows done are not sent again."
)
@click.option(
    "--on-conflict",
    type=click.Choice(["skip", "overwrite", "merge"]),
    default="skip",
    show_default=True,
    help="Updates of a row changed in Autotask since it was read (rows carrying lastActivityDate ...).",
)
@click.option(
    "--match",
    help="Creates: comma-separated fields that identify a row, to find a create whose answer was lost.",
)
@click.option("--marker", help="Creates: a writable text field the engine may use to find a lost create.")
@click.option(
    "--journal",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Journal file [default: in the cache folder].",
)
@click.option(
    "--errors",
    "errors_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Where rows that failed are listed with Autotask's words [default: FILE.errors.csv].",
)
@click.option("--yes", "-y", is_flag=True, help="Do not ask before deleting or writing many rows.")
@click.option(
    "--confirm-over", default=100, show_default=True, help="Ask before writing more rows than this."
)
@click.pass_context
def bulk(
    ctx: click.Context,
    operation: str,
    entity: str,
    path: Path,
    sheet: str | None,
    dry_run: bool,
    resume: str | None,
    on_conflict: str,
    match: str | None,
    marker: str | None,
    journal: Path | None,
    errors_path: Path | None,
    yes: bool,
    confirm_over: int,
) -> None:
    """Create, update, replace or delete ENTITY rows from a spreadsheet, each exactly once."""
    header, cells = run_sdk(lambda: read_table(path, sheet))
    with make_client(ctx) as client:
        handle = run_sdk(lambda: client.entity(entity))
        fields = run_sdk(handle.fields)
        udfs = run_sdk(handle.udfs)
        columns = run_sdk(lambda: ColumnMap(header, fields, udfs, handle.name))
        rows = [run_sdk(partial(columns.row, list(r), n)) for n, r in enumerate(cells, 2)]
        if not dry_run and not yes and (operation == "delete" or len(rows) > confirm_over):
            if not click.confirm(f"{operation} {len(rows):,} {handle.name} rows in {client.root}?", err=True):
                raise CLIError("nothing sent", ExitCode.USAGE)
        options: dict[str, Any] = {"resume": resume}
        if operation in ("update", "replace"):
            options["on_conflict"] = on_conflict
        if operation == "create" and match:
            options["match"] = [m.strip() for m in match.split(",") if m.strip()]
        if operation == "create" and marker:
            options["marker"] = marker
        method = getattr(handle, f"bulk_{operation}")
        result = run_sdk(
            lambda: method(rows, journal=str(journal) if journal else None, dry_run=dry_run, **options)
        )
    counts = {"rows": len(rows), **result.counts, "requests": result.requests}
    if result.journal:
        counts.update(job=result.job_id, journal=result.journal)
    click.echo(
        render_table(counts, (f"{handle.name} {operation}" + (" (dry run)" if dry_run else ""), "")),
        nl=False,
        err=True,
    )
    if result.errors:
        target = errors_path or path.with_name(path.name + ".errors.csv")
        with target.open("w", newline="", encoding="utf-8") as handle_out:
            writer = csv.writer(handle_out)
            writer.writerow(["file_row", "message"])
            for index, message in result.errors:
                writer.writerow([index + 2, message])
        click.echo(f"{len(result.errors)} rows failed; Autotask's words for each in {target}", err=True)
        if result.journal and not dry_run:
            click.echo(
                f"fix them and run again with --resume {result.job_id} (rows done are not resent)", err=True
            )
        ctx.exit(ExitCode.PARTIAL if result.done else ExitCode.ERROR)
