"""Three sandbox tenants synced by two Celery workers (RabbitMQ) through the dagster CLI:
every tenant's rows equal its API counts; no tenant hit its thread or threshold limit."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from dagster import DagsterInstance

from autotask_sandbox.testing import SandboxServer
from sdk_core import AutotaskClient

from .conftest import env_without_tenants, sandbox_tenant, write_tenants

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
BROKER = os.environ.get("TEST_CELERY_BROKER", "pyamqp://guest:guest@127.0.0.1:5672//")
REDIS = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_three_tenants_on_two_celery_workers(tmp_path, pg_schema, sandbox_factory):
    url, base = pg_schema
    names = ["acme", "globex", "initech"]
    servers: dict[str, SandboxServer] = {name: sandbox_factory(seed=1) for name in names}
    write_tenants(
        tmp_path / "tenants.yaml",
        {
            name: sandbox_tenant(
                server, url, schema=f"{base}_{name}", max_api_share=0.5, redis_url=REDIS
            )  # keys per sandbox host: private
            for name, server in servers.items()
        },
    )
    (tmp_path / "home").mkdir()
    DagsterInstance.from_config(str(tmp_path / "home")).dispose()  # storage made once, not raced
    (tmp_path / "celery.yaml").write_text(
        f"execution:\n  config:\n    broker: '{BROKER}'\n    backend: 'rpc://'\n"
    )
    queue = f"autotask-test-{uuid.uuid4().hex[:8]}"
    env = env_without_tenants()
    env.update(
        {
            "AUTOTASK_TENANTS_FILE": str(tmp_path / "tenants.yaml"),
            "AUTOTASK_DAGSTER_EXECUTOR": "celery",
            "AUTOTASK_CELERY_BROKER": BROKER,
            "AUTOTASK_CELERY_QUEUE": queue,
            "DAGSTER_HOME": str(tmp_path / "home"),
            "AUTOTASK_CACHE_DIR": str(tmp_path / "cache"),
            "AUTOTASK_SANDBOX_CACHE": os.environ.get("AUTOTASK_SANDBOX_CACHE", ""),
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        }
    )  # workers exec `celery`
    workers = [
        subprocess.Popen(
            [
                str(BIN / "dagster-celery"),
                "worker",
                "start",
                "-A",
                "dagster_celery.app",
                "-y",
                str(tmp_path / "celery.yaml"),
                "-q",
                queue,
                "-n",
                f"{queue}-{i}@%h",
            ],
            cwd=ROOT,
            env=env,
            stdout=open(tmp_path / f"worker{i}.log", "w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # its own group: `celery` runs as a child of the wrapper
        for i in range(2)
    ]
    try:
        runs = [
            subprocess.Popen(
                [
                    str(BIN / "dagster"),
                    "job",
                    "execute",
                    "-m",
                    "orchestration",
                    "-j",
                    "autotask_tickets_sync",
                    "--tags",
                    f'{{"dagster/partition": "{name}"}}',
                ],
                cwd=ROOT,
                env=env,
                stdout=open(tmp_path / f"{name}.log", "w"),
                stderr=subprocess.STDOUT,
            )
            for name in names
        ]
        codes = [run.wait(timeout=600) for run in runs]
        logs = {name: (tmp_path / f"{name}.log").read_text() for name in names}
        assert codes == [0, 0, 0], {n: logs[n][-3000:] for n in names}
        for name in names:
            assert "RUN_SUCCESS" in logs[name]
    finally:
        for worker in workers:
            os.killpg(worker.pid, signal.SIGTERM)
        for worker in workers:
            try:
                worker.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
    engine = sa.create_engine(url)
    try:
        for name, server in servers.items():
            with AutotaskClient(**server.credentials) as client:
                api = {"tickets": client.tickets.count(), "ticket_notes": client.ticket_notes.count()}
            with engine.connect() as conn:
                for stream, count in api.items():
                    loaded = conn.execute(
                        sa.text(
                            f'select count(*) from "{base}_{name}".{stream} where _sdc_deleted_at is null'
                        )
                    ).scalar()
                    assert loaded == count, (name, stream)
            rejected = server.admin.stats()["rejected"]
            assert rejected["thread_limit"] == 0 and rejected["threshold"] == 0, (name, rejected)
    finally:
        with engine.begin() as conn:
            for name in names:
                conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{base}_{name}" CASCADE')
        engine.dispose()
