"""The health-check job: per tenant, sdk_core's HealthMonitor report plus the webhook backlog.

`sdk_core.HealthMonitor(client).check_all()` probes zone, authentication, threshold use and
headroom, latency percentiles and version. Until it is in the installed sdk_core, a small
report from `client.threshold()` stands in (same `.ok` / `.to_dict()` surface).
"""

import time
from typing import Any

from dagster import Failure, MetadataValue, OpExecutionContext, Output, job, op

from .executors import step_tags
from .resources import TenantsResource, WebhookStoreResource

__all__ = ["health_check_job", "tenant_health"]


class _ThresholdReport:
    """Stand-in report: authentication, zone and threshold use, from one request."""

    def __init__(self, client: Any):
        started = time.perf_counter()
        try:
            info = client.threshold()
            self._data = {
                "ok": True,
                "status": "ok",
                "threshold": info,
                "latency_ms": round((time.perf_counter() - started) * 1000, 1),
                "api_url": getattr(client, "root", None),
            }
        except Exception as exc:
            self._data = {"ok": False, "status": "fail", "error": f"{type(exc).__name__}: {exc}"}

    @property
    def ok(self) -> bool:
        return bool(self._data["ok"])

    def to_dict(self) -> dict[str, Any]:
        return dict(self._data)


def _report(client: Any, tenant: str, store: Any) -> Any:
    try:
        from sdk_core import HealthMonitor
    except ImportError:
        return _ThresholdReport(client)
    return HealthMonitor(client, webhook_store=store, tenant=tenant).check_all()


def tenant_health(tenants: TenantsResource, webhook_store: WebhookStoreResource, name: str) -> dict[str, Any]:
    """One tenant's report as a dict, with the webhook store's backlog when one is configured."""
    store = webhook_store.open() if webhook_store.configured_url() else None
    try:
        client = tenants.client(name)
        try:
            report = _report(client, name, store)
        finally:
            client.close()
        out = report.to_dict()
        out["ok"] = report.ok
        if store is not None:
            out["webhook_backlog"] = store.backlog(tenant=name)
            out["webhook_unsynced"] = len(store.unacked("dagster", tenant=name, limit=10000))
        return out
    finally:
        if store is not None:
            store.close()


@op(
    description="Health of every tenant: zone, authentication, threshold use and headroom, "
    "latency, version, webhook backlog. Fails when a tenant is unhealthy.",
    tags=step_tags(),
)
def autotask_health(
    context: OpExecutionContext, tenants: TenantsResource, webhook_store: WebhookStoreResource
) -> Output[dict]:
    reports: dict[str, Any] = {}
    for name in tenants.names():
        try:
            reports[name] = tenant_health(tenants, webhook_store, name)
        except Exception as exc:
            reports[name] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        context.log.info(f"{name}: {'OK' if reports[name]['ok'] else 'UNHEALTHY'}")
    unhealthy = [name for name, report in reports.items() if not report["ok"]]
    metadata = {name: MetadataValue.json(report) for name, report in reports.items()}
    if unhealthy:
        context.log.error(f"Unhealthy tenants: {', '.join(unhealthy)}")
        raise Failure(
            description=f"Unhealthy tenants: {', '.join(unhealthy)}; their reports "
            "are in this failure's metadata.",
            metadata=metadata,
        )
    return Output(reports, metadata=metadata)


@job(description="Health check of every configured tenant.", tags={"autotask/job": "health"})
def health_check_job() -> None:
    autotask_health()
