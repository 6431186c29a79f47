"""Count parity on a files destination (target-files: csv, jsonl, parquet): rows are read
from the files the manifest lists, and the check fails when rows go missing."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from dagster import AssetSelection, Definitions, define_asset_job, materialize

from orchestration.assets import SYNC_ASSETS
from orchestration.checks import CHECKS
from orchestration.file_rows import MANIFEST, loaded_file_rows
from orchestration.resources import default_resources
from orchestration.tenants import load_tenants
from sdk_core import AutotaskClient
from sdk_core.errors import ConfigurationError

from .conftest import add_partitions, sandbox_tenant

TICKETS_ASSETS, TICKETS_CHECKS = SYNC_ASSETS[0], CHECKS[0]


def _parity(result) -> dict[str, object]:
    return {
        e.asset_key.path[-1]: e
        for e in result.get_asset_check_evaluations()
        if e.check_name == "count_parity"
    }


def _drop_last_rows(folder: Path, stream: str, n: int) -> None:
    """Remove the last `n` rows of the stream from its file (or sheet), as a lost write would."""
    manifest = json.loads((folder / MANIFEST).read_text())
    files = manifest["streams"].get(stream, {}).get("files", [])
    path = folder / files[-1]
    if path.suffix == ".csv":
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
        with path.open("w", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerows(rows[:-n])
    elif path.suffix == ".jsonl":
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        path.write_text("".join(lines[:-n]), encoding="utf-8")
    else:
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        pq.write_table(table.slice(0, table.num_rows - n), path)


@pytest.mark.parametrize("file_format", ["csv", "jsonl", "parquet"])
def test_count_parity_reads_the_files_and_fails_on_missing_rows(
    sandbox, tenants_env, instance, tmp_path, file_format
):
    out = tmp_path / "out"
    tenants_env({"default": sandbox_tenant(sandbox, str(out), files_format=file_format)})
    add_partitions(instance, "default")
    loaded = materialize(
        [TICKETS_ASSETS, TICKETS_CHECKS],
        partition_key="default",
        resources=default_resources(),
        instance=instance,
    )
    assert loaded.success
    with AutotaskClient(**sandbox.credentials) as client:
        api = {"tickets": client.tickets.count(), "ticket_notes": client.ticket_notes.count()}
    parity = _parity(loaded)
    for stream, count in api.items():
        assert parity[stream].passed, parity[stream].description
        assert parity[stream].metadata["loaded"].value == count == loaded_file_rows(out / "default", stream)

    _drop_last_rows(out / "default", "tickets", 3)
    defs = Definitions(
        assets=[TICKETS_ASSETS],
        asset_checks=[TICKETS_CHECKS],
        jobs=[define_asset_job("parity", AssetSelection.checks_for_assets(TICKETS_ASSETS))],
        resources=default_resources(),
    )
    checked = defs.resolve_job_def("parity").execute_in_process(
        tags={"dagster/partition": "default"}, instance=instance, raise_on_error=False
    )
    parity = _parity(checked)
    assert not parity["tickets"].passed
    assert "3 rows missing" in parity["tickets"].description
    assert parity["ticket_notes"].passed


@pytest.mark.unit
def test_the_last_row_of_an_id_counts_and_deletions_do_not(tmp_path):
    (tmp_path / MANIFEST).write_text(
        json.dumps({"streams": {"tickets": {"files": ["tickets.csv", "tickets.jsonl"]}}, "workbooks": {}})
    )
    (tmp_path / "tickets.csv").write_text(
        'id,title,_sdc_deleted_at\n1,"two\nlines",\n2,b,\n3,c,\n2,,2024-01-01T00:00:00Z\n'
    )
    (tmp_path / "tickets.jsonl").write_text(
        '{"id": 3, "title": "c again"}\n{"id": 4, "title": "d"}\n{"id": 2, "title": "back"}\n'
    )
    assert loaded_file_rows(tmp_path, "tickets") == 4  # 1, 3, 4, and 2 restored after deletion
    assert loaded_file_rows(tmp_path, "ticket_notes") is None
    assert loaded_file_rows(tmp_path / "nowhere", "tickets") is None


@pytest.mark.unit
def test_an_excel_destination_is_refused_before_any_run(tmp_path):
    """A workbook is rewritten by every run: an incremental sync into it would drop earlier rows."""
    env = {"AUTOTASK_DESTINATION_URL": str(tmp_path / "out"), "AUTOTASK_DESTINATION_FORMAT": "xlsx"}
    with pytest.raises(ConfigurationError, match="files_format 'xlsx' cannot hold a sync.*autotask export"):
        load_tenants(env=env)
    assert load_tenants(env={**env, "AUTOTASK_DESTINATION_FORMAT": "csv"})[0].files_format == "csv"
