"""Discovery from the bundled catalog (no network) and the command line's own surface."""

from __future__ import annotations

import json
import subprocess

import pytest

from sdk_core.catalog import load_catalog
from tap_autotask import TapAutotask
from tests.tap.singer_run import TAP

OFFLINE = {"username": "u@example.com", "secret": "s", "integration_code": "c", "metadata_source": "catalog"}


@pytest.fixture(scope="module")
def catalog() -> dict:
    return TapAutotask(config=OFFLINE, parse_env_config=False).catalog_dict


def _entry(catalog: dict, name: str) -> dict:
    return next(s for s in catalog["streams"] if s["tap_stream_id"] == name)


def test_every_queryable_entity_is_a_stream_plus_the_metadata_streams(catalog: dict) -> None:
    names = {s["tap_stream_id"] for s in catalog["streams"]}
    expected = {e.stream_name for e in load_catalog().queryable()}
    assert names == expected | {"picklist_values", "udf_definitions"}
    assert {"tickets", "ticket_notes", "time_entries"} <= names


def test_entity_streams_are_keyed_on_id_and_incremental_where_a_timestamp_exists(
    catalog: dict,
) -> None:
    for entity in load_catalog().queryable():
        entry = _entry(catalog, entity.stream_name)
        assert entry["key_properties"] == ["id"], entity.name
        key = entry.get("replication_key")
        if key:
            assert entry["replication_method"] == "INCREMENTAL"
            assert entry["schema"]["properties"][key]["format"] == "date-time"
        else:
            assert entry["replication_method"] == "FULL_TABLE", entity.name
    assert _entry(catalog, "tickets")["replication_key"] == "lastActivityDate"
    assert _entry(catalog, "resources")["replication_method"] == "FULL_TABLE"


def test_discovered_catalog_keeps_reference_annotations_and_deleted_at(catalog: dict) -> None:
    tickets = _entry(catalog, "tickets")["schema"]["properties"]
    assert tickets["companyID"]["x-autotask-reference"] == {"entity": "Companies", "field": "id"}
    assert tickets["_sdc_deleted_at"]["format"] == "date-time"
    assert "_sdc_deleted_at" not in _entry(catalog, "time_entries")["schema"]["properties"]


def test_include_streams_limits_discovery_and_rejects_a_pattern_matching_nothing() -> None:
    tap = TapAutotask(
        config={**OFFLINE, "include_streams": ["ticket_note?", "companies"]}, parse_env_config=False
    )
    assert set(tap.streams) == {"ticket_notes", "companies"}
    with pytest.raises(Exception, match="matches no stream"):
        TapAutotask(config={**OFFLINE, "include_streams": ["tickit"]}, parse_env_config=False)


def test_about_markdown_documents_every_setting() -> None:
    out = subprocess.run(
        [TAP, "--about", "--format=markdown"], capture_output=True, text=True, check=True
    ).stdout
    for name, prop in TapAutotask.config_jsonschema["properties"].items():
        row = next((line for line in out.splitlines() if line.startswith(f"| {name} |")), None)
        assert row is not None, name
        assert prop.get("description") and prop["description"].split(".")[0][:30] in row


def test_discover_command_runs_offline(tmp_path) -> None:
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps(OFFLINE))
    out = subprocess.run(
        [TAP, "--config", str(cfg), "--discover"], capture_output=True, text=True, check=True
    ).stdout
    assert len(json.loads(out)["streams"]) == len(load_catalog().queryable()) + 2


def test_missing_credentials_give_one_clear_line(tmp_path) -> None:
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps({"username": "u@example.com", "metadata_source": "catalog"}))
    proc = subprocess.run([TAP, "--config", str(cfg)], capture_output=True, text=True)
    assert proc.returncode != 0
    assert proc.stdout == ""
    assert "'secret' is a required property" in proc.stderr
    assert "Traceback" not in proc.stderr
