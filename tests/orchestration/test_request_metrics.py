"""API requests as materialization metadata, from the tap's own `http_request_count` METRIC lines,
checked against the sandbox's request counters for the run."""

from __future__ import annotations

from collections import Counter

from dagster import AssetKey, materialize

from orchestration.assets import SYNC_ASSETS
from orchestration.resources import default_resources
from orchestration.singer_run import RunResult, read_metric

from .conftest import add_partitions, sandbox_tenant

TICKETS_ASSETS = SYNC_ASSETS[0]
ENTITIES = {"tickets": "Tickets", "ticket_notes": "TicketNotes"}
READS = ("query", "count")  # what reading a stream's records costs; metadata reads are the tap's


def _metadata(result, stream: str) -> dict:
    (event,) = [
        e
        for e in result.asset_materializations_for_node("autotask_tickets")
        if e.asset_key == AssetKey(["autotask", stream])
    ]
    return {k: v.value for k, v in event.metadata.items()}


def test_api_requests_metadata_equals_the_sandbox_counters(
    sandbox_factory, tenants_env, instance, tmp_path, monkeypatch
):
    server = sandbox_factory()
    tenants_env({"default": sandbox_tenant(server, f"sqlite:///{tmp_path / 'w.sqlite'}")})
    monkeypatch.setenv("LOGLEVEL", "WARNING")  # would hide singer-sdk's METRIC lines in the tap
    add_partitions(instance, "default")
    server.admin.reset()  # counters from zero: everything below is this run's
    result = materialize(
        [TICKETS_ASSETS], partition_key="default", resources=default_resources(), instance=instance
    )
    assert result.success
    stats = server.admin.stats()
    meta = {stream: _metadata(result, stream) for stream in ENTITIES}

    assert meta["tickets"]["api_requests_run"] == stats["total"] > 0
    for stream, entity in ENTITIES.items():
        read = sum(stats["endpoints"][entity].get(op, 0) for op in READS)
        assert meta[stream]["api_requests_by_endpoint"] == {entity: read}
        assert meta[stream]["api_requests"] == read >= 1
    outside = stats["total"] - sum(m["api_requests"] for m in meta.values())
    assert outside == stats["endpoints"]["ThresholdInformation"]["ThresholdInformation"] + sum(
        n for entity in ENTITIES.values() for op, n in stats["endpoints"][entity].items() if op not in READS
    )  # discovery's metadata reads and the governor's threshold reads, counted as `_tap`

    logged = "\n".join(str(e.user_message) for e in instance.all_logs(result.run_id) if e.user_message)
    assert "http_request_count" in logged  # the tap's lines reach the run log
    assert server.secret not in logged and server.integration_code not in logged


def test_metric_lines_add_up_per_stream_and_endpoint():
    result = RunResult()
    for line in (
        '{"type":"counter","metric":"http_request_count","value":3,"tags":{"stream":"tickets","endpoint":"Tickets"}}',
        '{"type":"counter","metric":"http_request_count","value":2,"tags":{"stream":"tickets","endpoint":"Tickets"}}',
        '{"type":"counter","metric":"http_request_count","value":1,"tags":{"stream":"_tap","endpoint":"Version"}}',
        '{"type":"counter","metric":"record_count","value":40,"tags":{"stream":"tickets"}}',
        '{"type":"timer","metric":"sync_duration","value":1.5,"tags":{"stream":"tickets"}}',
        '{"type":"counter","metric":"http_request_count","value":"x","tags":{"stream":"tickets"}}',
        "not json",
    ):
        read_metric(line, result)
    assert result.requests == Counter({"tickets": 5, "_tap": 1})
    assert result.endpoints == Counter({("tickets", "Tickets"): 5, ("_tap", "Version"): 1})
    assert result.records == Counter({"tickets": 40}) and result.total_requests == 6
