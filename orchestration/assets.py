"""One multi-asset per stream group, partitioned by tenant: `tap-autotask | target` per run.

Asset keys are `["autotask", <stream>]` with the tap's stream names. A subset (one stream of a
group) runs only that stream; its bookmarks merge into the group's stored state.
"""

from collections.abc import Iterator

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    AssetSpec,
    Backoff,
    Config,
    Jitter,
    MaterializeResult,
    MetadataValue,
    RetryPolicy,
    multi_asset,
)
from pydantic import Field

from .executors import step_tags
from .groups import GROUPS, StreamGroup
from .partitions import TENANTS
from .resources import SingerPipelineResource, StateStoreResource, TenantsResource
from .state_store import LeaseHeldError
from .sync import INCREMENTAL, RECONCILE, sync_group

__all__ = ["SYNC_ASSETS", "SyncConfig", "SYNC_RETRY", "sync_assets_for", "SYNC_TAG"]

# API and process failures are usually transient (429 storms, a network blip, a lease held by
# a run that is finishing): retry with exponential backoff and jitter so tenants do not
# retry in lockstep.
SYNC_RETRY = RetryPolicy(max_retries=3, delay=30, backoff=Backoff.EXPONENTIAL, jitter=Jitter.PLUS_MINUS)
# Run tag whose value is "<tenant>.<group>": dagster.yaml limits it to one run per value.
SYNC_TAG = "autotask/sync"
LEASE_WAIT_SECONDS = 60.0


class SyncConfig(Config):
    mode: str = Field(
        default=INCREMENTAL,
        description="`incremental`, or `reconcile` for a "
        "full id re-read that finds deleted rows (the nightly schedule).",
    )


def _bookmark(state: dict, stream: str) -> str | None:
    bookmark = state.get("bookmarks", {}).get(stream, {})
    return bookmark.get("replication_key_value") or bookmark.get("last_reconciled")


def sync_assets_for(group: StreamGroup) -> AssetsDefinition:
    specs = [
        AssetSpec(
            AssetKey(["autotask", stream]),
            group_name=f"autotask_{group.name}",
            description=f"Autotask `{stream}` ({group.description})",
            partitions_def=TENANTS,
            kinds={"autotask", "singer"},
            tags={"autotask/stream_group": group.name},
        )
        for stream in group.streams
    ]

    @multi_asset(
        name=f"autotask_{group.name}",
        specs=specs,
        can_subset=True,
        retry_policy=SYNC_RETRY,
        partitions_def=TENANTS,
        op_tags={"autotask/stream_group": group.name, **step_tags()},
        description=f"Syncs {group.description.lower()} with tap-autotask into the tenant's destination.",
    )
    def _sync(
        context: AssetExecutionContext,
        config: SyncConfig,
        tenants: TenantsResource,
        state_store: StateStoreResource,
        pipeline: SingerPipelineResource,
    ) -> Iterator[MaterializeResult]:
        if config.mode not in (INCREMENTAL, RECONCILE):
            raise ValueError(f"mode must be {INCREMENTAL!r} or {RECONCILE!r}, not {config.mode!r}")
        tenant = tenants.get(context.partition_key)
        streams = [key.path[-1] for key in context.selected_asset_keys]
        streams = [s for s in group.streams if s in streams]
        store = state_store.open(tenant)

        def log(level: str, message: str) -> None:
            {
                "DEBUG": context.log.debug,
                "WARNING": context.log.warning,
                "ERROR": context.log.error,
                "CRITICAL": context.log.error,
            }.get(level, context.log.info)(message)

        try:
            result = sync_group(
                tenant,
                group,
                streams=streams,
                mode=config.mode,
                pipeline=pipeline,
                store=store,
                owner=context.run.run_id,
                log=log,
                lease_wait=LEASE_WAIT_SECONDS,
            )
        except LeaseHeldError as exc:
            context.log.warning(str(exc))
            raise
        finally:
            store.close()
        context.log.info(
            f"{tenant.name}/{group.name}: {sum(result.records.values())} records, "
            f"{result.total_requests} API requests, {result.seconds:.1f} s, "
            f"{result.cpu_seconds:.2f} CPU-s (tap and target)"
        )
        for stream in streams:
            yield MaterializeResult(
                asset_key=AssetKey(["autotask", stream]),
                metadata={
                    "rows": MetadataValue.int(result.records.get(stream, 0)),
                    "api_requests": MetadataValue.int(result.requests.get(stream, 0)),
                    "api_requests_by_endpoint": MetadataValue.json(
                        {e: n for (s, e), n in sorted(result.endpoints.items()) if s == stream}
                    ),
                    "api_requests_run": MetadataValue.int(result.total_requests),
                    "bookmark": MetadataValue.text(str(_bookmark(result.state, stream) or "")),
                    "mode": MetadataValue.text(config.mode),
                    "seconds": MetadataValue.float(round(result.seconds, 2)),
                    "cpu_seconds": MetadataValue.float(round(result.cpu_seconds, 2)),
                },
            )

    return _sync


SYNC_ASSETS: list[AssetsDefinition] = [sync_assets_for(group) for group in GROUPS]
