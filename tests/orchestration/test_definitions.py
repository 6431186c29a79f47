"""Definitions load (in-process and through the dagster CLI), schedules, tenants, executors."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from dagster import AssetKey, build_schedule_context, instance_for_test
from dagster._core.definitions.executor_definition import multiprocess_executor

from orchestration.definitions import defs
from orchestration.executors import executor_from_env
from orchestration.groups import GROUPS
from orchestration.schedules import incremental_cron
from orchestration.singer_run import Masker
from orchestration.tenants import load_tenants
from sdk_core.errors import ConfigurationError

from .conftest import add_partitions, env_without_tenants

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 12, 4, 2, 0, tzinfo=UTC)


def test_every_stream_is_an_asset_keyed_autotask_stream():
    keys = {key for key in defs.resolve_asset_graph().get_all_asset_keys()}
    for group in GROUPS:
        assert {AssetKey(["autotask", s]) for s in group.streams} <= keys
    assert AssetKey(["autotask", "tickets"]) in keys
    assert len(keys) == sum(len(g.streams) for g in GROUPS)
    defs.resolve_job_def("health_check_job")
    defs.resolve_job_def("bulk_write_job")


def test_dagster_cli_validates_the_definitions_with_a_tenants_file(tmp_path):
    """(Without one, the fixed-surface test below loads them through the CLI.)"""
    env = env_without_tenants()
    env["DAGSTER_HOME"] = str(tmp_path)
    (tmp_path / "tenants.yaml").write_text(
        "tenants:\n  acme:\n    credentials_env_prefix: ACME\n    destination: sqlite:///x.db\n"
    )
    env["AUTOTASK_TENANTS_FILE"] = str(tmp_path / "tenants.yaml")
    done = subprocess.run(
        [str(Path(sys.executable).parent / "dagster"), "definitions", "validate", "-m", "orchestration"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "passed validation" in done.stderr + done.stdout


def test_incremental_schedule_requests_one_run_per_tenant_with_its_concurrency_tag(tenants_env):
    tenants_env({"acme": {}, "globex": {}})
    schedule = defs.get_schedule_def("autotask_tickets_incremental")
    assert schedule.cron_schedule == "*/15 * * * *"
    with instance_for_test() as instance:
        add_partitions(instance, "acme")  # globex comes from the tenants file alone
        requests = list(schedule(build_schedule_context(instance=instance, scheduled_execution_time=NOW)))
    assert sorted(r.partition_key for r in requests) == ["acme", "globex"]
    assert {r.tags["autotask/sync"] for r in requests} == {"acme.tickets", "globex.tickets"}


def test_nightly_reconcile_schedule_runs_the_reconcile_mode(tenants_env):
    tenants_env({"acme": {}})
    schedule = defs.get_schedule_def("autotask_tickets_reconcile")
    assert schedule.cron_schedule.endswith(" * * *")
    with instance_for_test() as instance:
        (request,) = schedule(build_schedule_context(instance=instance, scheduled_execution_time=NOW))
    assert request.run_config == {"ops": {"autotask_tickets": {"config": {"mode": "reconcile"}}}}


def test_sync_every_minutes_is_validated():
    assert incremental_cron(5) == "*/5 * * * *"
    assert incremental_cron(120) == "0 */2 * * *"
    with pytest.raises(ConfigurationError, match="divisor of 60"):
        incremental_cron(7)


def test_no_tenants_file_means_one_default_tenant_from_autotask_variables():
    env = {
        "AUTOTASK_USERNAME": "u",
        "AUTOTASK_SECRET": "s3cret",
        "AUTOTASK_INTEGRATION_CODE": "c0de",
        "AUTOTASK_DESTINATION_URL": "postgresql+psycopg://me:pw0rd@db/wh",
        "AUTOTASK_WEBHOOK_STORE": "sqlite:///events.db",
    }
    (tenant,) = load_tenants(env=env)
    assert tenant.name == "default" and tenant.username == "u"
    assert tenant.destination == env["AUTOTASK_DESTINATION_URL"]
    assert tenant.webhook_store == "sqlite:///events.db"
    assert "s3cret" not in repr(tenant) and "pw0rd" not in repr(tenant)
    assert Masker(tenant.secrets())("auth s3cret c0de url pw0rd") == "auth **** **** url ****"


def test_tenants_from_environment_list_and_file_errors(tmp_path):
    env = {
        "AUTOTASK_TENANTS": "acme,globex",
        "AUTOTASK_ACME_USERNAME": "a",
        "AUTOTASK_GLOBEX_USERNAME": "g",
        "AUTOTASK_DESTINATION_URL": "postgresql+psycopg://db/wh",
    }
    with pytest.raises(ConfigurationError, match="same destination and schema"):
        load_tenants(env=env)
    env["AUTOTASK_ACME_SCHEMA"] = "acme"
    assert [(t.name, t.schema) for t in load_tenants(env=env)] == [("acme", "acme"), ("globex", None)]
    bad = tmp_path / "tenants.yaml"
    bad.write_text("tenants:\n  Acme Corp: {}\n")
    with pytest.raises(ConfigurationError, match="lower case"):
        load_tenants(str(bad), env={})
    bad.write_text("tenants:\n  acme: {passwrd: x}\n")
    with pytest.raises(ConfigurationError, match="unknown settings"):
        load_tenants(str(bad), env={})


def test_executor_is_chosen_by_configuration(monkeypatch):
    monkeypatch.delenv("AUTOTASK_DAGSTER_EXECUTOR", raising=False)
    assert executor_from_env().name == multiprocess_executor.name
    monkeypatch.setenv("AUTOTASK_DAGSTER_EXECUTOR", "celery")
    assert executor_from_env().name == "celery"
    monkeypatch.setenv("AUTOTASK_DAGSTER_EXECUTOR", "k8s")
    with pytest.raises(ConfigurationError, match="multiprocess"):
        executor_from_env()


def test_fixed_surface_materializes_the_default_tenants_tickets(sandbox, tmp_path):
    """`dagster asset materialize -m orchestration --select autotask/tickets --partition
    default` with only AUTOTASK_* variables, on a fresh instance."""
    import sqlalchemy as sa

    from sdk_core import AutotaskClient

    env = env_without_tenants()
    env.update(sandbox.env)
    env.update(
        {
            "AUTOTASK_DESTINATION_URL": f"sqlite:///{tmp_path / 'wh.sqlite'}",
            "DAGSTER_HOME": str(tmp_path),
            "AUTOTASK_CACHE_DIR": str(tmp_path / "cache"),
        }
    )
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "dagster"),
            "asset",
            "materialize",
            "-m",
            "orchestration",
            "--select",
            "autotask/tickets",
            "--partition",
            "default",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=280,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert sandbox.secret not in done.stdout + done.stderr
    engine = sa.create_engine(env["AUTOTASK_DESTINATION_URL"])
    with engine.connect() as conn:
        loaded = conn.execute(sa.text("select count(*) from tickets")).scalar()
        notes = sa.inspect(conn).has_table("ticket_notes")
    engine.dispose()
    with AutotaskClient(**sandbox.credentials) as client:
        assert loaded == client.tickets.count()
    assert not notes  # only the selected stream ran
