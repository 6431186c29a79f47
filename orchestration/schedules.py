"""Schedules: incremental syncs every N minutes, delete reconciliation nightly, health checks.

Each run request carries `autotask/sync=<tenant>.<group>`; the run queue's tag concurrency
limit (orchestration/dagster.yaml) keeps one run per value, and the state store's lease holds
the line even where that limit is not configured.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from dagster import (
    DefaultScheduleStatus,
    RunRequest,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    schedule,
)

from sdk_core.errors import ConfigurationError

from .assets import SYNC_TAG
from .groups import GROUPS, StreamGroup
from .health import health_check_job
from .jobs import SYNC_JOBS
from .partitions import TENANTS
from .sync import RECONCILE

__all__ = ["SCHEDULES", "incremental_cron", "sync_run_request"]

DEFAULT_EVERY_MINUTES = 15
RECONCILE_HOUR = 2  # UTC; groups start 10 minutes apart


def incremental_cron(every: str | int | None = None) -> str:
    """Cron of `AUTOTASK_SYNC_EVERY_MINUTES` (default 15): a divisor of 60, or whole hours."""
    raw = every if every is not None else os.environ.get("AUTOTASK_SYNC_EVERY_MINUTES", DEFAULT_EVERY_MINUTES)
    try:
        minutes = int(raw)
    except (TypeError, ValueError):
        raise ConfigurationError(f"AUTOTASK_SYNC_EVERY_MINUTES must be whole minutes, not {raw!r}") from None
    if minutes <= 0 or (minutes < 60 and 60 % minutes) or (minutes >= 60 and minutes % 60):
        raise ConfigurationError(
            f"AUTOTASK_SYNC_EVERY_MINUTES={minutes}: use a divisor of 60 (1, 2, 5, 10, 15, 20, "
            "30) or whole hours (60, 120, ...), so runs fall on the same minutes every hour."
        )
    if minutes < 60:
        return f"*/{minutes} * * * *"
    hours = minutes // 60
    return "0 * * * *" if hours == 1 else f"0 */{hours} * * *"


def sync_run_request(
    tenant: str,
    group: StreamGroup,
    *,
    mode: str | None = None,
    extra_tags: dict[str, str] | None = None,
    run_key: str | None = None,
    job_name: str | None = None,
) -> RunRequest:
    run_config = {"ops": {f"autotask_{group.name}": {"config": {"mode": mode}}}} if mode else {}
    return RunRequest(
        run_key=run_key,
        partition_key=tenant,
        run_config=run_config,
        tags={SYNC_TAG: f"{tenant}.{group.name}", "autotask/stream_group": group.name, **(extra_tags or {})},
        job_name=job_name,
    )


def _tenants(context: ScheduleEvaluationContext) -> list[str]:
    return list(TENANTS.get_partition_keys(dynamic_partitions_store=context.instance))


def _incremental(group: StreamGroup) -> ScheduleDefinition:
    @schedule(
        name=f"autotask_{group.name}_incremental",
        job=SYNC_JOBS[group.name],
        cron_schedule=incremental_cron(),
        default_status=DefaultScheduleStatus.RUNNING,
        description=f"Incremental sync of {group.description.lower()} for every tenant.",
    )
    def _schedule(context: ScheduleEvaluationContext) -> Iterator[RunRequest]:
        stamp = context.scheduled_execution_time.isoformat()
        for tenant in _tenants(context):
            yield sync_run_request(tenant, group, run_key=f"{tenant}:{stamp}")

    return _schedule


def _reconcile(group: StreamGroup, index: int) -> ScheduleDefinition:
    @schedule(
        name=f"autotask_{group.name}_reconcile",
        job=SYNC_JOBS[group.name],
        cron_schedule=f"{(index * 10) % 60} {RECONCILE_HOUR + index * 10 // 60} * * *",
        default_status=DefaultScheduleStatus.RUNNING,
        description=f"Nightly full id re-read of {group.description.lower()}: rows "
        "deleted in Autotask are marked deleted in the destination.",
    )
    def _schedule(context: ScheduleEvaluationContext) -> Iterator[RunRequest]:
        stamp = context.scheduled_execution_time.isoformat()
        for tenant in _tenants(context):
            yield sync_run_request(tenant, group, mode=RECONCILE, run_key=f"{tenant}:reconcile:{stamp}")

    return _schedule


health_schedule = ScheduleDefinition(
    name="autotask_health_check",
    job=health_check_job,
    cron_schedule="*/30 * * * *",
    default_status=DefaultScheduleStatus.RUNNING,
    description="Health of every tenant every 30 minutes.",
)

SCHEDULES: list[ScheduleDefinition] = [
    *(_incremental(group) for group in GROUPS),
    *(_reconcile(group, i) for i, group in enumerate(GROUPS)),
    health_schedule,
]
