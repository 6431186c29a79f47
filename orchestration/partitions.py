"""One partition per tenant: dynamic (added in the UI or by the tenants sensor), and always
including the tenants configured in the file or environment.

A plain `DynamicPartitionsDefinition` knows only the keys stored in the Dagster instance, so a
fresh instance (`dagster asset materialize --partition default` with no DAGSTER_HOME) would
refuse the configured tenants until a sensor had added them. This subclass answers "is this a
partition?" with the instance's keys plus the configured tenants; the UI and sensors still see
the instance's keys, which `tenant_partitions_sensor` keeps in step with the configuration.
"""

from __future__ import annotations

from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from datetime import datetime
from typing import Any

from dagster import DynamicPartitionsDefinition

from .tenants import load_tenants

__all__ = ["TENANTS", "TenantPartitions", "configured_tenant_names"]


def configured_tenant_names() -> list[str]:
    """Tenants of the file or environment; none when the configuration is broken (the runs
    report the error, loading the definitions must not)."""
    try:
        return [tenant.name for tenant in load_tenants()]
    except Exception:
        return []


class TenantPartitions(DynamicPartitionsDefinition):
    """Dynamic partitions named `autotask_tenants`, configured tenants always included."""

    def __new__(cls, name: str = "autotask_tenants") -> TenantPartitions:
        return super().__new__(cls, name=name)

    def get_partition_keys(
        self, current_time: datetime | None = None, dynamic_partitions_store: Any = None
    ) -> Sequence[str]:
        try:
            stored = list(super().get_partition_keys(current_time, dynamic_partitions_store))
        except Exception:
            stored = []
        return stored + [n for n in configured_tenant_names() if n not in stored]

    def has_partition_key(
        self, partition_key: str, current_time: datetime | None = None, dynamic_partitions_store: Any = None
    ) -> bool:
        if partition_key in configured_tenant_names():
            return True
        try:
            return super().has_partition_key(partition_key, current_time, dynamic_partitions_store)
        except Exception:
            return False

    def filter_valid_partition_keys(self, partition_keys: set[str]) -> AbstractSet[str]:
        configured = set(configured_tenant_names()) & partition_keys
        try:
            stored = set(super().filter_valid_partition_keys(partition_keys - configured))
        except Exception:
            stored = set()
        return configured | stored


TENANTS = TenantPartitions()
