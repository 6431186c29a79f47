"""Syncs against the sandbox over HTTP: every stream, live metadata, state, versions, errors."""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any

import pytest

from sdk_core import AutotaskClient
from sdk_core.catalog import load_catalog
from tests.tap.singer_run import TAP, run_tap, tap_config


def _client(server: Any) -> AutotaskClient:
    return AutotaskClient(username=server.username, secret=server.secret,
                          integration_code=server.integration_code, api_url=server.api_url)


def _all_ids(server: Any, entity: str) -> list[int]:
    client = _client(server)
    try:
        return [row["id"] for row in client.entity(entity).query(fields=["id"])]
    finally:
        client.close()


def test_every_stream_syncs_once(sandbox: Any) -> None:
    """All ~220 entity streams plus the metadata streams, each read in full, none failing."""
    out = run_tap(tap_config(sandbox, metadata_source="catalog"))
    streams = {e.stream_name for e in load_catalog().queryable()}
    assert streams <= set(out.schemas)
    assert len(out.records["tickets"]) == len(_all_ids(sandbox, "Tickets")) > 0
    assert len(out.records["companies"]) == len(_all_ids(sandbox, "Companies")) > 0
    bookmarks = out.state["bookmarks"]
    assert bookmarks["tickets"]["replication_key"] == "lastActivityDate"
    assert "window" not in bookmarks["tickets"]


def test_live_metadata_brings_udfs_picklists_and_label_streams(sandbox: Any) -> None:
    out = run_tap(tap_config(sandbox, include_streams=["tickets", "companies", "picklist_values",
                                                        "udf_definitions"]))
    props = out.schemas["companies"]["schema"]["properties"]
    udf_columns = [name for name, p in props.items() if "x-autotask-udf" in p]
    assert udf_columns, "companies should carry UDF columns from /userDefinedFields"
    picklisted = [name for name, p in out.schemas["tickets"]["schema"]["properties"].items()
                  if "x-autotask-picklist" in p]
    assert "status" in picklisted and "priority" in picklisted
    values = out.records["picklist_values"]
    status = {r["value"]: r["label"] for r in values
              if r["entity"] == "Tickets" and r["field"] == "status"}
    assert status, "ticket status values should be in picklist_values"
    assert all(r["status"] is None or str(r["status"]) in status for r in out.records["tickets"])
    defs = out.records["udf_definitions"]
    assert {d["column"] for d in defs if d["entity"] == "Companies"} == set(udf_columns)
    assert "userDefinedFields" not in out.records["companies"][0]


def test_second_discovery_costs_no_request(sandbox_factory: Any, tmp_path: Any) -> None:
    server = sandbox_factory()
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps(tap_config(server)))
    env = {**os.environ, "AUTOTASK_CACHE_DIR": str(tmp_path / "cache")}
    subprocess.run([TAP, "--config", str(cfg), "--discover"], check=True, capture_output=True,
                   env=env)
    before = server.admin.stats()["total"]
    subprocess.run([TAP, "--config", str(cfg), "--discover"], check=True, capture_output=True,
                   env=env)
    assert server.admin.stats()["total"] == before


def test_full_table_streams_activate_their_version_after_the_rows(sandbox: Any) -> None:
    """First load: ACTIVATE_VERSION before the rows too (the table appears at once); later
    loads: only after the rows, so a target never drops rows before their replacements came."""
    config = tap_config(sandbox, metadata_source="catalog", include_streams=["roles"])
    first = run_tap(config)
    second = run_tap(config, first.state)
    for out, expected in ((first, ["ACTIVATE_VERSION", "RECORD", "ACTIVATE_VERSION"]),
                          (second, ["RECORD", "ACTIVATE_VERSION"])):
        kinds = [m["type"] for m in out.messages
                 if m.get("stream") == "roles" and m["type"] in ("RECORD", "ACTIVATE_VERSION")]
        collapsed = [k for i, k in enumerate(kinds) if i == 0 or kinds[i - 1] != k]
        assert collapsed == expected
        versions = {m["version"] for m in out.messages if m["type"] == "RECORD"}
        assert versions == {out.activations["roles"][-1]}
    assert second.activations["roles"][-1] > first.activations["roles"][-1]
    assert len(second.records["roles"]) == len(first.records["roles"]) > 0


def test_wrong_credentials_give_one_clear_line(sandbox: Any, tmp_path: Any) -> None:
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps(tap_config(sandbox, secret="wrong", metadata_source="catalog",
                                         include_streams=["roles"])))
    proc = subprocess.run([TAP, "--config", str(cfg)], capture_output=True, text=True)
    assert proc.returncode != 0
    assert not [m for m in proc.stdout.splitlines() if '"RECORD"' in m]
    errors = [line for line in proc.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "AuthenticationError" in errors[0]
    assert "wrong" not in proc.stderr
    assert "Traceback" not in proc.stderr
