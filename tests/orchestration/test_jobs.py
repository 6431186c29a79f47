"""The health-check job and the bulk write job's validation, against the sandbox."""

from __future__ import annotations

import pytest
from dagster import DagsterInstance

from orchestration.bulk import bulk_write_job
from orchestration.health import health_check_job
from orchestration.resources import TenantsResource, WebhookStoreResource

from .conftest import sandbox_tenant


def test_health_job_reports_every_tenant_and_fails_naming_the_unhealthy(sandbox, tenants_env, tmp_path):
    good = sandbox_tenant(sandbox, f"sqlite:///{tmp_path / 'a.sqlite'}")
    bad = {**sandbox_tenant(sandbox, f"sqlite:///{tmp_path / 'b.sqlite'}"), "secret": "wrong-secret"}
    tenants_env({"acme": good})
    resources = {"tenants": TenantsResource(), "webhook_store": WebhookStoreResource()}
    with DagsterInstance.ephemeral() as instance:
        result = health_check_job.execute_in_process(resources=resources, instance=instance)
    assert result.success
    report = result.output_for_node("autotask_health")
    assert report["acme"]["ok"] is True

    tenants_env({"acme": good, "globex": bad})
    with DagsterInstance.ephemeral() as instance:
        failed = health_check_job.execute_in_process(
            resources=resources, instance=instance, raise_on_error=False
        )
    assert not failed.success
    (failure,) = [e for e in failed.all_events if e.event_type_value == "STEP_FAILURE"]
    message = failure.step_failure_data.user_failure_data.description
    assert "globex" in message and "acme" not in message
    assert "wrong-secret" not in str(failure.step_failure_data.user_failure_data.metadata)


@pytest.mark.parametrize(
    "operation, csv, expected",
    [
        ("update", "title\nno id here\n", "needs an `id` in every row"),
        ("create", "titel\nPrinter\n", "columns ['titel'] are not fields of Tickets"),
        ("delete", "id\n1\n", "Tickets cannot be deleted"),
    ],
)
def test_bulk_job_refuses_bad_config_before_writing(sandbox, tenants_env, tmp_path, operation, csv, expected):
    tenants_env({"default": sandbox_tenant(sandbox, f"sqlite:///{tmp_path / 'a.sqlite'}")})
    path = tmp_path / "rows.csv"
    path.write_text(csv)
    before = sandbox.admin.stats()["total"]
    with DagsterInstance.ephemeral() as instance:
        result = bulk_write_job.execute_in_process(
            run_config={
                "ops": {
                    "autotask_bulk_write": {
                        "config": {"entity": "Tickets", "operation": operation, "path": str(path)}
                    }
                }
            },
            resources={"tenants": TenantsResource()},
            instance=instance,
            raise_on_error=False,
        )
    assert not result.success
    (failure,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert expected in failure.step_failure_data.user_failure_data.description
    assert sandbox.admin.stats()["total"] == before  # not one request, let alone a write
