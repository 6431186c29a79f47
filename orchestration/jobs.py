"""Asset jobs per stream group: the scheduled sync (with its checks) and the webhook sync.

The webhook job leaves the checks out: it runs within seconds of a change, and the checks
(API counts) belong to the scheduled runs.
"""

from __future__ import annotations

from typing import Any

from dagster import AssetSelection, define_asset_job

from .executors import webhook_executor
from .groups import GROUPS, StreamGroup

__all__ = ["SYNC_JOBS", "WEBHOOK_JOBS", "sync_job_name", "webhook_job_name", "ASSET_JOBS"]


def sync_job_name(group: StreamGroup) -> str:
    return f"autotask_{group.name}_sync"


def webhook_job_name(group: StreamGroup) -> str:
    return f"autotask_{group.name}_webhook_sync"


def _selection(group: StreamGroup) -> AssetSelection:
    return AssetSelection.assets(*group.asset_keys)


SYNC_JOBS: dict[str, Any] = {
    group.name: define_asset_job(
        sync_job_name(group),
        selection=_selection(group),
        description=f"Sync {group.description.lower()} and run their checks.",
        tags={"autotask/stream_group": group.name},
    )
    for group in GROUPS
}

WEBHOOK_JOBS: dict[str, Any] = {
    group.name: define_asset_job(
        webhook_job_name(group),
        selection=_selection(group).without_checks(),
        executor_def=webhook_executor(),
        tags={"autotask/stream_group": group.name, "autotask/trigger": "webhook"},
        description=f"Incremental sync of {group.description.lower()} started by webhooks.",
    )
    for group in GROUPS
    if group.webhook_entities
}

ASSET_JOBS = [*SYNC_JOBS.values(), *WEBHOOK_JOBS.values()]
