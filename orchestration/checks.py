"""Asset checks per stream group and tenant: freshness, count parity, API budget headroom.

- freshness: minutes since the group's state was last committed against the group's limit;
  a stream that has no bookmark at all fails.
- count parity: rows loaded (not marked deleted) against the API's `query/count`. Rows changed
  after the bookmark may be new and not loaded yet, so the check passes when
  `count - count(changed since bookmark) <= loaded <= count`. Fewer is rows lost (error); more
  is deletions the next reconciliation will mark (warning). A SQL destination counts its table;
  a files destination the ids of the stream's files in its manifest (`file_rows`).
- budget headroom: ThresholdInformation's use of the hourly limit below the tenant's share.
"""

import warnings
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetKey,
    multi_asset_check,
)

from sdk_core.catalog import load_catalog

from .executors import step_tags
from .file_rows import loaded_file_rows
from .groups import GROUPS, StreamGroup
from .partitions import TENANTS
from .resources import StateStoreResource, TenantsResource
from .tenants import Tenant, is_sql_url

__all__ = ["CHECKS", "checks_for", "freshness_result", "parity_result", "budget_result", "destination_rows"]

# A check spends a few requests and must report a tenant over its share, not wait for it.
_CHECK_CLIENT = {"max_api_share": 1.0, "max_budget_wait": 0}
FRESHNESS = "freshness"
PARITY = "count_parity"
BUDGET = "api_budget_headroom"


def _entity_of(stream: str) -> Any:
    for entity in load_catalog().queryable():
        if entity.stream_name == stream:
            return entity
    return None


def freshness_result(
    key: AssetKey, stream: str, state: dict[str, Any], updated_at: datetime | None, limit_minutes: float
) -> AssetCheckResult:
    bookmark = state.get("bookmarks", {}).get(stream)
    if not bookmark or updated_at is None:
        return AssetCheckResult(
            asset_key=key,
            check_name=FRESHNESS,
            passed=False,
            description="never synced: no bookmark for this stream",
            metadata={"limit_minutes": limit_minutes},
        )
    age = (datetime.now(UTC) - updated_at).total_seconds() / 60
    return AssetCheckResult(
        asset_key=key,
        check_name=FRESHNESS,
        passed=age <= limit_minutes,
        description=(f"bookmark committed {age:.1f} min ago (limit {limit_minutes:g})"),
        metadata={
            "age_minutes": round(age, 2),
            "limit_minutes": limit_minutes,
            "bookmark": str(bookmark.get("replication_key_value") or ""),
        },
    )


def loaded_rows(destination: str, schema: str | None, table: str) -> int | None:
    """Rows not marked deleted in the destination table; None when the table is missing."""
    engine = sa.create_engine(destination)
    try:
        inspector = sa.inspect(engine)
        if not inspector.has_table(table, schema=schema):
            return None
        columns = {c["name"] for c in inspector.get_columns(table, schema=schema)}
        t = sa.table(table, *(sa.column(c) for c in columns), schema=schema)
        query = sa.select(sa.func.count()).select_from(t)
        if "_sdc_deleted_at" in columns:
            query = query.where(t.c["_sdc_deleted_at"].is_(None))
        with engine.connect() as conn:
            return int(conn.execute(query).scalar() or 0)
    finally:
        engine.dispose()


def destination_rows(tenant: Tenant, stream: str) -> int | None:
    """Rows of the stream in the tenant's destination (None: no table or files for it)."""
    destination = tenant.require_destination()
    if is_sql_url(destination):
        return loaded_rows(destination, tenant.schema, stream)
    return loaded_file_rows(Path(destination).expanduser() / tenant.name, stream)


def parity_result(
    key: AssetKey, stream: str, tenant: Tenant, client: Any, state: dict[str, Any]
) -> AssetCheckResult:
    entity = _entity_of(stream)
    if entity is None:
        return AssetCheckResult(
            asset_key=key, check_name=PARITY, passed=True, description="not checked (no API count)"
        )
    loaded = destination_rows(tenant, stream)
    total = client.entity(entity.name).count()
    bookmark = state.get("bookmarks", {}).get(stream, {})
    key_field, since = bookmark.get("replication_key"), bookmark.get("replication_key_value")
    changed = 0
    if key_field and since:
        changed = client.entity(entity.name).count([{"op": "gt", "field": key_field, "value": since}])
    metadata = {
        "api_count": total,
        "loaded": -1 if loaded is None else loaded,
        "changed_since_bookmark": changed,
    }
    if loaded is None:
        return AssetCheckResult(
            asset_key=key,
            check_name=PARITY,
            passed=False,
            description="no table or files of this stream in the destination",
            metadata=metadata,
        )
    if loaded < total - changed:
        return AssetCheckResult(
            asset_key=key,
            check_name=PARITY,
            passed=False,
            metadata=metadata,
            description=f"{total - changed - loaded} rows missing: the API counts {total}, "
            f"{changed} changed after the bookmark, {loaded} loaded",
        )
    if loaded > total:
        return AssetCheckResult(
            asset_key=key,
            check_name=PARITY,
            passed=False,
            severity=AssetCheckSeverity.WARN,
            metadata=metadata,
            description=f"{loaded - total} loaded rows no longer in the API: "
            "deletions the next reconciliation (nightly) will mark",
        )
    return AssetCheckResult(
        asset_key=key,
        check_name=PARITY,
        passed=True,
        metadata=metadata,
        description=f"{loaded} loaded, API {total} ({changed} changed since)",
    )


def budget_result(key: AssetKey, tenant: Tenant, client: Any) -> AssetCheckResult:
    info = client.threshold()
    limit, used = int(info.get("limit") or 0), int(info.get("used") or 0)
    share = used / limit if limit else 1.0
    return AssetCheckResult(
        asset_key=key,
        check_name=BUDGET,
        passed=share < tenant.max_api_share,
        description=f"{used} of {limit} requests used this hour ({share:.0%}); this tenant "
        f"allows {tenant.max_api_share:.0%}",
        metadata={
            "used": used,
            "limit": limit,
            "share_used": round(share, 4),
            "share_allowed": tenant.max_api_share,
        },
    )


def checks_for(group: StreamGroup) -> AssetChecksDefinition:
    keys = {stream: AssetKey(["autotask", stream]) for stream in group.streams}
    parity_streams = [s for s in group.streams if _entity_of(s) is not None]
    first = keys[group.streams[0]]
    with warnings.catch_warnings():  # partitioned checks are a Dagster "preview" feature
        warnings.simplefilter("ignore")
        specs = [
            AssetCheckSpec(
                FRESHNESS,
                asset=keys[s],
                partitions_def=TENANTS,
                description=f"Bookmark younger than {group.freshness_minutes:g} min",
            )
            for s in group.streams
        ]
        specs += [
            AssetCheckSpec(
                PARITY,
                asset=keys[s],
                partitions_def=TENANTS,
                description="Loaded rows match the API's query/count",
            )
            for s in parity_streams
        ]
        specs.append(
            AssetCheckSpec(
                BUDGET,
                asset=first,
                partitions_def=TENANTS,
                description="Tenant's hourly API use below its allowed share",
            )
        )

    @multi_asset_check(
        name=f"autotask_{group.name}_checks", specs=specs, can_subset=True, op_tags=step_tags()
    )
    def _checks(
        context: AssetCheckExecutionContext, tenants: TenantsResource, state_store: StateStoreResource
    ) -> Iterator[AssetCheckResult]:
        tenant = tenants.get(context.partition_key)
        selected = {(k.asset_key, k.name) for k in context.selected_asset_check_keys}
        store = state_store.open(tenant)
        try:
            bookmark = store.load(tenant.name, group.name)
        finally:
            store.close()
        client = None
        try:
            for stream, key in keys.items():
                if (key, FRESHNESS) in selected:
                    yield freshness_result(
                        key, stream, bookmark.state, bookmark.updated_at, group.freshness_minutes
                    )
            for stream in parity_streams:
                if (keys[stream], PARITY) in selected:
                    client = client or tenants.client(tenant.name, **_CHECK_CLIENT)
                    yield parity_result(keys[stream], stream, tenant, client, bookmark.state)
            if (first, BUDGET) in selected:
                client = client or tenants.client(tenant.name, **_CHECK_CLIENT)
                yield budget_result(first, tenant, client)
        finally:
            if client is not None:
                client.close()

    return _checks


CHECKS: list[AssetChecksDefinition] = [checks_for(group) for group in GROUPS]
