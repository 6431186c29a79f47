"""Fixtures of the orchestration tests: tenants files, destinations, a webhook event store.

Every test gets its own destination (SQLite file or PostgreSQL schema), state store and
Dagster instance; the sandbox fixtures come from tests/conftest.py.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from dagster import DagsterInstance

from autotask_sandbox.testing import SandboxServer
from orchestration.partitions import TENANTS

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def env_without_tenants() -> dict[str, str]:
    """This process's environment without its AUTOTASK_* tenant settings, for a child that must
    read only the tenants a test gives it (the tests' short warm-launcher idle time stays)."""
    keep = "AUTOTASK_WARM_IDLE_SECONDS"
    return {k: v for k, v in os.environ.items() if not k.startswith("AUTOTASK_") or k == keep}


def write_tenants(path: Path, tenants: dict[str, dict[str, Any]]) -> Path:
    path.write_text(yaml.safe_dump({"tenants": tenants}))
    return path


def sandbox_tenant(server: SandboxServer, destination: str, **extra: Any) -> dict[str, Any]:
    return {**server.credentials, "destination": destination, **extra}


@pytest.fixture
def instance() -> Iterator[DagsterInstance]:
    with DagsterInstance.ephemeral() as inst:
        yield inst


@pytest.fixture
def pg_schema() -> Iterator[tuple[str, str]]:
    """(url, schema): a private PostgreSQL schema, dropped afterwards."""
    schema = f"orch_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(POSTGRES_URL)
    yield POSTGRES_URL, schema
    with engine.begin() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    engine.dispose()


@pytest.fixture
def tenants_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Callable[[dict[str, dict[str, Any]]], Path]:
    """Writes a tenants file and points AUTOTASK_TENANTS_FILE at it."""
    for name in list(os.environ):
        if name.startswith("AUTOTASK_") and name != "AUTOTASK_SANDBOX_CACHE":
            monkeypatch.delenv(name)
    monkeypatch.setenv("AUTOTASK_CACHE_DIR", str(tmp_path / "sdk-cache"))

    def make(tenants: dict[str, dict[str, Any]]) -> Path:
        path = write_tenants(tmp_path / "tenants.yaml", tenants)
        monkeypatch.setenv("AUTOTASK_TENANTS_FILE", str(path))
        return path

    return make


def add_partitions(instance: DagsterInstance, *names: str) -> None:
    instance.add_dynamic_partitions(TENANTS.name or "", list(names))


@pytest.fixture
def event_store(tmp_path: Path) -> Iterator[tuple[str, Any]]:
    """(url, store) of the webhook event store (sdk_core.webhooks, the webhooks issue)."""
    store_module = pytest.importorskip("sdk_core.webhooks.store")
    url = f"sqlite:///{tmp_path / 'events.db'}"
    store = store_module.open_store(url)
    yield url, store
    store.close()


def put_events(store: Any, tenant: str, entity: str, ids: list[int], action: str = "update") -> None:
    """Store events as the receiver does. The contract has no writer; this uses the store's
    own `add_many` with the receiver's `Incoming` records."""
    from sdk_core.webhooks.events import Incoming

    now = datetime.now(UTC)
    store.add_many(
        [
            Incoming(
                tenant=tenant,
                entity=entity,
                entity_type=entity,
                id=record_id,
                action=action,
                guid=str(uuid.uuid4()),
                sequence_number=i,
                event_time=now,
                event_time_raw=now.isoformat(),
                person_id=None,
                fields={"id": record_id},
                udf_fields={},
            )
            for i, record_id in enumerate(ids)
        ]
    )
