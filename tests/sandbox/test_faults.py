"""Injected faults: seeded 429/500/reset/slow on Autotask routes only, switchable at run time."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from autotask_sandbox.faults import FaultSpecError, parse_spec


def test_500_and_429_faults(sandbox_factory: Any) -> None:
    sb = sandbox_factory(faults="500:1")
    with httpx.Client(headers=sb.headers) as http:
        r = http.get(sb.api_url + "V1.0/Tickets/entityInformation")
        assert r.status_code == 500 and list(r.json()) == ["errors"]
        assert http.get(sb.admin_url + "health").status_code == 200
        sb.admin.set_faults("429:1@3000")
        r = http.get(sb.api_url + "V1.0/Tickets/entityInformation")
        assert r.status_code == 429 and r.headers["Retry-After"] == "3"
        sb.admin.set_faults(None)
        assert http.get(sb.api_url + "V1.0/Tickets/entityInformation").status_code == 200
    assert sb.admin.stats()["faults"] == {"500": 1, "429": 1}


def test_reset_aborts_the_connection(sandbox_factory: Any) -> None:
    sb = sandbox_factory(faults="reset:1")
    with httpx.Client(headers=sb.headers) as http:
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            http.get(sb.api_url + "V1.0/Tickets/entityInformation")
        assert http.get(sb.admin_url + "stats").json()["faults"] == {"reset": 1}


def test_seeded_fault_sequence_is_reproducible(sandbox_factory: Any) -> None:
    def statuses(sb: Any) -> list[int]:
        with httpx.Client(headers=sb.headers) as http:
            return [http.get(sb.api_url + "V1.0/Version").status_code for _ in range(30)]

    first = statuses(sandbox_factory(faults="500:0.3", latency_bands=False))
    second = statuses(sandbox_factory(faults="500:0.3", latency_bands=False))
    assert first == second and 500 in first and 200 in first


def test_slow_fault_delays(sandbox_factory: Any) -> None:
    sb = sandbox_factory(faults="slow:1@600")
    with httpx.Client(headers=sb.headers) as http:
        r = http.get(sb.api_url + "V1.0/Version")
        assert r.status_code == 200 and r.elapsed.total_seconds() >= 0.55


@pytest.mark.parametrize("spec", ["boom:0.1", "500:2", "slow:0.1@x", "429"])
def test_bad_specs_are_explained(spec: str) -> None:
    with pytest.raises(FaultSpecError):
        parse_spec(spec)


def test_admin_rejects_a_bad_spec(sandbox: Any) -> None:
    r = httpx.put(sandbox.admin_url + "faults", json={"spec": "boom:1"})
    assert r.status_code == 400 and "boom" in r.json()["error"]


def test_reset_after_commits_the_write_but_loses_the_answer(sandbox_factory: Any) -> None:
    sb = sandbox_factory()
    title = "reset-after: committed, answer lost"
    with httpx.Client(headers=sb.headers) as http:
        ticket = http.get(
            sb.api_url + "V1.0/Tickets/query",
            params={
                "search": json.dumps({"filter": [{"op": "gt", "field": "id", "value": 0}], "MaxRecords": 1})
            },
        ).json()["items"][0]
        body = {k: ticket[k] for k in ("companyID", "status", "priority")} | {"title": title}
        sb.admin.set_faults("reset-after:1.0")
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            http.post(sb.api_url + "V1.0/Tickets", json=body)
        sb.admin.set_faults(None)
        found = http.post(
            sb.api_url + "V1.0/Tickets/query",
            json={"filter": [{"op": "eq", "field": "title", "value": title}]},
        ).json()["items"]
    assert len(found) == 1 and found[0]["companyID"] == body["companyID"]
    assert sb.admin.stats()["faults"] == {"reset-after": 1}
