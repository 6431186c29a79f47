"""The health-check job: per tenant, sdk_core's HealthMonitor report plus the webhook side.

`sdk_core.HealthMonitor(client).check_all()` probes zone, authentication, threshold use and
headroom, latency percentiles and version (and the event store's handler backlog when a
webhook store is configured). To it this job adds the webhook receiver's liveness
(`GET /webhooks/_status` of `AUTOTASK_WEBHOOK_RECEIVER_URL`, when set) and the events the
Dagster sensor has not synced yet. A tenant is unhealthy when any check fails.
"""

from typing import Any

import httpx
from dagster import Failure, MetadataValue, OpExecutionContext, Output, job, op

from sdk_core import HealthMonitor
from sdk_core.health import Check

from .executors import step_tags
from .resources import TenantsResource, WebhookStoreResource

__all__ = ["health_check_job", "tenant_health", "receiver_check"]

RECEIVER_TIMEOUT = 10.0


def receiver_check(url: str) -> Check:
    """The receiver answers its status route: up since when, its counters and backlog."""
    status_url = url.rstrip("/").removesuffix("/webhooks") + "/webhooks/_status"
    try:
        response = httpx.get(status_url, timeout=RECEIVER_TIMEOUT)
        response.raise_for_status()
        status = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        return Check("webhook_receiver", "fail", f"{status_url} does not answer: {exc}", {"url": status_url})
    return Check(
        "webhook_receiver",
        "ok",
        f"up since {status.get('up_since')}; {status.get('backlog')} events waiting for handlers",
        {
            "url": status_url,
            "up_since": status.get("up_since"),
            "backlog": status.get("backlog"),
            "counters": status.get("counters") or {},
        },
    )


def tenant_health(tenants: TenantsResource, webhook_store: WebhookStoreResource, name: str) -> dict[str, Any]:
    """One tenant's report as a dict (`HealthReport.to_dict()` plus the webhook figures)."""
    store = webhook_store.open() if webhook_store.configured_url() else None
    try:
        with tenants.client(name) as client:
            report = HealthMonitor(client, webhook_store=store, tenant=name).check_all()
        receiver = webhook_store.receiver()
        if receiver:
            report.checks.append(receiver_check(receiver))
        out = report.to_dict()
        if store is not None:
            out["webhook_backlog"] = store.backlog(tenant=name)
            out["webhook_unsynced"] = len(store.unacked("dagster", tenant=name, limit=10000))
        return out
    finally:
        if store is not None:
            store.close()


def _summary(report: dict[str, Any]) -> str:
    if "checks" not in report:
        return f"FAIL: {report.get('error')}"
    failed = [c["name"] for c in report["checks"] if c["status"] == "fail"]
    return f"{report['status'].upper()}" + (f" ({', '.join(failed)})" if failed else "")


@op(
    description="Health of every tenant: zone, authentication, threshold use and headroom, "
    "latency, version, webhook receiver and backlog. Fails when a tenant is unhealthy.",
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
        context.log.info(f"{name}: {_summary(reports[name])}")
    unhealthy = [name for name, report in reports.items() if not report["ok"]]
    metadata: dict[str, Any] = {}
    for name, report in reports.items():
        metadata[f"{name}_status"] = MetadataValue.text(_summary(report))
        metadata[name] = MetadataValue.json(report)
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
