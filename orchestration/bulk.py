"""The bulk write job: create, update or delete Autotask records from a CSV or Parquet file.

Writes go through sdk_core's bulk engine (`client.entity(name).bulk_<operation>`) and its
journal. A file is one journal job, keyed by tenant, entity, operation and the file's path and
contents (`bulk_jobs.py`): a retried or re-executed run of the same file resumes that job, so
rows already written are never sent again (a create is never duplicated) and rows left pending
are finished. A changed file is a new job. The run config is checked in full (tenant, entity
and verb, file, columns) before anything is written; `dry_run: true` validates the rows
through the engine without writing or journaling.
"""

from pathlib import Path
from typing import Any

from dagster import Config, Failure, MetadataValue, OpExecutionContext, Output, job, op
from pydantic import Field

from sdk_core.catalog import load_catalog
from sdk_core.errors import ConfigurationError

from .bulk_jobs import journal_job
from .executors import step_tags
from .resources import TenantsResource

__all__ = ["BulkWriteConfig", "bulk_write_job", "read_rows", "validate_bulk_config"]

OPERATIONS = {"create": ("create",), "update": ("update", "patch"), "delete": ("delete",)}


class BulkWriteConfig(Config):
    tenant: str = Field(default="default", description="Tenant (partition) to write to.")
    entity: str = Field(description="Autotask entity, e.g. Tickets or ticket_notes.")
    operation: str = Field(description="create, update or delete.")
    path: str = Field(description="CSV (.csv) or Parquet (.parquet) file, one row per record.")
    journal: str | None = Field(
        default=None,
        description="Journal file; default <path>.journal "
        "(a retried run resumes from it and never creates twice).",
    )
    job_id: str | None = Field(
        default=None,
        description="Journal job to resume (e.g. one started by `autotask bulk`); default: "
        "the job this file started in the journal, else a new one.",
    )
    dry_run: bool = Field(default=False, description="Validate every row, write nothing.")


def read_rows(path: Path) -> list[dict[str, Any]]:
    """Rows of a CSV or Parquet file; empty cells are left out (not sent as null)."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        import csv

        with path.open(newline="", encoding="utf-8-sig") as handle:
            return [
                {k: v for k, v in row.items() if k and v not in ("", None)} for row in csv.DictReader(handle)
            ]
    if suffix in (".parquet", ".pq"):
        import pyarrow.parquet as pq

        return [{k: v for k, v in row.items() if v is not None} for row in pq.read_table(path).to_pylist()]
    raise ConfigurationError(f"{path}: use a .csv or .parquet file, not {suffix or 'no suffix'}.")


def validate_bulk_config(config: BulkWriteConfig, tenants: TenantsResource) -> tuple[Any, list[dict]]:
    """(catalog entity, rows) or a ConfigurationError saying what to fix; nothing is written."""
    if config.operation not in OPERATIONS:
        raise ConfigurationError(
            f"operation must be one of {', '.join(OPERATIONS)}, not {config.operation!r}."
        )
    tenants.get(config.tenant).require_credentials()
    entity = load_catalog().find(config.entity)
    if entity is None:
        raise ConfigurationError(
            f"{config.entity!r} is not an Autotask entity (e.g. Tickets, Companies, ticket_notes)."
        )
    if not any(entity.can(v) or entity.parent_route(v) for v in OPERATIONS[config.operation]):
        raise ConfigurationError(f"{entity.name} cannot be {config.operation}d through the API.")
    path = Path(config.path).expanduser()
    if not path.is_file():
        raise ConfigurationError(f"{path} does not exist or is not a file.")
    rows = read_rows(path)
    if not rows:
        raise ConfigurationError(f"{path} has no rows.")
    if config.operation in ("update", "delete"):
        missing = [i for i, row in enumerate(rows) if not row.get("id")]
        if missing:
            raise ConfigurationError(
                f"{config.operation} needs an `id` in every row; rows {missing[:10]} have none."
            )
    known = set(entity.field_names) | {"id"}
    unknown = sorted(
        {k for row in rows for k in row} - known - {k for row in rows for k in row if k.startswith("udf_")}
    )
    if unknown:
        raise ConfigurationError(f"{path}: columns {unknown} are not fields of {entity.name}.")
    return entity, rows


@op(
    description="Validates the file against the catalog, then writes it with the SDK's bulk "
    "engine (journaled: a retry never duplicates a create).",
    tags=step_tags(),
)
def autotask_bulk_write(
    context: OpExecutionContext, config: BulkWriteConfig, tenants: TenantsResource
) -> Output[dict]:
    try:
        entity, rows = validate_bulk_config(config, tenants)
    except ConfigurationError as exc:
        raise Failure(description=f"Bulk job refused before writing anything: {exc}") from None
    path = Path(config.path).expanduser().resolve()
    journal = config.journal or f"{path}.journal"
    resume = None
    if not config.dry_run:
        resume, resumed = journal_job(
            journal,
            config.job_id,
            tenant=config.tenant,
            entity=entity.name,
            operation=config.operation,
            path=path,
        )
        context.log.info(f"{'Resuming' if resumed else 'Starting'} journal job {resume} ({journal})")
    context.log.info(
        f"{config.operation} {len(rows)} {entity.name} rows for {config.tenant}"
        f"{' (dry run)' if config.dry_run else ''}; journal {journal}"
    )
    with tenants.client(config.tenant) as client:
        method = getattr(client.entity(entity.name), f"bulk_{config.operation}")
        options = {"resume": resume, "progress": False} if resume else {"progress": False}
        result = method(str(path), journal=journal, dry_run=config.dry_run, **options)
    ids, errors = list(result.ids), list(result.errors)
    summary = {
        "job_id": result.job_id,
        "rows": len(rows),
        "written": sum(1 for i in ids if i is not None),
        "errors": len(errors),
        "requests": result.requests,
        "journal": result.journal,
        "dry_run": config.dry_run,
    }
    metadata = {
        **{k: MetadataValue.text(str(v)) for k, v in summary.items()},
        "first_errors": MetadataValue.json([list(e) for e in errors[:20]]),
    }
    if errors:
        raise Failure(
            description=f"{len(errors)} of {len(rows)} rows failed (first: row {errors[0][0]}: "
            f"{errors[0][1]}). Rows written are recorded in job {result.job_id} of the journal "
            f"{result.journal}: a rerun of this file resends none of them. Put the failed rows, "
            "fixed, in a new file to write them.",
            metadata=metadata,
        )
    return Output({**summary, "ids": ids}, metadata=metadata)


@job(description="Bulk create/update/delete from a CSV or Parquet file.", tags={"autotask/job": "bulk"})
def bulk_write_job() -> None:
    autotask_bulk_write()
