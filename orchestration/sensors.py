"""Sensors: webhook events to runs, acks on success, failure reports, tenant partitions."""

import time
import uuid
from typing import Any

from dagster import (
    DagsterRunStatus,
    DefaultSensorStatus,
    RunFailureSensorContext,
    RunsFilter,
    RunStatusSensorContext,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    run_failure_sensor,
    run_status_sensor,
    sensor,
)

from .groups import group_named
from .jobs import WEBHOOK_JOBS, webhook_job_name
from .notifiers import FailureNotifier
from .partitions import TENANTS, configured_tenant_names
from .resources import WebhookStoreResource
from .schedules import sync_run_request
from .webhook_batches import (
    CONSUMER,
    EVENTS_TAG,
    MAX_SEQ_TAG,
    REQUEST_TAG,
    RunState,
    WebhookCursor,
    ack_through,
    group_events,
    plan_batches,
)

__all__ = ["SENSORS", "webhook_sensor", "webhook_ack_sensor", "failure_sensor", "tenant_partitions_sensor"]

_FINISHED_FAILED = {DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED}
_IN_FLIGHT = {
    DagsterRunStatus.QUEUED,
    DagsterRunStatus.NOT_STARTED,
    DagsterRunStatus.STARTING,
    DagsterRunStatus.STARTED,
    DagsterRunStatus.CANCELING,
    DagsterRunStatus.MANAGED,
}
MAX_EVENTS_PER_TICK = 50_000


def _run_state(instance: Any, request_id: str) -> RunState:
    records = instance.get_run_records(RunsFilter(tags={REQUEST_TAG: request_id}), limit=1)
    if not records:
        return RunState(None)
    record = records[0]
    status = record.dagster_run.status
    if status in _IN_FLIGHT:
        return RunState("in_flight")
    finished = record.end_time or record.update_timestamp.timestamp()
    if status == DagsterRunStatus.SUCCESS:
        return RunState("success", finished)
    return RunState("failed", finished)


@sensor(
    name="autotask_webhook_sensor",
    jobs=list(WEBHOOK_JOBS.values()),
    minimum_interval_seconds=5,
    default_status=DefaultSensorStatus.RUNNING,
    description="Coalesces stored Autotask webhook events into one incremental run per "
    "tenant and stream group; events are acked only after that run succeeded.",
)
def webhook_sensor(
    context: SensorEvaluationContext, webhook_store: WebhookStoreResource
) -> SensorResult | SkipReason:
    if not webhook_store.configured_url():
        return SkipReason("No webhook event store configured (AUTOTASK_WEBHOOK_STORE).")
    cursor = WebhookCursor.parse(context.cursor)
    tenants = set(TENANTS.get_partition_keys(dynamic_partitions_store=context.instance))
    store = webhook_store.open()
    try:
        events: list[Any] = []
        after = 0
        while len(events) < MAX_EVENTS_PER_TICK:
            page = store.unacked(CONSUMER, after_seq=after, limit=5000)
            events.extend(page)
            if len(page) < 5000:
                break
            after = page[-1].seq
        batches = group_events(events, tenants, context.log.warning)
        to_request, acks = plan_batches(batches, cursor, lambda rid: _run_state(context.instance, rid))
        for batch, seq in acks:
            ack_through(store, batch.tenant, batch.group, seq)
    finally:
        store.close()
    requests = []
    now = time.time()
    for batch in to_request:
        request_id = f"{batch.key}.{batch.max_seq}.{uuid.uuid4().hex[:8]}"
        requests.append(
            sync_run_request(
                batch.tenant,
                batch.group,
                run_key=request_id,
                job_name=webhook_job_name(batch.group),
                extra_tags={
                    REQUEST_TAG: request_id,
                    MAX_SEQ_TAG: str(batch.max_seq),
                    EVENTS_TAG: str(len(batch.seqs)),
                },
            )
        )
        cursor.pending[batch.key] = {"seq": batch.max_seq, "request": request_id, "at": now}
        context.log.info(
            f"{len(batch.seqs)} webhook events -> one {batch.group.name} run for "
            f"{batch.tenant} (through seq {batch.max_seq})"
        )
    return SensorResult(run_requests=requests, cursor=cursor.dumps())


@run_status_sensor(
    name="autotask_webhook_ack_sensor",
    run_status=DagsterRunStatus.SUCCESS,
    monitored_jobs=list(WEBHOOK_JOBS.values()),
    minimum_interval_seconds=5,
    default_status=DefaultSensorStatus.RUNNING,
    description="Acks the webhook events a succeeded webhook run covered.",
)
def webhook_ack_sensor(context: RunStatusSensorContext, webhook_store: WebhookStoreResource) -> None:
    tags = context.dagster_run.tags
    max_seq = tags.get(MAX_SEQ_TAG)
    tenant = tags.get("dagster/partition")
    group_name = tags.get("autotask/stream_group")
    if not (max_seq and tenant and group_name and webhook_store.configured_url()):
        return
    store = webhook_store.open()
    try:
        acked = ack_through(store, tenant, group_named(group_name), int(max_seq))
    finally:
        store.close()
    context.log.info(f"acked {acked} webhook events of {tenant}/{group_name} through {max_seq}")


@run_failure_sensor(
    name="autotask_run_failure_sensor",
    monitor_all_code_locations=False,
    default_status=DefaultSensorStatus.RUNNING,
    description="Reports failed runs through the `notifier` resource.",
)
def failure_sensor(context: RunFailureSensorContext, notifier: FailureNotifier) -> None:
    run = context.dagster_run
    subject = f"Dagster run {run.run_id[:8]} of {run.job_name} failed"
    details = {
        "run_id": run.run_id,
        "job": run.job_name,
        "tenant": run.tags.get("dagster/partition"),
        "stream_group": run.tags.get("autotask/stream_group"),
        "error": context.failure_event.message,
    }
    notifier.notify(subject, details)
    context.log.info(subject)


@sensor(
    name="autotask_tenant_partitions_sensor",
    minimum_interval_seconds=60,
    default_status=DefaultSensorStatus.RUNNING,
    description="Adds a partition for every configured tenant (tenants file or "
    "environment); partitions added in the UI stay.",
)
def tenant_partitions_sensor(context: SensorEvaluationContext) -> SensorResult | SkipReason:
    stored = set(context.instance.get_dynamic_partitions(TENANTS.name or ""))
    missing = [name for name in configured_tenant_names() if name not in stored]
    if not missing:
        return SkipReason("every configured tenant has a partition")
    return SensorResult(dynamic_partitions_requests=[TENANTS.build_add_request(missing)])


SENSORS = [webhook_sensor, webhook_ack_sensor, failure_sensor, tenant_partitions_sensor]
