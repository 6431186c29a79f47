"""The `/_sandbox/` control path: health, stats, config, reset."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from autotask_sandbox.testing import SandboxError


def test_admin_controls(sandbox_factory: Any) -> None:
    sb = sandbox_factory()
    assert sb.admin.health()["status"] == "ok"
    with httpx.Client(headers=sb.headers) as http:
        tid = http.post(
            sb.api_url + "V1.0/Tickets/query",
            json={"filter": [{"op": "exist", "field": "id"}], "MaxRecords": 1},
        ).json()["items"][0]["id"]
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
        item = http.post(
            sb.api_url + "V1.0/Tickets/query",
            json={"filter": [{"op": "exist", "field": "id"}], "MaxRecords": 1},
        ).json()["items"][0]
    assert item["createDate"].endswith("Z") and len(item["createDate"]) == 24


def test_changing_routes_refuse_a_body_not_declared_json(sandbox_factory: Any) -> None:
    """A web page can POST text/plain cross-site without a preflight; it must change nothing."""
    sb = sandbox_factory()
    sb.admin.configure(latency_ms=3)
    sb.admin.post("activity", {"updates": 2, "seed": 1})
    changed = sb.admin.stats()
    for method, path, body in (
        ("POST", "reset", "{}"),
        ("PUT", "config", '{"latency_ms": 0}'),
        ("POST", "activity", '{"deletes": 3}'),
        ("PUT", "faults", '{"spec": "500:1"}'),
        ("PUT", "webhooks/settings", '{"timeout": 1}'),
        ("POST", "udfs", '{"entity": "Companies", "name": "X"}'),
    ):
        for headers in (
            {"Content-Type": "text/plain"},
            {},
            {"Content-Type": "application/x-www-form-urlencoded"},
        ):
            r = httpx.request(method, sb.admin_url + path, content=body, headers=headers)
            assert r.status_code == 415, (path, headers, r.text)
            assert "Content-Type: application/json" in r.json()["error"]
    assert sb.admin.get("config")["latency_ms"] == 3
    after = sb.admin.stats()
    assert after["total"] == changed["total"] and after["faults"] == {}
    assert (
        httpx.post(
            sb.admin_url + "reset", content="", headers={"Content-Type": "application/json; charset=utf-8"}
        ).status_code
        == 200
    )


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"thread_limit": "abc"}, "thread_limit", "whole number"),
        ({"threshold": -5}, "threshold", "at least 1"),
        ({"thread_limit": 0}, "thread_limit", "at least 1"),
        ({"latency_ms": 2.5}, "latency_ms", "whole number"),
        ({"latency_ms": True}, "latency_ms", "whole number"),
        ({"latency_bands": "yes"}, "latency_bands", "true or false"),
        ({"latency_ms": 5, "threshold": None}, "threshold", "whole number"),
        ({"zone": "webservices2"}, "zone", "unknown setting"),
    ],
)
def test_invalid_config_is_refused_naming_the_field_and_changes_nothing(
    sandbox: Any, changes: dict[str, Any], field: str, words: str
) -> None:
    before = sandbox.admin.get("config")
    r = httpx.put(sandbox.admin_url + "config", json=changes)
    assert r.status_code == 400, r.text
    assert r.json()["field"] == field and field in r.json()["error"] and words in r.json()["error"]
    assert sandbox.admin.get("config") == before
    with httpx.Client(headers=sandbox.headers) as http:  # the API still answers
        assert http.get(sandbox.api_url + "V1.0/Tickets/entityInformation").status_code == 200


def test_udfs_with_any_name_can_be_defined_and_written(sandbox_factory: Any) -> None:
    sb = sandbox_factory()
    for name, kind in (("Contract Value", "double"), ("contract-value", "string"), ("Стоимость", "double")):
        sb.admin.add_udf("Companies", name, kind)
    with httpx.Client(headers=sb.headers) as http:
        defs = http.get(sb.api_url + "V1.0/Companies/entityInformation/userDefinedFields")
        types = {f["name"]: f["type"] for f in defs.json()["fields"]}
        assert {k: types[k] for k in ("Contract Value", "contract-value", "Стоимость")} == {
            "Contract Value": "double",
            "contract-value": "string",
            "Стоимость": "double",
        }
        item = http.post(
            sb.api_url + "V1.0/Companies/query",
            json={"filter": [{"op": "exist", "field": "id"}], "MaxRecords": 1},
        ).json()["items"][0]
        shown = {u["name"]: u["value"] for u in item["userDefinedFields"]}
        assert shown["Contract Value"] is None and shown["Стоимость"] is None
        r = http.patch(
            sb.api_url + "V1.0/Companies",
            json={
                "id": item["id"],
                "userDefinedFields": [
                    {"name": "Contract Value", "value": "12.5"},
                    {"name": "contract-value", "value": "x"},
                ],
            },
        )
        assert r.status_code == 200, r.text
        again = http.get(sb.api_url + f"V1.0/Companies/{item['id']}").json()["item"]
        shown = {u["name"]: u["value"] for u in again["userDefinedFields"]}
        assert (shown["Contract Value"], shown["contract-value"]) == ("12.5", "x")
    with pytest.raises(SandboxError, match="400.*already has a UDF"):
        sb.admin.add_udf("Companies", "CONTRACT VALUE")
    with pytest.raises(SandboxError, match="400.*type must be one of"):
        sb.admin.add_udf("Companies", "Other", "money")
    with pytest.raises(SandboxError, match="400.*no user-defined fields"):
        sb.admin.add_udf("TimeEntries", "Other")
    sb.admin.reset()
    with httpx.Client(headers=sb.headers) as http:
        defs = http.get(sb.api_url + "V1.0/Companies/entityInformation/userDefinedFields")
        assert "Contract Value" not in {f["name"] for f in defs.json()["fields"]}
