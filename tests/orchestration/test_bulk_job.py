"""The bulk write job against the sandbox: create from CSV, update from Parquet, delete from CSV
through the SDK's bulk engine; a second run of the same file resumes its journal job and sends
no create again; bad run config is refused before anything is sent."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from dagster import DagsterInstance

from orchestration.bulk import bulk_write_job
from orchestration.resources import TenantsResource
from sdk_core import AutotaskClient, Q

from .conftest import sandbox_tenant


def _run(config: dict[str, Any]) -> Any:
    with DagsterInstance.ephemeral() as instance:
        return bulk_write_job.execute_in_process(
            run_config={"ops": {"autotask_bulk_write": {"config": config}}},
            resources={"tenants": TenantsResource()},
            instance=instance,
            raise_on_error=False,
        )


def _writes(server: Any, entity: str, op: str) -> int:
    ops = server.admin.stats()["endpoints"].get(entity, {})
    return ops.get(op, 0) + ops.get(f"child_{op}", 0)


def test_bulk_job_creates_updates_deletes_and_a_rerun_creates_nothing_twice(
    sandbox_factory, tenants_env, tmp_path
):
    server = sandbox_factory()
    tenants_env({"default": sandbox_tenant(server, f"sqlite:///{tmp_path / 'w.sqlite'}")})
    client = AutotaskClient(**server.credentials, cache_dir=str(tmp_path / "sdk"))
    company = next(iter(client.tickets.query(fields=["companyID"])))["companyID"]
    prefix = f"dag-bulk-{uuid.uuid4().hex[:6]}-"
    created = tmp_path / "new_tickets.csv"
    created.write_text(
        "title,companyID,priority,status\n" + "".join(f"{prefix}{i},{company},1,1\n" for i in range(3))
    )
    journal = str(tmp_path / "bulk.journal")
    config = {"entity": "Tickets", "operation": "create", "path": str(created), "journal": journal}

    before = _writes(server, "Tickets", "create")
    first = _run(config)
    assert first.success
    out = first.output_for_node("autotask_bulk_write")
    assert out["written"] == 3 and out["errors"] == 0 and None not in out["ids"]
    assert _writes(server, "Tickets", "create") - before == 3

    again = _run(config)  # a retry of the same file: the journal job is resumed, nothing resent
    assert again.success
    second = again.output_for_node("autotask_bulk_write")
    assert second["job_id"] == out["job_id"] and second["ids"] == out["ids"]
    assert _writes(server, "Tickets", "create") - before == 3
    found = list(client.tickets.query(Q("title").begins_with(prefix), fields=["id", "title"]))
    assert sorted(r["title"] for r in found) == [f"{prefix}{i}" for i in range(3)]  # each once

    renamed = tmp_path / "rename.parquet"
    pq.write_table(pa.table({"id": out["ids"], "title": [f"{prefix}renamed-{i}" for i in range(3)]}), renamed)
    updated = _run({"entity": "Tickets", "operation": "update", "path": str(renamed), "journal": journal})
    assert updated.success and updated.output_for_node("autotask_bulk_write")["written"] == 3
    assert [client.tickets.get(i)["title"] for i in out["ids"]] == [f"{prefix}renamed-{i}" for i in range(3)]

    entries = [r["id"] for r in client.time_entries.query(fields=["id"], page_size=2)][:2]
    gone = tmp_path / "remove.csv"
    gone.write_text("id\n" + "".join(f"{i}\n" for i in entries))
    deleted = _run({"entity": "TimeEntries", "operation": "delete", "path": str(gone)})
    assert deleted.success and deleted.output_for_node("autotask_bulk_write")["ids"] == entries
    assert all(client.time_entries.get(i) is None for i in entries)
    client.close()


@pytest.mark.parametrize(
    "name, columns, config, expected",
    [
        ("rows.parquet", {"titel": ["x"]}, {}, "columns ['titel'] are not fields of Tickets"),
        ("rows.parquet", {"title": ["x"]}, {"operation": "replace"}, "operation must be one of"),
        ("rows.parquet", {"title": ["x"]}, {"tenant": "globex"}, "No tenant 'globex'"),
        ("rows.parquet", {"title": ["x"]}, {"entity": "Tickettes"}, "'Tickettes' is not an Autotask entity"),
        ("rows.json", {"title": ["x"]}, {}, "use a .csv or .parquet file"),
        ("missing.csv", None, {}, "does not exist"),
    ],
)
def test_bulk_job_refuses_bad_config_before_anything_is_sent(
    sandbox_factory, tenants_env, tmp_path, name, columns, config, expected
):
    server = sandbox_factory()
    tenants_env({"default": sandbox_tenant(server, f"sqlite:///{tmp_path / 'w.sqlite'}")})
    path = tmp_path / name
    if columns is not None and name.endswith(".parquet"):
        pq.write_table(pa.table(columns), path)
    elif columns is not None:
        path.write_text("{}")
    before = server.admin.stats()["total"]
    result = _run({"entity": "Tickets", "operation": "create", "path": str(path), **config})
    assert not result.success
    (failure,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert expected in failure.step_failure_data.user_failure_data.description
    assert server.admin.stats()["total"] == before  # not one request, let alone a write
    assert not Path(f"{path}.journal").exists()  # and no journal job started
