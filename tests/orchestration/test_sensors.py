"""Sensors ticked with build_sensor_context against a real SQLite webhook event store."""

from __future__ import annotations

import json
from typing import Any

from dagster import (
    DagsterEvent,
    DagsterEventType,
    DagsterRunStatus,
    RunRequest,
    build_run_status_sensor_context,
    build_sensor_context,
)
from dagster._core.test_utils import create_run_for_test

from orchestration.notifiers import FailureNotifier
from orchestration.resources import WebhookStoreResource
from orchestration.sensors import tenant_partitions_sensor, webhook_ack_sensor, webhook_sensor
from orchestration.webhook_batches import CONSUMER, MAX_SEQ_TAG, REQUEST_TAG

from .conftest import add_partitions, put_events


def _tick(instance, store_url: str, cursor: str | None) -> Any:
    context = build_sensor_context(
        instance=instance, cursor=cursor, resources={"webhook_store": WebhookStoreResource(url=store_url)}
    )
    return webhook_sensor(context)


def _record_run(instance, request: RunRequest, status: DagsterRunStatus) -> Any:
    """The run Dagster would have created for the request, in the given status."""
    tags = {**request.tags, "dagster/partition": request.partition_key}
    return create_run_for_test(instance, job_name=request.job_name, tags=tags, status=status)


def test_a_burst_is_one_run_per_tenant_and_group_and_acked_only_after_success(
    instance, event_store, tenants_env
):
    url, store = event_store
    tenants_env({"default": {}, "acme": {}})
    add_partitions(instance, "default", "acme")
    put_events(store, "default", "Ticket", list(range(1, 1001)))
    put_events(store, "default", "TicketNote", [5, 6])
    put_events(store, "acme", "Company", [7])
    put_events(store, "ghost", "Ticket", [8])  # no such tenant: left for later, never acked

    result = _tick(instance, url, None)
    requests = {(r.partition_key, r.job_name): r for r in result.run_requests}
    assert set(requests) == {
        ("default", "autotask_tickets_webhook_sync"),
        ("acme", "autotask_companies_webhook_sync"),
    }
    tickets = requests[("default", "autotask_tickets_webhook_sync")]
    assert tickets.tags["autotask/sync"] == "default.tickets"
    assert tickets.tags["autotask/webhook_events"] == "1002"

    # The run is queued: newer events wait for it (coalesced into the next run).
    run = _record_run(instance, tickets, DagsterRunStatus.STARTED)
    _record_run(instance, requests[("acme", "autotask_companies_webhook_sync")], DagsterRunStatus.STARTED)
    put_events(store, "default", "Ticket", [2000, 2001])
    second = _tick(instance, url, result.cursor)
    assert second.run_requests == []
    assert len(store.unacked(CONSUMER, tenant="default", limit=5000)) == 1004  # none acked

    # It succeeded: the success sensor acks what it covered; the two newer events remain.
    instance.handle_run_event(
        run.run_id, DagsterEvent(event_type_value=DagsterEventType.RUN_SUCCESS.value, job_name=run.job_name)
    )
    finished = instance.get_run_by_id(run.run_id)
    assert finished.status == DagsterRunStatus.SUCCESS
    ack_context = build_run_status_sensor_context(
        sensor_name="autotask_webhook_ack_sensor",
        dagster_instance=instance,
        dagster_run=finished,
        dagster_event=DagsterEvent(
            event_type_value=DagsterEventType.RUN_SUCCESS.value, job_name=run.job_name
        ),
        resources={"webhook_store": WebhookStoreResource(url=url)},
    )
    webhook_ack_sensor(ack_context)
    left = store.unacked(CONSUMER, tenant="default")
    assert sorted(e.id for e in left) == [2000, 2001]

    # A restarted Dagster (same stored cursor) requests exactly one run for the rest.
    third = _tick(instance, url, second.cursor)
    assert [(r.partition_key, r.tags["autotask/webhook_events"]) for r in third.run_requests] == [
        ("default", "2")
    ]
    assert int(third.run_requests[0].tags[MAX_SEQ_TAG]) == max(e.seq for e in left)
    assert [e.tenant for e in store.unacked(CONSUMER, tenant="ghost")] == ["ghost"]


def test_failed_run_is_requested_again_and_nothing_is_acked(instance, event_store, tenants_env, monkeypatch):
    url, store = event_store
    tenants_env({"default": {}})
    add_partitions(instance, "default")
    put_events(store, "default", "Ticket", [1, 2, 3])
    first = _tick(instance, url, None)
    (request,) = first.run_requests
    _record_run(instance, request, DagsterRunStatus.FAILURE)
    monkeypatch.setattr("orchestration.webhook_batches.RETRY_FAILED_AFTER", 0.0)
    again = _tick(instance, url, first.cursor)
    (retry,) = again.run_requests
    assert retry.tags[REQUEST_TAG] != request.tags[REQUEST_TAG]
    assert len(store.unacked(CONSUMER, tenant="default")) == 3
    assert json.loads(again.cursor)["pending"]["default.tickets"]["request"] == retry.tags[REQUEST_TAG]


def test_without_a_store_the_sensor_skips(instance, tenants_env):
    tenants_env({"default": {}})
    context = build_sensor_context(instance=instance, resources={"webhook_store": WebhookStoreResource()})
    result = webhook_sensor(context)
    assert "AUTOTASK_WEBHOOK_STORE" in result.skip_message


def test_tenant_partitions_follow_the_tenants_file(instance, tenants_env):
    tenants_env({"acme": {}, "globex": {}})
    add_partitions(instance, "acme")
    result = tenant_partitions_sensor(build_sensor_context(instance=instance))
    (request,) = result.dynamic_partitions_requests
    assert list(request.partition_keys) == ["globex"]


class RecordingNotifier(FailureNotifier):
    def notify(self, subject: str, details: dict) -> None:
        sent.append((subject, details))


sent: list = []


def test_failure_sensor_reports_through_the_notifier(instance):
    from dagster import build_run_status_sensor_context as build

    from orchestration.sensors import failure_sensor

    run = create_run_for_test(
        instance,
        job_name="autotask_tickets_sync",
        tags={"dagster/partition": "acme", "autotask/stream_group": "tickets"},
        status=DagsterRunStatus.FAILURE,
    )
    event = DagsterEvent(
        event_type_value=DagsterEventType.RUN_FAILURE.value,
        job_name=run.job_name,
        message="tap-autotask exited with code 1",
    )
    context = build(
        sensor_name="autotask_run_failure_sensor",
        dagster_instance=instance,
        dagster_run=run,
        dagster_event=event,
        resources={"notifier": RecordingNotifier()},
    ).for_run_failure()
    sent.clear()
    failure_sensor(context)
    ((subject, details),) = sent
    assert "autotask_tickets_sync failed" in subject
    assert details["tenant"] == "acme" and "exited with code 1" in details["error"]
