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
    return AutotaskClient(
        username=server.username,
        secret=server.secret,
        integration_code=server.integration_code,
        api_url=server.api_url,
    )


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
    out = run_tap(
        tap_config(sandbox, include_streams=["tickets", "companies", "picklist_values", "udf_definitions"])
    )
    props = out.schemas["companies"]["schema"]["properties"]
    udf_columns = [name for name, p in props.items() if "x-autotask-udf" in p]
    assert udf_columns, "companies should carry UDF columns from /userDefinedFields"
    picklisted = [
        name
        for name, p in out.schemas["tickets"]["schema"]["properties"].items()
        if "x-autotask-picklist" in p
    ]
    assert "status" in picklisted and "priority" in picklisted
    values = out.records["picklist_values"]
    status = {r["value"]: r["label"] for r in values if r["entity"] == "Tickets" and r["field"] == "status"}
    assert status, "ticket status values should be in picklist_values"
    assert all(r["status"] is None or str(r["status"]) in status for r in out.records["tickets"])
    defs = out.records["udf_definitions"]
    assert {d["column"] for d in defs if d["entity"] == "Companies"} == set(udf_columns)
    assert "userDefinedFields" not in out.records["companies"][0]


def test_second_discovery_costs_no_request(sandbox_factory: Any, tmp_path: Any) -> None:
    server = sandbox_factory()
    cfg = tmp_path / "config.json"
    cfg.write_text(
        json.dumps(tap_config(server, include_streams=["tickets", "companies", "picklist_values"]))
    )
    env = {**os.environ, "AUTOTASK_CACHE_DIR": str(tmp_path / "cache")}
    subprocess.run([TAP, "--config", str(cfg), "--discover"], check=True, capture_output=True, env=env)
    before = server.admin.stats()["total"]
    subprocess.run([TAP, "--config", str(cfg), "--discover"], check=True, capture_output=True, env=env)
    assert server.admin.stats()["total"] == before


def test_full_table_streams_activate_their_version_after_the_rows(sandbox: Any) -> None:
    """First load: ACTIVATE_VERSION before the rows too (the table appears at once); later
    loads: only after the rows, so a target never drops rows before their replacements came."""
    config = tap_config(sandbox, metadata_source="catalog", include_streams=["roles"])
    first = run_tap(config)
    second = run_tap(config, first.state)
    for out, expected in (
        (first, ["ACTIVATE_VERSION", "RECORD", "ACTIVATE_VERSION"]),
        (second, ["RECORD", "ACTIVATE_VERSION"]),
    ):
        kinds = [
            m["type"]
            for m in out.messages
            if m.get("stream") == "roles" and m["type"] in ("RECORD", "ACTIVATE_VERSION")
        ]
        collapsed = [k for i, k in enumerate(kinds) if i == 0 or kinds[i - 1] != k]
        assert collapsed == expected
        versions = {m["version"] for m in out.messages if m["type"] == "RECORD"}
        assert versions == {out.activations["roles"][-1]}
    assert second.activations["roles"][-1] > first.activations["roles"][-1]
    assert len(second.records["roles"]) == len(first.records["roles"]) > 0


def test_wrong_credentials_give_one_clear_line(sandbox: Any, tmp_path: Any) -> None:
    cfg = tmp_path / "config.json"
    cfg.write_text(
        json.dumps(tap_config(sandbox, secret="wrong", metadata_source="catalog", include_streams=["roles"]))
    )
    proc = subprocess.run([TAP, "--config", str(cfg)], capture_output=True, text=True)
    assert proc.returncode != 0
    assert not [m for m in proc.stdout.splitlines() if '"RECORD"' in m]
    errors = [line for line in proc.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "AuthenticationError" in errors[0]
    assert "wrong" not in proc.stderr
    assert "Traceback" not in proc.stderr


class _ForbidRoles:
    """The real client, except that Roles answer as for an API user without that right."""

    def __init__(self, real: AutotaskClient):
        self._real = real

    def entity(self, name: str) -> Any:
        from sdk_core.errors import PermissionDeniedError

        entity = self._real.entity(name)
        if name != "Roles":
            return entity

        class Forbidden:
            info = entity.info if hasattr(entity, "info") else None

            def pages(self, *args: Any, **kwargs: Any) -> Any:
                raise PermissionDeniedError(
                    "The logged in Resource does not have the adequate permissions", status_code=500
                )

        return Forbidden()

    def close(self) -> None:
        self._real.close()


def test_an_entity_the_user_may_not_read_is_skipped_with_skip_forbidden_streams(
    sandbox: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    import contextlib
    import io

    from tap_autotask import TapAutotask
    from tests.tap.singer_run import Output

    config = tap_config(
        sandbox, metadata_source="catalog", include_streams=["roles", "skills"], skip_forbidden_streams=True
    )
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        tap = TapAutotask(config=config, parse_env_config=False)
        tap._client = _ForbidRoles(_client(sandbox))
        tap.sync_all()
    out = Output.parse(buffer.getvalue())
    assert not out.records.get("roles")
    assert len(out.records["skills"]) == len(_all_ids(sandbox, "Skills"))
    assert any("Skipped roles" in r.message and "adequate permissions" in r.message for r in caplog.records)


def test_stream_maps_and_deselected_columns(sandbox: Any) -> None:
    from tap_autotask import TapAutotask

    config = tap_config(
        sandbox,
        metadata_source="catalog",
        include_streams=["roles"],
        stream_maps={"roles": {"name_upper": "name.upper()", "description": "__NULL__"}},
    )
    catalog = TapAutotask(config=config, parse_env_config=False).catalog_dict
    entry = catalog["streams"][0]
    for item in entry["metadata"]:
        if item["breadcrumb"] == ["properties", "hourlyRate"]:
            item["metadata"]["selected"] = False
    buffer_out = _run_with_catalog(config, catalog)
    rows = buffer_out.records["roles"]
    assert rows and all(r["name_upper"] == (r["name"] or "").upper() for r in rows)
    assert all("description" not in r and "hourlyRate" not in r for r in rows)
    assert "id" in rows[0] and "isActive" in rows[0]


def _run_with_catalog(config: dict, catalog: dict) -> Any:
    import contextlib
    import io

    from tap_autotask import TapAutotask
    from tests.tap.singer_run import Output

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        TapAutotask(config=config, catalog=catalog, parse_env_config=False).sync_all()
    return Output.parse(buffer.getvalue())


def test_batch_messages_carry_every_row_and_state_follows_the_batch(
    sandbox: Any,
    tmp_path: Any,
) -> None:
    import gzip

    config = tap_config(
        sandbox,
        metadata_source="catalog",
        include_streams=["tickets"],
        batch_config={
            "encoding": {"format": "jsonl", "compression": "gzip"},
            "storage": {"root": f"file://{tmp_path}", "prefix": "batch-"},
        },
    )
    out = run_tap(config)
    batches = [m for m in out.messages if m["type"] == "BATCH"]
    assert batches and not out.records.get("tickets")
    ids = []
    for message in batches:
        for url in message["manifest"]:
            with gzip.open(url.removeprefix("file://"), "rt") as handle:
                ids += [json.loads(line)["id"] for line in handle]
    assert sorted(ids) == sorted(_all_ids(sandbox, "Tickets"))
    kinds = [m["type"] for m in out.messages]
    assert kinds.index("STATE", kinds.index("BATCH")) > kinds.index("BATCH")
    assert "window" not in out.state["bookmarks"]["tickets"]
