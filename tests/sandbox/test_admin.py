"""The `/_sandbox/` control path: health, stats, config, reset."""

from __future__ import annotations

from typing import Any

import httpx


def test_admin_controls(sandbox_factory: Any) -> None:
    sb = sandbox_factory()
    assert sb.admin.health()["status"] == "ok"
    with httpx.Client(headers=sb.headers) as http:
        tid = http.post(sb.api_url + "V1.0/Tickets/query",
                        json={"filter": [{"op": "exist", "field": "id"}], "MaxRecords": 1}).json()["items"][0]["id"]
        http.patch(sb.api_url + "V1.0/Tickets", json={"id": tid, "title": "changed"})
        http.get(sb.api_url + f"V1.0/Tickets/{tid}")
        http.get(sb.api_url + "V1.0/Companies/entityInformation")
    stats = sb.admin.stats()
    assert stats["total"] == 4
    assert stats["endpoints"]["Tickets"] == {"get": 1, "patch": 1, "query": 1}
    assert stats["endpoints"]["Companies"] == {"entity_information": 1}
    config = sb.admin.configure(get_missing_as_null_item=True, latency_ms=0)
    assert config["get_missing_as_null_item"] is True and "secret" not in config
    with httpx.Client(headers=sb.headers) as http:
        assert http.get(sb.api_url + "V1.0/Tickets/1").json() == {"item": None}
    r = httpx.put(sb.admin_url + "config", json={"nope": 1})
    assert r.status_code == 400
    sb.admin.reset()
    assert sb.admin.stats()["total"] == 0
    with httpx.Client(headers=sb.headers) as http:
        assert http.get(sb.api_url + f"V1.0/Tickets/{tid}").json()["item"]["title"] != "changed"


def test_datetime_z_option(sandbox_factory: Any) -> None:
    sb = sandbox_factory(datetime_format="z")
    with httpx.Client(headers=sb.headers) as http:
        item = http.post(sb.api_url + "V1.0/Tickets/query", json={
            "filter": [{"op": "exist", "field": "id"}], "MaxRecords": 1}).json()["items"][0]
    assert item["createDate"].endswith("Z") and len(item["createDate"]) == 24
