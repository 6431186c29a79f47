"""The health job on sdk_core's HealthMonitor against the sandbox, with a real webhook receiver
and event store: every figure in the op's output, and not ok when the tenant's threshold use
is past the latency band or the receiver is down."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from dagster import DagsterInstance

from orchestration.health import health_check_job
from orchestration.resources import TenantsResource, WebhookStoreResource
from sdk_core import AutotaskClient

from .conftest import put_events, sandbox_tenant

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def receiver(event_store, tmp_path) -> Iterator[tuple[str, subprocess.Popen]]:
    """`autotask webhooks serve` on the event store: (base URL, process)."""
    url, _ = event_store
    process = subprocess.Popen(
        [sys.executable, "-c", "from sdk_core.cli import main; main()", "webhooks", "serve"]
        + ["--host", "127.0.0.1", "--port", "0", "--store", url],
        cwd=tmp_path,
        env={**os.environ, "AUTOTASK_WEBHOOK_SECRET": "health-test-secret", "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=open(tmp_path / "receiver.log", "w"),
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    assert "webhook receiver on http://" in line, (tmp_path / "receiver.log").read_text()
    port = int(line.split("http://127.0.0.1:")[1].split("/")[0])
    yield f"http://127.0.0.1:{port}", process
    process.kill()
    process.wait(10)
    process.stdout.close()


def _run() -> Any:
    with DagsterInstance.ephemeral() as instance:
        return health_check_job.execute_in_process(
            resources={"tenants": TenantsResource(), "webhook_store": WebhookStoreResource()},
            instance=instance,
            raise_on_error=False,
        )


def _checks(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {check["name"]: check for check in report["checks"]}


def test_health_job_reports_every_figure_and_fails_when_unhealthy(
    sandbox_factory, tenants_env, tmp_path, event_store, receiver, monkeypatch
):
    server = sandbox_factory()
    store_url, store = event_store
    receiver_url, process = receiver
    tenants_env({"default": sandbox_tenant(server, f"sqlite:///{tmp_path / 'w.sqlite'}")})
    monkeypatch.setenv("AUTOTASK_WEBHOOK_STORE", store_url)
    monkeypatch.setenv("AUTOTASK_WEBHOOK_RECEIVER_URL", receiver_url)
    put_events(store, "default", "Ticket", [11, 12, 13])

    healthy = _run()
    assert healthy.success
    report = healthy.output_for_node("autotask_health")["default"]
    assert report["ok"] is True and report["status"] in ("ok", "warn")
    checks = _checks(report)
    assert checks["zone"]["value"]["root"] == server.api_url
    assert checks["authentication"]["value"] == {"authenticated": True}
    threshold = checks["threshold"]["value"]
    assert threshold["limit"] == 10000 and threshold["headroom"] == 5000 - threshold["used"]
    assert {"p50_ms", "p95_ms", "p99_ms"} <= set(checks["latency"]["value"])
    assert checks["latency"]["value"]["count"] >= 2  # ThresholdInformation and Version
    assert checks["version"]["value"]["autotask"]["majorVersion"]
    assert checks["webhook_backlog"]["value"]["backlog"] == store.backlog(tenant="default")
    receiver_check = checks["webhook_receiver"]
    assert receiver_check["status"] == "ok" and receiver_check["value"]["up_since"]
    assert report["webhook_unsynced"] == 3  # stored, not yet synced by a sensor run
    metadata = healthy.asset_materializations_for_node("autotask_health")  # none: a job op
    assert metadata == []
    (output,) = [e for e in healthy.all_events if e.event_type_value == "STEP_OUTPUT"]
    assert output.event_specific_data.metadata["default_status"].value.startswith(report["status"].upper())

    # Budget low: the tenant's hourly use past half its threshold (Autotask's latency band).
    with AutotaskClient(**server.credentials, cache_dir=str(tmp_path / "sdk")) as client:
        used = client.threshold()["used"]
    server.admin.configure(threshold=used + 4)
    process.kill()  # and the receiver gone
    process.wait(10)
    unhealthy = _run()
    assert not unhealthy.success
    (failure,) = [e for e in unhealthy.all_events if e.event_type_value == "STEP_FAILURE"]
    data = failure.step_failure_data.user_failure_data
    assert "Unhealthy tenants: default" in data.description
    report = data.metadata["default"].value
    checks = _checks(report)
    assert report["ok"] is False
    assert checks["threshold"]["status"] == "fail" and checks["threshold"]["value"]["headroom"] < 0
    assert checks["webhook_receiver"]["status"] == "fail"
    assert server.secret not in str(report) and server.integration_code not in str(report)
