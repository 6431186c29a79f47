"""One sync of one tenant's stream group: configs for the processes, lease, state, result.

Kept apart from Dagster's decorators so the benchmark and tests can call it directly; the
assets module only turns its result into materializations.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .groups import StreamGroup
from .resources import SingerPipelineResource
from .singer_run import Masker, RunResult, SingerCommand, run_pipeline
from .state_store import StateStore, holder_name
from .tenants import Tenant, is_sql_url

__all__ = ["sync_group", "INCREMENTAL", "RECONCILE", "tap_config", "target_config"]

INCREMENTAL = "incremental"
RECONCILE = "reconcile"
# Hours: "every full re-read is due now". 0 would mean never (the tap's own convention).
_RECONCILE_NOW = 1e-6
# Renewed every 30 s while the run lives; a holder lost with its machine frees it after this.
LEASE_SECONDS = 180.0


def tap_config(
    tenant: Tenant, group: StreamGroup, streams: list[str], pipeline: SingerPipelineResource, mode: str
) -> dict[str, Any]:
    """tap-autotask settings (see its README): only this group's streams are discovered."""
    tenant.require_credentials()
    config: dict[str, Any] = {
        "username": tenant.username,
        "secret": tenant.secret,
        "integration_code": tenant.integration_code,
        "include_streams": streams,
        "lookback_minutes": pipeline.lookback_minutes,
        "max_api_share": tenant.max_api_share,
        "metadata_source": pipeline.metadata_source,
        # Incremental runs never turn into full scans; the nightly job reconciles deletions.
        "reconcile_deletes_every": _RECONCILE_NOW if mode == RECONCILE else 0,
    }
    for key in ("api_url", "zone_lookup_url", "redis_url", "impersonation_resource_id"):
        value = getattr(tenant, key)
        if value:
            config[key] = value
    if pipeline.start_date:
        config["start_date"] = pipeline.start_date
    if group.picklist_entities and "picklist_values" in streams:
        config["picklist_entities"] = list(group.picklist_entities)
    return config


def target_config(tenant: Tenant, pipeline: SingerPipelineResource) -> dict[str, Any]:
    destination = tenant.require_destination()
    if is_sql_url(destination):
        config: dict[str, Any] = {"sqlalchemy_url": destination, "batch_size_rows": pipeline.batch_rows()}
        if tenant.schema:
            config["default_target_schema"] = tenant.schema
        return config
    folder = Path(destination).expanduser() / tenant.name
    folder.mkdir(parents=True, exist_ok=True)
    return {"format": tenant.files_format, "output_dir": str(folder)}


def sync_group(
    tenant: Tenant,
    group: StreamGroup,
    *,
    streams: list[str] | None = None,
    mode: str = INCREMENTAL,
    pipeline: SingerPipelineResource,
    store: StateStore,
    owner: str,
    log: Callable[[str, str], None] | None = None,
    lease_wait: float = 0,
) -> RunResult:
    """Run tap | target for the group's streams, holding the group's lease throughout."""
    streams = list(streams or group.streams)
    tap = SingerCommand(pipeline.tap(), tap_config(tenant, group, streams, pipeline, mode), "tap-autotask")
    target_exe, target_name = pipeline.target(tenant.require_destination())
    target = SingerCommand(target_exe, target_config(tenant, pipeline), target_name)
    logger = log or _default_log
    owner = holder_name(owner)
    gone = store.acquire(tenant.name, group.name, owner, ttl=LEASE_SECONDS, wait=lease_wait)
    if gone:
        logger(
            "WARNING",
            f"Took over the lease of {tenant.name}/{group.name} from {gone}, which no longer "
            "runs; resuming from its last committed state.",
        )
    try:
        state = store.load(tenant.name, group.name).state
        return run_pipeline(
            tap,
            target,
            state=state,
            on_state=lambda new: store.save(tenant.name, group.name, new),
            log=logger,
            mask=Masker(tenant.secrets()),
            heartbeat=lambda: store.renew(tenant.name, group.name, owner, ttl=LEASE_SECONDS),
        )
    finally:
        store.release(tenant.name, group.name, owner)


_fallback = logging.getLogger("orchestration.sync")


def _default_log(level: str, message: str) -> None:
    _fallback.log(getattr(logging, level, logging.INFO), message)
