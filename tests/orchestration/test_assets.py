"""Assets materialized in-process against the sandbox into SQLite and PostgreSQL, and the
checks that must fail: stale bookmark, missing rows, budget low."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from dagster import AssetKey, AssetSelection, Definitions, define_asset_job, materialize

from orchestration.assets import SYNC_ASSETS
from orchestration.checks import CHECKS
from orchestration.resources import default_resources
from orchestration.state_store import StateStore
from sdk_core import AutotaskClient

from .conftest import add_partitions, sandbox_tenant

TICKETS_ASSETS, TICKETS_CHECKS = SYNC_ASSETS[0], CHECKS[0]


def _materialization(result, stream: str) -> dict:
    events = result.asset_materializations_for_node("autotask_tickets")
    found = [e for e in events if e.asset_key == AssetKey(["autotask", stream])]
    assert len(found) == 1
    return {k: v.value for k, v in found[0].metadata.items()}


def _checks(result) -> dict[tuple[str, str], object]:
    return {(e.asset_key.path[-1], e.check_name): e for e in result.get_asset_check_evaluations()}


@pytest.fixture(params=["sqlite", "postgresql"])
def destination(request, tmp_path: Path) -> tuple[str, str | None]:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'warehouse.sqlite'}", None
    return request.getfixturevalue("pg_schema")


def test_tickets_group_loads_api_counts_then_runs_incrementally(sandbox, tenants_env, instance, destination):
    url, schema = destination
    tenants_env({"default": sandbox_tenant(sandbox, url, **({"schema": schema} if schema else {}))})
    add_partitions(instance, "default")

    first = materialize(
        [TICKETS_ASSETS, TICKETS_CHECKS],
        partition_key="default",
        resources=default_resources(),
        instance=instance,
    )
    assert first.success
    with AutotaskClient(**sandbox.credentials) as client:
        api = {"tickets": client.tickets.count(), "ticket_notes": client.ticket_notes.count()}
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        for stream, count in api.items():
            table = f'"{schema}".{stream}' if schema else stream
            assert conn.execute(sa.text(f"select count(*) from {table}")).scalar() == count
    tickets = _materialization(first, "tickets")
    assert tickets["rows"] == api["tickets"]
    assert tickets["api_requests"] >= 1 and tickets["api_requests_run"] >= tickets["api_requests"]
    assert tickets["bookmark"].startswith("20")
    checks = _checks(first)
    assert all(e.passed for e in checks.values()), {k: e.description for k, e in checks.items()}
    assert {name for _, name in checks} == {"freshness", "count_parity", "api_budget_headroom"}

    second = materialize(
        [TICKETS_ASSETS], partition_key="default", resources=default_resources(), instance=instance
    )
    assert second.success
    again = _materialization(second, "tickets")
    assert again["rows"] == 0  # nothing changed: the bookmark held
    assert again["bookmark"] == tickets["bookmark"]
    engine.dispose()


def test_checks_fail_on_stale_bookmark_missing_rows_and_low_budget(sandbox, tenants_env, instance, tmp_path):
    url = f"sqlite:///{tmp_path / 'warehouse.sqlite'}"
    tenants_env({"default": sandbox_tenant(sandbox, url)})
    add_partitions(instance, "default")
    assert materialize(
        [TICKETS_ASSETS], partition_key="default", resources=default_resources(), instance=instance
    ).success

    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("delete from tickets where id in (select id from tickets limit 3)"))
        conn.execute(
            sa.text("update autotask_bookmarks set updated_at = :old"),
            {"old": datetime.now(UTC) - timedelta(days=3)},
        )
    engine.dispose()
    tenants_env({"default": sandbox_tenant(sandbox, url, max_api_share=0.00001)})

    defs = Definitions(
        assets=[TICKETS_ASSETS],
        asset_checks=[TICKETS_CHECKS],
        jobs=[define_asset_job("checks", AssetSelection.all_asset_checks())],
        resources=default_resources(),
    )
    result = defs.resolve_job_def("checks").execute_in_process(
        tags={"dagster/partition": "default"}, instance=instance
    )
    checks = _checks(result)
    assert not checks[("tickets", "freshness")].passed
    assert "limit 60" in checks[("tickets", "freshness")].description
    parity = checks[("tickets", "count_parity")]
    assert not parity.passed and "3 rows missing" in parity.description
    assert checks[("ticket_notes", "count_parity")].passed
    assert not checks[("tickets", "api_budget_headroom")].passed


def test_state_store_merges_streams_and_serialises_runs(tmp_path):
    store = StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")
    store.save("acme", "tickets", {"bookmarks": {"tickets": {"replication_key_value": "a"}}})
    store.save("acme", "tickets", {"bookmarks": {"ticket_notes": {"replication_key_value": "b"}}})
    assert set(store.load("acme", "tickets").state["bookmarks"]) == {"tickets", "ticket_notes"}
    store.acquire("acme", "tickets", "run-1")
    from orchestration.state_store import LeaseHeldError

    with pytest.raises(LeaseHeldError, match="run-1"):
        store.acquire("acme", "tickets", "run-2")
    store.acquire("acme", "companies", "run-2")  # another group is free
    store.release("acme", "tickets", "run-1")
    store.acquire("acme", "tickets", "run-2")
    store.close()
