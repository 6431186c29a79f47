"""The metadata streams read metadata only of the entities being synced (cold-cache cost)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.tap.singer_run import run_tap, tap_config


@pytest.fixture
def cold_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTOTASK_CACHE_DIR", str(tmp_path / "cold-cache"))


def _requests(server: Any) -> int:
    return int(server.admin.stats()["total"])


def test_picklist_values_cover_only_the_selected_entity_streams(
    sandbox_factory: Any, cold_cache: None
) -> None:
    server = sandbox_factory()
    before = _requests(server)
    out = run_tap(tap_config(server, include_streams=["picklist_values", "udf_definitions", "tickets"]))
    spent = _requests(server) - before
    entities = {r["entity"] for r in out.records["picklist_values"]}
    assert entities == {"Tickets"}, entities
    assert {r["entity"] for r in out.records["udf_definitions"]} <= {"Tickets"}
    pages = -(-len(out.records["tickets"]) // 500)
    # Tickets: fields + UDFs (metadata), then its pages; one spare for the
    # information call sdk_core may make. Before the fix this was ~237 (every entity's metadata).
    assert spent <= 2 + pages + 2, spent


def test_picklist_entities_setting_names_them_explicitly(sandbox_factory: Any, cold_cache: None) -> None:
    server = sandbox_factory()
    out = run_tap(
        tap_config(
            server, include_streams=["picklist_values"], picklist_entities=["Companies", "time_entries"]
        )
    )
    entities = {r["entity"] for r in out.records["picklist_values"]}
    assert entities == {"Companies", "TimeEntries"}, entities
    assert _requests(server) < 10
